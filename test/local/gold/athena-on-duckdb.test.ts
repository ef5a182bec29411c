import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { LocalAthena } from '../../../local/gold/athena-on-duckdb';
import { LocalGlueCatalog } from '../../../local/gold/glue-catalog';
import { readSnapshot } from '../../../local/gold/iceberg-table';
import { AthenaTaskFailed } from '../../../local/gold/service-errors';
import { TemplateResolver } from '../../../local/gold/state-machine-definition';
import { type LocalS3, withLocalS3 } from '../../support/local-s3';
import { NUMBERS_TEMPLATE as TEMPLATE } from './fixtures/numbers-template';
import { SILVER_HISTORY_TEMPLATE, SILVER_TEMPLATE } from './fixtures/silver-template';

describe('LocalAthena', () => {
  const s3 = withLocalS3(['g']);
  let dir: string;
  let athena: LocalAthena;
  let catalog: LocalGlueCatalog;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-athena-'));
    catalog = new LocalGlueCatalog(join(dir, 'c.json'));
    catalog.seedFromTemplate(new TemplateResolver(TEMPLATE, { buckets: { gold: 'g' } }));
    athena = new LocalAthena({ s3: s3.client, catalog, dir });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const unload = (select: string, to: string) =>
    athena.startQueryExecutionSync({
      QueryString: `UNLOAD (\n${select}\n) TO '${to}' WITH (format = 'PARQUET', compression = 'ZSTD')`,
      QueryExecutionContext: { Database: 'lake' },
      WorkGroup: 'wg',
    });

  it('reads an unpublished table as empty, and UNLOADs to S3 as one Parquet file', async () => {
    expect(await athena.readTable('lake', 'numbers')).toEqual([]);
    const out = await unload(
      'SELECT CAST(n AS bigint) AS n FROM (VALUES (1), (2), (3)) AS v(n)',
      's3://g/numbers/v=1/',
    );
    expect(out.QueryExecution.Status.State).toBe('SUCCEEDED');
    expect(await s3.keys('g')).toEqual(['numbers/v=1/part-0.parquet']);
    expect(athena.unloads.get('s3://g/numbers/v=1/')?.rows).toBe(3);
  });

  it('fails the task (States.TaskFailed) on DuckDB-only syntax, before anything runs', async () => {
    const failure = await unload('SELECT n::int AS n FROM "lake"."numbers"', 's3://g/numbers/v=2/').catch(
      (e) => e,
    );
    expect(failure).toBeInstanceOf(AthenaTaskFailed);
    expect(failure.name).toBe('States.TaskFailed');
    expect(failure.reason).toContain("DuckDB-only syntax, Athena would refuse it:\n  - '::' casts");
    expect(JSON.parse(failure.message).QueryExecution.Status.State).toBe('FAILED');
    expect(await s3.keys('g', 'numbers/v=2/')).toEqual([]);
  });

  it('runs queries of one wave at once over the same table: none reads a file another is still fetching', async () => {
    // A wave's queries fetch the same objects into the same cache: with files rewritten in place, this
    // failed 2 runs in 3 ("too small to be a Parquet file"). 16 files of 100,000 rows, 6 queries.
    await unload(
      `WITH d AS (SELECT n FROM (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) AS t(n)),
      r AS (SELECT a.n + 10 * b.n + 100 * c.n + 1000 * e.n + 10000 * f.n AS n FROM d a, d b, d c, d e, d f)
      SELECT CAST(n AS bigint) AS n, md5(CAST(n AS varchar)) AS pad FROM r`,
      's3://g/numbers/v=big/',
    );
    const { Table } = catalog.getTable({ DatabaseName: 'lake', Name: 'numbers' });
    catalog.updateTable({
      DatabaseName: 'lake',
      TableInput: {
        Name: Table.Name,
        TableType: Table.TableType,
        StorageDescriptor: { ...Table.StorageDescriptor, Location: 's3://g/numbers/v=big/' },
      },
    });
    // Queries starting a little apart: one is reading while another still fetches.
    const part = (await s3.get('g', 'numbers/v=big/part-0.parquet')) as Buffer;
    for (let i = 1; i < 16; i++) await s3.put('g', `numbers/v=big/part-${i}.parquet`, part);
    const counts = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i * 7));
        return athena.query('SELECT count(*) AS n FROM "lake"."numbers"', 'lake');
      }),
    );
    expect(counts).toEqual(Array.from({ length: 6 }, () => [{ n: '1600000' }]));
  });

  it('refuses, like Athena, to UNLOAD into a prefix that already holds objects', async () => {
    const failure = await unload('SELECT CAST(1 AS bigint) AS n', 's3://g/numbers/v=1/').catch((e) => e);
    expect(failure.reason).toMatch(/^HIVE_PATH_ALREADY_EXISTS/);
  });
});

/** A history row of `orders`: `[order_id, amount, updated_at, deleted]`. */
type HistoryRow = [string, string, string, boolean];

/** Writes history rows as one Parquet file of partition `dt` of `s3://s/retail/orders_history/`. */
async function writeHistory(s3: LocalS3, dir: string, dt: string, file: string, rows: HistoryRow[]) {
  const local = join(dir, `${dt}-${file}.parquet`);
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  const values = rows.map(
    ([id, amount, at, deleted]) => `('${id}', ${amount}, TIMESTAMP '${at}', ${deleted})`,
  );
  await c.run(
    `COPY (SELECT CAST(id AS VARCHAR) AS order_id, CAST(amount AS DECIMAL(10,2)) AS amount, updated_at, deleted
     FROM (VALUES ${values.join(', ')}) AS v(id, amount, updated_at, deleted)) TO '${local}' (FORMAT parquet)`,
  );
  c.closeSync();
  instance.closeSync();
  await s3.put('s', `retail/orders_history/dt=${dt}/${file}.parquet`, readFileSync(local));
}

describe('LocalAthena: Iceberg tables and MERGE INTO', () => {
  const s3 = withLocalS3(['s']);
  let dir: string;
  let athena: LocalAthena;
  let catalog: LocalGlueCatalog;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-athena-iceberg-'));
    catalog = new LocalGlueCatalog(join(dir, 'c.json'));
    catalog.seedFromTemplate(new TemplateResolver(SILVER_TEMPLATE, { buckets: { silver: 's' } }));
    athena = new LocalAthena({ s3: s3.client, catalog, dir });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const putHistory = (dt: string, file: string, rows: HistoryRow[]) => writeHistory(s3, dir, dt, file, rows);
  /** The MERGE the current-state table is maintained by, over the history rows matching `where`. */
  const mergeOrders = (where: string, target = '"lake"."orders"', on = 't.order_id = s.order_id') =>
    athena.startQueryExecutionSync({
      QueryString: `-- the current state of orders
MERGE INTO ${target} t
USING (
  SELECT order_id, amount, updated_at, deleted, dt
  FROM (
    SELECT h.order_id, h.amount, h.updated_at, h.deleted, h.dt,
      row_number() OVER (PARTITION BY h.order_id ORDER BY h.updated_at DESC) AS rn
    FROM "lake"."orders_history" h
    WHERE ${where}
  ) latest
  WHERE rn = 1
) s
ON (${on})
WHEN MATCHED AND s.deleted THEN DELETE
WHEN MATCHED AND s.updated_at > t.updated_at
  THEN UPDATE SET amount = s.amount, updated_at = s.updated_at, dt = s.dt
WHEN NOT MATCHED AND NOT s.deleted
  THEN INSERT (order_id, amount, updated_at, dt) VALUES (s.order_id, s.amount, s.updated_at, s.dt)`,
      QueryExecutionContext: { Database: 'lake' },
      WorkGroup: 'wg',
    });
  const current = () =>
    athena.query('SELECT order_id, amount, dt FROM "lake"."orders" ORDER BY order_id', 'lake');
  const metadataLocation = () =>
    catalog.getTable({ DatabaseName: 'lake', Name: 'orders' }).Table.Parameters?.metadata_location;
  /** The current snapshot's data files: partition value -> path. */
  const filesByPartition = async () => {
    const snapshot = await readSnapshot(s3.client, metadataLocation() as string);
    return Object.fromEntries(snapshot.files.map((f) => [f.partition.dt, f.path]));
  };
  const bytesUnder = async (prefix: string) => {
    let bytes = 0;
    for (const key of await s3.keys('s', prefix)) bytes += (await s3.head('s', key))?.ContentLength ?? 0;
    return bytes;
  };
  const snapshotBytes = async () =>
    (await readSnapshot(s3.client, metadataLocation() as string)).files.reduce((sum, f) => sum + f.bytes, 0);
  const row = (order_id: string, amount: string, dt: string) => ({ order_id, amount, dt });

  it('reads an Iceberg table with no snapshot as empty, with the catalog column types', async () => {
    expect(await athena.readTable('lake', 'orders')).toEqual([]);
    const described = await athena.query('DESCRIBE "lake"."orders"', 'lake');
    expect(described.map((c) => [c.column_name, c.column_type])).toEqual([
      ['order_id', 'VARCHAR'],
      ['amount', 'DECIMAL(10,2)'],
      ['updated_at', 'TIMESTAMP'],
      ['dt', 'VARCHAR'],
    ]);
  });

  it('MERGE INTO inserts the latest version of each key, one file per partition, and reports it', async () => {
    await putHistory('2026-01-01', 'b1', [
      ['o1', '10.00', '2026-01-01 08:00:00', false],
      ['o2', '20.00', '2026-01-01 08:00:00', false],
    ]);
    await putHistory('2026-01-02', 'b1', [
      ['o1', '11.00', '2026-01-02 08:00:00', false],
      ['o3', '30.00', '2026-01-02 08:00:00', false],
    ]);
    const out = await mergeOrders("h.dt >= '2026-01-01'");
    expect(out.QueryExecution).toMatchObject({
      StatementType: 'DML',
      SubstatementType: 'MERGE',
      Status: { State: 'SUCCEEDED' },
      Statistics: { DataScannedInBytes: await bytesUnder('retail/orders_history/') },
    });
    expect(await current()).toEqual([
      row('o1', '11.00', '2026-01-02'),
      row('o2', '20.00', '2026-01-01'),
      row('o3', '30.00', '2026-01-02'),
    ]);
    expect(athena.merges.get('lake.orders')).toMatchObject({
      queryExecutionId: out.QueryExecution.QueryExecutionId,
      rowsAffected: 3,
      metadataLocation: metadataLocation(),
      filesWritten: 2,
      filesKept: 0,
      partitionsRemoved: 0,
      bytesWritten: await snapshotBytes(),
    });
    expect(Object.keys(await filesByPartition())).toEqual(['2026-01-01', '2026-01-02']);
    const select = await athena.startQueryExecutionSync({
      QueryString: 'SELECT count(*) FROM "lake"."orders"',
      QueryExecutionContext: { Database: 'lake' },
    });
    expect(select.QueryExecution.SubstatementType).toBe('SELECT');
    expect(select.QueryExecution.Statistics.DataScannedInBytes).toBe(await snapshotBytes());
  });

  it('updates a key only with a newer version, rewriting only the partition that changed', async () => {
    await putHistory('2026-01-02', 'b2', [
      ['o3', '31.00', '2026-01-02 09:00:00', false], // newer: wins
      ['o2', '19.00', '2025-12-31 08:00:00', false], // older than the current o2: ignored
    ]);
    const before = await filesByPartition();
    const scanned = (await bytesUnder('retail/orders_history/')) + (await snapshotBytes());
    const out = await mergeOrders("h.dt = '2026-01-02'");
    expect(out.QueryExecution.Statistics.DataScannedInBytes).toBe(scanned);
    expect(await current()).toEqual([
      row('o1', '11.00', '2026-01-02'),
      row('o2', '20.00', '2026-01-01'),
      row('o3', '31.00', '2026-01-02'),
    ]);
    expect(athena.merges.get('lake.orders')).toMatchObject({
      rowsAffected: 1,
      filesWritten: 1,
      filesKept: 1,
    });
    const after = await filesByPartition();
    expect(after['2026-01-01']).toBe(before['2026-01-01']);
    expect(after['2026-01-02']).not.toBe(before['2026-01-02']);
  });

  it('deletes a key, dropping a partition left with no row', async () => {
    await putHistory('2026-01-03', 'b3', [['o2', '20.00', '2026-01-03 08:00:00', true]]);
    const before = await filesByPartition();
    await mergeOrders("h.dt = '2026-01-03'");
    expect(await current()).toEqual([row('o1', '11.00', '2026-01-02'), row('o3', '31.00', '2026-01-02')]);
    expect(athena.merges.get('lake.orders')).toMatchObject({
      rowsAffected: 1,
      filesWritten: 0,
      filesKept: 1,
      partitionsRemoved: 1,
    });
    expect(await filesByPartition()).toEqual({ '2026-01-02': before['2026-01-02'] });
  });

  it('commits no snapshot when the MERGE changes nothing', async () => {
    const location = metadataLocation();
    const objects = await s3.keys('s', '_current/');
    const out = await mergeOrders("h.dt = '2026-01-03'"); // o2 is already deleted
    expect(out.QueryExecution.Status.State).toBe('SUCCEEDED');
    expect(athena.merges.get('lake.orders')).toMatchObject({ rowsAffected: 0, metadataLocation: undefined });
    expect(metadataLocation()).toBe(location);
    expect(await s3.keys('s', '_current/')).toEqual(objects);
  });

  it('fails with ICEBERG_COMMIT_ERROR when another commit happened since the MERGE started', async () => {
    await putHistory('2026-01-04', 'b4', [['o4', '40.00', '2026-01-04 08:00:00', false]]);
    const started = metadataLocation() as string;
    const { parent } = await readSnapshot(s3.client, started);
    const objects = await s3.keys('s', '_current/');
    const merging = mergeOrders("h.dt = '2026-01-04'");
    // Another writer commits first (here: back to the previous snapshot, which still holds o2).
    catalog.commitIcebergMetadata('lake', 'orders', started, parent as string);
    const failure = await merging.catch((e) => e);
    expect(failure).toBeInstanceOf(AthenaTaskFailed);
    expect(failure.reason).toMatch(
      /^ICEBERG_COMMIT_ERROR: Failed to commit Iceberg update to table: lake\.orders/,
    );
    expect(JSON.parse(failure.message).QueryExecution.SubstatementType).toBe('MERGE');
    expect(metadataLocation()).toBe(parent);
    expect(await current()).toEqual([
      row('o1', '11.00', '2026-01-02'),
      row('o2', '20.00', '2026-01-01'),
      row('o3', '31.00', '2026-01-02'),
    ]);
    expect(await s3.keys('s', '_current/')).toEqual(objects); // the loser's files are deleted
  });

  it('lets one of two concurrent MERGEs commit and fails the other with ICEBERG_COMMIT_ERROR', async () => {
    await putHistory('2026-01-05', 'b5', [['o5', '50.00', '2026-01-05 08:00:00', false]]);
    await putHistory('2026-01-06', 'b6', [['o6', '60.00', '2026-01-06 08:00:00', false]]);
    const settled = await Promise.allSettled([
      mergeOrders("h.dt = '2026-01-05'"),
      mergeOrders("h.dt = '2026-01-06'"),
    ]);
    expect(settled.map((s) => s.status).sort()).toEqual(['fulfilled', 'rejected']);
    const lost = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason.reason).toMatch(/^ICEBERG_COMMIT_ERROR: /);
    const winner =
      settled[0].status === 'fulfilled' ? row('o5', '50.00', '2026-01-05') : row('o6', '60.00', '2026-01-06');
    expect(await current()).toEqual([
      row('o1', '11.00', '2026-01-02'),
      row('o2', '20.00', '2026-01-01'),
      row('o3', '31.00', '2026-01-02'),
      winner,
    ]);
  });

  it('under 20 identical MERGEs at once, exactly one commits; the others fail and leave no file behind', async () => {
    await putHistory('2026-01-07', 'b7', [['o7', '70.00', '2026-01-07 08:00:00', false]]);
    const keysBefore = await s3.keys('s', '_current/');
    const settled = await Promise.allSettled(
      Array.from({ length: 20 }, () => mergeOrders("h.dt = '2026-01-07'")),
    );
    expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of settled.filter((x) => x.status === 'rejected') as PromiseRejectedResult[]) {
      expect(r.reason.reason).toMatch(/^ICEBERG_COMMIT_ERROR: /);
    }
    expect((await current()).filter((r) => r.order_id === 'o7')).toEqual([row('o7', '70.00', '2026-01-07')]);
    // One new data file and one new metadata file: the losers deleted what they wrote.
    const added = (await s3.keys('s', '_current/')).filter((k) => !keysBefore.includes(k));
    expect(added).toHaveLength(2);
  }, 60_000);

  it('reads only the target partitions its ON clause names, keeps the others, and appends rows put elsewhere', async () => {
    await putHistory('2026-01-08', 'b8', [['o8', '80.00', '2026-01-08 08:00:00', false]]);
    await putHistory('2026-01-02', 'b8', [['o9', '90.00', '2026-01-02 10:00:00', false]]);
    const before = await readSnapshot(s3.client, metadataLocation() as string);
    const out = await mergeOrders(
      "h.dt = '2026-01-08' OR (h.dt = '2026-01-02' AND h.order_id = 'o9')",
      '"lake"."orders"',
      "t.order_id = s.order_id AND t.dt IN ('2026-01-08')",
    );
    // No target file is read: 2026-01-08 has none yet (the history is read whole: not the planner's form).
    expect(out.QueryExecution.Statistics.DataScannedInBytes).toBe(await bytesUnder('retail/orders_history/'));
    const after = await readSnapshot(s3.client, metadataLocation() as string);
    expect(athena.merges.get('lake.orders')).toMatchObject({
      filesWritten: 2,
      filesKept: before.files.length,
    });
    for (const f of before.files) expect(after.files).toContainEqual(f);
    expect(after.files.filter((f) => f.partition.dt === '2026-01-02')).toHaveLength(2);
    const rows = await current();
    expect(rows.filter((r) => ['o1', 'o3', 'o8', 'o9'].includes(String(r.order_id)))).toEqual([
      row('o1', '11.00', '2026-01-02'),
      row('o3', '31.00', '2026-01-02'),
      row('o8', '80.00', '2026-01-08'),
      row('o9', '90.00', '2026-01-02'),
    ]);
    // A pruned MERGE that updates a row of a partition it reads rewrites that partition's files only.
    await putHistory('2026-01-02', 'b9', [['o9', '91.00', '2026-01-02 11:00:00', false]]);
    const scanned =
      (await bytesUnder('retail/orders_history/')) +
      after.files.filter((f) => f.partition.dt === '2026-01-02').reduce((sum, f) => sum + f.bytes, 0);
    const update = await mergeOrders(
      "h.dt = '2026-01-02' AND h.order_id = 'o9'",
      '"lake"."orders"',
      "t.order_id = s.order_id AND t.dt IN ('2026-01-02')",
    );
    expect(update.QueryExecution.Statistics.DataScannedInBytes).toBe(scanned);
    const final = await readSnapshot(s3.client, metadataLocation() as string);
    expect(final.files.filter((f) => f.partition.dt === '2026-01-02')).toHaveLength(1);
    expect(final.files.filter((f) => f.partition.dt !== '2026-01-02')).toEqual(
      after.files.filter((f) => f.partition.dt !== '2026-01-02'),
    );
    expect((await current()).filter((r) => r.order_id === 'o9')).toEqual([row('o9', '91.00', '2026-01-02')]);
  });

  it('refuses, like Athena, a MERGE INTO a Hive table', async () => {
    const failure = await mergeOrders("h.dt = '2026-01-01'", '"lake"."orders_history"').catch((e) => e);
    expect(failure).toBeInstanceOf(AthenaTaskFailed);
    expect(failure.reason).toMatch(
      /^NOT_SUPPORTED: Modifying Hive table rows is only supported for Iceberg tables/,
    );
  });
});

describe('LocalAthena: Athena DDL creates and evolves Iceberg tables', () => {
  const s3 = withLocalS3(['s']);
  let dir: string;
  let athena: LocalAthena;
  let catalog: LocalGlueCatalog;
  const template = () => new TemplateResolver(SILVER_HISTORY_TEMPLATE, { buckets: { silver: 's' } });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-athena-ddl-'));
    catalog = new LocalGlueCatalog(join(dir, 'c.json'));
    catalog.seedFromTemplate(template());
    athena = new LocalAthena({ s3: s3.client, catalog, dir });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (sql: string) =>
    athena.startQueryExecutionSync({
      QueryString: sql,
      QueryExecutionContext: { Database: 'lake' },
      WorkGroup: 'wg',
    });
  /** Athena DDL as the workflow generates it; the location has no trailing '/'. */
  const createOrders = (columns = "`order_id` string COMMENT 'the key', `amount` decimal(10,2)") =>
    run(`CREATE TABLE IF NOT EXISTS \`orders\` (
  ${columns},
  \`updated_at\` timestamp,
  \`dt\` string COMMENT 'UTC day of updated_at'
)
PARTITIONED BY (\`dt\`)
LOCATION 's3://s/_current/retail/orders'
TBLPROPERTIES ('table_type' = 'ICEBERG', 'format' = 'parquet', 'write_compression' = 'zstd')`);
  const upsert = (where: string) =>
    run(`MERGE INTO "lake"."orders" t
USING (SELECT order_id, amount, updated_at, dt FROM "lake"."orders_history" h WHERE ${where}) s
ON (t.order_id = s.order_id)
WHEN MATCHED THEN UPDATE SET amount = s.amount, updated_at = s.updated_at, dt = s.dt
WHEN NOT MATCHED THEN INSERT (order_id, amount, updated_at, dt) VALUES (s.order_id, s.amount, s.updated_at, s.dt)`);
  const orders = (columns = 'order_id, amount, dt') =>
    athena.query(`SELECT ${columns} FROM "lake"."orders" ORDER BY order_id`, 'lake');
  const table = () => catalog.getTable({ DatabaseName: 'lake', Name: 'orders' }).Table;

  it('creates an Iceberg table (StatementType DDL) that reads as empty until a MERGE commits to it', async () => {
    const out = await createOrders();
    expect(out.QueryExecution).toMatchObject({
      StatementType: 'DDL',
      SubstatementType: 'CREATE_TABLE',
      Status: { State: 'SUCCEEDED' },
      Statistics: { DataScannedInBytes: 0 },
    });
    expect(table()).toMatchObject({
      Parameters: { table_type: 'ICEBERG' },
      StorageDescriptor: { Location: 's3://s/_current/retail/orders' },
    });
    expect(catalog.icebergPartitionColumns('lake', 'orders')).toEqual(['dt']);
    expect(await athena.readTable('lake', 'orders')).toEqual([]);
  });

  it('does nothing on CREATE TABLE IF NOT EXISTS of an existing table, and fails without IF NOT EXISTS', async () => {
    const before = table();
    const again = await createOrders('`order_id` string, `amount` decimal(12,2), `extra` int');
    expect(again.QueryExecution.Status.State).toBe('SUCCEEDED');
    expect(table()).toEqual(before);
    const failure = await run(
      "CREATE TABLE `orders` (`order_id` string) LOCATION 's3://s/x' TBLPROPERTIES ('table_type' = 'ICEBERG')",
    ).catch((e) => e);
    expect(failure).toBeInstanceOf(AthenaTaskFailed);
    expect(failure.reason).toBe('AlreadyExistsException: Table already exists: lake.orders');
    expect(JSON.parse(failure.message).QueryExecution).toMatchObject({
      StatementType: 'DDL',
      SubstatementType: 'CREATE_TABLE',
      Status: { State: 'FAILED' },
    });
  });

  it('MERGEs into the created table, writing <location>/data/ and <location>/metadata/ keys', async () => {
    await writeHistory(s3, dir, '2026-01-01', 'b1', [['o1', '10.00', '2026-01-01 08:00:00', false]]);
    await writeHistory(s3, dir, '2026-01-02', 'b1', [
      ['o2', '20.00', '2026-01-02 08:00:00', false],
      ['o3', '30.00', '2026-01-02 09:00:00', false],
    ]);
    await upsert("h.dt >= '2026-01-01'");
    expect(await orders()).toEqual([
      { order_id: 'o1', amount: '10.00', dt: '2026-01-01' },
      { order_id: 'o2', amount: '20.00', dt: '2026-01-02' },
      { order_id: 'o3', amount: '30.00', dt: '2026-01-02' },
    ]);
    expect(table().Parameters?.metadata_location).toMatch(
      /^s3:\/\/s\/_current\/retail\/orders\/metadata\/00001-[0-9a-f-]{36}\.metadata\.json$/,
    );
    const keys = (await s3.keys('s', '_current/')).map((k) =>
      k.replace(/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/, '<uuid>'),
    );
    expect(keys).toEqual([
      '_current/retail/orders/data/dt=2026-01-01/<uuid>.parquet',
      '_current/retail/orders/data/dt=2026-01-02/<uuid>.parquet',
      '_current/retail/orders/metadata/00001-<uuid>.metadata.json',
    ]);
  });

  it('adds columns that read NULL in older files, and that a later MERGE sets', async () => {
    const out = await run("ALTER TABLE `orders` ADD COLUMNS (`note` string COMMENT 'free text', `n` bigint)");
    expect(out.QueryExecution).toMatchObject({
      StatementType: 'DDL',
      SubstatementType: 'ALTER_TABLE_ADD_COLUMNS',
      Status: { State: 'SUCCEEDED' },
    });
    // No file of the snapshot has the new columns yet.
    expect(await orders('order_id, note, n')).toEqual([
      { order_id: 'o1', note: null, n: null },
      { order_id: 'o2', note: null, n: null },
      { order_id: 'o3', note: null, n: null },
    ]);
    await run(`MERGE INTO "lake"."orders" t
USING (SELECT order_id FROM "lake"."orders_history" WHERE dt = '2026-01-02') s
ON (t.order_id = s.order_id)
WHEN MATCHED THEN UPDATE SET note = 'seen', n = 1`);
    expect(athena.merges.get('lake.orders')).toMatchObject({
      rowsAffected: 2,
      filesWritten: 1,
      filesKept: 1,
    });
    // o1's partition kept its file, written before the columns existed.
    expect(await orders('order_id, note, n')).toEqual([
      { order_id: 'o1', note: null, n: null },
      { order_id: 'o2', note: 'seen', n: '1' },
      { order_id: 'o3', note: 'seen', n: '1' },
    ]);
    const failure = await run('ALTER TABLE `orders` ADD COLUMNS (`note` string)').catch((e) => e);
    expect(failure).toBeInstanceOf(AthenaTaskFailed);
    expect(failure.reason).toBe("Column 'note' already exists");
  });

  it('keeps a DDL-created table, its columns and snapshot, when the catalog is seeded from the template again', async () => {
    const before = table();
    const reopened = new LocalGlueCatalog(join(dir, 'c.json'));
    reopened.seedFromTemplate(template());
    expect(reopened.getTable({ DatabaseName: 'lake', Name: 'orders' }).Table).toEqual(before);
    expect(reopened.icebergPartitionColumns('lake', 'orders')).toEqual(['dt']);
    const athenaAfter = new LocalAthena({ s3: s3.client, catalog: reopened, dir });
    expect(await athenaAfter.query('SELECT count(*) AS n FROM "lake"."orders"', 'lake')).toEqual([
      { n: '3' },
    ]);
  });

  it('refuses, like Athena, a MERGE that writes more than 100 partitions (HIVE_TOO_MANY_OPEN_PARTITIONS), and commits nothing', async () => {
    const rows = (n: number, from: number) =>
      Array.from({ length: n }, (_, i) => {
        const day = new Date(Date.UTC(2024, 0, from + i)).toISOString().slice(0, 10);
        return `('p${from + i}', '${day}')`;
      }).join(', ');
    const insert = (values: string) =>
      run(`MERGE INTO "lake"."orders" t
USING (SELECT k AS order_id, CAST(1 AS decimal(10,2)) AS amount, TIMESTAMP '2024-01-01 00:00:00' AS updated_at, d AS dt FROM (VALUES ${values}) AS v(k, d)) s
ON (t.order_id = s.order_id)
WHEN NOT MATCHED THEN INSERT (order_id, amount, updated_at, dt) VALUES (s.order_id, s.amount, s.updated_at, s.dt)`);
    const before = table().Parameters?.metadata_location;
    const failure = await insert(rows(101, 1)).catch((e) => e);
    expect(failure).toBeInstanceOf(AthenaTaskFailed);
    expect(failure.reason).toMatch(
      /^HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers for partitions\/buckets/,
    );
    expect(table().Parameters?.metadata_location).toBe(before);
    // 100 partitions is within the limit.
    const ok = await insert(rows(100, 1));
    expect(ok.QueryExecution.Status.State).toBe('SUCCEEDED');
    expect(table().Parameters?.metadata_location).not.toBe(before);
  });

  it('VACUUM deletes the files no longer listed by the current snapshot or its parent; OPTIMIZE is accepted', async () => {
    const optimize = await run(`OPTIMIZE "orders" REWRITE DATA USING BIN_PACK WHERE "dt" IN ('2026-01-01')`);
    expect(optimize.QueryExecution).toMatchObject({
      SubstatementType: 'OPTIMIZE',
      Status: { State: 'SUCCEEDED' },
    });
    const current = table().Parameters?.metadata_location as string;
    const snapshot = JSON.parse(String(await s3.get('s', current.replace('s3://s/', ''))));
    const parent = JSON.parse(String(await s3.get('s', String(snapshot.parent).replace('s3://s/', ''))));
    const listed = new Set<string>([
      current,
      snapshot.parent,
      ...[...snapshot.files, ...parent.files].map((f: { path: string }) => f.path),
    ]);
    const before = (await s3.keys('s', '_current/retail/orders/')).map((k) => `s3://s/${k}`);
    expect(before.filter((k) => !listed.has(k)).length).toBeGreaterThan(0);

    const vacuum = await run('VACUUM "orders"');
    expect(vacuum.QueryExecution).toMatchObject({
      SubstatementType: 'VACUUM',
      Status: { State: 'SUCCEEDED' },
    });
    const after = (await s3.keys('s', '_current/retail/orders/')).map((k) => `s3://s/${k}`);
    expect(after.sort()).toEqual([...listed].sort());
    // The table reads the same.
    expect((await orders()).length).toBeGreaterThan(100);
    const hive = await run('VACUUM "orders_history"').catch((e) => e);
    expect(hive.reason).toMatch(/^NOT_SUPPORTED: VACUUM is only supported for Iceberg tables/);
  });

  it('refuses DDL it does not emulate, as a failed DDL query', async () => {
    const failure = await run('DROP TABLE `orders`').catch((e) => e);
    expect(failure).toBeInstanceOf(AthenaTaskFailed);
    expect(failure.reason).toMatch(/^DROP statement is not emulated locally/);
    expect(JSON.parse(failure.message).QueryExecution.StatementType).toBe('DDL');
    expect(catalog.tableNames('lake')).toEqual(['orders', 'orders_history']);
  });
});
