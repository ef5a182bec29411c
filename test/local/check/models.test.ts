/**
 * `medallion check` on gold model files: unknown refs with the likely name, Athena syntax (a positive
 * check), one SELECT, and the loader's own rules, each at its file and line.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkProject } from '../../../local/check/check';
import { modelFiles } from '../../support/model-files';

const SAMPLES = join(__dirname, '..', '..', '..', 'samples');

describe('medallion check: gold models', () => {
  let dir: string;
  let contracts: string;
  let models: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-check-models-'));
    contracts = join(dir, 'contracts');
    models = join(dir, 'models');
    cpSync(join(SAMPLES, 'contracts'), contracts, { recursive: true });
    mkdirSync(models);
    cpSync(join(SAMPLES, 'models'), models, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const { edit, write, lineOf } = modelFiles(() => models);
  const problems = async () => (await checkProject({ contractsDir: contracts, modelsDir: models })).problems;

  it('finds nothing wrong with the sample models', async () => {
    const result = await checkProject({
      contractsDir: join(SAMPLES, 'contracts'),
      modelsDir: join(SAMPLES, 'models'),
    });
    expect(result.problems).toEqual([]);
    expect(result.models).toBe(3);
  });

  it("names an unknown ref at its line with the closest table: did you mean 'orders'?", async () => {
    const file = edit('customer_lifetime_value.sql', (t) => t.replace("ref('orders')", "ref('order')"));
    expect(await problems()).toEqual([
      {
        file,
        line: lineOf(file, "ref('order')"),
        message: "ref('order') is neither a gold model nor a silver table",
        fix: "did you mean 'orders'?",
      },
    ]);
  });

  it('lists the known tables when no name is close', async () => {
    const file = write('x.sql', "-- columns: n bigint\nSELECT count(*) AS n FROM {{ ref('invoices') }}\n");
    const [problem, ...more] = await problems();
    expect(more).toEqual([]);
    expect(problem).toMatchObject({ file, line: 2 });
    expect(problem.fix).toMatch(/^known tables: category_sales, customer_lifetime_value, customers, /);
  });

  it('refuses DuckDB-only SQL at its line: count(*)::bigint', async () => {
    const file = edit('daily_sales.sql', (t) =>
      t.replace('COUNT(DISTINCT order_id) AS orders', 'COUNT(DISTINCT order_id)::bigint AS orders'),
    );
    expect(await problems()).toEqual([
      {
        file,
        line: lineOf(file, '::bigint'),
        message: "DuckDB-only syntax, Athena refuses it: '::' casts (column 27)",
        fix: 'use CAST(x AS type)',
      },
    ]);
  });

  it('on Redshift, also refuses SQL the engines read differently: CAST(x AS double), at its line', async () => {
    const file = edit('category_sales.sql', (t) => t.replace('AS double precision)', 'AS double)'));
    const redshift = async () =>
      (await checkProject({ contractsDir: contracts, modelsDir: models, goldEngine: 'redshift' })).problems;
    // Athena reads it...
    expect(await problems()).toEqual([]);
    // ...Redshift and PostgreSQL do not know `double`.
    const found = await redshift();
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ file, line: lineOf(file, 'AS double)') });
    expect(found[0].message).toMatch(/^not portable to Redshift: .*double/);
    expect(found[0].fix).toMatch(/double precision/);
  });

  it('finds the sample models portable to Redshift', async () => {
    const result = await checkProject({
      contractsDir: join(SAMPLES, 'contracts'),
      modelsDir: join(SAMPLES, 'models'),
      goldEngine: 'redshift',
    });
    expect(result.problems).toEqual([]);
  });

  it('refuses a syntax error where Athena would stop', async () => {
    const file = edit('category_sales.sql', (t) =>
      t.replace('MIN(sales_date) AS first_sales_date', 'MIN(sales_date AS first_sales_date'),
    );
    const found = await problems();
    expect(found).toContainEqual({
      file,
      line: lineOf(file, 'MIN(sales_date AS'),
      message: "Athena (Trino) cannot parse this: unexpected 'AS' (column 18)",
      fix: expect.stringContaining("correct the SQL at 'AS'"),
    });
  });

  it('refuses a model that is not a SELECT', async () => {
    const file = write('x.sql', "-- columns: n bigint\nDELETE FROM {{ ref('orders') }}\n");
    expect(await problems()).toContainEqual({
      file,
      line: 2,
      message: 'a gold model is one SELECT (or WITH ... SELECT), not DELETE',
      fix: expect.any(String),
    });
  });

  it("reports the loader's own rules at their line: a header it cannot read, a model named like a silver table", async () => {
    const header = write('x.sql', '-- columns: n money\nSELECT 1 AS n\n');
    const clash = write('products.sql', '-- columns: n int\nSELECT 1 AS n\n');
    const found = await problems();
    expect(found).toContainEqual({
      file: header,
      line: 1,
      message: expect.stringMatching(/^columns: column 'n' has type 'money', not an Athena type/),
      fix: expect.stringContaining("README 'Gold models'"),
    });
    // The loader stops at the first file whose header it cannot read: fixed, the next one shows.
    write('x.sql', '-- columns: n int\nSELECT 1 AS n\n');
    expect(await problems()).toContainEqual({
      file: clash,
      line: 0,
      message: "gold model 'products' has the name of a silver table: rename the file",
      fix: 'rename the model file',
    });
  });

  it('does not blame a model for the refs of a contract that did not load (reported once, at the contract)', async () => {
    writeFileSync(join(contracts, 'products.yaml'), 'domain: retail\ndataset: products\n');
    const found = await problems();
    expect(found.length).toBeGreaterThan(0);
    expect(new Set(found.map((p) => p.file))).toEqual(new Set([join(contracts, 'products.yaml')]));
  });
});
