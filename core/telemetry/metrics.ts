/**
 * Custom metrics in CloudWatch's Embedded Metric Format (EMF): a structured log line whose `_aws` member
 * tells CloudWatch Logs which of its numbers to publish as metrics. No SDK call, no extra latency, no IAM
 * permission beyond writing the function's own log; the metric arrives with the log line.
 *
 * The names below are the contract between the handlers (which emit) and the CDK side (which alarms on
 * and graphs them, see `lib/monitoring/pipeline-metrics.ts`): change a name here and both follow.
 *
 * Lines are written with `console.log`. In Lambda's default (text) log format the runtime prefixes each
 * line with a time stamp and request id, which CloudWatch accepts in front of an EMF document; the local
 * runtime routes `console` output to the function's log like any other line. (If the functions are ever
 * switched to Lambda's JSON log format, `console.log` output gets wrapped in a `message` field and EMF is
 * no longer recognised: write the line to `process.stdout` instead.)
 *
 * Spec: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */

/** The CloudWatch namespace of every custom metric of the pipeline. */
export const METRICS_NAMESPACE = 'Medallion';

/** Dimension names. Each distinct dimension value is a separate (billed) metric: only low-cardinality ones. */
export const METRIC_DIMENSIONS = {
  /** The contract's dataset name (unique across domains). */
  Dataset: 'Dataset',
  /** A gold model's name. */
  Model: 'Model',
} as const;

/** Metric names, with who emits them and their unit. */
export const METRIC_NAMES = {
  /** Landing: files stored in bronze (a re-delivery of bytes already landed counts 0). Count, by Dataset. */
  FilesLanded: 'FilesLanded',
  /** Landing: bytes of those files, as received (compressed or not). Bytes, by Dataset. */
  BytesLanded: 'BytesLanded',
  /** Transform: data rows read from one bronze object. Count, by Dataset. */
  RowsIn: 'RowsIn',
  /** Transform: rows written to silver (after de-duplication). Count, by Dataset. */
  RowsOut: 'RowsOut',
  /** Transform: rows rejected by the contract's checks, written to quarantine. Count, by Dataset. */
  RowsQuarantined: 'RowsQuarantined',
  /** Transform: rows dropped as duplicates of a primary key. Count, by Dataset. */
  DuplicatesRemoved: 'DuplicatesRemoved',
  /**
   * Transform: data rows the producer stated a file holds (a trailer, `X-Expected-Rows`, upload metadata
   * `expected-rows`), only for files that state one. Count, by Dataset.
   */
  RowsExpected: 'RowsExpected',
  /**
   * Transform: of those, rows the file did not hold (stated minus read, never below 0): the completeness
   * SLI's bad events, RowsMissing / RowsExpected. Count, by Dataset.
   */
  RowsMissing: 'RowsMissing',
  /** Transform: whole files rejected (unreadable, empty, unknown columns...). Count, by Dataset. */
  FilesQuarantined: 'FilesQuarantined',
  /** Transform: seconds from the bronze object's creation to the end of its transform. Seconds, by Dataset. */
  TransformLagSeconds: 'TransformLagSeconds',
  /**
   * Gold workflow: one per successful publication of the gold tables, with NO dimension (an empty
   * dimension set, `emitMetrics(METRICS_NAMESPACE, {}, [...])` or PutMetricData without dimensions):
   * the freshness alarm watches that one stream. Count.
   */
  GoldPublished: 'GoldPublished',
  /**
   * Gold workflow: one per model each time the model is published (or, incremental, committed: its
   * partitions are current), with the dimension `Model`: the model's freshness SLO watches it. Count.
   */
  ModelPublished: 'ModelPublished',
  /**
   * Gold workflow: one per execution that started while another was running and so ended at once without
   * doing anything (single flight). No dimension. Count.
   */
  GoldRunSkipped: 'GoldRunSkipped',
  /**
   * Reconciler: objects found stranded (an upload left in landing, a bronze object never committed) and
   * re-driven, per run, with NO dimension; 0 on a clean run, so the metric always has data. Count.
   */
  Stranded: 'Stranded',
} as const;

export type MetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];

/** The units CloudWatch accepts (the EMF spec's list). */
export type MetricUnit =
  | 'Seconds'
  | 'Microseconds'
  | 'Milliseconds'
  | 'Bytes'
  | 'Kilobytes'
  | 'Megabytes'
  | 'Gigabytes'
  | 'Terabytes'
  | 'Bits'
  | 'Kilobits'
  | 'Megabits'
  | 'Gigabits'
  | 'Terabits'
  | 'Percent'
  | 'Count'
  | 'Bytes/Second'
  | 'Kilobytes/Second'
  | 'Megabytes/Second'
  | 'Gigabytes/Second'
  | 'Terabytes/Second'
  | 'Bits/Second'
  | 'Kilobits/Second'
  | 'Megabits/Second'
  | 'Gigabits/Second'
  | 'Terabits/Second'
  | 'Count/Second'
  | 'None';

export interface MetricValue {
  readonly name: string;
  readonly value: number;
  /** @default 'None' */
  readonly unit?: MetricUnit;
}

/** EMF limits: metrics per directive, keys per dimension set. */
const MAX_METRICS = 100;
const MAX_DIMENSIONS = 30;

/**
 * The members of an EMF document: `_aws` plus one root member per dimension and per metric. Spread them
 * into a structured log entry to make that line carry the metrics (one line per event instead of two).
 *
 * A value that is not a finite number (a lag computed from an unparseable date, say) is left out rather
 * than thrown: a metric must never fail the work it measures. Mistakes in the call itself (a duplicate
 * name, a dimension named like a metric, an empty dimension value) are thrown: tests catch them.
 */
export function metricsDocument(
  namespace: string,
  dimensions: Readonly<Record<string, string>>,
  metrics: readonly MetricValue[],
  timestamp: number = Date.now(),
): Record<string, unknown> {
  if (namespace.length === 0 || namespace.length > 255)
    throw new Error('metric namespace must be 1-255 characters');
  const dimensionNames = Object.keys(dimensions);
  if (dimensionNames.length > MAX_DIMENSIONS) {
    throw new Error(`at most ${MAX_DIMENSIONS} dimensions per metric, got ${dimensionNames.length}`);
  }
  for (const [name, value] of Object.entries(dimensions)) {
    if (name === '_aws' || name.length === 0) throw new Error(`invalid dimension name '${name}'`);
    if (typeof value !== 'string' || value.length === 0 || value.length > 1024) {
      throw new Error(`dimension ${name} needs a value of 1-1024 characters`);
    }
  }
  if (metrics.length > MAX_METRICS)
    throw new Error(`at most ${MAX_METRICS} metrics per line, got ${metrics.length}`);
  const values: Record<string, number> = {};
  const definitions: { Name: string; Unit: MetricUnit }[] = [];
  const seen = new Set<string>();
  for (const m of metrics) {
    if (m.name.length === 0 || m.name === '_aws') throw new Error(`invalid metric name '${m.name}'`);
    if (seen.has(m.name)) throw new Error(`metric ${m.name} appears twice`);
    seen.add(m.name);
    if (Object.hasOwn(dimensions, m.name)) throw new Error(`metric ${m.name} has the name of a dimension`);
    if (!Number.isFinite(m.value)) continue;
    values[m.name] = m.value;
    definitions.push({ Name: m.name, Unit: m.unit ?? 'None' });
  }
  return {
    _aws: {
      Timestamp: Math.round(timestamp),
      CloudWatchMetrics: [{ Namespace: namespace, Dimensions: [dimensionNames], Metrics: definitions }],
    },
    ...dimensions,
    ...values,
  };
}

export interface EmitOptions {
  /** When the measured thing happened, in epoch milliseconds. @default Date.now() */
  readonly timestamp?: number;
  /** Where the line goes. @default console.log */
  readonly write?: (line: string) => void;
}

/** Writes one EMF line holding `metrics`, identified by `dimensions` (`{}`: no dimension). */
export function emitMetrics(
  namespace: string,
  dimensions: Readonly<Record<string, string>>,
  metrics: readonly MetricValue[],
  options: EmitOptions = {},
): void {
  const line = JSON.stringify(metricsDocument(namespace, dimensions, metrics, options.timestamp));
  (options.write ?? console.log)(line);
}
