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
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { METRIC_NAMES } from '../../core/telemetry/metrics';
import { quarantineRatioAlarmId } from './alarms/datasets';
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
  readonly contracts: DatasetContract[];
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
      'Files and bytes stored in bronze per dataset, the ingest API, the landing functions.',
    ),
    ...ingestWidgets(props.contracts, props.api),
    ...layerWidgets(alarms, layer('ingest')),
  );
  dashboard.addWidgets(
    header(
      'Silver',
      'Rows per dataset, the quarantine ratio against its contract, transform latency and health.',
    ),
    ...props.contracts.flatMap((c) => datasetWidgets(alarms, c)),
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

function ingestWidgets(contracts: DatasetContract[], api?: apigw.RestApi): cloudwatch.IWidget[] {
  const perDataset = (name: typeof METRIC_NAMES.FilesLanded | typeof METRIC_NAMES.BytesLanded) =>
    contracts.map((c) => metrics.datasetMetric(name, c.dataset, { label: c.dataset }));
  const widgets: cloudwatch.IWidget[] = [
    graph('Files landed in bronze', perDataset(METRIC_NAMES.FilesLanded)),
    graph('Bytes landed in bronze', perDataset(METRIC_NAMES.BytesLanded)),
  ];
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

function datasetWidgets(alarms: PipelineAlarms, c: DatasetContract): cloudwatch.IWidget[] {
  const m = (name: (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES], label: string) =>
    metrics.datasetMetric(name, c.dataset, { label });
  return [
    graph(`${c.id}: rows`, [
      m(METRIC_NAMES.RowsIn, 'in'),
      m(METRIC_NAMES.RowsOut, 'out'),
      m(METRIC_NAMES.RowsQuarantined, 'quarantined'),
      m(METRIC_NAMES.DuplicatesRemoved, 'duplicates'),
    ]),
    new cloudwatch.AlarmWidget({
      title: `${c.id}: quarantine ratio (contract max ${c.quality.maxQuarantineRatio})`,
      alarm: alarms.byId[quarantineRatioAlarmId(c.dataset)],
      leftYAxis: { min: 0, max: 1 },
      width: 8,
      height: 6,
    }),
    new cloudwatch.GraphWidget({
      title: `${c.id}: lag to silver (s) and rejected files`,
      left: [
        metrics.transformLag(c.dataset, cloudwatch.Stats.MAXIMUM).with({ label: 'lag max' }),
        metrics.transformLag(c.dataset, cloudwatch.Stats.p(90)).with({ label: 'lag p90' }),
      ],
      right: [metrics.filesQuarantined(c.dataset).with({ label: 'files rejected' })],
      width: 8,
      height: 6,
    }),
  ];
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
