import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Context,
  S3Event,
  S3EventRecord,
} from 'aws-lambda';
import { s3Record as landingRecord, writeMinimalContracts } from '../../support/aws-events';
import { withLocalS3 } from '../../support/local-s3';

const LANDING = 'landing';
const BRONZE = 'bronze';
const QUARANTINE = 'quarantine';
const MAX_BODY_BYTES = 4096;

type Handlers = typeof import('../../../lambdas/landing/handler');

const context = { awsRequestId: 'lambda-request-id' } as Context;
/** An upload notification from the landing bucket (the handler takes the ingest date from eventTime). */
const s3Record = (bucket: string, key: string): S3EventRecord =>
  landingRecord(bucket, key, {
    eventTime: '2026-11-21T09:30:00.000Z',
    size: 0,
    eTag: 'etag',
    configurationId: 'landing',
  });

const writeContracts = (dir: string): void =>
  writeMinimalContracts(dir, [
    { domain: 'sales', dataset: 'orders', format: 'csv' },
    { domain: 'web', dataset: 'clicks', format: 'ndjson' },
    { domain: 'ref', dataset: 'prices', format: 'json' },
  ]);

const sha256 = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function apiEvent(p: {
  dataset?: string;
  body?: string | null;
  headers?: Record<string, string>;
  isBase64Encoded?: boolean;
  requestId?: string;
}): APIGatewayProxyEvent {
  return {
    resource: '/datasets/{dataset}/records',
    path: `/datasets/${p.dataset}/records`,
    httpMethod: 'POST',
    headers: p.headers ?? {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: p.dataset === undefined ? null : { dataset: p.dataset },
    stageVariables: null,
    requestContext: { requestId: p.requestId ?? 'api-request-id' } as APIGatewayProxyEvent['requestContext'],
    body: p.body === undefined ? null : p.body,
    isBase64Encoded: p.isBase64Encoded ?? false,
  };
}

const s3Event = (...records: S3EventRecord[]): S3Event => ({ Records: records });
const bodyOf = (result: APIGatewayProxyResult) => JSON.parse(result.body);

describe('landing handler', () => {
  const s3 = withLocalS3([LANDING, BRONZE, QUARANTINE]);
  let handlers: Handlers;
  let contractsDir: string;
  let logLines: string[];
  let logSpy: jest.SpyInstance;
  let warnLines: string[];
  let errorLines: string[];
  const variables: Record<string, string> = {
    MEDALLION_LANDING_BUCKET: LANDING,
    MEDALLION_BRONZE_BUCKET: BRONZE,
    MEDALLION_QUARANTINE_BUCKET: QUARANTINE,
    MEDALLION_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
  };

  // The handler reads its configuration at module load: import it once the server and env are ready.
  beforeAll(async () => {
    contractsDir = mkdtempSync(join(tmpdir(), 'medallion-contracts-'));
    writeContracts(contractsDir);
    Object.assign(process.env, variables, { MEDALLION_CONTRACTS_DIR: contractsDir });
    handlers = await import('../../../lambdas/landing/handler');
  });
  afterAll(() => {
    for (const name of [...Object.keys(variables), 'MEDALLION_CONTRACTS_DIR']) delete process.env[name];
    rmSync(contractsDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    logLines = [];
    logSpy = jest.spyOn(console, 'log').mockImplementation((line: string) => logLines.push(line));
    errorLines = [];
    jest.spyOn(console, 'error').mockImplementation((line: string) => errorLines.push(line));
    warnLines = [];
    jest.spyOn(console, 'warn').mockImplementation((line: string) => warnLines.push(line));
  });
  afterEach(() => jest.restoreAllMocks());

  const post = (p: Parameters<typeof apiEvent>[0]) => handlers.apiHandler(apiEvent(p), context);
  const postCsv = (body: string, headers: Record<string, string> = {}) =>
    post({ dataset: 'orders', body, headers: { 'Content-Type': 'text/csv', ...headers } });

  describe('API door: POST /datasets/{dataset}/records', () => {
    it('answers 202 with the bronze key, stores the body byte for byte and records its provenance', async () => {
      const body = 'id,day\nA1,2026-11-20\n';
      const result = await post({
        dataset: 'orders',
        body,
        headers: { 'content-type': 'text/csv; charset=utf-8', 'X-File-Name': 'till-7.csv' },
        requestId: 'req-202',
      });

      expect(result.statusCode).toBe(202);
      const answer = bodyOf(result);
      expect(answer).toEqual({
        message: expect.any(String),
        bronzeKey: expect.stringMatching(
          new RegExp(`^sales/orders/ingest_date=\\d{4}-\\d{2}-\\d{2}/${sha256(body)}\\.csv$`),
        ),
        sha256: sha256(body),
        duplicate: false,
      });
      expect((await s3.get(BRONZE, answer.bronzeKey))?.toString()).toBe(body);
      expect((await s3.head(BRONZE, answer.bronzeKey))?.Metadata).toEqual({
        source: 'api',
        'original-name': 'till-7.csv',
        'received-at': expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
        sha256: sha256(body),
        'request-id': 'req-202',
        'content-type': 'text/csv',
      });
    });

    it('emits one structured JSON log line per landing', async () => {
      const result = await postCsv('id,day\nLOG,2026-11-20\n');
      expect(logSpy).toHaveBeenCalledTimes(1);
      expect(JSON.parse(logLines[0])).toMatchObject({
        dataset: 'orders',
        bronzeKey: bodyOf(result).bronzeKey,
        bytes: 'id,day\nLOG,2026-11-20\n'.length,
        duplicate: false,
      });
    });

    it('lands the same body sent twice once, answering the second time with duplicate: true', async () => {
      const body = 'id,day\nTWICE,2026-11-20\n';
      const first = bodyOf(await postCsv(body));
      const second = await postCsv(body);

      expect(second.statusCode).toBe(202);
      expect(bodyOf(second)).toMatchObject({ bronzeKey: first.bronzeKey, duplicate: true });
      const copies = (await s3.keys(BRONZE, 'sales/orders/')).filter((k) => k.includes(sha256(body)));
      expect(copies).toEqual([first.bronzeKey]);
    });

    it('answers a repeated Idempotency-Key with the same bronze key', async () => {
      const body = 'id,day\nIDEM,2026-11-20\n';
      const first = await postCsv(body, { 'Idempotency-Key': 'batch-42' });
      const repeat = await postCsv(body, { 'idempotency-key': 'batch-42' });

      expect(first.statusCode).toBe(202);
      expect(repeat.statusCode).toBe(202);
      expect(bodyOf(repeat)).toMatchObject({ bronzeKey: bodyOf(first).bronzeKey, duplicate: true });
    });

    it('answers 409 when an Idempotency-Key is reused with a different body, storing nothing', async () => {
      await postCsv('id,day\nK1,2026-11-20\n', { 'Idempotency-Key': 'batch-43' });
      const before = await s3.keys(BRONZE);
      const reused = await postCsv('id,day\nK2,2026-11-20\n', { 'Idempotency-Key': 'batch-43' });

      expect(reused.statusCode).toBe(409);
      expect(bodyOf(reused).message).toMatch(/Idempotency-Key/);
      expect(await s3.keys(BRONZE)).toEqual(before);
    });

    it('answers 404 for a dataset no contract declares', async () => {
      const result = await post({ dataset: 'invoices', body: 'x', headers: { 'Content-Type': 'text/csv' } });
      expect(result.statusCode).toBe(404);
      expect(bodyOf(result).message).toMatch(/unknown dataset 'invoices'/);
    });

    it('answers 413 for a body over MEDALLION_MAX_BODY_BYTES', async () => {
      const result = await postCsv('x'.repeat(MAX_BODY_BYTES + 1));
      expect(result.statusCode).toBe(413);
      expect(bodyOf(result).message).toMatch(/4097 bytes, over the limit of 4096/);
    });

    it('accepts a body of exactly MEDALLION_MAX_BODY_BYTES', async () => {
      const header = 'id,day\n';
      const body = `${header}${'y'.repeat(MAX_BODY_BYTES - header.length - 1)}\n`;
      expect((await postCsv(body)).statusCode).toBe(202);
    });

    it.each([
      ['an unsupported Content-Type', 'text/plain'],
      ['a Content-Type of another format than the contract', 'application/x-ndjson'],
      ['a missing Content-Type', undefined],
    ])('answers 415 for %s', async (_, contentType) => {
      const headers: Record<string, string> = contentType ? { 'Content-Type': contentType } : {};
      const result = await post({ dataset: 'orders', body: 'id\n1\n', headers });
      expect(result.statusCode).toBe(415);
      expect(bodyOf(result).message).toEqual(expect.any(String));
    });

    it.each([
      ['application/x-ndjson', 'clicks'],
      ['application/ndjson', 'clicks'],
      ['application/json', 'prices'],
    ])('accepts %s for a dataset of that format', async (contentType, dataset) => {
      const record = `{"id":"${contentType}","day":"2026-11-20"}`;
      const body = dataset === 'prices' ? `[${record}]` : `${record}\n`;
      const result = await post({ dataset, body, headers: { 'Content-Type': contentType } });
      expect(result.statusCode).toBe(202);
      expect(bodyOf(result).bronzeKey).toMatch(dataset === 'prices' ? /\.json$/ : /\.ndjson$/);
    });

    it.each(['../x', '%2e%2e%2fx', '..%2Fx', '/etc', '..', 'a\\b', '%2e%2e'])(
      'answers 400 for the dataset name %j, which tries to leave its prefix',
      async (dataset) => {
        const result = await post({ dataset, body: 'id\n1\n', headers: { 'Content-Type': 'text/csv' } });
        expect(result.statusCode).toBe(400);
        expect(bodyOf(result).message).toMatch(/dataset name/);
      },
    );

    it('answers 400 for an empty body', async () => {
      expect((await postCsv('')).statusCode).toBe(400);
      const none = await post({ dataset: 'orders', body: null, headers: { 'Content-Type': 'text/csv' } });
      expect(none.statusCode).toBe(400);
      expect(bodyOf(none).message).toMatch(/empty/);
    });

    it('decodes a base64 body and stores the decoded bytes', async () => {
      const body = 'id,day\nB64,2026-11-20\n';
      const result = await post({
        dataset: 'orders',
        body: Buffer.from(body).toString('base64'),
        isBase64Encoded: true,
        headers: { 'Content-Type': 'text/csv' },
      });
      expect(result.statusCode).toBe(202);
      expect((await s3.get(BRONZE, bodyOf(result).bronzeKey))?.toString()).toBe(body);
      expect(bodyOf(result).sha256).toBe(sha256(body));
    });

    it('stores a Content-Encoding: gzip body as the gzip bytes received, under a .csv.gz key', async () => {
      const gzipped = gzipSync('id,day\nGZ,2026-11-20\n');
      const result = await post({
        dataset: 'orders',
        body: gzipped.toString('base64'),
        isBase64Encoded: true,
        headers: { 'CONTENT-TYPE': 'text/csv', 'Content-Encoding': 'gzip' },
      });
      expect(result.statusCode).toBe(202);
      const { bronzeKey } = bodyOf(result);
      expect(bronzeKey).toMatch(/\.csv\.gz$/);
      expect((await s3.get(BRONZE, bronzeKey))?.equals(gzipped)).toBe(true);
    });
  });

  describe('S3 door: ObjectCreated in the landing bucket', () => {
    it('lands a file whose name has spaces, + and non-ASCII characters byte for byte and clears landing', async () => {
      const name = 'ventes du jour+1 (été) 日本.csv';
      const key = `sales/orders/${name}`;
      const body = 'id,day\nS3,2026-11-21\n';
      await s3.put(LANDING, key, body, { ContentType: 'text/csv' });

      await handlers.s3Handler(s3Event(s3Record(LANDING, key)), context);

      const bronzeKey = `sales/orders/ingest_date=2026-11-21/${sha256(body)}.csv`;
      expect((await s3.get(BRONZE, bronzeKey))?.toString()).toBe(body);
      const metadata = (await s3.head(BRONZE, bronzeKey))?.Metadata ?? {};
      expect(decodeURIComponent(metadata['original-name'])).toBe(name);
      expect(metadata).toMatchObject({
        source: 's3-upload',
        'received-at': '2026-11-21T09:30:00.000Z',
        'request-id': 'S3REQUEST',
        sha256: sha256(body),
      });
      expect(await s3.get(LANDING, key)).toBeUndefined();
      expect(JSON.parse(logLines[0])).toMatchObject({ dataset: 'orders', bronzeKey, duplicate: false });
    });

    it('lands a 5 MB upload byte for byte, hashing it as a stream', async () => {
      const bytes = randomBytes(5 * 1024 * 1024);
      await s3.put(LANDING, 'sales/orders/big export.csv', bytes);

      await handlers.s3Handler(s3Event(s3Record(LANDING, 'sales/orders/big export.csv')), context);

      const stored = await s3.get(BRONZE, `sales/orders/ingest_date=2026-11-21/${sha256(bytes)}.csv`);
      expect(stored?.equals(bytes)).toBe(true);
      expect(JSON.parse(logLines[0])).toMatchObject({ bytes: bytes.length });
    });

    it('copies an upload for an unknown dataset to quarantine with its reason, and removes it from landing', async () => {
      const key = 'sales/invoices/march 2026.csv';
      await s3.put(LANDING, key, 'no contract for me');

      await handlers.s3Handler(s3Event(s3Record(LANDING, key)), context);

      const quarantined = `unknown/${key}`;
      expect((await s3.get(QUARANTINE, quarantined))?.toString()).toBe('no contract for me');
      expect((await s3.head(QUARANTINE, quarantined))?.Metadata?.reason).toMatch(/invoices/);
      const why = JSON.parse((await s3.get(QUARANTINE, `${quarantined}.reason.json`))?.toString() ?? '{}');
      expect(why).toEqual({
        reason: expect.stringMatching(/invoices/),
        sourceBucket: LANDING,
        sourceKey: key,
        receivedAt: '2026-11-21T09:30:00.000Z',
      });
      expect(await s3.get(LANDING, key)).toBeUndefined();
      expect(warnLines.map((line) => JSON.parse(line))).toEqual([
        expect.objectContaining({
          level: 'WARN',
          message: 'quarantined',
          sourceKey: key,
          quarantineKey: quarantined,
        }),
      ]);
    });

    it('tries every record, then fails the invocation, and a retry lands nothing twice', async () => {
      const good = 'sales/orders/batch-a.csv';
      const body = 'id,day\nRETRY,2026-11-21\n';
      await s3.put(LANDING, good, body);
      const event = s3Event(s3Record('somebody-elses-bucket', 'sales/orders/x.csv'), s3Record(LANDING, good));

      await expect(handlers.s3Handler(event, context)).rejects.toThrow(/1 of 2 uploads failed/);
      expect(errorLines.map((line) => JSON.parse(line))).toEqual([
        expect.objectContaining({
          level: 'ERROR',
          message: 'S3 landing failed',
          bucket: 'somebody-elses-bucket',
          key: 'sales/orders/x.csv',
          error: expect.stringMatching(/this function lands from 'landing'/),
          stack: expect.any(String),
        }),
      ]);
      const bronzeKey = `sales/orders/ingest_date=2026-11-21/${sha256(body)}.csv`;
      expect((await s3.get(BRONZE, bronzeKey))?.toString()).toBe(body);
      const afterFirst = await s3.keys(BRONZE);

      await expect(handlers.s3Handler(event, context)).rejects.toThrow(/1 of 2 uploads failed/);
      expect(await s3.keys(BRONZE)).toEqual(afterFirst);
    });

    it('is reached through the combined handler, which tells the event kinds apart', async () => {
      await s3.put(LANDING, 'web/clicks/c.ndjson', '{"id":"combined"}\n');
      await expect(
        handlers.handler(s3Event(s3Record(LANDING, 'web/clicks/c.ndjson')), context),
      ).resolves.toBeUndefined();
      expect(await s3.get(LANDING, 'web/clicks/c.ndjson')).toBeUndefined();

      const api = await handlers.handler(
        apiEvent({
          dataset: 'clicks',
          body: '{"id":"api","day":"2026-11-20"}\n',
          headers: { 'Content-Type': 'application/x-ndjson' },
        }),
        context,
      );
      expect(api?.statusCode).toBe(202);
    });
  });
});
