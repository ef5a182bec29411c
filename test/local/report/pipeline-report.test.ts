import { bronzeContentIndexKey, manifestKey, sourceId } from '../../../core/lake/layout';
import type { Manifest } from '../../../core/lake/manifest';
import type { DeadLetter } from '../../../local/cloud/local-queue';
import {
  buildReport,
  type FileReport,
  pendingFileReport,
  type SettledCloud,
} from '../../../local/report/pipeline-report';
import { withLocalS3 } from '../../support/local-s3';

const BUCKETS = { landing: 'landing', bronze: 'bronze', silver: 'silver', quarantine: 'quarantine' };

/** The bytes of one input file: its bronze object and silver manifest are put by the tests that need them. */
const sha = (n: number) => String(n).repeat(64);
const bronzeKey = (n: number) => `retail/orders/ingest_date=2026-11-01/${sha(n)}.csv`;
const manifestOf = (n: number) => manifestKey('retail', 'orders', sourceId('bronze', bronzeKey(n)));

function pending(n: number, dataset = 'orders', landing: FileReport['landing'] = 'landed'): FileReport {
  return pendingFileReport({
    path: `${dataset}/${n}.csv`,
    domain: 'retail',
    dataset,
    door: 's3',
    bytes: 10,
    sha256: sha(n),
    landing,
  });
}

function manifest(n: number, rows: Manifest['rows'], outputs: Manifest['outputs']): Manifest {
  return {
    manifestVersion: 1,
    status: 'ok',
    domain: 'retail',
    dataset: 'orders',
    source: { bucket: 'bronze', key: bronzeKey(n) },
    rows,
    quarantinedByReason: rows.quarantined ? { 'quantity|min': rows.quarantined } : {},
    outputs,
    durationsMs: {},
    startedAt: '2026-11-01T00:00:00.000Z',
    finishedAt: '2026-11-01T00:00:01.000Z',
    engine: 'duckdb',
  };
}

const output = (partition: string, name: string, rows: number) => ({
  key: `retail/orders/dt=${partition}/${name}.parquet`,
  partition,
  rows,
  bytes: 1,
  sha256: name,
});

describe('buildReport', () => {
  const s3 = withLocalS3(['bronze', 'silver']);
  const cloud = (deadLetters: DeadLetter[] = [], silver = 'silver'): SettledCloud => ({
    s3: s3.client,
    buckets: { ...BUCKETS, silver },
    deadLetters,
  });

  /** Lands file `n` in bronze (its content index pointing at it) and writes its manifest and silver files. */
  async function transformed(n: number, m: Manifest, written = m.outputs): Promise<void> {
    await s3.put('bronze', bronzeContentIndexKey('retail', 'orders', sha(n)), bronzeKey(n));
    await s3.put('silver', manifestOf(n), JSON.stringify(m));
    for (const o of written) await s3.put('silver', o.key, 'parquet');
  }

  it('reads each file from its manifest and sums the files per dataset and in total', async () => {
    await transformed(
      1,
      manifest(1, { in: 10, out: 7, quarantined: 2, duplicates: 1 }, [
        output('2026-11-01', 'a', 4),
        output('2026-11-02', 'b', 3),
      ]),
    );
    await transformed(
      2,
      manifest(2, { in: 5, out: 4, quarantined: 1, duplicates: 0 }, [output('2026-11-01', 'c', 4)]),
    );
    const report = await buildReport(cloud(), [pending(1), pending(2)]);

    expect(report.ok).toBe(true);
    expect(report.files[0]).toMatchObject({
      bronzeKey: bronzeKey(1),
      manifestKey: manifestOf(1),
      status: 'ok',
      rows: { in: 10, out: 7, quarantined: 2, duplicates: 1 },
      quarantinedByReason: { 'quantity|min': 2 },
      partitions: { '2026-11-01': 4, '2026-11-02': 3 },
      conservation: { ok: true, problems: [] },
    });
    expect(report.datasets).toEqual([
      {
        domain: 'retail',
        dataset: 'orders',
        files: 2,
        rows: { in: 15, out: 11, quarantined: 3, duplicates: 1 },
        quarantinedByReason: { 'quantity|min': 3 },
        partitions: { '2026-11-01': 8, '2026-11-02': 3 },
      },
    ]);
    expect(report.totals).toEqual({ files: 2, rows: { in: 15, out: 11, quarantined: 3, duplicates: 1 } });
    expect(report.silverObjects).toEqual(
      [
        manifestOf(1),
        manifestOf(2),
        'retail/orders/dt=2026-11-01/a.parquet',
        'retail/orders/dt=2026-11-01/c.parquet',
        'retail/orders/dt=2026-11-02/b.parquet',
      ].sort(),
    );
    expect(report.deadLetters).toEqual([]);
    expect(report.landingFailures).toEqual([]);
  });

  it('fails a file whose manifest does not add up, or lists silver files that are not there', async () => {
    const m = manifest(3, { in: 9, out: 5, quarantined: 0, duplicates: 0 }, [output('2026-11-03', 'd', 5)]);
    await transformed(3, m, []);
    const report = await buildReport(cloud(), [pending(3)]);
    expect(report.ok).toBe(false);
    expect(report.files[0].conservation.problems).toEqual([
      'in 9 != out 5 + quarantined 0 + duplicates 0',
      'missing from silver: retail/orders/dt=2026-11-03/d.parquet',
    ]);
  });

  it('fails a file that did not land, one that bronze does not hold and one that never reached silver', async () => {
    await s3.put('bronze', bronzeContentIndexKey('retail', 'orders', sha(5)), bronzeKey(5));
    const failed = pending(4);
    failed.landing = 'failed';
    failed.landingError = 'HTTP 413: too large';
    const report = await buildReport(cloud(), [failed, pending(6), pending(5)]);

    expect(report.ok).toBe(false);
    expect(report.files.map((f) => [f.status, f.conservation])).toEqual([
      ['missing', { ok: false, problems: ['the file did not land'] }],
      ['missing', { ok: false, problems: ['no bronze object holds these bytes'] }],
      ['missing', { ok: false, problems: [`no manifest ${manifestOf(5)}: the file never reached silver`] }],
    ]);
    expect(report.files[2].bronzeKey).toBe(bronzeKey(5));
    expect(report.landingFailures).toEqual([{ path: 'orders/4.csv', error: 'HTTP 413: too large' }]);
  });

  it('reports an unreadable manifest as no manifest, with why, and still reports the other files', async () => {
    const good = manifest(7, { in: 2, out: 2, quarantined: 0, duplicates: 0 }, [
      output('2026-11-07', 'g', 2),
    ]);
    await transformed(7, good);
    await transformed(8, manifest(8, { in: 1, out: 1, quarantined: 0, duplicates: 0 }, []));
    await s3.put('silver', manifestOf(8), `${JSON.stringify(manifest(8, good.rows, []))}}`);
    await transformed(9, manifest(9, good.rows, []));
    await s3.put('silver', manifestOf(9), '{}');

    const report = await buildReport(cloud(), [pending(7), pending(8), pending(9)]);

    expect(report.ok).toBe(false);
    expect(report.files.map((f) => [f.status, f.rows.in, f.conservation.ok])).toEqual([
      ['ok', 2, true],
      ['missing', 0, false],
      ['missing', 0, false],
    ]);
    expect(report.files[1].conservation.problems).toEqual([
      expect.stringMatching(
        new RegExp(`^unreadable manifest ${manifestOf(8)} \\(not JSON .*\\): taken as none$`),
      ),
    ]);
    expect(report.files[2].conservation.problems).toEqual([
      `unreadable manifest ${manifestOf(9)} (not a manifest: manifestVersion is not 1): taken as none`,
    ]);
  });

  it('lists the dead-lettered messages with the keys their S3 event names, and fails the run', async () => {
    const event = {
      Records: [{ s3: { object: { key: 'retail/orders/ingest_date%3D2026-11-01/a+b.csv' } } }],
    };
    const dead = (messageId: string, body: string, lastError?: string): DeadLetter => ({
      messageId,
      body,
      receiveCount: 3,
      sentTimestamp: 0,
      deadLetteredAt: 0,
      ...(lastError ? { lastError } : {}),
    });
    const report = await buildReport(
      cloud([dead('m-1', JSON.stringify(event), 'boom'), dead('m-2', 'not json')]),
      [],
    );
    expect(report.ok).toBe(false);
    expect(report.deadLetters).toEqual([
      {
        messageId: 'm-1',
        receiveCount: 3,
        keys: ['retail/orders/ingest_date=2026-11-01/a b.csv'],
        lastError: 'boom',
      },
      { messageId: 'm-2', receiveCount: 3, keys: [] },
    ]);
  });

  it('takes a silver bucket that does not exist as empty', async () => {
    const report = await buildReport(cloud([], 'no-such-bucket'), [pending(6, 'customers', 'failed')]);
    expect(report.silverObjects).toEqual([]);
    expect(report.datasets.map((d) => d.dataset)).toEqual(['customers']);
  });
});

describe('pendingFileReport', () => {
  it('starts a file with nothing counted, no manifest, and conservation not yet shown', () => {
    expect(pending(1)).toEqual({
      path: 'orders/1.csv',
      domain: 'retail',
      dataset: 'orders',
      door: 's3',
      bytes: 10,
      sha256: sha(1),
      landing: 'landed',
      status: 'missing',
      rows: { in: 0, out: 0, quarantined: 0, duplicates: 0 },
      quarantinedByReason: {},
      partitions: {},
      conservation: { ok: false, problems: [] },
    });
  });
});
