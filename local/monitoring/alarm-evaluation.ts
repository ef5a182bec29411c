/**
 * The template's CloudWatch alarms (`AWS::CloudWatch::Alarm`), evaluated on a local run's metrics: what
 * AWS would have alarmed on had the run happened there.
 *
 * Semantics (also in the README): a local run lasts seconds to minutes, so ALL its data points fall into
 * ONE period of each alarm (however long its `Period`), the latest one of its evaluation range; the other
 * `EvaluationPeriods - 1` periods have no data. The statistic (Sum, Maximum, p99...) of the period's data
 * points, or the alarm's metric-math expression over them (`metric-math.ts`), gives the one value
 * compared with the threshold; then, with M = `DatapointsToAlarm` (default `EvaluationPeriods`):
 *  - `notBreaching`: ALARM when that value breaches and M = 1, else OK (no data: OK);
 *  - `ignore` / `missing`: no data is INSUFFICIENT_DATA; a breaching value with M = 1 is ALARM; a value
 *    that does not breach is OK; a breaching one with M > 1 is INSUFFICIENT_DATA (one period cannot decide);
 *  - `breaching`: periods without data would count as breaching. A short run cannot tell absence of data
 *    (it did not last the evaluation range): when the state would hang on those periods, the alarm is
 *    NOT_EVALUATED; with the run's value alone deciding, it is evaluated (a `Freshness` with this run's
 *    publication is OK; a `Stranded` of 2 is ALARM).
 * An alarm whose metric the local cloud does not produce (see {@link LOCAL_METRICS}) is NOT_EVALUATED with
 * the reason; one it cannot read at all (an unknown metric, expression function, statistic or reference)
 * is NOT_EVALUATED with `unsupported` set, which the test over the real template refuses.
 *
 * Pure and cheap: the template's alarms are parsed once per template (and naming), an evaluation only
 * reads the metric store.
 */

import { type AlarmPlan, type AlarmTemplate, alarmPlans, type Format } from './alarm-plans';
import type { MetricSource } from './local-metrics';
import type { LocalNaming } from './local-names';
import { evaluateMathExpression, type PeriodValue } from './metric-math';

export type { AlarmTemplate } from './alarm-plans';
export { LOCAL_METRICS } from './alarm-plans';

/** The state of an alarm after a local run. */
export type LocalAlarmState = 'ALARM' | 'OK' | 'INSUFFICIENT_DATA' | 'NOT_EVALUATED';

/** One alarm of the template, evaluated. */
export interface AlarmResult {
  /** The pipeline's id of the alarm: its name without the stack prefix (`QuarantineRatio-stores`). */
  readonly alarmId: string;
  /** The alarm's full name (`Medallion-dev-QuarantineRatio-stores`). */
  readonly alarmName: string;
  /** The alarm's logical id in the template. */
  readonly logicalId: string;
  readonly state: LocalAlarmState;
  /** One line for people: `QuarantineRatio-stores 50% > 5%`, `Freshness not evaluated locally: ...`. */
  readonly line: string;
  /** The period's value (the statistic, or the expression's result), when there was one. */
  readonly value?: number;
  readonly threshold?: number;
  readonly description?: string;
  /** Why it was not evaluated (NOT_EVALUATED only). */
  readonly reason?: string;
  /** Set when the alarm uses something this evaluator does not know (NOT_EVALUATED only): teach it. */
  readonly unsupported?: true;
}

export interface AlarmEvaluationOptions extends LocalNaming {
  /** The period's first instant (epoch ms, inclusive). @default the first data point */
  readonly from?: number;
  /** The period's last instant (epoch ms, inclusive). @default the last data point */
  readonly to?: number;
  /**
   * What the alarm names start with (`Medallion-dev-`), left out of `alarmId`.
   * @default `<name>-` for the longest dashboard name every alarm name starts with (the pipeline's
   * dashboard and alarms share its name prefix), else the longest `-`-terminated prefix they all share
   */
  readonly alarmNamePrefix?: string;
}

/** The template's alarms evaluated on `metrics` (all data points in the window are one period). */
export function evaluateAlarms(
  template: AlarmTemplate,
  metrics: MetricSource,
  options: AlarmEvaluationOptions = {},
): AlarmResult[] {
  const plans = alarmPlans(template, options);
  const prefix =
    options.alarmNamePrefix ??
    alarmNamePrefix(
      template,
      plans.map((p) => p.alarmName),
    );
  return plans.map((plan) => {
    const alarmId = plan.alarmName.startsWith(prefix) ? plan.alarmName.slice(prefix.length) : plan.alarmName;
    const base = {
      alarmId,
      alarmName: plan.alarmName,
      logicalId: plan.logicalId,
      ...(plan.threshold === undefined ? {} : { threshold: plan.threshold }),
      ...(plan.description ? { description: plan.description } : {}),
    };
    if (!plan.evaluable) {
      return {
        ...base,
        state: 'NOT_EVALUATED',
        line: `${alarmId} not evaluated locally: ${plan.reason}`,
        reason: plan.reason,
        ...(plan.unsupported ? { unsupported: true as const } : {}),
      };
    }
    return { ...base, ...judge(plan, alarmId, periodValue(plan, metrics, options)) };
  });
}

/** The state and line of an evaluable alarm, given the run's one value (undefined: no data). */
function judge(
  plan: Extract<AlarmPlan, { evaluable: true }>,
  alarmId: string,
  value: PeriodValue,
): Pick<AlarmResult, 'state' | 'line' | 'value' | 'reason'> {
  const n = plan.evaluationPeriods;
  const m = plan.datapointsToAlarm;
  const show = (v: number) => formatValue(v, plan.format);
  const rule = `${plan.operator.symbol} ${show(plan.threshold)}`;
  const breaching = value !== undefined && plan.operator.breaches(value, plan.threshold) ? 1 : 0;
  const missing = n - (value === undefined ? 0 : 1);
  const periods = n > 1 ? ` (${m} of ${n} periods needed, a local run is one)` : '';
  const withValue = value === undefined ? {} : { value };
  if (breaching >= m)
    return { state: 'ALARM', line: `${alarmId} ${show(value as number)} ${rule}`, ...withValue };
  if (plan.treatMissingData === 'breaching' && breaching + missing >= m) {
    const reason =
      'it alarms on missing data, and a local run is too short to tell absence of data (its evaluation ' +
      `range is ${n} period(s); the run ${value === undefined ? 'has no data point' : 'fills one'})`;
    return {
      state: 'NOT_EVALUATED',
      line: `${alarmId} not evaluated locally: ${reason}`,
      reason,
      ...withValue,
    };
  }
  if (value === undefined) {
    // (`breaching` cannot get here: with no data, the missing periods alone reach M.)
    return plan.treatMissingData === 'notBreaching'
      ? { state: 'OK', line: `${alarmId} no data (alarms at ${rule})` }
      : { state: 'INSUFFICIENT_DATA', line: `${alarmId} no data (alarms at ${rule})` };
  }
  if (breaching > 0 && plan.treatMissingData !== 'notBreaching') {
    return { state: 'INSUFFICIENT_DATA', line: `${alarmId} ${show(value)} ${rule}${periods}`, value };
  }
  const line =
    breaching > 0
      ? `${alarmId} ${show(value)} ${rule}${periods}`
      : `${alarmId} ${show(value)} (alarms at ${rule})`;
  return { state: 'OK', line, value };
}

/** The alarm's value for the run: the returned id's statistic or expression over the window's data points. */
function periodValue(
  plan: Extract<AlarmPlan, { evaluable: true }>,
  metrics: MetricSource,
  options: AlarmEvaluationOptions,
): PeriodValue {
  const cache = new Map<string, PeriodValue>();
  const valueOfId = (id: string, depth = 0): PeriodValue => {
    if (cache.has(id)) return cache.get(id);
    let v: PeriodValue;
    const stat = plan.stats.get(id);
    const expression = plan.expressions.get(id);
    if (stat) {
      const points = metrics.query({ ...stat.query, from: options.from, to: options.to });
      v = stat.statistic(points.map((p) => p.value));
    } else if (expression && depth < 10) {
      v = evaluateMathExpression(expression, (inner) => valueOfId(inner, depth + 1));
    }
    cache.set(id, v);
    return v;
  };
  return valueOfId(plan.returned);
}

/** A value as the lines show it: `9.1%`, `812 ms`, `1.5 GiB`, `3`. */
function formatValue(v: number, format: Format): string {
  switch (format) {
    case 'percent':
      return `${Math.round(v * 1000) / 10}%`;
    case 'milliseconds':
      return `${Math.round(v)} ms`;
    case 'bytes':
      return v >= 2 ** 30 ? `${Math.round((v / 2 ** 30) * 10) / 10} GiB` : `${Math.round(v)} B`;
    case 'number':
      return String(Math.round(v * 1000) / 1000);
  }
}

/** What every alarm name starts with: see {@link AlarmEvaluationOptions.alarmNamePrefix}. */
function alarmNamePrefix(template: AlarmTemplate, names: readonly string[]): string {
  const dashboards = Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::CloudWatch::Dashboard' && typeof r.Properties?.DashboardName === 'string')
    .map((r) => `${r.Properties.DashboardName}-`)
    .filter((prefix) => names.length > 0 && names.every((n) => n.startsWith(prefix) && n !== prefix))
    .sort((a, b) => b.length - a.length);
  return dashboards[0] ?? commonNamePrefix(names);
}

/** The longest prefix ending with `-` that every name shares and none is reduced to (`Medallion-dev-`). */
export function commonNamePrefix(names: readonly string[]): string {
  if (names.length < 2) return '';
  let prefix = names[0];
  for (const n of names) while (!n.startsWith(prefix)) prefix = prefix.slice(0, -1);
  const cut = prefix.lastIndexOf('-');
  prefix = cut < 0 ? '' : prefix.slice(0, cut + 1);
  return names.some((n) => n === prefix) ? '' : prefix;
}
