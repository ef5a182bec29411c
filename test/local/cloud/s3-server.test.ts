import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createS3Client } from '../../../lambdas/aws/s3';
import { LocalS3Server, localS3Env } from '../../../local/cloud/s3-server';

describe('LocalS3Server', () => {
  const server = new LocalS3Server();
  let directory: string;
  let endpoint: string;
  let port: number;
  let s3: S3Client;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'medallion-s3-server-'));
    ({ endpoint, port } = await server.start({ directory, buckets: ['alpha', 'beta'] }));
    s3 = createS3Client(localS3Env(endpoint));
  });

  afterAll(async () => {
    s3.destroy();
    await server.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  const read = async (bucket: string, key: string) => {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await (out.Body?.transformToByteArray() ?? new Uint8Array()));
  };

  it('listens on the loopback address at the port it reports, with the requested buckets', async () => {
    expect(port).toBeGreaterThan(0);
    expect(endpoint).toBe(`http://127.0.0.1:${port}`);
    const { Buckets } = await s3.send(new ListBucketsCommand({}));
    expect(Buckets?.map((b) => b.Name).sort()).toEqual(['alpha', 'beta']);
  });

  it('refuses to start twice', async () => {
    await expect(server.start({ directory, buckets: [] })).rejects.toThrow('already started');
  });

  it('stores a streamed PutObject byte for byte (no aws-chunked framing) with the localS3Env settings', async () => {
    const bytes = randomBytes(300_000);
    await s3.send(
      new PutObjectCommand({
        Bucket: 'alpha',
        Key: 'stream.bin',
        Body: Readable.from([bytes]),
        ContentLength: bytes.length,
      }),
    );
    expect((await read('alpha', 'stream.bin')).equals(bytes)).toBe(true);
  });

  it('stores a stream of unknown length uploaded in parts byte for byte', async () => {
    const bytes = randomBytes(6 * 1024 * 1024 + 123);
    const chunks = [bytes.subarray(0, 1_000_000), bytes.subarray(1_000_000)];
    await new Upload({
      client: s3,
      params: { Bucket: 'alpha', Key: 'multipart.bin', Body: Readable.from(chunks) },
    }).done();
    expect((await read('alpha', 'multipart.bin')).equals(bytes)).toBe(true);
  });

  it.each([
    'plus+sign.csv',
    'with space.csv',
    'percent%2B literal.csv',
    'accents é ü 日本.csv',
    'query?hash#amp&eq=.csv',
  ])('copies %j when the copy source is URL-encoded as S3 requires', async (name) => {
    const key = `dir/${name}`;
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: name }));
    const copySource = `alpha/${key.split('/').map(encodeURIComponent).join('/')}`;
    await s3.send(new CopyObjectCommand({ Bucket: 'beta', Key: key, CopySource: copySource }));
    expect((await read('beta', key)).toString()).toBe(name);
  });

  it('lists as common prefixes the directories whose objects all lie deeper, as S3 does', async () => {
    for (const key of [
      'm/v=run1/0/d=2026-01-01/part-0.parquet',
      'm/v=run2/1/d=2026-01-02/part-0.parquet',
      'm/_state.json',
    ])
      await s3.send(new PutObjectCommand({ Bucket: 'beta', Key: key, Body: 'x' }));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'beta', Prefix: 'm/', Delimiter: '/' }));
    expect(listed.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['m/v=run1/', 'm/v=run2/']);
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['m/_state.json']);
    const after = await s3.send(
      new ListObjectsV2Command({ Bucket: 'beta', Prefix: 'm/', Delimiter: '/', StartAfter: 'm/v=run1/' }),
    );
    expect(after.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['m/v=run2/']);
  });
});

describe('LocalS3Server.stop', () => {
  it('closes the port so nothing answers there any more', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'medallion-s3-server-'));
    const server = new LocalS3Server();
    try {
      const { endpoint } = await server.start({ directory, buckets: ['gamma'] });
      expect((await fetch(`${endpoint}/`)).status).toBeGreaterThan(0);
      await server.stop();
      await expect(fetch(`${endpoint}/`)).rejects.toThrow();
    } finally {
      await server.stop();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('localS3Env', () => {
  it('names the endpoint, a region, the S3RVER credentials and checksums only when required', () => {
    expect(localS3Env('http://127.0.0.1:1234')).toEqual({
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1234',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    });
  });
});
