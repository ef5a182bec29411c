/**
 * The engine's part of bronze -> silver, on a local file and free of S3: read the header, stage and
 * validate, count, rank duplicates, write partitioned Parquet and the quarantine NDJSON into `workDir`.
 * `transform.ts` runs it between spooling and uploading; tests run it directly on files.
 *
 * Problems with the file as a whole throw `FileRejection`.
 */

import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { type ColumnMapping, mapCsvHeader, mapJsonKeys } from '../../core/contracts/column-mapping';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { FileRejection } from '../../core/errors';
import { sqlString } from '../../core/sql/quote';
import { type LineageValues, MAX_LINE_BYTES, SilverSql } from '../../core/sql/silver-sql';
import { type CsvLayout, scanCsvLayout } from './csv-layout';
import { queryRows } from './duckdb-engine';

/** Structural rejects that mean the file as a whole cannot be trusted. */
const WHOLE_FILE_ERRORS = new Set(['UNQUOTED VALUE', 'INVALID ENCODING', 'INVALID STATE']);

export interface LocalRun {
  readonly header: string[];
  readonly mapping: ColumnMapping;
  /** Valid rows before de-duplication. */
  readonly valid: number;
  readonly quarantined: number;
  /**
   * Quarantined rows by '<column>|<rule>' ('parse' for rows that could not be split into fields, or that
   * have more fields than the header).
   */
  readonly byReason: Record<string, number>;
  /** Rows carrying fields the contract does not declare. */
  readonly withUnknown: number;
  /** Structural rejects DuckDB recorded (CSV and NDJSON), by the physical line where each record starts. */
  readonly rejects: { line: number; error_type: string; error_message: string }[];
  /** Parquet files written, under `outDir/dt=<partition>/`. */
  readonly files: string[];
  readonly outDir: string;
  /** The rejected rows as NDJSON, when there are any. */
  readonly quarantineFile?: string;
}

export interface RunOptions {
  readonly workDir: string;
  /** The bronze key rejected rows name as their source. */
  readonly sourceKey: string;
  /** Called after each step, for the manifest's durations. */
  readonly lap?: (step: 'validate' | 'write' | 'quarantine') => void;
}

export async function validateAndWrite(
  conn: DuckDBConnection,
  contract: DatasetContract,
  file: string,
  lineage: LineageValues,
  options: RunOptions,
): Promise<LocalRun> {
  const lap = options.lap ?? (() => undefined);
  const header = await readHeader(conn, contract, file);
  const mapping = contract.source.format === 'csv' ? mapCsvHeader(contract, header) : mapJsonKeys(contract);
  checkMapping(contract, mapping, header);
  const reading = new SilverSql(contract, { path: file, header }, mapping, lineage);
  // The layout pass (JS, over the file) runs while the engine stages it (its own threads).
  const [staged, scanned] = await Promise.allSettled([
    runFileQuery(conn, reading.stageSql()),
    csvLayout(contract, file, reading.csvWidth(), options.workDir),
  ]);
  if (staged.status === 'rejected') throw staged.reason;
  if (scanned.status === 'rejected') throw scanned.reason;
  const layout = scanned.value;
  const sql = new SilverSql(contract, { path: file, header, layout }, mapping, lineage);
  if (layout?.file) await conn.run(sql.layoutLoadSql(layout.file));
  const extraFields = sql.extraFieldsSql();
  if (extraFields) await conn.run(extraFields);
  const counts = await queryRows<{ violation: string | null; n: bigint; with_unknown: bigint }>(
    conn,
    sql.countSql(),
  );
  const rejects = (
    await queryRows<{ line: bigint; error_type: string; error_message: string }>(conn, sql.rejectsSql())
  ).map((r) => ({ ...r, line: Number(r.line) }));
  lap('validate');
  const fatal = rejects.find((r) => WHOLE_FILE_ERRORS.has(r.error_type));
  if (fatal) {
    throw new FileRejection(
      'format',
      `${fatal.error_type.toLowerCase()} at line ${fatal.line}: ${fatal.error_message}`,
    );
  }
  const byReason: Record<string, number> = {};
  let valid = 0;
  let withUnknown = 0;
  for (const row of counts) {
    withUnknown += Number(row.with_unknown);
    if (row.violation === null) valid += Number(row.n);
    else byReason[row.violation] = Number(row.n);
  }
  // Records with empty extra fields (counted as 'parse' rows) and the reader's own structural rejects.
  if (rejects.length) byReason.parse = (byReason.parse ?? 0) + rejects.length;
  const quarantined = Object.values(byReason).reduce((a, b) => a + b, 0);
  if (valid + quarantined === 0) throw new FileRejection('empty', 'the file has no data rows');
  if (contract.source.format !== 'csv' && contract.unknownColumns === 'reject' && withUnknown > 0) {
    throw new FileRejection(
      'unknown-columns',
      `${withUnknown} record(s) carry fields the contract does not declare`,
    );
  }

  const outDir = join(options.workDir, 'silver');
  let files: string[] = [];
  if (valid > 0) {
    await conn.run(sql.losersSql());
    files = (await queryRows<{ Files: string[] }>(conn, sql.silverCopySql(outDir)))[0]?.Files ?? [];
  }
  lap('write');
  let quarantineFile: string | undefined;
  if (quarantined > 0) {
    quarantineFile = join(options.workDir, 'quarantine.ndjson');
    await conn.run(sql.quarantineCopySql(quarantineFile, options.sourceKey));
  }
  return {
    header,
    mapping,
    valid,
    quarantined,
    byReason,
    withUnknown,
    rejects,
    files,
    outDir,
    quarantineFile,
  };
}

/**
 * CSV: the file's layout (`csv-layout.ts`: physical lines, skipped blank lines, records with empty extra
 * fields), its entries written under `workDir`; undefined for JSON sources.
 */
async function csvLayout(
  contract: DatasetContract,
  file: string,
  width: number,
  workDir: string,
): Promise<CsvLayout | undefined> {
  if (contract.source.format !== 'csv') return undefined;
  const csv = contract.source.csv;
  return scanCsvLayout(
    file,
    {
      delimiter: csv.delimiter,
      quote: csv.quote,
      escape: csv.escape ?? csv.quote,
      header: csv.header,
      width,
    },
    join(workDir, 'csv-layout.ndjson'),
  );
}

/** Runs a statement that reads the file; engine errors about its content become a `FileRejection`. */
async function runFileQuery(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  try {
    return await queryRows(conn, sql);
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    if (/^(Invalid Input|Conversion) Error/.test(message) && !/memory|disk|space/i.test(message)) {
      throw new FileRejection('format', message.split('\n')[0] as string);
    }
    throw err;
  }
}

/** CSV header names (BOM removed by DuckDB), or [] for JSON sources and header-less CSV. */
export async function readHeader(
  conn: DuckDBConnection,
  contract: DatasetContract,
  file: string,
): Promise<string[]> {
  if (contract.source.format !== 'csv' || !contract.source.csv.header) return [];
  const csv = contract.source.csv;
  // An upper bound on the header's width: delimiters in its first physical line, plus one.
  const fh = await open(file, 'r');
  const probe = Buffer.alloc(1 << 20);
  const { bytesRead } = await fh.read(probe, 0, probe.length, 0);
  await fh.close();
  const text = probe.subarray(0, bytesRead).toString('utf8');
  // Blank lines only is an empty file, like no bytes at all or a header without rows (not a header error).
  if (bytesRead < probe.length && text.trim() === '') {
    throw new FileRejection('empty', text === '' ? 'the file is empty' : 'the file has only blank lines');
  }
  const firstLine = text.split('\n')[0] ?? '';
  const width = firstLine.split(csv.delimiter).length;
  const cols = Array.from({ length: width }, (_, i) => `'h${i}': 'VARCHAR'`).join(', ');
  const rows = await runFileQuery(
    conn,
    `SELECT * FROM read_csv(${sqlString(file)}, header = false, auto_detect = false, null_padding = true,
      delim = ${sqlString(csv.delimiter)}, quote = ${sqlString(csv.quote)}, escape = ${sqlString(csv.escape ?? csv.quote)},
      columns = {${cols}}, max_line_size = ${MAX_LINE_BYTES}, ignore_errors = true, parallel = false) LIMIT 1`,
  );
  const first = rows[0];
  if (!first) throw new FileRejection('empty', 'the file has no header');
  const names = Object.values(first).map((v) => (v === null ? '' : String(v).trim()));
  while (names.length && names[names.length - 1] === '') names.pop();
  if (names.length === 0) throw new FileRejection('header', 'the header line is empty');
  return names;
}

function checkMapping(contract: DatasetContract, mapping: ColumnMapping, header: string[]): void {
  if (contract.source.format !== 'csv' || !contract.source.csv.header) return;
  const missing = contract.columns.filter((c) => c.required && mapping.sources.get(c.name) === undefined);
  if (missing.length) {
    throw new FileRejection(
      'header',
      `missing required column(s): ${missing.map((c) => c.from ?? c.name).join(', ')} (header: ${header.join(', ')})`,
    );
  }
  if (contract.unknownColumns === 'reject' && mapping.unknown.length) {
    throw new FileRejection(
      'unknown-columns',
      `column(s) not in the contract: ${mapping.unknown.map((u) => u.name).join(', ')}`,
    );
  }
}
