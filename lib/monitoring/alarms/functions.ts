/** The alarms of a Lambda function: error rate (optional), throttles, and a duration near its timeout. */
import { Duration } from 'aws-cdk-lib';
import type { MonitoredFunction } from '../monitored-resources';
import * as metrics from '../pipeline-metrics';
import { GT, MISSING_IS_FINE, type PipelineAlarms, pct } from './pipeline-alarms';

/** The share of its timeout a function's p99 duration may reach before it alarms. */
export const TIMEOUT_SHARE = 0.8;

/** The id of a function's duration alarm (`DurationNearTimeout-<name>`). */
export const durationAlarmId = (functionName: string): string => `DurationNearTimeout-${functionName}`;

/**
 * `ErrorRate-<name>` (when the function has a `maxErrorRate`), `Throttles-<name>` and
 * `DurationNearTimeout-<name>`.
 */
export function addFunctionAlarms(alarms: PipelineAlarms, f: MonitoredFunction): void {
  const fn = f.function;
  const timeout = fn.timeout ?? Duration.seconds(3); // Lambda's default
  if (f.maxErrorRate !== undefined) {
    if (f.maxErrorRate < 0 || f.maxErrorRate >= 1)
      throw new Error(`maxErrorRate of ${f.name} must be in [0, 1)`);
    alarms.add(`ErrorRate-${f.name}`, {
      metric: metrics.lambdaErrorRate(fn),
      threshold: f.maxErrorRate,
      comparisonOperator: GT,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: MISSING_IS_FINE,
      description:
        `More than ${pct(f.maxErrorRate)} of the invocations of the ${f.name} function failed (crashed, ` +
        'timed out or ran out of memory) in 2 of the last 3 five-minute periods. Failed work is retried, ' +
        'then dead-lettered. A file the data breaks fails alone (for the transform, partial batch ' +
        'responses), so a rising rate usually means a code, permission or capacity problem rather than ' +
        "bad data. What to do: read the function's log (ERROR lines, 'Task timed out', 'Runtime exited', " +
        'Max Memory Used in REPORT lines), fix the cause, then replay the dead-lettered messages.',
    });
  }
  alarms.add(`Throttles-${f.name}`, {
    metric: metrics.lambdaThrottles(fn),
    threshold: 0,
    comparisonOperator: GT,
    treatMissingData: MISSING_IS_FINE,
    description:
      `Lambda refused (throttled) invocations of the ${f.name} function in the last 5 minutes: it reached ` +
      "its reserved concurrency or the account's concurrency limit. Throttled S3 events are retried by " +
      'Lambda for hours; a throttled SQS delivery still counts as a receive and can dead-letter a healthy ' +
      'message; a throttled API call fails for the producer. What to do: compare ConcurrentExecutions ' +
      "with the function's reserved concurrency (for the transform: transform.reservedConcurrency in the " +
      "configuration) and the account's limit; raise the limit or slow the producers.",
  });
  const thresholdMs = Math.round(timeout.toMilliseconds() * TIMEOUT_SHARE);
  alarms.add(durationAlarmId(f.name), {
    metric: metrics.lambdaDurationP99(fn),
    threshold: thresholdMs,
    comparisonOperator: GT,
    treatMissingData: MISSING_IS_FINE,
    description:
      `The p99 duration of the ${f.name} function exceeded ${pct(TIMEOUT_SHARE)} of its ` +
      `${timeout.toSeconds()} s timeout (${thresholdMs} ms) in the last 5 minutes: a slightly larger file ` +
      'or a slower dependency will time out (an API request then fails; an event is retried and may be ' +
      'dead-lettered). ' +
      'What to do: look at the slowest invocations (REPORT lines of its log), give it more memory (and ' +
      'so CPU) or a longer timeout (for the transform: transform.memoryMb and transform.timeoutSeconds ' +
      'in the configuration), or ask producers for smaller files.',
  });
}
