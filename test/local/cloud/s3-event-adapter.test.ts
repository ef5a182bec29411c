import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CopyObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { decodeEventKey } from '../../../core/lake/layout';
import { createS3Client } from '../../../lambdas/aws/s3';
import {
  nextSequencer,
  normalizeEventName,
  toAwsS3EventRecord,
  toS3Event,
} from '../../../local/cloud/s3-event-adapter';
import {
  type LocalS3Event,
  LocalS3Server,
  localS3Env,
  type S3rverEventRecord,
} from '../../../local/cloud/s3-server';

/** A record shaped exactly like the ones s3rver 3.7 emits. */
function s3rverRecord(
  key: string,
  eventName = 'ObjectCreated:Put',
  extra: Partial<S3rverEventRecord['s3']['object']> = {},
): S3rverEventRecord {
  return {
    eventVersion: '2.0',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: '2026-11-21T09:30:00.000Z',
    eventName,
    userIdentity: { principalId: 'AWS:ABCDEFGHIJKLMNOPQRSTU' },
    requestParameters: { sourceIPAddress: '::ffff:127.0.0.1' },
    responseElements: { 'x-amz-request-id': '0123456789ABCDEF', 'x-amz-id-2': 'aWQy' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'testConfigId',
      bucket: { name: 'my-bucket', ownerIdentity: { principalId: 'OWNER' }, arn: 'arn:aws:s3: : :my-bucket' },
      object: { key, sequencer: '19A1B2C3D4E', size: 42, eTag: '5d41402abc4b2a76b9719d911017c592', ...extra },
    },
  };
}

describe('toAwsS3EventRecord', () => {
  it.each([
    ['plain', 'retail/orders/file.csv', 'retail/orders/file.csv'],
    ['spaces', 'retail/orders/my file 1.csv', 'retail/orders/my+file+1.csv'],
    ['plus', 'retail/orders/a+b.csv', 'retail/orders/a%2Bb.csv'],
    ['percent', 'retail/orders/100%.csv', 'retail/orders/100%25.csv'],
    ['percent sequence', 'retail/orders/a%2Bb.csv', 'retail/orders/a%252Bb.csv'],
    ['non-ASCII', 'retail/orders/café ü 日本.csv', 'retail/orders/caf%C3%A9+%C3%BC+%E6%97%A5%E6%9C%AC.csv'],
    ['emoji', 'retail/orders/🚀 launch.csv', 'retail/orders/%F0%9F%9A%80+launch.csv'],
    ['reserved', "retail/orders/(x)!*'?#&=.csv", 'retail/orders/%28x%29%21%2A%27%3F%23%26%3D.csv'],
  ])('URL-encodes a key with %s like S3 and decodes back to it', (_, key, encoded) => {
    const record = toAwsS3EventRecord(s3rverRecord(key));
    expect(record.s3.object.key).toBe(encoded);
    expect(decodeEventKey(record.s3.object.key)).toBe(key);
  });

  it('produces the S3 (2.1) record shape: version, source, region, ARN, size, ETag, sequencer', () => {
    const record = toAwsS3EventRecord(s3rverRecord('a/b c.csv'), {
      region: 'eu-west-3',
      configurationId: 'landing-uploads',
      sequencer: () => '0055AED6DCD90281E5',
    });
    expect(record).toEqual({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'eu-west-3',
      eventTime: '2026-11-21T09:30:00.000Z',
      eventName: 'ObjectCreated:Put',
      userIdentity: { principalId: 'AWS:ABCDEFGHIJKLMNOPQRSTU' },
      requestParameters: { sourceIPAddress: '127.0.0.1' },
      responseElements: { 'x-amz-request-id': '0123456789ABCDEF', 'x-amz-id-2': 'aWQy' },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'landing-uploads',
        bucket: { name: 'my-bucket', ownerIdentity: { principalId: 'OWNER' }, arn: 'arn:aws:s3:::my-bucket' },
        object: {
          key: 'a/b+c.csv',
          size: 42,
          eTag: '5d41402abc4b2a76b9719d911017c592',
          sequencer: '0055AED6DCD90281E5',
        },
      },
    });
  });

  it('names a multipart completion CompleteMultipartUpload, not Post', () => {
    expect(toAwsS3EventRecord(s3rverRecord('k', 'ObjectCreated:Post')).eventName).toBe(
      'ObjectCreated:CompleteMultipartUpload',
    );
    expect(
      toAwsS3EventRecord(s3rverRecord('k', 'ObjectCreated:Post'), { operation: 'CompleteMultipartUpload' })
        .eventName,
    ).toBe('ObjectCreated:CompleteMultipartUpload');
  });

  it('keeps Post for a browser form upload, when the operation says so', () => {
    expect(normalizeEventName('ObjectCreated:Post', 'PostObject')).toBe('ObjectCreated:Post');
  });

  it('keeps Put, Copy and Delete, and takes the name from the operation when known', () => {
    expect(normalizeEventName('ObjectCreated:Put')).toBe('ObjectCreated:Put');
    expect(normalizeEventName('ObjectCreated:Copy')).toBe('ObjectCreated:Copy');
    expect(normalizeEventName('ObjectRemoved:Delete')).toBe('ObjectRemoved:Delete');
    expect(normalizeEventName('ObjectCreated:Put', 'CopyObject')).toBe('ObjectCreated:Copy');
  });

  it('fills the ETag of a copy from the options, unquoted', () => {
    const raw = s3rverRecord('k', 'ObjectCreated:Copy', { eTag: undefined });
    expect(toAwsS3EventRecord(raw, { eTag: '"abc123"' }).s3.object.eTag).toBe('abc123');
  });

  it('gives removals neither size nor ETag, as S3 does', () => {
    const raw = s3rverRecord('k', 'ObjectRemoved:Delete', { size: undefined, eTag: undefined });
    const { object } = toAwsS3EventRecord(raw).s3;
    expect(Object.keys(object).sort()).toEqual(['key', 'sequencer']);
  });

  it('wraps records in an S3 event', () => {
    const record = toAwsS3EventRecord(s3rverRecord('k'));
    expect(toS3Event(record)).toEqual({ Records: [record] });
  });
});

describe('nextSequencer', () => {
  it('is fixed-width upper-case hex and strictly increasing, even within one millisecond', () => {
    const values = Array.from({ length: 1000 }, () => nextSequencer());
    for (const v of values) expect(v).toMatch(/^[0-9A-F]{18}$/);
    for (let i = 1; i < values.length; i++) expect(values[i] > values[i - 1]).toBe(true);
  });
});

describe('LocalS3Server events through the adapter', () => {
  const server = new LocalS3Server();
  const events: LocalS3Event[] = [];
  let directory: string;
  let s3: S3Client;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'medallion-adapter-'));
    server.onEvent((e) => events.push(e));
    const { endpoint } = await server.start({ directory, buckets: ['src', 'dst'] });
    s3 = createS3Client(localS3Env(endpoint));
  });

  afterAll(async () => {
    s3.destroy();
    await server.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  beforeEach(() => {
    events.length = 0;
  });

  const keys = [
    'dir/with space.csv',
    'dir/plus+sign.csv',
    'dir/100% sure.csv',
    'dir/é ü 日本.csv',
    'dir/🚀.csv',
  ];

  it.each(keys)('reports a PutObject of %j before the client sees the response, as S3 would', async (key) => {
    const put = s3.send(new PutObjectCommand({ Bucket: 'src', Key: key, Body: 'hello' }));
    const { ETag } = await put;
    expect(events).toHaveLength(1);
    const record = toAwsS3EventRecord(events[0].record, events[0]);
    expect(record.eventName).toBe('ObjectCreated:Put');
    expect(decodeEventKey(record.s3.object.key)).toBe(key);
    expect(record.s3.object.size).toBe(5);
    expect(record.s3.object.eTag).toBe(ETag?.replace(/"/g, ''));
    expect(record.s3.bucket.arn).toBe('arn:aws:s3:::src');
  });

  it.each(keys)('reports a CopyObject of %j with its ETag', async (key) => {
    await s3.send(new PutObjectCommand({ Bucket: 'src', Key: key, Body: 'copied' }));
    events.length = 0;
    const source = `src/${key.split('/').map(encodeURIComponent).join('/')}`;
    const out = await s3.send(new CopyObjectCommand({ Bucket: 'dst', Key: key, CopySource: source }));
    expect(events).toHaveLength(1);
    const record = toAwsS3EventRecord(events[0].record, events[0]);
    expect(record.eventName).toBe('ObjectCreated:Copy');
    expect(record.s3.bucket.name).toBe('dst');
    expect(decodeEventKey(record.s3.object.key)).toBe(key);
    expect(record.s3.object.eTag).toBe(out.CopyObjectResult?.ETag?.replace(/"/g, ''));
  });

  it('reports a multipart upload as CompleteMultipartUpload', async () => {
    const body = Buffer.alloc(5 * 1024 * 1024 + 10, 1);
    await new Upload({
      client: s3,
      params: { Bucket: 'src', Key: 'big file.bin', Body: body },
      partSize: 5 * 1024 * 1024,
    }).done();
    expect(events.map((e) => e.operation)).toEqual(['CompleteMultipartUpload']);
    const record = toAwsS3EventRecord(events[0].record, events[0]);
    expect(record.eventName).toBe('ObjectCreated:CompleteMultipartUpload');
    expect(record.s3.object.key).toBe('big+file.bin');
    expect(record.s3.object.size).toBe(body.length);
  });

  it('reports nothing for a request that failed', async () => {
    await expect(
      s3.send(new CopyObjectCommand({ Bucket: 'dst', Key: 'x', CopySource: 'src/does-not-exist' })),
    ).rejects.toThrow();
    expect(events).toEqual([]);
  });
});
