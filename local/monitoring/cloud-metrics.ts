/**
 * The AWS service metrics the local cloud can honestly produce, recorded in its metric store
 * (`LocalMetrics`) under the names the alarms' dimensions resolve to (`local-names.ts`):
 *
 *  - `AWS/Lambda` Invocations, Errors (the handler threw: what Lambda counts; a partial batch failure or
 *    an HTTP 4xx answer is no error) and Duration (measured here), per function;
 *  - `AWS/SQS` ApproximateNumberOfMessagesVisible of dead-letter queues (the dead letters a local queue
 *    holds, restored ones included) and of functions' on-failure destinations (the function's failed
 *    asynchronous invocations, every retry spent); nothing drains either locally, so each new value is the
 *    maximum so far, and the first one (at start) is their depth then;
 *  - `Medallion` Stranded, per reconciliation (the local cloud runs the reconciler's core itself, not its
 *    handler, so the handler's EMF line is written here);
 *  - `AWS/States` ExecutionsStarted/Succeeded/Failed/TimedOut of the gold workflow's run, and the custom
 *    metrics its PutMetricData tasks sent (`GoldPublished`).
 */
import { METRIC_NAMES, METRICS_NAMESPACE } from '../../core/telemetry/metrics';
import type { InvocationOutcome } from '../cloud/local-functions';
import type { LocalMetrics, PutMetricDatum } from './local-metrics';
import {
  functionDimension,
  goldStateMachineArn,
  type LocalNaming,
  onFailureQueueDimension,
  queueDimension,
} from './local-names';

/** Records the local cloud's service metrics in `metrics`. */
export class CloudMetricsRecorder {
  private readonly asyncFailures = new Map<string, number>();

  constructor(
    readonly metrics: LocalMetrics,
    private readonly naming: LocalNaming = {},
  ) {}

  /** Lambda's Invocations, Errors and Duration of one invocation. */
  invocation(o: InvocationOutcome): void {
    const dimensions = { FunctionName: functionDimension(o.logicalId, this.naming) };
    const put = (name: string, value: number, unit: string) =>
      this.metrics.put({ namespace: 'AWS/Lambda', name, dimensions, timestamp: o.at, value, unit });
    put('Invocations', 1, 'Count');
    put('Errors', o.failed ? 1 : 0, 'Count');
    put('Duration', o.durationMs, 'Milliseconds');
  }

  /** The depth of the dead-letter queue of a template queue (its logical id), now. */
  deadLetterDepth(deadLetterQueueLogicalId: string, depth: number, at: number = Date.now()): void {
    this.queueDepth(queueDimension(deadLetterQueueLogicalId, this.naming), depth, at);
  }

  /**
   * The depth of a function's on-failure destination: the function's failed asynchronous invocations
   * (`failed` more of them now; 0 records the current depth, e.g. at start).
   */
  asyncInvocationsFailed(functionLogicalId: string, failed = 1, at: number = Date.now()): void {
    const depth = (this.asyncFailures.get(functionLogicalId) ?? 0) + failed;
    this.asyncFailures.set(functionLogicalId, depth);
    this.queueDepth(onFailureQueueDimension(functionLogicalId, this.naming), depth, at);
  }

  /** The reconciler's `Stranded` count of one run (what its handler's EMF line carries). */
  stranded(count: number, at: number = Date.now()): void {
    this.metrics.put({
      namespace: METRICS_NAMESPACE,
      name: METRIC_NAMES.Stranded,
      dimensions: {},
      timestamp: at,
      value: count,
      unit: 'Count',
    });
  }

  private queueDepth(queueName: string, depth: number, at: number): void {
    this.metrics.put({
      namespace: 'AWS/SQS',
      name: 'ApproximateNumberOfMessagesVisible',
      dimensions: { QueueName: queueName },
      timestamp: at,
      value: depth,
      unit: 'Count',
    });
  }
}

/** What {@link recordGoldRun} reads of a gold run (`GoldRunReport`). */
export interface GoldRunOutcome {
  readonly status: string;
  readonly error?: { readonly error: string };
  readonly metrics: readonly { readonly Namespace: string; readonly MetricData: readonly unknown[] }[];
}

/**
 * Records a gold execution as Step Functions and CloudWatch would: one ExecutionsStarted and one of
 * Succeeded, Failed or TimedOut (`States.Timeout`) for the gold state machine, and what its
 * PutMetricData tasks sent.
 */
export function recordGoldRun(
  metrics: LocalMetrics,
  run: GoldRunOutcome,
  naming: LocalNaming = {},
  at: number = Date.now(),
): void {
  const timedOut = run.error?.error === 'States.Timeout';
  const outcome = run.status === 'SUCCEEDED' ? 'Succeeded' : timedOut ? 'TimedOut' : 'Failed';
  const dimensions = { StateMachineArn: goldStateMachineArn(naming) };
  for (const name of ['Started', 'Succeeded', 'Failed', 'TimedOut']) {
    const value = name === 'Started' || name === outcome ? 1 : 0;
    metrics.put({
      namespace: 'AWS/States',
      name: `Executions${name}`,
      dimensions,
      timestamp: at,
      value,
      unit: 'Count',
    });
  }
  for (const call of run.metrics)
    metrics.putMetricData(call.Namespace, call.MetricData as PutMetricDatum[], at);
}
