import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { LocalAthena } from '../../../local/gold/athena-on-duckdb';
import { LocalGlueCatalog } from '../../../local/gold/glue-catalog';
import {
  binPack,
  isMaintenanceStatement,
  parseMaintenance,
  TARGET_FILE_BYTES,
} from '../../../local/gold/iceberg-maintenance';
import {
  dataFilePath,
  type IcebergDataFile,
  type IcebergSnapshot,
  readSnapshot,
  writeSnapshotMetadata,
} from '../../../local/gold/iceberg-table';
import { AthenaTaskFailed } from '../../../local/gold/service-errors';
import { TemplateResolver } from '../../../local/gold/state-machine-definition';
import { withLocalS3 } from '../../support/local-s3';
import { SILVER_TEMPLATE } from './fixtures/silver-template';

/** A row of `lake.orders`: order_id, amount, updated_at, dt. */
type Row = [string, string, string, string];

const LOCATION = 's3://s/_current/retail/orders/';
const [A, B, C] = ['2026-01-01', '2026-01-02', '2026-01-03'];

describe('OPTIMIZE and VACUUM of a local Iceberg table', () => {
  const s3 = withLocalS3(['s']);
  let dir: string;
  let catalog: LocalGlueCatalog;
  let athena: LocalAthena;
  let instance: DuckDBInstance;
  let c: DuckDBConnection;
  let written = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-maintenance-'));
    catalog = new LocalGlueCatalog(join(dir, 'c.json'));
    catalog.seedFromTemplate(new TemplateResolver(SILVER_TEMPLATE, { buckets: { silver: 's' } }));
    athena = new LocalAthena({ s3: s3.client, catalog, dir });
    instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    c = await instance.connect();
  });
  afterAll(() => {
    c.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  });

  const metadataLocation = () =>
    catalog.getTable({ DatabaseName: 'lake', Name: 'orders' }).Table.Parameters?.metadata_location;
  const snapshot = async () => readSnapshot(s3.client, metadataLocation() as string);
  const filesOf = (s: IcebergSnapshot, dt: string) => s.files.filter((f) => f.partition.dt === dt);
  const byPath = (files: readonly IcebergDataFile[]) => [...files].sort((x, y) => (x.path < y.path ? -1 : 1));
  const bytesOf = (files: readonly IcebergDataFile[]) => files.reduce((sum, f) => sum + f.bytes, 0);
  const run = (sql: string) =>
    athena.startQueryExecutionSync({ QueryString: sql, QueryExecutionContext: { Database: 'lake' } });

  /** Writes one Parquet data file of partition `dt` holding `rows`, as a writer would (not committed). */
  const dataFile = async (dt: string, rows: Row[]): Promise<IcebergDataFile> => {
    const local = join(dir, `file-${written++}.parquet`);
    const values = rows.map(
      ([id, amount, at, d]) => `('${id}', CAST(${amount} AS DECIMAL(10,2)), TIMESTAMP '${at}', '${d}')`,
    );
    await c.run(
      `COPY (SELECT * FROM (VALUES ${values.join(', ')}) AS v(order_id, amount, updated_at, dt)) TO '${local}' (FORMAT parquet, COMPRESSION zstd)`,
    );
    const path = dataFilePath(LOCATION, ['dt'], [dt]);
    const body = readFileSync(local);
    await s3.put('s', path.slice('s3://s/'.length), body);
    return { path, partition: { dt }, rows: rows.length, bytes: body.length };
  };

  /**
   * Writes a snapshot listing exactly `files` after the current one, what Athena's merge-on-read writes leave:
   * many small files per partition. Committed unless `commit` is false.
   */
  const writeFiles = async (files: IcebergDataFile[], commit = true) => {
    const current = metadataLocation();
    const next = await writeSnapshotMetadata(s3.client, {
      location: LOCATION,
      partitionColumns: ['dt'],
      previous: current ? { metadataLocation: current, snapshot: await snapshot() } : undefined,
      files,
    });
    if (commit) catalog.commitIcebergMetadata('lake', 'orders', current, next.metadataLocation);
    return next.metadataLocation;
  };

  /** `n` files of 1 to 3 rows of partition `dt`, keys `<prefix>1`, `<prefix>2`, ... */
  const smallFiles = async (dt: string, n: number, prefix: string) => {
    const files: IcebergDataFile[] = [];
    let key = 0;
    for (let i = 0; i < n; i++) {
      const rows: Row[] = Array.from({ length: 1 + (i % 3) }, () => {
        key++;
        return [
          `${prefix}${key}`,
          `${key}.${String(key % 100).padStart(2, '0')}`,
          `${dt} 0${key % 10}:00:00`,
          dt,
        ];
      });
      files.push(await dataFile(dt, rows));
    }
    return files;
  };

  /** The rows of the table (as the local Athena reads it) and what the SELECT scanned. */
  const read = async () => {
    const out = await run('SELECT count(*) FROM "lake"."orders"');
    return {
      rows: await athena.query('SELECT * FROM "lake"."orders" ORDER BY ALL', 'lake'),
      scanned: out.QueryExecution.Statistics.DataScannedInBytes,
    };
  };

  /** Rows of data files, read from S3 as they are stored (no cast): every column, sorted. */
  const fileRows = async (files: readonly IcebergDataFile[]) => {
    const local: string[] = [];
    for (const f of files) {
      const path = join(dir, `read-${written++}.parquet`);
      writeFileSync(path, (await s3.get('s', f.path.slice('s3://s/'.length))) as Buffer);
      local.push(`'${path}'`);
    }
    const reader = await c.runAndReadAll(
      `SELECT * FROM read_parquet([${local.join(', ')}], union_by_name = true) ORDER BY ALL`,
    );
    const types = reader.columnTypes().map(String);
    return { types, rows: JSON.stringify(reader.getRowsJson()) };
  };

  it('rewrites the small files of each partition the WHERE names into one, the same rows; other partitions keep theirs', async () => {
    const a = await smallFiles(A, 12, 'a');
    const b = await smallFiles(B, 1, 'b');
    const cFiles = await smallFiles(C, 3, 'c');
    const before = await writeFiles([...a, ...b, ...cFiles]);
    const was = await read();
    expect(was.scanned).toBe(bytesOf([...a, ...b, ...cFiles]));
    const stored = await fileRows(a);

    const out = await run(`OPTIMIZE "orders" REWRITE DATA USING BIN_PACK WHERE "dt" IN ('${A}', '${B}')`);
    expect(out.QueryExecution).toMatchObject({
      SubstatementType: 'OPTIMIZE',
      Status: { State: 'SUCCEEDED' },
    });

    const after = await snapshot();
    expect(metadataLocation()).not.toBe(before);
    expect(after).toMatchObject({
      parent: before,
      sequence: (await readSnapshot(s3.client, before)).sequence + 1,
    });
    const [compacted] = filesOf(after, A);
    expect(filesOf(after, A)).toEqual([
      {
        path: expect.stringMatching(/\/data\/dt=2026-01-01\/[0-9a-f-]{36}\.parquet$/),
        partition: { dt: A },
        rows: 24,
        bytes: expect.any(Number),
        etag: expect.any(String),
      },
    ]);
    expect(filesOf(after, B)).toEqual(b); // one file: nothing to bin-pack
    expect(filesOf(after, C)).toEqual(byPath(cFiles)); // not named by the WHERE
    // The same rows, value for value and type for type, as stored in the files.
    expect(await fileRows([compacted])).toEqual(stored);
    const now = await read();
    expect(now.rows).toEqual(was.rows);
    // Later reads scan the compacted file instead of the small ones.
    expect(now.scanned).toBe(bytesOf([compacted, ...b, ...cFiles]));
    expect(now.scanned).toBeLessThan(was.scanned);
    // The snapshot before still reads: its files are still there.
    for (const f of a) expect(await s3.head('s', f.path.slice('s3://s/'.length))).toBeDefined();
  });

  it('without a WHERE, bin-packs every partition; a table already compact commits nothing', async () => {
    const before = metadataLocation();
    await run('OPTIMIZE "lake"."orders" REWRITE DATA USING BIN_PACK');
    const after = await snapshot();
    expect(after.parent).toBe(before);
    expect([A, B, C].map((dt) => filesOf(after, dt).length)).toEqual([1, 1, 1]);
    expect(filesOf(after, C)[0].rows).toBe(6);

    const compact = metadataLocation();
    const keys = await s3.keys('s');
    await run('OPTIMIZE "orders" REWRITE DATA USING BIN_PACK;');
    expect(metadataLocation()).toBe(compact);
    expect(await s3.keys('s')).toEqual(keys);
  });

  it('VACUUM deletes the files compacted away once no snapshot it keeps lists them', async () => {
    await writeFiles([...(await snapshot()).files, ...(await smallFiles(A, 5, 'x'))]);
    await run(`OPTIMIZE "orders" REWRITE DATA USING BIN_PACK WHERE "dt" IN ('${A}')`);
    const optimized = await snapshot();
    const parent = await readSnapshot(s3.client, optimized.parent as string);
    const compactedAway = parent.files.filter((f) => !optimized.files.some((g) => g.path === f.path));
    expect(compactedAway).toHaveLength(6);
    const rows = (await read()).rows;

    // Right after the OPTIMIZE, its parent (a reader may still be on it) keeps them.
    await run('VACUUM "orders"');
    for (const f of compactedAway) expect(await s3.head('s', f.path.slice('s3://s/'.length))).toBeDefined();
    // The next commit makes the OPTIMIZE the parent: the next VACUUM deletes them.
    await writeFiles([
      ...optimized.files,
      await dataFile('2026-01-04', [['d1', '1.00', '2026-01-04 00:00:00', '2026-01-04']]),
    ]);
    await run('VACUUM "orders"');
    for (const f of compactedAway) expect(await s3.head('s', f.path.slice('s3://s/'.length))).toBeUndefined();
    const current = await snapshot();
    const kept = [metadataLocation(), current.parent, ...current.files.map((f) => f.path)];
    const left = (await s3.keys('s', '_current/retail/orders/')).map((k) => `s3://s/${k}`);
    expect(left.sort()).toEqual([...new Set([...kept, ...optimized.files.map((f) => f.path)])].sort());
    expect((await read()).rows.filter((r) => r.order_id !== 'd1')).toEqual(rows);
  });

  it('fails with ICEBERG_COMMIT_ERROR when another commit lands between its start and its commit, leaving nothing behind', async () => {
    await writeFiles([...(await snapshot()).files, ...(await smallFiles(B, 4, 'y'))]);
    // A MERGE's snapshot, written, to commit while the OPTIMIZE runs.
    const merge = await writeFiles(
      [...(await snapshot()).files, await dataFile(C, [['z1', '2.00', `${C} 00:00:00`, C]])],
      false,
    );
    const pinned = metadataLocation();
    const keys = await s3.keys('s');

    const optimizing = run(`OPTIMIZE "orders" REWRITE DATA USING BIN_PACK WHERE "dt" IN ('${B}')`);
    catalog.commitIcebergMetadata('lake', 'orders', pinned, merge);
    const failure = await optimizing.catch((e) => e);
    expect(failure).toBeInstanceOf(AthenaTaskFailed);
    expect(failure.reason).toMatch(
      /^ICEBERG_COMMIT_ERROR: Failed to commit Iceberg update to table: lake\.orders: /,
    );
    expect(JSON.parse(failure.message).QueryExecution).toMatchObject({
      SubstatementType: 'OPTIMIZE',
      Status: { State: 'FAILED' },
    });
    expect(metadataLocation()).toBe(merge);
    expect(await s3.keys('s')).toEqual(keys); // what the OPTIMIZE wrote is deleted
    // Run again, it commits over the MERGE.
    await run(`OPTIMIZE "orders" REWRITE DATA USING BIN_PACK WHERE "dt" IN ('${B}')`);
    expect((await snapshot()).parent).toBe(merge);
    expect(filesOf(await snapshot(), B)).toHaveLength(1);
  });

  it('refuses, like Athena, a WHERE on a column that is not a partition column, and WHERE forms not emulated', async () => {
    const other = await run(`OPTIMIZE "orders" REWRITE DATA USING BIN_PACK WHERE "order_id" IN ('a1')`).catch(
      (e) => e,
    );
    expect(other.reason).toMatch(
      /only partition columns \(dt\) may appear in the WHERE clause, not 'order_id'/,
    );
    const range = await run(`OPTIMIZE "orders" REWRITE DATA USING BIN_PACK WHERE "dt" >= '${A}'`).catch(
      (e) => e,
    );
    expect(range.reason).toMatch(/only `<partition column> IN \('<value>', \.\.\.\)` .* is emulated locally/);
    const hive = await run('OPTIMIZE "orders_history" REWRITE DATA USING BIN_PACK').catch((e) => e);
    expect(hive.reason).toMatch(/^NOT_SUPPORTED: OPTIMIZE is only supported for Iceberg tables/);
  });
});

describe('maintenance statements', () => {
  it('are read with their table and the partitions of the WHERE (the planner writes `"dt" IN (...)`)', () => {
    expect(isMaintenanceStatement('-- compact\n  optimize orders rewrite data using bin_pack')).toBe(true);
    expect(isMaintenanceStatement('SELECT 1 -- VACUUM orders')).toBe(false);
    expect(
      parseMaintenance(
        `OPTIMIZE "items" REWRITE DATA USING BIN_PACK WHERE "dt" IN ('2026-12-01', 'it''s')`,
        'lake',
      ),
    ).toEqual({
      kind: 'OPTIMIZE',
      database: 'lake',
      table: 'items',
      where: { column: 'dt', values: ['2026-12-01', "it's"] },
    });
    expect(
      parseMaintenance(`optimize Lake.Items rewrite data using bin_pack where DT = '2026-12-01';`, undefined),
    ).toEqual({
      kind: 'OPTIMIZE',
      database: 'lake',
      table: 'items',
      where: { column: 'dt', values: ['2026-12-01'] },
    });
    expect(parseMaintenance('VACUUM "items"', 'lake')).toEqual({
      kind: 'VACUUM',
      database: 'lake',
      table: 'items',
    });
    expect(() => parseMaintenance('VACUUM items RETAIN 5', 'lake')).toThrow(/are emulated locally/);
  });
});

describe('bin-packing', () => {
  const MB = 1024 * 1024;
  const file = (dt: string, mb: number, name: string): IcebergDataFile => ({
    path: `s3://s/t/data/dt=${dt}/${name}.parquet`,
    partition: { dt },
    rows: 1,
    bytes: mb * MB,
  });
  const snapshotOf = (files: IcebergDataFile[]): IcebergSnapshot => ({
    format: 'medallion-local-iceberg',
    sequence: 1,
    parent: null,
    committedAt: '2026-01-01T00:00:00Z',
    partitionColumns: ['dt'],
    files,
  });

  it('groups each partition’s files, largest first, into bins of at most the target size; bins of one file stay', () => {
    const files = [
      file(A, 100, 'a100'),
      file(A, 300, 'a300'),
      file(A, 50, 'a50'),
      file(A, 200, 'a200'),
      file(A, TARGET_FILE_BYTES / MB, 'a-full'),
      file(B, 1, 'b1'),
      file(C, 1, 'c1'),
      file(C, 2, 'c2'),
    ];
    const groups = binPack(snapshotOf(files), ['dt'], () => true);
    const names = groups.map((g) => g.map((f) => f.path.replace(/.*\/|\.parquet/g, '')));
    expect(names).toEqual([
      ['a300', 'a200'],
      ['a100', 'a50'],
      ['c2', 'c1'],
    ]);
    expect(binPack(snapshotOf(files), ['dt'], (f) => f.partition.dt === B)).toEqual([]);
  });
});
