/**
 * A local stand-in for the ingest REST API (API Gateway, Lambda proxy integration): builds proxy events
 * the way API Gateway does, and serves `POST /datasets/{dataset}/records` over HTTP on the loopback
 * interface. Everything else answers 404.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { PortInUseError } from './s3-server';

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

export interface LocalApiAddress {
  port: number;
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
}

/** The HTTP face of the ingest API, on 127.0.0.1. */
export class LocalApiServer {
  private server: Server | undefined;

  constructor(private readonly invoke: ProxyInvoker) {}

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
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}`);
    const match = INGEST_PATH.exec(url.pathname);
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
    const event = proxyEvent({
      method: 'POST',
      path: url.pathname,
      resource: INGEST_RESOURCE,
      pathParameters: { dataset: match[1] },
      headers,
      query: url.searchParams,
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

function send(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
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
