/**
 * Redshift's `UNLOAD ('<select>') TO 's3://<bucket>/<prefix>' IAM_ROLE default FORMAT AS PARQUET
 * [PARTITION BY (<columns>)] [KMS_KEY_ID '<key>' ENCRYPTED]`, as the gold workflow sends it (see
 * `core/gold/redshift-sql.ts`), on PGlite and DuckDB:
 *
 * 1. Like Redshift without ALLOWOVERWRITE, a target prefix that already holds objects fails the statement
 *    before the SELECT runs.
 * 2. The SELECT runs in PGlite (in the statement's transaction, as the Data API's role) into a temporary
 *    table, whose column types decide the Parquet types (`column-types.ts`: an unconstrained `numeric`,
 *    such as a SUM's, is written as DECIMAL(38, the largest scale of its values)), and is copied out as CSV.
 * 3. DuckDB reads the CSV with those types and writes Snappy-compressed Parquet (Redshift's default), one
 *    thread: `<prefix>0000_part_00.parquet`, or with PARTITION BY one `<prefix><col>=<value>/.../0000_part_00.parquet`
 *    per distinct value (Hive's escaping; NULL and '' as `__HIVE_DEFAULT_PARTITION__`), the partition columns
 *    left out of the files (Redshift's default, without INCLUDE). A SELECT of no row writes no file.
 * 4. Every file is written locally before the first is uploaded, and those uploaded are deleted again if
 *    an upload fails: a failed UNLOAD leaves the prefix empty. With KMS_KEY_ID the uploads ask for SSE-KMS
 *    with that key (the local S3 server accepts and ignores it; the key is kept in the result).
 */

import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { RedshiftUnload } from '../../core/gold/redshift-sql';
import { sqlIdent, sqlString } from '../../core/sql/quote';
import { objectsUnder } from '../gold/catalog-views';
import { parseS3Uri } from '../gold/glue-catalog';
import { hivePartitionPath } from '../gold/glue-partitions';
import { createOfflineDuckDb } from '../offline-duckdb';
import { duckDbTypeOfPg } from './column-types';
import { RedshiftSqlError } from './redshift-data-errors';
import type { RedshiftDatabase } from './redshift-database';

/** The file each UNLOAD directory gets (Redshift's first slice's first part). */
export const UNLOAD_FILE = '0000_part_00.parquet';
/** The temporary table the SELECT's rows are kept in. */
const ROWS = 'medallion_unload_rows';

/** One partition an UNLOAD with PARTITION BY wrote. */
export interface RedshiftUnloadedPartition {
  /** PostgreSQL's text of the partition values (null for NULL), in PARTITION BY order. */
  readonly values: (string | null)[];
  /** `<location><col>=<value>/...` */
  readonly location: string;
  readonly rows: number;
}

/** What an UNLOAD wrote. */
export interface RedshiftUnloadResult {
  /** The Data API statement (or sub-statement) that ran it. */
  readonly statementId: string;
  readonly location: string;
  /** The s3:// URIs of the files written, sorted. */
  readonly files: string[];
  readonly rows: number;
  readonly partitionBy: string[];
  /** Sorted by values; empty without PARTITION BY. */
  readonly partitions: RedshiftUnloadedPartition[];
  readonly kmsKeyId: string | undefined;
  readonly bytesWritten: number;
  readonly ms: number;
}

interface Column {
  readonly name: string;
  readonly pgType: string;
  readonly duckDbType: string;
}

/** Runs an UNLOAD (see the module comment) in `db`'s current transaction. */
export async function runRedshiftUnload(
  db: RedshiftDatabase,
  unload: RedshiftUnload,
  options: { readonly s3: S3Client; readonly workDir: string; readonly statementId: string },
): Promise<RedshiftUnloadResult> {
  const started = Date.now();
  const { bucket, prefix } = parseS3Uri(unload.location);
  const existing = await objectsUnder(options.s3, bucket, prefix, false);
  if (existing.length > 0) {
    throw new RedshiftSqlError(
      `Specified unload destination on S3 is not empty. Consider using a different bucket / prefix, manually removing the target files in S3, or using the ALLOWOVERWRITE option. (${unload.location} holds ${existing.length} object(s))`,
    );
  }
  mkdirSync(options.workDir, { recursive: true });
  const dir = mkdtempSync(join(options.workDir, 'unload-'));
  try {
    const { columns, csv, rows } = await selectIntoCsv(db, unload.select, dir);
    const missing = unload.partitionBy.filter((p) => !columns.some((c) => c.name === p));
    if (missing.length > 0) {
      throw new RedshiftSqlError(
        `UNLOAD: partition column(s) ${missing.join(', ')} not in the query's columns (${columns.map((c) => c.name).join(', ')})`,
      );
    }
    if (unload.partitionBy.length > 0 && unload.partitionBy.length === columns.length) {
      throw new RedshiftSqlError('UNLOAD: every column is a PARTITION BY column; the files would have none');
    }
    const written =
      rows === 0
        ? []
        : await writeParquet(columns, csv, unload.partitionBy, join(dir, 'parquet'), options.workDir);
    const uploads = written.map((w) => ({ ...w, key: `${prefix}${w.path}${UNLOAD_FILE}` }));
    await uploadAll(options.s3, bucket, uploads, unload.kmsKeyId);
    return {
      statementId: options.statementId,
      location: unload.location,
      files: uploads.map((u) => `s3://${bucket}/${u.key}`).sort(),
      rows,
      partitionBy: [...unload.partitionBy],
      partitions:
        unload.partitionBy.length === 0
          ? []
          : written.map((w) => ({ values: w.values, location: `${unload.location}${w.path}`, rows: w.rows })),
      kmsKeyId: unload.kmsKeyId,
      bytesWritten: uploads.reduce((sum, u) => sum + statSync(u.file).size, 0),
      ms: Date.now() - started,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the SELECT in PGlite: its columns, its rows as a CSV file, and how many. */
async function selectIntoCsv(
  db: RedshiftDatabase,
  select: string,
  dir: string,
): Promise<{ columns: Column[]; csv: string; rows: number }> {
  const { pg } = db;
  const table = `pg_temp.${ROWS}`;
  await pg.exec(`DROP TABLE IF EXISTS ${table}`);
  await pg.exec(`CREATE TEMP TABLE ${ROWS} AS\n${select}\n`);
  const described = await pg.query<{ name: string; type: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
     WHERE attrelid = '${table}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
  );
  const columns: Column[] = [];
  for (const { name, type } of described.rows) {
    let scale = 0;
    if (type === 'numeric') {
      const max = await pg.query<{ s: number | null }>(
        `SELECT max(scale(${sqlIdent(name)})) AS s FROM ${table}`,
      );
      scale = max.rows[0]?.s ?? 0;
    }
    columns.push({ name, pgType: type, duckDbType: duckDbTypeOfPg(name, type, scale) });
  }
  // COPY to a file (PGlite's blob device) is the superuser's; the SELECT itself ran as the Data API's role.
  const copied = await db.asSuperuser(() => pg.query(`COPY ${table} TO '/dev/blob' WITH (FORMAT csv)`));
  await pg.exec(`DROP TABLE ${table}`);
  const csv = join(dir, 'rows.csv');
  writeFileSync(csv, Buffer.from(copied.blob ?? new ArrayBuffer(0)));
  return { columns, csv, rows: copied.affectedRows };
}

/** A file written for an UNLOAD: its directories under the location (`''` without partitions). */
interface WrittenFile {
  readonly file: string;
  readonly path: string;
  readonly values: (string | null)[];
  readonly rows: number;
}

/** Writes PostgreSQL's CSV as Parquet with DuckDB: one file, or one per partition. */
async function writeParquet(
  columns: readonly Column[],
  csv: string,
  partitionBy: readonly string[],
  outDir: string,
  workDir: string,
): Promise<WrittenFile[]> {
  const instance = await createOfflineDuckDb({ threads: 1, memoryLimit: '512MB', workDir });
  const c = await instance.connect();
  try {
    await c.run("SET TimeZone = 'UTC'");
    // Every field read as text, then cast: PostgreSQL writes booleans as t/f and bytea as \x<hex>.
    const asText = columns.map((_, i) => `${sqlString(`c${i}`)}: 'VARCHAR'`).join(', ');
    const typed = columns.map(
      (col, i) => `${castFromPgText(`c${i}`, col.duckDbType)} AS ${sqlIdent(col.name)}`,
    );
    const raw = partitionBy.map(
      (p, i) => `NULLIF(${sqlIdent(`c${indexOf(columns, p)}`)}, '') AS ${sqlIdent(`__p${i}`)}`,
    );
    await c.run(
      `CREATE TABLE rows AS SELECT ${[...typed, ...raw].join(', ')} FROM read_csv(${sqlString(csv)}, ` +
        `columns = {${asText}}, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', ` +
        `nullstr = '', allow_quoted_nulls = false)`,
    );
    mkdirSync(outDir, { recursive: true });
    const parquet = '(FORMAT parquet, COMPRESSION snappy)';
    if (partitionBy.length === 0) {
      const file = join(outDir, UNLOAD_FILE);
      const list = columns.map((col) => sqlIdent(col.name)).join(', ');
      const count = await copyCount(c, `COPY (SELECT ${list} FROM rows) TO ${sqlString(file)} ${parquet}`);
      return [{ file, path: '', values: [], rows: count }];
    }
    const kept = columns.filter((col) => !partitionBy.includes(col.name)).map((col) => sqlIdent(col.name));
    const keys = partitionBy.map((_, i) => sqlIdent(`__p${i}`));
    const groups = (
      await c.runAndReadAll(`SELECT ${keys.join(', ')} FROM rows GROUP BY ALL ORDER BY ALL NULLS LAST`)
    ).getRowsJson() as (string | null)[][];
    const written: WrittenFile[] = [];
    for (const [n, values] of groups.entries()) {
      const where = keys.map(
        (k, i) => `${k} IS NOT DISTINCT FROM ${values[i] === null ? 'NULL' : sqlString(values[i] as string)}`,
      );
      const file = join(outDir, String(n), UNLOAD_FILE);
      mkdirSync(join(outDir, String(n)), { recursive: true });
      const count = await copyCount(
        c,
        `COPY (SELECT ${kept.join(', ')} FROM rows WHERE ${where.join(' AND ')}) TO ${sqlString(file)} ${parquet}`,
      );
      written.push({ file, path: hivePartitionPath(partitionBy, values), values, rows: count });
    }
    return written;
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

const indexOf = (columns: readonly Column[], name: string) => columns.findIndex((c) => c.name === name);

/** The rows a DuckDB COPY wrote. */
async function copyCount(c: DuckDBConnection, copy: string): Promise<number> {
  return Number((await c.runAndReadAll(copy)).getRowsJS()[0]?.[0] ?? 0);
}

/** A DuckDB expression casting PostgreSQL's CSV text of a value to `type`. */
function castFromPgText(field: string, type: string): string {
  const f = sqlIdent(field);
  if (type === 'VARCHAR') return f;
  if (type === 'BOOLEAN') return `CASE ${f} WHEN 't' THEN true WHEN 'f' THEN false END`;
  if (type === 'BLOB') return `from_hex(substr(${f}, 3))`;
  return `CAST(${f} AS ${type})`;
}

/** Uploads every file, or none: those uploaded are deleted again when one fails. */
async function uploadAll(
  s3: S3Client,
  bucket: string,
  uploads: readonly { file: string; key: string }[],
  kmsKeyId: string | undefined,
): Promise<void> {
  const done: string[] = [];
  try {
    for (const { file, key } of uploads) {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: readFileSync(file),
          ...(kmsKeyId ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: kmsKeyId } : {}),
        }),
      );
      done.push(key);
    }
  } catch (e) {
    for (const key of done) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
    }
    throw e;
  }
}
