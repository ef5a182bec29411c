import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../../lambdas/aws/s3';
import { ObjectCache } from '../../../local/gold/object-cache';
import { withLocalS3 } from '../../support/local-s3';

describe('ObjectCache', () => {
  const s3 = withLocalS3(['b']);
  let dir: string;
  let client: S3Client;
  /** GetObject requests the cache's client sent. */
  let gets: string[];

  beforeAll(() => {
    client = createS3Client(s3.env);
    client.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'GetObjectCommand') gets.push((args.input as { Key: string }).Key);
        return next(args);
      },
      { step: 'initialize' },
    );
  });
  afterAll(() => client.destroy());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-object-cache-'));
    gets = [];
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}-etags`, { recursive: true, force: true });
  });

  /** The listing of one object, as ListObjectsV2 gives it. */
  const listed = async (key: string) => ({ key, etag: (await s3.head('b', key))?.ETag });

  it('keeps objects under <dir>/<bucket>/<key> and returns their paths sorted', async () => {
    await s3.put('b', 't/dt=2026-11-02/x.parquet', 'two');
    await s3.put('b', 't/dt=2026-11-01/x.parquet', 'one');
    const cache = new ObjectCache(client, dir);
    const paths = await cache.fetch('b', [
      await listed('t/dt=2026-11-02/x.parquet'),
      await listed('t/dt=2026-11-01/x.parquet'),
    ]);
    expect(paths).toEqual([
      join(dir, 'b', 't', 'dt=2026-11-01', 'x.parquet'),
      join(dir, 'b', 't', 'dt=2026-11-02', 'x.parquet'),
    ]);
    expect(paths.map((p) => readFileSync(p, 'utf8'))).toEqual(['one', 'two']);
    expect(cache.path('b', 't/dt=2026-11-01/x.parquet')).toBe(paths[0]);
  });

  it('does not fetch again an object cached with the same ETag', async () => {
    await s3.put('b', 'same/a', 'a');
    const cache = new ObjectCache(client, dir);
    const [first] = await cache.fetch('b', [await listed('same/a')]);
    const [second] = await cache.fetch('b', [await listed('same/a')]);
    expect(second).toBe(first);
    expect(gets).toEqual(['same/a']);
  });

  it('fetches again an object whose ETag changed, and one listed without an ETag', async () => {
    await s3.put('b', 'changed/a', 'version 1');
    const cache = new ObjectCache(client, dir);
    await cache.fetch('b', [await listed('changed/a')]);
    await s3.put('b', 'changed/a', 'version 2');
    const [path] = await cache.fetch('b', [await listed('changed/a')]);
    expect(readFileSync(path, 'utf8')).toBe('version 2');
    await cache.fetch('b', [{ key: 'changed/a' }]);
    expect(gets).toEqual(['changed/a', 'changed/a', 'changed/a']);
  });

  it('leaves every reader a complete file when the same objects are fetched at once', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 7);
    const keys = Array.from({ length: 6 }, (_, i) => `busy/part-${i}`);
    for (const key of keys) await s3.put('b', key, body);
    const objects = await Promise.all(keys.map(listed));
    const cache = new ObjectCache(client, dir);
    // Fetches starting a little apart, each read (off the main thread) as soon as it returned, while the
    // others may still be downloading the same objects.
    const reads: Promise<Buffer>[] = [];
    const fetches = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i * 5));
        const paths = await cache.fetch('b', objects);
        for (const p of paths) reads.push(readFile(p));
        return paths;
      }),
    );
    for (const paths of fetches) expect(paths).toHaveLength(keys.length);
    const contents = await Promise.all(reads);
    expect(contents).toHaveLength(5 * keys.length);
    for (const c of contents) expect(c.equals(body)).toBe(true);
    // Each download went to a file of its own, renamed into place: no partial file is left behind.
    expect(readdirSync(dirname(fetches[0][0])).sort()).toEqual(keys.map((k) => k.slice('busy/'.length)));
  });

  it('does not fetch again, in the next run, an object the last run cached with the same ETag', async () => {
    await s3.put('b', 'next/kept', 'kept');
    await s3.put('b', 'next/changed', 'version 1');
    await new ObjectCache(client, dir).fetch('b', [await listed('next/kept'), await listed('next/changed')]);
    await s3.put('b', 'next/changed', 'version 2');
    gets = [];
    const paths = await new ObjectCache(client, dir).fetch('b', [
      await listed('next/kept'),
      await listed('next/changed'),
    ]);
    expect(gets).toEqual(['next/changed']);
    expect(paths.map((p) => readFileSync(p, 'utf8'))).toEqual(['version 2', 'kept']);
  });

  it('fetches again a file whose ETag record is there but whose file is not', async () => {
    await s3.put('b', 'lost/a', 'a');
    const [path] = await new ObjectCache(client, dir).fetch('b', [await listed('lost/a')]);
    rmSync(path);
    gets = [];
    await new ObjectCache(client, dir).fetch('b', [await listed('lost/a')]);
    expect(gets).toEqual(['lost/a']);
  });

  it('prunes what a run did not read, so the cache holds one run of inputs, not every file ever read', async () => {
    for (const key of ['p/old', 'p/read']) await s3.put('b', key, key);
    await new ObjectCache(client, dir).fetch('b', [await listed('p/old'), await listed('p/read')]);
    const run = new ObjectCache(client, dir);
    await run.fetch('b', [await listed('p/read')]);
    expect(run.prune()).toBe(1);
    expect(readdirSync(join(dir, 'b', 'p'))).toEqual(['read']);
    expect(readdirSync(join(`${dir}-etags`, 'b', 'p'))).toEqual(['read']);
    gets = [];
    await new ObjectCache(client, dir).fetch('b', [await listed('p/read'), await listed('p/old')]);
    expect(gets).toEqual(['p/old']);
  });
});
