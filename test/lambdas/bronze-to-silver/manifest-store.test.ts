import { manifestKey } from '../../../core/lake/layout';
import type { Manifest } from '../../../core/lake/manifest';
import { ManifestStore } from '../../../lambdas/bronze-to-silver/manifest-store';
import { withLocalS3 } from '../../support/local-s3';

const SILVER = 'silver';
const QUARANTINE = 'quarantine';
const ORDERS = { domain: 'retail', dataset: 'orders' };

/** A committed manifest with silver outputs at `keys` (partition from the key) and optional row quarantine. */
const manifest = (keys: string[], quarantine?: Manifest['quarantine']): Manifest => ({
  manifestVersion: 1,
  status: 'ok',
  domain: 'retail',
  dataset: 'orders',
  source: { bucket: 'bronze', key: 'retail/orders/ingest_date=2026-11-01/a.csv' },
  rows: { in: keys.length, out: keys.length, quarantined: 0, duplicates: 0 },
  quarantinedByReason: {},
  outputs: keys.map((key) => ({
    key,
    partition: /dt=([^/]+)/.exec(key)?.[1] ?? '',
    rows: 1,
    bytes: 1,
    sha256: 'x',
  })),
  quarantine,
  durationsMs: { total: 1 },
  startedAt: '2026-11-01T10:00:00.000Z',
  finishedAt: '2026-11-01T10:00:01.000Z',
  engine: 'test',
});

describe('ManifestStore', () => {
  const s3 = withLocalS3([SILVER, QUARANTINE]);
  const store = () => new ManifestStore(s3.client, { silverBucket: SILVER, quarantineBucket: QUARANTINE });

  it('reads no manifest and no ETag for a source never committed', async () => {
    expect(await store().read(ORDERS, 'never-committed')).toEqual({
      key: manifestKey('retail', 'orders', 'never-committed'),
      manifest: undefined,
      etag: undefined,
    });
  });

  it('writes the manifest to the silver bucket under its manifest key, and reads it back with its ETag', async () => {
    const m = manifest(['retail/orders/dt=2026-11-01/part-s1.parquet']);
    expect(await store().write(ORDERS, 's1', m, undefined)).toBe(true);

    const key = manifestKey('retail', 'orders', 's1');
    expect(JSON.parse((await s3.get(SILVER, key))?.toString() ?? '')).toEqual(m);
    const read = await store().read(ORDERS, 's1');
    expect(read).toEqual({ key, manifest: m, etag: (await s3.head(SILVER, key))?.ETag });
    expect(read.etag).toMatch(/^"[0-9a-f]{32}"$/);
  });

  it('creates a manifest only if none exists: a second create is refused and changes nothing', async () => {
    const first = manifest(['retail/orders/dt=2026-11-01/part-c1.parquet']);
    expect(await store().write(ORDERS, 'c1', first, undefined)).toBe(true);
    expect(await store().write(ORDERS, 'c1', manifest([]), undefined)).toBe(false);
    expect((await store().read(ORDERS, 'c1')).manifest).toEqual(first);
  });

  it('replaces only the manifest of the ETag it read: a stale ETag is refused and changes nothing', async () => {
    await store().write(ORDERS, 'r1', manifest([]), undefined);
    const { etag } = await store().read(ORDERS, 'r1');
    const second = manifest(['retail/orders/dt=2026-11-02/part-r1.parquet']);
    expect(await store().write(ORDERS, 'r1', second, etag)).toBe(true);
    expect(await store().write(ORDERS, 'r1', manifest([]), etag)).toBe(false);
    expect((await store().read(ORDERS, 'r1')).manifest).toEqual(second);
  });

  it.each([
    ['valid JSON with a trailing brace', 'brace', (m: string) => `${m}}`, /^not JSON/],
    ['cut short', 'cut', (m: string) => m.slice(0, m.length / 2), /^not JSON/],
    ['an empty object', 'empty-object', () => '{}', /^not a manifest: manifestVersion is not 1$/],
    ['blank', 'blank', () => ' \n', /^not JSON/],
    [
      'a list of outputs without row counts',
      'no-rows',
      (m: string) => m.replace(/"rows": 1,/, ''),
      /outputs/,
    ],
  ])(
    'reads a manifest that is %s as none, with the problem and the ETag of the object there',
    async (_, id, spoil, problem) => {
      const key = manifestKey('retail', 'orders', id);
      const good = `${JSON.stringify(manifest(['retail/orders/dt=2026-11-01/part-x.parquet']), null, 2)}\n`;
      await s3.put(SILVER, key, spoil(good));

      const read = await store().read(ORDERS, id);
      expect(read.manifest).toBeUndefined();
      expect(read.problem).toMatch(problem);
      expect(read.etag).toBe((await s3.head(SILVER, key))?.ETag);

      // The next commit replaces it, conditioned on that ETag.
      const fresh = manifest([]);
      expect(await store().write(ORDERS, id, fresh, read.etag)).toBe(true);
      expect(await store().read(ORDERS, id)).toEqual({
        key,
        manifest: fresh,
        etag: (await s3.head(SILVER, key))?.ETag,
      });
    },
  );

  it('deleteStale deletes the outputs the previous manifest lists and the current one does not', async () => {
    const kept = 'retail/orders/dt=2026-11-01/part-s2.parquet';
    const gone = 'retail/orders/dt=2026-11-02/part-s2.parquet';
    const unlisted = 'retail/orders/dt=2026-11-03/part-s2.parquet';
    for (const key of [kept, gone, unlisted]) await s3.put(SILVER, key, 'parquet');

    await store().deleteStale(manifest([kept, gone]), manifest([kept]), undefined);

    expect(await s3.keys(SILVER, 'retail/orders/')).toEqual([kept, unlisted]);
  });

  it('deleteStale deletes the previous quarantined rows from the quarantine bucket when the key is no longer current', async () => {
    const rows = 'rows/retail/orders/s3.ndjson';
    await s3.put(QUARANTINE, rows, '{}\n');

    await store().deleteStale(
      manifest([], { bucket: QUARANTINE, key: rows, rows: 1 }),
      manifest([], undefined),
      undefined,
    );

    expect(await s3.get(QUARANTINE, rows)).toBeUndefined();
  });

  it('deleteStale keeps quarantined rows the current manifest lists, and a whole-file copy (no row count)', async () => {
    const rows = 'rows/retail/orders/s4.ndjson';
    const file = 'files/retail/orders/s4/a.csv';
    await s3.put(QUARANTINE, rows, '{}\n');
    await s3.put(QUARANTINE, file, 'a,b\n');

    await store().deleteStale(
      manifest([], { bucket: QUARANTINE, key: rows, rows: 1 }),
      manifest([], { bucket: QUARANTINE, key: rows, rows: 2 }),
      undefined,
    );
    await store().deleteStale(manifest([], { bucket: QUARANTINE, key: file }), manifest([]), undefined);

    expect(await s3.get(QUARANTINE, rows)).toBeDefined();
    expect(await s3.get(QUARANTINE, file)).toBeDefined();
  });

  it('deleteStale does nothing without a previous manifest, and stops once its signal is aborted', async () => {
    const key = 'retail/orders/dt=2026-11-01/part-s5.parquet';
    await s3.put(SILVER, key, 'parquet');

    await store().deleteStale(undefined, manifest([]), undefined);
    expect(await s3.get(SILVER, key)).toBeDefined();

    await expect(
      store().deleteStale(manifest([key]), manifest([]), AbortSignal.abort(new Error('out of time'))),
    ).rejects.toThrow();
    expect(await s3.get(SILVER, key)).toBeDefined();
  });
});

describe('ManifestStore.logCommit', () => {
  const s3 = withLocalS3([SILVER, QUARANTINE]);
  const store = () => new ManifestStore(s3.client, { silverBucket: SILVER, quarantineBucket: QUARANTINE });

  it('appends one time-ordered entry per commit, naming the bronze key and the partitions written', async () => {
    const m = manifest([
      'retail/orders/dt=2026-11-02/part-a.parquet',
      'retail/orders/dt=2026-11-01/part-a.parquet',
    ]);
    await store().logCommit(ORDERS, 'a', m, new Date('2026-11-01T10:00:02Z'));
    await store().logCommit(ORDERS, 'a', m, new Date('2026-11-01T10:05:00Z'));
    const keys = await s3.keys(SILVER, '_commits/');
    expect(keys).toEqual([
      '_commits/retail/orders/20261101T100002000Z-a.json',
      '_commits/retail/orders/20261101T100500000Z-a.json',
    ]);
    expect(JSON.parse(String(await s3.get(SILVER, keys[0])))).toEqual({
      sourceId: 'a',
      bronzeKey: 'retail/orders/ingest_date=2026-11-01/a.csv',
      partitions: ['2026-11-01', '2026-11-02'],
      rows: 2,
      committedAt: '2026-11-01T10:00:02.000Z',
    });
  });

  it('adds no entry for a commit that wrote no silver file, the first time', async () => {
    await store().logCommit({ domain: 'retail', dataset: 'empty' }, 'b', manifest([]), new Date());
    expect(await s3.keys(SILVER, '_commits/retail/empty/')).toEqual([]);
  });

  it('names the partitions a re-run no longer writes, even when it writes none (the file now quarantined), and marks it a re-run', async () => {
    const before = manifest([
      'retail/gone/dt=2026-11-02/part-c.parquet',
      'retail/gone/dt=2026-11-03/part-c.parquet',
    ]);
    const rerun = manifest(['retail/gone/dt=2026-11-03/part-c.parquet']);
    const ref = { domain: 'retail', dataset: 'gone' };
    await store().logCommit(ref, 'c', rerun, new Date('2026-11-02T10:00:00Z'), undefined, before);
    await store().logCommit(ref, 'c', manifest([]), new Date('2026-11-02T11:00:00Z'), undefined, before);
    const keys = await s3.keys(SILVER, '_commits/retail/gone/');
    const entries = await Promise.all(keys.map(async (k) => JSON.parse(String(await s3.get(SILVER, k)))));
    expect(entries.map((e) => e.partitions)).toEqual([
      ['2026-11-02', '2026-11-03'],
      ['2026-11-02', '2026-11-03'],
    ]);
    // The merge takes back from the current state the versions a re-run retracted.
    expect(entries.map((e) => e.rerun)).toEqual([true, true]);
  });
});
