/**
 * SQS batch -> bronze objects -> transform, with per-message failure reporting (partial batch response):
 * one bad message is retried alone, and the others in its batch are not processed twice.
 *
 * Two things Lambda and SQS do not do for us:
 *  - a Lambda timeout kills the invocation without warning, losing the whole batch's answer and leaving a
 *    half-written file set behind. So the batch stops itself a safety margin before the deadline: the
 *    object in progress is aborted and rolled back, messages not yet started are not started, and all of
 *    them are reported as failed, to be retried. (A kill with no margin left, e.g. the process crashing,
 *    is covered by the retry writing the same deterministic keys again.)
 *  - the dead-letter queue keeps a message, not why it failed. On the last receive (the queue's
 *    maxReceiveCount) the error is written next to the quarantine before the failure is reported.
 */

import type { Context, S3Event, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { errorMessage } from '../../core/errors';
import { missingRows } from '../../core/lake/expected-rows';
import { decodeEventKey, isBookkeepingKey } from '../../core/lake/layout';
import type { Manifest } from '../../core/lake/manifest';
import { createLogger, type Logger } from '../../core/telemetry/logger';
import {
  METRIC_DIMENSIONS,
  METRIC_NAMES,
  METRICS_NAMESPACE,
  metricsDocument,
} from '../../core/telemetry/metrics';
import type { BronzeObject } from './bronze-object';
import type { ProcessOptions } from './transform';

export interface ObjectProcessor {
  process(obj: BronzeObject, options?: ProcessOptions): Promise<Manifest>;
  /** Records why `obj` failed on the message's last receive. Best effort: must not throw. */
  recordFailure?(obj: BronzeObject, error: unknown, attempts: number): Promise<unknown>;
}

export interface BatchOptions {
  /** The invocation's context: the batch stops `safetyMarginMs` before the function would be killed. */
  readonly context?: Pick<Context, 'getRemainingTimeInMillis'>;
  /** Time kept to roll back and answer; default `safetyMarginMs(time left at the start)`. */
  readonly safetyMarginMs?: number;
  /**
   * The queue's maxReceiveCount: a message failing its receive number `maxReceiveCount` is about to be
   * dead-lettered, so its reason is recorded first. Unset: never recorded.
   */
  readonly maxReceiveCount?: number;
  /** Where each object's line (with its metrics) and each failure go; default: the console. */
  readonly logger?: Logger;
}

/** Margin kept before the deadline: 10 s, or a tenth of the time left when that is shorter. */
export function safetyMarginMs(remainingMs: number): number {
  return Math.min(10_000, Math.floor(remainingMs / 10));
}

/** An abort signal that fires a margin before the invocation's deadline; `clear` stops its timer. */
export function invocationDeadline(
  context: Pick<Context, 'getRemainingTimeInMillis'>,
  marginMs?: number,
): { signal: AbortSignal; clear: () => void } {
  const remaining = context.getRemainingTimeInMillis();
  const margin = marginMs ?? safetyMarginMs(remaining);
  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(
        new Error(
          `stopped ${margin} ms before the invocation's timeout (${remaining} ms at the start); SQS will retry`,
        ),
      ),
    Math.max(0, remaining - margin),
  );
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/** The bronze objects an SQS message announces: S3 ObjectCreated records; test events carry none. */
export function objectsInMessage(record: SQSRecord): BronzeObject[] {
  let body: Partial<S3Event> & { Event?: string };
  try {
    body = JSON.parse(record.body) as Partial<S3Event> & { Event?: string };
  } catch {
    throw new Error(`message ${record.messageId} is not JSON`);
  }
  if (body.Event === 's3:TestEvent') return [];
  if (!Array.isArray(body.Records)) throw new Error(`message ${record.messageId} carries no S3 records`);
  return body.Records.filter((r) => r.eventName?.startsWith('ObjectCreated:'))
    .map((r) => ({
      bucket: r.s3.bucket.name,
      key: decodeEventKey(r.s3.object.key),
      versionId: r.s3.object.versionId,
      eTag: r.s3.object.eTag,
      eventTime: r.eventTime,
    }))
    .filter((o) => !isBookkeepingKey(o.key));
}

export async function processBatch(
  processor: ObjectProcessor,
  event: SQSEvent,
  now: () => Date = () => new Date(),
  options: BatchOptions = {},
): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  const deadline = options.context ? invocationDeadline(options.context, options.safetyMarginMs) : undefined;
  const signal = deadline?.signal;
  const logger = options.logger ?? createLogger();
  try {
    // One message at a time: the engine already uses every core for one file.
    for (const record of event.Records) {
      const failure = await processMessage(processor, record, now, signal, logger);
      if (!failure) continue;
      batchItemFailures.push({ itemIdentifier: record.messageId });
      const receives = Number(record.attributes?.ApproximateReceiveCount);
      const last = options.maxReceiveCount !== undefined && receives >= options.maxReceiveCount;
      logger.error(
        last
          ? 'message failed its last receive; SQS will dead-letter it'
          : 'message failed; SQS will retry it, then dead-letter it',
        {
          messageId: record.messageId,
          receiveCount: record.attributes?.ApproximateReceiveCount,
          ...(failure.objects.length > 0 ? { keys: failure.objects.map((o) => o.key) } : {}),
          // The bare message: given the Error itself, the logger would add its stack to the entry.
          error: errorMessage(failure.error),
        },
      );
      if (last) {
        for (const obj of failure.objects) await processor.recordFailure?.(obj, failure.error, receives);
      }
    }
  } finally {
    deadline?.clear();
  }
  return { batchItemFailures };
}

/** Processes one message; on failure, the error and the objects it concerns (none if undecodable). */
async function processMessage(
  processor: ObjectProcessor,
  record: SQSRecord,
  now: () => Date,
  signal: AbortSignal | undefined,
  logger: Logger,
): Promise<{ error: unknown; objects: BronzeObject[] } | undefined> {
  let objects: BronzeObject[] = [];
  try {
    objects = objectsInMessage(record);
  } catch (error) {
    return { error, objects: [] };
  }
  for (const [i, obj] of objects.entries()) {
    try {
      // Past the deadline a message is not started: it is retried whole.
      signal?.throwIfAborted();
      const m = await processor.process(obj, { signal });
      const finished = now().getTime();
      const lagMs = obj.eventTime ? finished - Date.parse(obj.eventTime) : undefined;
      // The same line carries the object's metrics (EMF): one log line per object, as before.
      logger.info('bronze object transformed', {
        key: obj.key,
        dataset: m.dataset,
        status: m.status,
        rows: m.rows,
        expectedRows: m.expectedRows,
        quarantinedByReason: m.quarantinedByReason,
        durationMs: m.durationsMs.total,
        lagMs,
        ...transformMetrics(m, lagMs, finished),
      });
    } catch (error) {
      // The objects from this one on were not done (those before it were, and are re-done idempotently).
      return { error, objects: objects.slice(i) };
    }
  }
  return undefined;
}

/** The metrics of one transformed object, by dataset (see `core/telemetry/metrics.ts`). */
function transformMetrics(
  m: Manifest,
  lagMs: number | undefined,
  timestamp: number,
): Record<string, unknown> {
  const N = METRIC_NAMES;
  return metricsDocument(
    METRICS_NAMESPACE,
    { [METRIC_DIMENSIONS.Dataset]: m.dataset },
    [
      { name: N.RowsIn, value: m.rows.in, unit: 'Count' },
      { name: N.RowsOut, value: m.rows.out, unit: 'Count' },
      { name: N.RowsQuarantined, value: m.rows.quarantined, unit: 'Count' },
      { name: N.DuplicatesRemoved, value: m.rows.duplicates, unit: 'Count' },
      { name: N.FilesQuarantined, value: m.status === 'quarantined' ? 1 : 0, unit: 'Count' },
      // Only for files whose producer stated a count (NaN is dropped): the completeness SLI's events.
      { name: N.RowsExpected, value: m.expectedRows ?? Number.NaN, unit: 'Count' },
      {
        name: N.RowsMissing,
        value: m.expectedRows === undefined ? Number.NaN : missingRows(m.expectedRows, m.rows.in),
        unit: 'Count',
      },
      // Left out when the event carried no time (NaN is dropped by metricsDocument).
      {
        name: N.TransformLagSeconds,
        value: lagMs === undefined ? Number.NaN : lagMs / 1000,
        unit: 'Seconds',
      },
    ],
    timestamp,
  );
}
