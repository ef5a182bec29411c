/**
 * Jest helper: one real local S3 server per test file, reached through the real SDK client.
 *
 *   const s3 = withLocalS3(['landing', 'bronze']);
 *   it('...', async () => { await s3.put('landing', 'a/b/c.csv', 'x'); ... });
 *
 * The server starts in `beforeAll` in a fresh temp directory, the `AWS_*` variables from `localS3Env` are
 * set in `process.env` (so code calling `createS3Client()` at import time talks to it: import such code
 * after this `beforeAll` has run), and everything is undone in `afterAll`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createS3Client, isNotFound, listKeys, recoverWhen } from '../../lambdas/aws/s3';
import { LocalS3Server, localS3Env } from '../../local/cloud/s3-server';

export interface LocalS3 {
  readonly endpoint: string;
  readonly directory: string;
  /** The variables `localS3Env` set in `process.env`. */
  readonly env: Record<string, string>;
  readonly client: S3Client;
  put(
    bucket: string,
    key: string,
    body: string | Uint8Array,
    extra?: Partial<PutObjectCommandInput>,
  ): Promise<void>;
  /** The object's bytes, or `undefined` when it does not exist. */
  get(bucket: string, key: string): Promise<Buffer | undefined>;
  head(bucket: string, key: string): Promise<HeadObjectCommandOutput | undefined>;
  /** Every key of the bucket under `prefix`, sorted. */
  keys(bucket: string, prefix?: string): Promise<string[]>;
}

type Started = { server: LocalS3Server; directory: string; endpoint: string; client: S3Client };

export function withLocalS3(buckets: string[]): LocalS3 {
  let started: Started | undefined;
  const saved = new Map<string, string | undefined>();

  beforeAll(async () => {
    const directory = mkdtempSync(join(tmpdir(), 'medallion-s3-'));
    const server = new LocalS3Server();
    const { endpoint } = await server.start({ directory, buckets });
    for (const [name, value] of Object.entries(localS3Env(endpoint))) {
      saved.set(name, process.env[name]);
      process.env[name] = value;
    }
    started = { server, directory, endpoint, client: createS3Client(localS3Env(endpoint)) };
  });

  afterAll(async () => {
    if (!started) return;
    started.client.destroy();
    await started.server.stop();
    rmSync(started.directory, { recursive: true, force: true });
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    started = undefined;
  });

  const state = (): Started => {
    if (!started) throw new Error('withLocalS3: the server only runs inside tests (after beforeAll)');
    return started;
  };

  return {
    get endpoint() {
      return state().endpoint;
    },
    get directory() {
      return state().directory;
    },
    get env() {
      return localS3Env(state().endpoint);
    },
    get client() {
      return state().client;
    },
    async put(bucket, key, body, extra = {}) {
      await state().client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
    },
    get(bucket, key) {
      const get = state()
        .client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
        .then(async (out) => Buffer.from((await out.Body?.transformToByteArray()) ?? []));
      return recoverWhen(get, isNotFound, undefined);
    },
    head(bucket, key) {
      return recoverWhen(
        state().client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })),
        isNotFound,
        undefined,
      );
    },
    keys(bucket, prefix) {
      return listKeys(state().client, bucket, prefix);
    },
  };
}
