import type { DatasetContract } from '../../../core/contracts/dataset-contract';
import {
  bronzeContentIndexKey,
  bronzeExtension,
  bronzeKey,
  currentStateWatermarkKey,
  datasetPrefixes,
  decodeEventKey,
  domainPrefix,
  domainPrefixes,
  encodeEventKey,
  failedReasonPrefix,
  goldModelPrefix,
  goldUnpublishedPrefix,
  goldVersionPrefix,
  idempotencyIndexKey,
  isBookkeepingKey,
  lakeDomains,
  manifestKey,
  partitionValue,
  QUARANTINE_UNKNOWN_PREFIX,
  quarantineFileKey,
  quarantineRowsKey,
  quarantineUnknownKey,
  silverFileKey,
  sourceId,
  unsafeSegmentReason,
} from '../../../core/lake/layout';

const SHA = 'a'.repeat(64);

describe('decodeEventKey', () => {
  it("turns '+' into a space and '%2B' into a literal '+'", () => {
    expect(decodeEventKey('retail/orders/my+file.csv')).toBe('retail/orders/my file.csv');
    expect(decodeEventKey('retail/orders/a%2Bb.csv')).toBe('retail/orders/a+b.csv');
    expect(decodeEventKey('retail/orders/a%2B+b.csv')).toBe('retail/orders/a+ b.csv');
  });

  it('decodes percent-encoded UTF-8: accents, CJK and emoji', () => {
    expect(decodeEventKey('retail/orders/donn%C3%A9es.csv')).toBe('retail/orders/données.csv');
    expect(decodeEventKey('retail/orders/%E6%9D%B1%E4%BA%AC.csv')).toBe('retail/orders/東京.csv');
    expect(decodeEventKey('retail/orders/%F0%9F%8D%A3.csv')).toBe('retail/orders/🍣.csv');
  });

  it('leaves an already plain key unchanged', () => {
    expect(decodeEventKey('retail/orders/orders-2026-11-01.csv')).toBe('retail/orders/orders-2026-11-01.csv');
  });
});

describe('encodeEventKey', () => {
  it("encodes like S3 events: space as '+', '+' as %2B, slashes kept", () => {
    expect(encodeEventKey('retail/orders/my file+v2.csv')).toBe('retail/orders/my+file%2Bv2.csv');
    expect(encodeEventKey("a/(b)!*'.csv")).toBe('a/%28b%29%21%2A%27.csv');
    expect(encodeEventKey('a/données 🍣.csv')).toBe('a/donn%C3%A9es+%F0%9F%8D%A3.csv');
  });

  it('round-trips through decodeEventKey for awkward keys', () => {
    for (const key of [
      'retail/orders/plain.csv',
      'retail/orders/with space.csv',
      'retail/orders/plus+sign.csv',
      'retail/orders/100% done.csv',
      'retail/orders/a%2Bb.csv',
      'retail/orders/données été.csv',
      'retail/orders/東京 🍣 👩‍👩‍👧.csv',
      "retail/orders/(weird)!*'~&=?#.csv",
    ]) {
      expect(decodeEventKey(encodeEventKey(key))).toBe(key);
    }
  });
});

describe('unsafeSegmentReason', () => {
  it.each([
    ['', 'is empty'],
    ['.', 'is a relative path segment'],
    ['..', 'is a relative path segment'],
    ['/x', 'contains a path separator'],
    ['a/b', 'contains a path separator'],
    ['a\\b', 'contains a path separator'],
    ['%2e%2e', 'contains a percent-encoded sequence'],
    ['a%2Fb', 'contains a percent-encoded sequence'],
    ['a\nb', 'contains a control character'],
    ['a\u0000b', 'contains a control character'],
    ['tab\t.csv', 'contains a control character'],
    ['del\u007f', 'contains a control character'],
    ['x'.repeat(256), 'is longer than 255 characters'],
  ])('refuses %j: %s', (name, reason) => {
    expect(unsafeSegmentReason(name)).toBe(reason);
  });

  it.each([
    'orders-2026-11-01.csv',
    'my file (v2).csv',
    'données été.csv',
    '🍣.ndjson',
    '...',
    '.hidden',
    'x'.repeat(255),
  ])('accepts %j', (name) => {
    expect(unsafeSegmentReason(name)).toBeUndefined();
  });
});

describe('bucket layout', () => {
  it('bronzeKey is <domain>/<dataset>/ingest_date=<UTC day>/<sha256>.<ext>', () => {
    // 23:30 in New York on Oct 31 is already Nov 1 in UTC.
    const receivedAt = new Date('2026-10-31T23:30:00-04:00');
    expect(
      bronzeKey({
        domain: 'retail',
        dataset: 'orders',
        receivedAt,
        sha256: SHA,
        extension: bronzeExtension('csv', true),
      }),
    ).toBe(`retail/orders/ingest_date=2026-11-01/${SHA}.csv.gz`);
    expect(bronzeExtension('ndjson', false)).toBe('ndjson');
  });

  it('silver, manifest, quarantine and index keys follow the documented layout', () => {
    expect(silverFileKey('retail', 'orders', '2026-11-01', 'abc')).toBe(
      'retail/orders/dt=2026-11-01/part-abc.parquet',
    );
    expect(manifestKey('retail', 'orders', 'abc')).toBe('_manifests/retail/orders/abc.json');
    expect(quarantineRowsKey('retail', 'orders', 'abc')).toBe('rows/retail/orders/abc.ndjson');
    expect(quarantineFileKey('retail', 'orders', 'abc', 'f.csv')).toBe('files/retail/orders/abc/f.csv');
    expect(quarantineUnknownKey('x/y.csv')).toBe('unknown/x/y.csv');
    expect(bronzeContentIndexKey('retail', 'orders', SHA)).toBe(`_index/sha256/retail/orders/${SHA}`);
    expect(idempotencyIndexKey('retail', 'orders', 'key-1')).toMatch(
      /^_index\/idempotency\/retail\/orders\/[0-9a-f]{64}$/,
    );
    expect(isBookkeepingKey(manifestKey('retail', 'orders', 'abc'))).toBe(true);
    expect(isBookkeepingKey('retail/orders/x.csv')).toBe(false);
  });
});

describe('sourceId', () => {
  it('is 32 hex characters, stable for the same bucket and key', () => {
    const id = sourceId('bronze', `retail/orders/ingest_date=2026-11-01/${SHA}.csv`);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(sourceId('bronze', `retail/orders/ingest_date=2026-11-01/${SHA}.csv`)).toBe(id);
  });

  it('differs per key and per bucket, and a bucket/key split cannot collide', () => {
    const ids = new Set([
      sourceId('bronze', 'retail/orders/a.csv'),
      sourceId('bronze', 'retail/orders/b.csv'),
      sourceId('bronze-2', 'retail/orders/a.csv'),
      sourceId('bronze/retail', 'orders/a.csv'),
      sourceId('bronzeretail', '/orders/a.csv'),
    ]);
    expect(ids.size).toBe(5);
  });
});

describe('partitionValue', () => {
  it('is the ISO day for day granularity and YYYY-MM for month', () => {
    expect(partitionValue('2026-11-03', 'day')).toBe('2026-11-03');
    expect(partitionValue('2026-11-03', 'month')).toBe('2026-11');
    expect(partitionValue('2026-01-31', 'month')).toBe('2026-01');
  });
});

describe('gold keys', () => {
  it('puts every version of a model under its own prefix, the placeholder beside them', () => {
    expect(goldModelPrefix('daily_sales')).toBe('daily_sales/');
    expect(goldVersionPrefix('daily_sales', 'run-1')).toBe('daily_sales/v=run-1/');
    expect(goldUnpublishedPrefix('daily_sales')).toBe('daily_sales/_unpublished/');
    // Step Functions fills the execution name into this placeholder with States.Format.
    expect(goldVersionPrefix('m', '{}')).toBe('m/v={}/');
  });
});

describe('datasetPrefixes (what the grants are scoped to)', () => {
  const contract = { domain: 'retail', dataset: 'orders', id: 'retail/orders' } as DatasetContract;

  it('derives each prefix from the key functions, so a layout change moves the grants with it', () => {
    expect(datasetPrefixes.data(contract)).toBe('retail/orders/');
    expect(datasetPrefixes.silverManifests(contract)).toBe(
      manifestKey('retail', 'orders', 'x').slice(0, -'x.json'.length),
    );
    expect(datasetPrefixes.bronzeContentIndex(contract)).toBe(bronzeContentIndexKey('retail', 'orders', ''));
    for (const prefix of Object.values(datasetPrefixes).map((f) => f(contract)))
      expect(prefix).toMatch(/\/$/);
  });

  it('quarantines unclaimed uploads under unknown/', () => {
    expect(QUARANTINE_UNKNOWN_PREFIX).toBe('unknown/');
  });
});

describe('domainPrefix (what the platform grants, notifies and expires: one prefix per domain)', () => {
  it("cuts every dataset prefix where the dataset's name starts", () => {
    expect(domainPrefix(datasetPrefixes.data, 'retail')).toBe('retail/');
    expect(domainPrefix(datasetPrefixes.silverManifests, 'retail')).toBe('_manifests/retail/');
    expect(domainPrefix(datasetPrefixes.silverCommitLog, 'retail')).toBe('_commits/retail/');
    expect(domainPrefix(datasetPrefixes.bronzeContentIndex, 'retail')).toBe('_index/sha256/retail/');
    // Built from a hashed key (cut at the last '/'), still the domain's.
    expect(domainPrefix(datasetPrefixes.bronzeIdempotencyIndex, 'retail')).toBe('_index/idempotency/retail/');
    expect(domainPrefix((c) => currentStateWatermarkKey(c.domain, c.dataset), 'retail')).toBe(
      '_state/current/retail/',
    );
    expect(domainPrefix((c) => failedReasonPrefix(c.domain, c.dataset), 'retail')).toBe('failed/retail/');
  });

  it('holds every dataset of the domain and nothing of another (domains are identifiers: no "/")', () => {
    const c = { domain: 'retail', dataset: 'orders', id: 'retail/orders' } as DatasetContract;
    for (const prefixOf of Object.values(datasetPrefixes)) {
      const domain = domainPrefix(prefixOf, 'retail');
      expect(prefixOf(c).startsWith(domain)).toBe(true);
      expect(prefixOf({ ...c, domain: 'retail_eu', id: 'retail_eu/orders' }).startsWith(domain)).toBe(false);
    }
  });

  it('refuses a prefix function that does not end with the domain', () => {
    expect(() => domainPrefix(() => 'everything/', 'retail')).toThrow('does not end with its domain');
  });

  it('lakeDomains: each domain once, sorted; domainPrefixes: one per domain', () => {
    const contracts = [{ domain: 'retail' }, { domain: 'finance' }, { domain: 'retail' }];
    expect(lakeDomains(contracts)).toEqual(['finance', 'retail']);
    expect(domainPrefixes(datasetPrefixes.data, lakeDomains(contracts))).toEqual(['finance/', 'retail/']);
  });
});
