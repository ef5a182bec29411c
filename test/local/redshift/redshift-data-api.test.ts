import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  redshiftBuildStatements,
  redshiftRebuildPartitionedStatements,
  redshiftReplaceDatesStatements,
  redshiftSchemaStatements,
  redshiftSwapStatements,
  redshiftUnload,
} from '../../../core/gold/redshift-sql';
import { LocalAthena } from '../../../local/gold/athena-on-duckdb';
import { LocalGlueCatalog } from '../../../local/gold/glue-catalog';
import { TemplateResolver } from '../../../local/gold/state-machine-definition';
import {
  type DescribeStatementOutput,
  LocalRedshiftData,
  type StatementStatus,
} from '../../../local/redshift/redshift-data-api';
import type { Field } from '../../../local/redshift/statement-result';
import { withLocalS3 } from '../../support/local-s3';
import { SILVER_TEMPLATE } from '../gold/fixtures/silver-template';

const TARGET = { WorkgroupName: 'medallion', Database: 'dev' };

/** A history row of `orders`: `[order_id, amount, updated_at, deleted]`. */
type HistoryRow = [string, string, string, boolean];

/** Runs `sql` in a fresh in-memory DuckDB. */
async function duckdb<T>(work: (run: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>) {
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    await c.run("SET TimeZone = 'UTC'");
    return await work(async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJson());
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/** A field's value as text (numbers, booleans and strings alike), for comparing with DuckDB's JSON. */
const text = (f: Field): string | null =>
  'isNull' in f
    ? null
    : String(
        'stringValue' in f
          ? f.stringValue
          : 'longValue' in f
            ? f.longValue
            : 'doubleValue' in f
              ? f.doubleValue
              : 'booleanValue' in f
                ? f.booleanValue
                : f.blobValue,
      );
const textRows = (rows: Record<string, unknown>[]) =>
  rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])));

/** A model over both silver tables: the Hive history (partition projection) and the Iceberg current state. */
const MODEL = `SELECT
  h.dt,
  COUNT(*) AS versions,
  COUNT(DISTINCT h.order_id) AS orders,
  CAST(SUM(h.amount) AS decimal(18, 2)) AS amount,
  MAX(h.updated_at) AS last_update,
  BOOL_OR(h.deleted) AS any_deleted,
  CAST(SUM(CASE WHEN o.order_id IS NULL THEN 0 ELSE 1 END) AS bigint) AS current_versions
FROM "lake"."orders_history" h
LEFT JOIN "lake"."orders" o ON o.order_id = h.order_id AND o.updated_at = h.updated_at
GROUP BY h.dt
`;

describe('LocalRedshiftData (PGlite standing in for Redshift Serverless)', () => {
  const s3 = withLocalS3(['s', 'g']);
  let dir: string;
  let catalog: LocalGlueCatalog;
  let athena: LocalAthena;
  let redshift: LocalRedshiftData;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-redshift-'));
    catalog = new LocalGlueCatalog(join(dir, 'catalog.json'));
    catalog.seedFromTemplate(new TemplateResolver(SILVER_TEMPLATE, { buckets: { silver: 's' } }));
    athena = new LocalAthena({ s3: s3.client, catalog, dir: join(dir, 'athena') });
    await putHistory('2026-01-01', 'b1', [
      ['o1', '10.00', '2026-01-01 08:00:00', false],
      ['o2', '20.50', '2026-01-01 09:30:00', false],
    ]);
    await putHistory('2026-01-02', 'b1', [
      ['o1', '11.25', '2026-01-02 08:00:00', false],
      ['o3', '30.00', '2026-01-02 10:00:00', false],
      ['o2', '20.50', '2026-01-02 11:00:00', true],
    ]);
    await mergeOrders();
    redshift = new LocalRedshiftData({ s3: s3.client, catalog, dir: join(dir, 'redshift') });
    // As every execution of the workflow starts.
    expect(await run(redshiftSchemaStatements('lake'))).toMatchObject({ Status: 'FINISHED' });
  });
  afterAll(async () => {
    await redshift.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes history rows as one Parquet file of partition `dt` of `s3://s/retail/orders_history/`. */
  async function putHistory(dt: string, file: string, rows: HistoryRow[]) {
    const local = join(dir, `${dt}-${file}.parquet`);
    const values = rows.map(
      ([id, amount, at, deleted]) => `('${id}', ${amount}, TIMESTAMP '${at}', ${deleted})`,
    );
    await duckdb((run) =>
      run(
        `COPY (SELECT CAST(id AS VARCHAR) AS order_id, CAST(amount AS DECIMAL(10,2)) AS amount, updated_at, deleted
         FROM (VALUES ${values.join(', ')}) AS v(id, amount, updated_at, deleted)) TO '${local}' (FORMAT parquet)`,
      ),
    );
    await s3.put('s', `retail/orders_history/dt=${dt}/${file}.parquet`, readFileSync(local));
  }

  /** Commits the latest version of each order into the Iceberg current state, as silver's MERGE does. */
  async function mergeOrders() {
    await athena.startQueryExecutionSync({
      QueryString: `MERGE INTO "lake"."orders" t
USING (
  SELECT order_id, amount, updated_at, deleted, dt FROM (
    SELECT h.*, row_number() OVER (PARTITION BY h.order_id ORDER BY h.updated_at DESC) AS rn
    FROM "lake"."orders_history" h
  ) latest WHERE rn = 1
) s
ON (t.order_id = s.order_id)
WHEN MATCHED AND s.deleted THEN DELETE
WHEN MATCHED AND s.updated_at > t.updated_at
  THEN UPDATE SET amount = s.amount, updated_at = s.updated_at, dt = s.dt
WHEN NOT MATCHED AND NOT s.deleted
  THEN INSERT (order_id, amount, updated_at, dt) VALUES (s.order_id, s.amount, s.updated_at, s.dt)`,
      QueryExecutionContext: { Database: 'lake' },
    });
  }

  /** Submits one statement (a string) or a batch (a list), waits for it and describes it. */
  async function run(sql: string | string[], on = redshift): Promise<DescribeStatementOutput> {
    const { Id } =
      typeof sql === 'string'
        ? on.executeStatement({ ...TARGET, Sql: sql })
        : on.batchExecuteStatement({ ...TARGET, Sqls: sql });
    await on.idle();
    return on.describeStatement({ Id });
  }

  /** The rows of a SELECT that must succeed, each value as text. */
  async function rows(sql: string, on = redshift): Promise<Record<string, string | null>[]> {
    const described = await run(sql, on);
    expect(described).toMatchObject({ Status: 'FINISHED', HasResultSet: true });
    const result = on.getStatementResult({ Id: described.Id });
    return result.Records.map((r) =>
      Object.fromEntries(r.map((f, i) => [result.ColumnMetadata[i].name, text(f)])),
    );
  }

  /** The rows of a Parquet object of the gold bucket, and its columns' types. */
  async function parquet(key: string) {
    const local = join(dir, `read-${key.replace(/\W/g, '_')}`);
    writeFileSync(local, (await s3.get('g', key)) as Buffer);
    return duckdb(async (sql) => ({
      rows: textRows(await sql(`SELECT * FROM read_parquet('${local}') ORDER BY ALL`)),
      types: Object.fromEntries(
        (await sql(`DESCRIBE SELECT * FROM read_parquet('${local}')`)).map((r) => [
          r.column_name,
          r.column_type,
        ]),
      ),
    }));
  }

  it("runs the workflow's schema, build, UNLOAD and swap statements: the gold table and its Parquet hold what DuckDB computes", async () => {
    const expected = textRows(await athena.query(`${MODEL} ORDER BY dt`));
    expect(expected).toHaveLength(2);
    // Idempotent (beforeAll ran them once), as every execution starts with them.
    expect(await run(redshiftSchemaStatements('lake'))).toMatchObject({ Status: 'FINISHED' });

    const build = await run(redshiftBuildStatements('order_days', `${MODEL};`));
    expect(build).toMatchObject({ Status: 'FINISHED' });
    expect(build.SubStatements?.map((s) => [s.Id, s.Status])).toEqual([
      [`${build.Id}:1`, 'FINISHED'],
      [`${build.Id}:2`, 'FINISHED'],
      [`${build.Id}:3`, 'FINISHED'],
    ]);
    const unload = await run(
      redshiftUnload('SELECT * FROM "gold"."order_days__next"', 's3://g/order_days/v=1/'),
    );
    expect(unload.Error).toBeUndefined();
    expect(unload).toMatchObject({ Status: 'FINISHED', HasResultSet: false, ResultRows: 2 });
    expect(await run(redshiftSwapStatements('order_days'))).toMatchObject({ Status: 'FINISHED' });

    expect(await rows('SELECT * FROM gold.order_days ORDER BY dt')).toEqual(expected);
    expect(await s3.keys('g', 'order_days/')).toEqual(['order_days/v=1/0000_part_00.parquet']);
    const written = await parquet('order_days/v=1/0000_part_00.parquet');
    expect(written.rows).toEqual(expected);
    const oracleTypes = await athena.query(`DESCRIBE ${MODEL}`);
    expect(written.types).toEqual(Object.fromEntries(oracleTypes.map((r) => [r.column_name, r.column_type])));
    expect(redshift.unloads.get('s3://g/order_days/v=1/')).toMatchObject({
      statementId: unload.Id,
      files: ['s3://g/order_days/v=1/0000_part_00.parquet'],
      rows: 2,
      partitionBy: [],
    });
    // The leftover of the swap is gone; the next table was renamed in.
    expect(
      await rows("SELECT tablename FROM pg_tables WHERE schemaname = 'gold' ORDER BY tablename"),
    ).toEqual([{ tablename: 'order_days' }]);
  });

  it('answers GetStatementResult with typed Fields and Redshift type names', async () => {
    const described = await run(
      `SELECT 1::int AS i, 2::bigint AS b, 1.5::float8 AS d, 1.25::numeric(5,2) AS n, true AS t,
        NULL::varchar AS z, 'x'::varchar AS s, DATE '2026-01-02' AS dt, TIMESTAMP '2026-01-01 08:00:00' AS ts`,
    );
    const result = redshift.getStatementResult({ Id: described.Id });
    expect(result.ColumnMetadata.map((c) => [c.name, c.typeName])).toEqual([
      ['i', 'int4'],
      ['b', 'int8'],
      ['d', 'float8'],
      ['n', 'numeric'],
      ['t', 'bool'],
      ['z', 'varchar'],
      ['s', 'varchar'],
      ['dt', 'date'],
      ['ts', 'timestamp'],
    ]);
    expect(result.Records).toEqual([
      [
        { longValue: 1 },
        { longValue: 2 },
        { doubleValue: 1.5 },
        { stringValue: '1.25' },
        { booleanValue: true },
        { isNull: true },
        { stringValue: 'x' },
        { stringValue: '2026-01-02' },
        { stringValue: '2026-01-01 08:00:00' },
      ],
    ]);
    expect(result.TotalNumRows).toBe(1);
  });

  it('rolls back a whole batch whose second statement fails, and reports FAILED with the error', async () => {
    const described = await run([
      'CREATE TABLE gold.first_step AS SELECT 1 AS n',
      'INSERT INTO gold.first_step SELECT n FROM gold.no_such_table',
      'CREATE TABLE gold.third_step AS SELECT 3 AS n',
    ]);
    expect(described).toMatchObject({
      Status: 'FAILED',
      Error: 'ERROR: relation "gold.no_such_table" does not exist',
    });
    expect(described.SubStatements?.map((s) => s.Status)).toEqual(['FINISHED', 'FAILED', 'ABORTED']);
    expect(described.SubStatements?.[1].Error).toBe(described.Error);
    expect(described.SubStatements?.[0].Error).toBeUndefined();
    expect(
      await rows("SELECT count(*) AS n FROM pg_tables WHERE tablename IN ('first_step', 'third_step')"),
    ).toEqual([{ n: '0' }]);
  });

  it('reports STARTED while a statement loads an external table, then FINISHED', async () => {
    // A new history file: the next read of orders_history loads it again (DuckDB and S3: real waiting).
    await putHistory('2026-01-03', 'b1', [['o4', '40.00', '2026-01-03 08:00:00', false]]);
    const { Id } = redshift.executeStatement({
      ...TARGET,
      Sql: 'SELECT count(*) AS n FROM lake.orders_history',
    });
    const seen: StatementStatus[] = [];
    for (;;) {
      const { Status } = redshift.describeStatement({ Id });
      if (seen.at(-1) !== Status) seen.push(Status);
      if (Status === 'FINISHED' || Status === 'FAILED') break;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(seen.filter((s) => s !== 'SUBMITTED')).toEqual(['STARTED', 'FINISHED']);
    expect(redshift.describeStatement({ Id }).Duration).toBeGreaterThan(0);
    expect(redshift.getStatementResult({ Id }).Records).toEqual([[{ longValue: 6 }]]);
  });

  it('reports an instant statement as STARTED for minimumRunningMs, so a poll loop goes round', async () => {
    const slow = new LocalRedshiftData({
      s3: s3.client,
      catalog,
      dir: join(dir, 'paced'),
      minimumRunningMs: 300,
    });
    try {
      await run('SELECT 0 AS opened', slow); // the database's first opening is no instant statement
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { Id } = slow.executeStatement({ ...TARGET, Sql: 'SELECT 1 AS n' });
      await slow.idle();
      expect(slow.describeStatement({ Id }).Status).toBe('STARTED');
      expect(() => slow.getStatementResult({ Id })).toThrow(/does not have result/);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(slow.describeStatement({ Id }).Status).toBe('FINISHED');
    } finally {
      await slow.close();
    }
  });

  it('throws RedshiftData.ResourceNotFoundException for an unknown Id', () => {
    const unknown = '5f1c6a4e-0000-4000-8000-000000000000';
    for (const call of [
      () => redshift.describeStatement({ Id: unknown }),
      () => redshift.getStatementResult({ Id: unknown }),
      () => redshift.cancelStatement({ Id: unknown }),
      () => redshift.describeStatement({ Id: `${unknown}:1` }),
    ]) {
      expect(call).toThrow(expect.objectContaining({ name: 'RedshiftData.ResourceNotFoundException' }));
    }
  });

  it('aborts a queued statement that is cancelled before it starts', async () => {
    const first = redshift.executeStatement({ ...TARGET, Sql: 'CREATE TABLE gold.kept AS SELECT 1 AS n' });
    const second = redshift.executeStatement({
      ...TARGET,
      Sql: 'CREATE TABLE gold.cancelled AS SELECT 1 AS n',
    });
    expect(redshift.cancelStatement({ Id: second.Id })).toEqual({ Status: true });
    await redshift.idle();
    expect(redshift.describeStatement({ Id: first.Id }).Status).toBe('FINISHED');
    expect(redshift.describeStatement({ Id: second.Id }).Status).toBe('ABORTED');
    expect(() => redshift.cancelStatement({ Id: first.Id })).toThrow(
      expect.objectContaining({ name: 'RedshiftData.ValidationException' }),
    );
    expect(await rows("SELECT tablename FROM pg_tables WHERE tablename IN ('kept', 'cancelled')")).toEqual([
      { tablename: 'kept' },
    ]);
  });

  it('refuses to UNLOAD into a prefix that already holds objects, writing nothing', async () => {
    await s3.put('g', 'taken/v=1/other.parquet', 'x');
    const described = await run(redshiftUnload('SELECT * FROM gold.order_days', 's3://g/taken/v=1/'));
    expect(described.Status).toBe('FAILED');
    expect(described.Error).toMatch(/^ERROR: Specified unload destination on S3 is not empty/);
    expect(await s3.keys('g', 'taken/')).toEqual(['taken/v=1/other.parquet']);
    expect(redshift.unloads.has('s3://g/taken/v=1/')).toBe(false);
  });

  it('UNLOADs with PARTITION BY one file per value, without the partition columns, and a KMS key', async () => {
    const select = `SELECT k, n, d, total FROM (VALUES ('a', 1, DATE '2026-01-01', 1.5::numeric),
      ('b', 2, DATE '2026-01-01', 2.25::numeric), ('c', 3, NULL::date, 3::numeric)) AS v(k, n, d, total)`;
    const described = await run(
      redshiftUnload(select, 's3://g/parts/v=1/', { partitionBy: ['d'], kmsKeyId: 'arn:aws:kms:key/lake' }),
    );
    expect(described).toMatchObject({ Status: 'FINISHED', ResultRows: 3 });
    expect(await s3.keys('g', 'parts/')).toEqual([
      'parts/v=1/d=2026-01-01/0000_part_00.parquet',
      'parts/v=1/d=__HIVE_DEFAULT_PARTITION__/0000_part_00.parquet',
    ]);
    const day = await parquet('parts/v=1/d=2026-01-01/0000_part_00.parquet');
    // A numeric with no declared scale is written with the largest scale of its values.
    expect(day.types).toEqual({ k: 'VARCHAR', n: 'INTEGER', total: 'DECIMAL(38,2)' });
    expect(day.rows).toEqual([
      { k: 'a', n: '1', total: '1.50' },
      { k: 'b', n: '2', total: '2.25' },
    ]);
    expect((await parquet('parts/v=1/d=__HIVE_DEFAULT_PARTITION__/0000_part_00.parquet')).rows).toEqual([
      { k: 'c', n: '3', total: '3.00' },
    ]);
    expect(redshift.unloads.get('s3://g/parts/v=1/')).toMatchObject({
      rows: 3,
      partitionBy: ['d'],
      kmsKeyId: 'arn:aws:kms:key/lake',
      partitions: [
        { values: ['2026-01-01'], location: 's3://g/parts/v=1/d=2026-01-01/', rows: 2 },
        { values: [null], location: 's3://g/parts/v=1/d=__HIVE_DEFAULT_PARTITION__/', rows: 1 },
      ],
    });
  });

  it("runs an incremental model's rebuild and date replacement, each one transaction ending with a partitioned UNLOAD", async () => {
    const daily = `SELECT COUNT(*) AS versions, CAST(SUM(amount) AS decimal(18, 2)) AS amount,
      CAST(updated_at AS date) AS sales_date FROM "lake"."orders_history" GROUP BY CAST(updated_at AS date)`;
    const write = { model: 'daily', column: 'sales_date', columns: ['versions', 'amount', 'sales_date'] };
    const rebuilt = await run(
      redshiftRebuildPartitionedStatements({ ...write, select: daily, location: 's3://g/daily/v=1/0/' }),
    );
    expect(rebuilt.Error).toBeUndefined();
    expect(await rows('SELECT * FROM gold.daily ORDER BY sales_date')).toEqual(
      textRows(await athena.query(`${daily} ORDER BY sales_date`)),
    );
    expect(await s3.keys('g', 'daily/v=1/')).toEqual([
      'daily/v=1/0/sales_date=2026-01-01/0000_part_00.parquet',
      'daily/v=1/0/sales_date=2026-01-02/0000_part_00.parquet',
      'daily/v=1/0/sales_date=2026-01-03/0000_part_00.parquet',
    ]);

    await putHistory('2026-01-02', 'b2', [['o5', '5.00', '2026-01-02 12:00:00', false]]);
    const dates = "CAST(updated_at AS date) IN (DATE '2026-01-02')";
    const replaced = await run(
      redshiftReplaceDatesStatements({
        ...write,
        select: daily.replace('GROUP BY', `WHERE ${dates} GROUP BY`),
        location: 's3://g/daily/v=2/0/',
        dates: ['2026-01-02'],
      }),
    );
    expect(replaced.Error).toBeUndefined();
    expect(await rows('SELECT * FROM gold.daily ORDER BY sales_date')).toEqual(
      textRows(await athena.query(`${daily} ORDER BY sales_date`)),
    );
    expect(await s3.keys('g', 'daily/v=2/')).toEqual([
      'daily/v=2/0/sales_date=2026-01-02/0000_part_00.parquet',
    ]);
    expect((await parquet('daily/v=2/0/sales_date=2026-01-02/0000_part_00.parquet')).rows).toEqual([
      { versions: '4', amount: '66.75' },
    ]);
  });

  it('loads an external table once, and again only when its catalog entry changed', async () => {
    const loadsOf = (table: string) => redshift.spectrumLoads.filter((l) => l.table === table).length;
    const count = 'SELECT count(*) AS n FROM "lake"."orders"';
    await rows(count);
    const before = loadsOf('orders');
    expect(await rows(count)).toEqual([{ n: '2' }]); // o2's latest version is a delete
    expect(await rows(`SELECT order_id FROM lake.orders WHERE order_id = 'o1'`)).toEqual([
      { order_id: 'o1' },
    ]);
    // Named only in a literal or a comment: no read, no load.
    await rows(`SELECT 'lake.orders_history' AS t -- lake.orders_history`);
    expect(loadsOf('orders')).toBe(before);
    const historyLoads = loadsOf('orders_history');

    await mergeOrders(); // o4 and o5, landed since: a new Iceberg snapshot (a new metadata location)
    expect(await rows(count)).toEqual([{ n: '4' }]);
    expect(loadsOf('orders')).toBe(before + 1);
    expect(await rows(count)).toEqual([{ n: '4' }]);
    expect(loadsOf('orders')).toBe(before + 1);
    expect(loadsOf('orders_history')).toBe(historyLoads);
  });

  it('fails a statement writing into the external schema, leaving the table as it was', async () => {
    for (const sql of [
      "INSERT INTO lake.orders VALUES ('o9', 1.00, TIMESTAMP '2026-01-01 00:00:00', '2026-01-01')",
      'DELETE FROM "lake"."orders"',
      'DROP TABLE lake.orders',
      'CREATE TABLE lake.scratch (n int)',
    ]) {
      const described = await run(sql);
      expect(described.Status).toBe('FAILED');
      expect(described.Error).toMatch(/^ERROR: (permission denied|must be owner)/);
      expect(described.Error).toContain('external schema "lake": Spectrum tables are read-only');
    }
    expect(await rows('SELECT count(*) AS n FROM lake.orders')).toEqual([{ n: '4' }]);
  });

  it('loads an external table with each scalar type mapped to its Redshift type, NULL and empty text kept apart', async () => {
    const columns: [string, string][] = [
      ['s', 'string'],
      ['b', 'bigint'],
      ['i', 'int'],
      ['si', 'smallint'],
      ['ti', 'tinyint'],
      ['d', 'double'],
      ['f', 'float'],
      ['n', 'decimal(12,3)'],
      ['bo', 'boolean'],
      ['dt', 'date'],
      ['ts', 'timestamp'],
    ];
    const local = join(dir, 'typed.parquet');
    await duckdb((sql) =>
      sql(`COPY (SELECT * FROM (VALUES
        ('a "quoted", multi
line', 5000000000::BIGINT, 1, 2::SMALLINT, 3::TINYINT, 1.25::DOUBLE, 0.5::FLOAT, 123456789.125::DECIMAL(12,3),
         true, DATE '2026-02-28', TIMESTAMP '2026-02-28 23:59:59.123456'),
        ('', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        (NULL, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
      ) AS v(${columns.map(([c]) => c).join(', ')})) TO '${local}' (FORMAT parquet)`),
    );
    await s3.put('s', 'typed/part-0.parquet', readFileSync(local));
    catalog.createTable({
      DatabaseName: 'lake',
      TableInput: {
        Name: 'typed',
        TableType: 'EXTERNAL_TABLE',
        StorageDescriptor: {
          Location: 's3://s/typed/',
          Columns: columns.map(([Name, Type]) => ({ Name, Type })),
        },
      },
    });
    const described = await run('SELECT * FROM lake.typed ORDER BY b NULLS FIRST, s NULLS FIRST');
    const result = redshift.getStatementResult({ Id: described.Id });
    expect(result.ColumnMetadata.map((c) => c.typeName)).toEqual([
      'varchar',
      'int8',
      'int4',
      'int2',
      'int2',
      'float8',
      'float4',
      'numeric',
      'bool',
      'date',
      'timestamp',
    ]);
    const nulls = Array.from({ length: 10 }, () => ({ isNull: true }));
    expect(result.Records).toEqual([
      [{ stringValue: '' }, ...nulls],
      [{ isNull: true }, { longValue: 1 }, ...nulls.slice(1)],
      [
        { stringValue: 'a "quoted", multi\nline' },
        { longValue: 5000000000 },
        { longValue: 1 },
        { longValue: 2 },
        { longValue: 3 },
        { doubleValue: 1.25 },
        { doubleValue: 0.5 },
        { stringValue: '123456789.125' },
        { booleanValue: true },
        { stringValue: '2026-02-28' },
        { stringValue: '2026-02-28 23:59:59.123456' },
      ],
    ]);
    expect(
      await rows(
        "SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'lake.typed'::regclass AND attnum = 8",
      ),
    ).toEqual([{ t: 'numeric(12,3)' }]);
  });

  it('fails a statement over an external table of a nested type, saying it is not emulated', async () => {
    catalog.createTable({
      DatabaseName: 'lake',
      TableInput: {
        Name: 'tagged',
        TableType: 'EXTERNAL_TABLE',
        StorageDescriptor: {
          Location: 's3://s/tagged/',
          Columns: [
            { Name: 'id', Type: 'string' },
            { Name: 'tags', Type: 'array<string>' },
          ],
        },
      },
    });
    const described = await run('SELECT id FROM lake.tagged');
    expect(described.Status).toBe('FAILED');
    expect(described.Error).toMatch(/^ERROR: Spectrum nested types are not emulated locally: column "tags"/);
  });

  it("runs concurrent branches' batches one after the other, a failing one rolled back alone", async () => {
    expect(
      await run([
        'CREATE TABLE gold.events (branch varchar, step int, seq bigserial)',
        'CREATE TABLE gold.marker (n int)',
      ]),
    ).toMatchObject({ Status: 'FINISHED' });
    const branch = (name: string, fail: boolean) =>
      redshift.batchExecuteStatement({
        ...TARGET,
        Sqls: [
          ...[1, 2, 3].map((step) => `INSERT INTO gold.events (branch, step) VALUES ('${name}', ${step})`),
          fail ? 'SELECT 1 / 0' : 'SELECT 1',
        ],
      });
    const submitted = [branch('a', false), branch('b', true), branch('c', false)];
    await redshift.idle();
    expect(submitted.map(({ Id }) => redshift.describeStatement({ Id }).Status)).toEqual([
      'FINISHED',
      'FAILED',
      'FINISHED',
    ]);
    expect(redshift.describeStatement({ Id: submitted[1].Id }).Error).toBe('ERROR: division by zero');
    // Each branch's rows took consecutive sequence values: no statement of another ran in between.
    const events = await rows('SELECT branch, step, seq FROM gold.events ORDER BY seq');
    expect(events.map((e) => `${e.branch}${e.step}`)).toEqual(['a1', 'a2', 'a3', 'c1', 'c2', 'c3']);
    const seqs = events.map((e) => Number(e.seq));
    expect(seqs.slice(0, 3)).toEqual([seqs[0], seqs[0] + 1, seqs[0] + 2]);
    expect(seqs.slice(3)).toEqual([seqs[3], seqs[3] + 1, seqs[3] + 2]);
  });

  it('keeps its data across close() and a new instance on the same dir, loading nothing again', async () => {
    const before = await rows('SELECT * FROM gold.order_days ORDER BY dt');
    await redshift.close();
    redshift = new LocalRedshiftData({ s3: s3.client, catalog, dir: join(dir, 'redshift') });
    expect(await rows('SELECT * FROM gold.order_days ORDER BY dt')).toEqual(before);
    expect(await rows('SELECT count(*) AS n FROM lake.orders')).toEqual([{ n: '4' }]);
    expect(redshift.spectrumLoads).toEqual([]);
    // The rows are in PGlite: the objects fetched for the earlier loads are no longer needed.
    expect(redshift.pruneSpectrumCache()).toBeGreaterThan(0);
    expect(() => redshift.executeStatement({ ...TARGET, Sql: ' ' })).toThrow(
      expect.objectContaining({ name: 'RedshiftData.ValidationException' }),
    );
  });
});
