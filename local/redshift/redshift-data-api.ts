/**
 * The Redshift Data API, locally, standing in for Redshift Serverless: `executeStatement`,
 * `batchExecuteStatement`, `describeStatement`, `getStatementResult` and `cancelStatement` take and return
 * what the Step Functions integrations `aws-sdk:redshiftdata:*` do (plain JSON, timestamps as ISO text),
 * over PGlite (a WASM PostgreSQL 17, in a worker thread), one persisted PGlite per Database under
 * `<dir>/databases/`.
 *
 * Statements run asynchronously, as in Redshift: execute returns the Id at once; describe reports
 * SUBMITTED while the statement waits, STARTED while it runs, then FINISHED, FAILED (with `Error:
 * "ERROR: <PostgreSQL's message>"`) or ABORTED. PGlite is one connection, so statements run one at a
 * time, in submission order, across all databases: two branches' transactions never interleave. A batch's
 * Sqls run as one transaction (all or nothing, as the API's default); its sub-statements are `<Id>:<n>`.
 * Each call runs in a fresh session, in UTC (see `redshift-database.ts`).
 *
 * Redshift SQL the workflow sends (`core/gold/redshift-sql.ts`) and how it runs here:
 *   - `CREATE EXTERNAL SCHEMA ... FROM DATA CATALOG DATABASE '<db>' IAM_ROLE default` and reads of external
 *     tables: Spectrum, emulated by loading the Glue tables into PGlite (`spectrum-loader.ts`); writes into
 *     an external schema fail (`permission denied ...`, plus a note that Spectrum tables are read-only).
 *   - `UNLOAD (...) TO 's3://...' IAM_ROLE default FORMAT AS PARQUET [PARTITION BY (...)] [KMS_KEY_ID ...
 *     ENCRYPTED]`: `redshift-unload.ts`.
 *   - Everything else runs on PGlite unchanged. The build, swap and schema statements (DROP TABLE IF EXISTS,
 *     CREATE TABLE AS, CREATE TABLE IF NOT EXISTS (LIKE ...), ALTER TABLE ... RENAME TO, CREATE SCHEMA IF
 *     NOT EXISTS) are PostgreSQL as written: none is translated.
 *
 * Not emulated (what passes or behaves differently here than on Redshift Serverless):
 *   - Dialect. PostgreSQL 17 accepts much Redshift refuses: `FILTER (WHERE ...)` on aggregates, LATERAL,
 *     arrays and array functions, `jsonb`, GENERATED columns, `INSERT ... ON CONFLICT`, RETURNING, most of
 *     PostgreSQL's function library. It refuses Redshift-only syntax: DISTKEY/SORTKEY/DISTSTYLE/ENCODE/
 *     BACKUP clauses, IDENTITY(seed, step), NVL, NVL2, DECODE(expr, search, result, ...), GETDATE(),
 *     DATEADD/DATEDIFF, CONVERT_TIMEZONE, LISTAGG, APPROXIMATE COUNT, QUALIFY, PIVOT/UNPIVOT, SUPER and
 *     PartiQL, late-binding views (`WITH NO SCHEMA BINDING`), `COPY ... FROM 's3://...'`, ALTER TABLE
 *     APPEND, VACUUM's Redshift options. Athena's `double` (as in `CAST(x AS double)`) is no type here:
 *     `double precision` and `float8` are. A model that runs here can still fail there, and the other way
 *     round. Redshift's `CREATE TABLE (LIKE ...)` also copies distribution and sort keys, which do not exist
 *     here.
 *   - Semantics. Lengths: varchar(n) counts characters here and bytes in Redshift; an unsized varchar
 *     (what CREATE TABLE AS and the Spectrum loads make of strings) is unlimited here, varchar(256) in
 *     Redshift, which also turns `text` into varchar(256); a value longer than its column is an error
 *     there, never here. Numbers: integer `/` truncates in both, but the precision and scale of numeric
 *     arithmetic and aggregates follow PostgreSQL (an unconstrained numeric: 7.0/2 = 3.5000000000000000),
 *     not Redshift's rules (at most 38 digits, its documented result scales), so a ROUND or a CAST of a
 *     computed decimal may differ in its last digit. Identifiers: quoted ones are case-sensitive here,
 *     case-insensitive in Redshift unless `enable_case_sensitive_identifier` is on. Text sorts in byte
 *     order here (collation C); Redshift's case-insensitive collations are not emulated. `current_user`
 *     is `redshift_data_api`.
 *   - Engine. No distribution, sort keys, compression encodings, zone maps or slices; one statement at a
 *     time, so none of Redshift's concurrent-transaction conflicts (serializable or snapshot isolation
 *     errors such as 1023) can happen here.
 *   - System tables and views (STL_*, STV_*, SVV_*, SYS_*, PG_TABLE_DEF, SVV_EXTERNAL_TABLES, ...) do not
 *     exist; PostgreSQL's catalogs answer instead. The bookkeeping schema `medallion_spectrum` exists only
 *     here.
 *   - Spectrum. Tables are copied in when a statement names them as `schema.table` (no search_path lookup
 *     of external tables), whole: no partition pruning, no scan accounting; only scalar types (a nested
 *     array/struct/map column fails the statement); no pseudo-columns (`$path`, `$size`,
 *     `$spectrum_oid`); INSERT INTO an external table (which Redshift supports, writing files to S3) and
 *     CREATE EXTERNAL TABLE fail; DROP SCHEMA of an external schema fails (the Data API's role does not
 *     own it); the Glue database named by CREATE EXTERNAL SCHEMA is not checked to exist; a view over an
 *     external table is an ordinary bound view (Redshift requires late binding).
 *   - UNLOAD. One file per directory (Redshift writes one or more per slice, `0000_part_00`,
 *     `0001_part_00`, ...: readers must not assume one); a SELECT of no row writes no file; only the
 *     options above (no ALLOWOVERWRITE, MAXFILESIZE, PARALLEL, MANIFEST, INCLUDE, CSV/JSON, ROWGROUPSIZE,
 *     EXTENSION); the KMS key is not applied (the local S3 server stores objects unencrypted); an UNLOAD
 *     in a batch that later fails keeps its files (S3 writes are no part of the transaction, in Redshift
 *     either); Parquet types follow `column-types.ts`, which may differ from Redshift's for computed
 *     numeric columns.
 *   - Data API. ExecuteStatement takes exactly one statement; no SessionId/SessionKeepAliveSeconds (each
 *     call is a fresh session), no Parameters, no ListStatements/DescribeTable/ListDatabases/ListSchemas/
 *     ListTables, no result paging (one page, never a NextToken; Redshift pages at 100 MB); statements are
 *     kept in memory until close (Redshift keeps them 24 h); Duration and ResultRows are -1 until the end,
 *     and ResultRows is 0 for CREATE TABLE AS; cancelStatement stops a statement only before it starts
 *     or, in a batch, before its next sub-statement or its COMMIT (what runs in PGlite completes);
 *     SecretArn and DbUser are echoed, not checked; no quotas (ActiveStatementsExceededException).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { parseRedshiftUnload } from '../../core/gold/redshift-sql';
import type { LocalGlueCatalog } from '../gold/glue-catalog';
import { RedshiftDataError } from './redshift-data-errors';
import { RedshiftDatabase } from './redshift-database';
import { type RedshiftUnloadResult, runRedshiftUnload } from './redshift-unload';
import { type SpectrumLoad, SpectrumLoader } from './spectrum-loader';
import { type ColumnMetadata, type Field, type StatementResult, statementResult } from './statement-result';

export type StatementStatus = 'SUBMITTED' | 'PICKED' | 'STARTED' | 'FINISHED' | 'ABORTED' | 'FAILED';

/** The fields ExecuteStatement and BatchExecuteStatement share. */
interface StatementTarget {
  WorkgroupName?: string;
  ClusterIdentifier?: string;
  Database?: string;
  SecretArn?: string;
  DbUser?: string;
  StatementName?: string;
  WithEvent?: boolean;
  ClientToken?: string;
}

export interface ExecuteStatementInput extends StatementTarget {
  Sql: string;
  Parameters?: unknown[];
}

export interface BatchExecuteStatementInput extends StatementTarget {
  Sqls: string[];
}

export interface ExecuteStatementOutput {
  Id: string;
  CreatedAt: string;
  Database: string;
  WorkgroupName?: string;
  ClusterIdentifier?: string;
  SecretArn?: string;
  DbUser?: string;
}

export interface SubStatementData {
  Id: string;
  Status: StatementStatus;
  QueryString: string;
  HasResultSet: boolean;
  ResultRows: number;
  Duration: number;
  CreatedAt: string;
  UpdatedAt: string;
  Error?: string;
}

export interface DescribeStatementOutput extends SubStatementData {
  Database: string;
  WorkgroupName?: string;
  ClusterIdentifier?: string;
  SecretArn?: string;
  DbUser?: string;
  SubStatements?: SubStatementData[];
}

export interface GetStatementResultOutput {
  Records: Field[][];
  ColumnMetadata: ColumnMetadata[];
  TotalNumRows: number;
}

export interface LocalRedshiftDataOptions {
  /** The local S3 server: Spectrum reads the lake from it, UNLOAD writes to it. */
  readonly s3: S3Client;
  /** The local Glue catalog the external schemas read. */
  readonly catalog: LocalGlueCatalog;
  /**
   * Persisted state: `<dir>/databases/<database>` (PGlite's data), `<dir>/spectrum` (objects fetched and
   * CSV written to load external tables), `<dir>/work` (UNLOAD's files before upload).
   */
  readonly dir: string;
  /**
   * Describe reports a statement that ended as STARTED until it has been running this long (default 0):
   * lets a test see a workflow's Wait/Describe/Choice loop go round even for instant statements.
   */
  readonly minimumRunningMs?: number;
}

/** The most Sqls a BatchExecuteStatement takes. */
const MAX_BATCH_SQLS = 40;

interface SubStatement {
  readonly id: string;
  readonly sql: string;
  status: StatementStatus;
  error?: string;
  updatedAt: Date;
  startedAt?: number;
  endedAt?: number;
  hasResultSet: boolean;
  resultRows: number;
  result?: StatementResult;
  /** The external schemas the statement names (known once its Spectrum loads ran). */
  externalSchemas: string[];
}

interface Statement {
  readonly id: string;
  readonly input: StatementTarget;
  readonly database: string;
  readonly batch: boolean;
  readonly subs: SubStatement[];
  readonly createdAt: Date;
  status: StatementStatus;
  error?: string;
  updatedAt: Date;
  startedAt?: number;
  endedAt?: number;
  cancelRequested: boolean;
}

/** Thrown inside a run when a cancel request stops it. */
class Cancelled extends Error {}

const ENDED: ReadonlySet<StatementStatus> = new Set(['FINISHED', 'FAILED', 'ABORTED']);
/** How often {@link LocalRedshiftData.settled} looks at a running statement. */
const SETTLED_POLL_MS = 10;

export class LocalRedshiftData {
  /** Every UNLOAD that succeeded, by target location. */
  readonly unloads = new Map<string, RedshiftUnloadResult>();
  private readonly statements = new Map<string, Statement>();
  private readonly databases = new Map<string, Promise<RedshiftDatabase>>();
  private readonly spectrum: SpectrumLoader;
  private tail: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: LocalRedshiftDataOptions) {
    this.spectrum = new SpectrumLoader({
      s3: options.s3,
      catalog: options.catalog,
      dir: join(options.dir, 'spectrum'),
    });
  }

  /**
   * Drops the objects fetched for Spectrum loads that no load of this instance read (the loaded rows are
   * in PGlite; the files only spare downloads when a table is loaded again); how many were dropped.
   */
  pruneSpectrumCache(): number {
    return this.spectrum.pruneCache();
  }

  /** Every external table loaded into PGlite, oldest first (see `spectrum-loader.ts`). */
  get spectrumLoads(): readonly SpectrumLoad[] {
    return this.spectrum.loads;
  }

  /** `redshift-data:ExecuteStatement`: queues one statement; its Id at once. */
  executeStatement(input: ExecuteStatementInput): ExecuteStatementOutput {
    if (typeof input.Sql !== 'string' || input.Sql.trim() === '') {
      throw new RedshiftDataError('ValidationException', 'Sql must be a non-empty string.');
    }
    if (input.Parameters !== undefined) {
      throw new RedshiftDataError(
        'ValidationException',
        'Parameters are not emulated by the local Redshift Data API.',
      );
    }
    return this.submit(input, [input.Sql], false);
  }

  /** `redshift-data:BatchExecuteStatement`: queues the Sqls as one transaction; its Id at once. */
  batchExecuteStatement(input: BatchExecuteStatementInput): ExecuteStatementOutput {
    const sqls = input.Sqls;
    if (
      !Array.isArray(sqls) ||
      sqls.length === 0 ||
      sqls.some((s) => typeof s !== 'string' || s.trim() === '')
    ) {
      throw new RedshiftDataError('ValidationException', 'Sqls must be a list of non-empty strings.');
    }
    if (sqls.length > MAX_BATCH_SQLS) {
      throw new RedshiftDataError(
        'ValidationException',
        `Sqls holds ${sqls.length} statements; a batch takes at most ${MAX_BATCH_SQLS}.`,
      );
    }
    return this.submit(input, sqls, true);
  }

  /**
   * Resolves once statement `id` (or the batch of a sub-statement's id) has ended, or after `ms`: what a
   * poll loop's Wait would have let happen before its next status check. The local workflow waits here
   * instead of in its Wait states, so a statement's timeout (counted in polls) keeps its real length.
   */
  async settled(id: string, ms: number): Promise<void> {
    const { statement } = this.find(id);
    const until = performance.now() + ms;
    while (!ENDED.has(statement.status) && performance.now() < until) {
      await new Promise((r) =>
        setTimeout(r, Math.min(SETTLED_POLL_MS, Math.max(1, until - performance.now()))),
      );
    }
  }

  /** `redshift-data:DescribeStatement`, of a statement (`<Id>`) or a batch's sub-statement (`<Id>:<n>`). */
  describeStatement(input: { Id: string }): DescribeStatementOutput {
    const { statement, sub } = this.find(input.Id);
    const now = performance.now();
    if (sub) {
      return {
        ...this.describeSub(statement, sub, now),
        Database: statement.database,
        ...target(statement.input),
      };
    }
    const status = this.reported(statement.status, statement.startedAt, now);
    const ended = ENDED.has(status);
    const description: DescribeStatementOutput = {
      Id: statement.id,
      Status: status,
      QueryString: statement.subs.map((s) => s.sql).join(';\n'),
      HasResultSet: ended && statement.subs.some((s) => s.hasResultSet),
      ResultRows: ended ? statement.subs.reduce((sum, s) => sum + s.resultRows, 0) : -1,
      Duration: ended ? durationNs(statement.startedAt, statement.endedAt) : -1,
      CreatedAt: statement.createdAt.toISOString(),
      UpdatedAt: statement.updatedAt.toISOString(),
      Database: statement.database,
      ...target(statement.input),
      ...(status === 'FAILED' && statement.error !== undefined ? { Error: statement.error } : {}),
    };
    if (statement.batch)
      description.SubStatements = statement.subs.map((s) => this.describeSub(statement, s, now));
    return description;
  }

  /**
   * `redshift-data:GetStatementResult`: the result set of a statement that FINISHED with one (a batch's:
   * `<Id>:<n>`), in one page.
   */
  getStatementResult(input: { Id: string; NextToken?: string }): GetStatementResultOutput {
    const { statement, sub } = this.find(input.Id);
    const target = sub ?? (statement.batch ? undefined : statement.subs[0]);
    if (!target) {
      throw new RedshiftDataError(
        'ValidationException',
        `Statement ${input.Id} is a batch: ask for the result of a sub-statement (${input.Id}:<n>).`,
      );
    }
    const status = this.reported(target.status, target.startedAt, performance.now());
    if (status !== 'FINISHED' || !target.result) {
      throw new RedshiftDataError(
        'ResourceNotFoundException',
        `Query does not have result. Please check query status with DescribeStatement. (${target.id} is ${status}${status === 'FINISHED' ? ' without a result set' : ''})`,
      );
    }
    return {
      Records: target.result.records,
      ColumnMetadata: target.result.columns,
      TotalNumRows: target.result.records.length,
    };
  }

  /** `redshift-data:CancelStatement`: stops a statement that has not ended (see the module comment). */
  cancelStatement(input: { Id: string }): { Status: boolean } {
    const { statement } = this.find(input.Id);
    if (ENDED.has(statement.status)) {
      throw new RedshiftDataError(
        'ValidationException',
        `Could not cancel a query that is already in ${statement.status} state.`,
      );
    }
    statement.cancelRequested = true;
    return { Status: true };
  }

  /** Resolves once every statement submitted so far (and any submitted meanwhile) has ended. */
  async idle(): Promise<void> {
    let tail: Promise<void>;
    do {
      tail = this.tail;
      await tail;
    } while (tail !== this.tail);
  }

  /** Waits for the queued statements, then closes the databases (their data stays in `dir`). */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    const open = [...this.databases.values()];
    this.databases.clear();
    for (const db of open) await (await db.catch(() => undefined))?.close();
  }

  private submit(input: StatementTarget, sqls: readonly string[], batch: boolean): ExecuteStatementOutput {
    if (this.closed) throw new Error('LocalRedshiftData is closed');
    if (!input.WorkgroupName && !input.ClusterIdentifier) {
      throw new RedshiftDataError(
        'ValidationException',
        'Either WorkgroupName or ClusterIdentifier is required.',
      );
    }
    if (!input.Database) throw new RedshiftDataError('ValidationException', 'Database is required.');
    const id = randomUUID();
    const createdAt = new Date();
    const statement: Statement = {
      id,
      input,
      database: input.Database,
      batch,
      subs: sqls.map((sql, i) => ({
        id: batch ? `${id}:${i + 1}` : id,
        sql,
        status: 'SUBMITTED',
        updatedAt: createdAt,
        hasResultSet: false,
        resultRows: 0,
        externalSchemas: [],
      })),
      createdAt,
      status: 'SUBMITTED',
      updatedAt: createdAt,
      cancelRequested: false,
    };
    this.statements.set(id, statement);
    // Failures end as the statement's FAILED status, never as a rejection of the queue.
    this.tail = this.tail.then(() => this.run(statement)).catch(() => undefined);
    return {
      Id: id,
      CreatedAt: createdAt.toISOString(),
      Database: statement.database,
      ...target(input),
    };
  }

  /** Runs a statement or batch (see the module comment); never throws. */
  private async run(statement: Statement): Promise<void> {
    const set = (s: Statement | SubStatement, status: StatementStatus, error?: string) => {
      s.status = status;
      s.updatedAt = new Date();
      if (status === 'STARTED') s.startedAt = performance.now();
      else if (ENDED.has(status)) s.endedAt = performance.now();
      if (error !== undefined) s.error = error;
    };
    const abortRest = () => {
      for (const sub of statement.subs) if (!ENDED.has(sub.status)) set(sub, 'ABORTED');
    };
    if (statement.cancelRequested) {
      abortRest();
      set(statement, 'ABORTED');
      return;
    }
    set(statement, 'STARTED');
    let db: RedshiftDatabase;
    try {
      db = await this.database(statement.database);
    } catch (e) {
      abortRest();
      set(statement, 'FAILED', `ERROR: ${(e as Error).message}`);
      return;
    }
    try {
      if (statement.batch) await db.pg.exec('BEGIN');
      for (const sub of statement.subs) {
        if (statement.cancelRequested) throw new Cancelled();
        set(sub, 'STARTED');
        try {
          await this.runOne(db, sub, !statement.batch);
          set(sub, 'FINISHED');
        } catch (e) {
          set(sub, 'FAILED', errorText(e, sub.externalSchemas));
          throw e;
        }
      }
      if (statement.batch) {
        if (statement.cancelRequested) throw new Cancelled();
        await db.pg.exec('COMMIT');
      }
      set(statement, 'FINISHED');
    } catch (e) {
      if (db.pg.isInTransaction()) await db.pg.exec('ROLLBACK').catch(() => undefined);
      abortRest();
      if (e instanceof Cancelled) set(statement, 'ABORTED');
      else {
        const failed = statement.subs.find((s) => s.status === 'FAILED');
        set(statement, 'FAILED', failed?.error ?? `ERROR: ${(e as Error).message}`);
      }
    } finally {
      await db.newSession().catch(() => undefined);
    }
  }

  /**
   * Runs one SQL statement. `alone`: a statement of its own (ExecuteStatement) runs in autocommit, as in
   * Redshift, after its Spectrum loads (and an UNLOAD with them) committed in a transaction of their own;
   * a batch's statements run in the batch's transaction.
   */
  private async runOne(db: RedshiftDatabase, sub: SubStatement, alone: boolean): Promise<void> {
    const inTransaction = async (work: () => Promise<void>) => {
      if (!alone) return work();
      await db.pg.exec('BEGIN');
      await work();
      await db.pg.exec('COMMIT');
    };
    if (SpectrumLoader.isExternalSchema(sub.sql)) {
      await inTransaction(() => this.spectrum.createExternalSchema(db, sub.sql));
      return;
    }
    const unload = parseRedshiftUnload(sub.sql);
    if (unload) {
      await inTransaction(async () => {
        sub.externalSchemas = await this.spectrum.loadReferenced(db, unload.select);
        const result = await runRedshiftUnload(db, unload, {
          s3: this.options.s3,
          workDir: join(this.options.dir, 'work'),
          statementId: sub.id,
        });
        this.unloads.set(unload.location, result);
        sub.resultRows = result.rows;
      });
      return;
    }
    await inTransaction(async () => {
      sub.externalSchemas = await this.spectrum.loadReferenced(db, sub.sql);
    });
    const results = await db.pg.query<unknown[]>(sub.sql, [], { rowMode: 'array', text: true });
    if (results.fields.length > 0) {
      sub.result = await statementResult(db.pg, results.fields, results.rows);
      sub.hasResultSet = true;
      sub.resultRows = results.rows.length;
    } else sub.resultRows = results.affectedRows ?? 0;
  }

  /** The open database `name`, opened on first use (and again if its PGlite worker died). */
  private async database(name: string): Promise<RedshiftDatabase> {
    const open = await this.databases.get(name)?.catch(() => undefined);
    if (open?.alive) return open;
    const db = RedshiftDatabase.open(name, join(this.options.dir, 'databases', encodeURIComponent(name)));
    this.databases.set(name, db);
    db.catch(() => this.databases.delete(name));
    return db;
  }

  private find(id: string): { statement: Statement; sub?: SubStatement } {
    const m = /^(.*?)(?::(\d+))?$/.exec(String(id ?? '')) as RegExpExecArray;
    const statement = this.statements.get(m[1]);
    const sub = statement && m[2] !== undefined ? statement.subs[Number(m[2]) - 1] : undefined;
    if (!statement || (m[2] !== undefined && (!statement.batch || !sub))) {
      throw new RedshiftDataError('ResourceNotFoundException', `Query does not exist: ${id}`);
    }
    return { statement, sub };
  }

  /**
   * The status describe reports at `now` (`performance.now()`): see
   * {@link LocalRedshiftDataOptions.minimumRunningMs}.
   */
  private reported(status: StatementStatus, startedAt: number | undefined, now: number): StatementStatus {
    const minimum = this.options.minimumRunningMs ?? 0;
    if (ENDED.has(status) && startedAt !== undefined && now - startedAt < minimum) return 'STARTED';
    return status;
  }

  private describeSub(statement: Statement, sub: SubStatement, now: number): SubStatementData {
    const status = this.reported(sub.status, sub.startedAt, now);
    const ended = ENDED.has(status);
    return {
      Id: sub.id,
      Status: status,
      QueryString: sub.sql,
      HasResultSet: ended && sub.hasResultSet,
      ResultRows: ended ? sub.resultRows : -1,
      Duration: ended ? durationNs(sub.startedAt, sub.endedAt) : -1,
      CreatedAt: statement.createdAt.toISOString(),
      UpdatedAt: sub.updatedAt.toISOString(),
      ...(status === 'FAILED' && sub.error !== undefined ? { Error: sub.error } : {}),
    };
  }
}

/** The target fields a request gave, echoed in the answers. */
function target(input: StatementTarget): Partial<ExecuteStatementOutput> {
  return {
    ...(input.WorkgroupName === undefined ? {} : { WorkgroupName: input.WorkgroupName }),
    ...(input.ClusterIdentifier === undefined ? {} : { ClusterIdentifier: input.ClusterIdentifier }),
    ...(input.SecretArn === undefined ? {} : { SecretArn: input.SecretArn }),
    ...(input.DbUser === undefined ? {} : { DbUser: input.DbUser }),
  };
}

/**
 * A failed statement's Error, worded as Redshift's (`ERROR: <message>`); a privilege error of a statement
 * naming an external schema says why (see `redshift-database.ts`).
 */
function errorText(e: unknown, externalSchemas: readonly string[]): string {
  const message = e instanceof Error ? e.message : String(e);
  const readOnly =
    (e as { code?: unknown }).code === '42501' && externalSchemas.length > 0
      ? ` (external schema ${externalSchemas.map((s) => `"${s}"`).join(', ')}: Spectrum tables are read-only)`
      : '';
  return `ERROR: ${message}${readOnly}`;
}

const durationNs = (startedAt: number | undefined, endedAt: number | undefined): number =>
  startedAt === undefined || endedAt === undefined ? 0 : Math.round((endedAt - startedAt) * 1e6);
