/**
 * Gold model files: header parsing (columns, description), `{{ ref() }}` rendering, dependencies, and the
 * errors that name the file and line. The sample models are loaded too.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GoldModelError } from '../../../core/errors';
import { orderModels } from '../../../core/gold/graph';
import { loadGoldModels } from '../../../core/gold/models';
import { PROJECT_ROOT } from '../../../lib/config';

const FIXTURES = join(__dirname, 'fixtures', 'gold-models');
const DATABASE = 'medallion_test';
const SILVER = ['orders', 'customers', 'products'];

let tmp: string;
let dirs = 0;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'medallion-gold-models-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A directory holding `files` (name -> text). */
function modelsDir(files: Record<string, string>): string {
  dirs += 1;
  const dir = join(tmp, `models-${dirs}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const load = (dir: string, silverTables: string[] = SILVER) =>
  loadGoldModels(dir, { database: DATABASE, silverTables });

/** The message of the GoldModelError `fn` throws. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GoldModelError);
    return (e as Error).message;
  }
  throw new Error('expected a GoldModelError');
}

const HEADER = '-- columns: x int\n';

describe('the fixture models', () => {
  const loaded = load(FIXTURES);
  const byName = (name: string) => {
    const m = loaded.models.find((x) => x.name === name);
    if (!m) throw new Error(`no model ${name}`);
    return m;
  };

  test('one model per .sql file, named after it (other files ignored)', () => {
    expect(loaded.models.map((m) => m.name)).toEqual(['base', 'derived']);
    expect(loaded.tables.map((t) => t.name)).toEqual(['base', 'derived']);
  });

  test('refs render as "<database>"."<table>"; refs to models become dependencies', () => {
    expect(byName('base').sql).toBe(
      [
        'select customer_id, cast(order_ts as date) as day, sum(amount) as revenue',
        'from "medallion_test"."orders"',
        'group by 1, 2',
      ].join('\n'),
    );
    expect(byName('base').dependsOn).toEqual([]);
    const derived = byName('derived');
    expect(derived.dependsOn).toEqual(['base']);
    expect(derived.sql).toContain('FROM "medallion_test"."base" b');
    expect(derived.sql).toContain('FROM "medallion_test"."base" GROUP BY 1');
    expect(derived.sql).toContain('JOIN "medallion_test"."customers" c');
    expect(derived.sql).not.toContain('{{');
    expect(orderModels(loaded.models).map((w) => w.map((m) => m.name))).toEqual([['base'], ['derived']]);
  });

  test('the header is left out of the SQL, which starts at its first statement line', () => {
    expect(byName('base').sql.startsWith('select ')).toBe(true);
    expect(byName('derived').sql.startsWith('SELECT b.customer_id')).toBe(true);
    expect(byName('derived').sql).not.toContain('-- columns');
  });

  test('columns: Athena types, lower-cased, spaces dropped; lists may span several lines', () => {
    expect(loaded.tables[0]).toEqual({
      name: 'base',
      columns: [
        { name: 'customer_id', type: 'string' },
        { name: 'day', type: 'date' },
        { name: 'revenue', type: 'decimal(18,2)' },
      ],
      // Its lineage (the tables its SQL reads) and its product header's defaults.
      sources: ['orders'],
      product: { version: '1.0.0', readers: [] },
    });
    expect(loaded.tables[1]).toEqual({
      name: 'derived',
      description: "Share of each day in a customer's lifetime revenue",
      columns: [
        { name: 'customer_id', type: 'string' },
        { name: 'day', type: 'date' },
        { name: 'share', type: 'double' },
        { name: 'tags', type: 'array<string>' },
        { name: 'attrs', type: 'map<string,decimal(10,2)>' },
        { name: 'info', type: 'struct<a:int,b:string>' },
      ],
      sources: ['base', 'customers'],
      product: { version: '1.0.0', readers: [] },
    });
  });

  test('the silver tables the models read, sorted (products is known but not read)', () => {
    expect(loaded.silverTables).toEqual(['customers', 'orders']);
  });
});

describe('the sample models', () => {
  const loaded = load(join(PROJECT_ROOT, 'samples', 'models'));

  test('daily_sales and customer_lifetime_value read silver; category_sales reads daily_sales', () => {
    expect(orderModels(loaded.models).map((w) => w.map((m) => m.name))).toEqual([
      ['customer_lifetime_value', 'daily_sales'],
      ['category_sales'],
    ]);
    expect(loaded.silverTables).toEqual(['orders', 'products']);
  });

  test('daily_sales declares the brief schema, reads the current state (no de-duplication of its own) and is incremental on its date', () => {
    const table = loaded.tables.find((t) => t.name === 'daily_sales');
    expect(table?.description).toMatch(/^Daily sales by UTC order date, store and product category/);
    expect(table?.partitionKeys).toEqual([{ name: 'sales_date', type: 'date' }]);
    expect(loaded.models.find((m) => m.name === 'daily_sales')?.incremental).toMatchObject({
      column: 'sales_date',
      lookbackDays: 1,
      alignedTables: ['orders'],
      otherTables: ['products'],
    });
    expect(table?.columns.map((c) => `${c.name} ${c.type}`)).toEqual([
      'store_id string',
      'category string',
      'orders bigint',
      'revenue decimal(18,2)',
      'average_order_value decimal(18,2)',
      'unique_customers bigint',
    ]);
    const sql = loaded.models.find((m) => m.name === 'daily_sales')?.sql ?? '';
    expect(sql).not.toContain('row_number()');
    expect(sql).toContain('FROM "medallion_test"."orders" o');
    expect(sql).toContain('JOIN "medallion_test"."products" p');
  });

  test('only SQL that Athena (Trino) and DuckDB both accept: no DuckDB-only syntax', () => {
    for (const m of loaded.models) {
      const sql = m.sql.replace(/--.*$/gm, '');
      expect([m.name, /::|\bQUALIFY\b|\bEXCLUDE\b|\bstrftime\b|;\s*$/i.test(sql)]).toEqual([m.name, false]);
    }
  });

  test('every model has a description and columns', () => {
    for (const t of loaded.tables) {
      expect([t.name, (t.description ?? '').length > 10]).toEqual([t.name, true]);
      expect(t.columns.length).toBeGreaterThan(0);
    }
  });
});

describe('errors name the file and the line', () => {
  test('an unknown ref, with the known names', () => {
    const dir = modelsDir({ 'a.sql': `${HEADER}SELECT *\nFROM {{ ref('nope') }}` });
    expect(errorOf(() => load(dir))).toContain(
      `${join(dir, 'a.sql')}:3: ref('nope') is neither a gold model nor a silver table (known: a, customers, orders, products)`,
    );
  });

  test('a silver table that is not in the known list is unknown too', () => {
    const dir = modelsDir({ 'a.sql': `${HEADER}SELECT * FROM {{ ref('orders') }}` });
    expect(errorOf(() => load(dir, ['customers']))).toContain("ref('orders') is neither");
    expect(() => load(dir)).not.toThrow();
  });

  test('other template syntax is refused', () => {
    const dir = modelsDir({ 'a.sql': `${HEADER}\nSELECT {{ source('x') }}` });
    expect(errorOf(() => load(dir))).toContain(
      `${join(dir, 'a.sql')}:3: only {{ ref('name') }} is supported`,
    );
  });

  test.each([
    ['no columns at all', 'SELECT 1', ':1: the header declares no column'],
    ['a bad type', '-- description: d\n-- columns: a int, b text', ":2: columns: column 'b' has type 'text'"],
    ['a missing type', '-- columns: a', ":1: columns: 'a' must be '<name> <type>'"],
    ['a bad column name', '-- columns: A int', ":1: columns: invalid column name 'A'"],
    ['a duplicate column', '-- columns: a int\n-- columns: a bigint', ":2: column 'a' is declared twice"],
    ['an empty entry', '-- columns: a int,, b int', ':1: columns: an empty entry'],
    ['unbalanced brackets', '-- columns: a decimal(10,2', ':1: columns: unbalanced brackets'],
    [
      'an unknown key',
      '-- colums: a int',
      ":1: unknown header key 'colums' (expected description, columns, incremental, test, domain, owner, version, sla, access)",
    ],
    [
      'two descriptions',
      '-- description: a\n-- description: b\n-- columns: a int',
      ':2: description is given twice',
    ],
    ['an empty description', '-- description:\n-- columns: a int', ':1: the description is empty'],
  ])('%s', (_, header, message) => {
    const dir = modelsDir({ 'a.sql': `${header}\nSELECT 1 AS a` });
    expect(errorOf(() => load(dir))).toBe(`gold model ${join(dir, 'a.sql')}${message}${tail(message)}`);
  });

  test('a file name that is not a table name', () => {
    const dir = modelsDir({ 'Daily-Sales.sql': `${HEADER}SELECT 1` });
    expect(errorOf(() => load(dir))).toContain(
      `${join(dir, 'Daily-Sales.sql')}:1: the file name must be lower-case letters`,
    );
  });

  test('a model named like a silver table', () => {
    const dir = modelsDir({ 'orders.sql': `${HEADER}SELECT 1` });
    expect(errorOf(() => load(dir))).toContain(
      `${join(dir, 'orders.sql')}: gold model 'orders' has the name of a silver table`,
    );
  });

  test('a cycle and an empty model are found after rendering', () => {
    const cycle = modelsDir({
      'a.sql': `${HEADER}SELECT * FROM {{ ref('b') }}`,
      'b.sql': `${HEADER}SELECT * FROM {{ ref('a') }}`,
    });
    expect(errorOf(() => load(cycle))).toContain('dependency cycle: a -> b -> a');
    const empty = modelsDir({ 'a.sql': `${HEADER};` });
    expect(errorOf(() => load(empty))).toContain("gold model 'a' has no SQL");
  });

  test('a missing directory', () => {
    expect(errorOf(() => load(join(tmp, 'missing')))).toContain('gold models: no such directory');
  });

  test('an empty directory loads no model', () => {
    expect(load(modelsDir({}))).toEqual({ models: [], tables: [], silverTables: [] });
  });
});

/** The rest of a header message after the part the table gives (the exact text is checked once). */
function tail(message: string): string {
  const full: Record<string, string> = {
    ':1: the header declares no column': ": add a line '-- columns: <name> <type>, ...' before the SQL",
    ":2: columns: column 'b' has type 'text'":
      ', not an Athena type (string, int, bigint, double, decimal(p,s), boolean, date, timestamp, array<...>...)',
    ":1: columns: invalid column name 'A'": " (lower-case letters, digits and '_', starting with a letter)",
    ':1: columns: an empty entry': ' (two commas in a row)',
    ':1: columns: unbalanced brackets': " in 'a decimal(10,2'",
  };
  return full[message] ?? '';
}

describe('incremental models', () => {
  const INC = '-- columns: sales_date date, n bigint\n';
  test('the header declares the date column, the lookback and the tables the date follows', () => {
    const dir = modelsDir({
      'daily.sql': `${INC}-- incremental: sales_date lookback 2 days from orders\nSELECT o.d AS sales_date, count(*) AS n FROM {{ ref('orders') }} o JOIN {{ ref('products') }} p ON p.id = o.p GROUP BY 1`,
    });
    const loaded = load(dir);
    const m = loaded.models[0];
    expect(m.incremental).toMatchObject({
      column: 'sales_date',
      lookbackDays: 2,
      alignedTables: ['orders'],
      otherTables: ['products'],
      outputColumns: ['n', 'sales_date'],
      columns: [{ Name: 'n', Type: 'bigint' }],
    });
    expect(m.incremental?.windowSql).toContain(
      `FROM (SELECT * FROM "${DATABASE}"."orders" WHERE "dt" IN (/*medallion:window*/)) o JOIN "${DATABASE}"."products" p`,
    );
    expect(m.sql).toContain(`FROM "${DATABASE}"."orders" o`);
    // The table is partitioned by the date: it is a partition key, not a column.
    expect(loaded.tables[0]).toMatchObject({
      columns: [{ name: 'n', type: 'bigint' }],
      partitionKeys: [{ name: 'sales_date', type: 'date' }],
    });
  });
  test('with one silver ref, the date follows it', () => {
    const dir = modelsDir({
      'daily.sql': `${INC}-- incremental: sales_date lookback 1 day\nSELECT d AS sales_date, 1 AS n FROM {{ ref('orders') }}`,
    });
    expect(load(dir).models[0].incremental?.alignedTables).toEqual(['orders']);
  });
  test.each([
    ['sales_date lookback two days', /must read '<date column> lookback <N> days/],
    ['missing lookback 1 day', /column 'missing' is not among the columns/],
    ['n lookback 1 day', /must have type date, not bigint/],
    ['sales_date lookback 1 day from customers', /from 'customers': the model refs no such silver table/],
  ])('a bad declaration "%s" names the file and line', (declaration, message) => {
    const dir = modelsDir({
      'daily.sql': `${INC}-- incremental: ${declaration}\nSELECT d AS sales_date, 1 AS n FROM {{ ref('orders') }}`,
    });
    const error = errorOf(() => load(dir));
    expect(error).toMatch(/daily\.sql:2: /);
    expect(error).toMatch(message);
  });
  test('two silver refs need `from`; a table not partitioned by day cannot be followed; gold refs are refused', () => {
    const two = modelsDir({
      'daily.sql': `${INC}-- incremental: sales_date lookback 1 day\nSELECT 1 FROM {{ ref('orders') }}, {{ ref('products') }}`,
    });
    expect(errorOf(() => load(two))).toMatch(/refs 2 silver tables: say which ones its date follows/);
    const monthly = modelsDir({
      'daily.sql': `${INC}-- incremental: sales_date lookback 1 day\nSELECT 1 FROM {{ ref('orders') }}`,
    });
    expect(
      errorOf(() =>
        loadGoldModels(monthly, { database: DATABASE, silverTables: SILVER, dayPartitionedTables: [] }),
      ),
    ).toMatch(/'orders': that table is not partitioned by day/);
    const onGold = modelsDir({
      'base.sql': `${HEADER}SELECT 1 AS x`,
      'daily.sql': `${INC}-- incremental: sales_date lookback 1 day from orders\nSELECT 1 FROM {{ ref('orders') }}, {{ ref('base') }}`,
    });
    expect(errorOf(() => load(onGold))).toMatch(/reads silver tables only; it refs the gold model\(s\) base/);
  });
});
