/**
 * Iceberg tables, locally: what Athena's `MERGE INTO` does to an Iceberg table's files, emulated in a
 * format of our own. This is NOT Iceberg's metadata (no manifest lists, no Avro manifests, no column
 * statistics): only what the local Athena needs to read a table's current snapshot and to commit a new one
 * copy-on-write, with the same guarantees (a snapshot is immutable, a commit is an atomic swap of the
 * catalog's `metadata_location`).
 *
 * A snapshot is a JSON object at `<location>/metadata/<5-digit sequence>-<uuid>.metadata.json` (the
 * location with or without its trailing '/': {@link tableRoot}):
 *
 *   { "format": "medallion-local-iceberg", "sequence": 3, "parent": "<previous metadata location>" | null,
 *     "committedAt": "<ISO time>", "partitionColumns": ["dt"],
 *     "files": [{ "path": "s3://.../data/dt=2026-01-01/<uuid>.parquet", "partition": { "dt": "2026-01-01" },
 *                 "rows": 10, "bytes": 1234, "etag": "\"...\"" }] }
 *
 * The table's rows are those of its listed files (never a listing of the location: files of older
 * snapshots and of failed commits stay there, unread). Data files are Parquet (zstd) holding every column,
 * partition columns included, at `<location>/data/<col>=<value>/.../<uuid>.parquet`: one file per partition
 * per rewrite (a MERGE's; OPTIMIZE, in `iceberg-maintenance.ts`, bin-packs a partition's files into a new
 * snapshot of its own). Partition values are kept as text (NULL as null; `__HIVE_DEFAULT_PARTITION__` in paths).
 * The table's schema is the catalog's columns: a file written before an `ALTER TABLE ... ADD COLUMNS`
 * lacks the new columns, and readers give NULL for them.
 *
 * {@link writeSnapshot} writes copy-on-write: only the partitions whose rows changed (compared by
 * {@link partitionStates}: row count and an order-independent sum of row hashes) get a new file; the
 * others keep their files by reference; a partition left with no row is dropped from the list.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection } from '@duckdb/node-api';
import { AthenaSqlError } from '../../core/errors';
import { sqlIdent, sqlString } from '../../core/sql/quote';
import { putJson } from '../../lambdas/aws/s3';
import { parseS3Uri } from './glue-catalog';

/** Athena's limit on the partitions one query writes (CTAS, INSERT, MERGE; Hive and Iceberg tables alike). */
export const MAX_PARTITIONS_WRITTEN = 100;

/** The `format` of a local snapshot file. */
export const LOCAL_ICEBERG_FORMAT = 'medallion-local-iceberg';

/** The directory name of a NULL partition value (Hive's, which Athena's Iceberg writer uses too). */
const NULL_PARTITION = '__HIVE_DEFAULT_PARTITION__';

/** One data file of a snapshot. */
export interface IcebergDataFile {
  readonly path: string;
  /** The file's partition values, as text (null for NULL), by partition column. */
  readonly partition: Readonly<Record<string, string | null>>;
  readonly rows: number;
  readonly bytes: number;
  /** The ETag S3 gave the file when it was written: the object cache then need not fetch it again. */
  readonly etag?: string;
}

/** A table's snapshot: the content of a metadata file (see the module comment). */
export interface IcebergSnapshot {
  readonly format: typeof LOCAL_ICEBERG_FORMAT;
  readonly sequence: number;
  readonly parent: string | null;
  readonly committedAt: string;
  readonly partitionColumns: string[];
  readonly files: IcebergDataFile[];
}

/** The snapshot at `metadataLocation` (an s3:// URI), read from S3; refuses a file of another format. */
export async function readSnapshot(s3: S3Client, metadataLocation: string): Promise<IcebergSnapshot> {
  const { bucket, prefix: key } = parseS3Uri(metadataLocation);
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const snapshot = JSON.parse((await out.Body?.transformToString('utf8')) ?? '') as IcebergSnapshot;
  if (snapshot?.format !== LOCAL_ICEBERG_FORMAT || !Array.isArray(snapshot.files)) {
    throw new Error(
      `ICEBERG_INVALID_METADATA: ${metadataLocation} is not a local Iceberg snapshot (format '${LOCAL_ICEBERG_FORMAT}')`,
    );
  }
  return snapshot;
}

/** The rows of one partition of a table: their count and an order-independent hash of their values. */
export interface PartitionState {
  /** The partition values as text (null for NULL), in partition column order. */
  readonly values: (string | null)[];
  readonly rows: number;
  readonly hash: string;
}

/**
 * Every non-empty partition of the DuckDB table `table` (an SQL name), by {@link partitionKey}: rows and
 * the sum of the rows' hashes (equal sums and counts: the same rows, whatever their order).
 */
export async function partitionStates(
  c: DuckDBConnection,
  table: string,
  partitionColumns: readonly string[],
): Promise<Map<string, PartitionState>> {
  const described = await c.runAndReadAll(`DESCRIBE ${table}`);
  const columns = described.getRowObjectsJson().map((r) => sqlIdent(String(r.column_name)));
  const keys = partitionColumns.map((p, i) => `CAST(${sqlIdent(p)} AS VARCHAR) AS p${i}`);
  const groupBy = keys.length > 0 ? ` GROUP BY ${keys.map((_, i) => i + 1).join(', ')}` : '';
  const reader = await c.runAndReadAll(
    `SELECT ${[...keys, 'count(*) AS n', `CAST(sum(hash(${columns.join(', ')})) AS VARCHAR) AS h`].join(', ')} FROM ${table}${groupBy}`,
  );
  const states = new Map<string, PartitionState>();
  for (const row of reader.getRowObjectsJson()) {
    const rows = Number(row.n);
    if (rows === 0) continue; // an unpartitioned empty table still answers one row
    const values = partitionColumns.map((_, i) => (row[`p${i}`] === null ? null : String(row[`p${i}`])));
    states.set(partitionKey(values), { values, rows, hash: String(row.h) });
  }
  return states;
}

/** The key of a partition's values (the same for a data file's partition and a {@link PartitionState}). */
export function partitionKey(values: readonly (string | null)[]): string {
  return JSON.stringify(values);
}

/** What {@link writeSnapshot} wrote: a snapshot not committed yet. */
export interface WrittenSnapshot {
  readonly metadataLocation: string;
  readonly snapshot: IcebergSnapshot;
  /** The data files written for the changed partitions. */
  readonly written: IcebergDataFile[];
  /** The data files of unchanged partitions, kept from the previous snapshot. */
  readonly kept: IcebergDataFile[];
  /** How many partitions the previous snapshot had and this one has not (no row left). */
  readonly removedPartitions: number;
}

export interface WriteSnapshotOptions {
  readonly s3: S3Client;
  /** Holds the table's new content. */
  readonly connection: DuckDBConnection;
  /** The DuckDB table (an SQL name) holding the new content. */
  readonly table: string;
  /** The table's location, `s3://bucket/prefix` with or without a trailing '/' (see {@link tableRoot}). */
  readonly location: string;
  readonly partitionColumns: readonly string[];
  /** The snapshot the new content was derived from, and its metadata location (none: the table had none). */
  readonly previous?: { readonly metadataLocation: string; readonly snapshot: IcebergSnapshot };
  /** {@link partitionStates} of the previous content. */
  readonly before: ReadonlyMap<string, PartitionState>;
  /** A scratch directory for the files before their upload. */
  readonly workDir: string;
  /**
   * Whether the DuckDB table was loaded with a partition's rows (its values by partition column); absent:
   * with every partition's. The files of a partition not loaded are kept, and rows the statement put in such
   * a partition go to a new file beside them (an append, as Athena writes it).
   */
  readonly loaded?: (partition: Readonly<Record<string, string | null>>) => boolean;
}

/**
 * Writes the snapshot of the table's new content copy-on-write (see the module comment) and its metadata
 * file; undefined, with nothing written, when no partition changed. The caller commits it (or, when the
 * commit fails, deletes it with {@link deleteSnapshotFiles}).
 */
export async function writeSnapshot(options: WriteSnapshotOptions): Promise<WrittenSnapshot | undefined> {
  const { s3, connection: c, table, partitionColumns, before } = options;
  const location = tableRoot(options.location);
  const after = await partitionStates(c, table, partitionColumns);
  const changed = [...after].filter(([key, state]) => {
    const was = before.get(key);
    return was === undefined || was.rows !== state.rows || was.hash !== state.hash;
  });
  const removedPartitions = [...before.keys()].filter((key) => !after.has(key)).length;
  if (changed.length === 0 && removedPartitions === 0) return undefined;
  // Athena writes (data or delete files) to at most 100 partitions per query, Iceberg tables included: a
  // statement that passes here must pass there.
  if (partitionColumns.length > 0 && changed.length + removedPartitions > MAX_PARTITIONS_WRITTEN) {
    throw new AthenaSqlError(
      `HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of ${MAX_PARTITIONS_WRITTEN} open writers for partitions/buckets ` +
        `(${changed.length + removedPartitions} partitions of ${table} changed by one statement)`,
    );
  }
  const changedKeys = new Set(changed.map(([key]) => key));
  const loaded = options.loaded ?? (() => true);
  const kept = (options.previous?.snapshot.files ?? []).filter((f) => {
    const key = partitionKey(partitionColumns.map((p) => f.partition[p] ?? null));
    return !loaded(f.partition) || (after.has(key) && !changedKeys.has(key));
  });
  const { bucket } = parseS3Uri(location);
  const written: IcebergDataFile[] = [];
  const dir = mkdtempSync(join(options.workDir, 'iceberg-'));
  try {
    for (const [, state] of changed) {
      const file = join(dir, `${randomUUID()}.parquet`);
      const where = partitionColumns.map(
        (p, i) =>
          `CAST(${sqlIdent(p)} AS VARCHAR) IS NOT DISTINCT FROM ${state.values[i] === null ? 'NULL' : sqlString(state.values[i] as string)}`,
      );
      await c.run(
        `COPY (SELECT * FROM ${table}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ALL) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      const path = dataFilePath(location, partitionColumns, state.values);
      const put = await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: parseS3Uri(path).prefix, Body: readFileSync(file) }),
      );
      written.push({
        path,
        partition: Object.fromEntries(partitionColumns.map((p, i) => [p, state.values[i]])),
        rows: state.rows,
        bytes: statSync(file).size,
        ...(put.ETag ? { etag: put.ETag } : {}),
      });
      rmSync(file, { force: true });
    }
    const { metadataLocation, snapshot } = await writeSnapshotMetadata(s3, {
      location,
      partitionColumns,
      previous: options.previous,
      files: [...kept, ...written],
    });
    return { metadataLocation, snapshot, written, kept, removedPartitions };
  } catch (e) {
    await deleteObjects(
      s3,
      written.map((f) => f.path),
    );
    throw e;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Writes the metadata file of the snapshot that follows `previous` (none: the table's first) and lists
 * `files` (sorted by path): the next sequence number, `previous` as its parent. The caller commits it.
 */
export async function writeSnapshotMetadata(
  s3: S3Client,
  next: {
    /** The table's location (see {@link tableRoot}). */
    readonly location: string;
    readonly partitionColumns: readonly string[];
    readonly previous?: { readonly metadataLocation: string; readonly snapshot: IcebergSnapshot };
    readonly files: readonly IcebergDataFile[];
  },
): Promise<{ metadataLocation: string; snapshot: IcebergSnapshot }> {
  const sequence = (next.previous?.snapshot.sequence ?? 0) + 1;
  const snapshot: IcebergSnapshot = {
    format: LOCAL_ICEBERG_FORMAT,
    sequence,
    parent: next.previous?.metadataLocation ?? null,
    committedAt: new Date().toISOString(),
    partitionColumns: [...next.partitionColumns],
    files: [...next.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
  const metadataLocation = `${tableRoot(next.location)}metadata/${String(sequence).padStart(5, '0')}-${randomUUID()}.metadata.json`;
  const { bucket, prefix: key } = parseS3Uri(metadataLocation);
  await putJson(s3, bucket, key, snapshot);
  return { metadataLocation, snapshot };
}

/**
 * Runs a MERGE statement over the DuckDB table that holds the target's previous snapshot (named in it as
 * `options.table`), then writes the new snapshot ({@link writeSnapshot}). DuckDB reports the rows the
 * statement inserted, updated or deleted.
 */
export async function mergeIntoSnapshot(
  sql: string,
  options: Omit<WriteSnapshotOptions, 'before'>,
): Promise<{ rowsAffected: number; written: WrittenSnapshot | undefined }> {
  const before = await partitionStates(options.connection, options.table, options.partitionColumns);
  const merged = await options.connection.runAndReadAll(sql);
  const rowsAffected = Number(merged.getRowsJS()[0]?.[0] ?? 0);
  return { rowsAffected, written: await writeSnapshot({ ...options, before }) };
}

/** Deletes what {@link writeSnapshot} wrote (a snapshot whose commit failed): its data and metadata files. */
export async function deleteSnapshotFiles(s3: S3Client, written: WrittenSnapshot): Promise<void> {
  await deleteObjects(s3, [...written.written.map((f) => f.path), written.metadataLocation]);
}

/**
 * A table location with one trailing '/', under which its `data/` and `metadata/` keys go: Athena DDL gives
 * `s3://bucket/prefix` (no '/'), a CloudFormation template may give `s3://bucket/prefix/`; both are the same
 * table root.
 */
export function tableRoot(location: string): string {
  return `${location.replace(/\/+$/, '')}/`;
}

/** A new data file's path: `<location>/data/<col>=<value>/.../<uuid>.parquet`. */
export function dataFilePath(
  location: string,
  partitionColumns: readonly string[],
  values: readonly (string | null)[],
): string {
  return `${tableRoot(location)}data/${partitionPath(partitionColumns, values)}${randomUUID()}.parquet`;
}

/** `<col>=<value>/...` of a partition (values escaped like a URI component); '' when unpartitioned. */
function partitionPath(columns: readonly string[], values: readonly (string | null)[]): string {
  return columns
    .map((col, i) => {
      const value = values[i];
      return `${encodeURIComponent(col)}=${value === null ? NULL_PARTITION : encodeURIComponent(value)}/`;
    })
    .join('');
}

/** Deletes objects by s3:// URI (deleting a missing object succeeds, as on S3). */
export async function deleteObjects(s3: S3Client, uris: readonly string[]): Promise<void> {
  for (const uri of uris) {
    const { bucket, prefix: key } = parseS3Uri(uri);
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }
}

/** The start of a MERGE statement (after comments and whitespace), up to its target. */
const MERGE_START = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*MERGE\s+INTO\s+/i;
const IDENTIFIER = `(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)`;
/** `<name>` or `<name>.<name>`; a third part (a catalog) is caught to be refused. */
const MERGE_TARGET = new RegExp(`^(${IDENTIFIER})(?:\\s*\\.\\s*(${IDENTIFIER}))?(\\s*\\.)?`);

/** Whether `sql` is a MERGE INTO statement. */
export function isMergeStatement(sql: string): boolean {
  return MERGE_START.test(sql);
}

/**
 * The target of a MERGE statement (`MERGE INTO <table>` or `<database>.<table>`, names quoted or not,
 * lowercased as the Glue catalog holds them), its database defaulting to the query's.
 */
export function mergeTarget(sql: string, database: string | undefined): { database: string; table: string } {
  const start = MERGE_START.exec(sql);
  const m = start && MERGE_TARGET.exec(sql.slice(start[0].length));
  if (!m) throw new AthenaSqlError('MERGE INTO: cannot read the name of the target table');
  if (m[3]) {
    throw new AthenaSqlError(
      'MERGE INTO: name the target as <database>.<table> locally (a catalog name is not supported)',
    );
  }
  const unquote = (id: string) =>
    id.startsWith('"') ? id.slice(1, -1).replace(/""/g, '"').toLowerCase() : id.toLowerCase();
  const [db, table] = m[2] ? [unquote(m[1]), unquote(m[2])] : [database, unquote(m[1])];
  if (!db) {
    throw new AthenaSqlError(
      `MERGE INTO ${table}: no database (qualify the table, or set QueryExecutionContext.Database)`,
    );
  }
  return { database: db, table };
}
