/**
 * The portable-SQL rules against the real local engines: DuckDB (Athena's stand-in) and PGlite (PostgreSQL,
 * Redshift's stand-in). What the check accepts must run on both with the same result; for what it refuses,
 * each row records what the local engines do with it, so a rule is shown wherever they can show it:
 *
 * - `postgres refuses` / `duckdb refuses` / `both refuse`: an engine errors on it;
 * - `differ`: both run it, with different results (the worst case: no error anywhere);
 * - `same`: both run it alike; the rule rests on Trino's or Redshift's documentation (its `source`).
 *
 * The sample models run on both engines too, over the same rows.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { MODEL_REF, splitModelFile } from '../../../core/gold/models';
import { checkPortableSql, PORTABLE_SQL_RULES, portableSqlFindings } from '../../../core/gold/portable-sql';

const MODELS = join(__dirname, '..', '..', '..', 'samples', 'models');

type LocalOutcome = 'same' | 'differ' | 'postgres refuses' | 'duckdb refuses' | 'both refuse';

/** The table the snippets read, with a null in every column of its last row. */
const FIXTURE = [
  'CREATE TABLE t (id integer, k varchar, x integer, d date, ts timestamp, amount decimal(10,2), s varchar)',
  `INSERT INTO t VALUES
    (1, 'a', 1, '2024-02-15', '2024-03-01 23:30:00', 10.25, 'a_b'),
    (2, 'a', 1, '2024-02-18', '2024-03-02 00:15:00', 2.50, 'x,y'),
    (3, 'b', 2, '2024-12-30', '2024-12-31 12:00:00', 7.00, 'abc'),
    (4, 'b', NULL, NULL, NULL, NULL, NULL)`,
];

/** Portable SQL: the check accepts it, and both engines give the same rows. */
const PORTABLE: readonly string[] = [
  'SELECT id, CAST(x AS double precision) / 2 AS half FROM t',
  'SELECT k, count(*) AS n, sum(x) AS total, min(d) AS first_day, max(amount) AS top FROM t GROUP BY k',
  'SELECT k, avg(CAST(x AS double precision)) AS mean FROM t GROUP BY k',
  "SELECT id, CAST(date_trunc('month', d) AS date) AS month_start FROM t",
  "SELECT id, CAST(date_trunc('week', ts) AS timestamp) AS week_start FROM t",
  'SELECT id, CAST(EXTRACT(year FROM d) AS integer) AS y, CAST(EXTRACT(hour FROM ts) AS integer) AS h FROM t',
  "SELECT id, CAST(d + INTERVAL '1' DAY AS date) AS next_day, CAST(ts - INTERVAL '2' HOUR AS timestamp) AS earlier, CAST(d + INTERVAL '1' MONTH AS date) AS next_month FROM t",
  "SELECT id, CAST(ts AT TIME ZONE 'UTC' AS date) AS utc_day FROM t",
  "SELECT id, CAST((ts AT TIME ZONE 'UTC') AT TIME ZONE 'Europe/Paris' AS timestamp) AS paris FROM t",
  'SELECT id, row_number() OVER (PARTITION BY k ORDER BY d DESC NULLS LAST, id) AS rn FROM t',
  'SELECT id, sum(x) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running FROM t',
  'SELECT id, lag(id) OVER (PARTITION BY k ORDER BY id) AS prev, rank() OVER (ORDER BY x NULLS FIRST) AS r FROM t',
  'SELECT k, SUM(SUM(x)) OVER () AS all_x FROM t GROUP BY k',
  "SELECT k || '-' || s AS label, COALESCE(s, '') AS s0, NULLIF(split_part(s, ',', 2), '') AS second_field FROM t",
  "SELECT id FROM t WHERE s LIKE 'a!_%' ESCAPE '!'",
  "SELECT id, CASE WHEN x >= 2 THEN 'big' ELSE 'small' END AS size, (x = 1 OR (x IS NULL AND id = 4)) AS one FROM t",
  'SELECT id, CAST(ROUND(amount * 3, 2) AS decimal(18, 2)) AS tripled, CAST(amount AS varchar(20)) AS shown FROM t',
  'SELECT k, count(CASE WHEN x > 1 THEN 1 END) AS big, count(DISTINCT x) AS kinds FROM t GROUP BY k HAVING count(*) > 1',
  "SELECT id, substring(s, 2, 2) AS mid, strpos(s, 'b') AS at_b, length(s) AS len, upper(k) AS up, trim(s) AS trimmed, replace(s, 'a', 'z') AS replaced FROM t",
  'SELECT id, mod(id, 3) AS r, abs(x - 2) AS dist, floor(CAST(amount AS double precision)) AS fl, power(x, 2) AS sq, ceil(amount) AS up FROM t',
  "SELECT id, CAST(x AS bigint) AS big, CAST(id AS smallint) AS small, CAST(x > 1 AS boolean) AS b, CAST('2024-01-01' AS date) AS day, CAST('2024-01-01 10:00:00' AS timestamp) AS at_ts, CAST(amount AS real) AS r FROM t",
  'WITH top AS (SELECT k, max(id) AS top_id FROM t GROUP BY k) SELECT t.id FROM t JOIN top ON top.k = t.k AND top.top_id = t.id',
  "SELECT id FROM t WHERE d >= DATE '2024-02-16' UNION ALL SELECT id FROM t WHERE id = 1",
  'SELECT id FROM t EXCEPT SELECT id FROM t WHERE x = 1',
  'SELECT id FROM t WHERE EXISTS (SELECT 1 FROM t u WHERE u.k = t.k AND u.id > t.id)',
  'SELECT k, x, count(*) AS n FROM t GROUP BY GROUPING SETS ((k), (k, x))',
  'SELECT id, current_date >= d AS past FROM t ORDER BY id LIMIT 2',
];

/** Refused SQL: the rule that names it, and what the local engines do with it. */
const REFUSED: readonly [sql: string, what: string, local: LocalOutcome][] = [
  ['SELECT CAST(x AS double) AS v FROM t', 'CAST to double or float', 'postgres refuses'],
  ['SELECT CAST(1.1 AS float) AS v', 'CAST to double or float', 'differ'],
  [
    'SELECT CAST(s AS varchar) AS v FROM t',
    'CAST to a string type without a length (varchar, string, text, char)',
    'same',
  ],
  [
    'SELECT CAST(s AS string) AS v FROM t',
    'CAST to a string type without a length (varchar, string, text, char)',
    'postgres refuses',
  ],
  [
    'SELECT CAST(1.23456 AS decimal) AS v',
    'CAST to decimal or numeric without precision and scale',
    'differ',
  ],
  ['SELECT CAST(1 AS tinyint) AS v', 'CAST to a type the four engines do not share', 'postgres refuses'],
  ['SELECT try_cast(s AS integer) AS v FROM t', 'TRY_CAST / TRY(...)', 'postgres refuses'],
  ["SELECT if(x > 1, 'big', 'small') AS v FROM t", 'Trino-only functions', 'postgres refuses'],
  ['SELECT year(d) AS v FROM t', 'Trino-only functions', 'postgres refuses'],
  ["SELECT date_add('day', 1, d) AS v FROM t", 'Trino-only functions', 'both refuse'],
  ["SELECT nvl(s, '') AS v FROM t", 'Redshift/PostgreSQL-only functions', 'both refuse'],
  ['SELECT left(s, 2) AS v FROM t', 'Redshift/PostgreSQL-only functions', 'same'],
  [
    "SELECT k, listagg(s, ',') WITHIN GROUP (ORDER BY s) AS v FROM t GROUP BY k",
    'list, ordered-set and statistical aggregates (listagg, array_agg, WITHIN GROUP, percentile_cont, corr...)',
    'both refuse',
  ],
  ["SELECT k, string_agg(s, ',' ORDER BY s) AS v FROM t GROUP BY k", 'DuckDB-only functions', 'same'],
  ['SELECT avg(id) AS v FROM t', 'avg, stddev or variance of a value not cast to double precision', 'same'],
  ['SELECT greatest(x, id) AS v FROM t', 'greatest / least', 'same'],
  ['SELECT concat(k, s) AS v FROM t', 'concat(...)', 'same'],
  ["SELECT split_part(s, ',', 2) AS v FROM t", "split_part(...) outside NULLIF(..., '')", 'same'],
  ['SELECT substring(s, -1, 3) AS v FROM t', 'substring / substr with a negative start', 'differ'],
  [
    "SELECT regexp_replace(s, '[a-c]', 'z') AS v FROM t",
    'regular expressions (regexp_* functions, ~, SIMILAR TO, RLIKE)',
    'same',
  ],
  [
    "SELECT id, s ~ '^a' AS v FROM t",
    'regular expressions (regexp_* functions, ~, SIMILAR TO, RLIKE)',
    'differ',
  ],
  ['SELECT log(10, 100) AS v', 'log / log10 / log2 / dlog10', 'same'],
  ['SELECT md5(s) AS v FROM t', 'hash functions (md5, sha1, sha256, ...)', 'same'],
  [
    "SELECT date_trunc('month', d) AS v FROM t",
    "date_trunc outside CAST(... AS date|timestamp), or with a unit other than 'second' to 'year'",
    'differ',
  ],
  [
    "SELECT EXTRACT(second FROM TIMESTAMP '2024-01-01 10:00:03.5') AS v",
    'EXTRACT outside CAST(... AS integer), or of a field other than year, quarter, month, day, hour, minute',
    'differ',
  ],
  [
    'SELECT CAST(EXTRACT(dow FROM d) AS integer) AS v FROM t',
    'EXTRACT outside CAST(... AS integer), or of a field other than year, quarter, month, day, hour, minute',
    'same',
  ],
  [
    'SELECT id, now() >= ts AS v FROM t',
    'the current time (now(), current_timestamp, localtimestamp, getdate(), sysdate...)',
    'same',
  ],
  [
    'SELECT random() AS v',
    'random or arbitrary values (random(), rand(), uuid(), any_value, arbitrary)',
    'differ',
  ],
  ['SELECT count(*) FILTER (WHERE x > 1) AS v FROM t', 'aggregate FILTER (WHERE ...)', 'same'],
  ['SELECT id FROM t WHERE x IS DISTINCT FROM 1', 'IS [NOT] DISTINCT FROM', 'same'],
  ["SELECT * FROM (VALUES (1, 'a')) AS v(id, name)", 'VALUES as a table', 'same'],
  [
    'SELECT u FROM t CROSS JOIN UNNEST(ARRAY[1, 2]) AS a(u) WHERE id = 1',
    'arrays, maps, rows and lambdas (UNNEST, ARRAY[...], x[i], ROW(...), MAP(...), ->)',
    'same',
  ],
  [
    'SELECT a.id FROM t a, LATERAL (SELECT max(b.id) AS m FROM t b WHERE b.k = a.k) l WHERE l.m = a.id',
    'LATERAL',
    'same',
  ],
  ['SELECT id FROM t TABLESAMPLE BERNOULLI (100)', 'TABLESAMPLE', 'duckdb refuses'],
  [
    'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 20) SELECT max(n) AS v FROM r',
    'WITH RECURSIVE',
    'same',
  ],
  ['SELECT id FROM t ORDER BY id FETCH FIRST 1 ROWS ONLY', 'FETCH FIRST / FETCH NEXT', 'same'],
  ['SELECT TOP 1 id FROM t', 'SELECT TOP n', 'both refuse'],
  ['SELECT DISTINCT ON (k) k, id FROM t ORDER BY k, id', 'DISTINCT ON', 'same'],
  ['SELECT id FROM t MINUS SELECT id FROM t WHERE x = 1', 'MINUS, INTERSECT ALL, EXCEPT ALL', 'both refuse'],
  ['SELECT id FROM t INTERSECT ALL SELECT id FROM t', 'MINUS, INTERSECT ALL, EXCEPT ALL', 'same'],
  [
    'SELECT id, sum(x) OVER w AS v FROM t WINDOW w AS (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)',
    'WINDOW clause (named windows)',
    'same',
  ],
  [
    'SELECT id, sum(x) OVER (ORDER BY x RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS v FROM t',
    'RANGE or GROUPS window frames',
    'same',
  ],
  [
    'SELECT id, sum(id) OVER (ORDER BY x) AS v FROM t',
    'window ORDER BY without a ROWS frame (aggregates, first_value, last_value, nth_value)',
    'same',
  ],
  [
    'SELECT id, first_value(x) IGNORE NULLS OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS v FROM t',
    'IGNORE NULLS / RESPECT NULLS',
    'both refuse',
  ],
  [
    'SELECT id, row_number() OVER (ORDER BY x DESC) AS v FROM t',
    'DESC without NULLS FIRST / NULLS LAST',
    'differ',
  ],
  ["SELECT id FROM t WHERE s LIKE 'a\\_b'", 'LIKE pattern with a backslash but no ESCAPE', 'differ'],
  [
    "SELECT CAST(ts AT TIME ZONE 'Europe/Paris' AS date) AS v FROM t",
    "AT TIME ZONE other than 'UTC'",
    'same',
  ],
  ["SELECT d + INTERVAL '1 day' AS v FROM t", "interval literals other than INTERVAL 'n' UNIT", 'same'],
  [
    'SELECT d + INTERVAL 1 DAY AS v FROM t',
    "interval literals other than INTERVAL 'n' UNIT",
    'postgres refuses',
  ],
  ['SELECT id AS "Id" FROM t', 'quoted identifiers with upper-case letters', 'same'],
  ['SELECT x::integer AS v FROM t', "'::' casts", 'same'],
  ['SELECT * EXCLUDE (s) FROM t', 'SELECT * EXCLUDE/REPLACE', 'postgres refuses'],
  ["SELECT COLUMNS('^a') FROM t", 'COLUMNS(...) star expressions', 'postgres refuses'],
  ['SELECT k, count(*) AS n FROM t GROUP BY ALL', 'GROUP BY ALL / ORDER BY ALL', 'postgres refuses'],
  ['SELECT t.id FROM t ASOF JOIN t u ON t.id >= u.id', 'ASOF/POSITIONAL/ANTI/SEMI JOIN', 'postgres refuses'],
  ['SELECT id FROM t USING SAMPLE 100%', 'USING SAMPLE', 'postgres refuses'],
  ['FROM t SELECT id', 'FROM-first queries', 'postgres refuses'],
  ["SELECT strftime(d, '%Y') AS v FROM t", 'DuckDB-only functions', 'postgres refuses'],
  ['SELECT id FROM t QUALIFY row_number() OVER (ORDER BY id) = 1', 'QUALIFY', 'postgres refuses'],
  ['SELECT 7 // 2 AS v', "'//' integer division", 'postgres refuses'],
  ["SELECT id FROM t WHERE s ILIKE 'A%'", 'ILIKE', 'same'],
];

/** A value as both engines can be compared on: numbers as numbers, whatever their SQL type's JS form. */
function normalized(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return value;
}

/** The rows as sorted lines of `[column, value]` pairs (row order is not a result). */
const comparable = (rows: Record<string, unknown>[]) =>
  rows.map((row) => JSON.stringify(Object.entries(row).map(([k, v]) => [k, normalized(v)]))).sort();

let duckdbInstance: DuckDBInstance;
let duckdb: DuckDBConnection;
let postgres: PostgresWorker;

/**
 * PGlite in a worker thread: its WASM build loads itself with dynamic imports, which Jest's module sandbox
 * refuses (it wants --experimental-vm-modules), so it runs beside the test, in plain Node.
 */
const POSTGRES_WORKER = `
const { parentPort } = require('node:worker_threads');
const { PGlite, types } = require('@electric-sql/pglite');
// Dates and timestamps as PostgreSQL prints them (DuckDB's JSON rows print them the same way).
const asText = (value) => value;
const ready = PGlite.create({
  parsers: { [types.DATE]: asText, [types.TIMESTAMP]: asText, [types.TIMESTAMPTZ]: asText },
}).then(async (pg) => {
  await pg.exec("SET TimeZone = 'UTC'");
  return pg;
});
parentPort.on('message', async ({ id, sql }) => {
  try {
    const results = await (await ready).exec(sql);
    parentPort.postMessage({ id, rows: results.length > 0 ? results[results.length - 1].rows : [] });
  } catch (e) {
    parentPort.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
});
`;

/** The PostgreSQL of {@link POSTGRES_WORKER}: one statement (or script) at a time, its last result's rows. */
class PostgresWorker {
  private readonly worker = new Worker(POSTGRES_WORKER, { eval: true });
  private readonly pending = new Map<
    number,
    (reply: { rows?: Record<string, unknown>[]; error?: string }) => void
  >();
  private next = 0;

  constructor() {
    this.worker.on('message', (reply: { id: number; rows?: Record<string, unknown>[]; error?: string }) => {
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
  }

  query(sql: string): Promise<Record<string, unknown>[]> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (reply) =>
        reply.error === undefined ? resolve(reply.rows ?? []) : reject(new Error(reply.error)),
      );
      this.worker.postMessage({ id, sql });
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

/** `sql`'s rows on each engine, or its error. */
async function runBoth(sql: string): Promise<{ duckdb: string[] | Error; postgres: string[] | Error }> {
  const attempt = async (run: () => Promise<Record<string, unknown>[]>) => {
    try {
      return comparable(await run());
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  };
  return {
    duckdb: await attempt(async () => (await duckdb.runAndReadAll(sql)).getRowObjectsJson()),
    postgres: await attempt(() => postgres.query(sql)),
  };
}

/** What the local engines do with `sql`. */
async function localOutcome(sql: string): Promise<LocalOutcome> {
  const r = await runBoth(sql);
  if (r.duckdb instanceof Error && r.postgres instanceof Error) return 'both refuse';
  if (r.duckdb instanceof Error) return 'duckdb refuses';
  if (r.postgres instanceof Error) return 'postgres refuses';
  return JSON.stringify(r.duckdb) === JSON.stringify(r.postgres) ? 'same' : 'differ';
}

/** Runs `statements` on both engines. */
async function setUp(statements: readonly string[]): Promise<void> {
  for (const statement of statements) {
    await duckdb.run(statement);
    await postgres.query(statement);
  }
}

beforeAll(async () => {
  duckdbInstance = await DuckDBInstance.create(':memory:');
  duckdb = await duckdbInstance.connect();
  postgres = new PostgresWorker();
  // DuckDB's session in UTC, as PostgreSQL's (see the worker), Athena's and Redshift's are.
  await duckdb.run("SET TimeZone = 'UTC'");
  await setUp(FIXTURE);
});

afterAll(async () => {
  duckdb?.closeSync();
  duckdbInstance?.closeSync();
  await postgres?.close();
});

describe('portable SQL runs alike on DuckDB and PostgreSQL', () => {
  it.each(PORTABLE)('%s', async (sql) => {
    expect(portableSqlFindings(sql)).toEqual([]);
    const r = await runBoth(sql);
    expect(r.duckdb).not.toBeInstanceOf(Error);
    expect(r.postgres).not.toBeInstanceOf(Error);
    expect(r.duckdb).toEqual(r.postgres);
  });
});

describe('refused SQL, and what the local engines do with it', () => {
  it.each(REFUSED)('%s: refused as %s; locally: %s', async (sql, what, local) => {
    expect(portableSqlFindings(sql).map((f) => f.what)).toContain(what);
    expect(await localOutcome(sql)).toBe(local);
  });

  it('leaves these rules to the documentation (their source): both local engines run the construct alike', () => {
    const shown = new Set(REFUSED.filter(([, , local]) => local !== 'same').map(([, what]) => what));
    expect(PORTABLE_SQL_RULES.map((r) => r.what).filter((what) => !shown.has(what))).toEqual([
      "'::' casts",
      'ILIKE',
      'PIVOT/UNPIVOT',
      "reading files ('FROM 'file.parquet')",
      'avg, stddev or variance of a value not cast to double precision',
      'greatest / least',
      'concat(...)',
      "split_part(...) outside NULLIF(..., '')",
      'log / log10 / log2 / dlog10',
      'hash functions (md5, sha1, sha256, ...)',
      'the current time (now(), current_timestamp, localtimestamp, getdate(), sysdate...)',
      'aggregate FILTER (WHERE ...)',
      'IS [NOT] DISTINCT FROM',
      'VALUES as a table',
      'arrays, maps, rows and lambdas (UNNEST, ARRAY[...], x[i], ROW(...), MAP(...), ->)',
      'LATERAL',
      'WITH RECURSIVE',
      'FETCH FIRST / FETCH NEXT',
      'DISTINCT ON',
      'CONNECT BY',
      'WINDOW clause (named windows)',
      'RANGE or GROUPS window frames',
      'window ORDER BY without a ROWS frame (aggregates, first_value, last_value, nth_value)',
      "AT TIME ZONE other than 'UTC'",
      'quoted identifiers with upper-case letters',
    ]);
  });
});

describe('the sample models run alike on DuckDB and PostgreSQL', () => {
  const model = (name: string) => {
    const { body, bodyLine } = splitModelFile(readFileSync(join(MODELS, `${name}.sql`), 'utf8'));
    return { sql: body.replace(MODEL_REF, (_m, _q, ref: string) => `"lake"."${ref}"`), line: bodyLine };
  };

  beforeAll(async () => {
    await setUp([
      'CREATE SCHEMA lake',
      `CREATE TABLE lake.orders (order_id varchar(20), order_ts timestamp, updated_at timestamp, customer_id varchar(20),
        store_id varchar(20), product_id varchar(20), quantity integer, unit_price decimal(10,2), currency varchar(3),
        status varchar(20))`,
      `INSERT INTO lake.orders VALUES
        ('O-1', '2026-03-01 10:00:00', '2026-03-01 10:00:00', 'c1', 'S1', 'P001', 2, 10.00, 'EUR', 'placed'),
        ('O-2', '2026-03-01 23:30:00', '2026-03-01 23:30:00', 'c2', 'S1', 'P002', 1, 5.50, 'EUR', NULL),
        ('O-3', '2026-03-02 00:15:00', '2026-03-02 09:00:00', 'c1', 'S2', 'P001', 3, 10.00, 'EUR', 'shipped'),
        ('O-4', '2026-03-02 08:00:00', '2026-03-02 08:00:00', 'c3', 'S2', 'P003', 1, 99.99, 'EUR', 'cancelled'),
        ('O-5', '2026-03-02 09:00:00', '2026-03-02 09:00:00', 'c2', 'S1', 'P999', 4, 2.25, 'EUR', 'delivered'),
        ('O-6', '2026-03-03 12:00:00', '2026-03-03 12:00:00', 'c3', 'S1', 'P002', 7, 3.33, 'EUR', 'placed'),
        ('O-7', '2026-03-03 12:30:00', '2026-03-03 12:30:00', 'c1', 'S1', 'P002', 1, 3.34, 'EUR', 'placed')`,
      `CREATE TABLE lake.products (product_id varchar(20), name varchar(50), category varchar(20),
        unit_cost decimal(10,2), active boolean, updated_at timestamp)`,
      `INSERT INTO lake.products VALUES
        ('P001', 'Phone', 'electronics', 5.00, true, '2026-01-01 00:00:00'),
        ('P002', 'Bread', 'grocery', 1.00, true, '2026-01-01 00:00:00'),
        ('P003', 'Shirt', 'apparel', 20.00, false, '2026-01-01 00:00:00')`,
    ]);
    // category_sales reads the gold model daily_sales: each engine builds it from its own run.
    await setUp([`CREATE TABLE lake.daily_sales AS ${model('daily_sales').sql}`]);
  });

  const samples = readdirSync(MODELS)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.replace(/\.sql$/, ''));

  it('finds the three sample models', () => {
    expect(samples.sort()).toEqual(['category_sales', 'customer_lifetime_value', 'daily_sales']);
  });

  it.each(samples)('%s passes the check and gives the same rows on both engines', async (name) => {
    const { sql, line } = model(name);
    expect(() => checkPortableSql(sql, `gold model ${name}.sql`, line)).not.toThrow();
    const r = await runBoth(sql);
    expect(r.duckdb).not.toBeInstanceOf(Error);
    expect(r.postgres).not.toBeInstanceOf(Error);
    expect((r.duckdb as string[]).length).toBeGreaterThan(0);
    expect(r.duckdb).toEqual(r.postgres);
  });

  it('category_sales with CAST(... AS double), as the sample had it: the check names it, PostgreSQL refuses it', async () => {
    const { sql, line } = model('category_sales');
    const withDouble = sql.replace(/\bdouble\s+precision\b/gi, 'double');
    expect(withDouble).toMatch(/AS double\)/);
    const findings = portableSqlFindings(withDouble, line);
    expect(findings.map((f) => f.what)).toEqual(findings.map(() => 'CAST to double or float'));
    expect(findings.length).toBe(3);
    expect(await localOutcome(withDouble)).toBe('postgres refuses');
  });
});
