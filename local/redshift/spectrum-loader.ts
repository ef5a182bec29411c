/**
 * Redshift Spectrum, emulated by loading: the Glue tables an external schema exposes are copied into
 * PGlite tables of the same names before a statement reads them.
 *
 * `CREATE EXTERNAL SCHEMA [IF NOT EXISTS] <schema> FROM DATA CATALOG DATABASE '<db>' ...` records that
 * `<schema>` reads Glue database `<db>` and creates a PostgreSQL schema `<schema>` (owned by the
 * superuser, readable by the Data API's role: see `redshift-database.ts`) to hold the loaded tables.
 *
 * Before a statement runs, every `<schema>.<table>` it names outside literals and comments (see
 * `sql-names.ts`) whose schema is external and whose table the Glue database holds is loaded, unless it
 * was loaded from the same catalog entry before: the entry's fingerprint is a hash of the table's
 * location, columns, partition keys and parameters (an Iceberg table's `metadata_location` among them),
 * its registered partitions (values and locations) and, for a Hive table read from whatever lies under its
 * location (partition projection, or no partition keys), the keys and ETags of those objects, which change
 * without the catalog entry changing. Repeated runs over unchanged silver load nothing. A named table the
 * Glue database no longer holds is dropped, so the statement fails as it would in Redshift.
 *
 * A load reads the table with DuckDB through the local Athena's `CatalogViews` (Hive-partitioned and
 * Iceberg tables resolved from the local S3 server alike), writes it as CSV files of at most 64 MB, and
 * copies them into PGlite with `COPY ... FROM '/dev/blob'` (about 6 times the rows per second of batched
 * parameterized INSERTs, measured), in the statement's transaction: a statement that fails takes its load
 * back with it. Column types follow `column-types.ts`; a Glue column of a nested type fails the statement.
 * A table whose columns did not change is truncated and refilled, so a view over it survives the reload;
 * one whose columns changed is dropped and created again (failing, as PostgreSQL does, while a view
 * depends on it).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { parseExternalSchema } from '../../core/gold/redshift-sql';
import { sqlIdent, sqlString } from '../../core/sql/quote';
import { type CatalogViews, objectsUnder, openCatalogViews } from '../gold/catalog-views';
import { type LocalGlueCatalog, parseS3Uri } from '../gold/glue-catalog';
import type { ObjectCache } from '../gold/object-cache';
import { pgTypeOfDuckDb, refuseNestedGlueType } from './column-types';
import { BOOKKEEPING_SCHEMA, DATA_API_ROLE, type RedshiftDatabase } from './redshift-database';
import { qualifiedNames } from './sql-names';

/** Bumped when what a load produces changes, so tables loaded before are loaded again. */
const LOADER_VERSION = 1;
/** The most bytes of CSV handed to PGlite at once. */
const CSV_FILE_BYTES = '64MB';

/** One table the loader copied into PGlite. */
export interface SpectrumLoad {
  /** The Redshift database it was loaded into. */
  readonly database: string;
  readonly schema: string;
  readonly table: string;
  readonly glueDatabase: string;
  readonly rows: number;
  /** Reading with DuckDB and copying into PGlite, together. */
  readonly ms: number;
}

export interface SpectrumLoaderOptions {
  readonly s3: S3Client;
  readonly catalog: LocalGlueCatalog;
  /** The objects fetched from S3 go under `<dir>/cache`, the CSV files under `<dir>/work`. */
  readonly dir: string;
}

interface LoadedTable {
  readonly fingerprint: string;
  readonly columns: string;
}

export class SpectrumLoader {
  /** Every load, oldest first (a statement that failed keeps its loads here, not in the database). */
  readonly loads: SpectrumLoad[] = [];
  private readonly views: CatalogViews;
  private readonly cache: ObjectCache;
  private readonly workDir: string;

  constructor(private readonly options: SpectrumLoaderOptions) {
    ({
      cache: this.cache,
      views: this.views,
      workDir: this.workDir,
    } = openCatalogViews({
      s3: options.s3,
      catalog: options.catalog,
      dir: options.dir,
    }));
  }

  /** Drops the fetched objects no load of this loader read (see `ObjectCache.prune`); how many. */
  pruneCache(): number {
    return this.cache.prune();
  }

  /** True when `statement` is a `CREATE EXTERNAL SCHEMA ... FROM DATA CATALOG`. */
  static isExternalSchema(statement: string): boolean {
    return parseExternalSchema(statement) !== undefined;
  }

  /** Runs a `CREATE EXTERNAL SCHEMA` (see the module comment). */
  async createExternalSchema(db: RedshiftDatabase, statement: string): Promise<void> {
    const parsed = parseExternalSchema(statement);
    if (!parsed) throw new Error(`not a CREATE EXTERNAL SCHEMA: ${statement}`);
    const ifNotExists = /^\s*CREATE\s+EXTERNAL\s+SCHEMA\s+IF\s+NOT\s+EXISTS\b/i.test(statement);
    await db.asSuperuser(async () => {
      const exists = await db.pg.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [parsed.schema]);
      if (exists.rows.length > 0 && ifNotExists) return;
      // Without IF NOT EXISTS, an existing schema fails here with PostgreSQL's "already exists".
      await db.pg.exec(
        `CREATE SCHEMA ${sqlIdent(parsed.schema)};
         GRANT USAGE ON SCHEMA ${sqlIdent(parsed.schema)} TO ${DATA_API_ROLE};
         INSERT INTO ${BOOKKEEPING_SCHEMA}.external_schemas VALUES (${sqlString(parsed.schema)}, ${sqlString(parsed.database)})`,
      );
    });
  }

  /** The external schemas of `db`: schema -> Glue database. */
  async externalSchemas(db: RedshiftDatabase): Promise<Map<string, string>> {
    const result = await db.asSuperuser(() =>
      db.pg.query<{ schema_name: string; glue_database: string }>(
        `SELECT schema_name, glue_database FROM ${BOOKKEEPING_SCHEMA}.external_schemas`,
      ),
    );
    return new Map(result.rows.map((r) => [r.schema_name, r.glue_database]));
  }

  /**
   * Loads the external tables `sql` names whose catalog entry changed since they were loaded (see the
   * module comment), in the current transaction; the external schemas `sql` names.
   */
  async loadReferenced(db: RedshiftDatabase, sql: string): Promise<string[]> {
    const schemas = await this.externalSchemas(db);
    const named = new Set<string>();
    if (schemas.size === 0) return [];
    for (const { schema, table } of qualifiedNames(sql)) {
      const glueDatabase = schemas.get(schema);
      if (glueDatabase === undefined) continue;
      named.add(schema);
      const loaded = await this.loaded(db, schema, table);
      if (!this.options.catalog.tableNames(glueDatabase).includes(table)) {
        if (loaded) await this.drop(db, schema, table);
        continue;
      }
      const fingerprint = await this.fingerprint(glueDatabase, table);
      if (loaded?.fingerprint === fingerprint) continue;
      await this.load(db, { schema, table, glueDatabase, fingerprint, loaded });
    }
    return [...named];
  }

  /** The fingerprint of a Glue table's entry (see the module comment). */
  private async fingerprint(database: string, table: string): Promise<string> {
    const { catalog, s3 } = this.options;
    const { Table } = catalog.getTable({ DatabaseName: database, Name: table });
    const iceberg = catalog.icebergPartitionColumns(database, table) !== undefined;
    const partitionKeys = iceberg ? [] : (Table.PartitionKeys ?? []);
    const registered =
      partitionKeys.length > 0 && Table.Parameters?.['projection.enabled']?.toLowerCase() !== 'true';
    const location = Table.StorageDescriptor?.Location;
    let objects: [string, string | undefined][] = [];
    if (!iceberg && !registered && location) {
      const { bucket, prefix } = parseS3Uri(location);
      objects = (await objectsUnder(s3, bucket, prefix, true)).map((o) => [o.key, o.etag]);
    }
    const entry = {
      loader: LOADER_VERSION,
      location,
      columns: Table.StorageDescriptor?.Columns?.map((c) => [c.Name, c.Type]),
      partitionKeys: Table.PartitionKeys?.map((c) => [c.Name, c.Type]),
      parameters: Object.entries(Table.Parameters ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      partitions: registered
        ? catalog.partitions(database, table).map((p) => [p.Values, p.StorageDescriptor?.Location])
        : [],
      objects,
    };
    return createHash('sha256').update(JSON.stringify(entry)).digest('hex');
  }

  private async loaded(
    db: RedshiftDatabase,
    schema: string,
    table: string,
  ): Promise<LoadedTable | undefined> {
    const result = await db.asSuperuser(() =>
      db.pg.query<LoadedTable>(
        `SELECT fingerprint, columns FROM ${BOOKKEEPING_SCHEMA}.loaded_tables WHERE schema_name = $1 AND table_name = $2`,
        [schema, table],
      ),
    );
    return result.rows[0];
  }

  private async drop(db: RedshiftDatabase, schema: string, table: string): Promise<void> {
    await db.asSuperuser(() =>
      db.pg.exec(
        `DROP TABLE IF EXISTS ${sqlIdent(schema)}.${sqlIdent(table)};
         DELETE FROM ${BOOKKEEPING_SCHEMA}.loaded_tables WHERE schema_name = ${sqlString(schema)} AND table_name = ${sqlString(table)}`,
      ),
    );
  }

  /** Reads the Glue table with DuckDB and copies it into `<schema>.<table>` (see the module comment). */
  private async load(
    db: RedshiftDatabase,
    target: {
      schema: string;
      table: string;
      glueDatabase: string;
      fingerprint: string;
      loaded: LoadedTable | undefined;
    },
  ): Promise<void> {
    const { schema, table, glueDatabase } = target;
    const started = Date.now();
    const name = `${glueDatabase}.${table}`;
    const { Table } = this.options.catalog.getTable({ DatabaseName: glueDatabase, Name: table });
    for (const c of [...(Table.StorageDescriptor?.Columns ?? []), ...(Table.PartitionKeys ?? [])]) {
      refuseNestedGlueType(name, c.Name, c.Type);
    }
    mkdirSync(this.workDir, { recursive: true });
    const dir = mkdtempSync(join(this.workDir, 'spectrum-'));
    try {
      const csvDir = join(dir, 'csv');
      const source = `${sqlIdent(glueDatabase)}.${sqlIdent(table)}`;
      const columns = await this.views.run(`SELECT * FROM ${source}`, undefined, { bytes: 0 }, async (c) => {
        const described = (await c.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRowObjectsJson();
        const cols = described.map((r) => {
          const column = String(r.column_name);
          const duckDbType = String(r.column_type);
          return { column, duckDbType, pgType: pgTypeOfDuckDb(name, column, duckDbType) };
        });
        // Text as PostgreSQL's CSV reads it: strings always quoted (an empty string is no NULL), bytes
        // in bytea's hex form.
        const select = cols.map(({ column, duckDbType }) =>
          duckDbType === 'BLOB'
            ? `'\\x' || hex(${sqlIdent(column)}) AS ${sqlIdent(column)}`
            : sqlIdent(column),
        );
        const quoted = cols.filter((col) => col.duckDbType === 'VARCHAR').map((col) => sqlIdent(col.column));
        await c.run(
          `COPY (SELECT ${select.join(', ')} FROM ${source}) TO ${sqlString(csvDir)} ` +
            `(FORMAT csv, HEADER false, FILE_SIZE_BYTES '${CSV_FILE_BYTES}'${quoted.length > 0 ? `, FORCE_QUOTE (${quoted.join(', ')})` : ''})`,
        );
        return cols;
      });
      const definition = columns.map((c) => `${sqlIdent(c.column)} ${c.pgType}`).join(', ');
      const files = existsSync(csvDir)
        ? readdirSync(csvDir)
            .sort()
            .map((f) => join(csvDir, f))
        : [];
      const qualified = `${sqlIdent(schema)}.${sqlIdent(table)}`;
      const rows = await db.asSuperuser(async () => {
        if (target.loaded?.columns === definition) await db.pg.exec(`TRUNCATE ${qualified}`);
        else {
          await db.pg.exec(
            `DROP TABLE IF EXISTS ${qualified};
             CREATE TABLE ${qualified} (${definition});
             GRANT SELECT ON ${qualified} TO ${DATA_API_ROLE}`,
          );
        }
        let count = 0;
        for (const file of files) {
          const copied = await db.pg.query(`COPY ${qualified} FROM '/dev/blob' WITH (FORMAT csv)`, [], {
            blob: readFileSync(file),
          });
          count += copied.affectedRows;
        }
        await db.pg.query(
          `INSERT INTO ${BOOKKEEPING_SCHEMA}.loaded_tables VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (schema_name, table_name)
           DO UPDATE SET fingerprint = EXCLUDED.fingerprint, row_count = EXCLUDED.row_count, columns = EXCLUDED.columns`,
          [schema, table, target.fingerprint, count, definition],
        );
        return count;
      });
      this.loads.push({ database: db.name, schema, table, glueDatabase, rows, ms: Date.now() - started });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
