import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type MedallionConfig, readMedallionConfig } from './config';
import { MedallionStack } from './medallion-stack';

export interface MedallionApp {
  readonly app: App;
  readonly config: MedallionConfig;
  readonly stack: MedallionStack;
}

/**
 * The CDK app of `bin/app.ts`, as a function so the tests build exactly what `cdk synth` builds: the
 * configuration read from context, one stack `Medallion-<environment>`, and cdk-nag's AwsSolutions
 * checks over the whole app (a finding that is not acknowledged in code fails synth; the report is
 * written to cdk.out/validation-report.json).
 */
export function createMedallionApp(props?: AppProps): MedallionApp {
  const app = new App(props);
  const config = readMedallionConfig(app.node);
  const stack = new MedallionStack(app, `Medallion-${config.environment}`, {
    config,
    env: {
      account: config.account ?? process.env.CDK_DEFAULT_ACCOUNT,
      region: config.region ?? process.env.CDK_DEFAULT_REGION,
    },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, config, stack };
}
