import { join } from 'node:path';
import { ContractRegistry } from '../../../core/contracts/load-contracts';
import {
  commitLogKey,
  decodeEventKey,
  failedReasonKey,
  isoDate,
  manifestKey,
  sourceId,
} from '../../../core/lake/layout';
import { objectCreatedEventFor, Reconciler } from '../../../lambdas/reconciler/reconcile';
import { type StrandedObject, StrandedObjectFinder } from '../../../lambdas/reconciler/stranded-objects';
import { withLocalS3 } from '../../support/local-s3';

const BUCKETS = { landing: 'landing', bronze: 'bronze', silver: 'silver', quarantine: 'quarantine' };
const contracts = ContractRegistry.fromDirectory(join(__dirname, '../../../samples/contracts'));
const orders = contracts.byName('orders');
const HOUR = 3_600_000;
// Objects are written now; the scans look from an hour later, so that they are an hour old.
const later = () => new Date(Date.now() + HOUR);
const settings = { landingAfterMs: HOUR / 2, bronzeAfterMs: HOUR / 2, lookbackDays: 3 };

describe('StrandedObjectFinder and Reconciler', () => {
  const s3 = withLocalS3(Object.values(BUCKETS));
  let finder: StrandedObjectFinder;
  beforeAll(() => {
    if (!orders) throw new Error('the sample contracts have no orders');
    finder = new StrandedObjectFinder({ s3: s3.client, buckets: BUCKETS, contracts: [orders] });
  });
  const bronzeKey = (name: string, day = isoDate(new Date())) =>
    `retail/orders/ingest_date=${day}/${name}.csv`;
  const id = (key: string) => sourceId(BUCKETS.bronze, key);

  it('finds uploads older than the threshold in landing, and not younger ones', async () => {
    await s3.put(BUCKETS.landing, 'retail/orders/a b+c.csv', 'x');
    expect((await finder.find(later(), settings)).landing.map((o) => o.key)).toEqual([
      'retail/orders/a b+c.csv',
    ]);
    expect((await finder.find(new Date(), settings)).landing).toEqual([]);
  });

  it('finds bronze objects with neither a commit log entry nor a readable manifest', async () => {
    const committed = bronzeKey('committed');
    const manifested = bronzeKey('manifested');
    const corrupt = bronzeKey('corrupt');
    const lost = bronzeKey('lost');
    const deadLettered = bronzeKey('dead-lettered');
    const old = bronzeKey('old', isoDate(new Date(Date.now() - 10 * 24 * HOUR)));
    for (const key of [committed, manifested, corrupt, lost, deadLettered, old])
      await s3.put(BUCKETS.bronze, key, 'id\n1\n');
    await s3.put(BUCKETS.silver, commitLogKey('retail', 'orders', new Date(), id(committed)), '{}');
    await s3.put(
      BUCKETS.silver,
      manifestKey('retail', 'orders', id(manifested)),
      JSON.stringify(aManifest(manifested)),
    );
    await s3.put(
      BUCKETS.silver,
      manifestKey('retail', 'orders', id(corrupt)),
      `${JSON.stringify(aManifest(corrupt))}}`,
    );
    await s3.put(BUCKETS.quarantine, failedReasonKey('retail', 'orders', id(deadLettered)), '{}');

    const scan = await finder.find(later(), settings);

    // The corrupt manifest reads as absent: its object is transformed again. `old` is before the lookback.
    expect(scan.bronze.map((o) => o.key).sort()).toEqual([corrupt, lost].sort());
    expect(scan.deadLettered).toBe(1);
    expect(scan.scanned.bronze).toBe(5);
  });

  it('leaves out what `pending` says is on its way', async () => {
    const scan = await finder.find(
      later(),
      settings,
      (bucket, key) => bucket === BUCKETS.bronze && key.includes('lost'),
    );
    expect(scan.bronze.map((o) => o.key)).toEqual([bronzeKey('corrupt')]);
  });

  it('re-drives each stranded object through its layer route and reports the ones that failed', async () => {
    const driven: string[] = [];
    const reconciler = new Reconciler(finder, {
      landing: async (o) => void driven.push(`landing:${o.key}`),
      bronze: async (o) => {
        if (o.key.includes('lost')) throw new Error('queue unreachable');
        driven.push(`bronze:${o.key}`);
      },
    });

    const report = await reconciler.run(later(), settings);

    expect(driven.sort()).toEqual([`bronze:${bronzeKey('corrupt')}`, 'landing:retail/orders/a b+c.csv']);
    expect(report.stranded).toBe(3);
    expect(report.failed).toEqual([{ key: `bronze/${bronzeKey('lost')}`, error: 'queue unreachable' }]);
  });

  it("builds the S3 event a lost notification would have carried, dated by the object's own time", () => {
    const o: StrandedObject = {
      layer: 'landing',
      bucket: 'landing',
      key: 'retail/orders/a b+c%.csv',
      lastModified: new Date('2026-01-02T03:04:05Z'),
      size: 12,
      eTag: 'abc',
    };
    const [record] = objectCreatedEventFor(o, 'eu-west-1').Records;
    expect(decodeEventKey(record.s3.object.key)).toBe(o.key);
    expect(record.eventTime).toBe('2026-01-02T03:04:05.000Z');
    expect(record.eventName).toBe('ObjectCreated:Put');
    expect(record.s3.bucket.name).toBe('landing');
  });
});

function aManifest(key: string) {
  return {
    manifestVersion: 1,
    status: 'ok',
    domain: 'retail',
    dataset: 'orders',
    source: { bucket: BUCKETS.bronze, key, eTag: 'e', sha256: 's', storedBytes: 1, bytes: 1, gzip: false },
    rows: { in: 1, out: 1, quarantined: 0, duplicates: 0 },
    quarantinedByReason: {},
    outputs: [],
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    durationsMs: { total: 1 },
    engine: 'duckdb',
  };
}
