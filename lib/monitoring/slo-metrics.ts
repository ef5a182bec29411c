/**
 * SLO arithmetic (error budget, burn rate, the multi-window multi-burn-rate policy, how each window fits
 * CloudWatch's limits) and the metric-math series of the data products' SLIs. The numbers are pure
 * functions, so the alerting behaviour is tested without a template; the series reuse the pipeline's
 * metric factories (`pipeline-metrics.ts`), so an SLO alarm and the operational alarm beside it read the
 * same data.
 *
 * Burn rate (Google SRE workbook, "Alerting on SLOs"): how fast the error budget is spent relative to the
 * pace that would spend exactly all of it over the SLO window. Burn rate 1 empties the budget at the end
 * of the window; 14.4 over a 30-day window spends 2% of the budget in one hour and all of it in ~2 days.
 * https://sre.google/workbook/alerting-on-slos/
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import {
  BURN_RATE_ALERTS,
  type BurnRateAlert,
  errorBudget,
  type Severity,
  tidy,
} from '../../core/slo/error-budget';
import {
  METRIC_DIMENSIONS,
  METRIC_NAMES,
  METRICS_NAMESPACE,
  type MetricName,
} from '../../core/telemetry/metrics';
import { datasetMetric, goldPublished, quarantineRatio, transformLag } from './pipeline-metrics';

export type { BurnRateAlert, Severity } from '../../core/slo/error-budget';
export { BURN_RATE_ALERTS, burnRate, errorBudget, SEVERITIES } from '../../core/slo/error-budget';

/**
 * CloudWatch's evaluation range (period x evaluation periods): at most one day for periods under an hour,
 * at most seven days otherwise (PutMetricAlarm, `Period`:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
 */
export const MAX_RANGE_MINUTES_UNDER_AN_HOUR = 24 * 60;
export const MAX_RANGE_MINUTES = 7 * 24 * 60;

/** Products' SLIs measured in periods (freshness) use this period: the pipeline's operational one. */
export const SLI_PERIOD_MINUTES = 5;

/** A ratio as a percentage: `0.999` is `99.9%`. */
export const percent = (ratio: number): string => `${tidy(ratio * 100)}%`;

/** `5m`, `30m`, `1h`, `6h`, `3d`: a window in alarm names. */
export function windowLabel(minutes: number): string {
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

/** `5 min`, `1 h`, `3 days`: a window in descriptions. */
export function windowText(minutes: number): string {
  if (minutes % 1440 === 0) return minutes === 1440 ? '1 day' : `${minutes / 1440} days`;
  if (minutes % 60 === 0) return `${minutes / 60} h`;
  return `${minutes} min`;
}

/** The error ratio an alarm compares with: the burn rate's, unless no error ratio can reach it. */
export interface BurnThreshold {
  /** `burnRate x (1 - objective)`, at most 1. */
  readonly errorRatio: number;
  /**
   * False when the objective is so low that even every event failing burns slower than `burnRate`
   * (objective < 1 - 1/burnRate, e.g. 80% for 14.4x): the alarm then fires only when every event fails
   * (`errorRatio` 1, compared with >=), the fastest burn there can be.
   */
  readonly reachable: boolean;
}

export function burnThreshold(rate: number, objective: number): BurnThreshold {
  const ratio = tidy(rate * errorBudget(objective));
  return ratio < 1 ? { errorRatio: ratio, reachable: true } : { errorRatio: 1, reachable: false };
}

/** One row of {@link alertTable}: what an alert of the policy means for one objective. */
export interface AlertTableRow extends BurnRateAlert {
  readonly errorRatio: number;
  readonly reachable: boolean;
  /** Share of the SLO window's budget spent by the time the long window fires (2%, 5%, 10% for 30 days). */
  readonly budgetSpent: number;
  /** Hours until the whole budget is gone at this burn rate. */
  readonly hoursToExhaustion: number;
}

/** The policy's alerts for an objective and an SLO window: thresholds and what they mean. */
export function alertTable(objective: number, sloWindowMinutes: number): AlertTableRow[] {
  return BURN_RATE_ALERTS.map((a) => {
    const t = burnThreshold(a.burnRate, objective);
    return {
      ...a,
      errorRatio: t.errorRatio,
      reachable: t.reachable,
      budgetSpent: tidy((a.burnRate * a.longMinutes) / sloWindowMinutes),
      hoursToExhaustion: tidy(sloWindowMinutes / a.burnRate / 60),
    };
  });
}

/**
 * Minutes until an alert fires after a steady error ratio starts from a clean slate: the long window's
 * ratio reaches `errorRatio x t / long` and the short one's `errorRatio x t / short`, and both must exceed
 * the threshold (the workbook's detection time, `threshold / errorRatio x window`). Infinity when the
 * error ratio never exceeds it.
 */
export function minutesToAlert(alert: BurnRateAlert, errorRatio: number, objective: number): number {
  const t = burnThreshold(alert.burnRate, objective);
  const fires = t.reachable ? errorRatio > t.errorRatio : errorRatio >= 1;
  if (!fires) return Number.POSITIVE_INFINITY;
  return tidy((Math.max(alert.longMinutes, alert.shortMinutes) * t.errorRatio) / errorRatio);
}

/** When a steady error ratio is first paged and ticketed (minutes; Infinity: never). */
export function alertTimes(errorRatio: number, objective: number): Record<Severity, number> {
  const first = (severity: Severity) =>
    Math.min(
      ...BURN_RATE_ALERTS.filter((a) => a.severity === severity).map((a) =>
        minutesToAlert(a, errorRatio, objective),
      ),
    );
  return { page: first('page'), ticket: first('ticket') };
}

/**
 * A window of a ratio SLI (bad events / all events): one CloudWatch period as long as the window, one
 * evaluation period. Alarms slide by default (each evaluation covers the last `period`, not a clock-aligned
 * one: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation-window.html), so the
 * sums are those of exactly the last window. Every window of the policy fits: 5 min to 6 h are under a
 * day, and 3 days (a period of 259,200 s, one evaluation period) are under the seven days PutMetricAlarm
 * allows for periods of an hour or more.
 */
export function ratioWindow(windowMinutes: number): { period: Duration; evaluationPeriods: 1 } {
  const max = windowMinutes < 60 ? MAX_RANGE_MINUTES_UNDER_AN_HOUR : MAX_RANGE_MINUTES;
  if (!Number.isInteger(windowMinutes) || windowMinutes < 1 || windowMinutes > max) {
    throw new Error(`a window of ${windowMinutes} minutes cannot be one CloudWatch period`);
  }
  return { period: Duration.minutes(windowMinutes), evaluationPeriods: 1 };
}

/** A window of a period SLI as CloudWatch evaluates it: N periods, of which M bad ones breach. */
export interface PeriodWindow {
  /** The SLI's period, or an hour when CloudWatch cannot look back that far at the SLI's period. */
  readonly periodMinutes: number;
  readonly evaluationPeriods: number;
  /** What the alarm actually covers: `periodMinutes x evaluationPeriods`. */
  readonly coveredMinutes: number;
  /** Whether that is the window asked for, at the SLI's own period. */
  readonly exact: boolean;
}

/**
 * The periods covering `windowMinutes` for an SLI judged per period of `sliPeriodMinutes` (a period is
 * good or bad). Exact when the window is a whole number of periods within CloudWatch's range; otherwise:
 * - a window shorter than one period is one period (a gold model with a 2-hour freshness bucket judges
 *   its 1-hour and 5-minute windows on the last 2 hours);
 * - a window that is not a whole number of periods is rounded to the nearest number of them;
 * - a window over a day at a period under an hour (3 days of 5-minute periods) is counted in hours, since
 *   CloudWatch evaluates at most a day of sub-hour periods: an hour is bad when any of its 5-minute
 *   periods is (the lag's maximum over the hour), so short scattered breaches count up to 12 times;
 *   for a publication bucket, an hour is bad when nothing was published in it.
 */
export function periodWindow(windowMinutes: number, sliPeriodMinutes: number): PeriodWindow {
  if (!Number.isInteger(sliPeriodMinutes) || sliPeriodMinutes < 1) {
    throw new Error(`an SLI period is a whole number of minutes, got ${sliPeriodMinutes}`);
  }
  let period = sliPeriodMinutes;
  let n = Math.max(1, Math.round(windowMinutes / period));
  if (period < 60 && n * period > MAX_RANGE_MINUTES_UNDER_AN_HOUR) {
    period = 60;
    n = Math.max(1, Math.round(windowMinutes / period));
  }
  if (n * period > MAX_RANGE_MINUTES) {
    throw new Error(
      `a window of ${windowMinutes} minutes at ${period}-minute periods exceeds CloudWatch's 7-day evaluation range`,
    );
  }
  return {
    periodMinutes: period,
    evaluationPeriods: n,
    coveredMinutes: n * period,
    exact: period === sliPeriodMinutes && n * period === windowMinutes,
  };
}

/**
 * How many of `evaluationPeriods` periods must be bad for the share of bad periods to exceed
 * `errorRatio` (CloudWatch's "M out of N", `DatapointsToAlarm`): the smallest M with M/N > ratio, at most N.
 */
export function badPeriodsToAlarm(errorRatio: number, evaluationPeriods: number): number {
  const allowed = Math.floor(tidy(errorRatio * evaluationPeriods));
  return Math.min(evaluationPeriods, allowed + 1);
}

// ---------------------------------------------------------------------------------------------------
// The SLIs' series

/** Publications of one gold model (`Medallion/ModelPublished`, dimension `Model`), summed per period. */
export function modelPublished(model: string, period: Duration): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: METRIC_NAMES.ModelPublished,
    dimensionsMap: { [METRIC_DIMENSIONS.Model]: model },
    statistic: cloudwatch.Stats.SUM,
    period,
  });
}

/** Quality: quarantined rows / rows read over the last `period` (the window): the error ratio. */
export function qualityErrorRatio(dataset: string, period: Duration): cloudwatch.MathExpression {
  return quarantineRatio(dataset, period);
}

/**
 * Completeness errors of a dataset, per period (0..1): of the rows producers stated their files hold,
 * the share the files did not (RowsMissing / RowsExpected). Files that state no count add to neither;
 * periods without such files have no data point.
 */
export function missingRowsRatio(dataset: string, period: Duration): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: 'IF(expected > 0, missing / expected, 0)',
    usingMetrics: {
      expected: datasetMetric(METRIC_NAMES.RowsExpected, dataset, { period }),
      missing: datasetMetric(METRIC_NAMES.RowsMissing, dataset, { period }),
    },
    period,
    label: `${dataset}: share of the stated rows missing`,
  });
}

/**
 * Rows read per hour, hours without files as 0: the series whose trailing baseline (CloudWatch anomaly
 * detection, trained on up to two weeks of it, hourly, daily and weekly patterns included) tells that
 * whole files are missing, which no file's stated count can.
 */
export function rowsReadPerHour(dataset: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: 'FILL(rowsIn, 0)',
    usingMetrics: { rowsIn: datasetMetric(METRIC_NAMES.RowsIn, dataset, { period: Duration.hours(1) }) },
    period: Duration.hours(1),
    label: `${dataset}: rows read per hour`,
  });
}

/**
 * Freshness of a dataset, per period: 1 when a transform that ended in the period took longer than
 * `freshnessMinutes` from the bronze object's creation (the lag's maximum), 0 otherwise, periods without
 * transforms included (nothing waited).
 */
export function lateTransformPeriods(
  dataset: string,
  freshnessMinutes: number,
  period: Duration,
): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `IF(FILL(lag, 0) > ${freshnessMinutes * 60}, 1, 0)`,
    usingMetrics: { lag: transformLag(dataset, cloudwatch.Stats.MAXIMUM, period) },
    period,
    label: `${dataset}: periods with a transform later than ${freshnessMinutes} min`,
  });
}

/**
 * Freshness of gold, per bucket of `period` (the freshness target): 1 when nothing was published in it.
 * `model` undefined: the whole gold layer (`GoldPublished`, no dimension).
 */
export function unpublishedPeriods(model: string | undefined, period: Duration): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: 'IF(FILL(published, 0) > 0, 0, 1)',
    usingMetrics: { published: model ? modelPublished(model, period) : goldPublished(period) },
    period,
    label: `${model ?? 'gold'}: periods without a publication`,
  });
}

/**
 * Budget left (%) of a row-ratio SLI over the graph's time range, as of each point: 100 x (1 - the error
 * ratio since the range's start / the budget), the ratio `bad` rows / `all` rows (quality: quarantined /
 * read; completeness: missing / stated). Its last point is the budget left over the whole range: give the
 * widget the SLO window as its range. The metrics' ids must differ from those of the other SLIs a widget
 * shows beside it (CloudWatch refuses two metrics of one id in a graph).
 */
export function rowRatioBudgetLeft(
  dataset: string,
  metrics: Readonly<Record<'all' | 'bad', { readonly id: string; readonly name: MetricName }>>,
  objective: number,
  period: Duration,
  label: string,
): cloudwatch.MathExpression {
  const { all, bad } = metrics;
  const total = `RUNNING_SUM(FILL(${all.id}, 0))`;
  return new cloudwatch.MathExpression({
    expression: `100 * (1 - IF(${total} > 0, RUNNING_SUM(FILL(${bad.id}, 0)) / ${total}, 0) / ${errorBudget(objective)})`,
    usingMetrics: {
      [all.id]: datasetMetric(all.name, dataset, { period }),
      [bad.id]: datasetMetric(bad.name, dataset, { period }),
    },
    period,
    label,
  });
}

/**
 * Budget left (%) of a per-period SLI (`bad`: 1 per bad period, over one metric) over a window:
 * 100 x (1 - bad periods since the range's start / the periods the budget allows in `windowMinutes`).
 * PERIOD() of that metric keeps the count right if the console changes the widget's period.
 */
export function periodBudgetLeft(
  bad: cloudwatch.MathExpression,
  objective: number,
  windowMinutes: number,
  label: string,
): cloudwatch.MathExpression {
  const [source, ...others] = Object.keys(bad.usingMetrics);
  if (!source || others.length > 0) throw new Error(`'${bad.expression}' must read exactly one metric`);
  return new cloudwatch.MathExpression({
    expression: `100 * (1 - RUNNING_SUM(${bad.expression}) / (${errorBudget(objective)} * ${windowMinutes * 60} / PERIOD(${source})))`,
    usingMetrics: bad.usingMetrics,
    period: bad.period,
    label,
  });
}
