import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { LakeStorage, type LakeStorageProps } from '../../lib/lake-storage';
import { testContext } from '../support/cdk';

function synth(props?: LakeStorageProps): Template {
  const app = new App({ context: testContext() });
  const stack = new Stack(app, 'Test');
  new LakeStorage(stack, 'Storage', props);
  return Template.fromStack(stack);
}

const DATA = ['Landing', 'Bronze', 'Silver', 'Gold', 'Quarantine', 'AthenaResults'];
const ALL = [...DATA, 'AccessLogs'];

/** Logical ids of the buckets, by construct id (`StorageBronze0211E09C` -> Bronze). */
function bucketIds(t: Template): Record<string, string> {
  const out: Record<string, string> = {};
  for (const id of Object.keys(t.findResources('AWS::S3::Bucket'))) {
    const name = ALL.find((n) => new RegExp(`^Storage${n}[0-9A-F]{8}$`).test(id));
    if (name) out[name] = id;
  }
  return out;
}

describe('LakeStorage defaults', () => {
  const t = synth();
  const ids = bucketIds(t);
  const bucket = (name: string) => t.findResources('AWS::S3::Bucket')[ids[name]];
  const rules = (name: string) =>
    bucket(name).Properties.LifecycleConfiguration.Rules as Record<string, unknown>[];
  const keyId = Object.keys(t.findResources('AWS::KMS::Key'))[0];

  test('seven buckets, one KMS key with rotation', () => {
    t.resourceCountIs('AWS::S3::Bucket', 7);
    expect(Object.keys(ids).sort()).toEqual([...ALL].sort());
    t.resourceCountIs('AWS::KMS::Key', 1);
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test.each(DATA)('%s is encrypted with the lake key (bucket key on)', (name) => {
    expect(bucket(name).Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: 'aws:kms',
            KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] },
          },
        },
      ],
    });
  });

  test('the access-logs bucket uses S3-managed keys (log delivery cannot use a KMS key)', () => {
    expect(bucket('AccessLogs').Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
  });

  test.each(ALL)('%s: versioned, public access blocked, ACLs disabled, retained', (name) => {
    const b = bucket(name);
    expect(b.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(b.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(b.DeletionPolicy).toBe('Retain');
    expect(b.UpdateReplacePolicy).toBe('Retain');
  });

  test.each(ALL)('%s refuses requests without TLS 1.2', (name) => {
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ids[name] },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
          }),
        ]),
      },
    });
  });

  test.each(DATA)('%s logs its requests to the access-logs bucket under its own prefix', (name) => {
    const prefix = {
      Landing: 'landing/',
      Bronze: 'bronze/',
      Silver: 'silver/',
      Gold: 'gold/',
      Quarantine: 'quarantine/',
      AthenaResults: 'athena-results/',
    }[name];
    expect(bucket(name).Properties.LoggingConfiguration).toMatchObject({
      DestinationBucketName: { Ref: ids.AccessLogs },
      LogFilePrefix: prefix,
    });
  });

  test('log delivery is granted by bucket policy on the access-logs bucket (ACLs are disabled)', () => {
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ids.AccessLogs },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 's3:PutObject', Principal: { Service: 'logging.s3.amazonaws.com' } }),
        ]),
      },
    });
    expect(bucket('AccessLogs').Properties.LoggingConfiguration).toBeUndefined();
  });

  test.each(ALL)('%s expires noncurrent versions and aborts incomplete uploads after 7 days', (name) => {
    expect(rules(name)).toContainEqual(
      expect.objectContaining({
        NoncurrentVersionExpiration: { NoncurrentDays: 30 },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
        Status: 'Enabled',
      }),
    );
  });

  test('bronze tiers down to STANDARD_IA at 30 days then GLACIER_IR at 90, and never expires', () => {
    expect(rules('Bronze')).toContainEqual(
      expect.objectContaining({
        Transitions: [
          { StorageClass: 'STANDARD_IA', TransitionInDays: 30 },
          { StorageClass: 'GLACIER_IR', TransitionInDays: 90 },
        ],
      }),
    );
    expect(rules('Bronze').some((r) => 'ExpirationInDays' in r)).toBe(false);
    expect(rules('Bronze')).toContainEqual(expect.objectContaining({ ExpiredObjectDeleteMarker: true }));
    expect(bucket('Bronze').Properties.ObjectLockEnabled).toBeUndefined();
  });

  test.each([
    ['Landing', 14],
    ['Quarantine', 90],
    ['AthenaResults', 30],
    ['AccessLogs', 365],
  ])('%s expires current objects after %i days', (name, days) => {
    expect(rules(name)).toContainEqual(expect.objectContaining({ ExpirationInDays: days }));
  });

  test('Gold keeps current objects', () => {
    expect(rules('Gold').some((r) => 'ExpirationInDays' in r)).toBe(false);
  });

  test('Silver without arrival prefixes keeps its data; only the commit log expires, after COMMIT_LOG_RETENTION_DAYS (30)', () => {
    const expiring = rules('Silver').filter((r) => 'ExpirationInDays' in r);
    expect(expiring).toEqual([
      expect.objectContaining({
        Id: 'expire-commit-log',
        Prefix: '_commits/',
        ExpirationInDays: 30,
        Status: 'Enabled',
      }),
    ]);
  });

  test('the key and nothing else is retained on delete; no auto-delete function', () => {
    t.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    t.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  test('buckets are tagged with their layer', () => {
    expect(bucket('Bronze').Properties.Tags).toContainEqual({ Key: 'layer', Value: 'bronze' });
    expect(bucket('AccessLogs').Properties.Tags).toContainEqual({ Key: 'layer', Value: 'ops' });
  });
});

describe('silver arrivals expire, one lifecycle rule per dataset prefix', () => {
  const silverRules = (t: Template) =>
    t.findResources('AWS::S3::Bucket')[bucketIds(t).Silver].Properties.LifecycleConfiguration.Rules as Record<
      string,
      unknown
    >[];
  const arrivalRules = (t: Template) =>
    silverRules(t).filter((r) => String(r.Id).startsWith('expire-arrivals-'));

  test('each <domain>/<dataset>/ prefix expires after 30 days by default; nothing else in silver does', () => {
    const t = synth({ silverArrivalPrefixes: ['retail/orders/', 'retail/customers/'] });
    expect(arrivalRules(t)).toEqual([
      {
        Id: 'expire-arrivals-retail-orders',
        Prefix: 'retail/orders/',
        ExpirationInDays: 30,
        Status: 'Enabled',
      },
      {
        Id: 'expire-arrivals-retail-customers',
        Prefix: 'retail/customers/',
        ExpirationInDays: 30,
        Status: 'Enabled',
      },
    ]);
    // The Iceberg tables and the bookkeeping under '_' never expire (the commit log excepted).
    const expiring = silverRules(t).filter((r) => 'ExpirationInDays' in r);
    expect(expiring.map((r) => r.Prefix)).toEqual(['_commits/', 'retail/orders/', 'retail/customers/']);
    t.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Prefix: 'retail/orders/', ExpirationInDays: 30 }),
          Match.objectLike({ Id: 'housekeeping', NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
        ]),
      },
    });
  });

  test('silverArrivalsExpiration sets the days; a prefix given twice gets one rule', () => {
    const t = synth({
      silverArrivalPrefixes: ['retail/orders/', 'retail/orders/'],
      silverArrivalsExpiration: Duration.days(90),
    });
    expect(arrivalRules(t)).toEqual([
      {
        Id: 'expire-arrivals-retail-orders',
        Prefix: 'retail/orders/',
        ExpirationInDays: 90,
        Status: 'Enabled',
      },
    ]);
  });

  test('refuses fewer days than the commit log keeps (the merge reads arrivals it names)', () => {
    expect(() =>
      synth({ silverArrivalPrefixes: ['retail/orders/'], silverArrivalsExpiration: Duration.days(10) }),
    ).toThrow('silverArrivalsExpiration must be at least 30 days');
  });

  test("refuses a prefix that is not '<domain>/' or '<domain>/<dataset>/' (without the '/', retail/orders would match retail/orders2)", () => {
    for (const prefix of ['retail/orders', '_current/retail/orders/', 'retail', '_history/', '']) {
      expect(() => synth({ silverArrivalPrefixes: [prefix] })).toThrow(
        `arrival prefix '${prefix}' must be '<domain>/' or '<domain>/<dataset>/'`,
      );
    }
  });

  test("takes a domain's prefix: one rule for all its datasets (what the platform passes)", () => {
    const t = synth({ silverArrivalPrefixes: ['retail/'], silverArrivalsExpiration: Duration.days(30) });
    expect(arrivalRules(t)).toEqual([
      { Id: 'expire-arrivals-retail', Prefix: 'retail/', ExpirationInDays: 30, Status: 'Enabled' },
    ]);
  });

  test("fails synth beyond S3's 1,000 lifecycle rules per bucket, naming how many datasets fit", () => {
    const prefixes = (n: number) => Array.from({ length: n }, (_, i) => `d/s${i}/`);
    expect(() => synth({ silverArrivalPrefixes: prefixes(998) })).toThrow(
      "998 datasets need 1001 lifecycle rules on the silver bucket (one per dataset expires its arrivals, plus 3 of the bucket's own), over S3's limit of 1000 per bucket: deploy at most 997 datasets per stack",
    );
    expect(silverRules(synth({ silverArrivalPrefixes: prefixes(997) }))).toHaveLength(1000);
  });
});

describe('LakeStorage options', () => {
  test('allowDestroy: buckets and key are destroyed, objects deleted first', () => {
    const t = synth({ allowDestroy: true });
    for (const b of Object.values(t.findResources('AWS::S3::Bucket')))
      expect(b.DeletionPolicy).toBe('Delete');
    t.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete' });
    t.resourceCountIs('Custom::S3AutoDeleteObjects', 7);
  });

  test('bronze Object Lock in governance mode, and custom lifecycle days', () => {
    const t = synth({
      bronzeObjectLockRetention: Duration.days(400),
      bronzeInfrequentAccessAfter: Duration.days(45),
      bronzeGlacierInstantRetrievalAfter: Duration.days(180),
      landingExpiration: Duration.days(3),
    });
    const ids = bucketIds(t);
    const buckets = t.findResources('AWS::S3::Bucket');
    expect(buckets[ids.Bronze].Properties.ObjectLockEnabled).toBe(true);
    expect(buckets[ids.Bronze].Properties.ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 400 } },
    });
    expect(buckets[ids.Silver].Properties.ObjectLockEnabled).toBeUndefined();
    expect(buckets[ids.Bronze].Properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({
        Transitions: [
          { StorageClass: 'STANDARD_IA', TransitionInDays: 45 },
          { StorageClass: 'GLACIER_IR', TransitionInDays: 180 },
        ],
      }),
    );
    expect(buckets[ids.Landing].Properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ ExpirationInDays: 3 }),
    );
  });
});
