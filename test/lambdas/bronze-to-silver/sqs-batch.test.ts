import type { S3EventRecord, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Manifest } from '../../../core/lake/manifest';
import { createLogger, type LogEntry } from '../../../core/telemetry/logger';
import type { BronzeObject } from '../../../lambdas/bronze-to-silver/bronze-object';
import {
  type ObjectProcessor,
  objectsInMessage,
  processBatch,
  safetyMarginMs,
} from '../../../lambdas/bronze-to-silver/sqs-batch';
import { s3Record as anyS3Record, sqsRecord } from '../../support/aws-events';

const BRONZE = 'bronze';

/** A record as S3 writes it into a notification: the key URL-encoded, '+' for a space. */
const s3Record = (
  key: string,
  p: { eventName?: string; bucket?: string; encodedKey?: string; eventTime?: string } = {},
): S3EventRecord =>
  anyS3Record(p.bucket ?? BRONZE, key, {
    versionId: 'v1',
    size: 10,
    configurationId: 'bronze-created',
    ...p,
  });

const message = (id: string, ...records: S3EventRecord[]) => sqsRecord(id, { Records: records });

const manifestFor = (obj: BronzeObject): Manifest => ({
  manifestVersion: 1,
  status: 'ok',
  domain: 'retail',
  dataset: 'orders',
  source: { bucket: obj.bucket, key: obj.key },
  rows: { in: 1, out: 1, quarantined: 0, duplicates: 0 },
  quarantinedByReason: {},
  outputs: [],
  durationsMs: { total: 5 },
  startedAt: '2026-11-01T10:00:01.000Z',
  finishedAt: '2026-11-01T10:00:01.005Z',
  engine: 'duckdb test',
});

/** Records every object it is asked to process; throws for keys in `failing`. */
function recordingProcessor(failing: string[] = []): ObjectProcessor & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    async process(obj) {
      seen.push(obj.key);
      if (failing.includes(obj.key)) throw new Error(`cannot process ${obj.key}`);
      return manifestFor(obj);
    },
  };
}

describe('objectsInMessage', () => {
  it("decodes URL-encoded keys the way S3 encodes them: '+' is a space, %2B is a '+'", () => {
    const encoded =
      'retail/orders/ingest_date=2026-11-01/ventes+du+jour%2B1+%28%C3%A9t%C3%A9%29+%E6%97%A5.csv';
    const objects = objectsInMessage(message('m1', s3Record('', { encodedKey: encoded })));

    expect(objects.map((o) => o.key)).toEqual([
      'retail/orders/ingest_date=2026-11-01/ventes du jour+1 (été) 日.csv',
    ]);
  });

  it('round-trips keys encoded by encodeEventKey, including %, & and =', () => {
    const keys = ['retail/orders/a b+c.csv', 'retail/orders/100% & more=yes.csv', 'retail/orders/plain.csv'];
    const objects = objectsInMessage(message('m1', ...keys.map((k) => s3Record(k))));

    expect(objects.map((o) => o.key)).toEqual(keys);
  });

  it('carries the bucket, version, ETag and event time of each record', () => {
    const [obj] = objectsInMessage(message('m1', s3Record('retail/orders/a.csv', { bucket: 'bronze-eu' })));

    expect(obj).toEqual({
      bucket: 'bronze-eu',
      key: 'retail/orders/a.csv',
      versionId: 'v1',
      eTag: 'etag-1',
      eventTime: '2026-11-01T10:00:00.000Z',
    });
  });

  it('returns every ObjectCreated record of a message, in order', () => {
    const objects = objectsInMessage(
      message(
        'm1',
        s3Record('retail/orders/1.csv'),
        s3Record('retail/orders/2.csv', { eventName: 'ObjectCreated:CompleteMultipartUpload' }),
        s3Record('retail/orders/3.csv', { eventName: 'ObjectCreated:Copy' }),
      ),
    );
    expect(objects.map((o) => o.key)).toEqual([
      'retail/orders/1.csv',
      'retail/orders/2.csv',
      'retail/orders/3.csv',
    ]);
  });

  it('returns nothing for the s3:TestEvent S3 sends when notifications are configured', () => {
    const testEvent = sqsRecord('m1', {
      Service: 'Amazon S3',
      Event: 's3:TestEvent',
      Time: '2026-11-01T10:00:00.000Z',
      Bucket: BRONZE,
      RequestId: 'REQ',
      HostId: 'HOST',
    });
    expect(objectsInMessage(testEvent)).toEqual([]);
  });

  it('ignores records that are not ObjectCreated events', () => {
    const objects = objectsInMessage(
      message(
        'm1',
        s3Record('retail/orders/deleted.csv', { eventName: 'ObjectRemoved:Delete' }),
        s3Record('retail/orders/restored.csv', { eventName: 'ObjectRestore:Completed' }),
        s3Record('retail/orders/kept.csv'),
      ),
    );
    expect(objects.map((o) => o.key)).toEqual(['retail/orders/kept.csv']);
  });

  it("ignores bookkeeping keys, those starting with '_'", () => {
    const objects = objectsInMessage(
      message(
        'm1',
        s3Record('_index/sha256/retail/orders/abc'),
        s3Record('_manifests/retail/orders/x.json'),
        s3Record('retail/orders/data.csv'),
      ),
    );
    expect(objects.map((o) => o.key)).toEqual(['retail/orders/data.csv']);
  });

  it('throws, naming the message, for a body that is not JSON or carries no S3 records', () => {
    expect(() => objectsInMessage(sqsRecord('not-json', 'this is {not json'))).toThrow(/not-json.*not JSON/);
    expect(() => objectsInMessage(sqsRecord('no-records', { hello: 'world' }))).toThrow(
      /no-records.*no S3 records/,
    );
  });
});

describe('processBatch', () => {
  let logs: string[];
  let errors: string[];
  beforeEach(() => {
    logs = [];
    errors = [];
    jest.spyOn(console, 'log').mockImplementation((line: string) => logs.push(line));
    jest.spyOn(console, 'error').mockImplementation((line: string) => errors.push(line));
  });
  afterEach(() => jest.restoreAllMocks());

  const batch = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
  const keyOf = (i: number) => `retail/orders/ingest_date=2026-11-01/file ${i}.csv`;

  it('reports exactly the failing message of a batch of 10 and processes the other 9 once each', async () => {
    const processor = recordingProcessor([keyOf(4)]);
    const event = batch(...Array.from({ length: 10 }, (_, i) => message(`msg-${i}`, s3Record(keyOf(i)))));

    const result = await processBatch(processor, event);

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-4' }] });
    expect(processor.seen).toEqual(Array.from({ length: 10 }, (_, i) => keyOf(i)));
    expect(logs).toHaveLength(9);
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0] as string)).toMatchObject({
      level: 'ERROR',
      messageId: 'msg-4',
      receiveCount: '1',
      error: `cannot process ${keyOf(4)}`,
    });
  });

  it('answers with no failures when every message succeeds', async () => {
    const processor = recordingProcessor();
    const result = await processBatch(
      processor,
      batch(message('a', s3Record(keyOf(1))), message('b', s3Record(keyOf(2)))),
    );
    expect(result).toEqual({ batchItemFailures: [] });
    expect(processor.seen).toEqual([keyOf(1), keyOf(2)]);
  });

  it('fails a non-JSON message alone, processing the messages around it', async () => {
    const processor = recordingProcessor();
    const result = await processBatch(
      processor,
      batch(
        message('first', s3Record(keyOf(1))),
        sqsRecord('garbage', '<xml/>'),
        message('last', s3Record(keyOf(2))),
      ),
    );

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'garbage' }]);
    expect(processor.seen).toEqual([keyOf(1), keyOf(2)]);
  });

  it('treats test events and bookkeeping-only messages as done, without calling the processor', async () => {
    const processor = recordingProcessor();
    const result = await processBatch(
      processor,
      batch(
        sqsRecord('test', { Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: BRONZE }),
        message('index', s3Record('_index/sha256/retail/orders/abc')),
        message('removed', s3Record(keyOf(1), { eventName: 'ObjectRemoved:Delete' })),
      ),
    );
    expect(result).toEqual({ batchItemFailures: [] });
    expect(processor.seen).toEqual([]);
  });

  it('logs one structured line per object, with the rows and the lag since the event', async () => {
    const processor = recordingProcessor();
    await processBatch(
      processor,
      batch(message('a', s3Record(keyOf(1), { eventTime: '2026-11-01T10:00:00.000Z' }))),
      () => new Date('2026-11-01T10:00:02.500Z'),
    );
    expect(logs.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({
        level: 'INFO',
        key: keyOf(1),
        dataset: 'orders',
        status: 'ok',
        rows: { in: 1, out: 1, quarantined: 0, duplicates: 0 },
        durationMs: 5,
        lagMs: 2500,
      }),
    ]);
  });

  it('writes its lines to the logger it is given instead of the console, with the same fields', async () => {
    const entries: LogEntry[] = [];
    const logger = createLogger({ sink: (e) => entries.push(e) });

    await processBatch(
      recordingProcessor([keyOf(2)]),
      batch(message('ok', s3Record(keyOf(1))), message('bad', s3Record(keyOf(2)))),
      () => new Date('2026-11-01T10:00:02.500Z'),
      { logger },
    );

    expect(logs).toEqual([]);
    expect(errors).toEqual([]);
    expect(entries).toEqual([
      expect.objectContaining({ level: 'INFO', message: 'bronze object transformed', key: keyOf(1) }),
      {
        level: 'ERROR',
        message: 'message failed; SQS will retry it, then dead-letter it',
        messageId: 'bad',
        receiveCount: '1',
        keys: [keyOf(2)],
        error: `cannot process ${keyOf(2)}`,
      },
    ]);
  });
});

describe('processBatch near the deadline and on the last receive', () => {
  let errors: string[];
  beforeEach(() => {
    errors = [];
    jest.spyOn(console, 'log').mockImplementation(() => {});
    jest.spyOn(console, 'error').mockImplementation((line: string) => errors.push(line));
  });
  afterEach(() => jest.restoreAllMocks());

  const keyOf = (i: number) => `retail/orders/ingest_date=2026-11-01/file ${i}.csv`;
  const onReceive = (record: SQSRecord, n: number): SQSRecord => ({
    ...record,
    attributes: { ...record.attributes, ApproximateReceiveCount: String(n) },
  });

  it('keeps a margin of 10 s, or a tenth of the time left when that is shorter', () => {
    expect(safetyMarginMs(900_000)).toBe(10_000);
    expect(safetyMarginMs(50_000)).toBe(5_000);
    expect(safetyMarginMs(3_000)).toBe(300);
  });

  it('aborts the object in progress at the deadline, starts no other, and reports both messages', async () => {
    const seen: string[] = [];
    const processor: ObjectProcessor = {
      process: (obj, options) =>
        new Promise((_, reject) => {
          seen.push(obj.key);
          options?.signal?.addEventListener('abort', () => reject(options.signal?.reason));
        }),
    };
    const started = Date.now();
    const result = await processBatch(
      processor,
      { Records: [message('slow', s3Record(keyOf(1))), message('next', s3Record(keyOf(2)))] },
      undefined,
      { context: { getRemainingTimeInMillis: () => 200 }, safetyMarginMs: 50 },
    );

    // Stopped at the 150 ms deadline, not by the processor (which never settles); the bound leaves room
    // for a busy machine's event loop (CI runs two test streams on two cores).
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'slow' }, { itemIdentifier: 'next' }]);
    expect(seen).toEqual([keyOf(1)]);
    expect(JSON.parse(errors[1] as string)).toMatchObject({
      messageId: 'next',
      keys: [keyOf(2)],
      error: "stopped 50 ms before the invocation's timeout (200 ms at the start); SQS will retry",
    });
  });

  it("records a failure's reason on the last receive only, for the objects not done", async () => {
    const recorded: [string, string, number][] = [];
    const processor: ObjectProcessor = {
      ...recordingProcessor([keyOf(2)]),
      async recordFailure(obj, error, attempts) {
        recorded.push([obj.key, (error as Error).message, attempts]);
      },
    };
    const twoObjects = message('two', s3Record(keyOf(1)), s3Record(keyOf(2)));

    await processBatch(processor, { Records: [onReceive(twoObjects, 2)] }, undefined, { maxReceiveCount: 3 });
    expect(recorded).toEqual([]);
    const result = await processBatch(
      processor,
      { Records: [onReceive(twoObjects, 3), onReceive(sqsRecord('garbage', '<xml/>'), 3)] },
      undefined,
      { maxReceiveCount: 3 },
    );

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'two' }, { itemIdentifier: 'garbage' }]);
    expect(recorded).toEqual([[keyOf(2), `cannot process ${keyOf(2)}`, 3]]);
    expect(JSON.parse(errors.at(-2) as string)).toMatchObject({
      message: 'message failed its last receive; SQS will dead-letter it',
      messageId: 'two',
    });
  });
});
