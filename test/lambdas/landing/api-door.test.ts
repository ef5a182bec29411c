import { gzipSync } from 'node:zlib';
import { type ApiLandingRequest, landApiRequest } from '../../../lambdas/landing/api-door';
import type { LandingConfig } from '../../../lambdas/landing/landing-config';
import { BRONZE, csvRequest, ndjsonRequest, sha256, withLanding } from '../../support/landing-fixture';

describe('landApiRequest against a local S3 server', () => {
  const landing = withLanding();
  const { s3, logs } = landing;
  let config: LandingConfig;
  beforeAll(() => {
    config = landing.config;
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

    it('records X-Expected-Rows as the bronze metadata expected-rows, and refuses one that is not a count (400)', async () => {
      const landed = await landApiRequest(
        config,
        csvRequest('id,day\n1011,2026-11-20\n', { 'X-Expected-Rows': ' 1 ' }),
      );
      expect((await s3.head(BRONZE, landed.bronzeKey))?.Metadata?.['expected-rows']).toBe('1');
      for (const bad of ['-1', '1e3', 'one', '', '1234567890123456']) {
        const before = await s3.keys(BRONZE);
        await expect(
          landApiRequest(config, csvRequest('id,day\n1012,2026-11-20\n', { 'x-expected-rows': bad })),
        ).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining('X-Expected-Rows') });
        expect(await s3.keys(BRONZE)).toEqual(before);
      }
    });

    it('refuses an X-File-Name that is not a plain file name', async () => {
      const request = csvRequest('id\n', { 'x-file-name': '../../etc/passwd' });
      await expect(landApiRequest(config, request)).rejects.toMatchObject({
        statusCode: 400,
        message: 'X-File-Name "../../etc/passwd" contains a path separator',
      });
    });
  });

  describe('landApiRequest: what the body holds', () => {
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
});
