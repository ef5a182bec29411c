import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context, S3Event, SQSEvent, SQSRecord } from 'aws-lambda';
import { failedReasonKey, manifestKey, sourceId } from '../../../core/lake/layout';
import { s3Event as s3Notification, s3Record, sqsRecord } from '../../support/aws-events';
import { withLocalS3 } from '../../support/local-s3';

const BRONZE = 'bronze';
const SILVER = 'silver';
const QUARANTINE = 'quarantine';
const SAMPLES = join(__dirname, '../../../samples');
const HANDLER = '../../../lambdas/bronze-to-silver/handler';

type Handler = typeof import('../../../lambdas/bronze-to-silver/handler');

/** An S3 ObjectCreated notification for one bronze object, as S3 writes it (key URL-encoded). */
const s3Event = (bucket: string, key: string): S3Event =>
  s3Notification(
    s3Record(bucket, key, { eventTime: new Date().toISOString(), configurationId: 'bronze-created' }),
  );

/** An SQS message whose body is the S3 notification, as S3 -> SQS delivers it. */
const sqsMessage = (messageId: string, body: S3Event): SQSRecord => sqsRecord(messageId, body);

const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

describe('bronze-to-silver handler', () => {
  const s3 = withLocalS3([BRONZE, SILVER, QUARANTINE]);
  let scratch: string;
  let handler: Handler['handler'];
  const variables = (): Record<string, string> => ({
    MEDALLION_SILVER_BUCKET: SILVER,
    MEDALLION_QUARANTINE_BUCKET: QUARANTINE,
    MEDALLION_CONTRACTS_DIR: join(SAMPLES, 'contracts'),
    MEDALLION_PII_HASH_SALT: 'handler-test-salt',
    MEDALLION_SCRATCH_DIR: scratch,
    MEDALLION_ENGINE_MEMORY_LIMIT: '256MB',
    MEDALLION_MAX_RECEIVE_COUNT: '2',
  });

  // The handler reads its configuration at module load: import it once the server and env are ready.
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'medallion-b2s-handler-'));
    Object.assign(process.env, variables());
    ({ handler } = await import('../../../lambdas/bronze-to-silver/handler'));
  });
  afterAll(() => {
    for (const name of Object.keys(variables())) delete process.env[name];
    rmSync(scratch, { recursive: true, force: true });
  });
  beforeEach(() => {
    jest.spyOn(console, 'log').mockImplementation(() => {});
    jest.spyOn(console, 'warn').mockImplementation(() => {});
    jest.spyOn(console, 'error').mockImplementation(() => {});
  });
  afterEach(() => jest.restoreAllMocks());

  const manifestOf = async (dataset: string, key: string) =>
    JSON.parse(
      (await s3.get(SILVER, manifestKey('retail', dataset, sourceId(BRONZE, key))))?.toString() ?? 'null',
    );

  it('transforms the bronze object an S3 event announces, with a space and a + in its key', async () => {
    const key = 'retail/orders/ingest_date=2026-11-01/orders 2026-11-01+till 7.csv';
    await s3.put(BRONZE, key, readFileSync(join(SAMPLES, 'data/orders/orders-2026-11-01.csv')));

    const result = await handler(sqsEvent(sqsMessage('m-orders', s3Event(BRONZE, key))));

    expect(result).toEqual({ batchItemFailures: [] });
    const manifest = await manifestOf('orders', key);
    expect(manifest).toMatchObject({
      status: 'ok',
      source: { bucket: BRONZE, key },
      rows: { in: 44, out: 34, quarantined: 8, duplicates: 2 },
    });
    const id = sourceId(BRONZE, key);
    expect((await s3.keys(SILVER, 'retail/orders/')).filter((k) => k.includes(id))).toEqual([
      `retail/orders/dt=2026-11-01/part-${id}.parquet`,
      `retail/orders/dt=2026-11-02/part-${id}.parquet`,
      `retail/orders/dt=2026-11-03/part-${id}.parquet`,
    ]);
    expect(await s3.keys(QUARANTINE, `rows/retail/orders/${id}`)).toHaveLength(1);
    // The work directory of the file is gone; the engine's spill directory stays.
    expect(readdirSync(scratch)).toEqual(['duckdb-spill']);
  });

  it('reports only the message whose bronze object does not exist, and processes the others', async () => {
    const ndjson = 'retail/customers/ingest_date=2026-11-01/customers.ndjson';
    const gz = 'retail/orders/ingest_date=2026-11-03/orders-2026-11-03.csv.gz';
    await s3.put(BRONZE, ndjson, readFileSync(join(SAMPLES, 'data/customers/customers.ndjson')));
    await s3.put(BRONZE, gz, readFileSync(join(SAMPLES, 'data/orders/orders-2026-11-03.csv.gz')));
    const missing = 'retail/orders/ingest_date=2026-11-01/never uploaded.csv';

    const result = await handler(
      sqsEvent(
        sqsMessage('m-customers', s3Event(BRONZE, ndjson)),
        sqsMessage('m-missing', s3Event(BRONZE, missing)),
        sqsMessage('m-gz', s3Event(BRONZE, gz)),
      ),
    );

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-missing' }] });
    expect(await manifestOf('customers', ndjson)).toMatchObject({
      status: 'ok',
      rows: { in: 11, out: 10, quarantined: 1, duplicates: 0 },
    });
    expect(await manifestOf('orders', gz)).toMatchObject({
      status: 'ok',
      rows: { in: 10, out: 10, quarantined: 0, duplicates: 0 },
    });
    expect(await manifestOf('orders', missing)).toBeNull();
  });

  it('counts a file quarantined as a whole as done: the message is not retried', async () => {
    const key = 'retail/products/ingest_date=2026-11-01/empty products.csv';
    await s3.put(BRONZE, key, '');

    const result = await handler(sqsEvent(sqsMessage('m-empty', s3Event(BRONZE, key))));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(await manifestOf('products', key)).toMatchObject({ status: 'quarantined', reasonCode: 'empty' });
    expect(
      await s3.get(QUARANTINE, `files/retail/products/${sourceId(BRONZE, key)}/empty products.csv`),
    ).toEqual(Buffer.alloc(0));
  });

  it('on the last receive (MEDALLION_MAX_RECEIVE_COUNT) records why the message fails before it is dead-lettered', async () => {
    const missing = 'retail/orders/ingest_date=2026-11-01/deleted before its transform.csv';
    const receive = (n: number): SQSRecord => {
      const record = sqsMessage('m-gone', s3Event(BRONZE, missing));
      return { ...record, attributes: { ...record.attributes, ApproximateReceiveCount: String(n) } };
    };
    const reasonKey = failedReasonKey('retail', 'orders', sourceId(BRONZE, missing));

    expect(await handler(sqsEvent(receive(1)))).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm-gone' }],
    });
    expect(await s3.get(QUARANTINE, reasonKey)).toBeUndefined();
    expect(await handler(sqsEvent(receive(2)))).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm-gone' }],
    });

    expect(JSON.parse((await s3.get(QUARANTINE, reasonKey))?.toString() ?? '{}')).toEqual({
      error: expect.stringMatching(/key does not exist/i),
      attempts: 2,
      sourceBucket: BRONZE,
      sourceKey: missing,
      failedAt: expect.any(String),
    });
  });

  it("stops before the Lambda context's deadline: with no time left the message is retried, not started", async () => {
    const key = 'retail/products/ingest_date=2026-11-01/too late.csv';
    await s3.put(BRONZE, key, readFileSync(join(SAMPLES, 'data/products/products.csv')));
    const context = { getRemainingTimeInMillis: () => 0 } as Context;

    const result = await handler(sqsEvent(sqsMessage('m-late', s3Event(BRONZE, key))), context);

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-late' }] });
    expect(await manifestOf('products', key)).toBeNull();
  });

  /** Requires a fresh copy of the handler module with `env` applied (undefined: unset), then restores. */
  const loadWith = (env: Record<string, string | undefined>) => {
    const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
    const apply = (values: Record<string, string | undefined>) => {
      for (const [name, value] of Object.entries(values)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    };
    apply(env);
    try {
      jest.isolateModules(() => require(HANDLER));
    } finally {
      apply(saved);
    }
  };

  it.each(['MEDALLION_SILVER_BUCKET', 'MEDALLION_QUARANTINE_BUCKET', 'MEDALLION_CONTRACTS_DIR'])(
    'fails to load, naming the variable, when %s is missing',
    (name) => {
      expect(() => loadWith({ [name]: undefined })).toThrow(
        new RegExp(`missing environment variable\\(s\\): ${name}$`),
      );
    },
  );

  it('names every missing variable at once', () => {
    expect(() =>
      loadWith({ MEDALLION_SILVER_BUCKET: undefined, MEDALLION_QUARANTINE_BUCKET: undefined }),
    ).toThrow('missing environment variable(s): MEDALLION_SILVER_BUCKET, MEDALLION_QUARANTINE_BUCKET');
  });

  it('fails to load when neither the PII salt nor the ARN of its secret is set', () => {
    expect(() =>
      loadWith({ MEDALLION_PII_HASH_SALT: undefined, MEDALLION_PII_HASH_SALT_SECRET_ARN: undefined }),
    ).toThrow(
      'missing environment variable(s): MEDALLION_PII_HASH_SALT or MEDALLION_PII_HASH_SALT_SECRET_ARN',
    );
  });

  it.each([
    ['MEDALLION_MAX_DECOMPRESSED_BYTES', 'lots'],
    ['MEDALLION_ENGINE_THREADS', '0'],
    ['MEDALLION_MAX_RECEIVE_COUNT', '-1'],
  ])('fails to load, naming the variable, when %s is not a positive integer (%j)', (name, value) => {
    expect(() => loadWith({ [name]: value })).toThrow(`${name} must be a positive integer, got '${value}'`);
  });
});
