/**
 * Dashboard widgets of the data products' SLOs: per product, the error budget left over its SLO window
 * (a number per SLI) and its burn-down across the window, plus the status of the SLO alerts. Each widget
 * fixes its own time range to the product's SLO window, whatever range the dashboard shows.
 *
 * Budget left = 1 - consumed / budget, over the window: for quality, 1 - (quarantined / read rows since
 * the window's start) / (1 - objective); for completeness, likewise with missing / stated rows; for freshness, 1 - bad periods since the window's start /
 * (periods in the window x (1 - objective)). Metric math's RUNNING_SUM accumulates from the start of the
 * widget's range, so the last point is the budget left over the whole window and the line before it
 * shows how it was spent.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRIC_NAMES } from '../../core/telemetry/metrics';
import type { Slo } from './slo-definitions';
import {
  lateTransformPeriods,
  percent,
  periodBudgetLeft,
  rowRatioBudgetLeft,
  unpublishedPeriods,
  windowText,
} from './slo-metrics';

/** CloudWatch's limit on the alarms of one alarm status widget. */
const ALARMS_PER_STATUS_WIDGET = 100;

export interface SloWidgetsOptions {
  /**
   * SLO alerts whose status to show first (`DataProductSlos.compositeAlarms`), in widgets of up to 100.
   * @default - no status widget
   */
  readonly alarms?: readonly cloudwatch.IAlarm[];
}

/** The rows counted and the bad ones, per row-ratio SLI: ids distinct, as a product's graph shows both. */
const ROW_RATIO_METRICS = {
  quarantinedRows: {
    all: { id: 'rowsIn', name: METRIC_NAMES.RowsIn },
    bad: { id: 'quarantined', name: METRIC_NAMES.RowsQuarantined },
  },
  missingRows: {
    all: { id: 'rowsStated', name: METRIC_NAMES.RowsExpected },
    bad: { id: 'rowsMissing', name: METRIC_NAMES.RowsMissing },
  },
} as const;

/** The budget left of one SLO, in % of its budget over its window (0 or less: the SLO is missed). */
export function budgetLeft(slo: Slo): cloudwatch.MathExpression {
  const ind = slo.indicator;
  const label = `${slo.sli} budget left % (objective ${percent(slo.objective)})`;
  switch (ind.kind) {
    case 'quarantinedRows':
    case 'missingRows':
      return rowRatioBudgetLeft(
        ind.dataset,
        ROW_RATIO_METRICS[ind.kind],
        slo.objective,
        Duration.hours(1),
        label,
      );
    case 'lateTransforms':
      return periodBudgetLeft(
        lateTransformPeriods(ind.dataset, ind.freshnessMinutes, Duration.minutes(ind.periodMinutes)),
        slo.objective,
        slo.windowMinutes,
        label,
      );
    case 'unpublished':
      return periodBudgetLeft(
        unpublishedPeriods(ind.model, Duration.minutes(ind.freshnessMinutes)),
        slo.objective,
        slo.windowMinutes,
        label,
      );
  }
}

/**
 * The widgets of `slos`: the alerts' status (if given), then a row per product: its budget left now and
 * its burn-down over its SLO window. For a domain dashboard, pass the domain's SLOs.
 */
export function sloWidgets(slos: readonly Slo[], options: SloWidgetsOptions = {}): cloudwatch.IWidget[] {
  const widgets: cloudwatch.IWidget[] = [];
  const alarms = options.alarms ?? [];
  for (let i = 0; i < alarms.length; i += ALARMS_PER_STATUS_WIDGET) {
    const chunk = alarms.slice(i, i + ALARMS_PER_STATUS_WIDGET);
    widgets.push(
      new cloudwatch.AlarmStatusWidget({
        title: 'SLO alerts (page: burning fast; ticket: burning slowly; descriptions say what to do)',
        alarms: [...chunk],
        width: 24,
        height: Math.max(3, Math.ceil(chunk.length / 4) + 1),
        sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
      }),
    );
  }
  for (const product of groupByProduct(slos)) {
    const [first] = product;
    const start = relativeStart(first.windowMinutes);
    const window = windowText(first.windowMinutes);
    const metrics = product.map(budgetLeft);
    widgets.push(
      new cloudwatch.SingleValueWidget({
        title: `${first.title}: error budget left over the last ${window}`,
        metrics,
        start,
        fullPrecision: false,
        width: 6,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: `${first.title}: error budget over the last ${window} (%; below 0, the SLO is missed)`,
        left: metrics,
        leftYAxis: { max: 100, showUnits: false },
        leftAnnotations: [{ value: 0, label: 'budget spent', color: '#d62728' }],
        start,
        width: 18,
        height: 6,
      }),
    );
  }
  return widgets;
}

/** The SLOs of each product, in the order first seen; a product's SLOs share its SLO window. */
function groupByProduct(slos: readonly Slo[]): Slo[][] {
  const groups = new Map<string, Slo[]>();
  for (const s of slos) groups.set(s.product, [...(groups.get(s.product) ?? []), s]);
  return [...groups.values()];
}

/** A widget's relative start (`-P30D`, `-PT6H`, `-PT90M`): the last `minutes` up to now. */
export function relativeStart(minutes: number): string {
  if (minutes % 1440 === 0) return `-P${minutes / 1440}D`;
  if (minutes % 60 === 0) return `-PT${minutes / 60}H`;
  return `-PT${minutes}M`;
}
