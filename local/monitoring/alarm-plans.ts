/**
 * The template's CloudWatch alarms read for a local evaluation (`alarm-evaluation.ts`): per alarm, the
 * metrics to query (dimensions resolved to local names, `local-names.ts`), the statistic or metric-math
 * expression (`metric-math.ts`) giving its value, and how it compares; or why it cannot be evaluated
 * locally. Parsed once per template and naming.
 */
import { METRIC_NAMES, METRICS_NAMESPACE } from '../../core/telemetry/metrics';
import type { MetricQuery } from './local-metrics';
import { type LocalNaming, TemplateNames } from './local-names';
import {
  expressionIds,
  type MathExpression,
  parseMathExpression,
  UnsupportedExpressionError,
} from './metric-math';

/** A template, as far as alarms are read from it. */
export interface AlarmTemplate {
  // biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON
  readonly Resources: Record<string, { Type: string; Properties?: any }>;
}

/**
 * The metrics a local run produces, by namespace and name: `true` when the local cloud records them,
 * else why not. A metric absent from this list is unknown (the alarm is `unsupported`).
 */
export const LOCAL_METRICS: Readonly<Record<string, Readonly<Record<string, true | string>>>> = {
  // The handlers' EMF lines, the local reconciler's Stranded count, the gold workflow's PutMetricData.
  [METRICS_NAMESPACE]: Object.fromEntries(Object.values(METRIC_NAMES).map((name) => [name, true])),
  'AWS/Lambda': {
    Invocations: true,
    Errors: true,
    Duration: true, // measured on this machine: the same code on the same data, not Lambda's CPU
    Throttles:
      'Lambda concurrency limits are not emulated locally: no invocation is ever throttled, so a local count would be 0 by construction',
  },
  // Recorded for dead-letter queues and functions' on-failure destinations: what the alarms watch.
  'AWS/SQS': { ApproximateNumberOfMessagesVisible: true },
  'AWS/States': {
    ExecutionsStarted: true,
    ExecutionsSucceeded: true,
    ExecutionsFailed: true,
    ExecutionsTimedOut: true,
  },
  'AWS/Athena': {
    ProcessedBytes:
      "a daily total of what Athena bills; the local Athena (DuckDB) only estimates an upper bound per query, and a local run is not a day's load",
  },
};

export const OPERATORS: Record<string, { symbol: string; breaches: (v: number, t: number) => boolean }> = {
  GreaterThanThreshold: { symbol: '>', breaches: (v, t) => v > t },
  GreaterThanOrEqualToThreshold: { symbol: '>=', breaches: (v, t) => v >= t },
  LessThanThreshold: { symbol: '<', breaches: (v, t) => v < t },
  LessThanOrEqualToThreshold: { symbol: '<=', breaches: (v, t) => v <= t },
};

export type Statistic = (values: number[]) => number | undefined;
export type Format = 'percent' | 'milliseconds' | 'bytes' | 'number';

/** How an alarm is read: what to query, what to compute, what to compare. */
export type AlarmPlan = {
  readonly logicalId: string;
  readonly alarmName: string;
  readonly description?: string;
  readonly threshold?: number;
} & (
  | { readonly evaluable: false; readonly reason: string; readonly unsupported: boolean }
  | {
      readonly evaluable: true;
      readonly threshold: number;
      readonly operator: (typeof OPERATORS)[string];
      readonly evaluationPeriods: number;
      readonly datapointsToAlarm: number;
      readonly treatMissingData: string;
      /** The metric stats by id (one, `m`, for a single-metric alarm). */
      readonly stats: ReadonlyMap<string, { query: MetricQuery; statistic: Statistic }>;
      readonly expressions: ReadonlyMap<string, MathExpression>;
      /** The id whose value the alarm compares. */
      readonly returned: string;
      readonly format: Format;
    }
);

const PLANS = new WeakMap<AlarmTemplate, Map<string, AlarmPlan[]>>();

/** The template's alarms, parsed once per template and naming. */
export function alarmPlans(template: AlarmTemplate, naming: LocalNaming): AlarmPlan[] {
  const key = JSON.stringify([naming.bucketPrefix, naming.region, naming.accountId]);
  let byNaming = PLANS.get(template);
  if (!byNaming) {
    byNaming = new Map();
    PLANS.set(template, byNaming);
  }
  let plans = byNaming.get(key);
  if (!plans) {
    const names = new TemplateNames(template, naming);
    plans = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
      .map(([logicalId, r]) => planAlarm(logicalId, r.Properties ?? {}, names));
    byNaming.set(key, plans);
  }
  return plans;
}

/** Thrown while planning an alarm: why it cannot be evaluated. */
class NotEvaluable extends Error {
  constructor(
    message: string,
    readonly unsupported: boolean,
  ) {
    super(message);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: an alarm's CloudFormation properties
function planAlarm(logicalId: string, p: any, names: TemplateNames): AlarmPlan {
  const alarmName = typeof p.AlarmName === 'string' ? p.AlarmName : logicalId;
  const common = {
    logicalId,
    alarmName,
    ...(typeof p.AlarmDescription === 'string' ? { description: p.AlarmDescription } : {}),
    ...(typeof p.Threshold === 'number' ? { threshold: p.Threshold } : {}),
  };
  try {
    // Known, and not for a local run: the band is a model CloudWatch trains on up to two weeks of history.
    if (typeof p.ThresholdMetricId === 'string' && /^ANOMALY_DETECTION_BAND\(/.test(bandExpression(p))) {
      throw new NotEvaluable(
        "its threshold is an anomaly detection band, a baseline CloudWatch learns from the metric's trailing two weeks: a local run has no history",
        false,
      );
    }
    const operator = OPERATORS[p.ComparisonOperator];
    if (!operator)
      throw new NotEvaluable(`comparison ${p.ComparisonOperator} is not supported locally`, true);
    if (typeof p.Threshold !== 'number')
      throw new NotEvaluable('no static Threshold (ThresholdMetricId is not supported locally)', true);
    const stats = new Map<string, { query: MetricQuery; statistic: Statistic }>();
    const expressions = new Map<string, MathExpression>();
    let returned: string;
    let format: Format = 'number';
    if (Array.isArray(p.Metrics)) {
      // biome-ignore lint/suspicious/noExplicitAny: metric data queries
      const queries: any[] = p.Metrics;
      for (const q of queries) {
        if (q.MetricStat) {
          const s = q.MetricStat;
          stats.set(q.Id, {
            query: metricQuery(s.Metric.Namespace, s.Metric.MetricName, s.Metric.Dimensions, s.Unit, names),
            statistic: statistic(s.Stat),
          });
        } else if (typeof q.Expression === 'string') {
          try {
            expressions.set(q.Id, parseMathExpression(q.Expression));
          } catch (e) {
            if (e instanceof UnsupportedExpressionError) throw new NotEvaluable(e.message, true);
            throw e;
          }
        } else throw new NotEvaluable(`metric query ${q.Id} has neither MetricStat nor Expression`, true);
      }
      const returning = queries.filter((q) => q.ReturnData !== false);
      if (returning.length !== 1) throw new NotEvaluable('not exactly one metric query returns data', true);
      returned = returning[0].Id;
      for (const [id, e] of expressions) {
        const unknown = expressionIds(e).filter((x) => !stats.has(x) && !expressions.has(x));
        if (unknown.length > 0) throw new NotEvaluable(`expression ${id} reads unknown ids ${unknown}`, true);
      }
      const expression = queries.find((q) => q.Id === returned)?.Expression;
      if (typeof expression === 'string' && expression.includes('/') && p.Threshold >= 0 && p.Threshold <= 1)
        format = 'percent';
    } else {
      returned = 'm';
      stats.set('m', {
        query: metricQuery(p.Namespace, p.MetricName, p.Dimensions, p.Unit, names),
        statistic: statistic(p.ExtendedStatistic ?? p.Statistic),
      });
    }
    if (format === 'number') format = formatOf([...stats.values()].map((s) => s.query));
    const evaluationPeriods = Number(p.EvaluationPeriods ?? 1);
    return {
      ...common,
      evaluable: true,
      threshold: p.Threshold,
      operator,
      evaluationPeriods,
      datapointsToAlarm: Number(p.DatapointsToAlarm ?? evaluationPeriods),
      treatMissingData: p.TreatMissingData ?? 'missing',
      stats,
      expressions,
      returned,
      format,
    };
  } catch (e) {
    if (!(e instanceof NotEvaluable)) throw e;
    return { ...common, evaluable: false, reason: e.message, unsupported: e.unsupported };
  }
}

/** The local query of a metric the alarm names; throws {@link NotEvaluable} when the run cannot have it. */
function metricQuery(
  namespace: unknown,
  name: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: CloudFormation dimensions
  dimensions: any,
  unit: unknown,
  names: TemplateNames,
): MetricQuery {
  if (typeof namespace !== 'string' || typeof name !== 'string')
    throw new NotEvaluable('the metric has no static namespace and name', true);
  const source = LOCAL_METRICS[namespace]?.[name];
  if (source === undefined)
    throw new NotEvaluable(`no local source for the metric ${namespace} ${name}`, true);
  if (source !== true) throw new NotEvaluable(`${namespace} ${name}: ${source}`, false);
  const resolved: Record<string, string> = {};
  for (const d of (dimensions ?? []) as { Name: string; Value: unknown }[]) {
    if (namespace === 'AWS/SQS' && d.Name === 'QueueName') {
      const id = (d.Value as { 'Fn::GetAtt'?: unknown[] })?.['Fn::GetAtt']?.[0];
      if (typeof id !== 'string' || names.queueRole(id).kind === 'other')
        throw new NotEvaluable(
          `${namespace} ${name} of ${JSON.stringify(d.Value)}: the local cloud records the depth of dead-letter and on-failure queues only`,
          true,
        );
    }
    const r = names.resolve(d.Value);
    if ('unsupported' in r) throw new NotEvaluable(`dimension ${d.Name}: ${r.unsupported}`, true);
    resolved[d.Name] = r.value;
  }
  return { namespace, name, dimensions: resolved, ...(typeof unit === 'string' ? { unit } : {}) };
}

/** A statistic over the period's values; throws {@link NotEvaluable} for one not supported locally. */
function statistic(stat: unknown): Statistic {
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  const some =
    (f: Statistic): Statistic =>
    (v) =>
      v.length === 0 ? undefined : f(v);
  switch (stat) {
    case 'Sum':
      return some(sum);
    case 'Average':
      return some((v) => sum(v) / v.length);
    case 'Maximum':
      return some((v) => Math.max(...v));
    case 'Minimum':
      return some((v) => Math.min(...v));
    case 'SampleCount':
      return some((v) => v.length);
    default: {
      const p = typeof stat === 'string' ? /^p(\d{1,2}(?:\.\d+)?|100)$/.exec(stat) : null;
      if (!p) throw new NotEvaluable(`statistic ${String(stat)} is not supported locally`, true);
      const share = Number(p[1]) / 100;
      // Nearest rank: the smallest value with at least `share` of the values at or below it.
      return some((v) => [...v].sort((a, b) => a - b)[Math.max(0, Math.ceil(share * v.length) - 1)]);
    }
  }
}

function formatOf(queries: MetricQuery[]): Format {
  if (queries.some((q) => q.namespace === 'AWS/Lambda' && q.name === 'Duration')) return 'milliseconds';
  if (queries.some((q) => q.unit === 'Bytes' || /Bytes/.test(q.name))) return 'bytes';
  return 'number';
}

/** The expression of an alarm's threshold metric (`ThresholdMetricId`), or ''. */
// biome-ignore lint/suspicious/noExplicitAny: alarm properties are untyped template JSON
function bandExpression(p: any): string {
  // biome-ignore lint/suspicious/noExplicitAny: metric data queries
  const q = Array.isArray(p.Metrics) ? p.Metrics.find((m: any) => m.Id === p.ThresholdMetricId) : undefined;
  return typeof q?.Expression === 'string' ? q.Expression : '';
}
