/**
 * The reconciler, locally: the same finder and re-drive logic as the scheduled Lambda
 * (lambdas/reconciler/), run by the local cloud itself, at start-up and then on the template's schedule.
 * Stranded objects go back through the local router, the route a fresh S3 event takes (the landing
 * function for an upload, the transform queue for a bronze object).
 *
 * At start-up the threshold is the start itself: an upload or bronze object older than this process has
 * no event on its way (events live in memory), unless a durable queue restored its message (`queuedKeys`).
 * While running, the template's thresholds apply, as in AWS.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { errorMessage } from '../../core/errors';
import { type ReconcileReport, Reconciler } from '../../lambdas/reconciler/reconcile';
import { type StrandedObject, StrandedObjectFinder } from '../../lambdas/reconciler/stranded-objects';
import { scheduleIntervalMinutes } from '../../lib/config';
import { type NotificationRouter, objectCreatedEvent } from './notification-router';
import type { WiredReconciler } from './template-wiring';

/** Pause before a failed start-up reconciliation is tried again. */
export const STARTUP_RETRY_MS = 5_000;

export interface LocalReconcilerOptions {
  readonly s3: S3Client;
  readonly buckets: { landing: string; bronze: string; silver: string; quarantine: string };
  readonly contracts: readonly DatasetContract[];
  readonly router: NotificationRouter;
  readonly region: string;
  /** The template's reconciler (schedule and thresholds); none: only the start-up run. */
  readonly wired?: WiredReconciler;
  /**
   * `<bucket>/<key>` of the objects whose message a durable queue holds: on their way, not stranded.
   * Taken once per run (it parses every queued message), not once per object looked at.
   */
  readonly queuedKeys: () => ReadonlySet<string>;
  /** Tracks each run as work of the cloud (`whenIdle` waits for it). */
  readonly track: <T>(work: () => Promise<T>) => Promise<T>;
  readonly onReconciled: (report: ReconcileReport & { readonly startup: boolean }) => void;
  readonly onFailed: (error: string) => void;
}

export class LocalReconciler {
  private readonly reconciler: Reconciler;
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: LocalReconcilerOptions) {
    const redrive = (only: 'function' | 'queue') => async (o: StrandedObject) => {
      const head = { ContentLength: o.size, ETag: o.eTag };
      const event = objectCreatedEvent(o.bucket, o.key, head, options.region, o.lastModified);
      if (options.router.dispatch(event, only) === 0)
        throw new Error(`no ${only} route of the template takes s3://${o.bucket}/${o.key}`);
    };
    this.reconciler = new Reconciler(
      new StrandedObjectFinder({ s3: options.s3, buckets: options.buckets, contracts: options.contracts }),
      { landing: redrive('function'), bronze: redrive('queue') },
    );
  }

  /**
   * Runs once now (objects older than this process are stranded), then on the template's schedule. A
   * start-up run that fails (the S3 server overloaded, say) is tried again every
   * {@link STARTUP_RETRY_MS} until it succeeds: what it finds has no other way back.
   */
  start(): Promise<ReconcileReport | undefined> {
    const first = this.run(true).then((report) => {
      if (!report) this.retryStartup();
      return report;
    });
    const minutes = this.options.wired && scheduleIntervalMinutes(this.options.wired.schedule);
    if (minutes) {
      this.timer = setInterval(() => void this.run(false), minutes * 60_000);
      this.timer.unref();
    }
    return first;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.retry) clearTimeout(this.retry);
    this.timer = undefined;
  }

  private retryStartup(): void {
    if (this.stopped) return;
    this.retry = setTimeout(() => {
      void this.run(true).then((report) => {
        if (!report) this.retryStartup();
      });
    }, STARTUP_RETRY_MS);
    this.retry.unref();
  }

  /** One reconciliation; a failure is reported, never thrown (the cloud keeps running). */
  run(startup: boolean): Promise<ReconcileReport | undefined> {
    const now = new Date();
    const sinceStart = Math.max(0, now.getTime() - this.startedAt);
    const wired = this.options.wired;
    const settings = startup
      ? { landingAfterMs: sinceStart, bronzeAfterMs: sinceStart, lookbackDays: wired?.lookbackDays ?? 3 }
      : {
          landingAfterMs: wired?.landingAfterMs ?? 0,
          bronzeAfterMs: wired?.bronzeAfterMs ?? 0,
          lookbackDays: wired?.lookbackDays ?? 3,
        };
    return this.options.track(async () => {
      try {
        const queued = this.options.queuedKeys();
        const report = await this.reconciler.run(now, settings, (bucket, key) =>
          queued.has(`${bucket}/${key}`),
        );
        this.options.onReconciled({ ...report, startup });
        return report;
      } catch (e) {
        this.options.onFailed(errorMessage(e));
        return undefined;
      }
    });
  }
}
