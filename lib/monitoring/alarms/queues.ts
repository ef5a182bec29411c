/** The alarm of a dead-letter (or failure) queue: any message waiting in it. */
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { MonitoredQueue } from '../monitored-resources';
import * as metrics from '../pipeline-metrics';
import { GT, type PipelineAlarms } from './pipeline-alarms';

/**
 * What to do with the messages of the pipeline's failure queues (the `runbook` of a
 * {@link MonitoredQueue}): kept here with every other alarm text.
 */
export const DEAD_LETTER_RUNBOOKS = {
  /** The landing function's on-failure destination (async invocations that failed 3 attempts). */
  landingFailures:
    'each message is a Lambda on-failure record: requestPayload holds the S3 event of the upload, ' +
    'responsePayload the error. The upload is still in the landing bucket (until it expires). Fix the ' +
    'cause, then land it again by copying the object onto itself (aws s3 cp s3://<landing>/<key> ' +
    's3://<landing>/<key> --metadata-directive REPLACE raises a new event), and delete the message.',
  /** The transform queue's dead-letter queue (bronze objects the transform failed 3 times). */
  transformDeadLetters:
    'each message is the S3 event of a bronze object the transform failed on 3 times; its error is in ' +
    "the transform's log (level ERROR, with the message id). Fix the cause, then redrive the queue to " +
    'the transform queue (SQS console: Start DLQ redrive); transforming an object again is safe.',
} as const;

/** The id of a queue's alarm (`DeadLetters-<name>`). */
export const deadLetterAlarmId = (queueName: string): string => `DeadLetters-${queueName}`;

/** `DeadLetters-<name>`: a message visible in the queue. */
export function addDeadLetterAlarm(alarms: PipelineAlarms, q: MonitoredQueue): cloudwatch.Alarm {
  const runbook =
    q.runbook ??
    "find the error in the consuming function's log, fix its cause, then replay the messages (a queue's dead-letter queue: SQS console, Start DLQ redrive).";
  return alarms.add(deadLetterAlarmId(q.name), {
    metric: metrics.queueDepth(q.queue),
    threshold: 0,
    comparisonOperator: GT,
    // SQS stops publishing the metrics of a queue left untouched for hours, even with messages in it:
    // keep the alarm's state then, instead of reporting a false OK.
    treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    description:
      `Messages are waiting in the ${q.name} queue: each is an event that failed every retry, so its ` +
      'file did not reach the next layer. Nothing is lost yet: messages are kept 14 days. ' +
      `What to do: ${runbook}`,
  });
}
