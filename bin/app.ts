import { App } from 'aws-cdk-lib';
import { MedallionConfigError } from '../core/errors';
import { contractsDirectory, goldModelsDirectory, readMedallionConfig } from '../lib/config';
import { createMedallionApp } from '../lib/medallion-app';
import { checkProject } from '../local/check/check';
import { formatCheck } from '../local/check/report';
import { displayPath } from '../local/report/display-path';

/**
 * `cdk synth`: `medallion check` of the contracts and models the configuration names first (a problem is
 * printed at its file and line, and nothing is synthesized), then the app.
 */
async function main(): Promise<number> {
  try {
    // The configuration as the app will read it, from a throwaway App that never synthesizes.
    const config = readMedallionConfig(new App({ autoSynth: false }).node);
    const check = await checkProject({
      contractsDir: contractsDirectory(config),
      modelsDir: config.gold.enabled ? goldModelsDirectory(config) : undefined,
    });
    if (check.problems.length > 0) {
      for (const line of formatCheck(check, displayPath)) console.error(line);
      return 1;
    }
    createMedallionApp().app.synth();
    return 0;
  } catch (e) {
    // A configuration or contract mistake: the message says what to fix, a stack trace would bury it.
    if (!(e instanceof MedallionConfigError)) throw e;
    console.error(e.message);
    return 1;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
