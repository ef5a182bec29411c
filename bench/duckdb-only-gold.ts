/**
 * The baseline of `npm run evidence`: the same gold, computed by DuckDB alone, straight from the CSV files.
 *
 *   tsx bench/duckdb-only-gold.ts <data dir> <models dir> <out dir>
 *
 * It is what a data engineer would write without the pipeline: read the orders and products CSVs with
 * DuckDB, apply the contracts' rules by hand (types, normalization, checks: an invalid row is dropped),
 * keep the latest version of each key, run the gold models' own SQL over that, and write each table as
 * Parquet. No S3, no bronze, no quarantine, no manifests, no catalog. It prints one JSON line: the time
 * spent and, per table, its row count and a fingerprint the evidence script compares with the pipeline's
 * gold, so the two are known to compute the same thing.
 */

import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { sqlIdent, sqlString } from '../core/sql/quote';

/** Hand-written equivalents of samples/contracts/orders.yaml and products.yaml. */
function cleanOrders(files: string[]): string {
  return `
    WITH raw AS (
      SELECT * FROM read_csv(${sqlList(files)}, header = true, delim = ',', quote = '"', all_varchar = true,
                             union_by_name = true)
    ),
    typed AS (
      SELECT trim(order_id) AS order_id,
             timezone('Europe/Paris', try_strptime(order_ts, '%Y-%m-%d %H:%M:%S')) AS order_ts,
             try_cast(updated_at AS TIMESTAMPTZ) AS updated_at,
             customer_id,
             upper(trim(store_id)) AS store_id,
             product_id,
             try_cast(quantity AS INTEGER) AS quantity,
             try_cast(unit_price AS DECIMAL(10, 2)) AS unit_price,
             upper(trim(currency)) AS currency,
             nullif(lower(trim(status)), '') AS status
      FROM raw
    )
    SELECT *, TIMESTAMPTZ '2026-11-01 00:00:00+00' AS _ingested_at FROM typed
    WHERE regexp_full_match(order_id, '^O-\\d+$') AND order_ts IS NOT NULL AND updated_at IS NOT NULL
      AND coalesce(customer_id, '') <> '' AND coalesce(store_id, '') <> '' AND coalesce(product_id, '') <> ''
      AND quantity BETWEEN 1 AND 1000 AND unit_price >= 0 AND currency IN ('EUR', 'USD', 'GBP')
      AND (status IS NULL OR status IN ('placed', 'shipped', 'delivered', 'cancelled'))`;
}

function cleanProducts(files: string[]): string {
  return `
    WITH typed AS (
      SELECT trim(product_id) AS product_id, trim(name) AS name, lower(trim(category)) AS category,
             try_cast(unit_cost AS DECIMAL(10, 2)) AS unit_cost, try_cast(active AS BOOLEAN) AS active,
             try_cast(updated_at AS TIMESTAMPTZ) AS updated_at
      FROM read_csv(${sqlList(files)}, header = true, delim = ';', quote = '"', all_varchar = true)
    )
    SELECT *, TIMESTAMPTZ '2026-11-01 00:00:00+00' AS _ingested_at FROM typed
    WHERE regexp_full_match(product_id, '^P\\d{3}$') AND coalesce(name, '') <> ''
      AND category IN ('electronics', 'grocery', 'apparel', 'home', 'toys') AND unit_cost >= 0
      AND active IS NOT NULL AND updated_at IS NOT NULL`;
}

const REF = /\{\{\s*ref\('([a-z0-9_]+)'\)\s*\}\}/g;

/** The models of a directory, in an order where each runs after the models it refers to. */
function modelsInOrder(dir: string): { name: string; sql: string }[] {
  const pending = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => {
      const sql = readFileSync(join(dir, f), 'utf8');
      return { name: basename(f, '.sql'), sql, refs: [...sql.matchAll(REF)].map((m) => m[1] as string) };
    });
  const names = new Set(pending.map((m) => m.name));
  const done = new Set<string>();
  const ordered: { name: string; sql: string }[] = [];
  while (pending.length > 0) {
    const i = pending.findIndex((m) => m.refs.every((r) => done.has(r) || !names.has(r)));
    if (i < 0) throw new Error(`models refer to each other in a cycle: ${pending.map((m) => m.name)}`);
    const [m] = pending.splice(i, 1);
    if (!m) break;
    ordered.push({ name: m.name, sql: m.sql.replace(REF, (_, r: string) => r) });
    done.add(m.name);
  }
  return ordered;
}

/**
 * SQL giving a table's row count (`n`) and an order-independent fingerprint (`f`): the md5 of its sorted
 * rows as text, with doubles rounded to 9 places (a parallel sum may differ in the last bits between runs).
 */
export function fingerprintSql(table: string, columns: { name: string; type: string }[]): string {
  const cols = columns.map((col) => {
    const name = sqlIdent(col.name);
    return /^(DOUBLE|FLOAT|REAL)$/i.test(col.type) ? `round(${name}, 9)` : name;
  });
  return `SELECT count(*)::BIGINT AS n, coalesce(md5(string_agg(r, chr(10) ORDER BY r)), '') AS f
    FROM (SELECT concat_ws('|', ${cols.map((x) => `coalesce(CAST(${x} AS VARCHAR), '∅')`).join(', ')}) AS r
          FROM ${table})`;
}

async function tableFingerprint(
  c: DuckDBConnection,
  table: string,
): Promise<{ rows: number; fingerprint: string }> {
  const described = await c.runAndReadAll(`DESCRIBE ${table}`);
  const columns = described
    .getRowObjects()
    .map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
  const reader = await c.runAndReadAll(fingerprintSql(table, columns));
  const row = reader.getRowObjects()[0] as { n: bigint; f: string };
  return { rows: Number(row.n), fingerprint: row.f };
}

function sqlList(files: string[]): string {
  return `[${files.map(sqlString).join(', ')}]`;
}

function filesIn(dir: string, pattern: RegExp): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => pattern.test(f))
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  const [dataDir, modelsDir, outDir] = process.argv.slice(2);
  if (!dataDir || !modelsDir || !outDir)
    throw new Error('usage: duckdb-only-gold <data dir> <models dir> <out dir>');
  const t0 = process.hrtime.bigint();
  mkdirSync(outDir, { recursive: true });
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const orders = filesIn(join(dataDir, 'orders'), /\.csv(\.gz)?$/);
  const products = filesIn(join(dataDir, 'products'), /\.csv(\.gz)?$/);
  if (orders.length === 0) throw new Error(`no orders CSV under ${dataDir}/orders`);
  await c.run(`CREATE TEMP TABLE orders AS ${cleanOrders(orders)}`);
  await c.run(
    products.length > 0
      ? `CREATE TEMP TABLE products AS ${cleanProducts(products)}`
      : `CREATE TEMP TABLE products (product_id VARCHAR, category VARCHAR, updated_at TIMESTAMPTZ, _ingested_at TIMESTAMPTZ)`,
  );
  const tables: Record<string, { rows: number; fingerprint: string }> = {};
  for (const m of modelsInOrder(modelsDir)) {
    await c.run(`CREATE TEMP TABLE ${m.name} AS ${m.sql}`);
    await c.run(`COPY ${m.name} TO ${sqlString(join(outDir, `${m.name}.parquet`))} (FORMAT parquet)`);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  // Fingerprints are for the comparison only: not part of the measured work.
  for (const m of modelsInOrder(modelsDir)) tables[m.name] = await tableFingerprint(c, m.name);
  c.closeSync();
  console.log(JSON.stringify({ ms, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024), tables }));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
