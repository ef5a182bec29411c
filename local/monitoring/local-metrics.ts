/**
 * A small local CloudWatch: the metric data points of a local run, in memory, as CloudWatch would hold
 * them (namespace, name, the full set of dimensions, time stamp, value, unit), so that the template's
 * alarms can be evaluated on them (`alarm-evaluation.ts`).
 *
 * Fed from two sides, both honest:
 *  - the handlers' Embedded Metric Format lines (`core/telemetry/metrics.ts`), read from their log the way
 *    CloudWatch Logs reads them ({@link parseEmf}: the `_aws.CloudWatchMetrics` directive names which root
 *    members are metrics and which are dimensions);
 *  - the local services, for the AWS metrics they can measure (Lambda invocations and errors, dead-letter
 *    depths, the gold workflow's executions: see `cloud-metrics.ts`), and PutMetricData calls
 *    ({@link LocalMetrics.putMetricData}, the gold workflow's `GoldPublished`).
 */

/** One data point, as CloudWatch stores it. */
export interface MetricDatum {
  readonly namespace: string;
  readonly name: string;
  /** The full dimension set: a metric is identified by ALL its dimensions (none: `{}`). */
  readonly dimensions: Readonly<Record<string, string>>;
  /** Epoch milliseconds. */
  readonly timestamp: number;
  readonly value: number;
  /** CloudWatch's unit (`Count`, `Milliseconds`...); `None` when none was given. */
  readonly unit: string;
}

/** Which data points a query selects. */
export interface MetricQuery {
  readonly namespace: string;
  readonly name: string;
  /** Exactly these dimensions, as CloudWatch matches them (`{}`: the metric without dimensions). */
  readonly dimensions: Readonly<Record<string, string>>;
  /** Only data points with this unit. @default any unit */
  readonly unit?: string;
  /** Epoch milliseconds, inclusive. @default no lower bound */
  readonly from?: number;
  /** Epoch milliseconds, inclusive. @default no upper bound */
  readonly to?: number;
}

/** What reads metric data points: {@link LocalMetrics} does, and so can a test's fixture. */
export interface MetricSource {
  query(query: MetricQuery): readonly MetricDatum[];
}

/** A data point as PutMetricData takes it (the fields the local callers use). */
export interface PutMetricDatum {
  readonly MetricName: string;
  readonly Value?: number;
  readonly Values?: readonly number[];
  readonly Unit?: string;
  readonly Dimensions?: readonly { readonly Name: string; readonly Value: string }[];
  /** Date, ISO string or epoch milliseconds. */
  readonly Timestamp?: unknown;
}

/** Data points kept per metric: the oldest go first, so a local cloud left running stays small. */
export const MAX_POINTS_PER_METRIC = 10_000;

/** The in-memory metric store of a local run. */
export class LocalMetrics implements MetricSource {
  private readonly series = new Map<string, MetricDatum[]>();
  private rejectedLines = 0;
  private lastRejection: string | undefined;

  /** Stores one data point (a value that is not a finite number is dropped, as CloudWatch refuses it). */
  put(datum: MetricDatum): void {
    if (!Number.isFinite(datum.value)) return;
    const key = seriesKey(datum.namespace, datum.name, datum.dimensions);
    let points = this.series.get(key);
    if (!points) {
      points = [];
      this.series.set(key, points);
    }
    points.push(datum);
    if (points.length > MAX_POINTS_PER_METRIC) points.splice(0, points.length - MAX_POINTS_PER_METRIC);
  }

  /**
   * Reads one line a function logged: when it is an EMF document, stores its metrics (as CloudWatch Logs
   * would publish them) and returns how many data points; a line with `_aws` that is not valid EMF is
   * counted in {@link rejected} (CloudWatch keeps such a line as a log event and publishes nothing).
   */
  recordLogLine(message: string, receivedAt: number = Date.now()): number {
    const parsed = parseEmf(message, receivedAt);
    if (parsed === undefined) return 0;
    if (typeof parsed === 'string') {
      this.rejectedLines++;
      this.lastRejection = parsed;
      return 0;
    }
    for (const d of parsed) this.put(d);
    return parsed.length;
  }

  /** PutMetricData: the data points of `namespace` as the API takes them. */
  putMetricData(namespace: string, data: readonly PutMetricDatum[], now: number = Date.now()): void {
    for (const d of data) {
      const dimensions = Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value]));
      const timestamp = timestampOf(d.Timestamp) ?? now;
      const values = d.Values ?? (d.Value === undefined ? [] : [d.Value]);
      for (const value of values) {
        this.put({ namespace, name: d.MetricName, dimensions, timestamp, value, unit: d.Unit ?? 'None' });
      }
    }
  }

  query(q: MetricQuery): readonly MetricDatum[] {
    const points = this.series.get(seriesKey(q.namespace, q.name, q.dimensions)) ?? [];
    if (q.unit === undefined && q.from === undefined && q.to === undefined) return points;
    return points.filter(
      (d) =>
        (q.unit === undefined || d.unit === q.unit) &&
        (q.from === undefined || d.timestamp >= q.from) &&
        (q.to === undefined || d.timestamp <= q.to),
    );
  }

  /** Every data point held, metric by metric. */
  all(): MetricDatum[] {
    return [...this.series.values()].flat();
  }

  /** Log lines that carried `_aws` but were not valid EMF (nothing was published for them). */
  get rejected(): { readonly lines: number; readonly last?: string } {
    return { lines: this.rejectedLines, ...(this.lastRejection ? { last: this.lastRejection } : {}) };
  }
}

/** A metric's identity: namespace, name and its dimensions sorted by name. */
function seriesKey(namespace: string, name: string, dimensions: Readonly<Record<string, string>>): string {
  const dims = Object.keys(dimensions)
    .sort()
    .map((k) => `${k}=${dimensions[k]}`);
  return [namespace, name, ...dims].join('\u0000');
}

function timestampOf(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const t = Date.parse(value);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

type Json = Record<string, unknown>;

/**
 * The data points of one log line in Embedded Metric Format, as CloudWatch Logs extracts them: undefined
 * when the line is no EMF document (no JSON object with an `_aws` member), a string saying why when it
 * is one CloudWatch would not publish (a bad directive, a metric member that is not a number, a
 * dimension member that is not a string). Text before the JSON object is skipped, as in Lambda's text
 * log format (time stamp, request id, level). Per the specification: each directive of
 * `_aws.CloudWatchMetrics` names a namespace, dimension sets (each an array of root member names; an
 * empty set, or no set at all, publishes the metric without dimensions) and metrics (root members
 * holding a number or an array of numbers), published once per dimension set at `_aws.Timestamp`.
 *
 * Spec: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
export function parseEmf(line: string, receivedAt: number = Date.now()): MetricDatum[] | string | undefined {
  if (!line.includes('"_aws"')) return undefined; // cheap: most lines are not EMF
  const start = line.indexOf('{');
  if (start < 0) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(line.slice(start));
  } catch {
    return undefined;
  }
  if (!isObject(doc) || !isObject(doc._aws)) return undefined;
  const aws = doc._aws;
  const timestamp = typeof aws.Timestamp === 'number' ? aws.Timestamp : receivedAt;
  if (!Number.isFinite(timestamp)) return '_aws.Timestamp is not a number of milliseconds';
  if (!Array.isArray(aws.CloudWatchMetrics)) return '_aws.CloudWatchMetrics is not an array';
  const out: MetricDatum[] = [];
  for (const directive of aws.CloudWatchMetrics) {
    if (!isObject(directive)) return 'a metric directive is not an object';
    const namespace = directive.Namespace;
    if (typeof namespace !== 'string' || namespace === '') return 'a metric directive has no Namespace';
    const sets = directive.Dimensions ?? [];
    if (!Array.isArray(sets) || !sets.every((s) => Array.isArray(s) && s.every((n) => typeof n === 'string')))
      return `Dimensions of namespace ${namespace} is not an array of arrays of names`;
    if (!Array.isArray(directive.Metrics)) return `Metrics of namespace ${namespace} is not an array`;
    const dimensionSets: Record<string, string>[] = [];
    for (const set of (sets.length > 0 ? sets : [[]]) as string[][]) {
      const dimensions: Record<string, string> = {};
      for (const name of set) {
        const value = doc[name];
        if (typeof value !== 'string') return `dimension ${name} is not a string member of the document`;
        dimensions[name] = value;
      }
      dimensionSets.push(dimensions);
    }
    for (const metric of directive.Metrics) {
      if (!isObject(metric) || typeof metric.Name !== 'string') return 'a metric definition has no Name';
      const raw = doc[metric.Name];
      if (raw === undefined) continue; // declared but absent: nothing to publish
      const values = Array.isArray(raw) ? raw : [raw];
      if (!values.every((v) => typeof v === 'number' && Number.isFinite(v)))
        return `metric ${metric.Name} is not a number or an array of numbers`;
      const unit = typeof metric.Unit === 'string' ? metric.Unit : 'None';
      for (const dimensions of dimensionSets) {
        for (const value of values as number[]) {
          out.push({ namespace, name: metric.Name, dimensions, timestamp, value, unit });
        }
      }
    }
  }
  return out;
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
