/**
 * A domain's dashboard: the status of its datasets' alarms, then one row per dataset (files and bytes
 * landed, rows in and out, the quarantine ratio against its contract, lag to silver and rejected files).
 * The platform's dashboard shows the shared functions, queues, API, gold and cost.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { METRIC_NAMES } from '../../core/telemetry/metrics';
import { datasetAlarmIds, quarantineRatioAlarmId } from './alarms/datasets';
import type { PipelineAlarms } from './alarms/pipeline-alarms';
import * as metrics from './pipeline-metrics';

/**
 * Datasets per dashboard page: 4 widgets each plus the alarm status keeps a page within 100 widgets and
 * its status widget within 100 alarms (CloudWatch's per-dashboard and per-widget limits).
 */
export const DATASETS_PER_DASHBOARD = 20;

/** Properties of {@link createDomainDashboards}. */
export interface DomainDashboardProps {
  /** The first page's name; the next are `<name>-2`, `<name>-3`... */
  readonly dashboardName: string;
  readonly domain: string;
  /** The domain's contracts, one row each. */
  readonly contracts: DatasetContract[];
  /** The datasets' alarms (see `addDatasetAlarms`). */
  readonly alarms: PipelineAlarms;
}

/**
 * Creates the domain's dashboards in `scope` (`Dashboard`, `Dashboard2`...), {@link DATASETS_PER_DASHBOARD}
 * datasets a page, a day of data by default: each page shows its datasets' alarms, then a row per dataset.
 */
export function createDomainDashboards(
  scope: Construct,
  props: DomainDashboardProps,
): cloudwatch.Dashboard[] {
  const pages: cloudwatch.Dashboard[] = [];
  for (let first = 0; first < props.contracts.length; first += DATASETS_PER_DASHBOARD) {
    const page = pages.length + 1;
    const contracts = props.contracts.slice(first, first + DATASETS_PER_DASHBOARD);
    const alarms = contracts.flatMap((c) => datasetAlarmIds(c).map((id) => props.alarms.byId[id]));
    const dashboard = new cloudwatch.Dashboard(scope, page === 1 ? 'Dashboard' : `Dashboard${page}`, {
      dashboardName: page === 1 ? props.dashboardName : `${props.dashboardName}-${page}`,
      defaultInterval: Duration.days(1),
    });
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: `Alarms of the ${props.domain} datasets on this page (descriptions say what to do)`,
        alarms,
        width: 24,
        height: Math.max(3, Math.ceil(alarms.length / 4) + 1),
        sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
      }),
    );
    for (const c of contracts) dashboard.addWidgets(...datasetWidgets(props.alarms, c));
    pages.push(dashboard);
  }
  return pages;
}

/** One dataset: what landed, what reached silver, what was rejected and how late. */
function datasetWidgets(alarms: PipelineAlarms, c: DatasetContract): cloudwatch.IWidget[] {
  const m = (name: (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES], label: string) =>
    metrics.datasetMetric(name, c.dataset, { label });
  return [
    new cloudwatch.GraphWidget({
      title: `${c.id}: landed in bronze`,
      left: [m(METRIC_NAMES.FilesLanded, 'files')],
      right: [m(METRIC_NAMES.BytesLanded, 'bytes')],
      width: 6,
      height: 6,
    }),
    new cloudwatch.GraphWidget({
      title: `${c.id}: rows`,
      left: [
        m(METRIC_NAMES.RowsIn, 'in'),
        m(METRIC_NAMES.RowsOut, 'out'),
        m(METRIC_NAMES.RowsQuarantined, 'quarantined'),
        m(METRIC_NAMES.DuplicatesRemoved, 'duplicates'),
      ],
      width: 6,
      height: 6,
    }),
    new cloudwatch.AlarmWidget({
      title: `${c.id}: quarantine ratio (contract max ${c.quality.maxQuarantineRatio})`,
      alarm: alarms.byId[quarantineRatioAlarmId(c.dataset)],
      leftYAxis: { min: 0, max: 1 },
      width: 6,
      height: 6,
    }),
    new cloudwatch.GraphWidget({
      title: `${c.id}: lag to silver (s), rejected files`,
      left: [
        metrics.transformLag(c.dataset, cloudwatch.Stats.MAXIMUM).with({ label: 'lag max' }),
        metrics.transformLag(c.dataset, cloudwatch.Stats.p(90)).with({ label: 'lag p90' }),
      ],
      right: [metrics.filesQuarantined(c.dataset).with({ label: 'files rejected' })],
      width: 6,
      height: 6,
    }),
  ];
}
