/**
 * Gold model tests: the `-- test:` header (each kind, its checks, errors naming the file and line), how
 * relationships count as refs, and the one query that counts every test's failures, run on DuckDB for
 * real and checked against the Athena dialect.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { GoldModelError } from '../../../core/errors';
import { checkAthenaSql } from '../../../core/gold/dialect';
import {
  type ModelTest,
  type ModelTestContext,
  modelTestsQuery,
  parseModelTest,
  stagingDatabaseName,
  testedTables,
} from '../../../core/gold/model-tests';
import { loadGoldModels } from '../../../core/gold/models';
import { PROJECT_ROOT } from '../../../lib/config';

const CONTEXT: ModelTestContext = {
  model: 'daily',
  columns: [
    { name: 'day', type: 'date' },
    { name: 'store_id', type: 'string' },
    { name: 'category', type: 'varchar(20)' },
    { name: 'orders', type: 'bigint' },
    { name: 'revenue', type: 'decimal(18,2)' },
    { name: 'open', type: 'boolean' },
  ],
  goldModels: new Map([['stores_gold', ['store_id', 'name']]]),
  silverTables: new Set(['stores', 'orders']),
};
const parse = (value: string) => parseModelTest(value, 7, CONTEXT);
const problem = (value: string) => {
  try {
    parse(value);
  } catch (e) {
    expect(e).toBeInstanceOf(GoldModelError);
    return (e as Error).message;
  }
  throw new Error(`'${value}' parsed`);
};

describe('parseModelTest', () => {
  test('unique: the key columns, in order, one test', () => {
    expect(parse('unique(day, store_id,category)')).toEqual([
      {
        kind: 'unique',
        columns: ['day', 'store_id', 'category'],
        label: 'unique(day, store_id, category)',
        line: 7,
      },
    ]);
  });

  test('not_null: one test per column, so a failure names its column', () => {
    expect(parse('not_null( store_id , category )').map((t) => t.label)).toEqual([
      'not_null(store_id)',
      'not_null(category)',
    ]);
  });

  test('accepted_values: literals of the column kind (quoted text, numbers, booleans)', () => {
    expect(parse("accepted_values(category, 'a', 'it''s, ok')")).toEqual([
      {
        kind: 'accepted_values',
        column: 'category',
        values: ["'a'", "'it''s, ok'"],
        label: "accepted_values(category, 'a', 'it''s, ok')",
        line: 7,
      },
    ]);
    expect(parse('accepted_values(orders, 1, 2, -3.5)')[0]).toMatchObject({ values: ['1', '2', '-3.5'] });
    expect(parse('accepted_values(open, true)')[0]).toMatchObject({ values: ['true'] });
  });

  test('relationships: a silver table or another gold model, its column checked when it is gold', () => {
    expect(parse('relationships(store_id, stores.store_id)')).toEqual([
      {
        kind: 'relationships',
        column: 'store_id',
        table: 'stores',
        tableColumn: 'store_id',
        label: 'relationships(store_id, stores.store_id)',
        line: 7,
      },
    ]);
    expect(parse('relationships(store_id, stores_gold.store_id)')[0]).toMatchObject({ table: 'stores_gold' });
  });

  test('expression: the boolean SQL as written', () => {
    expect(parse("expression(revenue >= 0 AND category <> 'x;y')")).toEqual([
      {
        kind: 'expression',
        expression: "revenue >= 0 AND category <> 'x;y'",
        label: "expression(revenue >= 0 AND category <> 'x;y')",
        line: 7,
      },
    ]);
  });

  test.each([
    ['unique', "must read '<kind>(<arguments>)'"],
    ['check(day)', "unknown test 'check'"],
    ['unique()', 'unique: use unique(<column>, ...)'],
    ['unique(day, day)', "column 'day' is listed twice"],
    ['not_null(nope)', "not_null: 'nope' is not among the model's columns (day, store_id"],
    ['not_null(day,,store_id)', 'not_null: use'],
    ["accepted_values(category, 'a)", 'unbalanced brackets or quotes'],
    ['accepted_values(category)', 'accepted_values: use accepted_values(<column>, <value>, ...)'],
    [
      'accepted_values(category, a)',
      "a is not a value of varchar(20) column 'category': write a quoted string",
    ],
    ["accepted_values(orders, '1')", "'1' is not a value of bigint column 'orders': write a number"],
    ['accepted_values(open, 1)', 'write true or false'],
    ["accepted_values(day, '2026-01-01')", "column 'day' is a date: only string, number and boolean"],
    ['relationships(store_id)', 'relationships: use relationships(<column>, <table>.<column>)'],
    ['relationships(store_id, stores)', "'stores' must be <table>.<column>"],
    [
      'relationships(store_id, shops.id)',
      "'shops' is neither a gold model nor a silver table (known: orders, stores, stores_gold)",
    ],
    [
      'relationships(store_id, stores_gold.id)',
      "'id' is not among the columns of gold model stores_gold (store_id, name)",
    ],
    ['relationships(store_id, daily.store_id)', 'a model cannot reference itself'],
    ['relationships(nope, stores.store_id)', "relationships: 'nope' is not among the model's columns"],
    ['expression()', 'expression: use expression(<boolean SQL>)'],
    ['expression(revenue > 0; DROP TABLE x)', "';', comments and '{{' are not allowed"],
    ['expression(revenue > 0 -- no)', "';', comments and '{{' are not allowed"],
    ['expression((revenue > 0)', 'unbalanced brackets or quotes'],
    ['expression(revenue::double > 0)', 'DuckDB-only syntax, Athena would refuse it'],
  ])('%s is refused: %s', (value, message) => {
    expect(problem(value)).toContain(message);
  });
});

describe('stagingDatabaseName and testedTables', () => {
  test('the staging database sits beside the lake database; relationships name the tables tests read', () => {
    expect(stagingDatabaseName('medallion_dev')).toBe('medallion_dev_staging');
    const tests = [
      ...parse('relationships(store_id, stores.store_id)'),
      ...parse('relationships(store_id, stores_gold.store_id)'),
      ...parse('not_null(day)'),
    ];
    expect(testedTables(tests)).toEqual(['stores', 'stores_gold']);
    expect(testedTables(undefined)).toEqual([]);
  });
});

describe('modelTestsQuery', () => {
  const tests: ModelTest[] = [
    ...parse('unique(day, store_id)'),
    ...parse('not_null(store_id, category)'),
    ...parse("accepted_values(category, 'a', 'b')"),
    ...parse('relationships(store_id, stores.store_id)'),
    ...parse('expression(revenue >= 0)'),
  ];
  const sql = modelTestsQuery(tests, { candidate: '"lake_staging"."daily"', database: 'lake' });

  test('one query in the Athena dialect, over the candidate, the relationship table in the lake', () => {
    expect(() => checkAthenaSql(sql)).not.toThrow();
    expect(sql).toContain('FROM "lake_staging"."daily"');
    expect(sql).toContain('FROM "lake"."stores" parent');
    expect(sql.match(/\(SELECT count\(\*\)/g)).toHaveLength(tests.length);
    expect(() => modelTestsQuery([], { candidate: 'x', database: 'lake' })).toThrow('no test to run');
  });

  /** Runs `query` on DuckDB over a candidate `lake_staging.daily` of `rows` and the table `lake.stores`. */
  async function run(query: string, rows: string[]): Promise<Record<string, string>> {
    const instance = await DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    try {
      await c.run('CREATE SCHEMA lake; CREATE SCHEMA lake_staging');
      await c.run("CREATE TABLE lake.stores AS SELECT * FROM (VALUES ('s1'), ('s2')) t(store_id)");
      await c.run(
        'CREATE TABLE lake_staging.daily (day DATE, store_id VARCHAR, category VARCHAR, revenue DECIMAL(18,2))',
      );
      if (rows.length > 0) await c.run(`INSERT INTO lake_staging.daily VALUES ${rows.join(', ')}`);
      const reader = await c.runAndReadAll(query);
      const [row] = reader.getRowObjectsJson();
      // As text, the way Athena's GetQueryResults returns every value.
      return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, String(v)]));
    } finally {
      c.closeSync();
      instance.closeSync();
    }
  }

  test('on good data: nothing failed, every count 0', async () => {
    const row = await run(sql, [
      "(DATE '2026-11-01', 's1', 'a', 10.00)",
      "(DATE '2026-11-01', 's2', 'b', 0.00)",
      "(DATE '2026-11-02', 's1', 'a', 5.50)",
    ]);
    expect(row).toEqual({
      failed: '0',
      failures: 'none',
      results:
        "unique(day, store_id)=0; not_null(store_id)=0; not_null(category)=0; accepted_values(category, 'a', 'b')=0; relationships(store_id, stores.store_id)=0; expression(revenue >= 0)=0",
    });
  });

  test('on bad data: each failing test named with its count, in declaration order', async () => {
    const row = await run(sql, [
      "(DATE '2026-11-01', 's1', 'a', 10.00)",
      "(DATE '2026-11-01', 's1', 'b', 1.00)", // duplicates the key (day, s1)
      "(DATE '2026-11-01', 's1', 'c', 1.00)", // same key again: still one duplicated key; 'c' not accepted
      "(DATE '2026-11-02', 's9', NULL, -2.00)", // unknown store, NULL category, negative revenue
      "(DATE '2026-11-03', NULL, 'a', NULL)", // NULL store; NULLs pass relationships and the expression
    ]);
    expect(row.failed).toBe('6');
    expect(row.failures).toBe(
      [
        'unique(day, store_id): 1 duplicated key(s)',
        'not_null(store_id): 1 failing row(s)',
        'not_null(category): 1 failing row(s)',
        "accepted_values(category, 'a', 'b'): 1 failing row(s)",
        'relationships(store_id, stores.store_id): 1 failing row(s)',
        'expression(revenue >= 0): 1 failing row(s)',
      ].join('; '),
    );
  });

  test('unique ignores keys that are NULL throughout (not_null says so), as dbt does', async () => {
    const query = modelTestsQuery(parse('unique(store_id)'), {
      candidate: 'lake_staging.daily',
      database: 'lake',
    });
    const row = await run(query, [
      "(DATE '2026-11-01', NULL, 'a', 1.00)",
      "(DATE '2026-11-02', NULL, 'a', 1.00)",
    ]);
    expect(row).toMatchObject({ failed: '0', failures: 'none' });
  });
});

describe('the -- test: header in model files', () => {
  let tmp: string;
  let n = 0;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'medallion-model-tests-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const dir = (files: Record<string, string>) => {
    n += 1;
    const d = join(tmp, `models-${n}`);
    mkdirSync(d);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
    return d;
  };
  const load = (d: string) => loadGoldModels(d, { database: 'lake', silverTables: ['orders', 'stores'] });

  test('tests are read beside the columns; a relationship counts as a ref (gold: published first)', () => {
    const loaded = load(
      dir({
        'stores_gold.sql': "-- columns: store_id string\nSELECT store_id FROM {{ ref('stores') }}\n",
        'daily.sql': [
          '-- columns: day date, store_id string',
          '-- test: unique(day, store_id)',
          '-- test: relationships(store_id, stores_gold.store_id)',
          "SELECT CAST(order_ts AS date) AS day, store_id FROM {{ ref('orders') }}",
        ].join('\n'),
        'other.sql': [
          '-- columns: store_id string',
          '-- test: relationships(store_id, stores.store_id)',
          "SELECT store_id FROM {{ ref('orders') }}",
        ].join('\n'),
      }),
    );
    const daily = loaded.models.find((m) => m.name === 'daily');
    expect(daily?.tests?.map((t) => `${t.label}@${t.line}`)).toEqual([
      'unique(day, store_id)@2',
      'relationships(store_id, stores_gold.store_id)@3',
    ]);
    expect(daily?.dependsOn).toEqual(['stores_gold']);
    expect(loaded.models.find((m) => m.name === 'other')?.dependsOn).toEqual([]);
    expect(loaded.models.find((m) => m.name === 'stores_gold')?.tests).toBeUndefined();
    expect(loaded.silverTables).toEqual(['orders', 'stores']);
  });

  test('an incremental model may test against a gold model (its SQL still reads silver only)', () => {
    const loaded = load(
      dir({
        'stores_gold.sql': "-- columns: store_id string\nSELECT store_id FROM {{ ref('stores') }}\n",
        'daily.sql': [
          '-- columns: store_id string, day date',
          '-- incremental: day lookback 1 day',
          '-- test: relationships(store_id, stores_gold.store_id)',
          "SELECT store_id, CAST(order_ts AS date) AS day FROM {{ ref('orders') }}",
        ].join('\n'),
      }),
    );
    const daily = loaded.models.find((m) => m.name === 'daily');
    expect(daily?.incremental?.column).toBe('day');
    expect(daily?.dependsOn).toEqual(['stores_gold']);
  });

  test('every bad test is reported with its file and line', () => {
    const d = dir({
      'daily.sql': [
        '-- columns: day date, store_id string',
        '-- test: not_null(nope)',
        '-- test: unique(day)',
        '-- test: unique(day)',
        '-- test: relationships(store_id, shops.id)',
        '-- test:',
        "SELECT CAST(order_ts AS date) AS day, store_id FROM {{ ref('orders') }}",
      ].join('\n'),
    });
    expect(() => load(d)).toThrow(GoldModelError);
    expect(() => load(d)).toThrow(/daily\.sql:6: the test is empty/);
    writeFileSync(
      join(d, 'daily.sql'),
      [
        '-- columns: day date, store_id string',
        '-- test: not_null(nope)',
        '-- test: unique(day)',
        '-- test: unique(day)',
        '-- test: relationships(store_id, shops.id)',
        "SELECT CAST(order_ts AS date) AS day, store_id FROM {{ ref('orders') }}",
      ].join('\n'),
    );
    let message = '';
    try {
      load(d);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("daily.sql:2: test: not_null: 'nope' is not among the model's columns");
    expect(message).toContain('daily.sql:4: test unique(day) is declared twice');
    expect(message).toContain(
      "daily.sql:5: test: relationships: 'shops' is neither a gold model nor a silver table",
    );
  });

  test('the sample models declare tests', () => {
    const loaded = loadGoldModels(join(PROJECT_ROOT, 'samples', 'models'), {
      database: 'lake',
      silverTables: ['orders', 'products', 'customers'],
    });
    for (const m of loaded.models) expect([m.name, (m.tests?.length ?? 0) > 0]).toEqual([m.name, true]);
    expect(loaded.models.find((m) => m.name === 'daily_sales')?.tests?.[0].label).toBe(
      'unique(sales_date, store_id, category)',
    );
  });
});
