import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type MedallionConfig, readMedallionConfig } from './config';
import type { DomainStack } from './domain-stack';
import { MedallionPipeline } from './medallion-pipeline';
import type { PlatformStack } from './platform-stack';

export interface MedallionApp {
  readonly app: App;
  readonly config: MedallionConfig;
  readonly pipeline: MedallionPipeline;
  /** The platform stack (`Medallion-<environment>`). */
  readonly stack: PlatformStack;
  /** The domains' stacks (`Medallion-<environment>-<domain>`). */
  readonly domainStacks: DomainStack[];
}

/**
 * The CDK app of `bin/app.ts`, as a function so the tests build exactly what `cdk synth` builds: the
 * configuration read from context, the pipeline's stacks (`Medallion-<environment>` and one
 * `Medallion-<environment>-<domain>` per domain), and cdk-nag's AwsSolutions checks over the whole app
 * (a finding that is not acknowledged in code fails synth; the report is written to
 * cdk.out/validation-report.json).
 */
export function createMedallionApp(props?: AppProps): MedallionApp {
  const app = new App(props);
  const config = readMedallionConfig(app.node);
  const pipeline = new MedallionPipeline(app, 'Medallion', { config });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, config, pipeline, stack: pipeline.platform, domainStacks: [...pipeline.domains.values()] };
}
