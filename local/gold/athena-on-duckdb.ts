/**
 * Athena, locally, on DuckDB: runs the statements the gold workflow sends to
 * `athena:startQueryExecution.sync` and answers like the integration does.
 *
 * Before a query runs, the catalog tables it names are made into DuckDB views named like the Athena
 * tables, over their Parquet files fetched from the local S3 server (see `catalog-views.ts`).
 *
 * `MERGE INTO <Iceberg table> USING ... ` (Trino's syntax, which DuckDB runs unchanged) loads the target's
 * current snapshot into a DuckDB table named like the target, runs the statement over it (the other
 * tables as views), writes the new content copy-on-write (only changed partitions get new files) and
 * commits it through the catalog's compare-and-swap of the metadata location read when the query started:
 * a commit made meanwhile fails the query with `ICEBERG_COMMIT_ERROR`, as Athena does. A MERGE that
 * changes no row commits nothing. A MERGE whose ON clause bounds the target's partitions
 * (`mergeTargetPruning`) loads and counts only those partitions' files; the others keep theirs. A MERGE into a Hive table is refused (`NOT_SUPPORTED`).
 *
 * `CREATE TABLE` of an Iceberg table and `ALTER TABLE ... ADD COLUMNS` (Athena DDL, see `athena-ddl.ts`)
 * change the catalog only (StatementType `DDL`); DuckDB never sees them.
 *
 * `DataScannedInBytes` is the size of the data files of the tables a query names: every file, except for a
 * table every occurrence of which is the planner's date filter `"<db>"."<table>" WHERE "<partition
 * column>" IN ('<value>', ...)`: then only the files of the listed partitions are read and counted (see
 * `partition-pruning.ts`; Athena's column pruning is not emulated).
 *
 * `UNLOAD (<select>) TO 's3://<bucket>/<prefix>/' WITH (format = 'PARQUET', compression = 'ZSTD')` runs as
 * `COPY (<select>) TO '<work dir>/part-0.parquet' (FORMAT parquet, COMPRESSION zstd)` with one thread (same
 * input, same bytes), and the file is uploaded as `<prefix>part-0.parquet`. Like Athena, UNLOAD refuses a
 * target prefix that already holds objects, and writes a manifest of the files to the workgroup's result
 * location (`<output location><query id>-manifest.csv`).
 *
 * With `partitioned_by = ARRAY['<column>', ...]` (an incremental model), the rows are written as one
 * `<location><column>=<value>/part-0.parquet` per partition value, without the partition columns (see
 * `partitioned-unload.ts`); like Athena, the partition columns must come last in the SELECT, and more than
 * 100 partition values fail the query (`HIVE_TOO_MANY_OPEN_PARTITIONS`) with nothing written.
 *
 * A SELECT (a gold model's tests) keeps its rows for `athena:getQueryResults` ({@link
 * LocalAthena.getQueryResults}), as text the way Athena returns them.
 *
 * The model SQL must be Athena (Trino) SQL. DuckDB accepts much that Athena refuses, so before anything
 * runs, the SELECT is checked against the deny-list of `core/gold/dialect.ts` (outside string literals,
 * quoted identifiers and comments) and refused with a clear message. The list is a safety net, not a
 * parser: what it does not know can still pass locally and fail on Athena. Known semantic differences
 * that the check cannot see: `decimal / bigint` is a DOUBLE in DuckDB and a DECIMAL in Trino (ROUND of an
 * exact half may differ); integer `/` truncates in Trino and not in DuckDB.
 */

import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AthenaSqlError } from '../../core/errors';
import { checkAthenaSql } from '../../core/gold/dialect';
import { parseUnload, type UnloadStatement } from '../../core/gold/unload';
import { sqlIdent, sqlString } from '../../core/sql/quote';
import { isDdlStatement, parseDdl, runDdl } from './athena-ddl';
import {
  type CatalogViews,
  objectsUnder,
  openCatalogViews,
  type PinnedTarget,
  type Scan,
} from './catalog-views';
import { type LocalGlueCatalog, parseS3Uri } from './glue-catalog';
import { isMaintenanceStatement, parseMaintenance, runMaintenance } from './iceberg-maintenance';
import {
  deleteSnapshotFiles,
  isMergeStatement,
  mergeIntoSnapshot,
  mergeTarget,
  readSnapshot,
} from './iceberg-table';
import type { ObjectCache } from './object-cache';
import { isRead, mergeTargetPruning } from './partition-pruning';
import { writePartitionedUnload } from './partitioned-unload';
import { AthenaTaskFailed } from './service-errors';

export type { Scan } from './catalog-views';

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

/** One partition a partitioned UNLOAD wrote. */
export interface UnloadedPartition {
  /** The partition values as text (a date as `YYYY-MM-DD`, null for NULL), in `partitioned_by` order. */
  readonly values: (string | null)[];
  /** The partition's directory, `<UNLOAD location><column>=<value>/` (what Glue registers as its location). */
  readonly location: string;
  readonly rows: number;
  readonly bytes: number;
}

/** What an UNLOAD wrote. */
export interface UnloadResult {
  readonly queryExecutionId: string;
  readonly location: string;
  readonly files: string[];
  readonly rows: number;
  /**
   * Bytes of the data files of the tables the query names (Athena's DataScannedInBytes, with the
   * planner's partition filters emulated but not its column pruning: an upper bound of what Athena scans).
   */
  readonly bytesRead: number;
  /** Bytes of the files written. */
  readonly bytesWritten: number;
  /** How long the query took, reading and writing included. */
  readonly ms: number;
  /** The `partitioned_by` columns (empty: not partitioned). */
  readonly partitionedBy: string[];
  /** The partitions written, sorted by values (empty when not partitioned, or no row). */
  readonly partitions: UnloadedPartition[];
}

/** What a MERGE INTO did to its target. */
export interface MergeResult {
  readonly queryExecutionId: string;
  /** The target, `<database>.<table>`. */
  readonly table: string;
  /** The rows the MERGE inserted, updated or deleted. */
  readonly rowsAffected: number;
  /** The snapshot committed; undefined when the MERGE changed no row (nothing committed). */
  readonly metadataLocation: string | undefined;
  /** Data files written (one per changed partition) and kept from the previous snapshot. */
  readonly filesWritten: number;
  readonly filesKept: number;
  /** Partitions left with no row (dropped from the snapshot). */
  readonly partitionsRemoved: number;
  readonly bytesWritten: number;
}

/** A SELECT's result, kept for `getQueryResults`: column names and Athena types, values as text. */
interface SelectResult {
  readonly columns: { readonly name: string; readonly type: string }[];
  readonly rows: (string | null)[][];
}

/** The name Athena gives a column type in ResultSetMetadata, from DuckDB's (`BIGINT` -> `bigint`). */
function athenaTypeName(duckDbType: string): string {
  const t = duckDbType.toLowerCase();
  if (t.startsWith('decimal')) return 'decimal';
  const names: Record<string, string> = { int: 'integer', 'timestamp with time zone': 'timestamp' };
  return names[t] ?? t;
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
  /** The last MERGE INTO that succeeded, by target table (`<database>.<table>`). */
  readonly merges = new Map<string, MergeResult>();
  /** The rows of every SELECT that succeeded, by query execution id (for `getQueryResults`). */
  private readonly results = new Map<string, SelectResult>();
  private readonly views: CatalogViews;
  private readonly workDir: string;

  /** The tables' objects, downloaded (DuckDB cannot read s3:// from the local S3 server). */
  private readonly cache: ObjectCache;

  constructor(private readonly options: LocalAthenaOptions) {
    ({
      cache: this.cache,
      views: this.views,
      workDir: this.workDir,
    } = openCatalogViews({
      s3: options.s3,
      catalog: options.catalog,
      dir: options.dir,
      threads: options.threads,
      memoryLimit: options.memoryLimit,
    }));
  }

  /** Drops the downloaded objects no query of this instance read (see `ObjectCache.prune`). */
  pruneCache(): number {
    return this.cache.prune();
  }

  /**
   * `athena:startQueryExecution.sync`: runs the statement (an UNLOAD, a MERGE INTO, DDL, or a SELECT
   * whose rows {@link getQueryResults} returns) and returns the query execution once it ended; throws {@link AthenaTaskFailed}
   * when it failed.
   */
  async startQueryExecutionSync(input: StartQueryExecutionInput): Promise<QueryExecutionOutput> {
    const id = randomUUID();
    const submitted = new Date();
    const database = input.QueryExecutionContext?.Database;
    const scan: Scan = { bytes: 0 };
    const ddl = isDdlStatement(input.QueryString);
    // A DDL statement's SubstatementType is known once it parsed (none when it did not).
    let substatement: string | undefined = ddl
      ? undefined
      : /^\s*UNLOAD\b/i.test(input.QueryString)
        ? 'UNLOAD'
        : isMergeStatement(input.QueryString)
          ? 'MERGE'
          : isMaintenanceStatement(input.QueryString)
            ? undefined // known once parsed: OPTIMIZE or VACUUM
            : 'SELECT';
    const output = (state: 'SUCCEEDED' | 'FAILED', reason?: string): QueryExecutionOutput => {
      const ended = new Date();
      return {
        QueryExecution: {
          QueryExecutionId: id,
          Query: input.QueryString,
          StatementType: ddl ? 'DDL' : 'DML',
          ...(substatement === undefined ? {} : { SubstatementType: substatement }),
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
            DataScannedInBytes: scan.bytes,
          },
          WorkGroup: input.WorkGroup,
          EngineVersion: { SelectedEngineVersion: 'AUTO', EffectiveEngineVersion: 'local DuckDB' },
        },
      };
    };
    try {
      const unload = ddl ? undefined : parseUnload(input.QueryString);
      if (ddl) {
        const statement = parseDdl(input.QueryString);
        substatement = statement.kind;
        runDdl(this.options.catalog, statement, database);
      } else if (unload) {
        this.submissions.set(unload.location, (this.submissions.get(unload.location) ?? 0) + 1);
        await this.unload(unload, database, id, scan);
      } else if (substatement === 'MERGE') await this.merge(input.QueryString, database, id, scan);
      else if (isMaintenanceStatement(input.QueryString)) {
        const statement = parseMaintenance(input.QueryString, database);
        substatement = statement.kind;
        mkdirSync(this.workDir, { recursive: true });
        const result = await runMaintenance(this.options.s3, this.options.catalog, statement, this.workDir);
        // OPTIMIZE reads the files it rewrites (Athena charges them).
        scan.bytes += result.compaction?.bytesRead ?? 0;
      } else {
        // A SELECT the workflow sends (a gold model's tests) must be Athena SQL like the models.
        checkAthenaSql(input.QueryString, 'SELECT');
        this.results.set(id, await this.selectResult(input.QueryString, database, scan));
      }
    } catch (e) {
      const reason = (e as Error).message;
      throw new AthenaTaskFailed(output('FAILED', reason), reason);
    }
    return output('SUCCEEDED');
  }

  /**
   * `athena:getQueryResults`: the rows of a SELECT that succeeded, as Athena returns them: the first row
   * holds the column names, every value is text (`VarCharValue`, absent for NULL), up to `MaxResults`
   * rows (default and most 1000) a page, the next page from `NextToken`. Throws
   * `Athena.InvalidRequestException` for a query that is not a SELECT that succeeded here.
   */
  getQueryResults(request: { QueryExecutionId: string; MaxResults?: number; NextToken?: string }): {
    UpdateCount: number;
    ResultSet: {
      Rows: { Data: { VarCharValue?: string }[] }[];
      ResultSetMetadata: { ColumnInfo: { Name: string; Label: string; Type: string }[] };
    };
    NextToken?: string;
  } {
    const result = this.results.get(request.QueryExecutionId);
    if (!result) {
      const error = new Error(
        `Query ${request.QueryExecutionId} has no results (not a SELECT that succeeded)`,
      );
      error.name = 'Athena.InvalidRequestException';
      throw error;
    }
    const all = [result.columns.map((c) => c.name), ...result.rows];
    const from = Number(request.NextToken ?? 0);
    const to = from + Math.min(Math.max(1, request.MaxResults ?? 1000), 1000);
    return {
      UpdateCount: 0,
      ResultSet: {
        Rows: all.slice(from, to).map((row) => ({
          Data: row.map((v) => (v === null ? {} : { VarCharValue: v })),
        })),
        ResultSetMetadata: {
          ColumnInfo: result.columns.map((c) => ({ Name: c.name, Label: c.name, Type: c.type })),
        },
      },
      ...(to < all.length ? { NextToken: String(to) } : {}),
    };
  }

  /** A SELECT's columns and rows as text, as `getQueryResults` returns them. */
  private async selectResult(sql: string, database: string | undefined, scan: Scan): Promise<SelectResult> {
    return this.views.run(sql, database, scan, async (c) => {
      const reader = await c.runAndReadAll(sql);
      const types = reader.columnTypes().map((t) => athenaTypeName(t.toString()));
      return {
        columns: reader.columnNames().map((name, i) => ({ name, type: types[i] })),
        rows: reader
          .getRowsJson()
          .map((row) => row.map((v) => (v === null ? null : typeof v === 'string' ? v : JSON.stringify(v)))),
      };
    });
  }

  /** Runs a SELECT over the catalog's tables and returns its rows (JSON values: decimals as strings). */
  async query(sql: string, database?: string): Promise<Record<string, unknown>[]> {
    return this.select(sql, database, { bytes: 0 });
  }

  private async select(
    sql: string,
    database: string | undefined,
    scan: Scan,
  ): Promise<Record<string, unknown>[]> {
    return this.views.run(sql, database, scan, async (c) => {
      const reader = await c.runAndReadAll(sql);
      return reader.getRowObjectsJson() as Record<string, unknown>[];
    });
  }

  /** The UNLOADs that succeeded into a location under `prefix` (an s3:// URI), sorted by location. */
  unloadsUnder(prefix: string): UnloadResult[] {
    return [...this.unloads.values()]
      .filter((u) => u.location.startsWith(prefix))
      .sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
  }

  /** Every row of a catalog table (its published version), in a stable order (all columns sorted). */
  async readTable(database: string, table: string): Promise<Record<string, unknown>[]> {
    return this.query(`SELECT * FROM ${sqlIdent(database)}.${sqlIdent(table)} ORDER BY ALL`, database);
  }

  /** Runs an UNLOAD (see the module comment). */
  async unload(
    statement: UnloadStatement,
    database: string | undefined,
    id: string,
    scan: Scan = { bytes: 0 },
  ): Promise<UnloadResult> {
    if (statement.format !== 'PARQUET') {
      throw new AthenaSqlError(
        `UNLOAD: only format = 'PARQUET' is supported locally (got ${statement.format})`,
      );
    }
    const compression = (statement.compression ?? 'GZIP').toLowerCase();
    if (!['zstd', 'snappy', 'gzip', 'none'].includes(compression)) {
      throw new AthenaSqlError(`UNLOAD: unsupported compression '${statement.compression}'`);
    }
    // Lines as Athena counts them: the SELECT starts on the UNLOAD's line 2 (see `core/gold/unload.ts`).
    checkAthenaSql(statement.select, `UNLOAD to ${statement.location}`, 2);
    const { bucket, prefix } = parseS3Uri(statement.location);
    if (prefix !== '' && !prefix.endsWith('/')) {
      throw new AthenaSqlError(`UNLOAD: the target ${statement.location} must end with '/'`);
    }
    const existing = await objectsUnder(this.options.s3, bucket, prefix, false);
    if (existing.length > 0) {
      throw new Error(
        `HIVE_PATH_ALREADY_EXISTS: Target directory for table ${statement.location} already exists (${existing.length} object(s)); UNLOAD needs an empty prefix`,
      );
    }
    mkdirSync(this.workDir, { recursive: true });
    const dir = mkdtempSync(join(this.workDir, 'unload-'));
    const started = Date.now();
    try {
      // Local files and the keys they go to; written before anything is uploaded, so a failed query
      // (a limit of Athena's) leaves the target empty.
      let uploads: { file: string; key: string }[];
      let rows: number;
      let partitions: UnloadedPartition[] = [];
      if (statement.partitionedBy.length > 0) {
        const written = await this.views.run(statement.select, database, scan, (c) =>
          writePartitionedUnload(c, statement.select, statement.partitionedBy, {
            dir,
            compression,
            location: statement.location,
          }),
        );
        uploads = written.map((p) => ({ file: p.file, key: `${prefix}${p.path}part-0.parquet` }));
        rows = written.reduce((sum, p) => sum + p.rows, 0);
        partitions = written.map((p) => ({
          values: p.values,
          location: `${statement.location}${p.path}`,
          rows: p.rows,
          bytes: p.bytes,
        }));
      } else {
        const file = join(dir, 'part-0.parquet');
        rows = await this.views.run(statement.select, database, scan, async (c) => {
          const reader = await c.runAndReadAll(
            `COPY (\n${statement.select}\n) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION ${compression})`,
          );
          return Number(reader.getRowsJS()[0]?.[0] ?? 0);
        });
        uploads = [{ file, key: `${prefix}part-0.parquet` }];
      }
      for (const { file, key } of uploads) {
        await this.options.s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(file) }),
        );
      }
      const files = uploads.map(({ key }) => `s3://${bucket}/${key}`);
      if (this.options.outputLocation) {
        const out = parseS3Uri(this.options.outputLocation);
        await this.options.s3.send(
          new PutObjectCommand({
            Bucket: out.bucket,
            Key: `${out.prefix}${id}-manifest.csv`,
            Body: files.map((f) => `${f}\n`).join(''),
          }),
        );
      }
      const result: UnloadResult = {
        queryExecutionId: id,
        location: statement.location,
        files,
        rows,
        bytesRead: scan.bytes,
        bytesWritten: uploads.reduce((sum, { file }) => sum + statSync(file).size, 0),
        partitionedBy: [...statement.partitionedBy],
        partitions,
        ms: Date.now() - started,
      };
      this.unloads.set(statement.location, result);
      return result;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Runs a MERGE INTO an Iceberg table (see the module comment); the statement runs unchanged. The
   * target's snapshot is the one the catalog names when this is called (read before anything awaits).
   */
  async merge(
    sql: string,
    database: string | undefined,
    id: string,
    scan: Scan = { bytes: 0 },
  ): Promise<MergeResult> {
    const target = mergeTarget(sql, database);
    const name = `${target.database}.${target.table}`;
    const { catalog, s3 } = this.options;
    if (!catalog.tableNames(target.database).includes(target.table)) {
      throw new Error(`TABLE_NOT_FOUND: Table 'awsdatacatalog.${name}' does not exist`);
    }
    const partitionColumns = catalog.icebergPartitionColumns(target.database, target.table);
    if (!partitionColumns) {
      throw new Error(
        `NOT_SUPPORTED: Modifying Hive table rows is only supported for Iceberg tables (${name} is a Hive table)`,
      );
    }
    checkAthenaSql(sql, `MERGE INTO ${name}`);
    const { Table } = catalog.getTable({ DatabaseName: target.database, Name: target.table });
    const expected = Table.Parameters?.metadata_location;
    const location = Table.StorageDescriptor?.Location;
    if (!location) throw new Error(`ICEBERG_MISSING_METADATA: ${name} has no location`);
    const previous = expected
      ? { metadataLocation: expected, snapshot: await readSnapshot(s3, expected) }
      : undefined;
    const pruning = mergeTargetPruning(sql, partitionColumns);
    const pinned: PinnedTarget = { ...target, snapshot: previous?.snapshot, pruning };
    const { rowsAffected, written } = await this.views.run(
      sql,
      database,
      scan,
      (c) =>
        mergeIntoSnapshot(sql, {
          s3,
          connection: c,
          table: `${sqlIdent(target.database)}.${sqlIdent(target.table)}`,
          location,
          partitionColumns,
          previous,
          workDir: this.workDir,
          loaded: (partition) => isRead(pruning, partition),
        }),
      pinned,
    );
    if (written) {
      try {
        catalog.commitIcebergMetadata(target.database, target.table, expected, written.metadataLocation);
      } catch (e) {
        if ((e as Error).name !== 'Glue.ConcurrentModificationException') throw e;
        await deleteSnapshotFiles(s3, written).catch(() => undefined); // orphans are harmless: never listed
        throw new Error(
          `ICEBERG_COMMIT_ERROR: Failed to commit Iceberg update to table: ${name}: ${(e as Error).message}`,
        );
      }
    }
    const result: MergeResult = {
      queryExecutionId: id,
      table: name,
      rowsAffected,
      metadataLocation: written?.metadataLocation,
      filesWritten: written?.written.length ?? 0,
      filesKept: written?.kept.length ?? 0,
      partitionsRemoved: written?.removedPartitions ?? 0,
      bytesWritten: written?.written.reduce((sum, f) => sum + f.bytes, 0) ?? 0,
    };
    this.merges.set(name, result);
    return result;
  }
}
