import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ContractRegistry } from '../../../core/contracts/load-contracts';
import { bronzeContentIndexKey, idempotencyIndexKey } from '../../../core/lake/layout';
import {
  type ApiLandingRequest,
  digestStream,
  type LandingConfig,
  landApiRequest,
  landS3Object,
  routeLandingKey,
} from '../../../lambdas/landing/landing';
import { writeMinimalContracts } from '../../support/aws-events';
import { withLocalS3 } from '../../support/local-s3';

const LANDING = 'landing';
/** Two small contracts: sales/orders (CSV) and web/clicks (NDJSON). */
const writeContracts = (dir: string): void =>
  writeMinimalContracts(dir, [
    { domain: 'sales', dataset: 'orders', format: 'csv' },
    { domain: 'web', dataset: 'clicks', format: 'ndjson', file: 'clicks.yml' },
  ]);

const BRONZE = 'bronze';
const QUARANTINE = 'quarantine';

const sha256 = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function* chunksOf(...chunks: number[][]): AsyncIterable<Uint8Array> {
  for (const c of chunks) yield Uint8Array.from(c);
}

describe('digestStream', () => {
  it('hashes a stream chunk by chunk and counts its bytes', async () => {
    const digest = await digestStream(chunksOf([104, 101], [108], [108, 111]));
    expect(digest).toEqual({ sha256: sha256('hello'), bytes: 5, gzip: false });
  });

  it('recognises the gzip magic bytes even when they arrive in two chunks', async () => {
    expect((await digestStream(chunksOf([0x1f], [0x8b, 8, 0]))).gzip).toBe(true);
    expect((await digestStream(chunksOf([0x1f], [0x8c]))).gzip).toBe(false);
    expect((await digestStream(chunksOf())).gzip).toBe(false);
  });
});

describe('routeLandingKey', () => {
  let contracts: ContractRegistry;
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'medallion-contracts-'));
    writeContracts(dir);
    contracts = ContractRegistry.fromDirectory(dir);
    rmSync(dir, { recursive: true });
  });

  it('routes <domain>/<dataset>/<name> to its contract, keeping the last segment as the name', () => {
    const route = routeLandingKey(contracts, 'sales/orders/2026/11/day one.csv');
    expect(route).toMatchObject({ contract: { id: 'sales/orders' }, name: 'day one.csv' });
  });

  it.each([
    ['sales/orders.csv', 'not <domain>/<dataset>/<file name>'],
    ['sales/orders/', 'not <domain>/<dataset>/<file name>'],
    ['sales/nope/x.csv', "no data contract declares dataset 'nope'"],
    ['web/orders/x.csv', "dataset 'orders' belongs to domain 'sales', not 'web'"],
  ])('gives a reason for %j', (key, reason) => {
    expect(routeLandingKey(contracts, key)).toEqual({ reason: expect.stringContaining(reason) });
  });
});

describe('landing against a local S3 server', () => {
  const s3 = withLocalS3([LANDING, BRONZE, QUARANTINE]);
  const logs: Record<string, unknown>[] = [];
  let today = new Date('2026-11-21T10:00:00Z');
  let config: LandingConfig;
  let contractsDir: string;

  beforeAll(() => {
    contractsDir = mkdtempSync(join(tmpdir(), 'medallion-contracts-'));
    writeContracts(contractsDir);
    config = {
      s3: s3.client,
      contracts: ContractRegistry.fromDirectory(contractsDir),
      landingBucket: LANDING,
      bronzeBucket: BRONZE,
      quarantineBucket: QUARANTINE,
      maxBodyBytes: 64 * 1024,
      now: () => today,
      log: (entry) => logs.push(entry),
    };
  });
  afterAll(() => rmSync(contractsDir, { recursive: true, force: true }));
  beforeEach(() => {
    logs.length = 0;
    today = new Date('2026-11-21T10:00:00Z');
  });

  const csvRequest = (body: string | Buffer, headers: Record<string, string> = {}): ApiLandingRequest => ({
    dataset: 'orders',
    headers: { 'Content-Type': 'text/csv', ...headers },
    body: Buffer.from(body),
    requestId: 'api-req-1',
  });

  describe('landApiRequest', () => {
    it('stores new bytes under the content-addressed bronze key with their provenance as metadata', async () => {
      const body = 'id,day\n1,2026-11-20\n';
      const landed = await landApiRequest(config, csvRequest(body, { 'X-File-Name': 'résumé de nuit.csv' }));

      const hash = sha256(body);
      expect(landed).toEqual({
        bronzeKey: `sales/orders/ingest_date=2026-11-21/${hash}.csv`,
        sha256: hash,
        duplicate: false,
      });
      expect((await s3.get(BRONZE, landed.bronzeKey))?.toString()).toBe(body);
      const head = await s3.head(BRONZE, landed.bronzeKey);
      expect(head?.ContentType).toBe('text/csv');
      expect(head?.Metadata).toEqual({
        source: 'api',
        'original-name': encodeURIComponent('résumé de nuit.csv'),
        'received-at': '2026-11-21T10:00:00.000Z',
        sha256: hash,
        'request-id': 'api-req-1',
        'content-type': 'text/csv',
      });
      expect(logs).toEqual([
        expect.objectContaining({
          dataset: 'orders',
          bronzeKey: landed.bronzeKey,
          bytes: body.length,
          duplicate: false,
        }),
      ]);
    });

    it('writes a content index marker holding the bronze key, after the bronze object', async () => {
      const body = 'id,day\n2,2026-11-20\n';
      const landed = await landApiRequest(config, csvRequest(body));
      const marker = bronzeContentIndexKey('sales', 'orders', sha256(body));
      expect((await s3.get(BRONZE, marker))?.toString()).toBe(landed.bronzeKey);
      expect((await s3.head(BRONZE, marker))?.Metadata?.sha256).toBe(sha256(body));
    });

    it('answers bytes that landed on an earlier day with the earlier bronze key, writing nothing', async () => {
      const body = 'id,day\n3,2026-11-20\n';
      const first = await landApiRequest(config, csvRequest(body));
      today = new Date('2026-11-25T08:00:00Z');
      const again = await landApiRequest(config, csvRequest(body));

      expect(again).toEqual({ ...first, duplicate: true });
      expect(await s3.keys(BRONZE, 'sales/orders/ingest_date=2026-11-25/')).toEqual([]);
    });

    it('stores a gzip body as it came, with a .csv.gz extension, announced or recognised by its bytes', async () => {
      const announced = gzipSync('id,day\n4,2026-11-20\n');
      const a = await landApiRequest(config, csvRequest(announced, { 'Content-Encoding': 'gzip' }));
      expect(a.bronzeKey).toMatch(/\.csv\.gz$/);
      expect((await s3.get(BRONZE, a.bronzeKey))?.equals(announced)).toBe(true);
      expect((await s3.head(BRONZE, a.bronzeKey))?.ContentType).toBe('application/gzip');

      const unannounced = gzipSync('id,day\n5,2026-11-20\n');
      const b = await landApiRequest(config, csvRequest(unannounced));
      expect(b.bronzeKey).toMatch(/\.csv\.gz$/);
    });

    it('refuses a body announced as gzip that is not (400) and encodings other than gzip (415)', async () => {
      await expect(
        landApiRequest(config, csvRequest('id\n', { 'content-encoding': 'gzip' })),
      ).rejects.toMatchObject({
        statusCode: 400,
      });
      await expect(
        landApiRequest(config, csvRequest('id\n', { 'content-encoding': 'br' })),
      ).rejects.toMatchObject({
        statusCode: 415,
      });
    });

    it('refuses an X-File-Name that is not a plain file name', async () => {
      const request = csvRequest('id\n', { 'x-file-name': '../../etc/passwd' });
      await expect(landApiRequest(config, request)).rejects.toMatchObject({
        statusCode: 400,
        message: 'X-File-Name "../../etc/passwd" contains a path separator',
      });
    });

    it('records an Idempotency-Key as a marker whose body is the bronze key and metadata the sha256', async () => {
      const body = 'id,day\n6,2026-11-20\n';
      const landed = await landApiRequest(config, csvRequest(body, { 'Idempotency-Key': 'order-batch-6' }));
      const marker = idempotencyIndexKey('sales', 'orders', 'order-batch-6');
      expect((await s3.get(BRONZE, marker))?.toString()).toBe(landed.bronzeKey);
      expect((await s3.head(BRONZE, marker))?.Metadata?.sha256).toBe(sha256(body));
    });
  });

  describe('landApiRequest: what the body holds', () => {
    const ndjsonRequest = (
      body: string | Buffer,
      headers: Record<string, string> = {},
    ): ApiLandingRequest => ({
      dataset: 'clicks',
      headers: { 'Content-Type': 'application/x-ndjson', ...headers },
      body: Buffer.from(body),
      requestId: 'api-req-2',
    });
    const refused = (request: ApiLandingRequest, statusCode: number, message: string) =>
      expect(landApiRequest(config, request)).rejects.toMatchObject({ statusCode, message });

    it('decodes a percent-encoded X-File-Name once and records the name it names', async () => {
      const landed = await landApiRequest(
        config,
        csvRequest('id,day\n11,2026-11-20\n', { 'X-File-Name': 'r%C3%A9sum%C3%A9%20100%25%2B.csv' }),
      );
      const meta = (await s3.head(BRONZE, landed.bronzeKey))?.Metadata ?? {};
      expect(decodeURIComponent(meta['original-name'])).toBe('résumé 100%+.csv');
    });

    it('matches the CSV header as the transform does: quoted, any case, other columns allowed', async () => {
      const body = '\ufeff"ID", "Day" ,"note, with comma"\r\n12,2026-11-20,x\r\n';
      await expect(landApiRequest(config, csvRequest(body))).resolves.toMatchObject({ duplicate: false });
      await refused(
        csvRequest('"id,day"\n1\n'),
        400,
        "the request body: the CSV header lacks required column(s) of dataset 'orders': id, day (header: id,day)",
      );
      await refused(csvRequest(' , \n1\n'), 400, 'the request body: the CSV header line is empty');
    });

    it('accepts NDJSON with a BOM, CRLF line ends and blank lines, numbering records by line', async () => {
      const ok = '\ufeff{"id":"a","day":"2026-11-20"}\r\n\r\n{"id":"b","day":"2026-11-20"}\r\n';
      await expect(landApiRequest(config, ndjsonRequest(ok))).resolves.toMatchObject({ duplicate: false });
      await refused(
        ndjsonRequest('{"id":"a","day":"2026-11-20"}\n\n{"id":{"n":7}}\n'),
        400,
        "the request body: 2 problem(s) against the contract of dataset 'clicks': " +
          "record 3: column 'id' is string, got an object; record 3: column 'day' is required but missing",
      );
      await refused(ndjsonRequest('\n \n'), 400, 'the request body: no JSON record in the body');
    });

    it('names where JSON breaks even when the parser does not', async () => {
      await refused(
        ndjsonRequest('{"id":"a","day":"2026-11-20"}\n{"id": tru}\n'),
        400,
        "the request body: line 2 is not valid JSON at column 11: Unexpected token '}'",
      );
      await refused(
        ndjsonRequest('{"id":"a","day":"2026-11-20"} {}\n'),
        400,
        'the request body: line 1 is not valid JSON at column 31: Unexpected non-whitespace character after JSON',
      );
    });

    it('refuses gzip that does not inflate (400) or inflates past the cap (413), storing nothing', async () => {
      const before = await s3.keys(BRONZE);
      const truncated = gzipSync('{"id":"a","day":"2026-11-20"}\n').subarray(0, 15);
      await refused(
        ndjsonRequest(truncated, { 'Content-Encoding': 'gzip' }),
        400,
        'the request body: the gzip body cannot be decompressed: unexpected end of file',
      );
      const small = { ...config, maxDecompressedBodyBytes: 100 };
      const big = gzipSync(`${'{"id":"a","day":"2026-11-20"}\n'.repeat(10)}`);
      await expect(landApiRequest(small, ndjsonRequest(big))).rejects.toMatchObject({
        statusCode: 413,
        message:
          'the request body: the gzip body decompresses to more than 100 bytes: upload large files to the landing bucket',
      });
      expect(await s3.keys(BRONZE)).toEqual(before);
    });
  });

  describe('landS3Object', () => {
    it('streams a 5 MB upload through the hash in many chunks and copies it to bronze byte for byte', async () => {
      const bytes = randomBytes(5 * 1024 * 1024);
      const key = 'sales/orders/big.csv';
      await s3.put(LANDING, key, bytes);

      // The SDK hands the object over in chunks; the digest consumes them one at a time.
      const chunkSizes: number[] = [];
      const out = await s3.client.send(new GetObjectCommand({ Bucket: LANDING, Key: key }));
      async function* recorded() {
        for await (const chunk of out.Body as AsyncIterable<Uint8Array>) {
          chunkSizes.push(chunk.length);
          yield chunk;
        }
      }
      const digest = await digestStream(recorded());
      expect(digest).toEqual({ sha256: sha256(bytes), bytes: bytes.length, gzip: false });
      expect(chunkSizes.length).toBeGreaterThan(10);
      expect(Math.max(...chunkSizes)).toBeLessThan(1024 * 1024);

      const result = await landS3Object(config, { bucket: LANDING, key, requestId: 's3-req' });
      expect(result).toEqual({
        outcome: 'landed',
        bronzeKey: `sales/orders/ingest_date=2026-11-21/${sha256(bytes)}.csv`,
        sha256: sha256(bytes),
        duplicate: false,
      });
      expect(
        (await s3.get(BRONZE, `sales/orders/ingest_date=2026-11-21/${sha256(bytes)}.csv`))?.equals(bytes),
      ).toBe(true);
      expect(await s3.get(LANDING, key)).toBeUndefined();
      expect(logs).toEqual([
        expect.objectContaining({ source: 's3-upload', bytes: bytes.length, duplicate: false }),
      ]);
    });

    it('dates the bronze key and received-at by the time S3 received the upload', async () => {
      await s3.put(LANDING, 'web/clicks/c.ndjson', '{"id":"c1","day":"2026-11-19"}\n', {
        ContentType: 'application/x-ndjson',
      });
      const receivedAt = new Date('2026-11-19T23:59:59Z');
      const result = await landS3Object(config, {
        bucket: LANDING,
        key: 'web/clicks/c.ndjson',
        requestId: 'r',
        receivedAt,
      });
      if (result.outcome !== 'landed') throw new Error(`not landed: ${result.outcome}`);
      expect(result.bronzeKey).toMatch(/^web\/clicks\/ingest_date=2026-11-19\/[0-9a-f]{64}\.ndjson$/);
      expect((await s3.head(BRONZE, result.bronzeKey))?.Metadata).toMatchObject({
        source: 's3-upload',
        'original-name': 'c.ndjson',
        'received-at': '2026-11-19T23:59:59.000Z',
        'request-id': 'r',
        'content-type': 'application/x-ndjson',
      });
    });

    it('detects a gzip upload by its magic bytes whatever its name', async () => {
      const bytes = gzipSync('id,day\n7,2026-11-20\n');
      await s3.put(LANDING, 'sales/orders/export.csv', bytes);
      const result = await landS3Object(config, {
        bucket: LANDING,
        key: 'sales/orders/export.csv',
        requestId: 'r',
      });
      expect(result).toMatchObject({ outcome: 'landed', bronzeKey: expect.stringMatching(/\.csv\.gz$/) });
    });

    it('treats an upload of bytes that already came through the API as a duplicate and clears landing', async () => {
      const body = 'id,day\n8,2026-11-20\n';
      const viaApi = await landApiRequest(config, csvRequest(body));
      await s3.put(LANDING, 'sales/orders/same.csv', body);
      const result = await landS3Object(config, {
        bucket: LANDING,
        key: 'sales/orders/same.csv',
        requestId: 'r',
      });
      expect(result).toEqual({ outcome: 'landed', ...viaApi, duplicate: true });
      expect(await s3.get(LANDING, 'sales/orders/same.csv')).toBeUndefined();
    });

    it('reports an object that is no longer in landing as gone (a redelivered event) and writes nothing', async () => {
      const before = await s3.keys(BRONZE);
      const result = await landS3Object(config, {
        bucket: LANDING,
        key: 'sales/orders/gone.csv',
        requestId: 'r',
      });
      expect(result).toEqual({ outcome: 'gone' });
      expect(await s3.keys(BRONZE)).toEqual(before);
    });

    it('moves an upload whose domain does not own the dataset to quarantine, with its reason', async () => {
      await s3.put(LANDING, 'web/orders/x.csv', 'id\n1\n');
      const result = await landS3Object(config, { bucket: LANDING, key: 'web/orders/x.csv', requestId: 'r' });

      const reason = "dataset 'orders' belongs to domain 'sales', not 'web'";
      expect(result).toEqual({ outcome: 'quarantined', quarantineKey: 'unknown/web/orders/x.csv', reason });
      expect((await s3.get(QUARANTINE, 'unknown/web/orders/x.csv'))?.toString()).toBe('id\n1\n');
      expect((await s3.head(QUARANTINE, 'unknown/web/orders/x.csv'))?.Metadata?.reason).toBe(reason);
      const why = JSON.parse(
        (await s3.get(QUARANTINE, 'unknown/web/orders/x.csv.reason.json'))?.toString() ?? '',
      );
      expect(why).toEqual({
        reason,
        sourceBucket: LANDING,
        sourceKey: 'web/orders/x.csv',
        receivedAt: '2026-11-21T10:00:00.000Z',
      });
      expect(await s3.get(LANDING, 'web/orders/x.csv')).toBeUndefined();
    });

    it('moves a key that is not <domain>/<dataset>/<name> to quarantine', async () => {
      await s3.put(LANDING, 'stray.csv', 'x');
      const result = await landS3Object(config, { bucket: LANDING, key: 'stray.csv', requestId: 'r' });
      expect(result).toMatchObject({ outcome: 'quarantined', quarantineKey: 'unknown/stray.csv' });
      expect((await s3.get(QUARANTINE, 'unknown/stray.csv'))?.toString()).toBe('x');
      expect(await s3.get(LANDING, 'stray.csv')).toBeUndefined();
    });
  });
});
