/**
 * The catalog's tables as DuckDB views, for the local Athena (`athena-on-duckdb.ts`): before a statement
 * runs, every catalog table it names becomes a view named like the Athena table (schema `"<database>"`,
 * view `"<table>"`) in a fresh in-memory DuckDB.
 *
 * A Hive table's Parquet objects are fetched from the local S3 server into a cache directory (DuckDB cannot
 * read s3://; see `object-cache.ts`), and the view selects the catalog's columns, cast to the catalog's
 * types, from `read_parquet([...files], hive_partitioning = ..., union_by_name = true)`. A table with
 * partition projection (`projection.enabled`: silver's `_history`) is read from the objects under its
 * location, its partition keys (`dt`) from the `key=value` directories with their catalog type. A Hive table
 * with PartitionKeys and no projection (an incremental gold table) is read from the objects under the
 * location of each partition registered in the catalog, its partition keys from the partition's Values
 * (cast to the key's type; `__HIVE_DEFAULT_PARTITION__` is NULL), not from the files nor the table's
 * location: with no partition registered it is empty. An Iceberg table (see
 * `iceberg-table.ts`) is read from the data files its current snapshot lists (the catalog's
 * `metadata_location`), not from a listing; its partition columns are columns. A column no file holds
 * (added by `ALTER TABLE ... ADD COLUMNS` after the files were written) reads as NULL; a table with no
 * file yet (a gold table never published, an Iceberg table never committed) is empty.
 *
 * A MERGE's target is a DuckDB table instead of a view, loaded from the snapshot pinned when the query
 * started, so the MERGE can change it.
 *
 * Partition pruning (`partition-pruning.ts`): when every occurrence of a table in the statement is the
 * planner's `"<db>"."<table>" WHERE "<partition column>" IN (...)`, its view holds only the files of the
 * listed partitions (Hive projection tables by their `key=value` directories, registered partitions by
 * their Values, Iceberg tables by their data files' partition values), and only those are counted in the
 * scan. A MERGE's target is pruned by its ON clause (`mergeTargetPruning`): the table then holds only the
 * rows of those partitions, and the snapshot written after keeps the other partitions' files.
 */

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlIdent, sqlString } from '../../core/sql/quote';
import { duckDbType } from '../../core/sql/types';
import { listObjects, mapLimited } from '../../lambdas/aws/s3';
import { createOfflineDuckDb } from '../offline-duckdb';
import { type GlueColumn, type LocalGlueCatalog, parseS3Uri } from './glue-catalog';
import { HIVE_DEFAULT_PARTITION, hivePartitionPath, hivePathValue } from './glue-partitions';
import { type IcebergDataFile, type IcebergSnapshot, readSnapshot } from './iceberg-table';
import { type ListedObject, ObjectCache } from './object-cache';
import {
  blankLiterals,
  isRead,
  type PartitionPruning,
  partitionPruning,
  tableReferences,
} from './partition-pruning';

/** The column read_parquet names each row's file in, for the partition values of registered partitions. */
const FILE_COLUMN = '__medallion_file';

/** Bytes of data files a query reads (`DataScannedInBytes`), added up as its tables are made into views. */
export interface Scan {
  bytes: number;
}

/** The target of a MERGE: the Iceberg snapshot it starts from, pinned when the query started. */
export interface PinnedTarget {
  readonly database: string;
  readonly table: string;
  readonly snapshot: IcebergSnapshot | undefined;
  /** The target partitions the MERGE reads (`mergeTargetPruning`); absent: all. */
  readonly pruning?: PartitionPruning;
}

export interface CatalogViewsOptions {
  readonly s3: S3Client;
  readonly catalog: LocalGlueCatalog;
  readonly cache: ObjectCache;
  /** DuckDB's scratch directory goes under it. */
  readonly workDir: string;
  /** DuckDB threads; default 1 (deterministic output). */
  readonly threads?: number;
  readonly memoryLimit?: string;
}

export class CatalogViews {
  constructor(private readonly options: CatalogViewsOptions) {}

  /**
   * Opens a fresh DuckDB with views for the catalog tables `sql` names (a MERGE's `target` as a table
   * loaded from its pinned snapshot), `database` as the current schema, and runs `work` on it.
   */
  async run<T>(
    sql: string,
    database: string | undefined,
    scan: Scan,
    work: (c: DuckDBConnection) => Promise<T>,
    target?: PinnedTarget,
  ): Promise<T> {
    const { workDir } = this.options;
    mkdirSync(workDir, { recursive: true });
    const instance = await createOfflineDuckDb({
      threads: this.options.threads ?? 1,
      memoryLimit: this.options.memoryLimit ?? '512MB',
      workDir,
    });
    const c = await instance.connect();
    try {
      await c.run("SET TimeZone = 'UTC'");
      for (const [db, table] of this.referencedTables(sql)) {
        await c.run(`CREATE SCHEMA IF NOT EXISTS ${sqlIdent(db)}`);
        const isTarget = target?.database === db && target.table === table;
        const select = await this.tableSelect(
          c,
          sql,
          db,
          table,
          scan,
          isTarget ? target : undefined,
          database,
        );
        await c.run(`CREATE ${isTarget ? 'TABLE' : 'VIEW'} ${sqlIdent(db)}.${sqlIdent(table)} AS ${select}`);
      }
      if (database) {
        await c.run(`CREATE SCHEMA IF NOT EXISTS ${sqlIdent(database)}`);
        await c.run(`USE ${sqlIdent(database)}`);
      }
      return await work(c);
    } finally {
      c.closeSync();
      instance.closeSync();
    }
  }

  /**
   * Catalog tables `sql` refers to as tables (see `tableReferences`: a column named like a table is no
   * reference, so its files are neither fetched nor counted): [database, table].
   */
  private referencedTables(sql: string): [string, string][] {
    const code = blankLiterals(sql);
    const found: [string, string][] = [];
    for (const db of this.options.catalog.databaseNames()) {
      for (const table of this.options.catalog.tableNames(db)) {
        if (tableReferences(code, table).length > 0) found.push([db, table]);
      }
    }
    return found;
  }

  /** The SELECT of a table's view: its catalog columns over its files (see the module comment). */
  private async tableSelect(
    c: DuckDBConnection,
    sql: string,
    database: string,
    table: string,
    scan: Scan,
    target?: PinnedTarget,
    /** The statement's current database (its unqualified names' database). */
    queryDatabase?: string,
  ): Promise<string> {
    const { catalog, s3 } = this.options;
    const { Table } = catalog.getTable({ DatabaseName: database, Name: table });
    const icebergColumns = catalog.icebergPartitionColumns(database, table);
    const iceberg = icebergColumns !== undefined;
    const columns = Table.StorageDescriptor?.Columns ?? [];
    const partitions = iceberg ? [] : (Table.PartitionKeys ?? []);
    const registered =
      partitions.length > 0 && Table.Parameters?.['projection.enabled']?.toLowerCase() !== 'true';
    const location = Table.StorageDescriptor?.Location;
    // A MERGE's target is read whole unless its ON clause bounds its partitions.
    const pruning = target
      ? target.pruning
      : partitionPruning(
          sql,
          database,
          table,
          icebergColumns ?? partitions.map((p) => p.Name),
          queryDatabase,
        );
    let files: string[] = [];
    /** Registered partitions: the values of each file's partition, by local path. */
    let fileValues = new Map<string, string[]>();
    if (iceberg) {
      const metadata = Table.Parameters?.metadata_location;
      const snapshot = target ? target.snapshot : metadata ? await readSnapshot(s3, metadata) : undefined;
      if (snapshot) {
        files = await this.fetchDataFiles(
          snapshot.files.filter((f) => isRead(pruning, f.partition)),
          scan,
        );
      }
    } else if (registered) {
      fileValues = await this.fetchPartitions(database, table, partitions, pruning, scan);
      files = [...fileValues.keys()].sort();
    } else if (location) files = await this.fetch(location, scan, partitions, pruning);
    return catalogTableSelect(c, { columns, partitionKeys: partitions, registered }, files, fileValues);
  }

  /**
   * Downloads the data objects under the location of each registered partition of a table (those
   * `pruning` reads) into the cache: the partition values of each, by local path.
   */
  private async fetchPartitions(
    database: string,
    table: string,
    keys: readonly GlueColumn[],
    pruning: PartitionPruning | undefined,
    scan: Scan,
  ): Promise<Map<string, string[]>> {
    const read = this.options.catalog.partitions(database, table).filter((partition) => {
      const values = Object.fromEntries(
        keys.map((k, i) => [
          k.Name,
          partition.Values[i] === HIVE_DEFAULT_PARTITION ? null : partition.Values[i],
        ]),
      );
      return partition.StorageDescriptor?.Location !== undefined && isRead(pruning, values);
    });
    // A year of daily partitions is 365 listings: a few at a time, as Athena's split enumeration does.
    const fetched = await mapLimited(read, 16, async (partition) => {
      const { bucket, prefix } = parseS3Uri(partition.StorageDescriptor?.Location as string);
      const objects = await objectsUnder(this.options.s3, bucket, prefix, true);
      scan.bytes += objects.reduce((sum, o) => sum + o.size, 0);
      return { values: partition.Values, paths: await this.options.cache.fetch(bucket, objects) };
    });
    const byFile = new Map<string, string[]>();
    for (const { values, paths } of fetched) for (const path of paths) byFile.set(path, values);
    return byFile;
  }

  /**
   * Downloads the data objects under an s3:// location into the cache (with `pruning`, only those in the
   * `key=value` directories of the partitions it reads); their local paths, sorted.
   */
  private async fetch(
    location: string,
    scan: Scan,
    keys: readonly GlueColumn[],
    pruning: PartitionPruning | undefined,
  ): Promise<string[]> {
    const { bucket, prefix } = parseS3Uri(location);
    // Pruned on its only partition key (the history's `dt`): only those directories are listed, as
    // Athena's projection computes them, not the whole history.
    const key = keys.length === 1 ? keys[0].Name : undefined;
    const listed =
      pruning && key && pruning.predicates.every((p) => p.column === key)
        ? (
            await mapLimited(
              [...new Set(pruning.predicates.flatMap((p) => [...p.values]))].sort(),
              16,
              (value) =>
                objectsUnder(this.options.s3, bucket, `${prefix}${hivePartitionPath([key], [value])}`, true),
            )
          ).flat()
        : await objectsUnder(this.options.s3, bucket, prefix, true);
    const objects = listed.filter((o) => {
      if (!pruning) return true;
      const directories = o.key.slice(prefix.length).split('/').slice(0, -1);
      const values: Record<string, string | null> = {};
      for (const d of directories) {
        const eq = d.indexOf('=');
        const key = keys.find((k) => k.Name.toLowerCase() === d.slice(0, eq).toLowerCase());
        if (eq > 0 && key) values[key.Name] = hivePathValue(d.slice(eq + 1));
      }
      return isRead(pruning, values);
    });
    scan.bytes += objects.reduce((sum, o) => sum + o.size, 0);
    return this.options.cache.fetch(bucket, objects);
  }

  /** Downloads an Iceberg snapshot's data files into the cache; their local paths, sorted. */
  private async fetchDataFiles(files: readonly IcebergDataFile[], scan: Scan): Promise<string[]> {
    const byBucket = new Map<string, ListedObject[]>();
    for (const f of files) {
      const { bucket, prefix: key } = parseS3Uri(f.path);
      byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), { key, etag: f.etag }]);
      scan.bytes += f.bytes;
    }
    const paths: string[] = [];
    for (const [bucket, objects] of byBucket)
      paths.push(...(await this.options.cache.fetch(bucket, objects)));
    return paths.sort();
  }
}

/** A catalog table's declared columns, as {@link catalogTableSelect} reads them. */
export interface DeclaredColumns {
  /** `StorageDescriptor.Columns`. */
  readonly columns: readonly GlueColumn[];
  /** `PartitionKeys` read from the files' `key=value` directories or, `registered`, from `fileValues`. */
  readonly partitionKeys: readonly GlueColumn[];
  /** The partition keys' values are the registered partitions' (by file), not the directories'. */
  readonly registered: boolean;
}

/**
 * The SELECT of exactly a table's declared columns, partition keys included, over its data `files`
 * (local Parquet paths), each cast to its catalog type; a column no file holds reads as NULL, and no file
 * at all is an empty result. Nothing else the paths or files hold is a column (a gold version's `v=`
 * directory is none). Registered partitions' keys take the values `fileValues` gives each file.
 */
export async function catalogTableSelect(
  c: DuckDBConnection,
  table: DeclaredColumns,
  files: readonly string[],
  fileValues: ReadonlyMap<string, readonly string[]> = new Map(),
): Promise<string> {
  const { columns, partitionKeys: partitions, registered } = table;
  const all: GlueColumn[] = [...columns, ...partitions];
  const nullOf = (col: GlueColumn) =>
    `CAST(NULL AS ${duckDbType(col.Type ?? 'string')}) AS ${sqlIdent(col.Name)}`;
  if (files.length === 0) return `SELECT ${all.map(nullOf).join(', ')} WHERE false`;
  const list = files.map(sqlString).join(', ');
  const hive =
    registered || partitions.length === 0
      ? 'hive_partitioning = false'
      : `hive_partitioning = true, hive_types = {${partitions
          .map((p) => `${sqlString(p.Name)}: ${duckDbType(p.Type ?? 'string')}`)
          .join(', ')}}`;
  const fileName = registered ? `, filename = ${sqlString(FILE_COLUMN)}` : '';
  const source = `read_parquet([${list}], ${hive}, union_by_name = true${fileName})`;
  // The files' own types (footers only): a TIMESTAMPTZ read as an Athena `timestamp` is converted by
  // arithmetic, exact under the session's UTC time zone, instead of a CAST through ICU's calendar, which
  // cost ~0.5 s per million rows and column. A column no file has is NULL (union_by_name fills the
  // files that lack a column some other file has).
  const described = await c.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
  const fileTypes = new Map(
    described.getRowObjectsJson().map((r) => [String(r.column_name), String(r.column_type)]),
  );
  const select = all.map((col) => {
    const type = duckDbType(col.Type ?? 'string');
    const name = sqlIdent(col.Name);
    const key = registered ? partitions.indexOf(col) : -1;
    if (key >= 0) {
      // The partition's value, looked up by the row's file.
      const entries = [...fileValues].map(([file, values]) => {
        const value = values[key];
        return `${sqlString(file)}: ${value === HIVE_DEFAULT_PARTITION ? 'NULL' : sqlString(value)}`;
      });
      return `CAST(MAP {${entries.join(', ')}}[${sqlIdent(FILE_COLUMN)}] AS ${type}) AS ${name}`;
    }
    const fileType = fileTypes.get(col.Name);
    if (fileType === undefined) return nullOf(col);
    if (type === 'TIMESTAMP' && fileType === 'TIMESTAMP WITH TIME ZONE') {
      return `make_timestamp(epoch_us(${name})) AS ${name}`;
    }
    return `CAST(${name} AS ${type}) AS ${name}`;
  });
  return `SELECT ${select.join(', ')} FROM ${source}`;
}

/**
 * The objects under `prefix`, sorted by key; with `dataOnly`, only what Athena reads as data: not below a
 * file or directory whose name starts with `_` or `.`, and not a `$folder$` marker.
 */
export async function objectsUnder(
  s3: S3Client,
  bucket: string,
  prefix: string,
  dataOnly: boolean,
): Promise<(ListedObject & { size: number })[]> {
  const objects: (ListedObject & { size: number })[] = [];
  for await (const o of listObjects(s3, bucket, prefix)) {
    if (o.Key) objects.push({ key: o.Key, etag: o.ETag, size: o.Size ?? 0 });
  }
  const data = dataOnly
    ? objects.filter(({ key: k }) => {
        const rest = k.slice(prefix.length).split('/');
        return (
          !rest.some((s) => s.startsWith('_') || s.startsWith('.')) &&
          !k.endsWith('$folder$') &&
          !k.endsWith('/')
        );
      })
    : objects;
  return data.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * What a local engine reads the catalog's tables with: an object cache under `<dir>/cache` (DuckDB cannot
 * read s3:// from the local S3 server) and the views over it, DuckDB's scratch under `<dir>/work`.
 */
export function openCatalogViews(
  options: Omit<CatalogViewsOptions, 'cache' | 'workDir'> & { readonly dir: string },
): { readonly cache: ObjectCache; readonly views: CatalogViews; readonly workDir: string } {
  const { dir, ...rest } = options;
  const workDir = join(dir, 'work');
  const cache = new ObjectCache(options.s3, join(dir, 'cache'));
  return { cache, workDir, views: new CatalogViews({ ...rest, cache, workDir }) };
}
