/**
 * PipelineMonitoring composed with the pipeline's constructs (see composed-stack.ts): the whole set of
 * alarms, the budget on its topic, cdk-nag over the composition; then the construct alone (its options
 * and checks). The topic, each kind of alarm and the dashboard have their own tests next to this one.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { PipelineMonitoring } from '../../../lib/monitoring/pipeline-monitoring';
import { logicalId, testContext } from '../../support/cdk';
import { GOLD_STATE_MACHINE_ARN, synthesizeComposedStack } from '../../support/cdk-composed-stack';

interface NagReport {
  pluginReports: {
    pluginName: string;
    conclusion: string;
    violations: unknown[];
    suppressedViolations?: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

const { t, monitoring, outdir, topicId } = synthesizeComposedStack();

describe('the alarms', () => {
  test("the complete set, by id (the datasets' alarms are their domains')", () => {
    expect(Object.keys(monitoring.alarms).sort()).toEqual(
      [
        'AthenaBytesScanned',
        'DeadLetters-LandingFailures',
        'DeadLetters-TransformDeadLetters',
        'DurationNearTimeout-IngestApi',
        'DurationNearTimeout-Landing',
        'DurationNearTimeout-Transform',
        'ErrorRate-Transform',
        'Freshness',
        'GoldWorkflowFailures',
        'Throttles-IngestApi',
        'Throttles-Landing',
        'Throttles-Transform',
      ].sort(),
    );
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
          functions: [{ name: 'Fn', function: fn, layer: 'silver', maxErrorRate: 1 }],
          deadLetterQueues: [],
        }),
    ).toThrow(/maxErrorRate of Fn/);
  });
});

function logicalIdOf(tpl: Template, alarmName: string): string {
  const [id] = Object.entries(tpl.findResources('AWS::CloudWatch::Alarm'))
    .filter(([, a]) => a.Properties.AlarmName === alarmName)
    .map(([i]) => i);
  if (!id) throw new Error(`no alarm named ${alarmName}`);
  return id;
}
