import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createS3Client } from '../../../lambdas/aws/s3';
import {
  FAULT_RATE_VARIABLE,
  FAULT_SEED_VARIABLE,
  faultSettingsFromEnv,
  type S3FaultSettings,
} from '../../../local/cloud/s3-fault-injection';
import { LocalS3Server, localS3Env } from '../../../local/cloud/s3-server';

/** A local S3 server started with `faults` in a fresh directory, and an SDK client made as the pipeline's. */
async function startServer(faults?: S3FaultSettings) {
  const directory = mkdtempSync(join(tmpdir(), 'medallion-s3-faults-'));
  const server = new LocalS3Server();
  const { endpoint } = await server.start({ directory, buckets: ['b'], faults });
  const client = createS3Client(localS3Env(endpoint));
  const stop = async () => {
    client.destroy();
    await server.stop();
    rmSync(directory, { recursive: true, force: true });
  };
  return { server, endpoint, client, stop };
}

describe('faultSettingsFromEnv', () => {
  it('is off unless the rate is set to more than 0', () => {
    expect(faultSettingsFromEnv({})).toBeUndefined();
    expect(faultSettingsFromEnv({ [FAULT_RATE_VARIABLE]: '' })).toBeUndefined();
    expect(faultSettingsFromEnv({ [FAULT_RATE_VARIABLE]: '0' })).toBeUndefined();
  });

  it('reads the rate and the optional seed', () => {
    expect(faultSettingsFromEnv({ [FAULT_RATE_VARIABLE]: '0.05' })).toEqual({ rate: 0.05 });
    expect(faultSettingsFromEnv({ [FAULT_RATE_VARIABLE]: ' 1 ', [FAULT_SEED_VARIABLE]: '42' })).toEqual({
      rate: 1,
      seed: 42,
    });
  });

  it('refuses a rate outside [0, 1] or a seed that is not an integer, naming the variable', () => {
    expect(() => faultSettingsFromEnv({ [FAULT_RATE_VARIABLE]: '5%' })).toThrow(FAULT_RATE_VARIABLE);
    expect(() => faultSettingsFromEnv({ [FAULT_RATE_VARIABLE]: '1.5' })).toThrow(FAULT_RATE_VARIABLE);
    expect(() => faultSettingsFromEnv({ [FAULT_RATE_VARIABLE]: '0.1', [FAULT_SEED_VARIABLE]: 'x' })).toThrow(
      FAULT_SEED_VARIABLE,
    );
  });
});

describe('the local S3 server with fault injection', () => {
  it('installs no injector when none is asked for', async () => {
    const saved = process.env[FAULT_RATE_VARIABLE];
    delete process.env[FAULT_RATE_VARIABLE];
    const s = await startServer();
    try {
      expect(s.server.faults).toBeUndefined();
    } finally {
      await s.stop();
      if (saved !== undefined) process.env[FAULT_RATE_VARIABLE] = saved;
    }
  });

  it('answers a failed request as S3 does: 500 InternalError or 503 SlowDown, with an XML error body', async () => {
    const s = await startServer({ rate: 1, seed: 7 });
    try {
      const answers: { status: number; code?: string }[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${s.endpoint}/b/some/key`);
        const body = await res.text();
        answers.push({ status: res.status, code: /<Code>([^<]+)<\/Code>/.exec(body)?.[1] });
        expect(body).toMatch(/^<\?xml .*\?>\n<Error><Code>\w+<\/Code><Message>[^<]+<\/Message>/);
        expect(res.headers.get('x-amz-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      }
      expect(new Set(answers.map((a) => `${a.status} ${a.code}`))).toEqual(
        new Set(['500 InternalError', '503 SlowDown']),
      );
      expect(s.server.faults?.injected).toBe(20);
      expect(s.server.faults?.summary()).toMatch(
        /^local S3 fault injection: 20 of 20 request\(s\) failed \(\d+ InternalError, \d+ SlowDown\)$/,
      );
    } finally {
      await s.stop();
    }
  });

  it('fails 30% of requests, and 200 PutObject/GetObject/HeadObject/ListObjectsV2 calls through createS3Client all succeed, retried by the SDK', async () => {
    // At 30%, a call fails all its 5 attempts once in ~400 (0.3^5): this seed's failures (the same on every
    // run, the calls being sequential) leave every call at least one attempt that succeeds.
    const s = await startServer({ rate: 0.3, seed: 3 });
    const client: S3Client = s.client;
    let retried = 0;
    const count = <T extends { $metadata: { attempts?: number } }>(out: T): T => {
      if ((out.$metadata.attempts ?? 1) > 1) retried++;
      return out;
    };
    try {
      for (let i = 0; i < 50; i++) {
        const Key = `k/${String(i).padStart(3, '0')}`;
        count(await client.send(new PutObjectCommand({ Bucket: 'b', Key, Body: `body ${i}` })));
        const got = count(await client.send(new GetObjectCommand({ Bucket: 'b', Key })));
        expect(await got.Body?.transformToString()).toBe(`body ${i}`);
        count(await client.send(new HeadObjectCommand({ Bucket: 'b', Key })));
        const listed = count(await client.send(new ListObjectsV2Command({ Bucket: 'b', Prefix: 'k/' })));
        expect(listed.KeyCount).toBe(i + 1);
      }
      const faults = s.server.faults;
      expect(faults?.injected).toBeGreaterThan(0);
      expect(faults?.byCode.InternalError).toBeGreaterThan(0);
      expect(faults?.byCode.SlowDown).toBeGreaterThan(0);
      expect(faults?.requests).toBe(200 + (faults?.injected ?? 0));
      expect(retried).toBeGreaterThan(0);
    } finally {
      await s.stop();
    }
  }, 60_000);
});
