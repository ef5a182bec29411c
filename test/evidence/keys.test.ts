/**
 * Evidence, keys: object names that need encoding somewhere on their way (S3 event notifications
 * URL-encode keys with '+' for a space, CopyObject's source header is URL-decoded, metadata travels as
 * ASCII headers) are read back exactly, through both doors of the real local cloud.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { isoDate } from '../../core/lake/layout';
import { runQuery } from '../../local/commands/query';
import { post } from '../support/evidence/api-client';
import { recordEvidence, recordManifest } from '../support/evidence/evidence';
import { SAMPLES, withLocalCloud } from '../support/evidence/local-cloud';

const local = withLocalCloud();

/** Names that broke, or could break, a naive encode/decode somewhere between the two doors and silver. */
const AWKWARD_NAMES = [
  'with spaces.csv',
  'plus+sign.csv',
  'hundred 100%.csv',
  'encoded%2Bplus.csv',
  'double %252B and %20.csv',
  'été straße.csv',
  '日本 注文.csv',
  'rocket 🚀 parcel 📦.csv',
  "mixed +%2B é 日本 🚀 (1) [a] {b} 'q' &=?#;.csv",
];

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A clean orders file whose bytes differ per file (identical bytes would land once, by design). */
function ordersCsv(n: number): string {
  const header =
    'order_id,order_ts,updated_at,customer_id,store_id,product_id,quantity,unit_price,currency,status';
  const rows = [1, 2].map(
    (r) =>
      `O-${9000 + n * 10 + r},2026-11-05 10:00:0${r},2026-11-05T09:00:0${r}Z,C001,S1,P001,${r},9.99,EUR,placed`,
  );
  return `${header}\n${rows.join('\n')}\n`;
}

/** A clean customers NDJSON body, distinct per file. */
function customersNdjson(n: number): string {
  return `${JSON.stringify({
    customer_id: `K${n}`,
    email: `k${n}@example.com`,
    full_name: 'Kim',
    country: 'FR',
    signup_date: '2026-01-15',
    updated_at: '2026-11-05T09:00:00Z',
  })}\n`;
}

describe('scenario 11: keys with spaces, +, %, %2B, non-ASCII letters and emoji are read correctly through both doors', () => {
  it('S3 door: each upload lands under its original name, is transformed, and silver points at the exact bronze key', async () => {
    const { cloud } = local;
    const uploads = AWKWARD_NAMES.map((name, n) => ({
      key: `retail/orders/${name}`,
      name,
      body: ordersCsv(n),
    }));
    for (const u of uploads) {
      await cloud.s3.send(new PutObjectCommand({ Bucket: cloud.buckets.landing, Key: u.key, Body: u.body }));
    }
    await cloud.whenIdle();

    expect(local.events['landing-failed']).toEqual([]);
    expect(local.events['dead-lettered']).toEqual([]);
    // The landing function was told each key exactly (decoded from the event), and deleted each upload.
    expect(local.events.landed.map((e) => e.key).sort()).toEqual(uploads.map((u) => u.key).sort());
    expect(await local.keys(cloud.buckets.landing)).toEqual([]);

    const today = isoDate(new Date());
    const bronzeKeys = uploads.map((u) => `retail/orders/ingest_date=${today}/${sha256(u.body)}.csv`);
    expect((await local.bronzeObjects()).filter((k) => k.startsWith('retail/orders/'))).toEqual(
      [...bronzeKeys].sort(),
    );
    let read = 0;
    for (const [i, u] of uploads.entries()) {
      const meta = await local.metadata(cloud.buckets.bronze, bronzeKeys[i]);
      expect(meta.source).toBe('s3-upload');
      expect(decodeURIComponent(meta['original-name'])).toBe(u.name);
      const manifest = await local.manifest(bronzeKeys[i]);
      recordManifest(11, manifest);
      expect(manifest.status).toBe('ok');
      expect(manifest.source.key).toBe(bronzeKeys[i]);
      expect(manifest.rows).toEqual({ in: 2, out: 2, quarantined: 0, duplicates: 0 });
      read++;
    }
    expect(local.events.transformed.map((t) => t.key).sort()).toEqual([...bronzeKeys].sort());

    // Silver's lineage column holds each bronze key exactly, with that file's rows.
    const silver = await runQuery(
      'SELECT _bronze_key AS k, count(*)::INTEGER AS n FROM orders_arrivals GROUP BY 1 ORDER BY 1',
      { stateDir: local.stateDir, contractsDir: `${SAMPLES}/contracts` },
    );
    expect(silver.rows).toEqual([...bronzeKeys].sort().map((k) => ({ k, n: 2 })));
    recordEvidence({ kind: 'keys', scenario: 11, tried: uploads.length, read });
  });

  it('S3 door: an awkward key for no known dataset is quarantined under exactly unknown/<key>', async () => {
    const { cloud } = local;
    const key = 'retail/nope/été 🚀 +%2B 100%.csv';
    await cloud.s3.send(
      new PutObjectCommand({ Bucket: cloud.buckets.landing, Key: key, Body: 'a,b\n1,2\n' }),
    );
    await cloud.whenIdle();
    expect(await local.keys(cloud.buckets.quarantine, 'unknown/')).toEqual([
      `unknown/${key}`,
      `unknown/${key}.reason.json`,
    ]);
    expect(await local.keys(cloud.buckets.landing)).toEqual([]);
    recordEvidence({ kind: 'keys', scenario: 11, tried: 1, read: 1 });
  });

  it('API door: X-File-Name, percent-encoded as HTTP headers require, is recorded as the exact original name', async () => {
    const { cloud } = local;
    const names = AWKWARD_NAMES.map((n) => n.replace(/\.csv$/, '.ndjson'));
    const bronzeKeys: string[] = [];
    let read = 0;
    for (const [n, name] of names.entries()) {
      const answer = await post(
        cloud.endpoints.api as string,
        '/datasets/customers/records',
        customersNdjson(n),
        {
          'Content-Type': 'application/x-ndjson',
          'X-File-Name': encodeURIComponent(name),
        },
      );
      expect({ name, status: answer.status }).toEqual({ name, status: 202 });
      const bronzeKey = answer.json?.bronzeKey as string;
      bronzeKeys.push(bronzeKey);
      const meta = await local.metadata(cloud.buckets.bronze, bronzeKey);
      expect(meta.source).toBe('api');
      expect(decodeURIComponent(meta['original-name'])).toBe(name);
    }
    await cloud.whenIdle();
    expect(local.events['dead-lettered']).toEqual([]);
    for (const bronzeKey of bronzeKeys) {
      const manifest = await local.manifest(bronzeKey);
      recordManifest(11, manifest);
      expect(manifest.status).toBe('ok');
      expect(manifest.source.key).toBe(bronzeKey);
      expect(manifest.rows).toEqual({ in: 1, out: 1, quarantined: 0, duplicates: 0 });
      read++;
    }
    recordEvidence({ kind: 'keys', scenario: 11, tried: names.length, read });
  });

  it('API door: an X-File-Name that is not valid percent-encoding, or decodes to a path, is refused with 400', async () => {
    const { cloud } = local;
    const before = await local.snapshot();
    const cases: [string, string][] = [
      ['100%.ndjson', 'X-File-Name "100%.ndjson" is not valid percent-encoding (send \'%\' as %25)'],
      ['..%2Fetc%2Fpasswd', 'X-File-Name "..%2Fetc%2Fpasswd" contains a path separator'],
      ['%2e%2e', 'X-File-Name "%2e%2e" is a relative path segment'],
    ];
    for (const [header, message] of cases) {
      const answer = await post(
        cloud.endpoints.api as string,
        '/datasets/customers/records',
        customersNdjson(99),
        {
          'Content-Type': 'application/x-ndjson',
          'X-File-Name': header,
        },
      );
      expect({ status: answer.status, message: answer.json?.message }).toEqual({ status: 400, message });
    }
    expect(await local.snapshot()).toEqual(before);
  });
});
