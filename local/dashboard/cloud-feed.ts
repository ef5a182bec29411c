/**
 * The local cloud's activity, one entry per file or gold run, in the order things happened:
 *
 *  - landed files, from the landing function's log (the entry carrying the FilesLanded and BytesLanded
 *    metrics: both doors, duplicates told apart) and uploads no contract claims (its `quarantined` entry);
 *  - transformed and rejected files, from the `transformed` event and the silver manifest it wrote, with
 *    the lag its log entry reports (TransformLagSeconds);
 *  - failed landings and dead letters, from the cloud's events;
 *  - gold runs, from the gold models' `_published.json` registries, read every few seconds.
 *
 * At start it also reads the manifests written in the last day, quietly (counted, not announced), so a
 * dashboard opened over a kept state shows what is there.
 */
import { join } from 'node:path';
import { mapLimited } from '../../lambdas/aws/s3';
import type { FunctionLogEntry } from '../cloud/lambda-runtime';
import type { LocalCloud } from '../cloud/local-cloud';
import { objectsIn } from '../cloud/queue-consumers';
import { LocalExecutionRegistry } from '../gold/execution-registry';
import type { GoldRunPublished, PipelineActivity } from './activity';
import {
  bronzeDisplayName,
  datasetOfBronzeKey,
  manifestAt,
  publishedGoldRuns,
  readManifest,
  recentManifestKeys,
  transformedFrom,
} from './lake-reads';

/** What the feed needs of a local cloud. */
export type FeedCloud = Pick<LocalCloud, 'on' | 'onFunctionLog' | 's3' | 'buckets' | 'stateDir'>;

export interface CloudFeedOptions {
  /** Manifests written since then are read at start; default: a day ago (a CloudWatch dashboard's default). */
  readonly since?: number;
  /** At most this many of them, the newest; default 2,000. */
  readonly backfillLimit?: number;
  /** How often the gold bucket is read for new runs; default 3 s. */
  readonly goldPollMs?: number;
  /** Told when reading the lake failed (the feed carries on). */
  readonly onError?: (error: unknown) => void;
}

type ActivityListener = (a: PipelineActivity, quiet: boolean) => void;

/** Display names (and lags) kept at most, by bronze key, between a landing and its transform. */
const NAMES_CACHED = 1000;

export class CloudFeed {
  readonly since: number;
  private readonly listeners = new Set<ActivityListener>();
  private readonly goldListeners = new Set<(runs: readonly GoldRunPublished[]) => void>();
  private readonly unsubscribe: (() => void)[] = [];
  /** Activities are built (reads included) one after the other, so they come out in event order. */
  private chain: Promise<void> = Promise.resolve();
  private readonly names = new Map<string, Promise<string>>();
  private readonly lags = new Map<string, number>();
  /** Bronze keys seen live: the start-up read of older manifests leaves them alone. */
  private readonly live = new Set<string>();
  private knownRuns: Set<string> | undefined;
  private goldTimer: NodeJS.Timeout | undefined;
  private goldPoll: Promise<void> = Promise.resolve();
  private stopped = false;
  private backfill: Promise<void> = Promise.resolve();
  private readonly executions: LocalExecutionRegistry;

  constructor(
    private readonly cloud: FeedCloud,
    private readonly options: CloudFeedOptions = {},
  ) {
    this.since = options.since ?? Date.now() - 24 * 3600_000;
    this.executions = new LocalExecutionRegistry(join(cloud.stateDir, 'gold', 'executions'));
  }

  onActivity(listener: ActivityListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Told the published gold runs (newest first) whenever they are read. */
  onGoldRuns(listener: (runs: readonly GoldRunPublished[]) => void): () => void {
    this.goldListeners.add(listener);
    return () => this.goldListeners.delete(listener);
  }

  /** Subscribes to the cloud, starts reading the recent manifests and polling the gold bucket. */
  start(): this {
    const c = this.cloud;
    this.unsubscribe.push(
      c.onFunctionLog((e) => this.fromLog(e)),
      c.on('transformed', (e) => {
        this.live.add(e.key);
        this.queue(async () => this.transformed(e.key));
      }),
      c.on('landing-failed', (e) =>
        this.queue(async () => ({ kind: 'landing-failed', at: Date.now(), name: e.key, error: e.error })),
      ),
      c.on('dead-lettered', (d) =>
        this.queue(async () => ({
          kind: 'dead-lettered',
          at: d.deadLetteredAt,
          names: await Promise.all(objectsIn(d).map((o) => this.nameOf(o.key))),
          error: d.lastError ?? 'no error recorded',
        })),
      ),
    );
    this.backfill = this.readRecentManifests().catch((e) => this.options.onError?.(e));
    this.goldPoll = this.pollGold();
    return this;
  }

  /** Resolves once the manifests written before the start are counted. */
  whenBackfilled(): Promise<void> {
    return this.backfill;
  }

  /** Resolves once every activity seen so far was told to the listeners. */
  whenSettled(): Promise<void> {
    return this.chain;
  }

  /** Unsubscribes, stops polling, and lets the activities under way finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubscribe.splice(0)) u();
    if (this.goldTimer) clearTimeout(this.goldTimer);
    await Promise.all([this.chain, this.backfill, this.goldPoll]);
  }

  /** The gold executions running right now (the local stand-in for Step Functions' list). */
  goldRunning(): { name: string; startedAt: number }[] {
    return this.executions.running().map((e) => ({ name: e.Name, startedAt: Date.parse(e.StartDate) }));
  }

  private emit(a: PipelineActivity, quiet: boolean): void {
    for (const l of this.listeners) {
      try {
        l(a, quiet);
      } catch (e) {
        this.options.onError?.(e);
      }
    }
  }

  /** Builds an activity after those already queued, then tells it (none: nothing to tell). */
  private queue(build: () => Promise<PipelineActivity | undefined>): void {
    this.chain = this.chain.then(async () => {
      try {
        const a = await build();
        if (a && !this.stopped) this.emit(a, false);
      } catch (e) {
        this.options.onError?.(e);
      }
    });
  }

  /** A function's log entry: a landing, an upload no contract claims, or a transform's lag. */
  private fromLog(entry: FunctionLogEntry): void {
    const e = parseEntry(entry.message);
    if (!e) return;
    const at = Date.now();
    if ((e.message === 'landed' || e.message === 'already landed') && typeof e.bronzeKey === 'string') {
      const bronzeKey = e.bronzeKey;
      const name = this.nameOf(bronzeKey);
      this.queue(async () => ({
        kind: 'landed',
        at,
        ...datasetOfBronzeKey(bronzeKey),
        name: await name,
        bronzeKey,
        bytes: typeof e.bytes === 'number' ? e.bytes : 0,
        duplicate: e.duplicate === true,
        source: String(e.source ?? ''),
      }));
    } else if (e.message === 'quarantined' && typeof e.sourceKey === 'string') {
      const name = e.sourceKey;
      this.queue(async () => ({ kind: 'unrouted', at, name, reason: String(e.reason ?? '') }));
    } else if (e.message === 'bronze object transformed' && typeof e.key === 'string') {
      if (typeof e.lagMs !== 'number') return;
      if (this.lags.size >= NAMES_CACHED) this.lags.clear(); // transforms whose event never came
      this.lags.set(e.key, e.lagMs);
    }
  }

  private async transformed(bronzeKey: string): Promise<PipelineActivity | undefined> {
    const lagMs = this.lags.get(bronzeKey);
    this.lags.delete(bronzeKey);
    const [manifest, name] = await Promise.all([
      readManifest(this.cloud.s3, this.cloud.buckets, bronzeKey),
      this.nameOf(bronzeKey),
    ]);
    this.names.delete(bronzeKey);
    return manifest && transformedFrom(manifest, name, { lagMs, at: Date.now() });
  }

  /** The file's display name, read once per bronze object (its landing usually asked first). */
  private nameOf(bronzeKey: string): Promise<string> {
    let name = this.names.get(bronzeKey);
    if (!name) {
      if (this.names.size >= NAMES_CACHED) this.names.clear();
      name = bronzeDisplayName(this.cloud.s3, this.cloud.buckets.bronze, bronzeKey);
      this.names.set(bronzeKey, name);
    }
    return name;
  }

  private async readRecentManifests(): Promise<void> {
    const { s3, buckets } = this.cloud;
    const keys = await recentManifestKeys(s3, buckets.silver, this.since, this.options.backfillLimit ?? 2000);
    await mapLimited(keys, 4, async (key) => {
      if (this.stopped) return;
      const m = await manifestAt(s3, buckets.silver, key);
      if (!m || this.live.has(m.source.key) || this.stopped) return;
      this.emit(transformedFrom(m, m.source.key), true);
    });
  }

  /** Reads the published gold runs; announces those new since the last read once no run is under way. */
  private async pollGold(): Promise<void> {
    const gold = this.cloud.buckets.gold;
    if (!gold || this.stopped) return;
    try {
      const runs = await publishedGoldRuns(this.cloud.s3, gold);
      if (this.stopped) return;
      for (const l of this.goldListeners) l(runs);
      // A run publishes its models one by one: announce it whole, once nothing runs any more.
      if (!this.knownRuns) this.knownRuns = new Set(runs.map((r) => r.execution));
      else if (this.goldRunning().length === 0) {
        for (const run of [...runs].reverse()) {
          if (this.knownRuns.has(run.execution)) continue;
          this.knownRuns.add(run.execution);
          this.queue(async () => ({ ...run, at: run.at || Date.now() }));
        }
      }
    } catch (e) {
      this.options.onError?.(e);
    }
    if (!this.stopped) {
      this.goldTimer = setTimeout(() => {
        this.goldPoll = this.pollGold();
      }, this.options.goldPollMs ?? 3000);
      this.goldTimer.unref();
    }
  }
}

/** A structured log entry (the handlers' JSON lines), or undefined for anything else. */
function parseEntry(message: string): Record<string, unknown> | undefined {
  if (!message.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(message) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
