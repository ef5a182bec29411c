/**
 * The pipeline's dashboard: the status of every alarm at the top, then one row per layer (ingest/bronze,
 * silver, gold, cost). The graphs use the metrics of `pipeline-metrics.ts` and the alarms are drawn with
 * their thresholds, so a graph shows exactly what its alarm watches.
 */
import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { durationAlarmId, TIMEOUT_SHARE } from './alarms/functions';
import { type PipelineAlarms, pct } from './alarms/pipeline-alarms';
import { deadLetterAlarmId } from './alarms/queues';
import type { MonitoredFunction, MonitoredQueue, PipelineLayer, WorkQueue } from './monitored-resources';
import * as metrics from './pipeline-metrics';
import { DeferredWidgets, graph, header, text } from './widgets';

/** The gold workflow as the dashboard shows it: its executions, and its failure alarm. */
export interface WatchedWorkflow {
  readonly stateMachine: sfn.IStateMachine;
  readonly failures: cloudwatch.Alarm;
}

/** Properties of {@link createPipelineDashboard}. */
export interface PipelineDashboardProps {
  readonly dashboardName: string;
  /** The domains' dashboards (per-dataset graphs and alarms), named in the silver row. */
  readonly domainDashboards: string[];
  readonly functions: MonitoredFunction[];
  readonly deadLetterQueues: MonitoredQueue[];
  readonly workQueues: WorkQueue[];
  /** @default - no API widgets */
  readonly api?: apigw.RestApi;
  /** The alarms already added (the status widget also lists those added later). */
  readonly alarms: PipelineAlarms;
  /** The `Freshness` alarm, drawn in the gold row. */
  readonly freshness: cloudwatch.Alarm;
  /** @default - a note that no Athena workgroup is monitored */
  readonly athena?: cloudwatch.Alarm;
  /** Asked when the dashboard is rendered: the workflow may be monitored after the dashboard is built. */
  readonly goldWorkflow: () => WatchedWorkflow | undefined;
}

/** Creates the dashboard (`Dashboard`) in `scope`, a day of data by default. */
export function createPipelineDashboard(
  scope: Construct,
  props: PipelineDashboardProps,
): cloudwatch.Dashboard {
  const { alarms } = props;
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    dashboardName: props.dashboardName,
    defaultInterval: Duration.days(1),
  });
  const layer = (l: PipelineLayer) => ({
    functions: props.functions.filter((f) => f.layer === l),
    deadLetters: props.deadLetterQueues.filter((q) => q.layer === l),
    work: props.workQueues.filter((q) => q.layer === l),
  });
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({
      title: 'Alarms (descriptions say what to do)',
      alarms: alarms.list,
      width: 24,
      height: Math.max(3, Math.ceil(alarms.list.length / 4) + 1),
      sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
    }),
  );
  dashboard.addWidgets(
    header(
      'Ingest / bronze',
      'The ingest API and the landing functions (files and bytes per dataset: the domain dashboards).',
    ),
    ...ingestWidgets(props.api),
    ...layerWidgets(alarms, layer('ingest')),
  );
  dashboard.addWidgets(
    header(
      'Silver',
      'The transform and its queues; rows, quarantine ratio and lag per dataset are on the domain dashboards.',
    ),
    text(
      `Domain dashboards (one per domain, its datasets' rows and alarms): ${
        props.domainDashboards.length > 0 ? props.domainDashboards.join(', ') : 'none'
      }.`,
      8,
    ),
    ...layerWidgets(alarms, layer('silver')),
  );
  dashboard.addWidgets(
    header('Gold', 'Publications of the gold tables (freshness SLO) and the gold workflow.'),
    new cloudwatch.AlarmWidget({
      title: 'Gold publications (freshness)',
      alarm: props.freshness,
      width: 8,
      height: 6,
    }),
    // Decided at synthesis: the workflow may be added after the dashboard (monitorGoldWorkflow).
    new DeferredWidgets(16, 6, () => {
      const workflow = props.goldWorkflow();
      return workflow
        ? workflowWidgets(workflow)
        : [text('The gold workflow is not deployed yet: no state machine to show.', 16)];
    }),
    ...layerWidgets(alarms, layer('gold')),
  );
  dashboard.addWidgets(
    header(
      'Cost',
      'Usage that drives the bill: Athena bytes scanned, Lambda compute, API requests. The monthly budget is in AWS Budgets.',
    ),
    props.athena
      ? new cloudwatch.AlarmWidget({
          title: 'Athena bytes scanned per day',
          alarm: props.athena,
          width: 8,
          height: 6,
        })
      : text('No Athena workgroup is monitored yet.'),
    new cloudwatch.GraphWidget({
      title: 'Lambda compute per day (duration sum, ms)',
      left: props.functions.map((f) => metrics.lambdaDurationSum(f.function).with({ label: f.name })),
      width: 8,
      height: 6,
    }),
    ...(props.api
      ? [
          new cloudwatch.GraphWidget({
            title: 'API requests per day',
            left: [props.api.metricCount({ statistic: cloudwatch.Stats.SUM, period: Duration.days(1) })],
            width: 8,
            height: 6,
          }),
        ]
      : []),
  );
  return dashboard;
}

function ingestWidgets(api?: apigw.RestApi): cloudwatch.IWidget[] {
  const widgets: cloudwatch.IWidget[] = [];
  if (api) {
    const sum = { statistic: cloudwatch.Stats.SUM, period: metrics.METRIC_PERIOD };
    widgets.push(
      new cloudwatch.GraphWidget({
        title: 'Ingest API: requests and errors',
        left: [
          api.metricCount({ ...sum, label: 'requests' }),
          api.metricClientError({ ...sum, label: '4xx' }),
          api.metricServerError({ ...sum, label: '5xx' }),
        ],
        right: [api.metricLatency({ statistic: cloudwatch.Stats.p(99), label: 'latency p99 (ms)' })],
        width: 8,
        height: 6,
      }),
    );
  }
  return widgets;
}

/** The functions and queues of one layer: health graphs, and their alarms drawn with thresholds. */
function layerWidgets(
  alarms: PipelineAlarms,
  l: { functions: MonitoredFunction[]; deadLetters: MonitoredQueue[]; work: WorkQueue[] },
): cloudwatch.IWidget[] {
  return [
    ...l.work.map(
      (q) =>
        new cloudwatch.GraphWidget({
          title: `${q.name}: backlog`,
          left: [metrics.queueDepth(q.queue).with({ label: 'messages waiting' })],
          right: [metrics.queueOldestMessageAge(q.queue).with({ label: 'oldest message (s)' })],
          width: 8,
          height: 6,
        }),
    ),
    ...l.deadLetters.map(
      (q) =>
        new cloudwatch.AlarmWidget({
          title: `${q.name}: messages waiting`,
          alarm: alarms.byId[deadLetterAlarmId(q.name)],
          width: 8,
          height: 6,
        }),
    ),
    ...l.functions.flatMap((f) => [
      graph(`${f.name}: invocations, errors, throttles`, [
        metrics.lambdaInvocations(f.function).with({ label: 'invocations' }),
        metrics.lambdaErrors(f.function).with({ label: 'errors' }),
        metrics.lambdaThrottles(f.function).with({ label: 'throttles' }),
      ]),
      new cloudwatch.AlarmWidget({
        title: `${f.name}: duration p99 vs ${pct(TIMEOUT_SHARE)} of timeout`,
        alarm: alarms.byId[durationAlarmId(f.name)],
        width: 8,
        height: 6,
      }),
    ]),
  ];
}

function workflowWidgets({ stateMachine, failures }: WatchedWorkflow): cloudwatch.IWidget[] {
  const sum = { statistic: cloudwatch.Stats.SUM, period: metrics.METRIC_PERIOD };
  return [
    graph('Gold workflow executions', [
      stateMachine.metricStarted({ ...sum, label: 'started' }),
      stateMachine.metricSucceeded({ ...sum, label: 'succeeded' }),
      stateMachine.metricFailed({ ...sum, label: 'failed' }),
      stateMachine.metricTimedOut({ ...sum, label: 'timed out' }),
    ]),
    new cloudwatch.AlarmWidget({ title: 'Gold workflow failures', alarm: failures, width: 8, height: 6 }),
  ];
}
