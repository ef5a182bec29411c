/** What the monitoring watches: the functions and queues of the pipeline, each in a dashboard row. */
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';

/** The dashboard row a function or a queue belongs to. */
export type PipelineLayer = 'ingest' | 'silver' | 'gold';

/** A Lambda function watched for throttles and duration (and, optionally, its error rate). */
export interface MonitoredFunction {
  /** Short name, unique among the functions: alarm names and widget titles use it (e.g. `Transform`). */
  readonly name: string;
  /** The function (its `timeout` sets the duration alarm's threshold). */
  readonly function: lambda.Function;
  /** The dashboard row it is shown in. */
  readonly layer: PipelineLayer;
  /**
   * Alarm when more than this share (0..1) of its invocations fail in 2 of 3 five-minute periods.
   * @default - no error-rate alarm: its failures are watched through its dead-letter queue
   */
  readonly maxErrorRate?: number;
}

/** A dead-letter (or failure) queue: any message in it alarms. */
export interface MonitoredQueue {
  /** Short name, unique among the queues: alarm names and widget titles use it. */
  readonly name: string;
  readonly queue: sqs.IQueue;
  /** The dashboard row it is shown in. */
  readonly layer: PipelineLayer;
  /**
   * What a message in this queue is and how to replay it, for the alarm's description.
   * @default - a generic redrive instruction
   */
  readonly runbook?: string;
}

/** A queue whose backlog is graphed (not alarmed: its failures end in a dead-letter queue). */
export interface WorkQueue {
  readonly name: string;
  readonly queue: sqs.IQueue;
  readonly layer: PipelineLayer;
}
