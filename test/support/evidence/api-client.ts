/**
 * A client of the local ingest API over real HTTP: the path is sent exactly as given (no dot-segment
 * resolution or re-encoding, which `fetch` would do), optionally SigV4-signed for `execute-api` as an AWS
 * SDK client signs for an AWS_IAM API, and each call reports how long it took.
 */
import { request as httpRequest } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { type ApiCredentials, NodeSha256 } from '../../../local/cloud/api-gateway';

export interface ApiAnswer {
  status: number;
  headers: Record<string, string>;
  /** The body parsed as JSON (`undefined` when it is not JSON). */
  json: { message?: string; bronzeKey?: string; duplicate?: boolean; [k: string]: unknown } | undefined;
  ms: number;
}

export interface Signing {
  credentials: ApiCredentials;
  region: string;
  /** The signing time; default now. */
  date?: Date;
}

/** POSTs `body` to `endpoint` + `path` (sent verbatim); signs the request when `signing` is given. */
export async function post(
  endpoint: string,
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
  signing?: Signing,
): Promise<ApiAnswer> {
  const url = new URL(endpoint);
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const sent = signing ? await signedHeaders(endpoint, path, bytes, headers, signing) : headers;
  const started = performance.now();
  return new Promise<ApiAnswer>((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: 'POST', path, headers: sent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: ApiAnswer['json'];
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          const answerHeaders: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) answerHeaders[name] = String(value);
          resolve({
            status: res.statusCode ?? 0,
            headers: answerHeaders,
            json,
            ms: performance.now() - started,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(bytes);
  });
}

/** `headers` plus the SigV4 ones (Authorization, X-Amz-Date, X-Amz-Content-Sha256) for this request. */
export async function signedHeaders(
  endpoint: string,
  path: string,
  body: string | Buffer,
  headers: Record<string, string>,
  signing: Signing,
): Promise<Record<string, string>> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({
    credentials: signing.credentials,
    region: signing.region,
    service: 'execute-api',
    sha256: NodeSha256,
  });
  const [pathOnly, query = ''] = path.split('?');
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: pathOnly,
      query: Object.fromEntries(new URLSearchParams(query)),
      headers: { ...headers, host: url.host },
      body,
    },
    { signingDate: signing.date },
  );
  const { host: _, ...sent } = signed.headers;
  return sent;
}
