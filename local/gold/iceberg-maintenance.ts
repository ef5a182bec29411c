/**
 * Athena's Iceberg maintenance statements, locally:
 *
 *   OPTIMIZE <table> REWRITE DATA USING BIN_PACK [WHERE <partition column> IN ('<value>', ...)]
 *       bin-packs the data files of each partition the WHERE matches (none: every partition): a partition
 *       with more than one file smaller than the target size ({@link TARGET_FILE_BYTES}, Athena's default
 *       `write_target_data_file_size_bytes`) has them rewritten into files of at most that size (input
 *       bytes per output file: first-fit by size, largest first), so a small partition becomes one file. The
 *       rows and their values are those of the files rewritten (ordered by every column). The rewrite is a
 *       snapshot of its own, committed with the catalog's compare-and-swap of the metadata location read
 *       when the statement started, as a MERGE is: a commit made meanwhile fails it with
 *       `ICEBERG_COMMIT_ERROR`, and what it wrote is deleted. Nothing to rewrite: nothing is committed. The
 *       files rewritten stay in S3, listed by the older snapshots, until VACUUM expires those.
 *       Like Athena, only partition columns may appear in the WHERE; locally only the form the planner
 *       writes (`"dt" IN (...)`, or `=` one literal) is read. Not emulated: Athena's
 *       `optimize_rewrite_data_file_threshold` (5 by default: a partition with fewer files needing a rewrite
 *       is left as it is; locally two suffice), delete files (the local writer writes none) and the
 *       splitting of files larger than the target. The local MERGE (`iceberg-table.ts`) rewrites each
 *       partition it changes into one file, so the workflow's OPTIMIZE after it usually finds one file per
 *       partition and commits nothing; several files in a partition come from other writers (Athena's
 *       merge-on-read MERGE writes a new file per partition each time, with delete files).
 *   VACUUM <table>   deletes the table's data and metadata files that neither the current snapshot nor
 *       its parent lists (Athena keeps the snapshots younger than `vacuum_max_snapshot_age_seconds`, 5 days
 *       by default; locally only the previous one is kept, for a reader that started before the last commit).
 *       Files an OPTIMIZE rewrote are thus deleted by the first VACUUM after the commit that follows it.
 */

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AthenaSqlError } from '../../core/errors';
import { sqlString } from '../../core/sql/quote';
import { listObjects } from '../../lambdas/aws/s3';
import { createOfflineDuckDb } from '../offline-duckdb';
import { type LocalGlueCatalog, parseS3Uri } from './glue-catalog';
import {
  dataFilePath,
  deleteObjects,
  type IcebergDataFile,
  type IcebergSnapshot,
  partitionKey,
  readSnapshot,
  tableRoot,
  writeSnapshotMetadata,
} from './iceberg-table';

/** Athena's default `write_target_data_file_size_bytes`: what OPTIMIZE bin-packs files into. */
export const TARGET_FILE_BYTES = 512 * 1024 * 1024;

/** `<partition column> IN (<values>)`: the partitions an OPTIMIZE rewrites. */
export interface PartitionFilter {
  /** As written, unquoted (matched against the table's partition columns case-insensitively). */
  readonly column: string;
  readonly values: readonly string[];
}

export interface MaintenanceStatement {
  readonly kind: 'OPTIMIZE' | 'VACUUM';
  readonly database: string;
  readonly table: string;
  /** OPTIMIZE's WHERE; none: every partition. */
  readonly where?: PartitionFilter;
}

/** What OPTIMIZE rewrote (and committed as `metadataLocation`). */
export interface Compaction {
  readonly metadataLocation: string;
  /** The partitions rewritten, as {@link partitionKey}s. */
  readonly partitions: string[];
  /** The data files the new snapshot no longer lists, and those it lists instead. */
  readonly filesRewritten: IcebergDataFile[];
  readonly filesWritten: IcebergDataFile[];
  /** Bytes of the files rewritten (what Athena charges the rewrite for). */
  readonly bytesRead: number;
}

/** What {@link runMaintenance} did: the objects VACUUM deleted, the rewrite OPTIMIZE committed. */
export interface MaintenanceResult {
  readonly deleted: string[];
  readonly compaction?: Compaction;
}

const LEAD = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;
const NAME = `(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)`;
const OPTIMIZE = new RegExp(
  `${LEAD.source}OPTIMIZE\\s+(${NAME})(?:\\s*\\.\\s*(${NAME}))?\\s+REWRITE\\s+DATA\\s+USING\\s+BIN_PACK(?:\\s+WHERE\\s+([\\s\\S]+?))?\\s*;?\\s*$`,
  'i',
);
const VACUUM = new RegExp(`${LEAD.source}VACUUM\\s+(${NAME})(?:\\s*\\.\\s*(${NAME}))?\\s*;?\\s*$`, 'i');
const LITERAL = `(?:DATE\\s+)?'(?:[^']|'')*'`;
/** `<column> IN (<literal>, ...)` or `<column> = <literal>`. */
const PARTITION_FILTER = new RegExp(
  `^(${NAME})\\s*(?:IN\\s*\\(\\s*(${LITERAL}(?:\\s*,\\s*${LITERAL})*)\\s*\\)|=\\s*(${LITERAL}))$`,
  'i',
);

const unquote = (id: string) =>
  id.startsWith('"') ? id.slice(1, -1).replace(/""/g, '"').toLowerCase() : id.toLowerCase();

/** Whether `sql` is OPTIMIZE or VACUUM (then {@link parseMaintenance} reads it, or says what is wrong). */
export function isMaintenanceStatement(sql: string): boolean {
  return new RegExp(`${LEAD.source}(OPTIMIZE|VACUUM)\\b`, 'i').test(sql);
}

export function parseMaintenance(sql: string, database: string | undefined): MaintenanceStatement {
  const optimize = OPTIMIZE.exec(sql);
  const m = optimize ?? VACUUM.exec(sql);
  if (!m) {
    throw new AthenaSqlError(
      'only `OPTIMIZE <table> REWRITE DATA USING BIN_PACK [WHERE ...]` and `VACUUM <table>` are emulated locally',
    );
  }
  const [db, table] = m[2] ? [unquote(m[1]), unquote(m[2])] : [database, unquote(m[1])];
  if (!db) throw new AthenaSqlError(`${table}: no database (qualify the table, or set the query's database)`);
  const where = optimize?.[3] === undefined ? undefined : partitionFilter(optimize[3]);
  return { kind: optimize ? 'OPTIMIZE' : 'VACUUM', database: db, table, ...(where ? { where } : {}) };
}

function partitionFilter(predicate: string): PartitionFilter {
  const m = PARTITION_FILTER.exec(predicate.trim());
  if (!m) {
    throw new AthenaSqlError(
      `OPTIMIZE ... WHERE ${predicate.trim()}: only \`<partition column> IN ('<value>', ...)\` (or \`= '<value>'\`) is emulated locally`,
    );
  }
  const values = ((m[2] ?? m[3]).match(/'(?:[^']|'')*'/g) ?? []).map((v) =>
    v.slice(1, -1).replace(/''/g, "'"),
  );
  return { column: unquote(m[1]), values };
}

/**
 * Runs the statement against the catalog's Iceberg table (see the module comment). OPTIMIZE rewrites in
 * a scratch directory under `workDir` (default: the OS's).
 */
export async function runMaintenance(
  s3: S3Client,
  catalog: LocalGlueCatalog,
  statement: MaintenanceStatement,
  workDir: string = tmpdir(),
): Promise<MaintenanceResult> {
  const name = `${statement.database}.${statement.table}`;
  if (!catalog.tableNames(statement.database).includes(statement.table)) {
    throw new Error(`TABLE_NOT_FOUND: Table 'awsdatacatalog.${name}' does not exist`);
  }
  const partitionColumns = catalog.icebergPartitionColumns(statement.database, statement.table);
  if (!partitionColumns) {
    throw new Error(
      `NOT_SUPPORTED: ${statement.kind} is only supported for Iceberg tables (${name} is not one)`,
    );
  }
  // Read before anything awaits: the snapshot this statement starts from (OPTIMIZE commits against it).
  const { Table } = catalog.getTable({ DatabaseName: statement.database, Name: statement.table });
  const current = Table.Parameters?.metadata_location;
  const location = Table.StorageDescriptor?.Location;
  if (statement.kind === 'OPTIMIZE') {
    const filter = statement.where;
    const column = filter && partitionColumns.find((c) => c.toLowerCase() === filter.column);
    if (filter && column === undefined) {
      throw new AthenaSqlError(
        `OPTIMIZE ${name}: only partition columns (${partitionColumns.join(', ') || 'none'}) may appear in the WHERE clause, not '${filter.column}'`,
      );
    }
    if (!current || !location) return { deleted: [] };
    const matches = (f: IcebergDataFile) => {
      if (!filter || column === undefined) return true;
      const value = f.partition[column];
      return value !== null && value !== undefined && filter.values.includes(value);
    };
    const compaction = await optimize(s3, catalog, statement, {
      pinned: current,
      location,
      partitionColumns,
      matches,
      workDir,
    });
    return { deleted: [], ...(compaction ? { compaction } : {}) };
  }
  if (!current || !location) return { deleted: [] };
  return { deleted: await vacuum(s3, current, location) };
}

/**
 * The groups of files OPTIMIZE rewrites into one file each: per partition matched, its files smaller
 * than the target, first-fit (largest first) into bins of at most {@link TARGET_FILE_BYTES}; bins of one
 * file are left as they are.
 */
export function binPack(
  snapshot: IcebergSnapshot,
  partitionColumns: readonly string[],
  matches: (file: IcebergDataFile) => boolean,
): IcebergDataFile[][] {
  const byPartition = new Map<string, IcebergDataFile[]>();
  for (const f of snapshot.files) {
    if (!matches(f) || f.bytes >= TARGET_FILE_BYTES) continue;
    const key = partitionKey(partitionColumns.map((p) => f.partition[p] ?? null));
    byPartition.set(key, [...(byPartition.get(key) ?? []), f]);
  }
  const groups: IcebergDataFile[][] = [];
  for (const key of [...byPartition.keys()].sort()) {
    const bins: { bytes: number; files: IcebergDataFile[] }[] = [];
    const files = [...(byPartition.get(key) ?? [])].sort(
      (a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : 1),
    );
    for (const f of files) {
      const bin = bins.find((b) => b.bytes + f.bytes <= TARGET_FILE_BYTES);
      if (bin) {
        bin.bytes += f.bytes;
        bin.files.push(f);
      } else bins.push({ bytes: f.bytes, files: [f] });
    }
    groups.push(...bins.filter((b) => b.files.length > 1).map((b) => b.files));
  }
  return groups;
}

/** OPTIMIZE's rewrite and commit (see the module comment); undefined when there was nothing to rewrite. */
async function optimize(
  s3: S3Client,
  catalog: LocalGlueCatalog,
  statement: MaintenanceStatement,
  options: {
    readonly pinned: string;
    readonly location: string;
    readonly partitionColumns: readonly string[];
    readonly matches: (file: IcebergDataFile) => boolean;
    readonly workDir: string;
  },
): Promise<Compaction | undefined> {
  const { pinned, location, partitionColumns } = options;
  const name = `${statement.database}.${statement.table}`;
  const snapshot = await readSnapshot(s3, pinned);
  const groups = binPack(snapshot, partitionColumns, options.matches);
  if (groups.length === 0) return undefined;
  const rewritten = new Set(groups.flat().map((f) => f.path));
  const written: IcebergDataFile[] = [];
  let metadataLocation: string | undefined;
  const dir = mkdtempSync(join(options.workDir, 'optimize-'));
  const instance = await createOfflineDuckDb({ threads: 1 });
  const c = await instance.connect();
  try {
    for (const [g, group] of groups.entries()) {
      const inputs: string[] = [];
      for (const [i, f] of group.entries()) {
        const { bucket, prefix: key } = parseS3Uri(f.path);
        const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const file = join(dir, `in-${g}-${i}.parquet`);
        writeFileSync(file, await (got.Body?.transformToByteArray() ?? new Uint8Array()));
        inputs.push(file);
      }
      const out = join(dir, `out-${g}.parquet`);
      // Every column of every file (one written before an ADD COLUMNS lacks the new ones: NULL there).
      const copied = await c.runAndReadAll(
        `COPY (SELECT * FROM read_parquet([${inputs.map(sqlString).join(', ')}], union_by_name = true) ORDER BY ALL) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      const rows = Number(copied.getRowsJS()[0]?.[0] ?? 0);
      const expected = group.reduce((sum, f) => sum + f.rows, 0);
      if (rows !== expected) {
        throw new Error(
          `ICEBERG_WRITER_ERROR: OPTIMIZE ${name} read ${rows} rows from files listing ${expected}`,
        );
      }
      const values = partitionColumns.map((p) => group[0].partition[p] ?? null);
      const path = dataFilePath(location, partitionColumns, values);
      const { bucket, prefix: key } = parseS3Uri(path);
      const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(out) }));
      written.push({
        path,
        partition: { ...group[0].partition },
        rows,
        bytes: statSync(out).size,
        ...(put.ETag ? { etag: put.ETag } : {}),
      });
    }
    const next = await writeSnapshotMetadata(s3, {
      location,
      partitionColumns,
      previous: { metadataLocation: pinned, snapshot },
      files: [...snapshot.files.filter((f) => !rewritten.has(f.path)), ...written],
    });
    metadataLocation = next.metadataLocation;
    catalog.commitIcebergMetadata(statement.database, statement.table, pinned, metadataLocation);
  } catch (e) {
    // Never listed by a committed snapshot: deleted (orphans would be harmless, but need not be left).
    await deleteObjects(s3, [
      ...written.map((f) => f.path),
      ...(metadataLocation ? [metadataLocation] : []),
    ]).catch(() => undefined);
    if ((e as Error).name === 'Glue.ConcurrentModificationException') {
      throw new Error(
        `ICEBERG_COMMIT_ERROR: Failed to commit Iceberg update to table: ${name}: ${(e as Error).message}`,
      );
    }
    throw e;
  } finally {
    c.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
  const filesRewritten = snapshot.files.filter((f) => rewritten.has(f.path));
  return {
    metadataLocation,
    partitions: [
      ...new Set(written.map((f) => partitionKey(partitionColumns.map((p) => f.partition[p] ?? null)))),
    ],
    filesRewritten,
    filesWritten: written,
    bytesRead: filesRewritten.reduce((sum, f) => sum + f.bytes, 0),
  };
}

/** VACUUM (see the module comment): the objects deleted. */
async function vacuum(s3: S3Client, current: string, location: string): Promise<string[]> {
  const snapshot = await readSnapshot(s3, current);
  const keep = new Set<string>([current, ...snapshot.files.map((f) => f.path)]);
  if (snapshot.parent) {
    keep.add(snapshot.parent);
    for (const f of (await readSnapshot(s3, snapshot.parent)).files) keep.add(f.path);
  }
  const { bucket, prefix } = parseS3Uri(tableRoot(location));
  const deleted: string[] = [];
  for (const dir of ['data/', 'metadata/']) {
    for await (const o of listObjects(s3, bucket, `${prefix}${dir}`)) {
      const uri = `s3://${bucket}/${o.Key}`;
      if (!o.Key || keep.has(uri)) continue;
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }));
      deleted.push(uri);
    }
  }
  return deleted;
}
