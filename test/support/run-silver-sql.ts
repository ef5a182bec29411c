/**
 * Jest helper: runs the bronze -> silver SQL of `SilverSql` on a local file through a real DuckDB, in the
 * order `BronzeToSilver.transform` runs it (stage, count, rejects, losers, silver COPY, quarantine COPY, on
 * one connection with TimeZone UTC), without S3 or the spool step, and reads every output back.
 *
 *   const engine = await Engine.create({ memoryLimit: '256MB', threads: 2, tempDirectory });
 *   const run = await runSilverSql(engine, contract, '/tmp/x/orders.csv', { workDir });
 *   expect(run.counts).toMatchObject({ in: 44, out: 34, quarantined: 8, duplicates: 2 });
 *
 * Silver is read back with `read_parquet(..., hive_partitioning = true)` (so rows carry their `dt`), its
 * column types with DESCRIBE; the quarantine NDJSON is parsed line by line.
 */
import { mkdtempSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection, Json } from '@duckdb/node-api';
import {
  type ColumnMapping,
  type LineageValues,
  MAX_LINE_BYTES,
  mapCsvHeader,
  mapJsonKeys,
  SilverSql,
  sqlString,
} from '../../lambdas/bronze-to-silver/silver-sql';
import type { DatasetContract } from '../../lambdas/shared/dataset-contract';
import { type Engine, queryRows } from '../../lambdas/shared/duckdb-engine';

export interface QuarantineLine {
  source_key: string;
  line: number;
  column: string | null;
  rule: string;
  message: string;
  value: string | null;
  record: Record<string, unknown> | null;
  text: string | null;
}

export interface SilverRun {
  /** What the transform would put in the manifest: in = out + quarantined + duplicates. */
  readonly counts: {
    in: number;
    out: number;
    quarantined: number;
    duplicates: number;
    /** Quarantined rows by '<column>|<rule>', plus 'parse' for structural rejects. */
    byReason: Record<string, number>;
    /** Rows carrying fields the contract does not declare. */
    withUnknown: number;
  };
  /** Structural rejects DuckDB recorded (CSV and NDJSON). */
  readonly rejects: { line: number; error_type: string; error_message: string }[];
  readonly header: string[];
  readonly mapping: ColumnMapping;
  /** Silver rows read back (JSON-friendly values: decimals and timestamps as text), with their `dt`. */
  readonly silverRows: Record<string, Json>[];
  /** Silver column name -> DuckDB type, from DESCRIBE over the Parquet files (`dt` included). */
  readonly silverTypes: Record<string, string>;
  /** Parquet files the COPY returned. */
  readonly files: string[];
  readonly outDir: string;
  /** The quarantine NDJSON, parsed, in file order. */
  readonly quarantine: QuarantineLine[];
}

export interface RunOptions {
  /** A directory for this run's outputs (a fresh one is created under it). */
  readonly workDir: string;
  readonly lineage?: Partial<LineageValues>;
  readonly sourceKey?: string;
  /** Order of `silverRows` (SQL); by default every column. */
  readonly orderBy?: string;
}

export const DEFAULT_LINEAGE: LineageValues = {
  bronzeKey: 'retail/test/ingest_date=2026-11-01/abc.csv',
  ingestedAt: new Date('2026-11-01T12:00:00Z'),
  piiSalt: 'test-salt',
};

/** The header as `transform.ts` reads it (same read_csv options), or [] for JSON and header-less CSV. */
async function readHeader(
  conn: DuckDBConnection,
  contract: DatasetContract,
  file: string,
): Promise<string[]> {
  if (contract.source.format !== 'csv' || !contract.source.csv.header) return [];
  const csv = contract.source.csv;
  const fh = await open(file, 'r');
  const probe = Buffer.alloc(1 << 20);
  const { bytesRead } = await fh.read(probe, 0, probe.length, 0);
  await fh.close();
  const firstLine = probe.subarray(0, bytesRead).toString('utf8').split('\n')[0] ?? '';
  const width = firstLine.split(csv.delimiter).length;
  const cols = Array.from({ length: width }, (_, i) => `'h${i}': 'VARCHAR'`).join(', ');
  const rows = await queryRows(
    conn,
    `SELECT * FROM read_csv(${sqlString(file)}, header = false, auto_detect = false, null_padding = true,
      delim = ${sqlString(csv.delimiter)}, quote = ${sqlString(csv.quote)}, escape = ${sqlString(csv.escape ?? csv.quote)},
      columns = {${cols}}, max_line_size = ${MAX_LINE_BYTES}, ignore_errors = true, parallel = false) LIMIT 1`,
  );
  const names = Object.values(rows[0] ?? {}).map((v) => (v === null ? '' : String(v).trim()));
  while (names.length && names[names.length - 1] === '') names.pop();
  return names;
}

let runCount = 0;

export async function runSilverSql(
  engine: Engine,
  contract: DatasetContract,
  file: string,
  options: RunOptions,
): Promise<SilverRun> {
  runCount += 1;
  const work = mkdtempSync(join(options.workDir, `run-${runCount}-`));
  const lineage = { ...DEFAULT_LINEAGE, ...options.lineage };
  const sourceKey = options.sourceKey ?? lineage.bronzeKey;
  return engine.withConnection(async (conn) => {
    const header = await readHeader(conn, contract, file);
    const mapping = contract.source.format === 'csv' ? mapCsvHeader(contract, header) : mapJsonKeys(contract);
    const sql = new SilverSql(contract, { path: file, header }, mapping, lineage);

    await conn.run(sql.stageSql());
    const countRows = await queryRows<{ violation: string | null; n: bigint; with_unknown: bigint }>(
      conn,
      sql.countSql(),
    );
    const rejectRows = await queryRows<{ line: bigint; error_type: string; error_message: string }>(
      conn,
      sql.rejectsSql(),
    );
    const byReason: Record<string, number> = {};
    let valid = 0;
    let withUnknown = 0;
    for (const row of countRows) {
      withUnknown += Number(row.with_unknown);
      if (row.violation === null) valid += Number(row.n);
      else byReason[row.violation] = Number(row.n);
    }
    if (rejectRows.length) byReason.parse = rejectRows.length;
    const quarantined = Object.values(byReason).reduce((a, b) => a + b, 0);

    const outDir = join(work, 'silver');
    let files: string[] = [];
    let silverRows: Record<string, Json>[] = [];
    const silverTypes: Record<string, string> = {};
    if (valid > 0) {
      await conn.run(sql.losersSql());
      const copied = await queryRows<{ Files: string[] }>(conn, sql.silverCopySql(outDir));
      files = copied[0]?.Files ?? [];
      const source = `read_parquet(${sqlString(join(outDir, '**', '*.parquet'))}, hive_partitioning = true)`;
      for (const d of await queryRows<{ column_name: string; column_type: string }>(
        conn,
        `DESCRIBE SELECT * FROM ${source}`,
      )) {
        silverTypes[d.column_name] = d.column_type;
      }
      const reader = await conn.runAndReadAll(`SELECT * FROM ${source} ORDER BY ${options.orderBy ?? 'ALL'}`);
      silverRows = reader.getRowObjectsJson();
    }

    let quarantine: QuarantineLine[] = [];
    if (quarantined > 0) {
      const qFile = join(work, 'quarantine.ndjson');
      await conn.run(sql.quarantineCopySql(qFile, sourceKey));
      quarantine = (await readFile(qFile, 'utf8'))
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as QuarantineLine);
    }
    const out = silverRows.length;
    return {
      counts: { in: valid + quarantined, out, quarantined, duplicates: valid - out, byReason, withUnknown },
      rejects: rejectRows.map((r) => ({ ...r, line: Number(r.line) })),
      header,
      mapping,
      silverRows,
      silverTypes,
      files,
      outDir,
      quarantine,
    };
  });
}
