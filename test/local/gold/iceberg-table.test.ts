import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  deleteSnapshotFiles,
  isMergeStatement,
  mergeTarget,
  partitionStates,
  readSnapshot,
  tableRoot,
  type WrittenSnapshot,
  writeSnapshot,
} from '../../../local/gold/iceberg-table';
import { withLocalS3 } from '../../support/local-s3';

describe('local Iceberg snapshots', () => {
  const s3 = withLocalS3(['s']);
  let dir: string;
  let instance: DuckDBInstance;
  let c: DuckDBConnection;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-iceberg-'));
    instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    c = await instance.connect();
    await c.run('CREATE SCHEMA lake');
  });
  afterAll(() => {
    c.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes the snapshot of `table` after `change` ran, from `previous` (its states taken before). */
  const rewrite = async (
    table: string,
    location: string,
    partitionColumns: string[],
    previous: WrittenSnapshot | undefined,
    change: string,
  ) => {
    const before = await partitionStates(c, table, partitionColumns);
    await c.run(change);
    return writeSnapshot({
      s3: s3.client,
      connection: c,
      table,
      location,
      partitionColumns,
      previous: previous && { metadataLocation: previous.metadataLocation, snapshot: previous.snapshot },
      before,
      workDir: dir,
    });
  };

  it('states partitions by row count and a hash that ignores row order', async () => {
    await c.run('CREATE TABLE lake.a (k VARCHAR, v INTEGER, dt VARCHAR)');
    await c.run("INSERT INTO lake.a VALUES ('x', 1, 'd1'), ('y', 2, 'd1'), ('z', 3, NULL)");
    await c.run('CREATE TABLE lake.b (k VARCHAR, v INTEGER, dt VARCHAR)');
    await c.run("INSERT INTO lake.b VALUES ('z', 3, NULL), ('y', 2, 'd1'), ('x', 1, 'd1')");
    const a = await partitionStates(c, 'lake.a', ['dt']);
    expect(await partitionStates(c, 'lake.b', ['dt'])).toEqual(a);
    expect([...a.values()].map((p) => [p.values, p.rows])).toEqual(
      expect.arrayContaining([
        [['d1'], 2],
        [[null], 1],
      ]),
    );
    await c.run("UPDATE lake.b SET v = 4 WHERE k = 'x'");
    const b = await partitionStates(c, 'lake.b', ['dt']);
    expect(b.get('["d1"]')?.hash).not.toBe(a.get('["d1"]')?.hash);
    expect(b.get('[null]')).toEqual(a.get('[null]'));
    expect(await partitionStates(c, 'lake.a', [])).toEqual(
      new Map([['[]', { values: [], rows: 3, hash: expect.any(String) }]]),
    );
  });

  it('writes one file per partition, then rewrites only the partitions whose rows changed', async () => {
    const location = 's3://s/_current/t/';
    await c.run('CREATE TABLE lake.t (k VARCHAR, v INTEGER, dt VARCHAR)');
    const first = await rewrite(
      'lake.t',
      location,
      ['dt'],
      undefined,
      "INSERT INTO lake.t VALUES ('a', 1, '2026-01-01'), ('b', 2, '2026-01-02'), ('c', 3, NULL)",
    );
    if (!first) throw new Error('expected a snapshot');
    expect(first.metadataLocation).toMatch(
      /^s3:\/\/s\/_current\/t\/metadata\/00001-[0-9a-f-]{36}\.metadata\.json$/,
    );
    expect(first.snapshot).toMatchObject({
      format: 'medallion-local-iceberg',
      sequence: 1,
      parent: null,
      partitionColumns: ['dt'],
    });
    expect(first.snapshot.files.map((f) => [f.partition, f.rows])).toEqual([
      [{ dt: '2026-01-01' }, 1],
      [{ dt: '2026-01-02' }, 1],
      [{ dt: null }, 1],
    ]);
    expect(first.snapshot.files.map((f) => f.path.replace(/[0-9a-f-]{36}/, '<uuid>'))).toEqual([
      's3://s/_current/t/data/dt=2026-01-01/<uuid>.parquet',
      's3://s/_current/t/data/dt=2026-01-02/<uuid>.parquet',
      's3://s/_current/t/data/dt=__HIVE_DEFAULT_PARTITION__/<uuid>.parquet',
    ]);
    for (const f of first.snapshot.files) {
      const body = await s3.get('s', f.path.slice('s3://s/'.length));
      expect(body?.length).toBe(f.bytes);
    }
    expect(await readSnapshot(s3.client, first.metadataLocation)).toEqual(first.snapshot);

    const second = await rewrite(
      'lake.t',
      location,
      ['dt'],
      first,
      "UPDATE lake.t SET v = 20 WHERE k = 'b'; DELETE FROM lake.t WHERE dt IS NULL",
    );
    if (!second) throw new Error('expected a snapshot');
    expect(second.snapshot).toMatchObject({ sequence: 2, parent: first.metadataLocation });
    expect(second.metadataLocation).toMatch(/\/metadata\/00002-/);
    expect(second.kept).toEqual([first.snapshot.files[0]]);
    expect(second.written.map((f) => f.partition)).toEqual([{ dt: '2026-01-02' }]);
    expect(second.removedPartitions).toBe(1);
    expect(second.snapshot.files).toEqual([first.snapshot.files[0], second.written[0]]);

    const keys = await s3.keys('s', '_current/t/');
    expect(await rewrite('lake.t', location, ['dt'], second, "UPDATE lake.t SET v = 1 WHERE k = 'a'")).toBe(
      undefined,
    );
    expect(await s3.keys('s', '_current/t/')).toEqual(keys);
  });

  it('writes an unpartitioned table as one file, and deletes a snapshot that was not committed', async () => {
    await c.run('CREATE TABLE lake.u (k VARCHAR)');
    const written = await rewrite(
      'lake.u',
      's3://s/_current/u',
      [],
      undefined,
      "INSERT INTO lake.u VALUES ('a')",
    );
    expect(written?.snapshot.files.map((f) => f.path)).toEqual([
      expect.stringMatching(/^s3:\/\/s\/_current\/u\/data\/[0-9a-f-]{36}\.parquet$/),
    ]);
    expect(await s3.keys('s', '_current/u/')).toHaveLength(2);
    await deleteSnapshotFiles(s3.client, written as WrittenSnapshot);
    expect(await s3.keys('s', '_current/u/')).toEqual([]);
  });

  it('refuses to read a metadata file of another format', async () => {
    await s3.put('s', 'other/v1.metadata.json', JSON.stringify({ 'format-version': 2 }));
    await expect(readSnapshot(s3.client, 's3://s/other/v1.metadata.json')).rejects.toThrow(
      /^ICEBERG_INVALID_METADATA: s3:\/\/s\/other\/v1\.metadata\.json is not a local Iceberg snapshot/,
    );
  });
});

describe('a table location', () => {
  it('is the same table root with or without its trailing slash', () => {
    expect(tableRoot('s3://s/_current/retail/orders')).toBe('s3://s/_current/retail/orders/');
    expect(tableRoot('s3://s/_current/retail/orders/')).toBe('s3://s/_current/retail/orders/');
    expect(tableRoot('s3://s/_current/retail/orders//')).toBe('s3://s/_current/retail/orders/');
  });
});

describe('MERGE statements', () => {
  it('are recognised after comments and whitespace', () => {
    expect(isMergeStatement('-- current state\n/* of orders */\n  merge into orders t USING x')).toBe(true);
    expect(isMergeStatement('SELECT 1 -- MERGE INTO orders')).toBe(false);
  });

  it('name their target, quoted or not, in the query database by default', () => {
    expect(mergeTarget('MERGE INTO "lake"."orders" t USING s ON (true)', undefined)).toEqual({
      database: 'lake',
      table: 'orders',
    });
    expect(mergeTarget('MERGE INTO Lake . Orders USING s', undefined)).toEqual({
      database: 'lake',
      table: 'orders',
    });
    expect(mergeTarget('MERGE INTO orders AS t USING s', 'lake')).toEqual({
      database: 'lake',
      table: 'orders',
    });
    expect(() => mergeTarget('MERGE INTO orders USING s', undefined)).toThrow(/no database/);
    expect(() => mergeTarget('MERGE INTO awsdatacatalog.lake.orders USING s', undefined)).toThrow(
      /a catalog name is not supported/,
    );
  });
});
