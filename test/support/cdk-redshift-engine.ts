/**
 * The gold workflow on the Redshift engine: the 3-model fixture (b reads a, c reads a and b; optionally
 * tests on c) on a Redshift Serverless warehouse of the same stack, cdk-nag on. Importing it registers an
 * `afterAll` that removes the synthesis output of the importing test file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, type Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { GoldModel } from '../../core/gold/models';
import { goldModelPrefix } from '../../core/lake/layout';
import type { GoldWorkflowProps } from '../../lib/gold/gold-workflow';
import { RedshiftEngine, type RedshiftEngineProps } from '../../lib/gold/redshift-engine';
import { RedshiftServerlessGold } from '../../lib/gold/redshift-serverless';
import type { LakeStorage } from '../../lib/lake-storage';
import { build as buildWorkflow, DATABASE, MODELS } from './cdk-gold-workflow';

const tmp = mkdtempSync(join(tmpdir(), 'medallion-redshift-engine-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let runs = 0;

/** What the namespace's Redshift-managed admin secret's ARN looks like (CloudFormation does not return it). */
export const ADMIN_SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:111111111111:secret:redshift!test-gold-admin-AbC123';
export const WORKGROUP_NAME = 'test-gold';

export interface RedshiftWorkflowOptions {
  /** @default MODELS (a, b, c) */
  readonly models?: GoldModel[];
  readonly engine?: Partial<RedshiftEngineProps>;
  /** More workflow props, built in the stack (a current-state stage, a gold planner). */
  readonly workflow?: (stack: Stack, storage: LakeStorage) => Partial<GoldWorkflowProps>;
}

/** The workflow on a RedshiftEngine, synthesized with cdk-nag; its template and nag report. */
export function buildRedshiftWorkflow(options: RedshiftWorkflowOptions = {}) {
  runs += 1;
  const outdir = join(tmp, `run-${runs}`);
  const models = options.models ?? MODELS;
  let engine: RedshiftEngine | undefined;
  let warehouse: RedshiftServerlessGold | undefined;
  const built = buildWorkflow((stack, storage) => {
    warehouse = new RedshiftServerlessGold(stack, 'Redshift', {
      name: WORKGROUP_NAME,
      silverBucket: storage.silverBucket,
      goldBucket: storage.goldBucket,
      key: storage.key,
      database: DATABASE,
      silverPrefixes: ['retail/orders/'],
      goldPrefixes: models.map((m) => goldModelPrefix(m.name)),
    });
    engine = new RedshiftEngine({
      workgroupName: warehouse.workgroupName,
      workgroupArn: warehouse.workgroup.attrWorkgroupWorkgroupArn,
      database: warehouse.dbName,
      adminSecret: ADMIN_SECRET_ARN,
      adminSecretKey: storage.key,
      glueDatabase: DATABASE,
      unloadKey: storage.key,
      spectrumRole: warehouse.spectrumRole,
      pollInterval: Duration.seconds(5),
      queryTimeout: Duration.hours(1),
      ...options.engine,
    });
    return { ...options.workflow?.(stack, storage), models, engine };
  }, outdir);
  Validations.of(built.app).addPlugins(new AwsSolutionsChecks(built.app));
  const t = built.template();
  type Report = {
    conclusion: string;
    violations: unknown[];
    suppressedViolations?: {
      ruleName: string;
      reason: string;
      violatingConstructs: { constructPath: string }[];
    }[];
  };
  const report = (): Report =>
    JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')).pluginReports[0];
  return {
    ...built,
    t,
    report,
    engine: engine as RedshiftEngine,
    warehouse: warehouse as RedshiftServerlessGold,
  };
}
