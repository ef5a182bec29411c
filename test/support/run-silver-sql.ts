/**
 * Jest helper: runs the engine's part of bronze -> silver (`validateAndWrite`, exactly as the transform does)
 * on a local file through a real DuckDB, without S3 or the spool step, and reads every output back.
 *
 *   const engine = await Engine.create({ memoryLimit: '256MB', threads: 2, tempDirectory });
 *   const run = await runSilverSql(engine, contract, '/tmp/x/orders.csv', { workDir });
 *   expect(run.counts).toMatchObject({ in: 44, out: 34, quarantined: 8, duplicates: 2 });
 *
 * Silver is read back with `read_parquet(..., hive_partitioning = true)` (so rows carry their `dt`), its
 * column types with DESCRIBE; the quarantine NDJSON is parsed line by line.
 */

import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Json } from '@duckdb/node-api';
import type { ColumnMapping } from '../../core/contracts/column-mapping';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { sqlString } from '../../core/sql/quote';
import type { LineageValues } from '../../core/sql/silver-sql';
import { type Engine, queryRows } from '../../lambdas/bronze-to-silver/duckdb-engine';
import { validateAndWrite } from '../../lambdas/bronze-to-silver/validate-and-write';

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
    const run = await validateAndWrite(conn, contract, file, lineage, { workDir: work, sourceKey });
    const { header, mapping, valid, quarantined, byReason, withUnknown, rejects, files, outDir } = run;
    let silverRows: Record<string, Json>[] = [];
    const silverTypes: Record<string, string> = {};
    if (files.length > 0) {
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
    const quarantine: QuarantineLine[] = run.quarantineFile
      ? (await readFile(run.quarantineFile, 'utf8'))
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as QuarantineLine)
      : [];
    const out = silverRows.length;
    return {
      counts: { in: valid + quarantined, out, quarantined, duplicates: valid - out, byReason, withUnknown },
      rejects,
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
