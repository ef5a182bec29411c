/**
 * The monitoring tests' shared fixture: PipelineMonitoring and CostGuardrails composed with the
 * pipeline's constructs (LakeStorage, IngestApi, BronzeToSilverPipeline) the way platform-stack.ts
 * composes them, asset bundling skipped. `Template.fromStack` synthesizes the app, so cdk-nag's
 * AwsSolutions checks run over the whole composition. The stack is assembled here, not with
 * createMedallionApp, so that the monitoring is tested apart from the rest of PlatformStack.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadContracts } from '../../core/contracts/load-contracts';
import { BronzeToSilverPipeline } from '../../lib/bronze-to-silver-pipeline';
import { contractsDirectory, parseMedallionConfig } from '../../lib/config';
import { CostGuardrails } from '../../lib/cost-guardrails';
import { IngestApi } from '../../lib/ingest-api';
import { LakeStorage } from '../../lib/lake-storage';
import { DEAD_LETTER_RUNBOOKS } from '../../lib/monitoring/alarms/queues';
import { PipelineMonitoring } from '../../lib/monitoring/pipeline-monitoring';
import { logicalId, testContext } from './cdk';

export const GOLD_STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:111111111111:stateMachine:medallion-gold';
export const WORKGROUP = 'medallion-dev';

/** The stack as PlatformStack builds it (default configuration), plus the monitoring and the budget. */
function composedStack(outdir: string) {
  const app = new App({ outdir, context: testContext() });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const config = parseMedallionConfig({
    account: '111111111111',
    region: 'eu-west-1',
    alarmEmail: 'ops@example.com',
  });
  const stack = new Stack(app, `Medallion-${config.environment}`, {
    env: { account: config.account, region: config.region },
  });
  const contractsDir = contractsDirectory(config);
  const contracts = loadContracts(contractsDir);
  const storage = new LakeStorage(stack, 'Storage');
  const { landingBucket, bronzeBucket, silverBucket, quarantineBucket, key } = storage;
  const ingestApi = new IngestApi(stack, 'IngestApi', {
    landingBucket,
    bronzeBucket,
    quarantineBucket,
    key,
    contracts,
    contractsDir,
  });
  const pipeline = new BronzeToSilverPipeline(stack, 'BronzeToSilver', {
    landingBucket,
    bronzeBucket,
    silverBucket,
    quarantineBucket,
    key,
    contracts,
    contractsDir,
    transformTimeout: Duration.seconds(config.transform.timeoutSeconds),
  });

  // ---- what platform-stack.ts adds ----
  const monitoring = new PipelineMonitoring(stack, 'Monitoring', {
    functions: [
      { name: 'IngestApi', function: ingestApi.handler.function, layer: 'ingest' },
      { name: 'Landing', function: pipeline.landingFunction.function, layer: 'ingest' },
      {
        name: 'Transform',
        function: pipeline.transformFunction.function,
        layer: 'silver',
        maxErrorRate: 0.05,
      },
    ],
    deadLetterQueues: [
      {
        name: 'LandingFailures',
        queue: pipeline.landingFailureQueue,
        layer: 'ingest',
        runbook: DEAD_LETTER_RUNBOOKS.landingFailures,
      },
      {
        name: 'TransformDeadLetters',
        queue: pipeline.deadLetterQueue,
        layer: 'silver',
        runbook: DEAD_LETTER_RUNBOOKS.transformDeadLetters,
      },
    ],
    workQueues: [{ name: 'TransformQueue', queue: pipeline.queue, layer: 'silver' }],
    api: ingestApi.api,
    athenaWorkGroup: WORKGROUP,
    freshnessSlo: Duration.minutes(config.freshnessSloMinutes),
    alarmEmail: config.alarmEmail,
    removalPolicy: config.allowDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  });
  // The gold workflow is built after the monitoring (it publishes its failures to the alarm topic).
  monitoring.monitorGoldWorkflow(
    sfn.StateMachine.fromStateMachineArn(stack, 'GoldWorkflow', GOLD_STATE_MACHINE_ARN),
  );
  new CostGuardrails(stack, 'CostGuardrails', {
    monthlyBudgetUsd: config.monthlyBudgetUsd,
    topic: monitoring.alarmTopic,
  });
  return { stack, monitoring };
}

/** The composed stack synthesized, with what the tests look up in its template. */
export interface ComposedTemplate {
  readonly stack: Stack;
  readonly monitoring: PipelineMonitoring;
  readonly t: Template;
  /** Where the app was synthesized (cdk-nag writes validation-report.json there). */
  readonly outdir: string;
  /** The logical id of the alarm topic. */
  readonly topicId: string;
  /** Every CloudWatch alarm of the template, by logical id. */
  // biome-ignore lint/suspicious/noExplicitAny: template JSON, as Template.findResources returns it
  readonly alarmResources: Record<string, any>;
  /** The alarm's properties, by its id in `monitoring.alarms` (its name is `<stack>-<id>`). */
  alarm(id: string): Record<string, unknown>;
}

/**
 * Builds and synthesizes the composed stack once per test file, in a temporary directory removed after
 * the file's tests (call it at the top level of the file).
 */
export function synthesizeComposedStack(): ComposedTemplate {
  const outdir = mkdtempSync(join(tmpdir(), 'medallion-monitoring-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));
  const { stack, monitoring } = composedStack(outdir);
  const t = Template.fromStack(stack);
  const alarmResources = t.findResources('AWS::CloudWatch::Alarm');
  return {
    stack,
    monitoring,
    t,
    outdir,
    topicId: logicalId(t, 'AWS::SNS::Topic', 'MonitoringAlarmTopic'),
    alarmResources,
    alarm(id: string): Record<string, unknown> {
      const found = Object.values(alarmResources).filter(
        (a) => a.Properties.AlarmName === `Medallion-dev-${id}`,
      );
      if (found.length !== 1)
        throw new Error(`expected one alarm named Medallion-dev-${id}, found ${found.length}`);
      return found[0].Properties;
    },
  };
}

/** The metric stats of a math-expression alarm, by their id in the expression. */
export function mathMetrics(props: Record<string, unknown>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const q of props.Metrics as { Id: string; MetricStat?: Record<string, unknown> }[]) {
    if (q.MetricStat) out[q.Id] = q.MetricStat;
  }
  return out;
}

/** The expression of a math-expression alarm. */
export const expression = (props: Record<string, unknown>) =>
  (props.Metrics as { Expression?: string; ReturnData?: boolean }[]).find((q) => q.Expression)?.Expression;
