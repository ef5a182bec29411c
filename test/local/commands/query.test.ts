import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { QueryError } from '../../../core/errors';
import { formatResult, localTables, QUERY_FORMATS, runQuery } from '../../../local/commands/query';

const CONTRACTS = resolve(__dirname, '..', '..', '..', 'samples', 'contracts');
const OBJECT = '._S3rver_object';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'medallion-query-unit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a file (creating its directories) under the test's directory and returns the directory of it. */
function file(path: string, content = ''): string {
  const absolute = join(dir, path);
  mkdirSync(join(absolute, '..'), { recursive: true });
  writeFileSync(absolute, content);
  return join(absolute, '..');
}

/** Writes the rows of `select` as a Parquet object at `path` under the test's directory, with real DuckDB. */
async function parquet(path: string, select: string): Promise<void> {
  const absolute = join(dir, path);
  mkdirSync(join(absolute, '..'), { recursive: true });
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    await c.run(`COPY (${select}) TO '${absolute.replace(/'/g, "''")}' (FORMAT parquet)`);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

describe('formatResult', () => {
  const result = {
    columns: ['id', 'name', 'amount'],
    rows: [
      { id: 1, name: 'plain', amount: 12.5 },
      { id: 22, name: 'a, "quoted"\nline', amount: null },
      { id: 3, name: null, amount: -4 },
    ],
  };

  it('offers table, json and csv', () => {
    expect(QUERY_FORMATS).toEqual(['table', 'json', 'csv']);
  });

  it('prints CSV with a header, RFC 4180 quoting of commas, quotes and line breaks, and empty nulls', () => {
    expect(formatResult(result, 'csv')).toBe(
      'id,name,amount\n1,plain,12.5\n22,"a, ""quoted""\nline",\n3,,-4\n',
    );
  });

  it('quotes CSV header names and carriage returns too, and writes objects as JSON', () => {
    const csv = formatResult({ columns: ['a,b', 'c'], rows: [{ 'a,b': 'x\ry', c: { k: [1, 'v'] } }] }, 'csv');
    expect(csv).toBe('"a,b",c\n"x\ry","{""k"":[1,""v""]}"\n');
  });

  it('prints JSON as an indented array of the row objects, nulls kept', () => {
    expect(formatResult(result, 'json')).toBe(
      `[
  {
    "id": 1,
    "name": "plain",
    "amount": 12.5
  },
  {
    "id": 22,
    "name": "a, \\"quoted\\"\\nline",
    "amount": null
  },
  {
    "id": 3,
    "name": null,
    "amount": -4
  }
]
`,
    );
    expect(formatResult({ columns: ['x'], rows: [] }, 'json')).toBe('[]\n');
  });

  it('prints an aligned table: numbers right-aligned, text left-aligned, NULL for nulls, and a row count', () => {
    const simple = {
      columns: ['id', 'name', 'amount'],
      rows: [
        { id: 1, name: 'plain', amount: 12.5 },
        { id: 22, name: 'longer name', amount: null },
        { id: 3, name: null, amount: '-4' },
      ],
    };
    expect(formatResult(simple, 'table').split('\n')).toEqual([
      'id | name        | amount',
      '---+-------------+-------',
      ' 1 | plain       |   12.5',
      '22 | longer name |   NULL',
      ' 3 | NULL        |     -4',
      '(3 rows)',
      '',
    ]);
  });

  it('left-aligns a column as soon as one value is not a number, and trims trailing spaces', () => {
    const out = formatResult(
      {
        columns: ['code', 'note'],
        rows: [
          { code: '10', note: 'x' },
          { code: '1e3', note: '' },
        ],
      },
      'table',
    );
    expect(out.split('\n')).toEqual(['code | note', '-----+-----', '10   | x', '1e3  |', '(2 rows)', '']);
  });

  it('says (1 row) for one row, and (0 rows) under the header alone for none', () => {
    expect(formatResult({ columns: ['n'], rows: [{ n: 7 }] }, 'table')).toBe('n\n-\n7\n(1 row)\n');
    expect(formatResult({ columns: ['count', 'x'], rows: [] }, 'table')).toBe(
      'count | x\n------+--\n(0 rows)\n',
    );
    expect(formatResult({ columns: ['count', 'x'], rows: [] }, 'csv')).toBe('count,x\n');
  });
});

describe('localTables', () => {
  const state = () => join(dir, 'state');
  const options = () => ({ contractsDir: CONTRACTS });
  /** What a view over every object under `path` reads. */
  const under = (path: string) => [join(dir, path, `**/*${OBJECT}`)];

  it('names an arrivals view after each contract whose directory holds objects, found at any depth', () => {
    file(`state/s3/medallion-local-silver/retail/orders/dt=2026-11-01/part-0${OBJECT}`);
    file(`state/s3/medallion-local-silver/retail/customers/dt=2026-11-01/part-0${OBJECT}`);
    expect(localTables(state(), options())).toEqual({
      orders_arrivals: under('state/s3/medallion-local-silver/retail/orders'),
      customers_arrivals: under('state/s3/medallion-local-silver/retail/customers'),
    });
  });

  it('reads a current-state (Iceberg) table through its snapshot: only the files it lists', () => {
    const listed = file(`state/s3/medallion-local-silver/_current/retail/orders/data/dt=1/a${OBJECT}`);
    file(`state/s3/medallion-local-silver/_current/retail/orders/data/dt=1/orphan${OBJECT}`);
    file(
      `state/s3/medallion-local-silver/_current/retail/orders/metadata/00001.metadata.json${OBJECT}`,
      JSON.stringify({ files: [{ path: 's3://medallion-local-silver/_current/retail/orders/data/dt=1/a' }] }),
    );
    const iceberg = (metadata?: string) => ({
      table: {
        StorageDescriptor: { Location: 's3://medallion-local-silver/_current/retail/orders' },
        Parameters: { table_type: 'ICEBERG', ...(metadata ? { metadata_location: metadata } : {}) },
      },
    });
    file(
      'state/gold/glue-catalog.json',
      JSON.stringify({
        databases: {
          lake: {
            tables: {
              orders: iceberg(
                's3://medallion-local-silver/_current/retail/orders/metadata/00001.metadata.json',
              ),
              customers: iceberg(),
            },
          },
        },
      }),
    );
    expect(localTables(state(), options())).toEqual({ orders: [join(listed, `a${OBJECT}`)] });
  });

  it("ignores a contract's directory holding only s3rver's metadata files, or nothing", () => {
    file('state/s3/medallion-local-silver/retail/orders/dt=2026-11-01/part-0._S3rver_metadata.json', '{}');
    file('state/s3/medallion-local-silver/retail/orders/dt=2026-11-01/part-0._S3rver_object.md5', 'x');
    mkdirSync(join(dir, 'state/s3/medallion-local-silver/retail/products'), { recursive: true });
    expect(localTables(state(), options())).toEqual({});
  });

  it('reads silver from the buckets of another prefix', () => {
    file(`state/s3/other-silver/retail/products/p${OBJECT}`);
    file(`state/s3/medallion-local-silver/retail/orders/o${OBJECT}`);
    expect(localTables(state(), { ...options(), bucketPrefix: 'other' })).toEqual({
      products_arrivals: under('state/s3/other-silver/retail/products'),
    });
  });

  it('adds the tables of both local catalog layouts, at their locations without trailing slashes', () => {
    file(`state/s3/medallion-local-gold/daily/v1/part${OBJECT}`);
    file(`state/s3/medallion-local-gold/weekly/v2/x/part${OBJECT}`);
    file(`state/s3/medallion-local-gold/monthly/part${OBJECT}`);
    file(
      'state/glue-catalog.json',
      JSON.stringify({
        tables: { daily_sales: { StorageDescriptor: { Location: 's3://medallion-local-gold/daily/v1/' } } },
      }),
    );
    file(
      'state/gold/glue-catalog.json',
      JSON.stringify({
        databases: {
          gold: {
            tables: {
              weekly_sales: {
                table: { StorageDescriptor: { Location: 's3://medallion-local-gold/weekly/v2//' } },
              },
              monthly_sales: { StorageDescriptor: { Location: 's3://medallion-local-gold/monthly' } },
            },
          },
        },
      }),
    );
    expect(localTables(state(), options())).toEqual({
      daily_sales: under('state/s3/medallion-local-gold/daily/v1'),
      weekly_sales: under('state/s3/medallion-local-gold/weekly/v2'),
      monthly_sales: under('state/s3/medallion-local-gold/monthly'),
    });
  });

  it('keeps the silver view over a catalogued table of the same name, and the first catalog over the second', () => {
    file(`state/s3/medallion-local-silver/retail/orders/o${OBJECT}`);
    file(`state/s3/medallion-local-gold/a/part${OBJECT}`);
    file(`state/s3/medallion-local-gold/b/part${OBJECT}`);
    file(
      'state/glue-catalog.json',
      JSON.stringify({
        tables: {
          orders_arrivals: { StorageDescriptor: { Location: 's3://medallion-local-gold/a/' } },
          sales: { StorageDescriptor: { Location: 's3://medallion-local-gold/a/' } },
        },
      }),
    );
    file(
      'state/gold/glue-catalog.json',
      JSON.stringify({
        databases: {
          gold: {
            tables: { sales: { table: { StorageDescriptor: { Location: 's3://medallion-local-gold/b/' } } } },
          },
        },
      }),
    );
    expect(localTables(state(), options())).toEqual({
      orders_arrivals: under('state/s3/medallion-local-silver/retail/orders'),
      sales: under('state/s3/medallion-local-gold/a'),
    });
  });

  it('skips catalogued tables outside s3://, without a location, or without objects yet', () => {
    file(
      'state/glue-catalog.json',
      JSON.stringify({
        tables: {
          remote: { StorageDescriptor: { Location: 'https://example.com/x/' } },
          bare: { StorageDescriptor: {} },
          empty: { StorageDescriptor: { Location: 's3://medallion-local-gold/empty/' } },
        },
      }),
    );
    expect(localTables(state(), options())).toEqual({});
  });

  it('fails with a QueryError naming a catalog file that is not JSON', () => {
    const catalog = join(file('state/glue-catalog.json', '{ not json'), 'glue-catalog.json');
    const call = () => localTables(state(), options());
    expect(call).toThrow(QueryError);
    expect(call).toThrow(
      new RegExp(`^cannot read the local catalog ${catalog.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `),
    );
  });

  it('fails with a QueryError when the contracts directory does not exist', () => {
    const missing = join(dir, 'no-contracts');
    expect(() => localTables(state(), { contractsDir: missing })).toThrow(
      new QueryError(`contracts directory ${missing} does not exist`),
    );
  });
});

describe('runQuery', () => {
  it('fails with a QueryError naming the absolute state directory when it holds no buckets', async () => {
    const missing = join(dir, 'never-run');
    const relativeToCwd = relative(process.cwd(), missing);
    const expected = `no local buckets in ${missing}: run \`medallion pipeline\` (or \`local\`) first`;
    await expect(runQuery('SELECT 1', { stateDir: relativeToCwd, contractsDir: CONTRACTS })).rejects.toEqual(
      new QueryError(expected),
    );
    mkdirSync(missing); // a directory without s3/ is no different
    await expect(runQuery('SELECT 1', { stateDir: missing, contractsDir: CONTRACTS })).rejects.toThrow(
      expected,
    );
  });

  it('queries silver arrival Parquet objects as a view with the dt partition from the path, integers as numbers', async () => {
    const base = 'state/s3/medallion-local-silver/retail/orders';
    await parquet(`${base}/dt=2026-11-01/a${OBJECT}`, "SELECT 'O-1' AS order_id, 2::INTEGER AS quantity");
    await parquet(`${base}/dt=2026-11-02/b${OBJECT}`, "SELECT 'O-2' AS order_id, 5::INTEGER AS quantity");
    const result = await runQuery(
      'SELECT dt::VARCHAR AS dt, sum(quantity) AS total, count(*) AS n FROM orders_arrivals GROUP BY dt ORDER BY dt',
      { stateDir: join(dir, 'state'), contractsDir: CONTRACTS },
    );
    expect(result.columns).toEqual(['dt', 'total', 'n']);
    expect(result.rows).toEqual([
      { dt: '2026-11-01', total: 2, n: 1 },
      { dt: '2026-11-02', total: 5, n: 1 },
    ]);
    expect(result.tables).toEqual({ orders_arrivals: [join(dir, base, `**/*${OBJECT}`)] });
  });

  it('keeps 64-bit and wider integers that a number cannot hold exactly as strings', async () => {
    mkdirSync(join(dir, 'state', 's3'), { recursive: true });
    const result = await runQuery(
      'SELECT 9007199254740993::BIGINT AS big, 42::BIGINT AS small, 170141183460469231731687303715884105727::HUGEINT AS huge, 7::HUGEINT AS h',
      { stateDir: join(dir, 'state'), contractsDir: CONTRACTS },
    );
    expect(result.rows).toEqual([
      { big: '9007199254740993', small: 42, huge: '170141183460469231731687303715884105727', h: 7 },
    ]);
  });

  it('fails in one line with the known tables when DuckDB refuses the SQL', async () => {
    mkdirSync(join(dir, 'state', 's3'), { recursive: true });
    const run = runQuery('SELECT * FROM nope', { stateDir: join(dir, 'state'), contractsDir: CONTRACTS });
    await expect(run).rejects.toThrow(QueryError);
    await expect(run).rejects.toThrow(/^[^\n]*nope[^\n]* \(tables: none\)$/);
  });
});
