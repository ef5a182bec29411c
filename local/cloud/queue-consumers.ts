/**
 * The template's queues that an event source mapping drains (bronze's notifications, drained by the
 * transform) as local queues: each batch is one invocation of the consumer function, and what happens to
 * the messages is reported per object (transformed), per failed receive, and per dead letter, with the
 * error the function logged for it (its partial batch response names the message, not the reason).
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { S3Event, SQSBatchResponse } from 'aws-lambda';
import { decodeEventKey } from '../../core/lake/layout';
import type { Activity } from './activity';
import type { FunctionLogEntry } from './lambda-runtime';
import type { LocalFunctions } from './local-functions';
import { type DeadLetter, LocalQueue, type QueueMessage } from './local-queue';
import type { LocalWiring } from './template-wiring';

/** The transform function processed a bronze object (its message was deleted). */
export interface TransformedObject {
  readonly bucket: string;
  readonly key: string;
  readonly messageId: string;
  readonly receiveCount: number;
}

/** A transform message failed a receive. */
export interface TransformFailure {
  readonly messageId: string;
  readonly receiveCount: number;
  readonly willRetry: boolean;
  readonly keys: string[];
}

export interface QueueConsumerOptions {
  /** Queue names are `<prefix>-<logical id without its hash>`. */
  readonly bucketPrefix: string;
  /** SQS event source batch size; default: the template's. */
  readonly batchSize?: number;
  /** SQS redrive policy; default: the template's (none: never dead-lettered). */
  readonly maxReceiveCount?: number;
  /** Batches worked on at once; default: see {@link transformConcurrency}. */
  readonly transformConcurrency?: number;
  /** SQS visibility timeout of a failed message; default 50 ms. */
  readonly retryDelayMs?: number;
  /**
   * Where the queues journal their messages, each in `<journalDir>/<queue name>/`, so that queued and
   * in-flight work survives the process and is delivered again by the next start; none: in memory only.
   */
  readonly journalDir?: string;
  /** Deliver nothing until each queue's `resume()`; default false. */
  readonly startPaused?: boolean;
  /** Counts every message until it is deleted or dead-lettered. */
  readonly activity: Activity;
  readonly errors: MessageErrors;
  readonly onTransformed: (o: TransformedObject) => void;
  readonly onTransformFailed: (f: TransformFailure) => void;
  readonly onDeadLettered: (d: DeadLetter) => void;
}

/** A local queue per queue of the template that a function drains, by logical id. */
export function drainedQueues(
  wiring: LocalWiring,
  functions: LocalFunctions,
  options: QueueConsumerOptions,
): Map<string, LocalQueue> {
  const queues = new Map<string, LocalQueue>();
  for (const q of Object.values(wiring.queues)) {
    if (!q.consumer) continue;
    const fn = functions.get(q.consumer.function);
    const spec = functions.spec(fn);
    const name = `${options.bucketPrefix}-${q.logicalId.replace(/[0-9A-F]{8}$/, '')}`;
    const queue = new LocalQueue({
      name,
      journalDir: options.journalDir === undefined ? undefined : join(options.journalDir, name),
      startPaused: options.startPaused,
      region: spec.region,
      accountId: spec.accountId,
      batchSize: options.batchSize ?? q.consumer.batchSize,
      concurrency: transformConcurrency(options.transformConcurrency, q.consumer.maxConcurrency),
      maxReceiveCount: options.maxReceiveCount ?? q.maxReceiveCount ?? Number.POSITIVE_INFINITY,
      visibilityTimeoutMs: options.retryDelayMs ?? 50,
      activity: options.activity,
      consumer: (event) => functions.invoke(fn, event) as Promise<SQSBatchResponse>,
      onDeleted: (m) => {
        for (const o of objectsIn(m)) {
          options.onTransformed({ ...o, messageId: m.messageId, receiveCount: m.receiveCount });
        }
      },
      onFailed: (m, willRetry) =>
        options.onTransformFailed({
          messageId: m.messageId,
          receiveCount: m.receiveCount,
          willRetry,
          keys: objectsIn(m).map((o) => o.key),
        }),
      onDeadLettered: (dead) => options.onDeadLettered(options.errors.explain(dead)),
    });
    queues.set(q.logicalId, queue);
  }
  return queues;
}

/**
 * The last error the consumer logged per SQS message id. A failing message is only named in the partial
 * batch response; the reason is in the function's log (a JSON line with `messageId` and `error`, as
 * `processBatch` writes it).
 */
export class MessageErrors {
  private readonly errors = new Map<string, string>();

  /** Watches one line a function logged (the `FunctionLogs` observer). */
  remember(entry: FunctionLogEntry): void {
    if (entry.level !== 'ERROR' || !entry.message.startsWith('{')) return;
    try {
      const parsed = JSON.parse(entry.message) as { messageId?: unknown; error?: unknown };
      if (typeof parsed.messageId === 'string' && typeof parsed.error === 'string') {
        this.errors.set(parsed.messageId, parsed.error);
      }
    } catch {
      // not a JSON entry
    }
  }

  /** The dead letter with its last error: the queue's own, else the one logged for its message. */
  explain(d: DeadLetter): DeadLetter {
    const error = d.lastError ?? this.errors.get(d.messageId);
    return error === undefined ? d : { ...d, lastError: error };
  }
}

/** The objects an S3-to-SQS message announces (decoded keys). */
export function objectsIn(m: Pick<QueueMessage, 'body'>): { bucket: string; key: string }[] {
  try {
    const event = JSON.parse(m.body) as Partial<S3Event>;
    return (event.Records ?? []).map((r) => ({
      bucket: r.s3.bucket.name,
      key: decodeEventKey(r.s3.object.key),
    }));
  } catch {
    return [];
  }
}

/**
 * One batch at a time left the S3 server idle while DuckDB worked, and the reverse: on 2 cores, two batches
 * at once (the template allows 5) settle a burst of 250 files in ~21 s instead of ~31 s.
 */
export function transformConcurrency(option: number | undefined, templateMax: number | undefined): number {
  if (option !== undefined) return option;
  return Math.max(1, Math.min(templateMax ?? 1, availableParallelism()));
}
