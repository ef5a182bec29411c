/**
 * The Redshift statements of the gold workflow: built for the state machine and the planner, parsed by the
 * local stand-in; an incremental model's run on Redshift is one transaction.
 */
import {
  addDays,
  type IncrementalModelSpec,
  planFull,
  planIncremental,
} from '../../../core/gold/incremental-plan';
import { WINDOW_MARKER } from '../../../core/gold/models';
import {
  parseExternalSchema,
  parseRedshiftUnload,
  redshiftBuildStatements,
  redshiftSchemaStatements,
  redshiftSwapStatements,
  redshiftUnload,
  redshiftUnloadStatement,
} from '../../../core/gold/redshift-sql';

const LOCATION = 's3://gold/daily/v=run2/';
const spec: IncrementalModelSpec = {
  name: 'daily',
  sql: 'SELECT d, n FROM "db"."orders";',
  windowSql: `SELECT d, n FROM (SELECT * FROM "db"."orders" WHERE "dt" IN (${WINDOW_MARKER}))`,
  column: 'd',
  lookbackDays: 1,
  alignedTables: ['orders'],
  otherTables: [],
  outputColumns: ['n', 'd'],
  columns: [{ Name: 'n', Type: 'bigint' }],
};
const sources = { orders: { after: 'a', through: 'b' } };
const redshift = { engine: 'redshift', kmsKeyId: 'key-1' } as const;

describe('full models', () => {
  test('build creates <model>__next from the SELECT (trailing ; dropped) and the table if missing', () => {
    expect(redshiftBuildStatements('sales', 'SELECT 1 AS x;\n')).toEqual([
      'DROP TABLE IF EXISTS "gold"."sales__next"',
      'CREATE TABLE "gold"."sales__next" AS\nSELECT 1 AS x\n',
      'CREATE TABLE IF NOT EXISTS "gold"."sales" (LIKE "gold"."sales__next")',
    ]);
  });

  test('swap renames within one batch and drops the previous table', () => {
    expect(redshiftSwapStatements('sales', 'bi')).toEqual([
      'DROP TABLE IF EXISTS "bi"."sales__previous"',
      'ALTER TABLE "bi"."sales" RENAME TO "sales__previous"',
      'ALTER TABLE "bi"."sales__next" RENAME TO "sales"',
      'DROP TABLE "bi"."sales__previous"',
    ]);
  });

  test('the schemas: an external schema named like the Glue database, through the default IAM role', () => {
    const [external, gold] = redshiftSchemaStatements('medallion_dev');
    expect(parseExternalSchema(external)).toEqual({ schema: 'medallion_dev', database: 'medallion_dev' });
    expect(external).toMatch(/IAM_ROLE default$/);
    expect(gold).toBe('CREATE SCHEMA IF NOT EXISTS "gold"');
    expect(parseExternalSchema('CREATE SCHEMA x')).toBeUndefined();
  });

  test("an UNLOAD's quotes survive the round trip through its literal, with the location spliced in", () => {
    const select = `SELECT * FROM "gold"."sales" WHERE s = 'it''s'`;
    const { before, after } = redshiftUnloadStatement(select, { kmsKeyId: 'k' });
    const parsed = parseRedshiftUnload(`${before}s3://gold/sales/v=1/${after}`);
    expect(parsed).toEqual({ select, location: 's3://gold/sales/v=1/', partitionBy: [], kmsKeyId: 'k' });
    expect(after).toBe("' IAM_ROLE default FORMAT AS PARQUET KMS_KEY_ID 'k' ENCRYPTED");
    expect(parseRedshiftUnload(redshiftUnload('SELECT 1', "s3://b/o'k/", { partitionBy: ['d'] }))).toEqual({
      select: 'SELECT 1',
      location: "s3://b/o'k/",
      partitionBy: ['d'],
      kmsKeyId: undefined,
    });
    expect(parseRedshiftUnload("UNLOAD ('SELECT 1') TO 's3://b/' WITH (format = 'PARQUET')")).toBeUndefined();
  });
});

describe('incremental models on Redshift', () => {
  test('a run is one transaction: delete the dates, insert them recomputed, unload them by date', () => {
    const plan = planIncremental({
      spec,
      location: LOCATION,
      changedPartitions: ['2026-01-05'],
      sources,
      dialect: redshift,
    });
    expect(plan.mode).toBe('incremental');
    expect(plan.dates).toEqual(['2026-01-04', '2026-01-05', '2026-01-06']);
    expect(plan.statements).toHaveLength(1);
    const [remove, insert, unload] = plan.statements[0] as string[];
    const dates = `"d" IN (DATE '2026-01-04', DATE '2026-01-05', DATE '2026-01-06')`;
    expect(remove).toBe(`DELETE FROM "gold"."daily" WHERE ${dates}`);
    expect(insert).toMatch(/^INSERT INTO "gold"."daily" \("n", "d"\)\nSELECT "n", "d"\nFROM \(/);
    // The window read around the dates: the lookback on both sides.
    expect(insert).toContain(
      `"dt" IN ('2026-01-03', '2026-01-04', '2026-01-05', '2026-01-06', '2026-01-07')`,
    );
    expect(insert).toContain(`WHERE ${dates}`);
    expect(parseRedshiftUnload(unload)).toEqual({
      select: `SELECT "n", "d" FROM "gold"."daily" WHERE ${dates}`,
      location: `${LOCATION}0/`,
      partitionBy: ['d'],
      kmsKeyId: 'key-1',
    });
  });

  test('no limit of 100 dates: 400 changed days are still one transaction', () => {
    const changed = Array.from({ length: 400 }, (_, i) => addDays('2025-01-01', i));
    const plan = planIncremental({
      spec,
      location: LOCATION,
      changedPartitions: changed,
      sources,
      dialect: redshift,
    });
    expect(plan.statements).toHaveLength(1);
    expect(plan.dates).toHaveLength(402);
  });

  test('a full run rebuilds the table from the whole SELECT, swaps it in and unloads every date', () => {
    const plan = planFull({
      spec,
      location: LOCATION,
      sourcePartitions: ['2026-01-01', '2026-01-02'],
      sources,
      reason: 'first run',
      dialect: redshift,
    });
    expect(plan.mode).toBe('full');
    const statements = plan.statements[0] as string[];
    expect(statements.slice(0, 3)).toEqual(
      redshiftBuildStatements(
        'daily',
        'SELECT "n", "d"\nFROM (\nSELECT d, n FROM "db"."orders"\n) AS "incremental_model"\nWHERE "d" IS NOT NULL',
      ),
    );
    expect(statements.slice(3, 7)).toEqual(redshiftSwapStatements('daily'));
    expect(parseRedshiftUnload(statements[7])).toMatchObject({
      select: 'SELECT "n", "d" FROM "gold"."daily"',
      partitionBy: ['d'],
    });
  });

  test('Athena plans are unchanged by the dialect option: partitioned UNLOAD strings', () => {
    const plan = planIncremental({ spec, location: LOCATION, changedPartitions: ['2026-01-05'], sources });
    expect(typeof plan.statements[0]).toBe('string');
    expect(plan.statements[0]).toMatch(/^UNLOAD \(/);
  });
});
