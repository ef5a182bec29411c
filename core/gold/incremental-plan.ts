/**
 * Incremental gold models: what a run recomputes and how it publishes, as pure functions (the gold
 * planner Lambda, `lambdas/gold-planner/`, is their S3 side).
 *
 * An incremental model's table is partitioned by its date column; each partition is registered in Glue at
 * its own location, `<model>/v=<execution>/<batch>/<column>=<date>/`. A run:
 *   plan     decides the mode: `full` (asked for, first run, a previous run stopped while publishing,
 *            model changed, state older than the commit log keeps, or a change in a source the date does
 *            not follow), `incremental` (the dates whose inputs changed: every `dt` partition the aligned
 *            sources' commits wrote since the last run, widened by the lookback) or `unchanged`; and
 *            writes the UNLOAD statements, each writing at most 100 partitions (Athena's limit for a
 *            partitioned write, HIVE_TOO_MANY_OPEN_PARTITIONS);
 *   write    the workflow runs them, one after the other;
 *   publish  the partitions written are registered (created, then updated: each switch is one partition's
 *            location, atomic for its readers), and recomputed dates that produced no row are deleted,
 *            in batches of Glue's limits (100 created or updated, 25 deleted per call);
 *   commit   the model's state (`<model>/_incremental.json`) records the partitions' locations and how far
 *            the sources' commit logs were consumed.
 *
 * A run that stops between its first Glue call and its commit (a failed batch, a timeout) leaves some dates
 * pointing at its version while the state still describes the previous run: an incremental run next would
 * not rewrite them, and retention would delete the version they read. So before its first Glue call (batch
 * 0), `publish` records the run in the state as `pending` (its version and the dates it publishes; the rest
 * of the state unchanged); `commit` stores the next state without it. A plan that finds another run pending
 * rebuilds fully (every date rewritten, and the pending run's dates that have no row now deleted), and
 * retention keeps a pending run's version until a commit clears the mark.
 *
 * The lookback is the model's promise: a gold date lies at most N days from the `dt` of any aligned
 * source row it is computed from. A change in source partition D recomputes the gold dates D-N..D+N,
 * which read the source partitions D-2N..D+2N.
 */
import { createHash } from 'node:crypto';
import { sqlIdent, sqlString } from '../sql/quote';
import { LINEAGE_PARAMETERS } from './lineage';
import { type IncrementalModel, WINDOW_MARKER } from './models';
import { redshiftRebuildPartitionedStatements, redshiftReplaceDatesStatements } from './redshift-sql';
import { partitionedUnloadStatement } from './unload';

/**
 * The engine a plan's writes are for: Athena (partitioned UNLOADs of at most 100 dates each), or Redshift
 * (one transaction per run: the model's table in the gold schema changes, and the dates it wrote are
 * unloaded under the version, see `redshift-sql.ts`).
 */
export type PlanDialect =
  | { readonly engine: 'athena' }
  | { readonly engine: 'redshift'; readonly schema?: string; readonly kmsKeyId?: string };

/** One write: an Athena statement, or the statements of one Redshift transaction (BatchExecuteStatement). */
export type PlanStatement = string | string[];

const ATHENA: PlanDialect = { engine: 'athena' };

/** Athena writes at most 100 partitions per query (CTAS, INSERT INTO, UNLOAD ... partitioned_by). */
export const MAX_PARTITIONS_PER_WRITE = 100;
/** Glue's batch limits: BatchCreatePartition and BatchUpdatePartition take 100, BatchDeletePartition 25. */
export const MAX_PARTITIONS_PER_UPSERT = 100;
export const MAX_PARTITIONS_PER_DELETE = 25;
/** A state older than this is not trusted: the commit log entries after it may have expired (30 days). */
export const INCREMENTAL_STATE_MAX_AGE_DAYS = 25;

/** The Hive Parquet formats of every gold table and partition (Athena's UNLOAD writes Parquet). */
export const PARQUET_STORAGE = {
  InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  SerdeInfo: {
    SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    Parameters: { 'serialization.format': '1' },
  },
} as const;

/** What the workflow passes the planner about a model (static, from the model file). */
export interface IncrementalModelSpec extends IncrementalModel {
  readonly name: string;
  /** The model's SQL with every ref rendered plainly. */
  readonly sql: string;
}

/**
 * `<model>/_incremental.json`: what the last successful run of an incremental model left, and the runs that
 * began publishing since without committing (`pending`). A first run that stopped leaves a state with no
 * sources nor partitions, only its pending mark.
 */
export interface IncrementalState {
  /** {@link modelHash} of the model that wrote the partitions: another model rebuilds fully. */
  readonly modelHash: string;
  /** Per source dataset: how far its commit log was consumed. */
  readonly sources: Readonly<Record<string, SourcePosition>>;
  /** Each published date and its location. */
  readonly partitions: Readonly<Record<string, string>>;
  readonly updatedAt: string;
  /** Runs that began publishing and did not commit (see the module comment); absent after a commit. */
  readonly pending?: PendingPublication;
}

/** What runs that stopped while publishing may have left registered. */
export interface PendingPublication {
  /** Their version locations (`s3://<gold>/<model>/v=<run>/`): retention keeps them. */
  readonly locations: readonly string[];
  /** The dates they were publishing (created, switched or deleted). */
  readonly dates: readonly string[];
}

/**
 * How far a model consumed a source's commit log: through `through` (the newest commit the current state
 * had merged). The next run lists again from `after` (the current state's trailing watermark), so a commit
 * whose entry appeared in the log late is still found; `seen` lists the entries after `after` already
 * consumed, which the next run skips.
 */
export interface SourcePosition {
  readonly after: string;
  readonly through: string;
  readonly seen?: readonly string[];
}

export type PlanMode = 'full' | 'incremental' | 'unchanged';

/** What one run of an incremental model does (returned to the workflow). */
export interface IncrementalPlan {
  readonly model: string;
  readonly mode: PlanMode;
  /** Why this mode, for the run's log and report. */
  readonly reason: string;
  /**
   * The writes, in order, each under its own prefix `<location><i>/`. Athena: UNLOAD statements, each
   * writing at most 100 partitions. Redshift: one transaction (an array of statements).
   */
  readonly statements: PlanStatement[];
  /** Incremental: the gold dates recomputed (a date with no row afterwards is deleted). Full: []. */
  readonly dates: string[];
  /** Per source dataset, how far this run consumes its commit log (stored by `commit`). */
  readonly sources: Record<string, SourcePosition>;
}

/** A Glue PartitionInput. */
export interface PartitionInput {
  readonly Values: string[];
  readonly StorageDescriptor: Record<string, unknown>;
  /** Lineage: the run that built the partition (`medallion.run`, core/gold/lineage.ts). */
  readonly Parameters?: Record<string, string>;
}

/** One round of the publication: Glue calls within their limits. */
export interface PublishBatch {
  readonly create: PartitionInput[];
  readonly update: { PartitionValueList: string[]; PartitionInput: PartitionInput }[];
  readonly delete: { Values: string[] }[];
}

/** Identifies the model's definition: a change in SQL, columns or lookback rebuilds it fully. */
export function modelHash(spec: IncrementalModelSpec): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify([
      spec.sql,
      spec.windowSql,
      spec.column,
      spec.lookbackDays,
      spec.columns,
      spec.outputColumns,
    ]),
  );
  return h.digest('hex').slice(0, 16);
}

/** `2026-01-05` shifted by `days`. */
export function addDays(isoDay: string, days: number): string {
  const t = Date.parse(`${isoDay}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(isoDay) || Number.isNaN(t)) throw new RangeError(`not a day: '${isoDay}'`);
  return new Date(t + days * 86_400_000).toISOString().slice(0, 10);
}

/** Every day within `days` of one of `centers`, sorted. */
export function widen(centers: Iterable<string>, days: number): string[] {
  const out = new Set<string>();
  for (const c of centers) for (let d = -days; d <= days; d++) out.add(addDays(c, d));
  return [...out].sort();
}

/** Decides the mode before anything is listed: `undefined` means incremental (or unchanged). */
export function fullRefreshReason(p: {
  readonly fullRefresh: boolean;
  readonly state: IncrementalState | undefined;
  readonly hash: string;
  readonly now: Date;
  /** This run's version location: only another run's pending mark says a run stopped while publishing. */
  readonly location: string;
}): string | undefined {
  if (p.fullRefresh) return 'full refresh requested';
  const stopped = (p.state?.pending?.locations ?? []).filter((l) => l !== p.location);
  if (stopped.length > 0) return `a previous run stopped while publishing (${stopped.join(', ')})`;
  // A state holding only a pending mark (a first run that stopped) has no committed run behind it.
  if (!p.state || Object.keys(p.state.sources).length === 0) return 'first run';
  if (p.state.modelHash !== p.hash) return 'the model changed';
  const ageDays = (p.now.getTime() - Date.parse(p.state.updatedAt)) / 86_400_000;
  if (!(ageDays <= INCREMENTAL_STATE_MAX_AGE_DAYS)) {
    return `last run ${Math.floor(ageDays)} days ago: the commit log may have expired`;
  }
  return undefined;
}

/**
 * The incremental plan: the gold dates within the lookback of the `dt` partitions the aligned sources'
 * commits wrote (`changedPartitions`), batched by 100.
 */
export function planIncremental(p: {
  readonly spec: IncrementalModelSpec;
  readonly location: string;
  readonly changedPartitions: readonly string[];
  readonly sources: Record<string, SourcePosition>;
  /** @default Athena */
  readonly dialect?: PlanDialect;
}): IncrementalPlan {
  const dates = widen(p.changedPartitions, p.spec.lookbackDays);
  if (dates.length === 0) {
    return {
      model: p.spec.name,
      mode: 'unchanged',
      reason: 'no source partition changed',
      statements: [],
      dates: [],
      sources: p.sources,
    };
  }
  const dialect = p.dialect ?? ATHENA;
  const statements: PlanStatement[] =
    dialect.engine === 'redshift'
      ? [
          redshiftReplaceDatesStatements({
            ...dialect,
            model: p.spec.name,
            column: p.spec.column,
            columns: p.spec.outputColumns,
            dates,
            select: windowSelect(p.spec, widen(dates, p.spec.lookbackDays), datesIn(p.spec.column, dates)),
            location: `${p.location}0/`,
          }),
        ]
      : incrementalUnloads(p.spec, p.location, dates);
  return {
    model: p.spec.name,
    mode: 'incremental',
    reason: `${p.changedPartitions.length} source partition(s) changed`,
    statements,
    dates,
    sources: p.sources,
  };
}

/** Athena's incremental writes: one partitioned UNLOAD per 100 dates. */
function incrementalUnloads(
  spec: IncrementalModelSpec,
  location: string,
  dates: readonly string[],
): string[] {
  return chunk(dates, MAX_PARTITIONS_PER_WRITE).map((batch, i) =>
    partitionedUnloadStatement(
      windowSelect(spec, widen(batch, spec.lookbackDays), datesIn(spec.column, batch)),
      `${location}${i}/`,
      [spec.column],
    ),
  );
}

/** `"<column>" IN (DATE '...', ...)`. */
function datesIn(column: string, dates: readonly string[]): string {
  return `${sqlIdent(column)} IN (${dates.map(dateLiteral).join(', ')})`;
}

/**
 * The full plan: every gold date, in batches that each cover a range of dates holding at most 100 of the
 * candidates (the aligned sources' `dt` partitions widened by the lookback). The first and last ranges are
 * open, so no row is left out; a model that breaks its lookback promise there fails on the 100-partition
 * limit instead of losing rows.
 */
export function planFull(p: {
  readonly spec: IncrementalModelSpec;
  readonly location: string;
  readonly sourcePartitions: readonly string[];
  readonly sources: Record<string, SourcePosition>;
  readonly reason: string;
  /** @default Athena */
  readonly dialect?: PlanDialect;
}): IncrementalPlan {
  const { spec } = p;
  const dialect = p.dialect ?? ATHENA;
  if (dialect.engine === 'redshift') {
    // One transaction rebuilds the table from all of its sources (Redshift has no partition limit).
    const select = [
      `SELECT ${spec.outputColumns.map(sqlIdent).join(', ')}`,
      'FROM (',
      spec.sql.trim().replace(/;+\s*$/, ''),
      ') AS "incremental_model"',
      `WHERE ${sqlIdent(spec.column)} IS NOT NULL`,
    ].join('\n');
    const statements = [
      redshiftRebuildPartitionedStatements({
        ...dialect,
        model: spec.name,
        column: spec.column,
        columns: spec.outputColumns,
        select,
        location: `${p.location}0/`,
      }),
    ];
    return { model: spec.name, mode: 'full', reason: p.reason, statements, dates: [], sources: p.sources };
  }
  const lookback = spec.lookbackDays;
  const partitions = [...new Set(p.sourcePartitions)].sort();
  const candidates = widen(partitions, lookback);
  const batches = chunk(candidates, MAX_PARTITIONS_PER_WRITE);
  const column = sqlIdent(spec.column);
  const statements = batches.map((batch, i) => {
    const low = i === 0 ? undefined : batches[i - 1].at(-1);
    const high = i === batches.length - 1 ? undefined : batch.at(-1);
    const conditions = [`${column} IS NOT NULL`];
    if (low) conditions.push(`${column} > ${dateLiteral(low)}`);
    if (high) conditions.push(`${column} <= ${dateLiteral(high)}`);
    // The source partitions a gold date in (low, high] may read: within the lookback of the range.
    const window = partitions.filter(
      (d) => (!low || d > addDays(low, -lookback)) && (!high || d <= addDays(high, lookback)),
    );
    return partitionedUnloadStatement(
      windowSelect(spec, window, conditions.join(' AND ')),
      `${p.location}${i}/`,
      [spec.column],
    );
  });
  return { model: spec.name, mode: 'full', reason: p.reason, statements, dates: [], sources: p.sources };
}

/** The model's SELECT over the window `dt` values, its columns in write order, filtered by `where`. */
function windowSelect(spec: IncrementalModelSpec, window: readonly string[], where: string): string {
  // Never empty: every batch's dates lie within the lookback of a source partition it lists.
  const list = window.map(sqlString).join(', ');
  const sql = spec.windowSql
    .split(WINDOW_MARKER)
    .join(list)
    .trim()
    .replace(/;+\s*$/, '');
  return [
    `SELECT ${spec.outputColumns.map(sqlIdent).join(', ')}`,
    'FROM (',
    sql,
    ') AS "incremental_model"',
    `WHERE ${where}`,
  ].join('\n');
}

function dateLiteral(isoDay: string): string {
  return `DATE ${sqlString(isoDay)}`;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The date partitions a run wrote, from the prefixes listed under its version (`<version>/<batch>/
 * <column>=<date>/`): date -> location. Athena writes no prefix for a date without rows.
 */
export function writtenPartitions(
  versionLocation: string,
  column: string,
  prefixes: readonly string[],
): Map<string, string> {
  const written = new Map<string, string>();
  const pattern = new RegExp(`^(\\d+)/${column}=(\\d{4}-\\d{2}-\\d{2})/$`);
  for (const prefix of prefixes) {
    const m = pattern.exec(prefix);
    if (!m) continue;
    if (written.has(m[2])) throw new Error(`partition ${column}=${m[2]} was written by two statements`);
    written.set(m[2], `${versionLocation}${prefix}`);
  }
  return written;
}

/**
 * The publication of a plan, given what was written: every written date created and updated (an existing
 * partition refuses the create and takes the update: its location switches at once), and the dates this
 * run was responsible for that now have no row deleted (incremental: its dates; full: every date).
 */
export function publishBatches(p: {
  readonly spec: IncrementalModelSpec;
  readonly plan: Pick<IncrementalPlan, 'mode' | 'dates'>;
  readonly state: IncrementalState | undefined;
  readonly written: ReadonlyMap<string, string>;
}): PublishBatch[] {
  if (p.plan.mode === 'unchanged') return [];
  const input = (date: string, location: string): PartitionInput => {
    const run = runOfLocation(location);
    return {
      Values: [date],
      StorageDescriptor: {
        ...PARQUET_STORAGE,
        Location: location,
        Columns: p.spec.columns.map((c) => ({ ...c })),
      },
      // Each day of an incremental table was built by some run: its partition says which.
      ...(run === undefined ? {} : { Parameters: { [LINEAGE_PARAMETERS.run]: run } }),
    };
  };
  const upserts = [...p.written.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([d, l]) => input(d, l));
  // A full run owns every date: those the state publishes and those a stopped run may have registered.
  const pendingDates = p.state?.pending?.dates ?? [];
  const owned =
    p.plan.mode === 'full'
      ? [...new Set([...Object.keys(p.state?.partitions ?? {}), ...pendingDates])]
      : p.plan.dates;
  const published = new Set([...Object.keys(p.state?.partitions ?? {}), ...pendingDates]);
  const deletes = owned.filter((d) => published.has(d) && !p.written.has(d)).sort();
  const batches: PublishBatch[] = chunk(upserts, MAX_PARTITIONS_PER_UPSERT).map((batch) => ({
    create: batch,
    update: batch.map((b) => ({ PartitionValueList: b.Values, PartitionInput: b })),
    delete: [],
  }));
  for (const batch of chunk(deletes, MAX_PARTITIONS_PER_DELETE)) {
    batches.push({ create: [], update: [], delete: batch.map((d) => ({ Values: [d] })) });
  }
  return batches;
}

/**
 * The state to store before the first Glue call of a run publishing `batches` from `location`: `state`
 * with the run added to its pending publication (a state with no run yet: only the pending publication).
 * Undefined when the state already records it (a retried publish).
 */
export function withPending(p: {
  readonly state: IncrementalState | undefined;
  readonly location: string;
  readonly batches: readonly PublishBatch[];
  readonly now: Date;
}): IncrementalState | undefined {
  const dates = p.batches.flatMap((b) => [
    ...b.create.map((c) => c.Values[0]),
    ...b.delete.map((d) => d.Values[0]),
  ]);
  const pending = p.state?.pending;
  if (pending?.locations.includes(p.location) && dates.every((d) => pending.dates.includes(d)))
    return undefined;
  return {
    ...(p.state ?? { modelHash: '', sources: {}, partitions: {}, updatedAt: p.now.toISOString() }),
    pending: {
      locations: [...new Set([...(pending?.locations ?? []), p.location])].sort(),
      dates: [...new Set([...(pending?.dates ?? []), ...dates])].sort(),
    },
  };
}

/** The state once a plan's publication succeeded (no pending publication left). */
export function nextState(p: {
  readonly spec: IncrementalModelSpec;
  readonly plan: Pick<IncrementalPlan, 'mode' | 'dates' | 'sources'>;
  readonly state: IncrementalState | undefined;
  readonly written: ReadonlyMap<string, string>;
  readonly now: Date;
}): IncrementalState {
  const partitions: Record<string, string> = p.plan.mode === 'full' ? {} : { ...(p.state?.partitions ?? {}) };
  if (p.plan.mode === 'incremental') for (const d of p.plan.dates) delete partitions[d];
  for (const [d, l] of p.written) partitions[d] = l;
  return {
    modelHash: modelHash(p.spec),
    sources: { ...(p.state?.sources ?? {}), ...p.plan.sources },
    partitions: Object.fromEntries(Object.entries(partitions).sort(([a], [b]) => (a < b ? -1 : 1))),
    updatedAt: p.now.toISOString(),
  };
}

/**
 * The versions (`v=<version>`) a state's partitions read, and those of its pending runs (some dates may
 * read them until a later run's commit): retention must keep them.
 */
export function referencedVersions(state: IncrementalState | undefined): Set<string> {
  const versions = new Set<string>();
  for (const location of [...Object.values(state?.partitions ?? {}), ...(state?.pending?.locations ?? [])]) {
    const m = /\/v=([^/]+)\//.exec(location);
    if (m) versions.add(m[1]);
  }
  return versions;
}

/** The run a version location was written by: `<run>` of `s3://<gold>/<model>/v=<run>/...`. */
export function runOfLocation(location: string): string | undefined {
  return /\/v=([^/]+)\//.exec(location)?.[1];
}
