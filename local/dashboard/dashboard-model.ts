/**
 * The local dashboard's numbers: what the CloudWatch dashboards show (lib/monitoring/dashboard.ts and
 * domain-dashboard.ts), computed from the activity of the local cloud instead of metrics. Per dataset:
 * files and bytes landed, rows in, out, quarantined and duplicated, the quarantine ratio against the
 * contract's maximum, lag to silver, rejected files and freshness; for the platform: the transform queue's
 * backlog, dead letters, failed landings, uploads no contract claims, gold runs, and the alarms that would
 * fire. No I/O here: `cloud-feed.ts` feeds it, `snapshot` is what the page receives as JSON.
 */
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import type {
  DeadLettered,
  GoldRunPublished,
  LandingFailed,
  PipelineActivity,
  RowCounts,
  TransformedFile,
  UnroutedUpload,
} from './activity';
import { activityLine } from './activity-lines';

/**
 * An alarm as the local alarm evaluation reports it (structurally what `evaluateAlarms` of
 * local/monitoring/alarm-evaluation.ts returns, declared here so the dashboard does not depend on it).
 */
export interface AlarmResult {
  readonly alarmId: string;
  readonly alarmName: string;
  readonly state: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA' | 'NOT_EVALUATED';
  /** One line saying what was evaluated and why it is in this state. */
  readonly line: string;
  readonly value?: number;
  readonly threshold?: number;
  readonly description?: string;
}

/** One dataset's row of the dashboard (a domain dashboard's row in CloudWatch). */
export interface DatasetView {
  /** `<domain>/<dataset>`. */
  readonly id: string;
  readonly domain: string;
  readonly dataset: string;
  readonly files: {
    /** Bronze objects stored (duplicates of bytes already landed not counted: FilesLanded). */
    readonly landed: number;
    readonly bytes: number;
    /** Uploads of bytes already in bronze (nothing new stored). */
    readonly duplicates: number;
    readonly transformed: number;
    /** Whole files the transform rejected (FilesQuarantined). */
    readonly quarantined: number;
  };
  readonly rows: RowCounts;
  /** Quarantined rows over rows in; null before any row. */
  readonly quarantineRatio: number | null;
  /** The contract's `quality.maxQuarantineRatio` (the alarm's threshold); null for an unknown dataset. */
  readonly maxQuarantineRatio: number | null;
  /** The most frequent quarantine reasons (`<column>|<rule>`), most rows first. */
  readonly topReasons: readonly { readonly reason: string; readonly rows: number }[];
  /** Lag to silver (bronze object created -> transform done) of the files transformed since start. */
  readonly lag: { readonly lastMs: number; readonly maxMs: number; readonly p90Ms: number } | null;
  readonly lastLandedAt: number | null;
  readonly lastSilverAt: number | null;
}

/** What the page shows, as JSON. Times are milliseconds since the epoch. */
export interface DashboardSnapshot {
  readonly generatedAt: number;
  /** Files count from here: the dashboard read the manifests written since then at start. */
  readonly since: number;
  readonly datasets: readonly DatasetView[];
  readonly queues: readonly { readonly name: string; readonly depth: number; readonly deadLetters: number }[];
  readonly deadLetters: Listed<DeadLettered>;
  readonly landingFailures: Listed<LandingFailed>;
  readonly unrouted: Listed<UnroutedUpload>;
  readonly gold: {
    readonly runs: readonly GoldRunPublished[];
    readonly lastPublishedAt: number | null;
    readonly running: readonly { readonly name: string; readonly startedAt: number }[];
  };
  /** Null when no alarm evaluation is wired in. */
  readonly alarms: readonly AlarmResult[] | null;
  /** The newest lines, newest first (what `medallion local` printed). */
  readonly recent: readonly { readonly at: number; readonly kind: string; readonly line: string }[];
}

/** A count, and the newest entries (newest first). */
export interface Listed<T> {
  readonly count: number;
  readonly recent: readonly T[];
}

/** What the model is told at snapshot time rather than through activity. */
export interface LiveState {
  readonly queues?: DashboardSnapshot['queues'];
  readonly goldRunning?: DashboardSnapshot['gold']['running'];
  readonly alarms?: readonly AlarmResult[];
}

/** Entries kept per list (dead letters, failures, recent lines, gold runs). */
const KEPT = 20;
/** Reasons shown per dataset. */
const TOP_REASONS = 4;

interface FileState {
  domain: string;
  dataset: string;
  bytes?: number;
  landedAt?: number;
  duplicates: number;
  transform?: TransformedFile;
}

export class DashboardModel {
  private readonly contracts: readonly Pick<DatasetContract, 'domain' | 'dataset' | 'quality'>[];
  /** By bronze key: one entry per bronze object, whatever happened to it how many times. */
  private readonly files = new Map<string, FileState>();
  private readonly lists = {
    deadLetters: new Counted<DeadLettered>(),
    landingFailures: new Counted<LandingFailed>(),
    unrouted: new Counted<UnroutedUpload>(),
  };
  private readonly recent: PipelineActivity[] = [];
  private goldRuns: readonly GoldRunPublished[] = [];
  /** Bumped on every change: the server pushes a snapshot when it moved. */
  version = 0;

  constructor(
    contracts: readonly Pick<DatasetContract, 'domain' | 'dataset' | 'quality'>[],
    readonly since: number,
  ) {
    this.contracts = contracts;
  }

  /** Counts one activity; `quiet`: an activity from before this process (not a recent line). */
  apply(a: PipelineActivity, quiet = false): void {
    this.version++;
    if (!quiet) keepNewest(this.recent, a);
    switch (a.kind) {
      case 'landed': {
        const f = this.file(a.bronzeKey, a.domain, a.dataset);
        if (a.duplicate) f.duplicates++;
        else {
          f.bytes = a.bytes;
          f.landedAt = a.at;
        }
        return;
      }
      case 'transformed': {
        const f = this.file(a.bronzeKey, a.domain, a.dataset);
        f.transform = a;
        f.bytes ??= a.bytes;
        return;
      }
      case 'dead-lettered':
        this.lists.deadLetters.add(a);
        return;
      case 'landing-failed':
        this.lists.landingFailures.add(a);
        return;
      case 'unrouted':
        this.lists.unrouted.add(a);
        return;
      case 'gold-run':
        return; // the runs come whole from `setGoldRuns`; the activity is a recent line
    }
  }

  /** The gold runs as the gold bucket lists them (newest first). */
  setGoldRuns(runs: readonly GoldRunPublished[]): void {
    const before = this.goldRuns.map((r) => r.execution).join();
    this.goldRuns = runs.slice(0, KEPT);
    if (this.goldRuns.map((r) => r.execution).join() !== before) this.version++;
  }

  snapshot(live: LiveState = {}, now = Date.now()): DashboardSnapshot {
    return {
      generatedAt: now,
      since: this.since,
      datasets: this.datasetIds().map((id) => this.datasetView(id)),
      queues: live.queues ?? [],
      deadLetters: this.lists.deadLetters.view(),
      landingFailures: this.lists.landingFailures.view(),
      unrouted: this.lists.unrouted.view(),
      gold: {
        runs: this.goldRuns,
        lastPublishedAt: this.goldRuns.reduce<number | null>((t, r) => Math.max(t ?? 0, r.at), null),
        running: live.goldRunning ?? [],
      },
      alarms: live.alarms ? sortAlarms(live.alarms) : null,
      recent: this.recent.map((a) => ({ at: a.at, kind: a.kind, line: activityLine(a) })),
    };
  }

  private file(bronzeKey: string, domain: string, dataset: string): FileState {
    let f = this.files.get(bronzeKey);
    if (!f) {
      f = { domain, dataset, duplicates: 0 };
      this.files.set(bronzeKey, f);
    }
    return f;
  }

  /** The contracts' datasets in their order, then any other dataset files were seen for. */
  private datasetIds(): string[] {
    const ids = this.contracts.map((c) => `${c.domain}/${c.dataset}`);
    for (const f of this.files.values()) {
      const id = `${f.domain}/${f.dataset}`;
      if (!ids.includes(id)) ids.push(id);
    }
    return ids;
  }

  private datasetView(id: string): DatasetView {
    const [domain, dataset] = id.split('/');
    const contract = this.contracts.find((c) => c.domain === domain && c.dataset === dataset);
    const files = [...this.files.values()].filter((f) => f.domain === domain && f.dataset === dataset);
    const rows = { in: 0, out: 0, quarantined: 0, duplicates: 0 };
    const reasons = new Map<string, number>();
    const lags: number[] = [];
    let lastLag: { at: number; ms: number } | undefined;
    let lastSilverAt: number | null = null;
    for (const f of files) {
      const t = f.transform;
      if (!t) continue;
      for (const k of ['in', 'out', 'quarantined', 'duplicates'] as const) rows[k] += t.rows[k];
      for (const [r, n] of Object.entries(t.quarantinedByReason)) reasons.set(r, (reasons.get(r) ?? 0) + n);
      if (t.status === 'ok') lastSilverAt = Math.max(lastSilverAt ?? 0, t.at);
      if (t.lagMs !== undefined) {
        lags.push(t.lagMs);
        if (!lastLag || t.at >= lastLag.at) lastLag = { at: t.at, ms: t.lagMs };
      }
    }
    const landedAt = files.flatMap((f) => (f.landedAt === undefined ? [] : [f.landedAt]));
    return {
      id,
      domain,
      dataset,
      files: {
        landed: files.filter((f) => f.landedAt !== undefined || f.transform).length,
        bytes: files.reduce((sum, f) => sum + (f.bytes ?? 0), 0),
        duplicates: files.reduce((sum, f) => sum + f.duplicates, 0),
        transformed: files.filter((f) => f.transform).length,
        quarantined: files.filter((f) => f.transform?.status === 'quarantined').length,
      },
      rows,
      quarantineRatio: rows.in > 0 ? rows.quarantined / rows.in : null,
      maxQuarantineRatio: contract?.quality.maxQuarantineRatio ?? null,
      topReasons: [...reasons.entries()]
        .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
        .slice(0, TOP_REASONS)
        .map(([reason, n]) => ({ reason, rows: n })),
      lag: lastLag ? { lastMs: lastLag.ms, maxMs: Math.max(...lags), p90Ms: percentile(lags, 0.9) } : null,
      lastLandedAt: landedAt.length > 0 ? Math.max(...landedAt) : null,
      lastSilverAt,
    };
  }
}

/** A count of everything added, and the newest {@link KEPT} entries. */
class Counted<T> {
  private count = 0;
  private readonly newest: T[] = [];

  add(entry: T): void {
    this.count++;
    keepNewest(this.newest, entry);
  }

  view(): Listed<T> {
    return { count: this.count, recent: [...this.newest] };
  }
}

function keepNewest<T>(list: T[], entry: T): void {
  list.unshift(entry);
  if (list.length > KEPT) list.length = KEPT;
}

/** Nearest-rank percentile (what CloudWatch's pNN of few data points amounts to). */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

const STATE_ORDER: Record<AlarmResult['state'], number> = {
  ALARM: 0,
  INSUFFICIENT_DATA: 1,
  OK: 2,
  NOT_EVALUATED: 3,
};

/** Firing alarms first, as CloudWatch's alarm status widget shows them. */
function sortAlarms(alarms: readonly AlarmResult[]): AlarmResult[] {
  return [...alarms].sort(
    (a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || a.alarmName.localeCompare(b.alarmName),
  );
}
