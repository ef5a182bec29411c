#!/usr/bin/env node
/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy`.
 *
 * Configuration comes from context (see lib/config.ts): the `medallion` object in cdk.json and/or
 * `-c medallion:config=<JSON or JSON file>`. An invalid configuration or data contract fails synth with
 * the field at fault; so does any cdk-nag AwsSolutions finding that is not acknowledged in code.
 */
import { MedallionConfigError } from '../lib/config';
import { createMedallionApp } from '../lib/medallion-app';

try {
  createMedallionApp().app.synth();
} catch (e) {
  // A configuration or contract mistake: the message says what to fix, a stack trace would bury it.
  if (!(e instanceof MedallionConfigError)) throw e;
  console.error(e.message);
  process.exitCode = 1;
}
