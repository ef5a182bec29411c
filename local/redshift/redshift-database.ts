/**
 * One Redshift database of the stand-in: a PGlite (WASM PostgreSQL 17, in a worker thread: see
 * `pglite-host.ts`) persisted in a directory of its own, with the session the Data API's statements run in.
 *
 * Statements run as the role {@link DATA_API_ROLE}, not as PGlite's superuser: the role owns the database
 * (so it creates schemas and tables, as the workgroup's admin does) but only reads the schemas that hold
 * the Spectrum tables, which the superuser loads and owns. So any statement writing into an external
 * schema (INSERT, UPDATE, DELETE, TRUNCATE, DROP, ALTER, CREATE TABLE in it, ...) fails with PostgreSQL's
 * privilege error, with no guess at which statements write. The emulator's own bookkeeping (which
 * external schema reads which Glue database, which catalog entry each loaded table came from) lives in
 * the superuser's schema {@link BOOKKEEPING_SCHEMA}, in the same transactions as the tables it describes.
 *
 * Every Data API call gets a fresh session, as one without `SessionId` does in Redshift: what a statement
 * leaves (an open transaction, temporary tables, SET parameters) is discarded before the next, and the
 * session's time zone is UTC (Redshift's default).
 */
import { mkdirSync } from 'node:fs';
import { PgliteWorker } from './pglite-worker';

/** The role the Data API's statements run as. */
export const DATA_API_ROLE = 'redshift_data_api';
/** The superuser's schema of the emulator's bookkeeping (not readable by {@link DATA_API_ROLE}). */
export const BOOKKEEPING_SCHEMA = 'medallion_spectrum';

const SETUP = `
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${DATA_API_ROLE}') THEN
    CREATE ROLE ${DATA_API_ROLE} NOLOGIN;
  END IF;
  -- Owning the database gives CREATE (schemas) and TEMP. (PGlite fails a plain GRANT ... ON DATABASE.)
  EXECUTE format('ALTER DATABASE %I OWNER TO ${DATA_API_ROLE}', current_database());
END $$;
GRANT CREATE, USAGE ON SCHEMA public TO ${DATA_API_ROLE};
CREATE SCHEMA IF NOT EXISTS ${BOOKKEEPING_SCHEMA};
CREATE TABLE IF NOT EXISTS ${BOOKKEEPING_SCHEMA}.external_schemas (
  schema_name text PRIMARY KEY,
  glue_database text NOT NULL
);
CREATE TABLE IF NOT EXISTS ${BOOKKEEPING_SCHEMA}.loaded_tables (
  schema_name text NOT NULL,
  table_name text NOT NULL,
  fingerprint text NOT NULL,
  row_count bigint NOT NULL,
  -- The loaded table's column definitions: a reload with the same ones truncates instead of dropping.
  columns text NOT NULL,
  PRIMARY KEY (schema_name, table_name)
);
`;

export class RedshiftDatabase {
  private constructor(
    readonly name: string,
    readonly pg: PgliteWorker,
  ) {}

  /** Opens (or creates) the database persisted in `dir`, in a fresh session. */
  static async open(name: string, dir: string): Promise<RedshiftDatabase> {
    mkdirSync(dir, { recursive: true });
    const pg = await PgliteWorker.open(dir);
    await pg.exec(SETUP);
    const database = new RedshiftDatabase(name, pg);
    await database.newSession();
    return database;
  }

  /**
   * Discards what the last call left (see the module comment): an open transaction is rolled back, then
   * the session is reset, in UTC, as {@link DATA_API_ROLE}.
   */
  async newSession(): Promise<void> {
    if (this.pg.isInTransaction()) await this.pg.exec('ROLLBACK');
    // Alone: several statements in one simple query form a transaction block, which DISCARD refuses.
    await this.pg.exec('DISCARD ALL');
    await this.pg.exec(`SET TIME ZONE 'UTC'; SET ROLE ${DATA_API_ROLE}`);
  }

  /**
   * Runs `work` as the superuser (the Spectrum loader's and the bookkeeping's statements), then back as
   * {@link DATA_API_ROLE}. In a transaction `work` aborted, the SET back is refused, but the ROLLBACK that
   * must follow undoes the RESET too.
   */
  async asSuperuser<T>(work: () => Promise<T>): Promise<T> {
    await this.pg.exec('RESET ROLE');
    try {
      return await work();
    } finally {
      await this.pg.exec(`SET ROLE ${DATA_API_ROLE}`).catch((e: unknown) => {
        if (!this.pg.isInTransaction()) throw e;
      });
    }
  }

  /** False once its PGlite worker ended (closed, or crashed). */
  get alive(): boolean {
    return this.pg.alive;
  }

  async close(): Promise<void> {
    await this.pg.close();
  }
}
