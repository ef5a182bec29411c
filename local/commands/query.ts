/**
 * `medallion query "<sql>"`: SQL with DuckDB over the local lake, tables named as in Athena.
 *
 *  - silver arrivals: one view per data contract, `<dataset>_arrivals`, over the Parquet objects under
 *    `<domain>/<dataset>/` of the local silver bucket, with the `dt=` partition read from the path;
 *  - silver history and current state, `<dataset>_history` and `<dataset>` (and `<dataset>_deleted`): the
 *    Iceberg tables of the local catalog, each a view over the data files its current snapshot lists (once
 *    the gold workflow has merged);
 *  - gold (and any other catalogued table): the tables of a local Glue catalog, when one exists, each a view
 *    over the objects under its `StorageDescriptor.Location`. Two layouts are read:
 *    `<state>/glue-catalog.json` = `{ tables: { <name>: { StorageDescriptor: { Location } } } }`, and the gold
 *    runner's `<state>/gold/glue-catalog.json` = `{ databases: { <db>: { tables: { <name>: { table: {...} } } } } }`.
 *
 * The local cloud need not run: s3rver keeps every object as a file, `<state>/s3/<bucket>/<key>._S3rver_object`
 * (next to `._S3rver_metadata.json` and `.md5` siblings), which DuckDB reads directly. DuckDB's httpfs is not
 * built in, so reading through the S3 API would mean downloading first anyway.
 */

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { readContracts } from '../../core/contracts/load-contracts';
import { QueryError } from '../../core/errors';
import { arrivalsTableName } from '../../core/silver/tables';
import { sqlIdent, sqlString } from '../../core/sql/quote';
import { DEFAULT_CONTRACTS_DIR, DEFAULT_STATE_DIR } from '../cloud/local-cloud';

export type QueryFormat = 'table' | 'json' | 'csv';
export const QUERY_FORMATS: readonly QueryFormat[] = ['table', 'json', 'csv'];
const OBJECT_SUFFIX = '._S3rver_object';

export interface QueryOptions {
  readonly stateDir?: string;
  readonly contractsDir?: string;
  /** Local bucket names are `<prefix>-<role>`; default `medallion-local`. */
  readonly bucketPrefix?: string;
}

export interface QueryResult {
  readonly columns: string[];
  readonly rows: Record<string, unknown>[];
  /** The views defined, by name, with the files (or glob) each reads. */
  readonly tables: Record<string, string[]>;
}

export async function runQuery(sql: string, options: QueryOptions = {}): Promise<QueryResult> {
  const stateDir = resolve(options.stateDir ?? DEFAULT_STATE_DIR);
  const s3Dir = join(stateDir, 's3');
  if (!existsSync(s3Dir))
    throw new QueryError(`no local buckets in ${stateDir}: run \`medallion pipeline\` (or \`local\`) first`);
  const tables = localTables(stateDir, options);
  const instance = await DuckDBInstance.create(':memory:', {
    // httpfs is not built in: never try to download it.
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const c = await instance.connect();
  try {
    for (const [name, files] of Object.entries(tables)) {
      const list = files.map(sqlString).join(', ');
      await c.run(
        `CREATE VIEW ${sqlIdent(name)} AS SELECT * FROM read_parquet([${list}], hive_partitioning = true, union_by_name = true)`,
      );
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
    return { columns, rows, tables };
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/**
 * View name -> the files it reads (or a glob): silver arrivals per contract, then catalogued tables not
 * already named (Iceberg tables: their snapshot's files).
 */
export function localTables(stateDir: string, options: QueryOptions = {}): Record<string, string[]> {
  const s3Dir = join(stateDir, 's3');
  const prefix = options.bucketPrefix ?? 'medallion-local';
  const contractsDir = resolve(options.contractsDir ?? DEFAULT_CONTRACTS_DIR);
  const registry = readContracts(contractsDir, (m) => new QueryError(m));
  const tables: Record<string, string[]> = {};
  const objectFile = (uri: string) => {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
    return m ? join(s3Dir, m[1], `${m[2]}${OBJECT_SUFFIX}`) : undefined;
  };
  for (const c of registry.all) {
    const dir = join(s3Dir, `${prefix}-silver`, c.domain, c.dataset);
    if (hasObjects(dir)) tables[arrivalsTableName(c.dataset)] = [`${dir}/**/*${OBJECT_SUFFIX}`];
  }
  for (const [name, t] of Object.entries(catalogTables(stateDir))) {
    if (name in tables) continue;
    if (t.metadataLocation !== undefined) {
      const metadata = objectFile(t.metadataLocation);
      if (!metadata || !existsSync(metadata)) continue;
      const snapshot = JSON.parse(readFileSync(metadata, 'utf8')) as { files?: { path: string }[] };
      const files = (snapshot.files ?? []).map((f) => objectFile(f.path)).filter((f) => f !== undefined);
      if (files.length > 0) tables[name] = files;
      continue;
    }
    // A table with registered partitions (an incremental gold table) reads each partition's location;
    // its `<key>=<value>/` directories give the partition column.
    const dirs = (t.partitionLocations ?? [t.location]).flatMap((location) => {
      const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
      const dir = m ? join(s3Dir, m[1], m[2].replace(/\/+$/, '')) : undefined;
      return dir && hasObjects(dir) ? [`${dir}/**/*${OBJECT_SUFFIX}`] : [];
    });
    if (dirs.length > 0) tables[name] = dirs;
  }
  return tables;
}

/**
 * Table name -> S3 location (and, for an Iceberg table, its current snapshot), from whichever local catalog
 * files exist. An Iceberg table without a snapshot yet is left out.
 */
function catalogTables(
  stateDir: string,
): Record<string, { location: string; metadataLocation?: string; partitionLocations?: string[] }> {
  const out: Record<string, { location: string; metadataLocation?: string; partitionLocations?: string[] }> =
    {};
  type Descriptor = {
    StorageDescriptor?: { Location?: string };
    PartitionKeys?: unknown[];
    Parameters?: { table_type?: string; metadata_location?: string; 'projection.enabled'?: string };
  };
  type Partitions = Record<string, { StorageDescriptor?: { Location?: string } }>;
  const add = (name: string, t: Descriptor, partitions?: Partitions) => {
    const location = t.StorageDescriptor?.Location;
    if (!location || name in out) return;
    if (t.Parameters?.table_type?.toUpperCase() === 'ICEBERG') {
      const metadataLocation = t.Parameters.metadata_location;
      if (metadataLocation) out[name] = { location, metadataLocation };
      return;
    }
    if ((t.PartitionKeys ?? []).length > 0 && t.Parameters?.['projection.enabled'] !== 'true') {
      const partitionLocations = Object.values(partitions ?? {}).flatMap((p) =>
        p.StorageDescriptor?.Location ? [p.StorageDescriptor.Location] : [],
      );
      out[name] = { location, partitionLocations };
      return;
    }
    out[name] = { location };
  };
  const read = (file: string) => {
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as {
        tables?: Record<string, Descriptor>;
        databases?: Record<
          string,
          { tables?: Record<string, { table?: Descriptor; partitions?: Partitions } & Descriptor> }
        >;
      };
    } catch (e) {
      throw new QueryError(`cannot read the local catalog ${file}: ${(e as Error).message}`);
    }
  };
  for (const file of [join(stateDir, 'glue-catalog.json'), join(stateDir, 'gold', 'glue-catalog.json')]) {
    const catalog = read(file);
    if (!catalog) continue;
    for (const [name, t] of Object.entries(catalog.tables ?? {})) add(name, t);
    for (const db of Object.values(catalog.databases ?? {})) {
      for (const [name, t] of Object.entries(db.tables ?? {})) add(name, t.table ?? t, t.partitions);
    }
  }
  return out;
}

function hasObjects(dir: string): boolean {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return false;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(OBJECT_SUFFIX)) return true;
    if (entry.isDirectory() && hasObjects(join(dir, entry.name))) return true;
  }
  return false;
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
