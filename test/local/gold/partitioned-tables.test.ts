import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { partitionedUnloadStatement } from '../../../core/gold/unload';
import { LocalAthena, type UnloadResult } from '../../../local/gold/athena-on-duckdb';
import { LocalGlueCatalog } from '../../../local/gold/glue-catalog';
import { hivePartitionPath, hivePathValue } from '../../../local/gold/glue-partitions';
import { readSnapshot } from '../../../local/gold/iceberg-table';
import {
  blankLiterals,
  mergeTargetPruning,
  partitionPruning,
  tableReferences,
} from '../../../local/gold/partition-pruning';
import { AthenaTaskFailed } from '../../../local/gold/service-errors';
import { TemplateResolver } from '../../../local/gold/state-machine-definition';
import { withLocalS3 } from '../../support/local-s3';
import { DAILY_SALES_TEMPLATE } from './fixtures/daily-sales-template';

describe('LocalAthena: incremental (date-partitioned) gold tables', () => {
  const s3 = withLocalS3(['g', 's', 'r']);
  let dir: string;
  let athena: LocalAthena;
  let catalog: LocalGlueCatalog;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-partitioned-'));
    catalog = new LocalGlueCatalog(join(dir, 'c.json'));
    catalog.seedFromTemplate(
      new TemplateResolver(DAILY_SALES_TEMPLATE, { buckets: { gold: 'g', silver: 's' } }),
    );
    athena = new LocalAthena({ s3: s3.client, catalog, dir, outputLocation: 's3://r/results/' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (sql: string) =>
    athena.startQueryExecutionSync({
      QueryString: sql,
      QueryExecutionContext: { Database: 'lake' },
      WorkGroup: 'wg',
    });
  const unload = (select: string, location: string) =>
    run(partitionedUnloadStatement(select, location, ['sales_date']));
  /** A SELECT of daily sales rows: `[store, amount, sales_date or null]`. */
  const sales = (rows: [string, number, string | null][]) =>
    `SELECT store, CAST(amount AS decimal(10,2)) AS amount, CAST(d AS date) AS sales_date FROM (VALUES ${rows
      .map(
        ([store, amount, d]) => `('${store}', ${amount}, ${d === null ? 'CAST(NULL AS varchar)' : `'${d}'`})`,
      )
      .join(', ')}) AS v(store, amount, d)`;
  const days = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => new Date(Date.UTC(2025, 0, 1 + from + i)).toISOString().slice(0, 10));
  const sizeOf = async (bucket: string, key: string) => (await s3.head(bucket, key))?.ContentLength ?? 0;
  const bytesUnder = async (bucket: string, prefix: string) => {
    let bytes = 0;
    for (const key of await s3.keys(bucket, prefix)) bytes += await sizeOf(bucket, key);
    return bytes;
  };
  /** The column names of a Parquet object, read by DuckDB. */
  const parquetColumns = async (bucket: string, key: string) => {
    const local = join(dir, `read-${Math.random()}.parquet`);
    writeFileSync(local, (await s3.get(bucket, key)) as Buffer);
    const instance = await DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    const reader = await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${local}')`);
    const names = reader.getRowObjectsJson().map((r) => r.column_name);
    c.closeSync();
    instance.closeSync();
    return names;
  };
  const scanned = async (sql: string) => (await run(sql)).QueryExecution.Statistics.DataScannedInBytes;
  /** Registers the partitions an UNLOAD wrote (all, or those of `only`). */
  const register = (result: UnloadResult, only?: string[]) =>
    catalog.batchCreatePartition({
      DatabaseName: 'lake',
      TableName: 'daily_sales',
      PartitionInputList: result.partitions
        .map((p) => ({ Values: [p.values[0] ?? '__HIVE_DEFAULT_PARTITION__'], location: p.location }))
        .filter((p) => !only || only.includes(p.Values[0]))
        .map(({ Values, location }) => ({ Values, StorageDescriptor: { Location: location } })),
    });
  const run1 = 's3://g/daily_sales/v=run-1/0/';

  describe('UNLOAD ... partitioned_by', () => {
    it('writes one part-0.parquet per partition value, without the partition column (dates as YYYY-MM-DD, NULL as __HIVE_DEFAULT_PARTITION__)', async () => {
      const out = await unload(
        sales([
          ['a', 1.5, '2026-01-05'],
          ['b', 2, '2026-01-05'],
          ['a', 3, '2026-01-06'],
          ['c', 4, null],
        ]),
        run1,
      );
      expect(out.QueryExecution).toMatchObject({
        SubstatementType: 'UNLOAD',
        Status: { State: 'SUCCEEDED' },
      });
      const keys = [
        'daily_sales/v=run-1/0/sales_date=2026-01-05/part-0.parquet',
        'daily_sales/v=run-1/0/sales_date=2026-01-06/part-0.parquet',
        'daily_sales/v=run-1/0/sales_date=__HIVE_DEFAULT_PARTITION__/part-0.parquet',
      ];
      expect(await s3.keys('g')).toEqual(keys);
      expect(await parquetColumns('g', keys[0])).toEqual(['store', 'amount']);
      const sizes = await Promise.all(keys.map((k) => sizeOf('g', k)));
      const result = athena.unloads.get(run1);
      expect(result).toEqual({
        queryExecutionId: out.QueryExecution.QueryExecutionId,
        ms: expect.any(Number),
        location: run1,
        files: keys.map((k) => `s3://g/${k}`),
        rows: 4,
        bytesRead: 0,
        bytesWritten: sizes[0] + sizes[1] + sizes[2],
        partitionedBy: ['sales_date'],
        partitions: [
          { values: ['2026-01-05'], location: `${run1}sales_date=2026-01-05/`, rows: 2, bytes: sizes[0] },
          { values: ['2026-01-06'], location: `${run1}sales_date=2026-01-06/`, rows: 1, bytes: sizes[1] },
          {
            values: [null],
            location: `${run1}sales_date=__HIVE_DEFAULT_PARTITION__/`,
            rows: 1,
            bytes: sizes[2],
          },
        ],
      });
      const manifest = await s3.get('r', `results/${out.QueryExecution.QueryExecutionId}-manifest.csv`);
      expect(String(manifest)).toBe(keys.map((k) => `s3://g/${k}\n`).join(''));
      expect(athena.unloadsUnder('s3://g/daily_sales/v=run-1/')).toEqual([result]);
      expect(athena.unloadsUnder('s3://g/daily_sales/v=run-2/')).toEqual([]);
    });

    it('fails, like Athena, with more than 100 partition values (HIVE_TOO_MANY_OPEN_PARTITIONS), writing nothing; 100 pass', async () => {
      const rows = (n: number) => days(n).map((d): [string, number, string] => ['a', 1, d]);
      const failure = await unload(sales(rows(101)), 's3://g/daily_sales/v=many/0/').catch((e) => e);
      expect(failure).toBeInstanceOf(AthenaTaskFailed);
      expect(failure.reason).toMatch(
        /^HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers for partitions\/buckets/,
      );
      expect(JSON.parse(failure.message).QueryExecution).toMatchObject({
        SubstatementType: 'UNLOAD',
        Status: { State: 'FAILED' },
      });
      expect(await s3.keys('g', 'daily_sales/v=many/')).toEqual([]);
      expect(athena.unloads.has('s3://g/daily_sales/v=many/0/')).toBe(false);

      const ok = await unload(sales(rows(100)), 's3://g/daily_sales/v=many/1/');
      expect(ok.QueryExecution.Status.State).toBe('SUCCEEDED');
      expect(await s3.keys('g', 'daily_sales/v=many/1/')).toHaveLength(100);
      expect(athena.unloads.get('s3://g/daily_sales/v=many/1/')?.partitions).toHaveLength(100);
    });

    it('fails, like Athena, when the partition column is not the last column of the SELECT, writing nothing', async () => {
      const failure = await run(
        partitionedUnloadStatement(
          "SELECT CAST('2026-01-05' AS date) AS sales_date, 'a' AS store",
          's3://g/daily_sales/v=order/0/',
          ['sales_date'],
        ),
      ).catch((e) => e);
      expect(failure).toBeInstanceOf(AthenaTaskFailed);
      expect(failure.reason).toMatch(
        /^HIVE_COLUMN_ORDER_MISMATCH: Partition keys must be the last columns in the table and in the same order as the table properties: \[sales_date\]/,
      );
      const missing = await run(
        partitionedUnloadStatement("SELECT 'a' AS store", 's3://g/daily_sales/v=order/1/', ['sales_date']),
      ).catch((e) => e);
      expect(missing.reason).toMatch(/^COLUMN_NOT_FOUND: Partition column\(s\) sales_date/);
      expect(await s3.keys('g', 'daily_sales/v=order/')).toEqual([]);
    });

    it('refuses, like any UNLOAD, a target prefix that already holds objects', async () => {
      const failure = await unload(sales([['a', 1, '2026-01-07']]), run1).catch((e) => e);
      expect(failure.reason).toMatch(/^HIVE_PATH_ALREADY_EXISTS/);
      expect(await s3.keys('g', 'daily_sales/v=run-1/0/sales_date=2026-01-07/')).toEqual([]);
    });
  });

  describe('reading registered partitions', () => {
    it('reads a table with no partition registered as empty, with its typed columns', async () => {
      expect(await athena.readTable('lake', 'daily_sales')).toEqual([]);
      const described = await athena.query('DESCRIBE "lake"."daily_sales"', 'lake');
      expect(described.map((c) => [c.column_name, c.column_type])).toEqual([
        ['store', 'VARCHAR'],
        ['amount', 'DECIMAL(10,2)'],
        ['sales_date', 'DATE'],
      ]);
    });

    it("reads the files of each registered partition only, the partition column from the partition's values", async () => {
      const result = athena.unloads.get(run1) as UnloadResult;
      expect(register(result, ['2026-01-05', '__HIVE_DEFAULT_PARTITION__']).Errors).toEqual([]);
      expect(await athena.readTable('lake', 'daily_sales')).toEqual([
        { store: 'a', amount: '1.50', sales_date: '2026-01-05' },
        { store: 'b', amount: '2.00', sales_date: '2026-01-05' },
        { store: 'c', amount: '4.00', sales_date: null },
      ]);
      // The value is the partition's, whatever the directory says.
      catalog.batchUpdatePartition({
        DatabaseName: 'lake',
        TableName: 'daily_sales',
        Entries: [
          {
            PartitionValueList: ['2026-01-05'],
            PartitionInput: {
              Values: ['2026-02-01'],
              StorageDescriptor: { Location: `${run1}sales_date=2026-01-05/` },
            },
          },
        ],
      });
      const [typed] = await athena.query(
        'SELECT count(*) AS n, min(sales_date) = DATE \'2026-02-01\' AS is_date FROM "lake"."daily_sales" WHERE sales_date IS NOT NULL',
        'lake',
      );
      expect(typed).toEqual({ n: '2', is_date: true });
      catalog.batchDeletePartition({
        DatabaseName: 'lake',
        TableName: 'daily_sales',
        PartitionsToDelete: [{ Values: ['2026-02-01'] }, { Values: ['__HIVE_DEFAULT_PARTITION__'] }],
      });
      expect(register(result).Errors).toEqual([]);
    });
  });

  describe('partition pruning (DataScannedInBytes)', () => {
    const partitionBytes = (value: string) =>
      sizeOf('g', `daily_sales/v=run-1/0/sales_date=${value}/part-0.parquet`);
    const filtered = (values: string[]) =>
      `(SELECT * FROM "lake"."daily_sales" WHERE "sales_date" IN (${values.map((v) => `'${v}'`).join(', ')}))`;

    it('reads and counts only the listed partitions of a registered-partition table', async () => {
      const all = await scanned('SELECT count(*) FROM "lake"."daily_sales"');
      expect(all).toBe(await bytesUnder('g', 'daily_sales/v=run-1/'));
      const one = await scanned(`SELECT count(*) FROM ${filtered(['2026-01-05'])} d`);
      expect(one).toBe(await partitionBytes('2026-01-05'));
      expect(one).toBeLessThan(all);
      expect(
        await athena.query(`SELECT store FROM ${filtered(['2026-01-06'])} d ORDER BY store`, 'lake'),
      ).toEqual([{ store: 'a' }]);
      // Two occurrences: the union of their partitions.
      const two = await scanned(
        `SELECT count(*) FROM ${filtered(['2026-01-05'])} a JOIN ${filtered(['2026-01-06'])} b ON a.store = b.store`,
      );
      expect(two).toBe((await partitionBytes('2026-01-05')) + (await partitionBytes('2026-01-06')));
    });

    it('prunes nothing when one occurrence of the table is not in the filtered form', async () => {
      const all = await bytesUnder('g', 'daily_sales/v=run-1/');
      for (const sql of [
        `SELECT count(*) FROM ${filtered(['2026-01-05'])} a, "lake"."daily_sales" b`,
        `SELECT count(*) FROM (SELECT * FROM "lake"."daily_sales" WHERE "sales_date" IN ('2026-01-05') OR store = 'c') d`,
        `SELECT count(*) FROM (SELECT * FROM "lake"."daily_sales" WHERE "store" IN ('a')) d`,
        `SELECT count(*) FROM (SELECT * FROM daily_sales WHERE "sales_date" IN ('2026-01-05')) d`,
      ]) {
        expect(await scanned(sql)).toBe(all);
      }
    });

    /** Writes history rows `[order_id, amount, updated_at]` as one Parquet object of partition `dt`. */
    const putHistory = async (dt: string, rows: [string, string, string][]) => {
      const local = join(dir, `history-${dt}.parquet`);
      const instance = await DuckDBInstance.create(':memory:');
      const c = await instance.connect();
      const values = rows.map(([id, amount, at]) => `('${id}', ${amount}, TIMESTAMP '${at}', false)`);
      await c.run(
        `COPY (SELECT CAST(id AS VARCHAR) AS order_id, CAST(amount AS DECIMAL(10,2)) AS amount, updated_at, deleted
         FROM (VALUES ${values.join(', ')}) AS v(id, amount, updated_at, deleted)) TO '${local}' (FORMAT parquet)`,
      );
      c.closeSync();
      instance.closeSync();
      await s3.put('s', `retail/orders_history/dt=${dt}/b1.parquet`, readFileSync(local));
    };
    const history = (values: string[]) =>
      `(SELECT * FROM "lake"."orders_history" WHERE "dt" IN (${values.map((v) => `'${v}'`).join(', ')}))`;

    it('reads and counts only the listed dt directories of a projection table', async () => {
      await putHistory('2026-01-01', [['o1', '10.00', '2026-01-01 08:00:00']]);
      await putHistory('2026-01-02', [
        ['o2', '20.00', '2026-01-02 08:00:00'],
        ['o3', '30.00', '2026-01-02 09:00:00'],
      ]);
      const all = await scanned('SELECT count(*) FROM "lake"."orders_history"');
      expect(all).toBe(await bytesUnder('s', 'retail/orders_history/'));
      const one = await scanned(`SELECT count(*) FROM ${history(['2026-01-02'])} h`);
      expect(one).toBe(await bytesUnder('s', 'retail/orders_history/dt=2026-01-02/'));
      expect(one).toBeLessThan(all);
      expect(await athena.query(`SELECT order_id, dt FROM ${history(['2026-01-01'])} h`, 'lake')).toEqual([
        { order_id: 'o1', dt: '2026-01-01' },
      ]);
    });

    it("reads and counts only the data files of the listed partitions of an Iceberg table; a MERGE's target is read whole", async () => {
      const merge = await run(`MERGE INTO "lake"."orders" t
USING ${history(['2026-01-01', '2026-01-02'])} s
ON (t.order_id = s.order_id)
WHEN NOT MATCHED THEN INSERT (order_id, amount, updated_at, dt) VALUES (s.order_id, s.amount, s.updated_at, s.dt)`);
      expect(merge.QueryExecution.Statistics.DataScannedInBytes).toBe(
        await bytesUnder('s', 'retail/orders_history/'),
      );
      const metadata = catalog.getTable({ DatabaseName: 'lake', Name: 'orders' }).Table.Parameters
        ?.metadata_location;
      const snapshot = await readSnapshot(s3.client, metadata as string);
      const bytesOf = (dt: string) =>
        snapshot.files.filter((f) => f.partition.dt === dt).reduce((sum, f) => sum + f.bytes, 0);
      const all = await scanned('SELECT count(*) FROM "lake"."orders"');
      expect(all).toBe(bytesOf('2026-01-01') + bytesOf('2026-01-02'));
      const one = await scanned(
        `SELECT count(*) FROM (SELECT * FROM "lake"."orders" WHERE "dt" IN ('2026-01-01')) o`,
      );
      expect(one).toBe(bytesOf('2026-01-01'));
      expect(one).toBeLessThan(all);
      // The source pruned, the target whole (its every partition is rewritten from what it holds).
      const again = await run(`MERGE INTO "lake"."orders" t
USING ${history(['2026-01-01'])} s
ON (t.order_id = s.order_id)
WHEN MATCHED THEN UPDATE SET amount = s.amount + 1`);
      expect(again.QueryExecution.Statistics.DataScannedInBytes).toBe(
        (await bytesUnder('s', 'retail/orders_history/dt=2026-01-01/')) + all,
      );
      expect(
        await athena.query('SELECT order_id, amount FROM "lake"."orders" ORDER BY order_id', 'lake'),
      ).toEqual([
        { order_id: 'o1', amount: '11.00' },
        { order_id: 'o2', amount: '20.00' },
        { order_id: 'o3', amount: '30.00' },
      ]);
    });
  });
});

describe('partitionPruning: which partitions a statement reads', () => {
  const pruning = (sql: string, columns = ['sales_date']) => {
    const found = partitionPruning(sql, 'lake', 'daily_sales', columns);
    return found?.predicates.map((p) => [p.column, [...p.values]]);
  };

  it("reads the planner's form: string or DATE literals (quotes doubled), names in any case, comments and literals ignored", () => {
    expect(
      pruning(`-- "lake"."daily_sales" in a comment
SELECT 'daily_sales' AS s FROM (SELECT * FROM "LAKE"."Daily_Sales" WHERE "sales_date" IN (DATE '2026-01-05', 'it''s')) d`),
    ).toEqual([['sales_date', ['2026-01-05', "it's"]]]);
    expect(pruning(`SELECT * FROM "lake"."daily_sales" WHERE "sales_date" IN ('2026-01-05');`)).toEqual([
      ['sales_date', ['2026-01-05']],
    ]);
  });

  it('reads nothing pruned when the table is not named, the column is not a partition column, or a predicate follows', () => {
    expect(pruning('SELECT 1')).toBeUndefined();
    expect(pruning(`SELECT * FROM "lake"."daily_sales" WHERE "sales_date" IN ('a')`, [])).toBeUndefined();
    expect(
      pruning(`SELECT * FROM "lake"."daily_sales" WHERE store = 'x' AND "sales_date" IN ('a')`),
    ).toBeUndefined();
    expect(
      pruning(`SELECT * FROM "lake"."daily_sales" WHERE "sales_date" IN ('a') AND store = 'x' OR true`),
    ).toBeUndefined();
    expect(
      pruning(`SELECT * FROM (SELECT * FROM "lake"."daily_sales" WHERE "sales_date" IN ('a') OR x) d`),
    ).toBeUndefined();
    expect(pruning(`SELECT * FROM "other"."daily_sales" WHERE "sales_date" IN ('a')`)).toBeUndefined();
    // The table read unfiltered too, unqualified after FROM or JOIN: every file.
    expect(
      pruning(
        `SELECT * FROM (SELECT * FROM "lake"."daily_sales" WHERE "sales_date" IN ('a')) d JOIN daily_sales e ON true`,
      ),
    ).toBeUndefined();
  });

  it('reads the listed partitions when further AND conditions follow the list, and an unqualified name in the statement database', () => {
    expect(
      pruning(
        `SELECT * FROM "lake"."daily_sales" WHERE "sales_date" IN ('a') AND store = 'x' AND (k = 1 OR k = 2)`,
      ),
    ).toEqual([['sales_date', ['a']]]);
    expect(
      pruning(
        `SELECT * FROM (SELECT * FROM "lake"."daily_sales" WHERE "sales_date" IN ('a') AND "k" IN ('x')) v GROUP BY 1`,
      ),
    ).toEqual([['sales_date', ['a']]]);
    const merge = `SELECT x FROM "daily_sales" WHERE "sales_date" IN ('b') AND "_bronze_key" IN ('k') ORDER BY 1`;
    expect(partitionPruning(merge, 'lake', 'daily_sales', ['sales_date'], 'lake')?.predicates).toEqual([
      { column: 'sales_date', values: new Set(['b']) },
    ]);
    expect(partitionPruning(merge, 'lake', 'daily_sales', ['sales_date'], 'other')).toBeUndefined();
    expect(partitionPruning(merge, 'lake', 'daily_sales', ['sales_date'])).toBeUndefined();
  });

  it('a column or alias named like the table is no reference: it neither stops pruning nor reads the table', () => {
    expect(
      pruning(
        `SELECT SUM(daily_sales) AS daily_sales FROM (SELECT * FROM "lake"."daily_sales" WHERE "sales_date" IN ('a')) d`,
      ),
    ).toEqual([['sales_date', ['a']]]);
    expect(
      tableReferences(blankLiterals('SELECT SUM(orders) AS orders FROM "db"."daily"'), 'orders'),
    ).toEqual([]);
    expect(
      tableReferences(blankLiterals('MERGE INTO orders t USING (SELECT 1) s ON true'), 'orders'),
    ).toHaveLength(1);
  });
});

describe('mergeTargetPruning: which target partitions a MERGE reads', () => {
  const values = (sql: string) =>
    mergeTargetPruning(sql, ['dt'])?.predicates.map((p) => [p.column, [...p.values].sort()]);

  it('reads the partitions an IN list on the target alias names among the ON conjuncts', () => {
    const merge = (on: string, into = '"lake"."orders" AS t') =>
      `MERGE INTO ${into}\nUSING (SELECT * FROM x LEFT JOIN y ON x.id = y.id WHERE y.dt IN ('1999-01-01')) AS s\n${on}\nWHEN MATCHED THEN DELETE`;
    expect(values(merge(`ON (t."id" = s."id" AND t."dt" IN ('2026-01-02', '2026-01-01'))`))).toEqual([
      ['dt', ['2026-01-01', '2026-01-02']],
    ]);
    expect(values(merge(`ON t.id = s.id AND t.DT IN ('a')`, 'orders t'))).toEqual([['dt', ['a']]]);
    expect(values(merge(`ON ((t.dt IN ('a''b')) AND t.id = s.id)`))).toEqual([['dt', ["a'b"]]]);
  });

  it('reads everything when the ON clause does not bound the target partitions', () => {
    const merge = (on: string) =>
      `MERGE INTO "lake"."orders" t USING s ${on} WHEN NOT MATCHED THEN INSERT VALUES (1)`;
    expect(values(merge(`ON (t.id = s.id)`))).toBeUndefined();
    expect(values(merge(`ON (t.id = s.id OR t.dt IN ('a'))`))).toBeUndefined();
    expect(values(merge(`ON (t.id = s.id AND s.dt IN ('a'))`))).toBeUndefined(); // the source's, not the target's
    expect(values(merge(`ON (t.id = s.id AND t.other IN ('a'))`))).toBeUndefined();
    expect(values(merge(`ON (t.id = s.id AND t.dt NOT IN ('a'))`))).toBeUndefined();
    expect(values(merge(`ON (t.id = s.id AND t.dt IN ('a') OR true)`))).toBeUndefined();
    expect(
      mergeTargetPruning(`MERGE INTO t USING s ON (t.dt IN ('a')) WHEN MATCHED THEN DELETE`, []),
    ).toBeUndefined();
  });
});

describe('Hive partition directories', () => {
  it("escape values as Hive does (%XX), NULL and '' as __HIVE_DEFAULT_PARTITION__, and read back", () => {
    expect(hivePartitionPath(['sales_date'], ['2026-01-05'])).toBe('sales_date=2026-01-05/');
    expect(hivePartitionPath(['a', 'b'], ['x/y:z=1 %', null])).toBe(
      'a=x%2Fy%3Az%3D1 %25/b=__HIVE_DEFAULT_PARTITION__/',
    );
    expect(hivePartitionPath(['a'], [''])).toBe('a=__HIVE_DEFAULT_PARTITION__/');
    expect(hivePathValue('x%2Fy%3Az%3D1 %25')).toBe('x/y:z=1 %');
    expect(hivePathValue('__HIVE_DEFAULT_PARTITION__')).toBeNull();
  });
});
