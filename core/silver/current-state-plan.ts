/**
 * What the next silver merge of a dataset runs: DDL that makes its Iceberg tables match the contract,
 * then, per batch of new arrivals, a MERGE that appends them to the history (`history-append.ts`) and
 * the MERGE statements that fold them into the current state (`current-state-merge.ts`); commits of
 * re-run objects add the statements that take back the versions they retracted
 * (`current-state-retraction.ts`).
 *
 * Incremental (the usual case): the arrival files that commits added since the watermark, found in the
 * dataset's commit log (`_commits/<domain>/<dataset>/<time>-<id>.json`, one entry per transformed bronze
 * object, keys in time order). The watermark trails the newest commit consumed by an overlap (default 5
 * minutes): an entry written late (its key names the time just before its PUT) is still found by the next
 * plan. Commits in the overlap are merged twice, which changes nothing: both merges are idempotent.
 *
 * Rebuild, a few partitions per statement, after which the watermark resumes the commit log from the
 * time the rebuild started:
 * - from the arrivals, when the history table does not exist (first run, or dropped), no watermark was
 *   ever stored, or the watermark is so old that the commit log may have expired after it: every arrival
 *   partition is appended to the history and merged into the current state;
 * - from the history, when only the current state is missing (dropped to rebuild it): every history
 *   partition, which the watermark keeps as runs of values (`partition-runs.ts`).
 *
 * The merges are followed by the tables' maintenance (`silver-maintenance.ts`): OPTIMIZE of the
 * partitions merged, then VACUUM.
 *
 * Each plan is bounded (bronze keys in filters, statements per plan), so its statements stay far below
 * Athena's 256 KiB query limit and Step Functions' 256 KiB payload; a plan that left work says
 * `more: true`, and the workflow plans again once it is merged.
 */
import type { DatasetContract } from '../contracts/dataset-contract';
import { COMMIT_LOG_RETENTION_DAYS, commitLogPrefix, commitLogTimeKey } from '../lake/layout';
import { currentStateMergeStatements, type MergeBatch } from './current-state-merge';
import { currentStateRetractionStatements } from './current-state-retraction';
import { historyAppendStatement } from './history-append';
import { addPartitions, type PartitionRun } from './partition-runs';
import { silverMaintenance } from './silver-maintenance';

/** One commit log entry: what a transform committed for one bronze object. */
export interface CommitEntry {
  readonly sourceId: string;
  /** The bronze object's key: the history rows' `_bronze_key`. */
  readonly bronzeKey: string;
  /** The partitions (`dt` values) the commit wrote, and those a re-run of the object no longer writes. */
  readonly partitions: readonly string[];
  readonly rows: number;
  readonly committedAt: string;
  /**
   * The object had been committed before (a replay): its history rows may have lost versions, which the
   * merge then takes back from the current state (`current-state-retraction.ts`).
   */
  readonly rerun?: boolean;
}

/** How far a dataset's current state has merged its history. */
export interface Watermark {
  /** Plans list the commit log after this key (exclusive). */
  readonly after: string;
  /** While a rebuild is under way: the last partition it merged. */
  readonly rebuiltThrough?: string;
  /** While a rebuild is under way: what it reads (absent: the arrivals). */
  readonly rebuildFrom?: RebuildSource;
  /** Every partition the history holds, as runs of consecutive values (what a rebuild from it reads). */
  readonly historyPartitions?: readonly PartitionRun[];
  /**
   * The newest commit log key merged so far (or, after a rebuild, the key it resumed from): incremental
   * gold models read the commits up to it, which the current state holds.
   */
  readonly mergedThrough?: string;
  readonly updatedAt: string;
}

/** Where a rebuild reads: the arrivals (and appends them to the history), or the history. */
export type RebuildSource = 'arrivals' | 'history';

/** What the workflow runs for one dataset, then hands back to `commit`. */
export interface MergePlan {
  readonly dataset: string;
  readonly mode: 'incremental' | 'rebuild';
  /** Statements to run in order: DDL first, then merges (none when nothing changed). */
  readonly statements: string[];
  /** Commits (incremental) and partitions the merges read. */
  readonly commits: number;
  readonly partitions: number;
  /** The watermark to store once every statement succeeded. */
  readonly next: Watermark;
  /** Whether work was left for another plan (bounded work per plan). */
  readonly more: boolean;
}

export interface PlanSettings {
  /** How far the watermark trails the newest commit consumed. */
  readonly overlapMs: number;
  /** Bytes of bronze keys one plan may put into its statements' filters. */
  readonly maxFilterBytes: number;
  /**
   * History partitions one MERGE reads. Athena writes to at most 100 partitions per query, Iceberg tables
   * included (HIVE_TOO_MANY_OPEN_PARTITIONS): a MERGE writes the partitions of the rows it reads, plus those
   * of current rows whose key moved to another partition, so half the limit leaves room for the moves.
   */
  readonly maxPartitionsPerMerge: number;
  /** Rebuild: history partitions per MERGE, and MERGE batches per plan. */
  readonly rebuildPartitionsPerMerge: number;
  readonly rebuildMergesPerPlan: number;
  /**
   * A watermark older than this is not trusted (commit log entries after it may have expired): the
   * current state is rebuilt from the history.
   */
  readonly watermarkMaxAgeMs: number;
}

export const DEFAULT_PLAN_SETTINGS: PlanSettings = {
  overlapMs: 5 * 60_000,
  maxFilterBytes: 48 * 1024,
  maxPartitionsPerMerge: 50,
  rebuildPartitionsPerMerge: 31,
  rebuildMergesPerPlan: 4,
  // Five days short of the commit log's lifecycle expiration.
  watermarkMaxAgeMs: (COMMIT_LOG_RETENTION_DAYS - 5) * 86_400_000,
};

type DatasetRef = Pick<DatasetContract, 'domain' | 'dataset'>;

/** The StartAfter of the next commit log listing: the watermark, or the start of the log. */
export function listingStart(contract: DatasetRef, watermark?: Watermark): string {
  return watermark?.after ?? commitLogPrefix(contract.domain, contract.dataset);
}

/**
 * Whether the next plan rebuilds, and from what (undefined: incremental). From the arrivals when the
 * history table is missing, no watermark was stored, or the watermark is so old that the commit log may
 * have expired after it; from the history when only the current state is missing and the watermark names
 * the history's partitions; a rebuild under way goes on from where it reads.
 */
export function rebuildSource(
  tables: { readonly history: boolean; readonly current: boolean },
  watermark: Watermark | undefined,
  now: Date,
  settings: PlanSettings = DEFAULT_PLAN_SETTINGS,
): RebuildSource | undefined {
  if (watermark?.rebuiltThrough !== undefined) return watermark.rebuildFrom ?? 'arrivals';
  if (!tables.history || watermark === undefined) return 'arrivals';
  if (now.getTime() - Date.parse(watermark.updatedAt) > settings.watermarkMaxAgeMs) return 'arrivals';
  if (!tables.current) return watermark.historyPartitions ? 'history' : 'arrivals';
  return undefined;
}

interface PlanInput {
  readonly contract: DatasetContract;
  readonly watermark?: Watermark;
  /** DDL that makes the tables match the contract (`currentStateDdl`): runs first. */
  readonly ddl: readonly string[];
  readonly now: Date;
  readonly settings?: PlanSettings;
}

/**
 * An incremental plan from the commit log entries listed after the watermark, in key order (`entries`
 * may be cut by the lister; `listedAll` says whether it reached the end of the log).
 */
export function planIncrementalMerge(
  input: PlanInput & {
    readonly entries: readonly { readonly key: string; readonly entry: CommitEntry }[];
    readonly listedAll: boolean;
  },
): MergePlan {
  const { contract, now } = input;
  const settings = input.settings ?? DEFAULT_PLAN_SETTINGS;
  const start = listingStart(contract, input.watermark);
  const taken: { key: string; entry: CommitEntry }[] = [];
  let bytes = 0;
  for (const e of input.entries) {
    // A commit's key is repeated in each MERGE its partitions spread over.
    // A re-run's key is in the retraction statements too, twice each.
    const spread =
      Math.ceil(e.entry.partitions.length / settings.maxPartitionsPerMerge) + 1 + (e.entry.rerun ? 4 : 0);
    const size = (Buffer.byteLength(e.entry.bronzeKey) + 4) * spread;
    if (taken.length > 0 && bytes + size > settings.maxFilterBytes) break;
    taken.push(e);
    bytes += size;
  }
  const more = taken.length < input.entries.length || !input.listedAll;
  const partitions = [...new Set(taken.flatMap((e) => e.entry.partitions))].sort();
  // One MERGE per group of partitions, each reading the commits that wrote into its partitions.
  const batches: MergeBatch[] = [];
  for (let i = 0; i < partitions.length; i += settings.maxPartitionsPerMerge) {
    const group = partitions.slice(i, i + settings.maxPartitionsPerMerge);
    const inGroup = new Set(group);
    const bronzeKeys = [
      ...new Set(
        taken.filter((e) => e.entry.partitions.some((p) => inGroup.has(p))).map((e) => e.entry.bronzeKey),
      ),
    ].sort();
    batches.push({ kind: 'files', partitions: group, bronzeKeys });
  }
  const last = taken.at(-1)?.key;
  // With more to come the next plan starts right after the last commit taken; otherwise it trails the
  // present by the overlap (but never goes back before where this plan started).
  let after = start;
  if (last !== undefined)
    after = more ? last : maxKey(start, minKey(last, trailingKey(contract, now, settings)));
  return {
    dataset: contract.dataset,
    mode: 'incremental',
    statements: [
      ...input.ddl,
      ...batches.flatMap((b) => [
        historyAppendStatement(contract, b),
        ...currentStateMergeStatements(contract, b),
      ]),
      // After every batch's merge: the versions re-runs retracted from the history are found missing there.
      ...currentStateRetractionStatements(
        contract,
        [...new Set(taken.filter((e) => e.entry.rerun).map((e) => e.entry.bronzeKey))].sort(),
        partitions,
      ),
      ...(taken.length > 0
        ? silverMaintenance(contract, partitions, settings.maxPartitionsPerMerge, { history: true })
        : []),
    ],
    commits: taken.length,
    partitions: partitions.length,
    next: {
      after,
      ...((last ?? input.watermark?.mergedThrough)
        ? { mergedThrough: maxKey(last ?? '', input.watermark?.mergedThrough ?? '') }
        : {}),
      ...historyPartitionsAfter(contract, input.watermark, partitions),
      updatedAt: now.toISOString(),
    },
    more,
  };
}

/** The watermark's `historyPartitions` once `appended` are in the history. */
function historyPartitionsAfter(
  contract: DatasetContract,
  watermark: Watermark | undefined,
  appended: readonly string[],
): { historyPartitions?: PartitionRun[] } {
  const before = watermark?.historyPartitions;
  if (appended.length === 0 && before === undefined) return {};
  return { historyPartitions: addPartitions(before ?? [], appended, contract.partition.granularity) };
}

/**
 * A rebuild plan: the next partitions (after `watermark.rebuiltThrough`) of what it reads, a few per
 * MERGE. From the arrivals, each group is appended to the history, then merged into the current state;
 * from the history, only merged. When the last is merged, the watermark resumes the commit log at the
 * time the rebuild started (kept in `after` from its first plan on), so commits made during the rebuild
 * are merged too.
 */
export function planRebuild(
  input: PlanInput & {
    readonly from: RebuildSource;
    /** The partitions of what the rebuild reads: the arrivals' directories, or the history's runs. */
    readonly partitions: readonly string[];
    /**
     * The newest commit log key when the rebuild started (its arrivals are in the partitions merged):
     * what incremental gold models may consider merged once the rebuild is done.
     */
    readonly newestCommit?: string;
  },
): MergePlan {
  const { contract, now, watermark, from } = input;
  const settings = input.settings ?? DEFAULT_PLAN_SETTINGS;
  const resumeAfter =
    watermark?.rebuiltThrough !== undefined ? watermark.after : trailingKey(contract, now, settings);
  const through = watermark?.rebuiltThrough;
  const mergedThrough =
    watermark?.rebuiltThrough !== undefined
      ? (watermark.mergedThrough ?? resumeAfter)
      : maxKey(resumeAfter, input.newestCommit ?? resumeAfter);
  const todo = [...input.partitions].sort().filter((p) => through === undefined || p > through);
  const take = todo.slice(0, settings.rebuildPartitionsPerMerge * settings.rebuildMergesPerPlan);
  const statements = [...input.ddl];
  for (let i = 0; i < take.length; i += settings.rebuildPartitionsPerMerge) {
    const batch: MergeBatch = {
      kind: 'partitions',
      partitions: take.slice(i, i + settings.rebuildPartitionsPerMerge),
    };
    if (from === 'arrivals') statements.push(historyAppendStatement(contract, batch));
    statements.push(...currentStateMergeStatements(contract, batch));
  }
  const more = take.length < todo.length;
  if (take.length > 0)
    statements.push(
      ...silverMaintenance(contract, take, settings.maxPartitionsPerMerge, {
        history: from === 'arrivals',
      }),
    );
  const history = historyPartitionsAfter(contract, watermark, from === 'arrivals' ? take : []);
  return {
    dataset: contract.dataset,
    mode: 'rebuild',
    statements,
    commits: 0,
    partitions: take.length,
    next: more
      ? {
          after: resumeAfter,
          rebuiltThrough: take.at(-1),
          rebuildFrom: from,
          mergedThrough,
          ...history,
          updatedAt: now.toISOString(),
        }
      : { after: resumeAfter, mergedThrough, ...history, updatedAt: now.toISOString() },
    more,
  };
}

/** The commit log key `overlapMs` before `now`. */
export function trailingKey(contract: DatasetRef, now: Date, settings: PlanSettings): string {
  return commitLogTimeKey(contract.domain, contract.dataset, new Date(now.getTime() - settings.overlapMs));
}

const minKey = (a: string, b: string) => (a < b ? a : b);
const maxKey = (a: string, b: string) => (a > b ? a : b);
