/**
 * `medallion query "<sql>"`: SQL with DuckDB over the local lake, tables named as in Athena, each showing
 * exactly the columns its Glue table declares (see `local/query/lake-tables.ts`), plus the pipeline's own
 * records: `manifests` (one row per processed bronze object) and `quarantine` (one row per quarantined
 * row, with the rule it broke and its line; see `local/query/pipeline-tables.ts`).
 *
 * The local cloud need not run: the objects are read where s3rver keeps them (`local/query/object-files.ts`).
 * With `athena`, SQL that Athena would refuse (DuckDB-only syntax, or outside Trino's grammar) is refused
 * before anything runs, with its line and column.
 */

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readContracts } from '../../core/contracts/load-contracts';
import { QueryError } from '../../core/errors';
import { sqlIdent } from '../../core/sql/quote';
import { DEFAULT_CONTRACTS_DIR, DEFAULT_STATE_DIR } from '../command-defaults';
import { createOfflineDuckDb } from '../offline-duckdb';
import { arrivalsTables, catalogTables, type LakeTable, lineageTable } from '../query/lake-tables';
import { pipelineTables } from '../query/pipeline-tables';

export type QueryFormat = 'table' | 'json' | 'csv';
export const QUERY_FORMATS: readonly QueryFormat[] = ['table', 'json', 'csv'];

export interface QueryOptions {
  readonly stateDir?: string;
  readonly contractsDir?: string;
  /** Local bucket names are `<prefix>-<role>`; default `medallion-local`. */
  readonly bucketPrefix?: string;
  /** Refuse SQL Athena would not run (`core/gold/athena-syntax.ts`), before running it. */
  readonly athena?: boolean;
}

export interface QueryResult {
  readonly columns: string[];
  readonly rows: Record<string, unknown>[];
  /** The views defined, by name, with the files (or glob) each reads. */
  readonly tables: Record<string, string[]>;
}

/**
 * Runs `sql` over views of the local lake's tables; a `QueryError` (one line) when it cannot run: no state,
 * an invalid contract, SQL DuckDB refuses (the message lists the tables), or, with `athena`, SQL Athena
 * would refuse.
 */
export async function runQuery(sql: string, options: QueryOptions = {}): Promise<QueryResult> {
  if (options.athena) await refuseNonAthenaSql(sql);
  const stateDir = resolve(options.stateDir ?? DEFAULT_STATE_DIR);
  const s3Dir = join(stateDir, 's3');
  if (!existsSync(s3Dir))
    throw new QueryError(`no local buckets in ${stateDir}: run \`medallion pipeline\` (or \`local\`) first`);
  const tables = lakeTables(stateDir, options);
  const instance = await createOfflineDuckDb();
  const c = await instance.connect();
  try {
    for (const [name, table] of Object.entries(tables)) {
      await c.run(`CREATE VIEW ${sqlIdent(name)} AS ${await table.select(c)}`);
    }
    let reader: Awaited<ReturnType<typeof c.runAndReadAll>>;
    try {
      reader = await c.runAndReadAll(sql);
    } catch (e) {
      const known = Object.keys(tables).sort().join(', ') || 'none';
      throw new QueryError(`${(e as Error).message.split('\n')[0]} (tables: ${known})`);
    }
    const columns = reader.columnNames();
    // JSON-safe values; 64-bit and wider integers come back as strings: numbers when exactly representable.
    const wide = new Set(
      reader
        .columnTypes()
        .map((t, i) => [String(t), columns[i]] as const)
        .filter(([t]) => /^U?(BIGINT|HUGEINT)$/.test(t))
        .map(([, c]) => c),
    );
    const rows = (reader.getRowObjectsJson() as Record<string, unknown>[]).map((row) => {
      for (const c of wide) {
        const v = row[c];
        if (typeof v === 'string' && Number.isSafeInteger(Number(v))) row[c] = Number(v);
      }
      return row;
    });
    return { columns, rows, tables: localTablesOf(tables) };
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/**
 * Throws a {@link QueryError} listing where `sql` is not Athena SQL (line, column, what to write instead).
 * The checker (and its SQL grammars) loads only when asked for.
 */
async function refuseNonAthenaSql(sql: string): Promise<void> {
  const { athenaSyntaxProblems } = await import('../../core/gold/athena-syntax');
  const problems = athenaSyntaxProblems(sql);
  if (problems.length === 0) return;
  const list = problems.map((p) => `line ${p.line}, column ${p.column}: ${p.message}`).join('; ');
  throw new QueryError(`Athena would refuse this query (--athena): ${list}`);
}

/**
 * View name -> the files it reads (or a glob): silver arrivals per contract, then catalogued tables not
 * already named (Iceberg tables: their snapshot's files), then `manifests` and `quarantine`.
 */
export function localTables(stateDir: string, options: QueryOptions = {}): Record<string, string[]> {
  return localTablesOf(lakeTables(stateDir, options));
}

function localTablesOf(tables: Record<string, LakeTable>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(tables).map(([name, t]) => [name, t.files]));
}

/** Every table of the local lake, by name (the first source naming a table wins). */
function lakeTables(stateDir: string, options: QueryOptions): Record<string, LakeTable> {
  const s3Dir = join(stateDir, 's3');
  const prefix = options.bucketPrefix ?? 'medallion-local';
  const contractsDir = resolve(options.contractsDir ?? DEFAULT_CONTRACTS_DIR);
  const registry = readContracts(contractsDir, (m) => new QueryError(m));
  const silverBucket = `${prefix}-silver`;
  const tables: Record<string, LakeTable> = {};
  for (const found of [
    arrivalsTables(s3Dir, silverBucket, registry.all),
    catalogTables(stateDir, s3Dir),
    pipelineTables(s3Dir, silverBucket),
    lineageTable(stateDir),
  ]) {
    for (const [name, table] of Object.entries(found)) if (!(name in tables)) tables[name] = table;
  }
  return tables;
}

/** The result as text: an aligned table (with a row count), a JSON array, or CSV (RFC 4180 quoting). */
export function formatResult(result: Pick<QueryResult, 'columns' | 'rows'>, format: QueryFormat): string {
  const { columns, rows } = result;
  if (format === 'json') return `${JSON.stringify(rows, null, 2)}\n`;
  const text = (v: unknown) =>
    v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (format === 'csv') {
    const cell = (v: unknown) => {
      const s = text(v);
      return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    };
    return [columns.map(cell).join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))]
      .map((l) => `${l}\n`)
      .join('');
  }
  const cells = rows.map((r) => columns.map((c) => (r[c] === null ? 'NULL' : text(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const numeric = columns.map(
    (c) =>
      rows.length > 0 &&
      rows.every((r) => r[c] === null || typeof r[c] === 'number' || /^-?\d+(\.\d+)?$/.test(String(r[c]))),
  );
  const line = (values: string[]) =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join(' | ')
      .trimEnd();
  return [
    line(columns),
    widths.map((w) => '-'.repeat(w)).join('-+-'),
    ...cells.map(line),
    `(${rows.length} row${rows.length === 1 ? '' : 's'})`,
  ]
    .map((l) => `${l}\n`)
    .join('');
}
