import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { ContractRegistry } from '../../../core/contracts/load-contracts';
import { digestStream } from '../../../lambdas/landing/content-digest';
import type { LandingConfig } from '../../../lambdas/landing/landing-config';
import { landS3Object, routeLandingKey } from '../../../lambdas/landing/s3-door';
import {
  BRONZE,
  LANDING,
  QUARANTINE,
  sha256,
  testContracts,
  withLanding,
} from '../../support/landing-fixture';

describe('routeLandingKey', () => {
  let contracts: ContractRegistry;
  beforeAll(() => {
    contracts = testContracts();
  });

  it('routes <domain>/<dataset>/<name> to its contract, keeping the last segment as the name', () => {
    const route = routeLandingKey(contracts, 'sales/orders/2026/11/day one.csv');
    expect(route).toMatchObject({ contract: { id: 'sales/orders' }, name: 'day one.csv' });
  });

  it.each([
    ['sales/orders.csv', 'not <domain>/<dataset>/<file name>'],
    ['sales/orders/', 'not <domain>/<dataset>/<file name>'],
    ['sales/nope/x.csv', "no data contract declares dataset 'nope'"],
    ['web/orders/x.csv', "dataset 'orders' belongs to domain 'sales', not 'web'"],
  ])('gives a reason for %j', (key, reason) => {
    expect(routeLandingKey(contracts, key)).toEqual({ reason: expect.stringContaining(reason) });
  });
});

describe('landS3Object against a local S3 server', () => {
  const landing = withLanding();
  const { s3, logs } = landing;
  let config: LandingConfig;
  beforeAll(() => {
    config = landing.config;
  });

  it('streams a 5 MB upload through the hash in many chunks and copies it to bronze byte for byte', async () => {
    const bytes = randomBytes(5 * 1024 * 1024);
    const key = 'sales/orders/big.csv';
    await s3.put(LANDING, key, bytes);

    // The SDK hands the object over in chunks; the digest consumes them one at a time.
    const chunkSizes: number[] = [];
    const out = await s3.client.send(new GetObjectCommand({ Bucket: LANDING, Key: key }));
    async function* recorded() {
      for await (const chunk of out.Body as AsyncIterable<Uint8Array>) {
        chunkSizes.push(chunk.length);
        yield chunk;
      }
    }
    const digest = await digestStream(recorded());
    expect(digest).toEqual({ sha256: sha256(bytes), bytes: bytes.length, gzip: false });
    expect(chunkSizes.length).toBeGreaterThan(10);
    expect(Math.max(...chunkSizes)).toBeLessThan(1024 * 1024);

    const result = await landS3Object(config, { bucket: LANDING, key, requestId: 's3-req' });
    expect(result).toEqual({
      outcome: 'landed',
      bronzeKey: `sales/orders/ingest_date=2026-11-21/${sha256(bytes)}.csv`,
      sha256: sha256(bytes),
      duplicate: false,
    });
    expect(
      (await s3.get(BRONZE, `sales/orders/ingest_date=2026-11-21/${sha256(bytes)}.csv`))?.equals(bytes),
    ).toBe(true);
    expect(await s3.get(LANDING, key)).toBeUndefined();
    expect(logs).toEqual([
      expect.objectContaining({ source: 's3-upload', bytes: bytes.length, duplicate: false }),
    ]);
  });

  it('dates the bronze key and received-at by the time S3 received the upload', async () => {
    await s3.put(LANDING, 'web/clicks/c.ndjson', '{"id":"c1","day":"2026-11-19"}\n', {
      ContentType: 'application/x-ndjson',
    });
    const receivedAt = new Date('2026-11-19T23:59:59Z');
    const result = await landS3Object(config, {
      bucket: LANDING,
      key: 'web/clicks/c.ndjson',
      requestId: 'r',
      receivedAt,
    });
    if (result.outcome !== 'landed') throw new Error(`not landed: ${result.outcome}`);
    expect(result.bronzeKey).toMatch(/^web\/clicks\/ingest_date=2026-11-19\/[0-9a-f]{64}\.ndjson$/);
    expect((await s3.head(BRONZE, result.bronzeKey))?.Metadata).toMatchObject({
      source: 's3-upload',
      'original-name': 'c.ndjson',
      'received-at': '2026-11-19T23:59:59.000Z',
      'request-id': 'r',
      'content-type': 'application/x-ndjson',
    });
  });

  it('detects a gzip upload by its magic bytes whatever its name', async () => {
    const bytes = gzipSync('id,day\n7,2026-11-20\n');
    await s3.put(LANDING, 'sales/orders/export.csv', bytes);
    const result = await landS3Object(config, {
      bucket: LANDING,
      key: 'sales/orders/export.csv',
      requestId: 'r',
    });
    expect(result).toMatchObject({ outcome: 'landed', bronzeKey: expect.stringMatching(/\.csv\.gz$/) });
  });

  it("carries the upload's expected-rows metadata into bronze (cut to 64 characters: metadata stays within S3's 2 KB)", async () => {
    await s3.put(LANDING, 'sales/orders/counted.csv', 'id,day\n8,2026-11-20\n', {
      Metadata: { 'expected-rows': '1' },
    });
    const counted = await landS3Object(config, {
      bucket: LANDING,
      key: 'sales/orders/counted.csv',
      requestId: 'r',
    });
    if (counted.outcome !== 'landed') throw new Error(counted.outcome);
    expect((await s3.head(BRONZE, counted.bronzeKey))?.Metadata?.['expected-rows']).toBe('1');

    await s3.put(LANDING, 'sales/orders/hostile.csv', 'id,day\n9,2026-11-20\n', {
      Metadata: { 'expected-rows': '9'.repeat(1500) },
    });
    const hostile = await landS3Object(config, {
      bucket: LANDING,
      key: 'sales/orders/hostile.csv',
      requestId: 'r',
    });
    if (hostile.outcome !== 'landed') throw new Error(hostile.outcome);
    // Landed all the same (the transform refuses the count, quarantining the file with the reason).
    expect((await s3.head(BRONZE, hostile.bronzeKey))?.Metadata?.['expected-rows']).toBe('9'.repeat(64));
  });

  it('reports an object that is no longer in landing as gone (a redelivered event) and writes nothing', async () => {
    const before = await s3.keys(BRONZE);
    const result = await landS3Object(config, {
      bucket: LANDING,
      key: 'sales/orders/gone.csv',
      requestId: 'r',
    });
    expect(result).toEqual({ outcome: 'gone' });
    expect(await s3.keys(BRONZE)).toEqual(before);
  });

  it('moves an upload whose domain does not own the dataset to quarantine, with its reason', async () => {
    await s3.put(LANDING, 'web/orders/x.csv', 'id\n1\n');
    const result = await landS3Object(config, { bucket: LANDING, key: 'web/orders/x.csv', requestId: 'r' });

    const reason = "dataset 'orders' belongs to domain 'sales', not 'web'";
    expect(result).toEqual({ outcome: 'quarantined', quarantineKey: 'unknown/web/orders/x.csv', reason });
    expect((await s3.get(QUARANTINE, 'unknown/web/orders/x.csv'))?.toString()).toBe('id\n1\n');
    expect((await s3.head(QUARANTINE, 'unknown/web/orders/x.csv'))?.Metadata?.reason).toBe(reason);
    const why = JSON.parse(
      (await s3.get(QUARANTINE, 'unknown/web/orders/x.csv.reason.json'))?.toString() ?? '',
    );
    expect(why).toEqual({
      reason,
      sourceBucket: LANDING,
      sourceKey: 'web/orders/x.csv',
      receivedAt: '2026-11-21T10:00:00.000Z',
    });
    expect(await s3.get(LANDING, 'web/orders/x.csv')).toBeUndefined();
  });

  it('moves a key that is not <domain>/<dataset>/<name> to quarantine', async () => {
    await s3.put(LANDING, 'stray.csv', 'x');
    const result = await landS3Object(config, { bucket: LANDING, key: 'stray.csv', requestId: 'r' });
    expect(result).toMatchObject({ outcome: 'quarantined', quarantineKey: 'unknown/stray.csv' });
    expect((await s3.get(QUARANTINE, 'unknown/stray.csv'))?.toString()).toBe('x');
    expect(await s3.get(LANDING, 'stray.csv')).toBeUndefined();
  });

  it("copies without the upload's tags (x-amz-tagging-directive REPLACE), so no tagging permission is needed", async () => {
    const directives: (string | undefined)[] = [];
    const name = 'record-tagging-directive';
    config.s3.middlewareStack.add(
      (next) => async (args) => {
        const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
        if (headers['x-amz-copy-source']) directives.push(headers['x-amz-tagging-directive']);
        return next(args);
      },
      { step: 'finalizeRequest', name },
    );
    try {
      const key = 'sales/orders/tagged.csv';
      await s3.put(LANDING, key, 'order_id\n1\n', { Tagging: 'owner=team-a' });
      const unknown = 'nobody/nothing/tagged.csv';
      await s3.put(LANDING, unknown, 'x', { Tagging: 'owner=team-a' });
      expect(await landS3Object(config, { bucket: LANDING, key, requestId: 'r' })).toMatchObject({
        outcome: 'landed',
      });
      expect(await landS3Object(config, { bucket: LANDING, key: unknown, requestId: 'r' })).toMatchObject({
        outcome: 'quarantined',
      });
    } finally {
      config.s3.middlewareStack.remove(name);
    }
    // S3 copies tags by default, which needs s3:GetObjectTagging and s3:PutObjectTagging (not granted).
    expect(directives).toEqual(['REPLACE', 'REPLACE']);
  });
});
