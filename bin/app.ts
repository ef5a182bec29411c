import { MedallionConfigError } from '../core/errors';
import { createMedallionApp } from '../lib/medallion-app';

try {
  createMedallionApp().app.synth();
} catch (e) {
  // A configuration or contract mistake: the message says what to fix, a stack trace would bury it.
  if (!(e instanceof MedallionConfigError)) throw e;
  console.error(e.message);
  process.exitCode = 1;
}
