/**
 * The metrics of the pipeline, built apart from the alarms and the dashboard that use them: an alarm and
 * the graph next to it then always watch the same series, with the same statistic and period.
 *
 * Custom metrics (namespace `Medallion`) are written by the handlers in CloudWatch's Embedded Metric
 * Format; their names come from `core/telemetry/metrics.ts`, shared with the handlers. The others are the
 * services' own (AWS/Lambda, AWS/SQS, AWS/States, AWS/Athena).
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import {
  METRIC_DIMENSIONS,
  METRIC_NAMES,
  METRICS_NAMESPACE,
  type MetricName,
} from '../../core/telemetry/metrics';

/**
 * The period of every operational metric unless said otherwise: short enough to page within minutes.
 * The metrics carry no label: an alarm on a labelled metric is rendered as a metric-math query, and a
 * plain one reads better in the template and the console. Widgets add their labels (`metric.with`).
 */
export const METRIC_PERIOD = Duration.minutes(5);

/** A custom metric of one dataset (namespace `Medallion`, dimension `Dataset`), summed per period. */
export function datasetMetric(
  name: MetricName,
  dataset: string,
  options: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { [METRIC_DIMENSIONS.Dataset]: dataset },
    statistic: cloudwatch.Stats.SUM,
    period: METRIC_PERIOD,
    ...options,
  });
}

/**
 * Share of the rows read that were quarantined, per period (0..1): RowsQuarantined / RowsIn. Periods in
 * which files arrived but no rows were read (whole files rejected: RowsIn = 0) count as 0 here, since
 * those are watched by `FilesQuarantined`; periods without files have no data point at all.
 */
export function quarantineRatio(
  dataset: string,
  period: Duration = METRIC_PERIOD,
): cloudwatch.MathExpression {
  return mathPer(period, `${dataset} quarantine ratio`, 'IF(rowsIn > 0, quarantined / rowsIn, 0)', {
    rowsIn: datasetMetric(METRIC_NAMES.RowsIn, dataset, { period }),
    quarantined: datasetMetric(METRIC_NAMES.RowsQuarantined, dataset, { period }),
  });
}

/** Whole files of a dataset rejected by the transform (nothing of them reached silver), per period. */
export function filesQuarantined(dataset: string, period: Duration = METRIC_PERIOD): cloudwatch.Metric {
  return datasetMetric(METRIC_NAMES.FilesQuarantined, dataset, { period });
}

/** Seconds from a bronze object's creation to the end of its transform (landing-to-silver latency). */
export function transformLag(
  dataset: string,
  statistic: string = cloudwatch.Stats.MAXIMUM,
  period: Duration = METRIC_PERIOD,
): cloudwatch.Metric {
  return datasetMetric(METRIC_NAMES.TransformLagSeconds, dataset, { statistic, period });
}

/**
 * Successful gold publications (no dimension), summed per period. The gold workflow emits it; the
 * freshness alarm watches its absence.
 */
export function goldPublished(period: Duration = METRIC_PERIOD): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: METRIC_NAMES.GoldPublished,
    statistic: cloudwatch.Stats.SUM,
    period,
  });
}

/**
 * Objects the reconciler found stranded per run (no dimension), the largest count of the period: each run
 * reports what it found, 0 on a clean run.
 */
export function stranded(period: Duration = Duration.minutes(15)): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: METRIC_NAMES.Stranded,
    statistic: cloudwatch.Stats.MAXIMUM,
    period,
  });
}

/**
 * The freshness window as CloudWatch can evaluate it: N consecutive periods that together span the SLO,
 * all of them without a gold publication. Short periods make the alarm fire soon after the SLO is
 * exceeded (a single SLO-long period would only be judged once it closed). CloudWatch evaluates at most
 * one day at periods under an hour and seven days at hourly periods.
 */
export function freshnessWindow(slo: Duration): { period: Duration; evaluationPeriods: number } {
  const minutes = slo.toMinutes(); // throws on a fraction of a minute: CloudWatch periods are whole minutes
  if (minutes < 1) throw new Error('the freshness SLO must be at least one minute');
  if (minutes <= 24 * 60) {
    const step = minutes % 5 === 0 ? 5 : 1;
    return { period: Duration.minutes(step), evaluationPeriods: minutes / step };
  }
  if (minutes <= 7 * 24 * 60 && minutes % 60 === 0) {
    return { period: Duration.hours(1), evaluationPeriods: minutes / 60 };
  }
  throw new Error(
    `a freshness SLO of ${minutes} minutes cannot be alarmed on: CloudWatch evaluates up to one day, or up to seven days in whole hours`,
  );
}

/** Share of a function's invocations that failed (0..1): crashes, timeouts, out of memory. */
export function lambdaErrorRate(
  fn: lambda.IFunction,
  period: Duration = METRIC_PERIOD,
): cloudwatch.MathExpression {
  return mathPer(period, 'error rate', 'IF(invocations > 0, errors / invocations, 0)', {
    errors: lambdaErrors(fn, period),
    invocations: lambdaInvocations(fn, period),
  });
}

export function lambdaInvocations(fn: lambda.IFunction, period: Duration = METRIC_PERIOD): cloudwatch.Metric {
  return fn.metricInvocations(sumPer(period));
}

export function lambdaErrors(fn: lambda.IFunction, period: Duration = METRIC_PERIOD): cloudwatch.Metric {
  return fn.metricErrors(sumPer(period));
}

export function lambdaThrottles(fn: lambda.IFunction, period: Duration = METRIC_PERIOD): cloudwatch.Metric {
  return fn.metricThrottles(sumPer(period));
}

/** The 99th percentile of a function's duration, in milliseconds (as Lambda reports it). */
export function lambdaDurationP99(fn: lambda.IFunction, period: Duration = METRIC_PERIOD): cloudwatch.Metric {
  return fn.metricDuration({ statistic: cloudwatch.Stats.p(99), period });
}

/** Total billed-ish compute of a function: the sum of its durations, in milliseconds. */
export function lambdaDurationSum(
  fn: lambda.IFunction,
  period: Duration = Duration.days(1),
): cloudwatch.Metric {
  return fn.metricDuration(sumPer(period));
}

/** Messages waiting in a queue (its maximum over the period): for a dead-letter queue, failed events. */
export function queueDepth(queue: sqs.IQueue, period: Duration = METRIC_PERIOD): cloudwatch.Metric {
  return queue.metricApproximateNumberOfMessagesVisible(maximumPer(period));
}

/** Age of the oldest message of a queue, in seconds (maximum over the period): backlog latency. */
export function queueOldestMessageAge(
  queue: sqs.IQueue,
  period: Duration = METRIC_PERIOD,
): cloudwatch.Metric {
  return queue.metricApproximateAgeOfOldestMessage(maximumPer(period));
}

/**
 * Executions of a state machine that did not succeed: ExecutionsFailed plus ExecutionsTimedOut (a
 * timed-out run is a failed publication too; aborts are manual and left out).
 */
export function stateMachineFailures(
  stateMachine: sfn.IStateMachine,
  period: Duration = METRIC_PERIOD,
): cloudwatch.MathExpression {
  return mathPer(period, 'failed or timed-out executions', 'FILL(failed, 0) + FILL(timedOut, 0)', {
    failed: stateMachine.metricFailed(sumPer(period)),
    timedOut: stateMachine.metricTimedOut(sumPer(period)),
  });
}

/**
 * Bytes scanned by the queries of an Athena workgroup (what Athena bills), summed per period. Athena only
 * publishes it for workgroups with `publishCloudWatchMetricsEnabled`.
 */
export function athenaProcessedBytes(
  workGroup: string,
  period: Duration = Duration.days(1),
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/Athena',
    metricName: 'ProcessedBytes',
    dimensionsMap: { WorkGroup: workGroup },
    statistic: cloudwatch.Stats.SUM,
    period,
  });
}

/** The options of a service metric summed per period (counts: invocations, errors, executions...). */
function sumPer(period: Duration): cloudwatch.MetricOptions {
  return { statistic: cloudwatch.Stats.SUM, period };
}

/** The options of a service metric at its maximum per period (gauges: queue depth, message age). */
function maximumPer(period: Duration): cloudwatch.MetricOptions {
  return { statistic: cloudwatch.Stats.MAXIMUM, period };
}

/** A metric-math series: `expression` over `usingMetrics` (by their ids in it), evaluated per `period`. */
function mathPer(
  period: Duration,
  label: string,
  expression: string,
  usingMetrics: Record<string, cloudwatch.IMetric>,
): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({ expression, usingMetrics, period, label });
}
