/**
 * What the next current-state merge of a dataset runs: DDL that makes its Iceberg tables match the
 * contract, then MERGE statements over the history that is new since the last merge.
 *
 * Incremental (the usual case): the history files that commits added since the watermark, found in the
 * dataset's commit log (`_commits/<domain>/<dataset>/<time>-<id>.json`, one entry per transformed bronze
 * object, keys in time order). The watermark trails the newest commit consumed by an overlap (default 5
 * minutes): an entry written late (its key names the time just before its PUT) is still found by the next
 * plan. Commits in the overlap are merged twice, which changes nothing: a merge is idempotent (see
 * `current-state-merge.ts`).
 *
 * Rebuild: when the current-state table does not exist (first run, or dropped to rebuild it), or no
 * watermark was ever stored, every history partition is merged, a few partitions per statement, and the
 * watermark then resumes the commit log from the time the rebuild started.
 *
 * The merges are followed by the tables' maintenance (`current-state-maintenance.ts`): OPTIMIZE of the
 * partitions merged, then VACUUM.
 *
 * Each plan is bounded (bronze keys in filters, statements per plan), so its statements stay far below
 * Athena's 256 KiB query limit and Step Functions' 256 KiB payload; a plan that left work says
 * `more: true`, and the workflow plans again once it is merged.
 */
import type { DatasetContract } from '../contracts/dataset-contract';
import { COMMIT_LOG_RETENTION_DAYS, commitLogPrefix, commitLogTimeKey } from '../lake/layout';
import { currentStateMaintenance } from './current-state-maintenance';
import { currentStateMergeStatements, type MergeBatch } from './current-state-merge';

/** One commit log entry: what a transform committed for one bronze object. */
export interface CommitEntry {
  readonly sourceId: string;
  /** The bronze object's key: the history rows' `_bronze_key`. */
  readonly bronzeKey: string;
  /** The history partitions (`dt` values) the commit wrote. */
  readonly partitions: readonly string[];
  readonly rows: number;
  readonly committedAt: string;
}

/** How far a dataset's current state has merged its history. */
export interface Watermark {
  /** Plans list the commit log after this key (exclusive). */
  readonly after: string;
  /** While a rebuild is under way: the last history partition it merged. */
  readonly rebuiltThrough?: string;
  /**
   * The newest commit log key merged so far (or, after a rebuild, the key it resumed from): incremental
   * gold models read the commits up to it, which the current state holds.
   */
  readonly mergedThrough?: string;
  readonly updatedAt: string;
}

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
 * Whether the next plan rebuilds (it then needs the history's partitions instead of the commit log): no
 * table, no watermark, a rebuild under way, or a watermark so old that the log may have expired after it.
 */
export function needsRebuild(
  tableExists: boolean,
  watermark: Watermark | undefined,
  now: Date,
  settings: PlanSettings = DEFAULT_PLAN_SETTINGS,
): boolean {
  if (!tableExists || watermark === undefined || watermark.rebuiltThrough !== undefined) return true;
  return now.getTime() - Date.parse(watermark.updatedAt) > settings.watermarkMaxAgeMs;
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
    const spread = Math.ceil(e.entry.partitions.length / settings.maxPartitionsPerMerge) + 1;
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
      ...batches.flatMap((b) => currentStateMergeStatements(contract, b)),
      ...(taken.length > 0
        ? currentStateMaintenance(contract, partitions, settings.maxPartitionsPerMerge)
        : []),
    ],
    commits: taken.length,
    partitions: partitions.length,
    next: {
      after,
      ...((last ?? input.watermark?.mergedThrough)
        ? { mergedThrough: maxKey(last ?? '', input.watermark?.mergedThrough ?? '') }
        : {}),
      updatedAt: now.toISOString(),
    },
    more,
  };
}

/**
 * A rebuild plan: the next history partitions (after `watermark.rebuiltThrough`), a few per MERGE. When
 * the last is merged, the watermark resumes the commit log at the time the rebuild started (kept in
 * `after` from its first plan on), so commits made during the rebuild are merged too.
 */
export function planRebuild(
  input: PlanInput & {
    readonly historyPartitions: readonly string[];
    /**
     * The newest commit log key when the rebuild started (its history is in the partitions merged):
     * what incremental gold models may consider merged once the rebuild is done.
     */
    readonly newestCommit?: string;
  },
): MergePlan {
  const { contract, now, watermark } = input;
  const settings = input.settings ?? DEFAULT_PLAN_SETTINGS;
  const resumeAfter =
    watermark?.rebuiltThrough !== undefined ? watermark.after : trailingKey(contract, now, settings);
  const through = watermark?.rebuiltThrough;
  const mergedThrough =
    watermark?.rebuiltThrough !== undefined
      ? (watermark.mergedThrough ?? resumeAfter)
      : maxKey(resumeAfter, input.newestCommit ?? resumeAfter);
  const todo = [...input.historyPartitions].sort().filter((p) => through === undefined || p > through);
  const take = todo.slice(0, settings.rebuildPartitionsPerMerge * settings.rebuildMergesPerPlan);
  const statements = [...input.ddl];
  for (let i = 0; i < take.length; i += settings.rebuildPartitionsPerMerge) {
    const partitions = take.slice(i, i + settings.rebuildPartitionsPerMerge);
    statements.push(...currentStateMergeStatements(contract, { kind: 'partitions', partitions }));
  }
  const more = take.length < todo.length;
  if (take.length > 0)
    statements.push(...currentStateMaintenance(contract, take, settings.maxPartitionsPerMerge));
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
          mergedThrough,
          updatedAt: now.toISOString(),
        }
      : { after: resumeAfter, mergedThrough, updatedAt: now.toISOString() },
    more,
  };
}

/** The commit log key `overlapMs` before `now`. */
export function trailingKey(contract: DatasetRef, now: Date, settings: PlanSettings): string {
  return commitLogTimeKey(contract.domain, contract.dataset, new Date(now.getTime() - settings.overlapMs));
}

const minKey = (a: string, b: string) => (a < b ? a : b);
const maxKey = (a: string, b: string) => (a > b ? a : b);
