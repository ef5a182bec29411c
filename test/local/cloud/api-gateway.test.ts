import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { PortInUseError } from '../../../core/errors';
import {
  API_MAX_PAYLOAD_BYTES,
  type ApiCredentials,
  AUTH_ERRORS,
  INGEST_RESOURCE,
  ingestEvent,
  type LocalApiAuth,
  LocalApiServer,
  NodeSha256,
  proxyEvent,
  verifySignature,
} from '../../../local/cloud/api-gateway';

const CREDENTIALS: ApiCredentials = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-secret' };
const AUTH: LocalApiAuth = { credentials: [CREDENTIALS], region: 'eu-west-1' };

interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/** Sends one request over real HTTP with the path exactly as given (fetch would resolve dot segments). */
function send(
  endpoint: string,
  method: string,
  path: string,
  body: Buffer | string = '',
  headers: Record<string, string> = {},
): Promise<Answer> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const answerHeaders: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) answerHeaders[name] = String(value);
        resolve({
          status: res.statusCode ?? 0,
          headers: answerHeaders,
          text: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The headers an AWS SDK client sends for this request, signed with SigV4 for `execute-api`. */
async function signed(
  request: { path: string; query?: Record<string, string>; body: Buffer; headers?: Record<string, string> },
  options: { credentials?: ApiCredentials; region?: string; date?: Date; host?: string } = {},
): Promise<[string, string][]> {
  const signer = new SignatureV4({
    credentials: options.credentials ?? CREDENTIALS,
    region: options.region ?? AUTH.region,
    service: 'execute-api',
    sha256: NodeSha256,
  });
  const host = options.host ?? '127.0.0.1:4567';
  const out = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: request.path,
      query: request.query ?? {},
      headers: { ...request.headers, host },
      body: request.body,
    },
    { signingDate: options.date },
  );
  return Object.entries(out.headers).map(([n, v]) => [n, String(v)]);
}

/** A bare POST /x with `body`. */
const postToX = (body: Buffer) =>
  proxyEvent({ method: 'POST', path: '/x', resource: '/x', pathParameters: null, headers: [], body });

describe('proxyEvent', () => {
  it('builds the REST API proxy event: headers as sent, repeated ones in multiValueHeaders, query parameters, request context', () => {
    const event = proxyEvent({
      method: 'POST',
      path: '/datasets/orders/records',
      resource: INGEST_RESOURCE,
      pathParameters: { dataset: 'orders' },
      headers: [
        ['Content-Type', 'text/csv'],
        ['X-Tag', 'a'],
        ['X-Tag', 'b'],
        ['User-Agent', 'curl/8'],
      ],
      query: new URLSearchParams('k=1&k=2&single=x'),
      body: Buffer.from('a,b\n1,2\n'),
      sourceIp: '10.0.0.9',
      stage: 'prod',
      accountId: '123456789012',
      domainName: 'api.example',
    });
    expect(event).toMatchObject({
      resource: '/datasets/{dataset}/records',
      path: '/datasets/orders/records',
      httpMethod: 'POST',
      headers: { 'Content-Type': 'text/csv', 'X-Tag': 'b', 'User-Agent': 'curl/8' },
      multiValueHeaders: { 'Content-Type': ['text/csv'], 'X-Tag': ['a', 'b'], 'User-Agent': ['curl/8'] },
      queryStringParameters: { k: '2', single: 'x' },
      multiValueQueryStringParameters: { k: ['1', '2'], single: ['x'] },
      pathParameters: { dataset: 'orders' },
      stageVariables: null,
      body: 'a,b\n1,2\n',
      isBase64Encoded: false,
    });
    expect(event.requestContext).toMatchObject({
      accountId: '123456789012',
      apiId: 'local',
      domainName: 'api.example',
      httpMethod: 'POST',
      path: '/prod/datasets/orders/records',
      protocol: 'HTTP/1.1',
      resourcePath: '/datasets/{dataset}/records',
      stage: 'prod',
      identity: { sourceIp: '10.0.0.9', userAgent: 'curl/8' },
    });
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(event.requestContext.requestTimeEpoch - Date.now())).toBeLessThan(5000);
  });

  it('defaults to stage local, account 000000000000, 127.0.0.1, no query, no user agent, and a null body when empty', () => {
    const event = postToX(Buffer.alloc(0));
    expect(event).toMatchObject({
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      pathParameters: null,
      body: null,
      isBase64Encoded: false,
    });
    expect(event.requestContext).toMatchObject({
      accountId: '000000000000',
      domainName: '127.0.0.1',
      stage: 'local',
      path: '/local/x',
      identity: { sourceIp: '127.0.0.1', userAgent: null },
    });
  });

  it('base64-encodes a body that is not valid UTF-8 (gzip, say) and flags it', () => {
    const bytes = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe]);
    const event = postToX(bytes);
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body as string, 'base64').equals(bytes)).toBe(true);
  });

  it('gives each event its own request id', () => {
    const a = ingestEvent('orders', Buffer.from('x'));
    const b = ingestEvent('orders', Buffer.from('x'));
    expect(a.requestContext.requestId).not.toBe(b.requestContext.requestId);
  });
});

describe('ingestEvent', () => {
  it('is a POST to /datasets/{dataset}/records with the dataset percent-encoded in the path and the path parameter', () => {
    const event = ingestEvent('my orders/x', Buffer.from('{}'), { 'Content-Type': 'application/json' });
    expect(event).toMatchObject({
      httpMethod: 'POST',
      resource: INGEST_RESOURCE,
      path: '/datasets/my%20orders%2Fx/records',
      pathParameters: { dataset: 'my%20orders%2Fx' },
      headers: { 'Content-Type': 'application/json' },
      multiValueHeaders: { 'Content-Type': ['application/json'] },
      body: '{}',
    });
  });

  it('takes other request fields from `extra`', () => {
    const event = ingestEvent('orders', Buffer.from('x'), {}, { stage: 'v1', sourceIp: '192.0.2.1' });
    expect(event.requestContext).toMatchObject({
      stage: 'v1',
      path: '/v1/datasets/orders/records',
      identity: { sourceIp: '192.0.2.1' },
    });
  });
});

describe('LocalApiServer', () => {
  const events: APIGatewayProxyEvent[] = [];
  let answer: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  const server = new LocalApiServer((event) => {
    events.push(event);
    return answer(event);
  });
  let endpoint: string;
  let port: number;

  beforeAll(async () => {
    ({ endpoint, port } = await server.start(0));
  });
  afterAll(() => server.stop());
  beforeEach(() => {
    events.length = 0;
    answer = async () => ({
      statusCode: 202,
      headers: { 'content-type': 'application/json' },
      body: '{"ok":true}',
    });
  });

  it('listens on 127.0.0.1 at the port it reports', () => {
    expect(port).toBeGreaterThan(0);
    expect(endpoint).toBe(`http://127.0.0.1:${port}`);
  });

  it('refuses to start twice, and reports a port in use as PortInUseError', async () => {
    await expect(server.start(0)).rejects.toThrow('local API server already started');
    const other = new LocalApiServer(async () => ({ statusCode: 200, body: '' }));
    const refused = other.start(port);
    await expect(refused).rejects.toThrow(PortInUseError);
    await expect(refused).rejects.toThrow(`port ${port} on 127.0.0.1 (ingest API) is already in use`);
  });

  it('passes POST /datasets/{dataset}/records to the function as a proxy event and relays its answer', async () => {
    const res = await send(endpoint, 'POST', '/datasets/orders/records?mode=x', 'a,b\n', {
      'Content-Type': 'text/csv',
      'X-File-Name': 'o.csv',
    });
    expect(res.status).toBe(202);
    expect(res.text).toBe('{"ok":true}');
    expect(res.headers['content-type']).toBe('application/json');
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event).toMatchObject({
      httpMethod: 'POST',
      path: '/datasets/orders/records',
      resource: INGEST_RESOURCE,
      pathParameters: { dataset: 'orders' },
      queryStringParameters: { mode: 'x' },
      body: 'a,b\n',
      headers: { 'Content-Type': 'text/csv', 'X-File-Name': 'o.csv', Host: `127.0.0.1:${port}` },
    });
    expect(event.requestContext).toMatchObject({
      domainName: `127.0.0.1:${port}`,
      identity: { sourceIp: '127.0.0.1' },
    });
    expect(res.headers['x-amzn-requestid']).toBe(event.requestContext.requestId);
  });

  it('passes the dataset segment still percent-encoded, as API Gateway does', async () => {
    await send(endpoint, 'POST', '/datasets/caf%C3%A9/records', 'x');
    expect(events[0].pathParameters).toEqual({ dataset: 'caf%C3%A9' });
  });

  it('decodes a base64 answer to its bytes and sets content-length', async () => {
    answer = async () => ({
      statusCode: 200,
      body: Buffer.from('hello').toString('base64'),
      isBase64Encoded: true,
    });
    const res = await send(endpoint, 'POST', '/datasets/orders/records', 'x');
    expect(res).toMatchObject({ status: 200, text: 'hello' });
    expect(res.headers['content-length']).toBe('5');
  });

  it('answers 500 naming the error when the function cannot be invoked', async () => {
    answer = async () => {
      throw new Error('boom');
    };
    const res = await send(endpoint, 'POST', '/datasets/orders/records', 'x');
    expect(res.status).toBe(500);
    expect(JSON.parse(res.text)).toEqual({ message: 'local API error: boom' });
  });

  it.each([
    ['/datasets/../x/records', `invalid path "/datasets/../x/records": '..' is a relative path segment`],
    [
      '/datasets/x/../orders/records',
      `invalid path "/datasets/x/../orders/records": '..' is a relative path segment`,
    ],
    ['/datasets/./records', `invalid path "/datasets/./records": '.' is a relative path segment`],
    [
      '/datasets/%2e%2e/records',
      `invalid path "/datasets/%2e%2e/records": '%2e%2e' is a relative path segment`,
    ],
    ['/datasets/%2E/records', `invalid path "/datasets/%2E/records": '%2E' is a relative path segment`],
    ['/datasets/.%2E/records', `invalid path "/datasets/.%2E/records": '.%2E' is a relative path segment`],
    ['/datasets//records', 'invalid path "/datasets//records": it has an empty path segment'],
    ['//datasets/orders/records', 'invalid path "//datasets/orders/records": it has an empty path segment'],
  ])('answers 400 for %s without invoking the function', async (path, message) => {
    const res = await send(endpoint, 'POST', path, 'x');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.text)).toEqual({ message });
    expect(events).toEqual([]);
  });

  it('checks the path before the method: a GET with a dot segment is 400 too', async () => {
    expect((await send(endpoint, 'GET', '/datasets/../records')).status).toBe(400);
  });

  it('routes an absolute-form request target by its path', async () => {
    const res = await send(endpoint, 'POST', `http://127.0.0.1:${port}/datasets/orders/records?a=1`, 'x');
    expect(res.status).toBe(202);
    expect(events[0]).toMatchObject({ path: '/datasets/orders/records', queryStringParameters: { a: '1' } });
    expect((await send(endpoint, 'POST', `http://127.0.0.1:${port}/datasets/../records`, 'x')).status).toBe(
      400,
    );
  });

  it.each([
    ['GET', '/datasets/orders/records'],
    ['PUT', '/datasets/orders/records'],
    ['POST', '/datasets/orders'],
    ['POST', '/datasets/orders/records/'],
    ['POST', '/datasets/orders/records/more'],
    ['POST', '/'],
  ])('answers 404 Not Found for %s %s', async (method, path) => {
    const res = await send(endpoint, method, path, method === 'GET' ? '' : 'x');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text)).toEqual({ message: 'Not Found' });
    expect(events).toEqual([]);
  });

  it('accepts a body of exactly 10 MiB and answers 413 Request Too Long one byte over', async () => {
    const limit = await send(
      endpoint,
      'POST',
      '/datasets/orders/records',
      Buffer.alloc(API_MAX_PAYLOAD_BYTES, 0x61),
    );
    expect(limit.status).toBe(202);
    expect(events[0].body).toHaveLength(API_MAX_PAYLOAD_BYTES);
    events.length = 0;
    const over = await send(
      endpoint,
      'POST',
      '/datasets/orders/records',
      Buffer.alloc(API_MAX_PAYLOAD_BYTES + 1, 0x61),
    );
    expect(over.status).toBe(413);
    expect(JSON.parse(over.text)).toEqual({ message: 'Request Too Long' });
    expect(events).toEqual([]);
  });

  it('stops, closing its port, and a second stop does nothing', async () => {
    const other = new LocalApiServer(async () => ({ statusCode: 200, body: '' }));
    const { endpoint: url } = await other.start(0);
    await other.stop();
    await other.stop();
    await expect(send(url, 'POST', '/datasets/orders/records', 'x')).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('LocalApiServer with AWS_IAM', () => {
  const events: APIGatewayProxyEvent[] = [];
  const server = new LocalApiServer(
    async (event) => {
      events.push(event);
      return { statusCode: 202, body: '{}' };
    },
    { auth: AUTH },
  );
  let endpoint: string;
  let host: string;
  const path = '/datasets/orders/records';
  const body = Buffer.from('a,b\n1,2\n');

  beforeAll(async () => {
    ({ endpoint } = await server.start(0));
    host = new URL(endpoint).host;
  });
  afterAll(() => server.stop());
  beforeEach(() => {
    events.length = 0;
  });

  /** The signed headers as a client sends them (node:http sets Host itself). */
  const sentHeaders = (headers: [string, string][]) =>
    Object.fromEntries(headers.filter(([n]) => n.toLowerCase() !== 'host'));

  it('invokes the function for a request signed with an allowed key', async () => {
    const headers = await signed({ path, body, headers: { 'content-type': 'text/csv' } }, { host });
    const res = await send(endpoint, 'POST', path, body, sentHeaders(headers));
    expect(res.status).toBe(202);
    expect(events).toHaveLength(1);
  });

  it("refuses an unsigned request with 403 and API Gateway's error type, without invoking the function", async () => {
    const res = await send(endpoint, 'POST', path, body, { 'content-type': 'text/csv' });
    expect(res.status).toBe(403);
    expect(res.headers['x-amzn-errortype']).toBe('MissingAuthenticationTokenException');
    expect(JSON.parse(res.text)).toEqual({ message: 'Missing Authentication Token' });
    expect(events).toEqual([]);
  });

  it('refuses a request signed with the wrong secret as a signature mismatch', async () => {
    const headers = await signed(
      { path, body },
      { host, credentials: { accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: 'wrong' } },
    );
    const res = await send(endpoint, 'POST', path, body, sentHeaders(headers));
    expect(res.status).toBe(403);
    expect(res.headers['x-amzn-errortype']).toBe('InvalidSignatureException');
    expect(JSON.parse(res.text)).toEqual({ message: AUTH_ERRORS.mismatch.message });
    expect(events).toEqual([]);
  });

  it('checks the path before the signature: a dot segment is 400 even unsigned', async () => {
    expect((await send(endpoint, 'POST', '/datasets/../records', body)).status).toBe(400);
  });
});

describe('verifySignature', () => {
  const path = '/datasets/orders/records';
  const body = Buffer.from('{"id":1}\n');
  const request = (
    headers: [string, string][],
    extra: Partial<{ path: string; query: string; body: Buffer }> = {},
  ) => ({
    method: 'POST',
    path,
    query: '',
    headers,
    body,
    ...extra,
  });

  it('accepts a request signed by an allowed key, its headers and query as sent', async () => {
    const headers = await signed({
      path,
      query: { b: '2', a: 'x y' },
      body,
      headers: { 'Content-Type': 'application/x-ndjson' },
    });
    expect(await verifySignature(AUTH, request(headers, { query: 'b=2&a=x%20y' }))).toBeUndefined();
  });

  it('accepts a percent-encoded path checked as received (the signer encodes it once more, as AWS does)', async () => {
    const encoded = '/datasets/caf%C3%A9%20x/records';
    const headers = await signed({ path: encoded, body });
    expect(await verifySignature(AUTH, request(headers, { path: encoded }))).toBeUndefined();
    expect(await verifySignature(AUTH, request(headers, { path: '/datasets/café x/records' }))).toBe(
      AUTH_ERRORS.mismatch,
    );
  });

  it('accepts any of several allowed keys', async () => {
    const other = { accessKeyId: 'AKIDOTHER', secretAccessKey: 'other-secret' };
    const headers = await signed({ path, body }, { credentials: other });
    expect(
      await verifySignature({ ...AUTH, credentials: [CREDENTIALS, other] }, request(headers)),
    ).toBeUndefined();
  });

  it('answers Missing Authentication Token without an Authorization header', async () => {
    expect(await verifySignature(AUTH, request([['host', 'h']]))).toBe(AUTH_ERRORS.missing);
  });

  it('answers IncompleteSignatureException for an Authorization header of another shape, quoting it', async () => {
    const refusal = await verifySignature(AUTH, request([['Authorization', 'Bearer abc']]));
    expect(refusal).toEqual({
      type: 'IncompleteSignatureException',
      message:
        "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters (AWS4-HMAC-SHA256). Authorization=Bearer abc",
    });
  });

  it('answers UnrecognizedClientException for a key that is not allowed', async () => {
    const headers = await signed(
      { path, body },
      { credentials: { accessKeyId: 'AKIDNOPE', secretAccessKey: 'x' } },
    );
    expect(await verifySignature(AUTH, request(headers))).toBe(AUTH_ERRORS.unknownKey);
  });

  it('answers a mismatch when the body, the path or the query differ from what was signed', async () => {
    const headers = await signed({ path, body });
    expect(await verifySignature(AUTH, request(headers, { body: Buffer.from('{"id":2}\n') }))).toBe(
      AUTH_ERRORS.mismatch,
    );
    expect(await verifySignature(AUTH, request(headers, { path: '/datasets/customers/records' }))).toBe(
      AUTH_ERRORS.mismatch,
    );
    expect(await verifySignature(AUTH, request(headers, { query: 'extra=1' }))).toBe(AUTH_ERRORS.mismatch);
  });

  it('answers a mismatch when a signed header was changed or is missing', async () => {
    const headers = await signed({ path, body, headers: { 'x-file-name': 'a.ndjson' } });
    const changed = headers.map(([n, v]): [string, string] => [n, n === 'x-file-name' ? 'b.ndjson' : v]);
    expect(await verifySignature(AUTH, request(changed))).toBe(AUTH_ERRORS.mismatch);
    const missing = headers.filter(([n]) => n !== 'x-file-name');
    expect(await verifySignature(AUTH, request(missing))).toBe(AUTH_ERRORS.mismatch);
  });

  it('answers a mismatch when the declared payload hash is not that of the body received, whatever the signature', async () => {
    const headers = await signed({ path, body });
    expect(headers.find(([n]) => n === 'x-amz-content-sha256')?.[1]).toBe(
      createHash('sha256').update(body).digest('hex'),
    );
    expect(await verifySignature(AUTH, request(headers, { body: Buffer.from('other') }))).toBe(
      AUTH_ERRORS.mismatch,
    );
  });

  it('requires a signed host and x-amz-date and a well-formed X-Amz-Date', async () => {
    const headers = await signed({ path, body });
    const incomplete = {
      type: 'IncompleteSignatureException',
      message: 'The request must sign the host and x-amz-date headers and carry a valid X-Amz-Date.',
    };
    const withoutDate = headers.filter(([n]) => n !== 'x-amz-date');
    expect(await verifySignature(AUTH, request(withoutDate))).toEqual(incomplete);
    const badDate = headers.map(([n, v]): [string, string] => [n, n === 'x-amz-date' ? '2026-11-21' : v]);
    expect(await verifySignature(AUTH, request(badDate))).toEqual(incomplete);
    const hostUnsigned = headers.map(([n, v]): [string, string] => [
      n,
      n === 'authorization' ? v.replace('SignedHeaders=host;', 'SignedHeaders=') : v,
    ]);
    expect(hostUnsigned.find(([n]) => n === 'authorization')?.[1]).not.toContain('host');
    expect(await verifySignature(AUTH, request(hostUnsigned))).toEqual(incomplete);
  });

  it('refuses a signature older or newer than 5 minutes by default, and honours maxSkewMs', async () => {
    const date = new Date('2026-11-21T10:00:00Z');
    const headers = await signed({ path, body }, { date });
    const at = (ms: number) => new Date(date.getTime() + ms);
    expect(await verifySignature(AUTH, request(headers), at(5 * 60_000))).toBeUndefined();
    expect(await verifySignature(AUTH, request(headers), at(-5 * 60_000))).toBeUndefined();
    expect(await verifySignature(AUTH, request(headers), at(5 * 60_000 + 1000))).toEqual({
      type: 'InvalidSignatureException',
      message: 'Signature expired: 20261121T100000Z is now outside 5 min. of 20261121T100501Z',
    });
    expect((await verifySignature(AUTH, request(headers), at(-6 * 60_000)))?.type).toBe(
      'InvalidSignatureException',
    );
    expect(await verifySignature({ ...AUTH, maxSkewMs: 60_000 }, request(headers), at(90_000))).toMatchObject(
      {
        message: 'Signature expired: 20261121T100000Z is now outside 1 min. of 20261121T100130Z',
      },
    );
  });

  it('refuses a credential scoped to another region or service', async () => {
    const date = new Date('2026-11-21T10:00:00Z');
    const scoped = {
      type: 'InvalidSignatureException',
      message:
        'Credential should be scoped to a valid region, date and service: expected 20261121/eu-west-1/execute-api',
    };
    const otherRegion = await signed({ path, body }, { date, region: 'us-east-1' });
    expect(await verifySignature(AUTH, request(otherRegion), date)).toEqual(scoped);
    const otherService = (await signed({ path, body }, { date })).map(([n, v]): [string, string] => [
      n,
      n === 'authorization' ? v.replace('/execute-api/', '/s3/') : v,
    ]);
    expect(await verifySignature(AUTH, request(otherService), date)).toEqual(scoped);
  });
});

describe('NodeSha256', () => {
  it('hashes with SHA-256, or HMAC-SHA256 keyed with a string or bytes, and starts over on reset', async () => {
    const data = new TextEncoder().encode('medallion');
    const hex = async (h: NodeSha256) => Buffer.from(await h.digest()).toString('hex');
    const plain = new NodeSha256();
    plain.update(data);
    expect(await hex(plain)).toBe(createHash('sha256').update('medallion').digest('hex'));
    const expected = createHmac('sha256', 'key').update('medallion').digest('hex');
    for (const key of ['key', new TextEncoder().encode('key'), new TextEncoder().encode('key').buffer]) {
      const mac = new NodeSha256(key);
      mac.update(new TextEncoder().encode('ignored'));
      mac.reset();
      mac.update(data);
      expect(await hex(mac)).toBe(expected);
    }
  });
});
