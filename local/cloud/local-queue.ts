/**
 * An in-process stand-in for an SQS standard queue drained by a Lambda event source mapping with
 * `ReportBatchItemFailures` and a redrive policy to a dead-letter queue:
 *
 *  - messages are delivered to the consumer in batches of up to `batchSize` (default 10), as an `SQSEvent`
 *    whose records look like Lambda's (messageId, receiptHandle, attributes.ApproximateReceiveCount...);
 *  - the consumer answers with a partial batch response: the messages it lists in `batchItemFailures`
 *    come back after `visibilityTimeoutMs`, the others are deleted. A thrown error, or a response naming a
 *    message that is not in the batch, fails the whole batch (as Lambda does);
 *  - a message that failed `maxReceiveCount` (default 3) receives is moved to the dead-letter list.
 *
 * Every message counts as work in `activity` from `send` until it is deleted or dead-lettered, so
 * `whenIdle()` resolves only when everything sent has been dealt with.
 *
 * With `journalDir`, queued and in-flight messages and dead letters are kept on disk (see
 * {@link QueueJournal}), so a queue started again on the same directory after its process was killed
 * finishes the work, receive counts included: a message is journaled before `send` returns, and its
 * receive is journaled before the consumer gets it (SQS counts a receive when it hands a message out).
 * After a restart every journaled message is visible at once (the old visibility timeouts are not kept).
 * The redrive policy counts the receives that ended in a failure answer, not the ones cut short by the
 * local cloud's own death: in AWS the queue outlives its consumer, here a `kill -9` takes both down, and a
 * file in flight at a few kills must not be dead-lettered for it. A message whose receives keep being cut
 * short (it takes the process down, e.g. out of memory) is dead-lettered after
 * {@link INTERRUPTED_RECEIVES_FACTOR} times `maxReceiveCount` receives.
 */

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { errorMessage } from '../../core/errors';
import { Activity } from './activity';
import { type JournaledMessage, QueueJournal } from './queue-journal';

export type QueueConsumer = (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;

export interface LocalQueueOptions {
  /** Queue name, used in the records' `eventSourceARN`. */
  readonly name: string;
  readonly consumer: QueueConsumer;
  /** Largest batch handed to the consumer (Lambda's BatchSize); default 10. */
  readonly batchSize?: number;
  /** Receives before a failing message is dead-lettered (the redrive policy); default 3. */
  readonly maxReceiveCount?: number;
  /** How long a failed message stays invisible before it is delivered again; default 0. */
  readonly visibilityTimeoutMs?: number;
  /** How long to wait for more messages before delivering a batch (MaximumBatchingWindow); default 0. */
  readonly batchWindowMs?: number;
  /** Batches handed to the consumer at the same time (the function's concurrency); default 1. */
  readonly concurrency?: number;
  readonly region?: string;
  readonly accountId?: string;
  /** Shared with other local components to wait for all of them at once; default: the queue's own. */
  readonly activity?: Activity;
  /** Called once a message is deleted (its processing succeeded). */
  readonly onDeleted?: (message: QueueMessage) => void;
  /** Called when a message failed a receive; `willRetry` is false when it is being dead-lettered. */
  readonly onFailed?: (message: QueueMessage, willRetry: boolean) => void;
  readonly onDeadLettered?: (dead: DeadLetter) => void;
  /**
   * The queue's own directory for its journal (created if missing); none: messages live in memory only.
   * What it holds is delivered again when the queue is constructed, and `close()` leaves it in place.
   */
  readonly journalDir?: string;
  /**
   * Deliver nothing until `resume()` (messages restored from the journal and sent meanwhile wait): lets
   * the owner finish starting up (logs, listeners) before the consumer runs. Default false.
   */
  readonly startPaused?: boolean;
  /** Told about journal files moved aside as unreadable and journal writes that failed; default console.warn. */
  readonly onJournalProblem?: (problem: string) => void;
}

/** A message as the queue holds it. */
export interface QueueMessage {
  readonly messageId: string;
  readonly body: string;
  readonly sentTimestamp: number;
  receiveCount: number;
  /** Receives that ended in a failure answer (the redrive policy counts these). */
  failedReceives?: number;
  firstReceiveTimestamp?: number;
  /** Why the last failed receive failed, when the whole batch failed with an error. */
  lastError?: string;
}

export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  readonly receiveCount: number;
  readonly sentTimestamp: number;
  readonly deadLetteredAt: number;
  readonly lastError?: string;
}

type Held = QueueMessage & { done: () => void };

/** Why a restored message that used up its receives is dead-lettered, when it has no error of its own. */
const UNANSWERED =
  'its receives were never answered (the process stopped each time while the consumer had it)';

/** Receives cut short by the process dying, in units of `maxReceiveCount`, before a message counts as poison. */
export const INTERRUPTED_RECEIVES_FACTOR = 5;

export class LocalQueue {
  readonly name: string;
  readonly arn: string;
  private readonly consumer: QueueConsumer;
  private readonly batchSize: number;
  private readonly maxReceiveCount: number;
  private readonly visibilityTimeoutMs: number;
  private readonly batchWindowMs: number;
  private readonly concurrency: number;
  private readonly region: string;
  private readonly activity: Activity;
  private readonly own = new Activity();
  private readonly options: LocalQueueOptions;

  private readonly visible: Held[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly invisible = new Set<Held>();
  /** Messages handed to the consumer and not yet answered for. */
  private readonly delivering = new Set<Held>();
  private pumpTimer: NodeJS.Timeout | undefined;
  private batchesInFlight = 0;
  private closed = false;
  private paused: boolean;
  private readonly dead: DeadLetter[] = [];
  private readonly journal: QueueJournal | undefined;

  constructor(options: LocalQueueOptions) {
    this.options = options;
    this.name = options.name;
    this.consumer = options.consumer;
    this.batchSize = positive('batchSize', options.batchSize ?? 10);
    this.maxReceiveCount = positive('maxReceiveCount', options.maxReceiveCount ?? 3);
    this.concurrency = positive('concurrency', options.concurrency ?? 1);
    this.visibilityTimeoutMs = options.visibilityTimeoutMs ?? 0;
    this.batchWindowMs = options.batchWindowMs ?? 0;
    this.region = options.region ?? 'us-east-1';
    this.arn = `arn:aws:sqs:${this.region}:${options.accountId ?? '000000000000'}:${options.name}`;
    this.activity = options.activity ?? this.own;
    this.paused = options.startPaused ?? false;
    if (options.journalDir !== undefined) {
      this.journal = new QueueJournal(options.journalDir);
      this.restore(this.journal);
    }
  }

  /** Messages that exhausted their receives, oldest first. */
  get deadLetters(): readonly DeadLetter[] {
    return this.dead;
  }

  /** Messages sent and not yet deleted or dead-lettered. */
  get depth(): number {
    return this.own.pending;
  }

  get idle(): boolean {
    return this.own.idle;
  }

  /** Resolves when every message sent so far is deleted or dead-lettered. */
  whenIdle(): Promise<void> {
    return this.own.whenIdle();
  }

  /**
   * The body of every message this queue still holds in this process: queued, waiting out a visibility
   * timeout, in flight with the consumer, or dead-lettered (restored ones included).
   */
  pendingBodies(): string[] {
    return [...this.visible, ...this.invisible, ...this.delivering, ...this.dead].map((m) => m.body);
  }

  /** Enqueues a message (journaled before this returns, when journaled); returns its id. */
  send(body: string): string {
    if (this.closed) throw new Error(`queue ${this.name} is closed`);
    const message: JournaledMessage = {
      messageId: randomUUID(),
      body,
      sentTimestamp: Date.now(),
      receiveCount: 0,
    };
    this.journal?.write(message);
    this.visible.push(this.hold(message));
    this.schedule();
    return message.messageId;
  }

  /**
   * Stops delivering in this process; messages still queued are dropped from it (and no longer count as
   * pending work) but stay in the journal, if any, for the next queue on it. Returns how many were dropped.
   */
  close(): number {
    this.closed = true;
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const dropped = [...this.visible.splice(0), ...this.invisible];
    this.invisible.clear();
    for (const m of dropped) m.done();
    return dropped.length;
  }

  /** A message counted as pending work until it is deleted, dead-lettered or dropped. */
  private hold(m: JournaledMessage): Held {
    const endShared = this.activity === this.own ? undefined : this.activity.begin();
    const endOwn = this.own.begin();
    return {
      ...m,
      done: () => {
        endOwn();
        endShared?.();
      },
    };
  }

  /** Makes the journaled messages visible again and brings back the dead letters. */
  private restore(journal: QueueJournal): void {
    const { messages, deadLetters, unreadable } = journal.load();
    for (const u of unreadable) {
      this.journalProblem(`moved unreadable journal file ${u.file} to ${u.movedTo} (${u.reason})`);
    }
    this.dead.push(...deadLetters);
    for (const m of messages) this.visible.push(this.hold(m));
    if (this.visible.length > 0) this.schedule();
  }

  /** Runs a journal update after the fact; a failure is reported, not thrown into the delivery loop. */
  private journaling(what: string, update: (journal: QueueJournal) => void): void {
    if (!this.journal) return;
    try {
      update(this.journal);
    } catch (e) {
      this.journalProblem(`could not journal ${what}: ${errorMessage(e)}`);
    }
  }

  private journalProblem(problem: string): void {
    const report = this.options.onJournalProblem ?? ((p: string) => console.warn(p));
    report(`queue ${this.name}: ${problem}`);
  }

  /** Starts delivering (see `startPaused`). */
  resume(): void {
    this.paused = false;
    if (this.visible.length > 0) this.schedule();
  }

  private schedule(): void {
    if (this.pumpTimer || this.closed || this.paused) return;
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      this.pump();
    }, this.batchWindowMs);
  }

  private pump(): void {
    while (!this.closed && this.batchesInFlight < this.concurrency && this.visible.length > 0) {
      const batch = this.receive();
      if (batch.length === 0) continue;
      this.batchesInFlight++;
      void this.deliver(batch).finally(() => {
        this.batchesInFlight--;
        if (this.visible.length > 0) this.schedule();
      });
    }
  }

  /**
   * The next batch, each message's receive counted (and journaled before anyone sees it). A restored
   * message that already used up its receives is dead-lettered here instead, as SQS's redrive does.
   */
  private receive(): Held[] {
    const batch: Held[] = [];
    const now = Date.now();
    while (batch.length < this.batchSize) {
      const m = this.visible.shift();
      if (!m) break;
      if (
        (m.failedReceives ?? 0) >= this.maxReceiveCount ||
        m.receiveCount >= this.maxReceiveCount * INTERRUPTED_RECEIVES_FACTOR
      ) {
        this.deadLetter(m, m.lastError ?? UNANSWERED);
        continue;
      }
      m.receiveCount++;
      m.firstReceiveTimestamp ??= now;
      this.journaling(`the receive of ${m.messageId}`, (j) => j.write(m));
      batch.push(m);
    }
    return batch;
  }

  private async deliver(batch: Held[]): Promise<void> {
    for (const m of batch) this.delivering.add(m);
    const records = batch.map((m) => this.record(m));
    let failed: Set<string>;
    let error: string | undefined;
    try {
      const response = await this.consumer({ Records: records });
      failed = this.failedIds(batch, response);
    } catch (e) {
      error = errorMessage(e);
      failed = new Set(batch.map((m) => m.messageId));
    }
    for (const m of batch) {
      this.delivering.delete(m);
      if (failed.has(m.messageId)) this.fail(m, error);
      else {
        this.journaling(`the deletion of ${m.messageId}`, (j) => j.remove(m.messageId));
        m.done();
        this.options.onDeleted?.(m);
      }
    }
  }

  /** Ids the response reports as failed; an invalid response fails the whole batch, as Lambda does. */
  private failedIds(batch: Held[], response: SQSBatchResponse | undefined): Set<string> {
    const ids = new Set(batch.map((m) => m.messageId));
    const failures = response?.batchItemFailures ?? [];
    const failed = new Set<string>();
    for (const f of failures) {
      if (!f?.itemIdentifier || !ids.has(f.itemIdentifier)) return ids;
      failed.add(f.itemIdentifier);
    }
    return failed;
  }

  private fail(m: Held, error: string | undefined): void {
    m.lastError = error;
    m.failedReceives = (m.failedReceives ?? 0) + 1;
    this.journaling(`the failure of ${m.messageId}`, (j) => j.write(m));
    if (this.closed) {
      m.done();
      return;
    }
    const willRetry = m.failedReceives < this.maxReceiveCount;
    this.options.onFailed?.(m, willRetry);
    if (!willRetry) {
      this.deadLetter(m, error);
      return;
    }
    this.invisible.add(m);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.invisible.delete(m);
      this.visible.push(m);
      this.schedule();
    }, this.visibilityTimeoutMs);
    this.timers.add(timer);
  }

  private deadLetter(m: Held, error: string | undefined): void {
    const dead: DeadLetter = {
      messageId: m.messageId,
      body: m.body,
      receiveCount: m.receiveCount,
      sentTimestamp: m.sentTimestamp,
      deadLetteredAt: Date.now(),
      ...(error === undefined ? {} : { lastError: error }),
    };
    this.journaling(`the dead letter ${m.messageId}`, (j) => j.deadLetter(dead));
    this.dead.push(dead);
    m.done();
    this.options.onDeadLettered?.(dead);
  }

  /** The record Lambda's SQS poller would hand over for this receive. */
  private record(m: QueueMessage): SQSRecord {
    return {
      messageId: m.messageId,
      receiptHandle: randomBytes(48).toString('base64'),
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(m.sentTimestamp),
        SenderId: 'AIDALOCALSENDER000000',
        ApproximateFirstReceiveTimestamp: String(m.firstReceiveTimestamp ?? Date.now()),
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update(m.body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: this.region,
    };
  }
}

function positive(name: string, n: number): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`LocalQueue: ${name} must be a positive integer`);
  return n;
}
