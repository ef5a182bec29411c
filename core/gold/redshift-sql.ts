/**
 * The statements the gold workflow sends to Redshift Serverless through the Data API, built here for the
 * state machine (CDK) and parsed here by the local stand-in, so that what runs and what is emulated cannot
 * drift apart.
 *
 * Layout in the Redshift database:
 *   - an external schema named like the Glue database (`CREATE EXTERNAL SCHEMA "<db>" FROM DATA CATALOG`),
 *     so a model's rendered refs (`"<db>"."orders"`) read the silver tables (and the published gold
 *     tables a model depends on) through Redshift Spectrum, unchanged from Athena;
 *   - a local schema (`gold` by default) holding one table per model, which BI tools query.
 *
 * A full model is built as `<model>__next` (one transaction: drop a leftover, CREATE TABLE AS), unloaded as
 * Parquet into the run's version prefix of the gold bucket (so Athena readers see the same gold through the
 * Glue table the workflow switches), and then swapped in (one transaction of renames: readers of the
 * schema see the old table or the new one, never a partial one). That is dbt-redshift's table
 * materialization.
 */
import { sqlIdent, sqlString, sqlStringBody } from '../sql/quote';

/** The Redshift schema of the gold tables. */
export const REDSHIFT_GOLD_SCHEMA = 'gold';
/** Suffixes of a model's table while it is built and while it is swapped. */
export const NEXT_SUFFIX = '__next';
export const PREVIOUS_SUFFIX = '__previous';

/** A table of the gold schema, quoted. */
export const goldTable = (name: string, schema = REDSHIFT_GOLD_SCHEMA): string =>
  `${sqlIdent(schema)}.${sqlIdent(name)}`;

/** A model's SQL as a CREATE TABLE AS or UNLOAD wraps it: trimmed, a trailing ';' dropped. */
export function bareSelect(sql: string): string {
  return sql
    .trim()
    .replace(/;+\s*$/, '')
    .trim();
}

/**
 * Creates the external schema over the Glue database and the gold schema (both idempotent: run at the
 * start of every execution, so a new deployment or a dropped schema heals itself). `IAM_ROLE default` is
 * the namespace's default role: the Spectrum role, which reads the silver prefixes and writes the gold ones.
 */
export function redshiftSchemaStatements(glueDatabase: string, goldSchema = REDSHIFT_GOLD_SCHEMA): string[] {
  return [
    `CREATE EXTERNAL SCHEMA IF NOT EXISTS ${sqlIdent(glueDatabase)} FROM DATA CATALOG DATABASE ${sqlString(glueDatabase)} IAM_ROLE default`,
    `CREATE SCHEMA IF NOT EXISTS ${sqlIdent(goldSchema)}`,
  ];
}

/**
 * Builds `model`'s next table (one transaction): a leftover of a failed run is dropped, the model's SELECT
 * creates `<model>__next`, and the published table is created empty with the same columns when it does not
 * exist yet (so the swap's renames need no condition).
 */
export function redshiftBuildStatements(
  model: string,
  sql: string,
  goldSchema = REDSHIFT_GOLD_SCHEMA,
): string[] {
  const next = goldTable(`${model}${NEXT_SUFFIX}`, goldSchema);
  return [
    `DROP TABLE IF EXISTS ${next}`,
    `CREATE TABLE ${next} AS\n${bareSelect(sql)}\n`,
    `CREATE TABLE IF NOT EXISTS ${goldTable(model, goldSchema)} (LIKE ${next})`,
  ];
}

/** Swaps `<model>__next` in as `<model>` (one transaction of renames; the previous table is dropped). */
export function redshiftSwapStatements(model: string, goldSchema = REDSHIFT_GOLD_SCHEMA): string[] {
  const previous = `${model}${PREVIOUS_SUFFIX}`;
  return [
    `DROP TABLE IF EXISTS ${goldTable(previous, goldSchema)}`,
    `ALTER TABLE ${goldTable(model, goldSchema)} RENAME TO ${sqlIdent(previous)}`,
    `ALTER TABLE ${goldTable(`${model}${NEXT_SUFFIX}`, goldSchema)} RENAME TO ${sqlIdent(model)}`,
    `DROP TABLE ${goldTable(previous, goldSchema)}`,
  ];
}

/** The parts of a Redshift `UNLOAD ('<select>') TO '<s3 uri>' IAM_ROLE default FORMAT AS PARQUET ...`. */
export interface RedshiftUnload {
  readonly select: string;
  /** The S3 prefix the files are written under (ending with '/'). */
  readonly location: string;
  /** `PARTITION BY (...)` columns, in order; empty when absent. */
  readonly partitionBy: string[];
  /** `KMS_KEY_ID '<key>'` with `ENCRYPTED`; undefined for S3's default (SSE-S3). */
  readonly kmsKeyId: string | undefined;
}

/**
 * A Redshift UNLOAD as Parquet, split around its location: `before + location + after` (the location is
 * the run's version prefix, known at run time). `kmsKeyId` encrypts the files with the lake key (UNLOAD
 * uses SSE-S3 unless told: it does not apply the bucket's default key).
 */
export function redshiftUnloadStatement(
  select: string,
  options: { readonly kmsKeyId?: string; readonly partitionBy?: readonly string[] } = {},
): { before: string; after: string } {
  const partition =
    options.partitionBy && options.partitionBy.length > 0
      ? ` PARTITION BY (${options.partitionBy.map(sqlIdent).join(', ')})`
      : '';
  const kms = options.kmsKeyId ? ` KMS_KEY_ID ${sqlString(options.kmsKeyId)} ENCRYPTED` : '';
  return {
    before: `UNLOAD (${sqlString(bareSelect(select))}) TO '`,
    after: `' IAM_ROLE default FORMAT AS PARQUET${partition}${kms}`,
  };
}

/** The whole UNLOAD statement for a location known now (the incremental planner's). */
export function redshiftUnload(
  select: string,
  location: string,
  options: { readonly kmsKeyId?: string; readonly partitionBy?: readonly string[] } = {},
): string {
  const { before, after } = redshiftUnloadStatement(select, options);
  return `${before}${sqlStringBody(location)}${after}`;
}

/** A quoted string literal, its quotes doubled inside. */
const STRING = `'(?:[^']|'')*'`;
const unquote = (literal: string): string => literal.slice(1, -1).replace(/''/g, "'");

/** Parses a statement built by {@link redshiftUnload}; undefined when `statement` is no UNLOAD. */
export function parseRedshiftUnload(statement: string): RedshiftUnload | undefined {
  const m = new RegExp(
    `^\\s*UNLOAD\\s*\\(\\s*(${STRING})\\s*\\)\\s*TO\\s*(${STRING})\\s+IAM_ROLE\\s+default\\s+FORMAT\\s+AS\\s+PARQUET` +
      `(?:\\s+PARTITION\\s+BY\\s*\\(([^)]*)\\))?(?:\\s+KMS_KEY_ID\\s+(${STRING})\\s+ENCRYPTED)?\\s*;?\\s*$`,
    'i',
  ).exec(statement);
  if (!m) return undefined;
  const partitionBy = (m[3] ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '')
    .map((c) => (c.startsWith('"') ? c.slice(1, -1).replace(/""/g, '"') : c.toLowerCase()));
  return {
    select: unquote(m[1]),
    location: unquote(m[2]),
    partitionBy,
    kmsKeyId: m[4] === undefined ? undefined : unquote(m[4]),
  };
}

/**
 * Parses `CREATE EXTERNAL SCHEMA IF NOT EXISTS "<schema>" FROM DATA CATALOG DATABASE '<db>' ...`; undefined
 * when `statement` is not one.
 */
export function parseExternalSchema(statement: string): { schema: string; database: string } | undefined {
  const m =
    /^\s*CREATE\s+EXTERNAL\s+SCHEMA\s+(?:IF\s+NOT\s+EXISTS\s+)?("(?:[^"]|"")+"|\w+)\s+FROM\s+DATA\s+CATALOG\s+DATABASE\s+('(?:[^']|'')*')/i.exec(
      statement,
    );
  if (!m) return undefined;
  const schema = m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1].toLowerCase();
  return { schema, database: unquote(m[2]) };
}

/** What an incremental model's Redshift transaction needs. */
export interface RedshiftPartitionedWrite {
  readonly model: string;
  /** The date column the table is partitioned by (in S3). */
  readonly column: string;
  /** The table's columns in write order (the date column last). */
  readonly columns: readonly string[];
  /** The rows to write: a SELECT of `columns`. */
  readonly select: string;
  /** Where the dates written are unloaded: `<version>/0/` (one `<column>=<date>/` prefix per date). */
  readonly location: string;
  /** @default REDSHIFT_GOLD_SCHEMA */
  readonly schema?: string;
  /** The lake key for the unloaded files. */
  readonly kmsKeyId?: string;
}

/**
 * One transaction replacing an incremental model's rows of `dates` in its table (DELETE, then INSERT of
 * the recomputed rows) and unloading those dates under the version, partitioned by the date: the
 * workflow then switches the dates' Glue partitions. A date with no row left writes no prefix (the planner
 * deletes its partition). If any statement fails, nothing changed.
 */
export function redshiftReplaceDatesStatements(
  p: RedshiftPartitionedWrite & { readonly dates: readonly string[] },
): string[] {
  const table = goldTable(p.model, p.schema);
  const columns = p.columns.map(sqlIdent).join(', ');
  const dates = `${sqlIdent(p.column)} IN (${p.dates.map((d) => `DATE ${sqlString(d)}`).join(', ')})`;
  return [
    `DELETE FROM ${table} WHERE ${dates}`,
    `INSERT INTO ${table} (${columns})\n${bareSelect(p.select)}\n`,
    redshiftUnload(`SELECT ${columns} FROM ${table} WHERE ${dates}`, p.location, {
      partitionBy: [p.column],
      kmsKeyId: p.kmsKeyId,
    }),
  ];
}

/**
 * One transaction rebuilding an incremental model's table whole (build, swap) and unloading every date
 * under the version, partitioned by the date.
 */
export function redshiftRebuildPartitionedStatements(p: RedshiftPartitionedWrite): string[] {
  const columns = p.columns.map(sqlIdent).join(', ');
  return [
    ...redshiftBuildStatements(p.model, p.select, p.schema),
    ...redshiftSwapStatements(p.model, p.schema),
    redshiftUnload(`SELECT ${columns} FROM ${goldTable(p.model, p.schema)}`, p.location, {
      partitionBy: [p.column],
      kmsKeyId: p.kmsKeyId,
    }),
  ];
}
