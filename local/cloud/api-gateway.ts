/**
 * A local stand-in for the ingest REST API (API Gateway, Lambda proxy integration): builds proxy events
 * the way API Gateway does, and serves `POST /datasets/{dataset}/records` over HTTP on the loopback
 * interface. Everything else answers 404.
 *
 * Paths are routed as sent, never normalized: a `.` or `..` segment (raw or percent-encoded) or an empty
 * one answers 400, so `/datasets/x/../orders/records` cannot reach a dataset other than the one it names.
 *
 * With `auth` set, every request must be signed with AWS Signature V4 for `execute-api`, as the deployed
 * API (AWS_IAM on every method) demands; the answers for unsigned or badly signed requests are API
 * Gateway's. Without it (the default) requests are not checked, as IAM is not emulated.
 */

import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { PortInUseError } from '../../core/errors';

export const INGEST_RESOURCE = '/datasets/{dataset}/records';
const INGEST_PATH = /^\/datasets\/([^/]+)\/records$/;
/** API Gateway refuses larger payloads. */
export const API_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
const LOOPBACK = '127.0.0.1';

export type ProxyInvoker = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

export interface ProxyRequest {
  readonly method: string;
  /** The request path, as sent (still percent-encoded). */
  readonly path: string;
  readonly resource: string;
  /** Path parameters as API Gateway passes them: the raw (not decoded) path segments. */
  readonly pathParameters: Record<string, string> | null;
  /** Header name/value pairs in the order and case they were sent. */
  readonly headers: [string, string][];
  readonly query?: URLSearchParams;
  readonly body: Buffer;
  readonly sourceIp?: string;
  readonly stage?: string;
  readonly accountId?: string;
  readonly domainName?: string;
}

/**
 * The proxy event API Gateway (REST API) sends for a request. A body that is not valid UTF-8 (gzip, say)
 * is base64-encoded with `isBase64Encoded`, as with binary media types enabled.
 */
export function proxyEvent(r: ProxyRequest): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of r.headers) {
    headers[name] = value;
    const values = multiValueHeaders[name] ?? [];
    values.push(value);
    multiValueHeaders[name] = values;
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of r.query ?? []) {
    query[name] = value;
    multiQuery[name] = [...(multiQuery[name] ?? []), value];
  }
  const hasQuery = Object.keys(query).length > 0;
  const text = r.body.length === 0 ? null : utf8(r.body);
  const stage = r.stage ?? 'local';
  const now = new Date();
  const userAgent = headerValue(r.headers, 'user-agent') ?? null;
  return {
    resource: r.resource,
    path: r.path,
    httpMethod: r.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: r.pathParameters,
    stageVariables: null,
    requestContext: {
      accountId: r.accountId ?? '000000000000',
      apiId: 'local',
      authorizer: null,
      domainName: r.domainName ?? LOOPBACK,
      extendedRequestId: randomUUID(),
      httpMethod: r.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: r.sourceIp ?? LOOPBACK,
        user: null,
        userAgent,
        userArn: null,
      },
      path: `/${stage}${r.path}`,
      protocol: 'HTTP/1.1',
      requestId: randomUUID(),
      requestTime: now.toISOString(),
      requestTimeEpoch: now.getTime(),
      resourceId: 'local',
      resourcePath: r.resource,
      stage,
    },
    body: r.body.length === 0 ? null : (text ?? r.body.toString('base64')),
    isBase64Encoded: r.body.length > 0 && text === undefined,
  };
}

/** The proxy event for `POST /datasets/{dataset}/records`. */
export function ingestEvent(
  dataset: string,
  body: Buffer,
  headers: Record<string, string> = {},
  extra: Partial<ProxyRequest> = {},
): APIGatewayProxyEvent {
  const segment = encodeURIComponent(dataset);
  return proxyEvent({
    method: 'POST',
    path: `/datasets/${segment}/records`,
    resource: INGEST_RESOURCE,
    pathParameters: { dataset: segment },
    headers: Object.entries(headers),
    body,
    ...extra,
  });
}

/** Credentials a caller signs with (AWS_IAM): the local cloud's own, by default. */
export interface ApiCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface LocalApiAuth {
  /** The principals allowed to call; a request signed by any other key is refused. */
  readonly credentials: readonly ApiCredentials[];
  /** The region requests must be signed for. */
  readonly region: string;
  /** Largest difference between the request's X-Amz-Date and now; default 5 minutes, as AWS allows. */
  readonly maxSkewMs?: number;
}

export interface LocalApiOptions {
  /** Require SigV4-signed requests (AWS_IAM); default: no authentication. */
  readonly auth?: LocalApiAuth;
}

export interface LocalApiAddress {
  port: number;
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
}

/** The HTTP face of the ingest API, on 127.0.0.1. */
export class LocalApiServer {
  private server: Server | undefined;

  constructor(
    private readonly invoke: ProxyInvoker,
    private readonly options: LocalApiOptions = {},
  ) {}

  async start(port = 0): Promise<LocalApiAddress> {
    if (this.server) throw new Error('local API server already started');
    const server = createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        if (!res.headersSent) send(res, 500, { message: `local API error: ${(e as Error).message}` });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'EADDRINUSE' ? new PortInUseError(port, LOOPBACK, 'ingest API') : e),
      );
      server.listen(port, LOOPBACK, () => resolve());
    });
    this.server = server;
    const bound = (server.address() as AddressInfo).port;
    return { port: bound, endpoint: `http://${LOOPBACK}:${bound}` };
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path, query } = requestTarget(req.url ?? '/');
    const invalid = invalidPathReason(path);
    if (invalid) {
      req.resume();
      send(res, 400, { message: `invalid path ${JSON.stringify(path)}: ${invalid}` });
      return;
    }
    const match = INGEST_PATH.exec(path);
    if (req.method !== 'POST' || !match) {
      req.resume();
      send(res, 404, { message: 'Not Found' });
      return;
    }
    const body = await readBody(req, API_MAX_PAYLOAD_BYTES);
    if (body === undefined) {
      send(res, 413, { message: 'Request Too Long' });
      return;
    }
    const headers: [string, string][] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
      headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    if (this.options.auth) {
      const refusal = await verifySignature(this.options.auth, {
        method: 'POST',
        path,
        query,
        headers,
        body,
      });
      if (refusal) {
        send(res, 403, { message: refusal.message }, { 'x-amzn-errortype': refusal.type });
        return;
      }
    }
    const event = proxyEvent({
      method: 'POST',
      path,
      resource: INGEST_RESOURCE,
      pathParameters: { dataset: match[1] },
      headers,
      query: new URLSearchParams(query),
      body,
      sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, ''),
      domainName: req.headers.host,
    });
    const result = await this.invoke(event);
    const payload =
      result.body === undefined
        ? Buffer.alloc(0)
        : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
    res.writeHead(result.statusCode, {
      ...stringHeaders(result.headers),
      'content-length': String(payload.length),
      'x-amzn-requestid': event.requestContext.requestId,
    });
    res.end(payload);
  }
}

/** The body, or `undefined` once it exceeds `limit` bytes (the rest is drained). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(chunk as Buffer);
  }
  return tooLarge ? undefined : Buffer.concat(chunks);
}

function send(
  res: ServerResponse,
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The path (still percent-encoded) and query of a request target, origin-form or absolute-form. */
function requestTarget(target: string): { path: string; query: string } {
  const originForm = target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '') || '/';
  const q = originForm.indexOf('?');
  return q < 0
    ? { path: originForm, query: '' }
    : { path: originForm.slice(0, q), query: originForm.slice(q + 1) };
}

/** Why a path is refused before routing: dot segments (raw or %2e-encoded) or empty ones. */
function invalidPathReason(path: string): string | undefined {
  if (!path.startsWith('/')) return 'it does not start with /';
  const segments = path.slice(1).split('/');
  for (const [i, segment] of segments.entries()) {
    const decoded = segment.replace(/%2e/gi, '.');
    if (decoded === '.' || decoded === '..') return `'${segment}' is a relative path segment`;
    // A trailing slash leaves one empty last segment ('/' itself included): routing answers 404 for it.
    if (segment === '' && i < segments.length - 1) return 'it has an empty path segment';
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// AWS_IAM: Signature V4

const SIGNED_SERVICE = 'execute-api';
const DEFAULT_MAX_SKEW_MS = 5 * 60 * 1000;
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;

/** API Gateway's answers to requests IAM refuses (status 403 each), with its `x-amzn-ErrorType`. */
export const AUTH_ERRORS = {
  missing: { type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' },
  unknownKey: {
    type: 'UnrecognizedClientException',
    message: 'The security token included in the request is invalid.',
  },
  mismatch: {
    type: 'InvalidSignatureException',
    message:
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  },
} as const;

type AuthRefusal = { type: string; message: string };

/**
 * Checks a request's SigV4 signature the way AWS does: by signing the same request again, with the
 * caller's secret, the headers it says it signed and its X-Amz-Date, and comparing the signatures.
 * Returns why the request is refused, or `undefined` when it is properly signed.
 */
export async function verifySignature(
  auth: LocalApiAuth,
  request: { method: string; path: string; query: string; headers: [string, string][]; body: Buffer },
  now = new Date(),
): Promise<AuthRefusal | undefined> {
  const authorization = headerValue(request.headers, 'authorization');
  if (authorization === undefined) return AUTH_ERRORS.missing;
  const m = AUTHORIZATION.exec(authorization.trim());
  if (!m) {
    return {
      type: 'IncompleteSignatureException',
      message: `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters (AWS4-HMAC-SHA256). Authorization=${authorization}`,
    };
  }
  const [, accessKeyId, scopeDate, region, service, signedList, signature] = m;
  const credentials = auth.credentials.find((c) => c.accessKeyId === accessKeyId);
  if (!credentials) return AUTH_ERRORS.unknownKey;
  const signed = signedList.split(';');
  const amzDate = headerValue(request.headers, 'x-amz-date');
  const signingDate = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (!signingDate || !signed.includes('host') || !signed.includes('x-amz-date')) {
    return {
      type: 'IncompleteSignatureException',
      message: 'The request must sign the host and x-amz-date headers and carry a valid X-Amz-Date.',
    };
  }
  const skew = auth.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (Math.abs(now.getTime() - signingDate.getTime()) > skew) {
    return {
      type: 'InvalidSignatureException',
      message: `Signature expired: ${amzDate} is now outside ${Math.round(skew / 60000)} min. of ${compactDate(now)}`,
    };
  }
  if (region !== auth.region || service !== SIGNED_SERVICE || scopeDate !== amzDate?.slice(0, 8)) {
    return {
      type: 'InvalidSignatureException',
      message: `Credential should be scoped to a valid region, date and service: expected ${compactDate(signingDate).slice(0, 8)}/${auth.region}/${SIGNED_SERVICE}`,
    };
  }
  // A payload hash the caller declares must be that of the bytes received.
  const declared = headerValue(request.headers, 'x-amz-content-sha256');
  if (declared !== undefined && declared !== createHash('sha256').update(request.body).digest('hex')) {
    return AUTH_ERRORS.mismatch;
  }
  // Exactly the headers the caller signed (values as received): the signer canonicalizes them itself.
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const values = request.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
    if (values.length === 0) return AUTH_ERRORS.mismatch;
    headers[name] = values.join(',');
  }
  const signer = new SignatureV4({
    credentials,
    region,
    service: SIGNED_SERVICE,
    sha256: NodeSha256,
    applyChecksum: false, // add no x-amz-content-sha256 the caller did not sign
  });
  const again = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: LOOPBACK,
      path: request.path,
      query: queryRecord(request.query),
      headers,
      body: request.body,
    },
    { signingDate, signableHeaders: new Set(signed) },
  );
  const expected = /Signature=([0-9a-f]{64})$/.exec(String(again.headers.authorization))?.[1] ?? '';
  const same =
    expected.length === signature.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature));
  return same ? undefined : AUTH_ERRORS.mismatch;
}

/**
 * The `sha256` the signer is built with (a Smithy `ChecksumConstructor`): SHA-256, or HMAC-SHA256 keyed
 * with `secret`, over node:crypto.
 */
export class NodeSha256 {
  private hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;

  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh();
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh() {
    const { secret } = this;
    if (secret === undefined) return createHash('sha256');
    const key =
      typeof secret === 'string'
        ? secret
        : ArrayBuffer.isView(secret)
          ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
          : Buffer.from(secret);
    return createHmac('sha256', key);
  }
}

/** `20261121T100000Z` -> a Date; `undefined` when it is not that shape. */
function parseAmzDate(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text.trim());
  if (!m) return undefined;
  const date = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function compactDate(d: Date): string {
  return d.toISOString().replace(/[-:]|\.\d{3}/g, '');
}

/** A query string as the signer takes it: decoded names and values, repeated names as arrays. */
function queryRecord(query: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(query)) {
    const seen = out[name];
    out[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return out;
}

function stringHeaders(headers: APIGatewayProxyResult['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name] = String(value);
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8(bytes: Buffer): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function headerValue(headers: [string, string][], name: string): string | undefined {
  return headers.findLast(([n]) => n.toLowerCase() === name)?.[1];
}
