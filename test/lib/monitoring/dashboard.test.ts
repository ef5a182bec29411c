/** The dashboard: in the composed stack (its rows, what each shows), then built alone. */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { PipelineAlarms } from '../../../lib/monitoring/alarms/pipeline-alarms';
import { createPipelineDashboard, type WatchedWorkflow } from '../../../lib/monitoring/dashboard';
import { testContext } from '../../support/cdk';
import { GOLD_STATE_MACHINE_ARN, synthesizeComposedStack } from '../../support/cdk-composed-stack';

const { t, monitoring, alarmResources } = synthesizeComposedStack();

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

  test('ingest/bronze: the API, the landing functions and their failure queue (files per dataset: the domains)', () => {
    const r = rows()['Ingest / bronze'];
    expect(r.metrics).toEqual(expect.arrayContaining(['Count', '4XXError', '5XXError']));
    expect(r.metrics).not.toContain('FilesLanded');
    expect(r.metrics).toEqual(expect.arrayContaining(['Invocations', 'Errors', 'Throttles']));
    expect(r.alarms).toEqual(
      expect.arrayContaining([
        'DeadLetters-LandingFailures',
        'DurationNearTimeout-IngestApi',
        'DurationNearTimeout-Landing',
      ]),
    );
  });

  test('silver: backlog and the transform; the datasets are on the domain dashboards, named here', () => {
    const r = rows().Silver;
    expect(r.metrics).toEqual(
      expect.arrayContaining(['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage']),
    );
    expect(r.metrics).not.toContain('RowsIn');
    expect(r.alarms).toEqual(
      expect.arrayContaining(['DeadLetters-TransformDeadLetters', 'DurationNearTimeout-Transform']),
    );
    expect(r.alarms.filter((a: string) => a.startsWith('QuarantineRatio-'))).toEqual([]);
    expect(r.text.join('\n')).toContain('Domain dashboards');
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

describe('createPipelineDashboard alone', () => {
  /** A plain alarm on a custom metric (what it watches does not matter here). */
  const anAlarm = (alarms: PipelineAlarms, id: string) =>
    alarms.add(id, {
      metric: new cloudwatch.Metric({ namespace: 'Medallion', metricName: id }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description: `${id}. What to do: look.`,
    });

  function build() {
    const app = new App({ context: testContext() });
    const stack = new Stack(app, 'Small');
    const alarms = new PipelineAlarms(
      stack,
      'Small',
      new cloudwatchActions.SnsAction(new sns.Topic(stack, 'Topic')),
    );
    const freshness = anAlarm(alarms, 'Freshness');
    let workflow: WatchedWorkflow | undefined;
    const dashboard = createPipelineDashboard(stack, {
      dashboardName: 'small',
      domainDashboards: [],
      functions: [],
      deadLetterQueues: [],
      workQueues: [],
      alarms,
      freshness,
      goldWorkflow: () => workflow,
    });
    const body = () => JSON.stringify(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'));
    return { stack, alarms, freshness, dashboard, body, watch: (w: WatchedWorkflow) => (workflow = w) };
  }

  test('without an API or a workgroup: notes instead of their widgets', () => {
    const { dashboard, body } = build();
    expect(dashboard.node.id).toBe('Dashboard');
    const text = body();
    expect(text).toContain('No Athena workgroup is monitored yet.');
    expect(text).toContain('The gold workflow is not deployed yet');
    expect(text).not.toContain('Ingest API: requests and errors');
    expect(text).not.toContain('API requests per day');
  });

  test('the gold workflow is asked for when the dashboard is rendered, so one watched later is shown', () => {
    const { stack, alarms, freshness, body, watch } = build();
    const stateMachine = sfn.StateMachine.fromStateMachineArn(stack, 'Sm', GOLD_STATE_MACHINE_ARN);
    watch({ stateMachine, failures: freshness });
    const late = anAlarm(alarms, 'Late');
    const text = body();
    expect(text).toContain('Gold workflow executions');
    expect(text).toContain('ExecutionsSucceeded');
    expect(text).not.toContain('not deployed yet');
    // The status widget lists the alarms added after the dashboard too.
    expect(text).toContain(stack.getLogicalId(late.node.defaultChild as cloudwatch.CfnAlarm));
  });
});
