/**
 * Athena, locally, on DuckDB: runs the statements the gold workflow sends to
 * `athena:startQueryExecution.sync` and answers like the integration does.
 *
 * Before a query runs, the catalog tables it names are made into DuckDB views named like the Athena
 * tables (schema `"<database>"`, view `"<table>"`): their Parquet objects are fetched from the local S3
 * server into a cache directory (DuckDB cannot read s3://; see `object-cache.ts`), and the view selects
 * the catalog's columns, cast to the catalog's types, from `read_parquet([...files], hive_partitioning =
 * ...)`; partition keys (silver's `dt`) come from the `key=value` directories with their catalog type. A
 * table with no object yet (a gold table never published) is an empty view with the catalog's columns.
 *
 * `UNLOAD (<select>) TO 's3://<bucket>/<prefix>/' WITH (format = 'PARQUET', compression = 'ZSTD')` runs as
 * `COPY (<select>) TO '<work dir>/part-0.parquet' (FORMAT parquet, COMPRESSION zstd)` with one thread (same
 * input, same bytes), and the file is uploaded as `<prefix>part-0.parquet`. Like Athena, UNLOAD refuses a
 * target prefix that already holds objects, and writes a manifest of the files to the workgroup's result
 * location (`<output location><query id>-manifest.csv`).
 *
 * The model SQL must be Athena (Trino) SQL. DuckDB accepts much that Athena refuses, so before anything
 * runs, the SELECT is checked against the deny-list of `core/gold/dialect.ts` (outside string literals,
 * quoted identifiers and comments) and refused with a clear message. The list is a safety net, not a
 * parser: what it does not know can still pass locally and fail on Athena. Known semantic differences
 * that the check cannot see: `decimal / bigint` is a DOUBLE in DuckDB and a DECIMAL in Trino (ROUND of an
 * exact half may differ); integer `/` truncates in Trino and not in DuckDB.
 */

import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { AthenaSqlError } from '../../core/errors';
import { checkAthenaSql } from '../../core/gold/dialect';
import { parseUnload, type UnloadStatement } from '../../core/gold/unload';
import { sqlIdent, sqlString } from '../../core/sql/quote';
import { duckDbType } from '../../core/sql/types';
import { listObjects } from '../../lambdas/aws/s3';
import { type GlueColumn, type LocalGlueCatalog, parseS3Uri } from './glue-catalog';
import { type ListedObject, ObjectCache } from './object-cache';
import { AthenaTaskFailed } from './service-errors';

/** The request of `athena:startQueryExecution` (as the state machine sends it). */
export interface StartQueryExecutionInput {
  QueryString: string;
  QueryExecutionContext?: { Database?: string; Catalog?: string };
  WorkGroup?: string;
  ResultConfiguration?: { OutputLocation?: string };
}

/** What `startQueryExecution.sync` returns: GetQueryExecution's output once the query ended. */
export interface QueryExecutionOutput {
  QueryExecution: {
    QueryExecutionId: string;
    Query: string;
    StatementType: 'DML' | 'DDL' | 'UTILITY';
    SubstatementType?: string;
    ResultConfiguration: { OutputLocation?: string };
    QueryExecutionContext: { Database?: string; Catalog: string };
    Status: {
      State: 'SUCCEEDED' | 'FAILED';
      StateChangeReason?: string;
      SubmissionDateTime: string;
      CompletionDateTime: string;
      AthenaError?: { ErrorCategory: number; ErrorType: number; Retryable: boolean; ErrorMessage: string };
    };
    Statistics: {
      EngineExecutionTimeInMillis: number;
      TotalExecutionTimeInMillis: number;
      DataScannedInBytes: number;
    };
    WorkGroup?: string;
    EngineVersion: { SelectedEngineVersion: string; EffectiveEngineVersion: string };
  };
}

/** What an UNLOAD wrote. */
export interface UnloadResult {
  readonly queryExecutionId: string;
  readonly location: string;
  readonly files: string[];
  readonly rows: number;
}

export interface LocalAthenaOptions {
  readonly s3: S3Client;
  readonly catalog: LocalGlueCatalog;
  /** Where fetched objects and written files are kept (under `<dir>/cache` and `<dir>/work`). */
  readonly dir: string;
  /** The workgroup's result location (`s3://<bucket>/<prefix>/`): UNLOAD manifests go there. */
  readonly outputLocation?: string;
  /** DuckDB threads; default 1 (deterministic output). */
  readonly threads?: number;
  readonly memoryLimit?: string;
}

export class LocalAthena {
  /** Every UNLOAD that succeeded, by target location. */
  readonly unloads = new Map<string, UnloadResult>();
  /** UNLOADs submitted per target location, failed ones included: a retried write counts each attempt. */
  readonly submissions = new Map<string, number>();
  /** The tables' objects, downloaded (DuckDB cannot read s3:// from the local S3 server). */
  private readonly cache: ObjectCache;
  private readonly workDir: string;

  constructor(private readonly options: LocalAthenaOptions) {
    this.cache = new ObjectCache(options.s3, join(options.dir, 'cache'));
    this.workDir = join(options.dir, 'work');
  }

  /**
   * `athena:startQueryExecution.sync`: runs the statement (an UNLOAD, or a SELECT whose rows are
   * dropped) and returns the query execution once it ended; throws {@link AthenaTaskFailed} when it failed.
   */
  async startQueryExecutionSync(input: StartQueryExecutionInput): Promise<QueryExecutionOutput> {
    const id = randomUUID();
    const submitted = new Date();
    const database = input.QueryExecutionContext?.Database;
    const output = (state: 'SUCCEEDED' | 'FAILED', reason?: string): QueryExecutionOutput => {
      const ended = new Date();
      const unload = /^\s*UNLOAD\b/i.test(input.QueryString);
      return {
        QueryExecution: {
          QueryExecutionId: id,
          Query: input.QueryString,
          StatementType: 'DML',
          ...(unload ? { SubstatementType: 'UNLOAD' } : { SubstatementType: 'SELECT' }),
          ResultConfiguration: {
            OutputLocation: this.options.outputLocation ? `${this.options.outputLocation}${id}` : undefined,
          },
          QueryExecutionContext: { Database: database, Catalog: 'awsdatacatalog' },
          Status: {
            State: state,
            ...(reason === undefined
              ? {}
              : {
                  StateChangeReason: reason,
                  AthenaError: { ErrorCategory: 2, ErrorType: 1300, Retryable: false, ErrorMessage: reason },
                }),
            SubmissionDateTime: submitted.toISOString(),
            CompletionDateTime: ended.toISOString(),
          },
          Statistics: {
            EngineExecutionTimeInMillis: ended.getTime() - submitted.getTime(),
            TotalExecutionTimeInMillis: ended.getTime() - submitted.getTime(),
            DataScannedInBytes: 0,
          },
          WorkGroup: input.WorkGroup,
          EngineVersion: { SelectedEngineVersion: 'AUTO', EffectiveEngineVersion: 'local DuckDB' },
        },
      };
    };
    try {
      const unload = parseUnload(input.QueryString);
      if (unload) {
        this.submissions.set(unload.location, (this.submissions.get(unload.location) ?? 0) + 1);
        await this.unload(unload, database, id);
      } else await this.query(input.QueryString, database);
    } catch (e) {
      const reason = (e as Error).message;
      throw new AthenaTaskFailed(output('FAILED', reason), reason);
    }
    return output('SUCCEEDED');
  }

  /** Runs a SELECT over the catalog's tables and returns its rows (JSON values: decimals as strings). */
  async query(sql: string, database?: string): Promise<Record<string, unknown>[]> {
    return this.withViews(sql, database, async (c) => {
      const reader = await c.runAndReadAll(sql);
      return reader.getRowObjectsJson() as Record<string, unknown>[];
    });
  }

  /** Every row of a catalog table (its published version), in a stable order (all columns sorted). */
  async readTable(database: string, table: string): Promise<Record<string, unknown>[]> {
    return this.query(`SELECT * FROM ${sqlIdent(database)}.${sqlIdent(table)} ORDER BY ALL`, database);
  }

  /** Runs an UNLOAD (see the module comment). */
  async unload(statement: UnloadStatement, database: string | undefined, id: string): Promise<UnloadResult> {
    if (statement.format !== 'PARQUET') {
      throw new AthenaSqlError(
        `UNLOAD: only format = 'PARQUET' is supported locally (got ${statement.format})`,
      );
    }
    const compression = (statement.compression ?? 'GZIP').toLowerCase();
    if (!['zstd', 'snappy', 'gzip', 'none'].includes(compression)) {
      throw new AthenaSqlError(`UNLOAD: unsupported compression '${statement.compression}'`);
    }
    checkAthenaSql(statement.select, `UNLOAD to ${statement.location}`);
    const { bucket, prefix } = parseS3Uri(statement.location);
    if (prefix !== '' && !prefix.endsWith('/')) {
      throw new AthenaSqlError(`UNLOAD: the target ${statement.location} must end with '/'`);
    }
    const existing = await this.listKeys(bucket, prefix, false);
    if (existing.length > 0) {
      throw new Error(
        `HIVE_PATH_ALREADY_EXISTS: Target directory for table ${statement.location} already exists (${existing.length} object(s)); UNLOAD needs an empty prefix`,
      );
    }
    mkdirSync(this.workDir, { recursive: true });
    const dir = mkdtempSync(join(this.workDir, 'unload-'));
    try {
      const file = join(dir, 'part-0.parquet');
      const rows = await this.withViews(statement.select, database, async (c) => {
        const reader = await c.runAndReadAll(
          `COPY (\n${statement.select}\n) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION ${compression})`,
        );
        return Number(reader.getRowsJS()[0]?.[0] ?? 0);
      });
      const key = `${prefix}part-0.parquet`;
      await this.options.s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(file) }),
      );
      const files = [`s3://${bucket}/${key}`];
      if (this.options.outputLocation) {
        const out = parseS3Uri(this.options.outputLocation);
        await this.options.s3.send(
          new PutObjectCommand({
            Bucket: out.bucket,
            Key: `${out.prefix}${id}-manifest.csv`,
            Body: `${files.join('\n')}\n`,
          }),
        );
      }
      const result: UnloadResult = { queryExecutionId: id, location: statement.location, files, rows };
      this.unloads.set(statement.location, result);
      return result;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Opens a fresh DuckDB with views for the catalog tables `sql` names, and runs `work` on it. */
  private async withViews<T>(
    sql: string,
    database: string | undefined,
    work: (c: DuckDBConnection) => Promise<T>,
  ): Promise<T> {
    mkdirSync(this.workDir, { recursive: true });
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(this.options.threads ?? 1),
      memory_limit: this.options.memoryLimit ?? '512MB',
      temp_directory: join(this.workDir, 'duckdb-tmp'),
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    const c = await instance.connect();
    try {
      await c.run("SET TimeZone = 'UTC'");
      for (const [db, table] of this.referencedTables(sql)) {
        await c.run(`CREATE SCHEMA IF NOT EXISTS ${sqlIdent(db)}`);
        await c.run(
          `CREATE VIEW ${sqlIdent(db)}.${sqlIdent(table)} AS ${await this.tableSelect(c, db, table)}`,
        );
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

  /** Catalog tables whose name appears in `sql` (outside literals and comments): [database, table]. */
  private referencedTables(sql: string): [string, string][] {
    const code = sql.replace(/'(?:[^']|'')*'|--[^\n]*|\/\*[\s\S]*?\*\//g, ' ').toLowerCase();
    const found: [string, string][] = [];
    for (const db of this.options.catalog.databaseNames()) {
      for (const table of this.options.catalog.tableNames(db)) {
        if (new RegExp(`(^|[^a-z0-9_])${table}([^a-z0-9_]|$)`).test(code)) found.push([db, table]);
      }
    }
    return found;
  }

  /** The SELECT of a table's view: its catalog columns over its objects (or no row). */
  private async tableSelect(c: DuckDBConnection, database: string, table: string): Promise<string> {
    const { Table } = this.options.catalog.getTable({ DatabaseName: database, Name: table });
    const columns = Table.StorageDescriptor?.Columns ?? [];
    const partitions = Table.PartitionKeys ?? [];
    const all: GlueColumn[] = [...columns, ...partitions];
    const location = Table.StorageDescriptor?.Location;
    const files = location ? await this.fetch(location) : [];
    if (files.length === 0) {
      const nulls = all.map(
        (col) => `CAST(NULL AS ${duckDbType(col.Type ?? 'string')}) AS ${sqlIdent(col.Name)}`,
      );
      return `SELECT ${nulls.join(', ')} WHERE false`;
    }
    const list = files.map(sqlString).join(', ');
    const hive =
      partitions.length > 0
        ? `hive_partitioning = true, hive_types = {${partitions
            .map((p) => `${sqlString(p.Name)}: ${duckDbType(p.Type ?? 'string')}`)
            .join(', ')}}`
        : 'hive_partitioning = false';
    const source = `read_parquet([${list}], ${hive}, union_by_name = true)`;
    // The files' own types (footers only): a TIMESTAMPTZ read as an Athena `timestamp` is converted by
    // arithmetic, exact under the session's UTC time zone, instead of a CAST through ICU's calendar, which
    // cost ~0.5 s per million rows and column.
    const described = await c.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
    const fileTypes = new Map(
      described.getRowObjectsJson().map((r) => [String(r.column_name), String(r.column_type)]),
    );
    const select = all.map((col) => {
      const type = duckDbType(col.Type ?? 'string');
      const name = sqlIdent(col.Name);
      if (type === 'TIMESTAMP' && fileTypes.get(col.Name) === 'TIMESTAMP WITH TIME ZONE') {
        return `make_timestamp(epoch_us(${name})) AS ${name}`;
      }
      return `CAST(${name} AS ${type}) AS ${name}`;
    });
    return `SELECT ${select.join(', ')} FROM ${source}`;
  }

  /** Downloads the data objects under an s3:// location into the cache; their local paths, sorted. */
  private async fetch(location: string): Promise<string[]> {
    const { bucket, prefix } = parseS3Uri(location);
    return this.cache.fetch(bucket, await this.objectsUnder(bucket, prefix, true));
  }

  /**
   * Keys (objects) under `prefix`, sorted; with `dataOnly`, only what Athena reads as data: not below a file or
   * directory whose name starts with `_` or `.`, and not a `$folder$` marker.
   */
  private async listKeys(bucket: string, prefix: string, dataOnly: boolean): Promise<string[]> {
    return (await this.objectsUnder(bucket, prefix, dataOnly)).map((o) => o.key);
  }

  private async objectsUnder(bucket: string, prefix: string, dataOnly: boolean): Promise<ListedObject[]> {
    const objects: ListedObject[] = [];
    for await (const o of listObjects(this.options.s3, bucket, prefix)) {
      if (o.Key) objects.push({ key: o.Key, etag: o.ETag });
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
}
