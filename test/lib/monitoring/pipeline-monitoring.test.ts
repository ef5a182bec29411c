/**
 * PipelineMonitoring and CostGuardrails composed with the pipeline's constructs (LakeStorage, IngestApi,
 * BronzeToSilverPipeline) the way medallion-stack.ts is to compose them, asset bundling skipped.
 * `Template.fromStack` synthesizes the app, so cdk-nag's AwsSolutions checks run over the whole
 * composition. The stack is assembled here, not with createMedallionApp, so that this test keeps
 * working once MedallionStack composes the monitoring itself.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadContracts } from '../../../core/contracts/load-contracts';
import { BronzeToSilverPipeline } from '../../../lib/bronze-to-silver-pipeline';
import { contractsDirectory, parseMedallionConfig } from '../../../lib/config';
import { CostGuardrails } from '../../../lib/cost-guardrails';
import { IngestApi } from '../../../lib/ingest-api';
import { LakeStorage } from '../../../lib/lake-storage';
import { freshnessWindow } from '../../../lib/monitoring/pipeline-metrics';
import { DEAD_LETTER_RUNBOOKS, PipelineMonitoring } from '../../../lib/monitoring/pipeline-monitoring';
import { logicalId, testContext } from '../support';

const GOLD_STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:111111111111:stateMachine:medallion-gold';
const WORKGROUP = 'medallion-dev';

/** The stack as MedallionStack builds it (default configuration), plus the monitoring and the budget. */
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

  // ---- what medallion-stack.ts is to add (see the report) ----
  const monitoring = new PipelineMonitoring(stack, 'Monitoring', {
    contracts,
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

interface NagReport {
  pluginReports: {
    pluginName: string;
    conclusion: string;
    violations: unknown[];
    suppressedViolations?: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

const outdir = mkdtempSync(join(tmpdir(), 'medallion-monitoring-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const { stack, monitoring } = composedStack(outdir);
const t = Template.fromStack(stack);

const topicId = logicalId(t, 'AWS::SNS::Topic', 'MonitoringAlarmTopic');
const alarmResources = t.findResources('AWS::CloudWatch::Alarm');
/** The alarm's properties, by its id in `monitoring.alarms` (its name is `<stack>-<id>`). */
function alarm(id: string): Record<string, unknown> {
  const found = Object.values(alarmResources).filter((a) => a.Properties.AlarmName === `Medallion-dev-${id}`);
  if (found.length !== 1)
    throw new Error(`expected one alarm named Medallion-dev-${id}, found ${found.length}`);
  return found[0].Properties;
}
/** The metric stats of a math-expression alarm, by their id in the expression. */
function mathMetrics(props: Record<string, unknown>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const q of props.Metrics as { Id: string; MetricStat?: Record<string, unknown> }[]) {
    if (q.MetricStat) out[q.Id] = q.MetricStat;
  }
  return out;
}
const expression = (props: Record<string, unknown>) =>
  (props.Metrics as { Expression?: string; ReturnData?: boolean }[]).find((q) => q.Expression)?.Expression;

const FUNCTIONS = {
  IngestApi: { prefix: 'IngestApiHandlerFunction', timeoutSeconds: 60 },
  Landing: { prefix: 'BronzeToSilverLandingFunction', timeoutSeconds: 300 },
  Transform: { prefix: 'BronzeToSilverTransformFunction', timeoutSeconds: 900 },
};
const fnRef = (name: keyof typeof FUNCTIONS) => ({
  Ref: logicalId(t, 'AWS::Lambda::Function', FUNCTIONS[name].prefix),
});

describe('the alarm topic', () => {
  test('one topic, encrypted with a rotated customer-managed key, TLS only, e-mailing the configured address', () => {
    t.resourceCountIs('AWS::SNS::Topic', 1);
    const keyId = logicalId(t, 'AWS::KMS::Key', 'MonitoringTopicKey');
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    t.hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({
        EnableKeyRotation: true,
        Description: 'medallion: encrypts the alarm topic',
      }),
      // Like every key of the app (medallion-stack.test: every stateful resource is retained).
      DeletionPolicy: 'Retain',
    });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
    t.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: topicId },
    });
  });

  test("the key lets CloudWatch and AWS Budgets encrypt what they publish (an AWS managed key's policy cannot)", () => {
    const key = t.findResources('AWS::KMS::Key')[logicalId(t, 'AWS::KMS::Key', 'MonitoringTopicKey')];
    const statements = key.Properties.KeyPolicy.Statement as {
      Principal?: { Service?: string };
      Action: string[];
    }[];
    for (const service of ['cloudwatch.amazonaws.com', 'budgets.amazonaws.com']) {
      const s = statements.find((x) => x.Principal?.Service === service);
      expect(s?.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    }
  });
});

describe('the alarms', () => {
  test('every alarm sends ALARM and OK to the topic and says what it means and what to do', () => {
    const all = Object.values(alarmResources).map((a) => a.Properties);
    expect(all.length).toBe(Object.keys(monitoring.alarms).length);
    for (const a of all) {
      expect(a.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(a.OKActions).toEqual([{ Ref: topicId }]);
      expect(a.AlarmDescription.length).toBeGreaterThan(150);
      expect(a.AlarmDescription.length).toBeLessThanOrEqual(1024);
      expect(a.AlarmDescription).toMatch(/What to do: /);
    }
  });

  test('the complete set, by id', () => {
    expect(Object.keys(monitoring.alarms).sort()).toEqual(
      [
        'AthenaBytesScanned',
        'DeadLetters-LandingFailures',
        'DeadLetters-TransformDeadLetters',
        'DurationNearTimeout-IngestApi',
        'DurationNearTimeout-Landing',
        'DurationNearTimeout-Transform',
        'ErrorRate-Transform',
        'FilesRejected-customers',
        'FilesRejected-orders',
        'FilesRejected-products',
        'Freshness',
        'GoldWorkflowFailures',
        'QuarantineRatio-customers',
        'QuarantineRatio-orders',
        'QuarantineRatio-products',
        'Throttles-IngestApi',
        'Throttles-Landing',
        'Throttles-Transform',
      ].sort(),
    );
  });

  test.each([
    ['LandingFailures', 'BronzeToSilverLandingFailures'],
    ['TransformDeadLetters', 'BronzeToSilverTransformDeadLetters'],
  ])('DeadLetters-%s: any visible message, and the state kept while SQS publishes nothing', (name, queue) => {
    expect(alarm(`DeadLetters-${name}`)).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', queue), 'QueueName'] } },
      ],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'ignore',
    });
    expect(alarm(`DeadLetters-${name}`).AlarmDescription).toMatch(/What to do: each message is /);
  });

  test('ErrorRate-Transform: errors / invocations above 5% in 2 of 3 five-minute periods', () => {
    const a = alarm('ErrorRate-Transform');
    expect(a).toMatchObject({
      Threshold: 0.05,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
    });
    expect(expression(a)).toBe('IF(invocations > 0, errors / invocations, 0)');
    const m = mathMetrics(a);
    for (const [id, name] of [
      ['errors', 'Errors'],
      ['invocations', 'Invocations'],
    ]) {
      expect(m[id]).toEqual({
        Metric: {
          Namespace: 'AWS/Lambda',
          MetricName: name,
          Dimensions: [{ Name: 'FunctionName', Value: fnRef('Transform') }],
        },
        Period: 300,
        Stat: 'Sum',
      });
    }
  });

  test.each(Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[])(
    'Throttles and DurationNearTimeout (p99 over 80%% of the timeout) of %s',
    (name) => {
      const dims = [{ Name: 'FunctionName', Value: fnRef(name) }];
      expect(alarm(`Throttles-${name}`)).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Throttles',
        Dimensions: dims,
        Statistic: 'Sum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
      expect(alarm(`DurationNearTimeout-${name}`)).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Duration',
        Dimensions: dims,
        ExtendedStatistic: 'p99',
        Threshold: FUNCTIONS[name].timeoutSeconds * 1000 * 0.8,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    },
  );

  test("one quarantine-ratio alarm per contract, at the contract's maxQuarantineRatio", () => {
    const contracts = loadContracts(contractsDirectory({ contractsDir: 'samples/contracts' }));
    expect(contracts.map((c) => c.dataset).sort()).toEqual(['customers', 'orders', 'products']);
    const ratioAlarms = Object.keys(monitoring.alarms).filter((id) => id.startsWith('QuarantineRatio-'));
    expect(ratioAlarms).toHaveLength(contracts.length);
    for (const c of contracts) {
      const a = alarm(`QuarantineRatio-${c.dataset}`);
      expect(a).toMatchObject({
        Threshold: c.quality.maxQuarantineRatio,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
      expect(expression(a)).toBe('IF(rowsIn > 0, quarantined / rowsIn, 0)');
      const m = mathMetrics(a);
      for (const [id, name] of [
        ['rowsIn', 'RowsIn'],
        ['quarantined', 'RowsQuarantined'],
      ]) {
        expect(m[id]).toEqual({
          Metric: {
            Namespace: 'Medallion',
            MetricName: name,
            Dimensions: [{ Name: 'Dataset', Value: c.dataset }],
          },
          Period: 300,
          Stat: 'Sum',
        });
      }
      expect(a.AlarmDescription).toContain(`quarantine bucket under rows/${c.id}/`);
    }
    // orders declares 0.2; the others take the default.
    expect(alarm('QuarantineRatio-orders').Threshold).toBe(0.2);
    expect(alarm('QuarantineRatio-customers').Threshold).toBe(0.05);
  });

  test('FilesRejected-<dataset>: any whole file quarantined', () => {
    expect(alarm('FilesRejected-orders')).toMatchObject({
      Namespace: 'Medallion',
      MetricName: 'FilesQuarantined',
      Dimensions: [{ Name: 'Dataset', Value: 'orders' }],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  test('Freshness: no GoldPublished within the (default) 120-minute SLO, missing data breaching', () => {
    const a = alarm('Freshness');
    expect(a).toMatchObject({
      Namespace: 'Medallion',
      MetricName: 'GoldPublished',
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 24,
      DatapointsToAlarm: 24,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    // The gold workflow publishes it without dimensions.
    expect(a.Dimensions).toBeUndefined();
  });

  test('GoldWorkflowFailures: failed plus timed-out executions of the state machine', () => {
    const a = alarm('GoldWorkflowFailures');
    expect(a).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(expression(a)).toBe('FILL(failed, 0) + FILL(timedOut, 0)');
    const m = mathMetrics(a);
    expect(m.failed.Metric).toEqual({
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Dimensions: [{ Name: 'StateMachineArn', Value: GOLD_STATE_MACHINE_ARN }],
    });
    expect((m.timedOut.Metric as { MetricName: string }).MetricName).toBe('ExecutionsTimedOut');
  });

  test('AthenaBytesScanned: ProcessedBytes of the workgroup summed over a day, above 100 GiB', () => {
    expect(alarm('AthenaBytesScanned')).toMatchObject({
      Namespace: 'AWS/Athena',
      MetricName: 'ProcessedBytes',
      Dimensions: [{ Name: 'WorkGroup', Value: WORKGROUP }],
      Statistic: 'Sum',
      Period: 86400,
      Threshold: 100 * 1024 ** 3,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });
});

describe('the dashboard', () => {
  interface Widget {
    type: string;
    x: number;
    y: number;
    properties: {
      markdown?: string;
      metrics?: unknown[][];
      annotations?: { alarms?: string[] };
      title?: string;
    };
  }
  const dashboards = t.findResources('AWS::CloudWatch::Dashboard');
  const [dashboard] = Object.values(dashboards);
  // The body is a Fn::Join of JSON text and references: a reference becomes `{{<logical id>}}`.
  const parts = dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[];
  const body = JSON.parse(
    parts
      .map((p) => {
        if (typeof p === 'string') return p;
        const o = p as { Ref?: string; 'Fn::GetAtt'?: string[] };
        return `{{${o.Ref ?? o['Fn::GetAtt']?.[0]}}}`;
      })
      .join(''),
  ) as { widgets: Widget[] };
  const alarmNameById = Object.fromEntries(
    Object.entries(alarmResources).map(([id, a]) => [
      id,
      (a.Properties.AlarmName as string).replace('Medallion-dev-', ''),
    ]),
  );

  /** What each row shows: the metric names it graphs and the alarms it draws, by header. */
  function rows(): Record<string, { metrics: string[]; alarms: string[]; text: string[] }> {
    const headers = body.widgets
      .filter((w) => w.type === 'text' && w.properties.markdown?.startsWith('## '))
      .sort((a, b) => a.y - b.y);
    const out: Record<string, { metrics: string[]; alarms: string[]; text: string[] }> = {};
    for (const [i, h] of headers.entries()) {
      const end = headers[i + 1]?.y ?? Number.POSITIVE_INFINITY;
      const inRow = body.widgets.filter((w) => w !== h && w.y >= h.y && w.y < end);
      out[(h.properties.markdown as string).split('\n')[0].slice(3)] = {
        metrics: inRow.flatMap((w) =>
          (w.properties.metrics ?? []).flatMap((m) => m.filter((x): x is string => typeof x === 'string')),
        ),
        alarms: inRow.flatMap((w) =>
          (w.properties.annotations?.alarms ?? []).map((a) => alarmNameById[a.replace(/[{}]/g, '')]),
        ),
        text: inRow.map((w) => w.properties.markdown ?? ''),
      };
    }
    return out;
  }

  test('one dashboard named after the stack, a day of data by default', () => {
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(dashboard.Properties.DashboardName).toBe('Medallion-dev');
    expect(body).toMatchObject({ start: '-P1D' });
  });

  test('an alarm status widget with every alarm, at the top', () => {
    const status = body.widgets.find((w) => w.type === 'alarm') as unknown as {
      y: number;
      properties: { alarms: string[] };
    };
    expect(status.y).toBe(0);
    expect(status.properties.alarms.map((a) => alarmNameById[a.replace(/[{}]/g, '')]).sort()).toEqual(
      Object.keys(monitoring.alarms).sort(),
    );
  });

  test('one row per layer: ingest/bronze, silver, gold, cost, in that order', () => {
    expect(Object.keys(rows())).toEqual(['Ingest / bronze', 'Silver', 'Gold', 'Cost']);
  });

  test('ingest/bronze: files and bytes landed, the API, the landing functions and their failure queue', () => {
    const r = rows()['Ingest / bronze'];
    expect(r.metrics).toEqual(
      expect.arrayContaining(['FilesLanded', 'BytesLanded', 'Count', '4XXError', '5XXError']),
    );
    expect(r.metrics).toEqual(expect.arrayContaining(['Invocations', 'Errors', 'Throttles']));
    expect(r.alarms).toEqual(
      expect.arrayContaining([
        'DeadLetters-LandingFailures',
        'DurationNearTimeout-IngestApi',
        'DurationNearTimeout-Landing',
      ]),
    );
  });

  test('silver: rows, the quarantine ratio of every dataset, lag, backlog, the transform', () => {
    const r = rows().Silver;
    expect(r.metrics).toEqual(
      expect.arrayContaining([
        'RowsIn',
        'RowsOut',
        'RowsQuarantined',
        'DuplicatesRemoved',
        'FilesQuarantined',
        'TransformLagSeconds',
        'ApproximateNumberOfMessagesVisible',
        'ApproximateAgeOfOldestMessage',
      ]),
    );
    expect(r.alarms).toEqual(
      expect.arrayContaining([
        'QuarantineRatio-customers',
        'QuarantineRatio-orders',
        'QuarantineRatio-products',
        'DeadLetters-TransformDeadLetters',
        'DurationNearTimeout-Transform',
      ]),
    );
  });

  test('gold: the freshness alarm and the workflow executions', () => {
    const r = rows().Gold;
    expect(r.alarms).toEqual(expect.arrayContaining(['Freshness', 'GoldWorkflowFailures']));
    expect(r.metrics).toEqual(
      expect.arrayContaining(['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed']),
    );
  });

  test('cost: Athena bytes scanned, Lambda compute, API requests per day', () => {
    const r = rows().Cost;
    expect(r.alarms).toEqual(['AthenaBytesScanned']);
    expect(r.metrics).toEqual(expect.arrayContaining(['Duration', 'Count']));
  });
});

describe('the budget in the composed stack', () => {
  test('a monthly budget of the configured 50 USD, notifying the alarm topic at 80% actual and 100% forecast', () => {
    const [budget] = Object.values(t.findResources('AWS::Budgets::Budget')).map((b) => b.Properties);
    expect(budget.Budget).toMatchObject({
      BudgetType: 'COST',
      TimeUnit: 'MONTHLY',
      BudgetLimit: { Amount: 50, Unit: 'USD' },
    });
    expect(
      budget.NotificationsWithSubscribers.map(
        (n: { Notification: Record<string, unknown>; Subscribers: unknown }) => [
          n.Notification.NotificationType,
          n.Notification.Threshold,
          n.Subscribers,
        ],
      ),
    ).toEqual([
      ['ACTUAL', 80, [{ SubscriptionType: 'SNS', Address: { Ref: topicId } }]],
      ['FORECASTED', 100, [{ SubscriptionType: 'SNS', Address: { Ref: topicId } }]],
    ]);
    const policy = Object.values(t.findResources('AWS::SNS::TopicPolicy'))[0].Properties.PolicyDocument;
    expect(policy.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Sid: 'AllowBudgetsToPublish', Action: 'sns:Publish' }),
      ]),
    );
  });
});

describe('cdk-nag over the composed stack', () => {
  const report = () =>
    (
      JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as NagReport
    ).pluginReports.find((r) => r.pluginName === 'AwsSolutions');

  test('zero unacknowledged findings', () => {
    expect(report()?.conclusion).toBe('success');
    expect(report()?.violations).toEqual([]);
  });

  test('nothing acknowledged on the monitoring or the budget', () => {
    const mine = (report()?.suppressedViolations ?? []).filter((s) =>
      s.violatingConstructs.some((c) => /\/(Monitoring|CostGuardrails)\//.test(c.constructPath)),
    );
    expect(mine).toEqual([]);
  });
});

describe('PipelineMonitoring alone', () => {
  function minimal(props: Partial<ConstructorParameters<typeof PipelineMonitoring>[2]> = {}) {
    const app = new App({ context: testContext() });
    const s = new Stack(app, 'Small');
    const fn = new lambda.Function(s, 'Fn', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {}'),
      timeout: Duration.seconds(10),
    });
    const monitoring = new PipelineMonitoring(s, 'Monitoring', {
      contracts: loadContracts(contractsDirectory({ contractsDir: 'samples/contracts' })),
      functions: [{ name: 'Fn', function: fn, layer: 'silver' }],
      deadLetterQueues: [
        { name: 'Dlq', queue: new sqs.Queue(s, 'Dlq'), layer: 'silver', runbook: 'Replay it.' },
      ],
      ...props,
    });
    return { stack: s, monitoring, template: () => Template.fromStack(s) };
  }

  test('without a state machine, a workgroup or an e-mail: none of their alarms, no subscription', () => {
    const { monitoring, template } = minimal();
    const tpl = template();
    expect(monitoring.alarms).not.toHaveProperty('GoldWorkflowFailures');
    expect(monitoring.alarms).not.toHaveProperty('AthenaBytesScanned');
    expect(monitoring.alarms).not.toHaveProperty('ErrorRate-Fn');
    expect(monitoring.alarms).toHaveProperty('Freshness');
    tpl.resourceCountIs('AWS::SNS::Subscription', 0);
    expect(JSON.stringify(tpl.toJSON())).toContain('The gold workflow is not deployed yet');
    // The function's 10 s timeout: p99 above 8 s alarms; the queue's runbook is in its description.
    expect(
      tpl.toJSON().Resources[logicalIdOf(tpl, 'Small-DurationNearTimeout-Fn')].Properties.Threshold,
    ).toBe(8000);
    expect(
      tpl.toJSON().Resources[logicalIdOf(tpl, 'Small-DeadLetters-Dlq')].Properties.AlarmDescription,
    ).toMatch(/What to do: Replay it\.$/);
  });

  test('the name prefix and the freshness SLO are honoured', () => {
    const { template } = minimal({ namePrefix: 'custom', freshnessSlo: Duration.minutes(90) });
    const tpl = template();
    expect(
      Object.values(tpl.findResources('AWS::CloudWatch::Alarm')).every((a) =>
        (a.Properties.AlarmName as string).startsWith('custom-'),
      ),
    ).toBe(true);
    tpl.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'custom' });
    tpl.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'custom-Freshness',
      Period: 300,
      EvaluationPeriods: 18,
      DatapointsToAlarm: 18,
    });
  });

  test('the gold workflow given as a property: its alarm and its graphs, in the gold row; only once', () => {
    const { monitoring, stack: s, template } = minimal();
    expect(monitoring.alarms).not.toHaveProperty('GoldWorkflowFailures');
    const app2 = new App({ context: testContext() });
    const s2 = new Stack(app2, 'WithWorkflow');
    const sm = sfn.StateMachine.fromStateMachineArn(s2, 'Sm', GOLD_STATE_MACHINE_ARN);
    const m2 = new PipelineMonitoring(s2, 'Monitoring', {
      contracts: [],
      functions: [],
      deadLetterQueues: [],
      stateMachine: sm,
    });
    expect(m2.alarms).toHaveProperty('GoldWorkflowFailures');
    expect(() => m2.monitorGoldWorkflow(sm)).toThrow(/already monitored/);
    const body = JSON.stringify(Template.fromStack(s2).toJSON());
    expect(body).toContain('ExecutionsSucceeded');
    expect(body).not.toContain('not deployed yet');
    expect(s.node.tryFindChild('Monitoring')).toBeDefined();
    expect(template()).toBeDefined();
  });

  test('addAlarm: other slices add theirs with the same actions; ids and descriptions are checked', () => {
    const { monitoring, stack: s, template } = minimal();
    const metric = new cloudwatch.Metric({ namespace: 'Medallion', metricName: 'Other' });
    const spec = {
      metric,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description: 'Something else happened. What to do: look.',
    };
    monitoring.addAlarm('Other', spec);
    expect(() => monitoring.addAlarm('Other', spec)).toThrow(/already defined/);
    expect(() => monitoring.addAlarm('Long', { ...spec, description: 'x'.repeat(1025) })).toThrow(/max 1024/);
    const topic = logicalId(template(), 'AWS::SNS::Topic', 'MonitoringAlarmTopic');
    template().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Small-Other',
      AlarmActions: [{ Ref: topic }],
      OKActions: [{ Ref: topic }],
    });
    expect(s.node.tryFindChild('Monitoring')).toBeDefined();
  });

  test('refuses two functions or queues with one name, and an error rate outside [0, 1)', () => {
    const app = new App({ context: testContext() });
    const s = new Stack(app, 'Dup');
    const q = new sqs.Queue(s, 'Q');
    expect(
      () =>
        new PipelineMonitoring(s, 'M', {
          contracts: [],
          functions: [],
          deadLetterQueues: [
            { name: 'Q', queue: q, layer: 'silver' },
            { name: 'Q', queue: q, layer: 'ingest' },
          ],
        }),
    ).toThrow(/two monitored queues are named 'Q'/);
    const fn = new lambda.Function(s, 'Fn', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {}'),
    });
    expect(
      () =>
        new PipelineMonitoring(s, 'M2', {
          contracts: [],
          functions: [{ name: 'Fn', function: fn, layer: 'silver', maxErrorRate: 1 }],
          deadLetterQueues: [],
        }),
    ).toThrow(/maxErrorRate of Fn/);
  });
});

describe('freshnessWindow', () => {
  test.each([
    [60, 5, 12],
    [90, 5, 18],
    [7, 1, 7],
    [1440, 5, 288],
    [2880, 60, 48],
  ])('an SLO of %i minutes: %i-minute periods, %i of them', (minutes, periodMinutes, n) => {
    const w = freshnessWindow(Duration.minutes(minutes));
    expect(w.period.toMinutes()).toBe(periodMinutes);
    expect(w.evaluationPeriods).toBe(n);
  });

  test('refuses windows CloudWatch cannot evaluate', () => {
    expect(() => freshnessWindow(Duration.minutes(1441))).toThrow(/cannot be alarmed on/);
    expect(() => freshnessWindow(Duration.days(8))).toThrow(/cannot be alarmed on/);
    expect(() => freshnessWindow(Duration.seconds(90))).toThrow();
  });
});

function logicalIdOf(tpl: Template, alarmName: string): string {
  const [id] = Object.entries(tpl.findResources('AWS::CloudWatch::Alarm'))
    .filter(([, a]) => a.Properties.AlarmName === alarmName)
    .map(([i]) => i);
  if (!id) throw new Error(`no alarm named ${alarmName}`);
  return id;
}
