/**
 * Evidence, the API door: hostile dataset names (12), bad payloads (23) and authentication (24), over real
 * HTTP to the local API, which here requires AWS_IAM (SigV4) as the deployed API does. Every refusal is
 * checked to its status and message, and every bucket is listed afterwards: nothing was written.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Template } from 'aws-cdk-lib/assertions';
import { createMedallionApp } from '../../lib/medallion-app';
import { AUTH_ERRORS, LocalApiServer } from '../../local/cloud/api-gateway';
import { testContext } from '../support/cdk';
import { post, type Signing, signedHeaders } from '../support/evidence/api-client';
import { recordEvidence, recordManifest } from '../support/evidence/evidence';
import { SAMPLES, withLocalCloud } from '../support/evidence/local-cloud';

/** The sample contracts plus one JSON-array dataset, so the `json` format's checks run for real too. */
const contractsDir = mkdtempSync(join(tmpdir(), 'medallion-evidence-contracts-'));
for (const file of ['customers.yaml', 'orders.yaml', 'products.yaml']) {
  writeFileSync(join(contractsDir, file), readFileSync(join(SAMPLES, 'contracts', file)));
}
writeFileSync(
  join(contractsDir, 'prices.yaml'),
  `domain: retail
dataset: prices
source:
  format: json
columns:
  - name: product_id
    type: string
    required: true
  - name: price
    type: decimal(10,2)
    required: true
  - name: on_sale
    type: boolean
  - name: valid_from
    type: date
    required: true
primaryKey: [product_id]
partition:
  column: valid_from
`,
);
afterAll(() => rmSync(contractsDir, { recursive: true, force: true }));

const local = withLocalCloud({ contractsDir, apiAuth: true });

const ORDERS_HEADER =
  'order_id,order_ts,updated_at,customer_id,store_id,product_id,quantity,unit_price,currency,status';
const ORDERS_CSV = `${ORDERS_HEADER}\nO-7001,2026-11-06 10:00:00,2026-11-06T09:00:00Z,C001,S1,P001,1,9.99,EUR,placed\n`;
const CUSTOMER = {
  customer_id: 'C100',
  email: 'c100@example.com',
  signup_date: '2026-01-15',
  updated_at: '2026-11-05T09:00:00Z',
};
const ndjson = (...records: unknown[]) => `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;

const signing = (): Signing => ({
  credentials: local.cloud.apiCredentials,
  region: local.cloud.env.AWS_REGION,
});
const api = () => local.cloud.endpoints.api as string;
/** A signed POST of `body` to `path` (sent verbatim). */
const signedPost = (path: string, body: string | Buffer, headers: Record<string, string>) =>
  post(api(), path, body, headers, signing());
const answerOf = (a: { status: number; json?: { message?: string } }) => ({
  status: a.status,
  message: a.json?.message,
});

describe('scenario 12: hostile dataset names through the API answer 400 naming the problem, 404 only for a well-formed unknown name, and write nothing', () => {
  const long = 'a'.repeat(300);
  const cases: [string, number, string][] = [
    ['/datasets/../x/records', 400, `invalid path "/datasets/../x/records": '..' is a relative path segment`],
    // Before: the local API resolved dot segments, so this one landed in orders.
    [
      '/datasets/x/../orders/records',
      400,
      `invalid path "/datasets/x/../orders/records": '..' is a relative path segment`,
    ],
    [
      '/datasets/%2e%2e/records',
      400,
      `invalid path "/datasets/%2e%2e/records": '%2e%2e' is a relative path segment`,
    ],
    ['/datasets/./records', 400, `invalid path "/datasets/./records": '.' is a relative path segment`],
    [
      '/datasets//etc/passwd/records',
      400,
      'invalid path "/datasets//etc/passwd/records": it has an empty path segment',
    ],
    ['/datasets/..%2Fx/records', 400, 'dataset name "..%2Fx" contains a percent-encoded sequence'],
    ['/datasets/%2e%2e%2f/records', 400, 'dataset name "%2e%2e%2f" contains a percent-encoded sequence'],
    [
      '/datasets/%2Fetc%2Fpasswd/records',
      400,
      'dataset name "%2Fetc%2Fpasswd" contains a percent-encoded sequence',
    ],
    ['/datasets/orders%00/records', 400, 'dataset name "orders%00" contains a percent-encoded sequence'],
    [`/datasets/${long}/records`, 400, `dataset name "${long}" is longer than 255 characters`],
    ['/datasets/nope/records', 404, "unknown dataset 'nope': no data contract declares it"],
  ];

  it.each(cases)('POST %s -> %i', async (path, status, message) => {
    const before = await local.snapshot();
    const answer = await signedPost(path, ORDERS_CSV, { 'Content-Type': 'text/csv' });
    expect(answerOf(answer)).toEqual({ status, message });
    expect(await local.snapshot()).toEqual(before);
  });

  it('the same body under the real name lands (the refusals above were about the name only)', async () => {
    const answer = await signedPost('/datasets/orders/records', ORDERS_CSV, { 'Content-Type': 'text/csv' });
    expect(answer.status).toBe(202);
    expect(answer.json?.bronzeKey).toMatch(
      /^retail\/orders\/ingest_date=\d{4}-\d{2}-\d{2}\/[0-9a-f]{64}\.csv$/,
    );
    await local.cloud.whenIdle();
    const manifest = await local.manifest(answer.json?.bronzeKey as string);
    recordManifest(12, manifest);
    expect(manifest.rows).toEqual({ in: 1, out: 1, quarantined: 0, duplicates: 0 });
  });
});

describe('scenario 23: oversize, malformed and schema-mismatched API payloads answer 413/400 with a clear message, and nothing reaches bronze', () => {
  const NDJSON = { 'Content-Type': 'application/x-ndjson', 'X-File-Name': 'customers.ndjson' };
  const JSON_ = { 'Content-Type': 'application/json', 'X-File-Name': 'prices.json' };
  const CSV = { 'Content-Type': 'text/csv', 'X-File-Name': 'orders.csv' };
  const maxBody = () => Number(local.cloud.env.MEDALLION_MAX_BODY_BYTES);
  const PRICE = { product_id: 'P001', price: 9.99, on_sale: false, valid_from: '2026-11-01' };

  type Request = () => [path: string, body: string | Buffer, headers: Record<string, string>];
  const cases: [what: string, status: number, message: () => string, request: Request][] = [
    [
      'a body one byte over the function limit',
      413,
      () =>
        `the request body is ${maxBody() + 1} bytes, over the limit of ${maxBody()}: upload large files to the landing bucket`,
      () => ['/datasets/orders/records', `${ORDERS_HEADER}\n`.padEnd(maxBody() + 1, 'x'), CSV],
    ],
    [
      "a body over API Gateway's 10 MiB",
      413,
      () => 'Request Too Long',
      () => ['/datasets/orders/records', `${ORDERS_HEADER}\n`.padEnd(10 * 1024 * 1024 + 1, 'x'), CSV],
    ],
    [
      'a gzip body that inflates past the cap',
      413,
      () =>
        'customers.ndjson: the gzip body decompresses to more than 33554432 bytes: upload large files to the landing bucket',
      () => {
        const line = `${JSON.stringify(CUSTOMER)}\n`;
        const body = gzipSync(line.repeat(Math.ceil((32 * 1024 * 1024) / line.length) + 1));
        return ['/datasets/customers/records', body, { ...NDJSON, 'Content-Encoding': 'gzip' }];
      },
    ],
    [
      'an NDJSON line that is not JSON',
      400,
      () => "customers.ndjson: line 3 is not valid JSON at column 32: Unexpected token 'x'",
      () => [
        '/datasets/customers/records',
        `${JSON.stringify(CUSTOMER)}\n\n{"customer_id": "C2", "email": x}\n`,
        NDJSON,
      ],
    ],
    [
      'NDJSON records that break the contract structurally',
      400,
      () =>
        "customers.ndjson: 5 problem(s) against the contract of dataset 'customers': " +
        "record 2: column 'email' is required but missing; record 3: column 'email' is required but null; " +
        "record 3: column 'signup_date' is date, got a number; record 4: not a JSON object (got an array); " +
        "record 5: column 'full_name' is string, got an object",
      () => [
        '/datasets/customers/records',
        ndjson(
          CUSTOMER,
          { ...CUSTOMER, email: undefined },
          { ...CUSTOMER, signup_date: 20260115, email: null },
          [CUSTOMER],
          { ...CUSTOMER, full_name: { first: 'A' } },
        ),
        NDJSON,
      ],
    ],
    [
      'more problems than a message lists',
      400,
      () =>
        "customers.ndjson: 8 problem(s) against the contract of dataset 'customers': " +
        Array.from({ length: 5 }, (_, i) => `record ${i + 1}: not a JSON object (got a string)`).join('; ') +
        '; and 3 more',
      () => ['/datasets/customers/records', ndjson(...Array.from({ length: 8 }, () => 'x')), NDJSON],
    ],
    [
      'a gzip NDJSON body whose records break the contract',
      400,
      () =>
        "customers.ndjson: 1 problem(s) against the contract of dataset 'customers': record 1: column 'customer_id' is required but missing",
      () => [
        '/datasets/customers/records',
        gzipSync(ndjson({ ...CUSTOMER, customer_id: undefined })),
        { ...NDJSON, 'Content-Encoding': 'gzip' },
      ],
    ],
    [
      'a JSON array that is not JSON',
      400,
      () => 'prices.json: not valid JSON at line 3 column 23: Expected double-quoted property name',
      () => ['/datasets/prices/records', `[\n  ${JSON.stringify(PRICE)},\n  {"product_id": "P2",}\n]`, JSON_],
    ],
    [
      'a JSON document that is not an array',
      400,
      () => "prices.json: dataset 'prices' takes a JSON array of objects, got an object",
      () => ['/datasets/prices/records', JSON.stringify(PRICE), JSON_],
    ],
    [
      'JSON array records of the wrong JSON types',
      400,
      () =>
        "prices.json: 3 problem(s) against the contract of dataset 'prices': " +
        "record 2: column 'price' is decimal(10,2), got a boolean; record 2: column 'on_sale' is boolean, got a number; " +
        'record 3: not a JSON object (got null)',
      () => [
        '/datasets/prices/records',
        JSON.stringify([PRICE, { ...PRICE, price: true, on_sale: 1 }, null]),
        JSON_,
      ],
    ],
    [
      'a CSV header without required columns',
      400,
      () =>
        "orders.csv: the CSV header lacks required column(s) of dataset 'orders': updated_at, customer_id, " +
        'store_id, product_id, unit_price, currency (header: order_id, order_ts, quantity)',
      () => ['/datasets/orders/records', 'order_id,order_ts,quantity\nO-1,2026-11-06 10:00:00,1\n', CSV],
    ],
    [
      'a body that is not UTF-8',
      400,
      () => 'customers.ndjson: the body is not valid UTF-8 text',
      () => ['/datasets/customers/records', Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), NDJSON],
    ],
  ];

  it.each(cases)('%s -> %i', async (what, status, message, request) => {
    const before = await local.snapshot();
    const [path, body, headers] = request();
    const answer = await signedPost(path, body, headers);
    expect(answerOf(answer)).toEqual({ status, message: message() });
    await local.cloud.whenIdle();
    expect(await local.snapshot()).toEqual(before);
    recordEvidence({
      kind: 'note',
      scenario: 23,
      name: `${status} for ${what}`,
      value: Math.round(answer.ms),
      unit: 'ms',
    });
  });

  it('structurally sound files with bad values still land: their rows are quarantined in silver, by rule', async () => {
    const sample = readFileSync(join(SAMPLES, 'data', 'customers', 'customers.ndjson'));
    const customers = await signedPost('/datasets/customers/records', sample, NDJSON);
    const prices = await signedPost(
      '/datasets/prices/records',
      JSON.stringify([PRICE, { ...PRICE, product_id: 'P002', price: 'cheap' }]),
      JSON_,
    );
    expect([customers.status, prices.status]).toEqual([202, 202]);
    await local.cloud.whenIdle();
    const customersManifest = await local.manifest(customers.json?.bronzeKey as string);
    const pricesManifest = await local.manifest(prices.json?.bronzeKey as string);
    recordManifest(23, customersManifest);
    recordManifest(23, pricesManifest);
    expect(customersManifest.rows).toEqual({ in: 11, out: 10, quarantined: 1, duplicates: 0 });
    expect(customersManifest.quarantinedByReason).toEqual({ 'signup_date|type': 1 });
    expect(pricesManifest.rows).toEqual({ in: 2, out: 1, quarantined: 1, duplicates: 0 });
    expect(pricesManifest.quarantinedByReason).toEqual({ 'price|type': 1 });
  });
});

describe('scenario 24: every API method requires authentication; the local API refuses unsigned or badly signed calls when auth is on', () => {
  it('the synthesized template puts AWS_IAM on every method but OPTIONS', () => {
    const { stack } = createMedallionApp({
      context: testContext({ medallion: { account: '111111111111', region: 'eu-west-1' } }),
    });
    const methods = Object.values(Template.fromStack(stack).findResources('AWS::ApiGateway::Method'));
    const guarded = methods.filter((m) => m.Properties.HttpMethod !== 'OPTIONS');
    expect(guarded.length).toBeGreaterThan(0);
    expect(guarded.map((m) => [m.Properties.HttpMethod, m.Properties.AuthorizationType])).toEqual(
      guarded.map((m) => [m.Properties.HttpMethod, 'AWS_IAM']),
    );
    recordEvidence({
      kind: 'note',
      scenario: 24,
      name: 'API methods requiring AWS_IAM',
      value: guarded.length,
    });
  });

  const path = '/datasets/customers/records';
  const headers = { 'Content-Type': 'application/x-ndjson' };
  const body = (n: number) => ndjson({ ...CUSTOMER, customer_id: `A${n}` });

  it('refuses an unsigned call, a wrong secret, a tampered body and a stale signature with 403, storing nothing', async () => {
    const before = await local.snapshot();
    const unsigned = await post(api(), path, body(1), headers);
    expect(answerOf(unsigned)).toEqual({ status: 403, message: 'Missing Authentication Token' });
    expect(unsigned.headers['x-amzn-errortype']).toBe('MissingAuthenticationTokenException');

    const { accessKeyId } = local.cloud.apiCredentials;
    const wrongSecret = await post(api(), path, body(2), headers, {
      ...signing(),
      credentials: { accessKeyId, secretAccessKey: 'not-the-secret' },
    });
    expect(answerOf(wrongSecret)).toEqual({ status: 403, message: AUTH_ERRORS.mismatch.message });
    expect(wrongSecret.json?.message).toMatch(/^The request signature we calculated does not match/);

    const unknownKey = await post(api(), path, body(3), headers, {
      ...signing(),
      credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' },
    });
    expect(answerOf(unknownKey)).toEqual({ status: 403, message: AUTH_ERRORS.unknownKey.message });

    // Signed for one body, sent with another: the signature covers the payload hash.
    const forBody4 = await signedHeaders(api(), path, body(4), headers, signing());
    const tampered = await post(api(), path, body(5), forBody4);
    expect(answerOf(tampered)).toEqual({ status: 403, message: AUTH_ERRORS.mismatch.message });

    const stale = await post(api(), path, body(6), headers, {
      ...signing(),
      date: new Date(Date.now() - 10 * 60 * 1000),
    });
    expect(stale.status).toBe(403);
    expect(stale.json?.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now outside 5 min\. of/);

    await local.cloud.whenIdle();
    expect(await local.snapshot()).toEqual(before);
  });

  it('accepts a call signed with the local credentials, and lands it', async () => {
    const answer = await post(api(), path, body(7), headers, signing());
    expect(answer.status).toBe(202);
    await local.cloud.whenIdle();
    const manifest = await local.manifest(answer.json?.bronzeKey as string);
    recordManifest(24, manifest);
    expect(manifest.rows).toEqual({ in: 1, out: 1, quarantined: 0, duplicates: 0 });
  });

  it('with auth off (the default) the same unsigned call is accepted, as before', async () => {
    const open = new LocalApiServer((event) => local.cloud.invokeApi(event));
    const { endpoint } = await open.start(0);
    try {
      const answer = await post(endpoint, path, body(8), headers);
      expect(answer.status).toBe(202);
      await local.cloud.whenIdle();
      expect((await local.manifest(answer.json?.bronzeKey as string)).status).toBe('ok');
    } finally {
      await open.stop();
    }
  });
});
