import { bronzeContentIndexKey, idempotencyIndexKey } from '../../../core/lake/layout';
import { landApiRequest } from '../../../lambdas/landing/api-door';
import { claimIdempotencyKey, idempotentReplay, landOnce } from '../../../lambdas/landing/land-once';
import type { LandingConfig } from '../../../lambdas/landing/landing-config';
import { landS3Object } from '../../../lambdas/landing/s3-door';
import { BRONZE, csvRequest, LANDING, sha256, withLanding } from '../../support/landing-fixture';

describe('landing once, through either door', () => {
  const landing = withLanding();
  const { s3 } = landing;
  let config: LandingConfig;
  beforeAll(() => {
    config = landing.config;
  });

  it('writes a content index marker holding the bronze key, after the bronze object', async () => {
    const body = 'id,day\n2,2026-11-20\n';
    const landed = await landApiRequest(config, csvRequest(body));
    const marker = bronzeContentIndexKey('sales', 'orders', sha256(body));
    expect((await s3.get(BRONZE, marker))?.toString()).toBe(landed.bronzeKey);
    expect((await s3.head(BRONZE, marker))?.Metadata?.sha256).toBe(sha256(body));
  });

  it('answers bytes that landed on an earlier day with the earlier bronze key, writing nothing', async () => {
    const body = 'id,day\n3,2026-11-20\n';
    const first = await landApiRequest(config, csvRequest(body));
    landing.setToday(new Date('2026-11-25T08:00:00Z'));
    const again = await landApiRequest(config, csvRequest(body));

    expect(again).toEqual({ ...first, duplicate: true });
    expect(await s3.keys(BRONZE, 'sales/orders/ingest_date=2026-11-25/')).toEqual([]);
  });

  it('records an Idempotency-Key as a marker whose body is the bronze key and metadata the sha256', async () => {
    const body = 'id,day\n6,2026-11-20\n';
    const landed = await landApiRequest(config, csvRequest(body, { 'Idempotency-Key': 'order-batch-6' }));
    const marker = idempotencyIndexKey('sales', 'orders', 'order-batch-6');
    expect((await s3.get(BRONZE, marker))?.toString()).toBe(landed.bronzeKey);
    expect((await s3.head(BRONZE, marker))?.Metadata?.sha256).toBe(sha256(body));
  });

  it('treats an upload of bytes that already came through the API as a duplicate and clears landing', async () => {
    const body = 'id,day\n8,2026-11-20\n';
    const viaApi = await landApiRequest(config, csvRequest(body));
    await s3.put(LANDING, 'sales/orders/same.csv', body);
    const result = await landS3Object(config, {
      bucket: LANDING,
      key: 'sales/orders/same.csv',
      requestId: 'r',
    });
    expect(result).toEqual({ outcome: 'landed', ...viaApi, duplicate: true });
    expect(await s3.get(LANDING, 'sales/orders/same.csv')).toBeUndefined();
  });

  const orders = () => {
    const contract = config.contracts.byName('orders');
    if (!contract) throw new Error('no contract for orders');
    return contract;
  };
  const content = (sha: string) => ({
    contract: orders(),
    sha256: sha,
    gzip: false,
    receivedAt: new Date('2026-11-22T00:00:00Z'),
  });

  describe('landOnce', () => {
    it('has new content written under its bronze key, then indexed, and calls it new', async () => {
      const sha = sha256('landOnce new');
      const written: string[] = [];
      const landed = await landOnce(config, content(sha), async (key) => {
        written.push(key);
        return true;
      });
      expect(written).toEqual([`sales/orders/ingest_date=2026-11-22/${sha}.csv`]);
      expect(landed).toEqual({ bronzeKey: written[0], sha256: sha, duplicate: false });
      expect((await s3.get(BRONZE, bronzeContentIndexKey('sales', 'orders', sha)))?.toString()).toBe(
        written[0],
      );
    });

    it('calls content a duplicate when the write found its object already there', async () => {
      const sha = sha256('landOnce already written');
      const landed = await landOnce(config, content(sha), async () => false);
      expect(landed.duplicate).toBe(true);
      expect(await s3.get(BRONZE, bronzeContentIndexKey('sales', 'orders', sha))).toBeDefined();
    });

    it('answers content the index knows with its earlier key, writing nothing', async () => {
      const sha = sha256('landOnce indexed');
      const first = await landOnce(config, content(sha), async () => true);
      const write = jest.fn(async () => true);
      const again = await landOnce(
        config,
        { ...content(sha), receivedAt: new Date('2026-12-01T00:00:00Z') },
        write,
      );
      expect(write).not.toHaveBeenCalled();
      expect(again).toEqual({ ...first, duplicate: true });
    });
  });

  describe('Idempotency-Key markers', () => {
    it('find nothing for a key never used, then what the key claimed', async () => {
      const sha = sha256('idempotent');
      expect(await idempotentReplay(config, orders(), 'never-used', sha)).toBeUndefined();
      const key = 'sales/orders/ingest_date=2026-11-22/x.csv';
      expect(await claimIdempotencyKey(config, orders(), 'used-once', sha, key)).toBe(key);
      expect(await idempotentReplay(config, orders(), 'used-once', sha)).toEqual({
        bronzeKey: key,
        sha256: sha,
        duplicate: true,
      });
      // A later claim with the same bytes lands under the first claim's key.
      expect(await claimIdempotencyKey(config, orders(), 'used-once', sha, 'other/key.csv')).toBe(key);
    });

    it('refuse with a 409 a key used again for other bytes, at the claim, before anything is stored', async () => {
      await claimIdempotencyKey(config, orders(), 'reused', sha256('first body'), 'k');
      await expect(idempotentReplay(config, orders(), 'reused', sha256('other body'))).rejects.toMatchObject({
        statusCode: 409,
        message: 'this Idempotency-Key was already used with a different body',
      });
      const write = jest.fn(async () => true);
      await expect(
        landOnce(config, content(sha256('other body')), write, (key) =>
          claimIdempotencyKey(config, orders(), 'reused', sha256('other body'), key),
        ),
      ).rejects.toMatchObject({ statusCode: 409 });
      expect(write).not.toHaveBeenCalled();
    });
  });
});
