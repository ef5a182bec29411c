import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CopyObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { isNotFound, isPreconditionFailed } from '../../../lambdas/aws/s3';
import { objectOf } from '../../../local/cloud/s3-conditional-writes';
import { withLocalS3 } from '../../support/local-s3';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

describe('the local S3 server: conditional and atomic writes', () => {
  const s3 = withLocalS3(['b']);
  const put = (Key: string, Body: string | Buffer, extra: Record<string, string> = {}) =>
    s3.client.send(new PutObjectCommand({ Bucket: 'b', Key, Body, ...extra }));
  const read = async (Key: string) => {
    const out = await s3.client.send(new GetObjectCommand({ Bucket: 'b', Key }));
    return {
      body: Buffer.from(await (out.Body?.transformToByteArray() ?? new Uint8Array())),
      etag: out.ETag,
    };
  };

  it('answers If-None-Match: * with 412 when the key exists, and keeps the object as it was', async () => {
    await put('once/a', 'first', { IfNoneMatch: '*' });
    const again = await settle(put('once/a', 'second', { IfNoneMatch: '*' }));
    expect(again.ok).toBe(false);
    expect(isPreconditionFailed(!again.ok && again.error)).toBe(true);
    expect((await read('once/a')).body.toString()).toBe('first');
  });

  it('creates exactly one of 20 concurrent conditional creates of one key, whole', async () => {
    const bodies = Array.from({ length: 20 }, (_, i) => `body ${i} `.repeat(10_000));
    const results = await Promise.all(bodies.map((b) => settle(put('race/a', b, { IfNoneMatch: '*' }))));
    const won = results.flatMap((r, i) => (r.ok ? [i] : []));
    expect(won).toHaveLength(1);
    for (const r of results) if (!r.ok) expect(isPreconditionFailed(r.error)).toBe(true);
    const { body, etag } = await read('race/a');
    expect(body.toString()).toBe(bodies[won[0]]);
    expect(etag).toBe(`"${md5(body)}"`);
  });

  it('answers If-Match with 412 for another ETag and 404 for a missing key, and writes on a match', async () => {
    await put('match/a', 'v1');
    const { etag } = await read('match/a');
    const stale = await settle(put('match/a', 'v2', { IfMatch: '"0123456789abcdef0123456789abcdef"' }));
    expect(isPreconditionFailed(!stale.ok && stale.error)).toBe(true);
    const missing = await settle(put('match/none', 'v2', { IfMatch: etag as string }));
    expect(isNotFound(!missing.ok && missing.error)).toBe(true);
    await put('match/a', 'v2', { IfMatch: etag as string });
    expect((await read('match/a')).body.toString()).toBe('v2');
  });

  it('refuses a conditional copy onto an existing key', async () => {
    await put('copy/src', 'source');
    await put('copy/dest', 'kept');
    const copy = await settle(
      s3.client.send(
        new CopyObjectCommand({ Bucket: 'b', Key: 'copy/dest', CopySource: 'b/copy/src', IfNoneMatch: '*' }),
      ),
    );
    expect(isPreconditionFailed(!copy.ok && copy.error)).toBe(true);
    expect((await read('copy/dest')).body.toString()).toBe('kept');
  });

  it('never shows a reader half an object or an ETag of other bytes while it is rewritten, nor leaves temporary files', async () => {
    const bodies = Array.from({ length: 12 }, (_, i) => Buffer.alloc(512 * 1024 + i, 65 + i));
    await put('busy/a', bodies[0]);
    const reads: Promise<{ body: Buffer; etag?: string }>[] = [];
    await Promise.all(
      bodies.map(async (b, i) => {
        reads.push(read('busy/a'));
        await put('busy/a', b);
        if (i % 2 === 0) reads.push(read('busy/a'));
      }),
    );
    for (const { body, etag } of await Promise.all(reads)) {
      expect(bodies.some((b) => b.equals(body))).toBe(true);
      expect(etag).toBe(`"${md5(body)}"`);
    }
    expect(readdirSync(join(s3.directory, 'b', 'busy')).filter((f) => f.includes('partial'))).toEqual([]);
    expect(await s3.keys('b', 'busy/')).toEqual(['busy/a']);
  });

  it('reads the bucket and key of path-style requests, decoded', () => {
    expect(objectOf('/b/a%20b/c%2Bd')).toEqual({ bucket: 'b', key: 'a b/c+d' });
    expect(objectOf('/b')).toBeUndefined();
    expect(objectOf('/b/%E0%A4%A')).toBeUndefined();
  });
});
