import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Manifest } from '../../../core/lake/manifest';
import { createLogger, type LogEntry } from '../../../core/telemetry/logger';
import { Attempt, listedObjects, type RollbackDeps } from '../../../lambdas/bronze-to-silver/attempt';
import { withLocalS3 } from '../../support/local-s3';

const SILVER = 'silver';
const QUARANTINE = 'quarantine';
const SOURCE_KEY = 'retail/orders/ingest_date=2026-11-01/a.csv';

const silverKey = (day: string) => `retail/orders/dt=${day}/part-s1.parquet`;

/** A committed manifest listing silver `outputs` and, optionally, a quarantine object. */
const committed = (
  outputs: string[],
  quarantine?: Manifest['quarantine'],
  status: Manifest['status'] = 'ok',
): Manifest => ({
  manifestVersion: 1,
  status,
  domain: 'retail',
  dataset: 'orders',
  source: { bucket: 'bronze', key: SOURCE_KEY },
  rows: { in: 0, out: 0, quarantined: 0, duplicates: 0 },
  quarantinedByReason: {},
  outputs: outputs.map((key) => ({ key, partition: 'p', rows: 1, bytes: 1, sha256: 'x' })),
  quarantine,
  durationsMs: { total: 1 },
  startedAt: '2026-11-01T10:00:00.000Z',
  finishedAt: '2026-11-01T10:00:01.000Z',
  engine: 'test',
});

describe('Attempt', () => {
  it('check() passes until the signal is aborted, then throws its reason', () => {
    const controller = new AbortController();
    const attempt = new Attempt(controller.signal);
    expect(() => attempt.check()).not.toThrow();

    controller.abort(new Error('out of time'));
    expect(() => attempt.check()).toThrow('out of time');
    expect(() => new Attempt(undefined).check()).not.toThrow();
  });

  it('records each write in order, repeats included', () => {
    const attempt = new Attempt(undefined);
    attempt.writing(SILVER, 'a');
    attempt.writing(QUARANTINE, 'b');
    attempt.writing(SILVER, 'a');

    expect(attempt.written).toEqual([
      { bucket: SILVER, key: 'a' },
      { bucket: QUARANTINE, key: 'b' },
      { bucket: SILVER, key: 'a' },
    ]);
  });
});

describe('listedObjects', () => {
  it('lists silver outputs in the silver bucket and the quarantine object in its own bucket', () => {
    const m = committed([silverKey('2026-11-01')], { bucket: QUARANTINE, key: 'rows/x.ndjson', rows: 2 });

    expect(listedObjects(m, SILVER)).toEqual([
      `${SILVER}/${silverKey('2026-11-01')}`,
      `${QUARANTINE}/rows/x.ndjson`,
    ]);
  });

  it('lists the reason next to a file quarantined whole', () => {
    const m = committed([], { bucket: QUARANTINE, key: 'files/x/a.csv' }, 'quarantined');

    expect(listedObjects(m, SILVER)).toEqual([
      `${QUARANTINE}/files/x/a.csv`,
      `${QUARANTINE}/files/x/a.csv.reason.json`,
    ]);
  });

  it('lists nothing without a manifest', () => {
    expect(listedObjects(undefined, SILVER)).toEqual([]);
  });
});

describe('Attempt.rollBack', () => {
  const s3 = withLocalS3([SILVER, QUARANTINE]);
  let logged: LogEntry[];
  beforeEach(() => {
    logged = [];
  });

  const deps = (over: Partial<RollbackDeps> = {}): RollbackDeps => ({
    s3: s3.client,
    silverBucket: SILVER,
    logger: createLogger({ sink: (e) => logged.push(e) }),
    readCommitted: async () => undefined,
    ...over,
  });

  /** An attempt that wrote (for real) every object in `writes`. */
  const attemptThatWrote = async (writes: [bucket: string, key: string][]): Promise<Attempt> => {
    const attempt = new Attempt(undefined);
    for (const [bucket, key] of writes) {
      attempt.writing(bucket, key);
      await s3.put(bucket, key, 'written by the attempt');
    }
    return attempt;
  };

  it('deletes what the attempt wrote except what the previous or the committed manifest lists', async () => {
    const day = (d: string) => silverKey(`2026-12-${d}`);
    const attempt = await attemptThatWrote([
      [SILVER, day('01')],
      [SILVER, day('02')],
      [SILVER, day('03')],
      [QUARANTINE, 'rows/s1.ndjson'],
      [QUARANTINE, 'rows/kept.ndjson'],
    ]);

    await attempt.rollBack(
      deps({ readCommitted: async () => committed([day('02')]) }),
      SOURCE_KEY,
      committed([day('01')], { bucket: QUARANTINE, key: 'rows/kept.ndjson', rows: 1 }),
      new Error('manifest write failed'),
    );

    expect(await s3.keys(SILVER, 'retail/orders/dt=2026-12')).toEqual([day('01'), day('02')]);
    expect(await s3.keys(QUARANTINE, 'rows/')).toEqual(['rows/kept.ndjson']);
    expect(logged).toEqual([
      {
        level: 'WARN',
        message: 'failed attempt rolled back',
        key: SOURCE_KEY,
        deleted: [`${SILVER}/${day('03')}`, `${QUARANTINE}/rows/s1.ndjson`],
        error: 'manifest write failed',
      },
    ]);
  });

  it('deletes an object written twice once', async () => {
    const key = silverKey('2026-12-10');
    const attempt = await attemptThatWrote([
      [SILVER, key],
      [SILVER, key],
    ]);

    await attempt.rollBack(deps(), SOURCE_KEY, undefined, 'a string cause');

    expect(await s3.get(SILVER, key)).toBeUndefined();
    expect(logged).toEqual([
      expect.objectContaining({ deleted: [`${SILVER}/${key}`], error: 'a string cause' }),
    ]);
  });

  it('does nothing, not even read the manifest, when the attempt wrote nothing', async () => {
    const readCommitted = jest.fn(async () => undefined);

    await new Attempt(undefined).rollBack(deps({ readCommitted }), SOURCE_KEY, undefined, new Error('x'));

    expect(readCommitted).not.toHaveBeenCalled();
    expect(logged).toEqual([]);
  });

  it('deletes nothing when the committed manifest cannot be read, and says so', async () => {
    const key = silverKey('2026-12-20');
    const attempt = await attemptThatWrote([[SILVER, key]]);

    await attempt.rollBack(
      deps({
        readCommitted: async () => {
          throw new Error('S3 unavailable');
        },
      }),
      SOURCE_KEY,
      undefined,
      new Error('upload failed'),
    );

    expect(await s3.get(SILVER, key)).toBeDefined();
    expect(logged).toEqual([
      {
        level: 'WARN',
        message: 'rollback skipped: the manifest cannot be read',
        key: SOURCE_KEY,
        error: 'S3 unavailable',
      },
    ]);
  });

  it('goes on past an object it cannot delete, logging it, and still deletes the others', async () => {
    const stuck = silverKey('2026-12-30');
    const other = silverKey('2026-12-31');
    const attempt = await attemptThatWrote([
      [SILVER, stuck],
      [SILVER, other],
    ]);
    // The real client, except that deleting `stuck` fails (as S3 may, with a 500 or a timeout).
    const flaky = new Proxy(s3.client, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return (command: unknown, ...rest: unknown[]) => {
          if (command instanceof DeleteObjectCommand && command.input.Key === stuck) {
            return Promise.reject(new Error('injected: S3 unavailable'));
          }
          return (target.send as (...a: unknown[]) => Promise<unknown>)(command, ...rest);
        };
      },
    }) as S3Client;

    await attempt.rollBack(deps({ s3: flaky }), SOURCE_KEY, undefined, new Error('upload failed'));

    expect(await s3.get(SILVER, stuck)).toBeDefined();
    expect(await s3.get(SILVER, other)).toBeUndefined();
    expect(logged).toEqual([
      {
        level: 'WARN',
        message: 'rollback could not delete an object; the retry overwrites it',
        object: `${SILVER}/${stuck}`,
        error: 'injected: S3 unavailable',
      },
      expect.objectContaining({ message: 'failed attempt rolled back', deleted: [`${SILVER}/${other}`] }),
    ]);
  });
});
