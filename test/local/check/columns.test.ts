/**
 * `medallion check`: each model's header (names, order, types) against what DuckDB says its SELECT yields
 * over empty tables shaped like silver, models that read models described against their header.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkProject } from '../../../local/check/check';
import { duckDbTypeOf } from '../../../local/check/columns';
import { modelFiles } from '../../support/model-files';

const SAMPLES = join(__dirname, '..', '..', '..', 'samples');

describe('medallion check: declared columns against the SELECT', () => {
  let dir: string;
  let models: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-check-columns-'));
    models = join(dir, 'models');
    cpSync(join(SAMPLES, 'models'), models, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const { edit, write, lineOf } = modelFiles(() => models);
  const problems = async () =>
    (await checkProject({ contractsDir: join(SAMPLES, 'contracts'), modelsDir: models })).problems;

  it('refuses a declared type the SELECT does not yield, at the line declaring it, with the CAST to write', async () => {
    const file = edit('category_sales.sql', (t) =>
      t.replace('revenue_share double', 'revenue_share decimal(18,4)'),
    );
    expect(await problems()).toEqual([
      {
        file,
        line: lineOf(file, 'revenue_share decimal'),
        message:
          "category_sales: column 'revenue_share' is declared decimal(18,4), but its SELECT yields double (DuckDB: DOUBLE)",
        fix: "CAST(<expression> AS decimal(18,4)) AS revenue_share in the SELECT, or declare 'revenue_share double'",
      },
    ]);
  });

  it('refuses columns declared in another order than the SELECT yields them', async () => {
    const file = edit('customer_lifetime_value.sql', (t) =>
      t.replace(
        'customer_id string, first_order_date date, last_order_date date',
        'customer_id string, last_order_date date, first_order_date date',
      ),
    );
    expect(await problems()).toEqual([
      {
        file,
        line: lineOf(file, '-- columns: customer_id'),
        message:
          'customer_lifetime_value: the SELECT yields the columns in another order (customer_id, first_order_date, last_order_date, orders, lifetime_revenue) than the header declares (customer_id, last_order_date, first_order_date, orders, lifetime_revenue)',
        fix: 'list them in the same order in the SELECT and in the header: Athena writes them by position',
      },
    ]);
  });

  it('refuses a declared column the SELECT names otherwise, offering the name it has', async () => {
    const file = edit('customer_lifetime_value.sql', (t) =>
      t.replace('AS lifetime_revenue', 'AS lifetime_revenu'),
    );
    expect(await problems()).toEqual([
      {
        file,
        line: lineOf(file, 'lifetime_revenue decimal'),
        message: expect.stringMatching(
          /^customer_lifetime_value: column 'lifetime_revenue' is declared, but the SELECT yields no such column/,
        ),
        fix: "the SELECT names it 'lifetime_revenu': write '... AS lifetime_revenue', or declare 'lifetime_revenu'",
      },
    ]);
  });

  it('refuses a column the SELECT yields and the header does not declare', async () => {
    const file = edit('customer_lifetime_value.sql', (t) =>
      t.replace('  customer_id,\n', '  customer_id,\n  max(store_id) AS last_store,\n'),
    );
    const found = await problems();
    expect(found).toContainEqual({
      file,
      line: lineOf(file, '-- columns: lifetime_revenue'),
      message:
        "customer_lifetime_value: the SELECT yields column 'last_store', which the header does not declare",
      fix: "declare it ('-- columns: ..., last_store string') or leave it out of the SELECT",
    });
  });

  it("describes a model that reads another against that one's header, as the catalog declares it", async () => {
    // daily_sales declares `orders bigint`; category_sales sums it: a typo there is DuckDB's binder error.
    const file = edit('category_sales.sql', (t) => t.replace('SUM(orders)', 'SUM(order_count)'));
    const [problem, ...more] = await problems();
    expect(more).toEqual([]);
    expect(problem).toMatchObject({
      file,
      line: lineOf(file, 'SUM(order_count)'),
      message: expect.stringMatching(
        /^category_sales: DuckDB \(the local Athena\) cannot describe the SELECT: Binder Error: Referenced column "order_count" not found/,
      ),
      fix: expect.stringMatching(/^did you mean "orders/),
    });
    expect(problem.detail?.[0]).toMatch(/^LINE \d+:/);
  });

  it("accepts Trino's bigint for a sum of integers (DuckDB's HUGEINT) and refuses a header typed unlike silver", async () => {
    write(
      'units.sql',
      "-- columns: product_id string, units bigint\nSELECT product_id, SUM(quantity) AS units FROM {{ ref('orders') }} GROUP BY product_id\n",
    );
    expect(await problems()).toEqual([]);
    const file = write(
      'units.sql',
      "-- columns: product_id string, units int\nSELECT product_id, SUM(quantity) AS units FROM {{ ref('orders') }} GROUP BY product_id\n",
    );
    expect(await problems()).toEqual([
      expect.objectContaining({
        file,
        line: 1,
        message: expect.stringContaining("'units' is declared int, but its SELECT yields bigint"),
      }),
    ]);
  });

  it('reads the silver tables with the types the catalog gives them: history, timestamps in UTC, dt', async () => {
    write(
      'versions.sql',
      "-- columns: dt string, order_ts timestamp, ingested timestamp, versions bigint\nSELECT dt, order_ts, max(_ingested_at) AS ingested, count(*) AS versions FROM {{ ref('orders_history') }} GROUP BY dt, order_ts\n",
    );
    expect(await problems()).toEqual([]);
  });

  it('maps Athena types to DuckDB names, complex ones included', () => {
    expect(duckDbTypeOf('decimal(18, 2)')).toBe('DECIMAL(18,2)');
    expect(duckDbTypeOf('array<string>')).toBe('VARCHAR[]');
    expect(duckDbTypeOf('map<string,decimal(10,2)>')).toBe('MAP(VARCHAR, DECIMAL(10,2))');
    expect(duckDbTypeOf('struct<a:int,b:array<bigint>>')).toBe('STRUCT(a INTEGER, b BIGINT[])');
  });
});
