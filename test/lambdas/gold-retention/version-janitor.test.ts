import type { DeleteObjectsCommandInput, DeleteObjectsCommandOutput, S3Client } from '@aws-sdk/client-s3';
import {
  goldIncrementalStateKey,
  goldPublishedRegistryKey,
  goldVersionPrefix,
} from '../../../core/lake/layout';
import { createS3Client } from '../../../lambdas/aws/s3';
import { VersionJanitor } from '../../../lambdas/gold-retention/version-janitor';
import { withLocalS3 } from '../../support/local-s3';

const GOLD = 'gold';

interface Call {
  readonly command: string;
  readonly input: Record<string, unknown>;
}

/**
 * A real client to the local server that records every call; `dropFromDelete` keys are kept out of
 * DeleteObjects requests and reported under the answer's `Errors`, as S3 reports a key it refused
 * (AccessDenied) in a 200 answer.
 */
function recordingClient(
  env: Record<string, string>,
  dropFromDelete: (key: string) => boolean = () => false,
) {
  const client = createS3Client(env);
  const calls: Call[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String((context as { commandName?: string }).commandName).replace(/Command$/, '');
      const input = args.input as Record<string, unknown>;
      calls.push({ command, input });
      if (command !== 'DeleteObjects') return next(args);
      const request = input as unknown as DeleteObjectsCommandInput;
      const objects = request.Delete?.Objects ?? [];
      const refused = objects.filter((o) => o.Key && dropFromDelete(o.Key));
      const sent = {
        ...request,
        Delete: { ...request.Delete, Objects: objects.filter((o) => !refused.includes(o)) },
      };
      const result = await next({ ...args, input: sent });
      const output = result.output as DeleteObjectsCommandOutput;
      if (refused.length > 0) {
        output.Errors = refused.map((o) => ({ Key: o.Key, Code: 'AccessDenied', Message: 'Access Denied' }));
      }
      return result;
    },
    { step: 'initialize', name: 'recordCalls', priority: 'high' },
  );
  return { client, calls };
}

describe('VersionJanitor against the local S3 server', () => {
  const s3 = withLocalS3([GOLD]);
  const clients: S3Client[] = [];
  afterAll(() => {
    for (const client of clients) client.destroy();
  });

  /** A janitor over a recording client (K = 3 unless said otherwise). */
  function janitor(
    options: { versionsKept?: number; listPageSize?: number; refuse?: (key: string) => boolean } = {},
  ) {
    const { client, calls } = recordingClient(s3.env, options.refuse);
    clients.push(client);
    const versionJanitor = new VersionJanitor({
      s3: client,
      goldBucket: GOLD,
      versionsKept: options.versionsKept ?? 3,
      listPageSize: options.listPageSize,
    });
    return { janitor: versionJanitor, calls };
  }

  /** What a gold run leaves under `<model>/v=<version>/`: `files` objects (UNLOAD's output). */
  async function writeVersion(model: string, version: string, files = 2): Promise<void> {
    const prefix = goldVersionPrefix(model, version);
    for (let i = 0; i < files; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, files - i) }, (_, j) =>
          s3.put(GOLD, `${prefix}part-${String(i + j).padStart(5, '0')}.parquet`, 'parquet'),
        ),
      );
    }
  }

  /** The version prefixes (`<model>/v=<version>/`) holding objects. */
  async function versionsOf(model: string): Promise<string[]> {
    const head = `${model}/v=`;
    const prefixes = (await s3.keys(GOLD, head)).flatMap((key) => {
      const end = key.indexOf('/', head.length);
      return end < 0 ? [] : [key.slice(0, end + 1)];
    });
    return [...new Set(prefixes)].sort();
  }

  const registryOf = async (model: string) =>
    JSON.parse(String(await s3.get(GOLD, goldPublishedRegistryKey(model))));

  it('keeps exactly the 3 newest versions after 5 successful runs, and records them newest first', async () => {
    const { janitor: j } = janitor();
    for (const version of ['run-1', 'run-2', 'run-3', 'run-4', 'run-5']) {
      await writeVersion('sales', version);
      await j.run(version, ['sales']);
    }

    expect(await versionsOf('sales')).toEqual(
      ['run-3', 'run-4', 'run-5'].map((v) => goldVersionPrefix('sales', v)),
    );
    expect(await registryOf('sales')).toEqual({ published: ['run-5', 'run-4', 'run-3'] });
  });

  it('reports per model the versions kept and those deleted, with their object counts', async () => {
    const { janitor: j } = janitor();
    await writeVersion('orders', 'run-a', 3);
    await writeVersion('orders', 'run-b', 1);
    await writeVersion('customers', 'run-b', 1);

    const report = await j.run('run-b', ['orders', 'customers']);

    expect(report).toEqual({
      executionName: 'run-b',
      versionsKept: 3,
      models: [
        {
          model: 'orders',
          published: ['run-b'],
          kept: ['orders/v=run-b/'],
          // run-a was never recorded as published: a failed run, as far as retention knows.
          deleted: [{ prefix: 'orders/v=run-a/', objects: 3 }],
        },
        { model: 'customers', published: ['run-b'], kept: ['customers/v=run-b/'], deleted: [] },
      ],
    });
  });

  it("deletes a failed run's version (written, never recorded) on the next successful run", async () => {
    const { janitor: j } = janitor();
    await writeVersion('stock', 'run-1');
    await j.run('run-1', ['stock']);
    await writeVersion('stock', 'run-2-failed', 4); // the run failed before publishing: no janitor call
    await writeVersion('stock', 'run-3');

    const report = await j.run('run-3', ['stock']);

    expect(report.models[0].deleted).toEqual([{ prefix: 'stock/v=run-2-failed/', objects: 4 }]);
    expect(report.models[0].kept).toEqual(['stock/v=run-1/', 'stock/v=run-3/']);
    expect(await versionsOf('stock')).toEqual(['stock/v=run-1/', 'stock/v=run-3/']);
    expect(await registryOf('stock')).toEqual({ published: ['run-3', 'run-1'] });
  });

  it("keeps the version of an incremental model's run that stopped while publishing, until a commit clears it", async () => {
    const { janitor: j } = janitor({ versionsKept: 1 });
    const state = (pending?: string[]) =>
      s3.put(
        GOLD,
        goldIncrementalStateKey('daily'),
        JSON.stringify({
          modelHash: 'h',
          sources: {},
          partitions: { '2026-01-01': `s3://${GOLD}/daily/v=run-1/0/d=2026-01-01/` },
          updatedAt: '2026-12-06T00:00:00Z',
          ...(pending ? { pending: { locations: pending, dates: ['2026-01-02'] } } : {}),
        }),
      );
    for (const version of ['run-1', 'run-2-stopped', 'run-3']) await writeVersion('daily', version);
    await state([`s3://${GOLD}/daily/v=run-2-stopped/`]);
    await j.run('run-3', ['daily']);
    expect(await versionsOf('daily')).toEqual(['daily/v=run-1/', 'daily/v=run-2-stopped/', 'daily/v=run-3/']);
    await state();
    await j.run('run-3', ['daily']);
    expect(await versionsOf('daily')).toEqual(['daily/v=run-1/', 'daily/v=run-3/']);
  });

  it('deletes a version of 1,500 objects entirely: two listing pages, two DeleteObjects batches', async () => {
    const { janitor: j, calls } = janitor({ versionsKept: 1 });
    await writeVersion('big', 'old', 1500);
    await writeVersion('big', 'new', 1);

    const report = await j.run('new', ['big']);

    expect(report.models[0].deleted).toEqual([{ prefix: 'big/v=old/', objects: 1500 }]);
    expect(await s3.keys(GOLD, 'big/v=old/')).toEqual([]);
    expect(await versionsOf('big')).toEqual(['big/v=new/']);
    const listings = calls.filter((c) => c.command === 'ListObjectsV2' && c.input.Prefix === 'big/v=old/');
    expect(listings.length).toBeGreaterThan(1);
    const deletes = calls.filter((c) => c.command === 'DeleteObjects');
    const batchSizes = deletes.map(
      (c) => (c.input as unknown as DeleteObjectsCommandInput).Delete?.Objects?.length,
    );
    expect(batchSizes).toEqual([1000, 500]);
  }, 120_000);

  it('changes nothing when run twice for the same execution', async () => {
    const { janitor: j, calls } = janitor({ versionsKept: 2 });
    for (const version of ['r1', 'r2', 'r3']) await writeVersion('twice', version);
    await writeVersion('twice', 'r0-failed');
    const first = await j.run('r3', ['twice']);
    const keysAfterFirst = await s3.keys(GOLD);
    const registryAfterFirst = await registryOf('twice');
    const deletesBefore = calls.filter((c) => c.command === 'DeleteObjects').length;

    const second = await j.run('r3', ['twice']);

    expect(first.models[0].deleted.map((d) => d.prefix)).toEqual([
      'twice/v=r0-failed/',
      'twice/v=r1/',
      'twice/v=r2/',
    ]);
    expect(second.models[0]).toEqual({ ...first.models[0], deleted: [] });
    expect(await s3.keys(GOLD)).toEqual(keysAfterFirst);
    expect(await registryOf('twice')).toEqual(registryAfterFirst);
    expect(calls.filter((c) => c.command === 'DeleteObjects').length).toBe(deletesBefore);
  });

  it('leaves every object outside `<model>/v=` alone, other models included', async () => {
    const { janitor: j } = janitor({ versionsKept: 1 });
    const outside = [
      'shop/_unpublished/never-written-but-kept',
      'shop/notes.txt',
      'shop/v=bare-key',
      'shop/version=1/part.parquet',
      'shop/data/v=nested/part.parquet',
      'shopping/v=old/part.parquet',
      'other/v=old/part.parquet',
      'v=old/part.parquet',
    ];
    for (const key of outside) await s3.put(GOLD, key, 'x');
    await writeVersion('shop', 'old');
    await writeVersion('shop', 'new');

    const report = await j.run('new', ['shop']);

    expect(report.models[0].deleted.map((d) => d.prefix)).toEqual(['shop/v=old/']);
    for (const key of outside) expect(await s3.head(GOLD, key)).toBeDefined();
    expect(await versionsOf('shop')).toEqual(['shop/v=new/']);
  });

  it('finds every version when the directory listing spans several pages', async () => {
    const { janitor: j, calls } = janitor({ versionsKept: 1, listPageSize: 1 });
    // Keys right under the model fill the pages (the local server counts keys, S3 also directories).
    for (const key of ['paged/a.txt', 'paged/m.txt', 'paged/z.txt']) await s3.put(GOLD, key, 'x');
    for (const version of ['a', 'b', 'c', 'd']) await writeVersion('paged', version);

    const report = await j.run('d', ['paged']);

    expect(report.models[0].deleted.map((d) => d.prefix)).toEqual(['paged/v=a/', 'paged/v=b/', 'paged/v=c/']);
    expect(await versionsOf('paged')).toEqual(['paged/v=d/']);
    const directoryPages = calls.filter((c) => c.command === 'ListObjectsV2' && c.input.Delimiter === '/');
    expect(directoryPages.length).toBeGreaterThan(1);
  });

  it('fails naming the keys S3 did not delete, after recording the version; the next run finishes', async () => {
    await writeVersion('stuck', 'old', 3);
    await writeVersion('stuck', 'new');
    const refused = (key: string) => key === 'stuck/v=old/part-00001.parquet';
    const { janitor: failing } = janitor({ versionsKept: 1, refuse: refused });

    await expect(failing.run('new', ['stuck'])).rejects.toThrow(
      /1 of 3 object\(s\) in s3:\/\/gold were not deleted: stuck\/v=old\/part-00001\.parquet \(AccessDenied: Access Denied\)/,
    );
    expect(await registryOf('stuck')).toEqual({ published: ['new'] });
    expect(await s3.keys(GOLD, 'stuck/v=old/')).toEqual(['stuck/v=old/part-00001.parquet']);

    const { janitor: j } = janitor({ versionsKept: 1 });
    const report = await j.run('new', ['stuck']);
    expect(report.models[0].deleted).toEqual([{ prefix: 'stuck/v=old/', objects: 1 }]);
    expect(await versionsOf('stuck')).toEqual(['stuck/v=new/']);
  });

  it('deletes nothing when the stored registry cannot be read', async () => {
    await writeVersion('corrupt', 'old');
    await writeVersion('corrupt', 'new');
    await s3.put(GOLD, goldPublishedRegistryKey('corrupt'), JSON.stringify({ versions: ['old'] }));
    const { janitor: j } = janitor({ versionsKept: 1 });

    await expect(j.run('new', ['corrupt'])).rejects.toThrow(
      's3://gold/corrupt/_published.json: not a published-versions registry',
    );
    expect(await versionsOf('corrupt')).toEqual(['corrupt/v=new/', 'corrupt/v=old/']);
  });
});
