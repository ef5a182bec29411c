import { FileRejection } from '../../../core/errors';
import { quarantineFileKey, sourceId } from '../../../core/lake/layout';
import { createLogger, type LogEntry } from '../../../core/telemetry/logger';
import { Attempt } from '../../../lambdas/bronze-to-silver/attempt';
import {
  type FileQuarantineDeps,
  quarantineWholeFile,
} from '../../../lambdas/bronze-to-silver/file-quarantine';
import { withLocalS3 } from '../../support/local-s3';

const BRONZE = 'bronze';
const QUARANTINE = 'quarantine';
const ORDERS = { domain: 'retail', dataset: 'orders' };
const AT = new Date('2026-11-01T12:00:00.000Z');

describe('quarantineWholeFile', () => {
  const s3 = withLocalS3([BRONZE, QUARANTINE]);
  let logged: LogEntry[];
  beforeEach(() => {
    logged = [];
  });
  const deps = (): FileQuarantineDeps => ({
    s3: s3.client,
    quarantineBucket: QUARANTINE,
    now: () => AT,
    logger: createLogger({ sink: (e) => logged.push(e) }),
  });

  it('copies the file byte for byte with its reason in metadata, and writes the reason next to it', async () => {
    const name = 'ventes du jour+1 (été).csv';
    const key = `retail/orders/ingest_date=2026-11-01/${name}`;
    const body = Buffer.from([0x6f, 0x72, 0x64, 0xe9, 0xff, 0x0a]);
    await s3.put(BRONZE, key, body);
    const id = sourceId(BRONZE, key);
    const attempt = new Attempt(undefined);

    await quarantineWholeFile(
      deps(),
      { bucket: BRONZE, key },
      ORDERS,
      id,
      new FileRejection('encoding', 'invalid UTF-8 at byte 3'),
      attempt,
    );

    const copy = quarantineFileKey('retail', 'orders', id, name);
    expect((await s3.get(QUARANTINE, copy))?.equals(body)).toBe(true);
    const head = await s3.head(QUARANTINE, copy);
    expect(head?.Metadata?.reason).toBe('encoding');
    expect(decodeURIComponent(head?.Metadata?.['source-key'] ?? '')).toBe(key);
    expect(JSON.parse((await s3.get(QUARANTINE, `${copy}.reason.json`))?.toString() ?? '')).toEqual({
      reason: 'invalid UTF-8 at byte 3',
      reasonCode: 'encoding',
      sourceBucket: BRONZE,
      sourceKey: key,
      quarantinedAt: AT.toISOString(),
    });
    expect(attempt.written).toEqual([
      { bucket: QUARANTINE, key: copy },
      { bucket: QUARANTINE, key: `${copy}.reason.json` },
    ]);
    expect(logged).toEqual([
      { level: 'WARN', message: 'file quarantined', key, reason: 'invalid UTF-8 at byte 3' },
    ]);
  });

  it('returns a quarantined manifest with no rows and no outputs, naming the version the attempt read', async () => {
    const key = 'retail/orders/ingest_date=2026-11-01/empty.csv';
    await s3.put(BRONZE, key, 'order_id\n');
    const id = sourceId(BRONZE, key);
    const attempt = new Attempt(undefined);
    attempt.read = { versionId: 'v-read', eTag: 'etag-read' };

    const outcome = await quarantineWholeFile(
      deps(),
      { bucket: BRONZE, key, versionId: 'v-event', eTag: 'etag-event' },
      ORDERS,
      id,
      new FileRejection('empty', 'the file is empty'),
      attempt,
    );

    expect(outcome).toEqual({
      manifestVersion: 1,
      status: 'quarantined',
      reason: 'the file is empty',
      reasonCode: 'empty',
      domain: 'retail',
      dataset: 'orders',
      source: { bucket: BRONZE, key, versionId: 'v-read', eTag: 'etag-read' },
      rows: { in: 0, out: 0, quarantined: 0, duplicates: 0 },
      quarantinedByReason: {},
      outputs: [],
      quarantine: { bucket: QUARANTINE, key: quarantineFileKey('retail', 'orders', id, 'empty.csv') },
    });
  });

  it("names the event's version and ETag when the attempt read none", async () => {
    const key = 'retail/orders/ingest_date=2026-11-01/unread.csv';
    await s3.put(BRONZE, key, 'x');

    const outcome = await quarantineWholeFile(
      deps(),
      { bucket: BRONZE, key, versionId: 'v-event', eTag: 'etag-event' },
      ORDERS,
      sourceId(BRONZE, key),
      new FileRejection('format', 'bad'),
      new Attempt(undefined),
    );

    expect(outcome.source).toEqual({ bucket: BRONZE, key, versionId: 'v-event', eTag: 'etag-event' });
  });

  it('writes nothing once its signal is aborted', async () => {
    const key = 'retail/orders/ingest_date=2026-11-01/late.csv';
    await s3.put(BRONZE, key, 'x');
    const id = sourceId(BRONZE, key);
    const attempt = new Attempt(AbortSignal.abort(new Error('out of time')));

    await expect(
      quarantineWholeFile(
        deps(),
        { bucket: BRONZE, key },
        ORDERS,
        id,
        new FileRejection('format', 'bad'),
        attempt,
      ),
    ).rejects.toThrow('out of time');
    expect(await s3.keys(QUARANTINE, `files/retail/orders/${id}/`)).toEqual([]);
    expect(attempt.written).toEqual([]);
  });
});
