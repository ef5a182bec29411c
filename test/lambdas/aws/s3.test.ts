import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../../lambdas/aws/s3';
import { LocalS3Server, localS3Env } from '../../../local/cloud/s3-server';

/** The variables under test, removed from process.env so only the env object passed can supply them. */
const SDK_VARIABLES = Object.keys(localS3Env('http://127.0.0.1:1')).concat([
  'AWS_ENDPOINT_URL',
  'AWS_DEFAULT_REGION',
  'AWS_SESSION_TOKEN',
]);

describe('createS3Client', () => {
  const saved = new Map<string, string | undefined>();
  beforeAll(() => {
    for (const name of SDK_VARIABLES) {
      saved.set(name, process.env[name]);
      delete process.env[name];
    }
  });
  afterAll(() => {
    for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
  });

  it('takes endpoint, region, credentials and checksum settings from the env object it is given', async () => {
    const client = createS3Client({
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9',
      AWS_REGION: 'eu-west-3',
      AWS_ACCESS_KEY_ID: 'AKID',
      AWS_SECRET_ACCESS_KEY: 'SECRET',
      AWS_SESSION_TOKEN: 'TOKEN',
      AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    });
    expect(await client.config.region()).toBe('eu-west-3');
    expect(await client.config.credentials()).toMatchObject({
      accessKeyId: 'AKID',
      secretAccessKey: 'SECRET',
      sessionToken: 'TOKEN',
    });
    expect(await client.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    expect(await client.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
    expect(await client.config.endpoint?.()).toMatchObject({
      hostname: '127.0.0.1',
      port: 9,
      protocol: 'http:',
    });
    expect(client.config.forcePathStyle).toBe(true);
    client.destroy();
  });

  it('leaves endpoint, addressing style and checksums to the SDK defaults when nothing is set', async () => {
    const client = createS3Client({ AWS_REGION: 'us-east-1' });
    expect(client.config.endpoint).toBeUndefined();
    expect(client.config.forcePathStyle).toBe(false);
    expect(await client.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
    client.destroy();
  });

  it('talks to a local S3 server given only the localS3Env object, with nothing in process.env', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'medallion-s3-client-'));
    const server = new LocalS3Server();
    try {
      const { endpoint } = await server.start({ directory, buckets: ['b'] });
      const client = createS3Client(localS3Env(endpoint));
      // A streamed body is what s3rver corrupts (aws-chunked framing stored) unless checksums are off.
      const body = Readable.from([Buffer.from('hello')]);
      await client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k.txt', Body: body, ContentLength: 5 }));
      const out = await client.send(new GetObjectCommand({ Bucket: 'b', Key: 'k.txt' }));
      expect(await out.Body?.transformToString()).toBe('hello');
      client.destroy();
    } finally {
      await server.stop();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
