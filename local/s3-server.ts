/**
 * A local S3 server (s3rver) for offline runs and tests, bound to the loopback interface only.
 *
 * s3rver stores objects as plain files under `directory`. Two of its differences from S3 matter here
 * and are handled in this wrapper, so pipeline code runs unchanged against both:
 *  - clients must send checksums only when required and sign as S3RVER/S3RVER (`localS3Env` says so);
 *  - it decodes `x-amz-copy-source` with `decodeURI`, which leaves `%2B`, `%3F`, `%23`... encoded, so a
 *    correctly encoded CopyObject of a key holding '+' fails with NoSuchKey. We decode it the way S3 does.
 */
import type { AddressInfo } from 'node:net';

type KoaContext = { headers: Record<string, string | string[] | undefined> };
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<unknown>) => Promise<unknown>;

/** The part of s3rver used here (it ships no type declarations). */
interface S3rverInstance {
  /** Koa's middleware stack: composed per request, so a function put first runs before s3rver's. */
  middleware: KoaMiddleware[];
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverOptions = {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string }[];
};
// s3rver is an untyped CommonJS package: `require` with the local type above instead of an ambient module.
const S3rver: new (options: S3rverOptions) => S3rverInstance = require('s3rver');

export interface LocalS3StartOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Where s3rver keeps buckets and objects. */
  directory: string;
  /** Buckets created before the server accepts requests (existing ones are kept). */
  buckets: string[];
}

export interface LocalS3Address {
  port: number;
  /** `http://127.0.0.1:<port>`: an IP, so the SDK never tries virtual-host names like bucket.localhost. */
  endpoint: string;
}

const LOOPBACK = '127.0.0.1';

export class LocalS3Server {
  private server: S3rverInstance | undefined;

  async start(options: LocalS3StartOptions): Promise<LocalS3Address> {
    if (this.server) throw new Error('local S3 server already started');
    const server = new S3rver({
      address: LOOPBACK,
      port: options.port ?? 0,
      directory: options.directory,
      silent: true,
      configureBuckets: options.buckets.map((name) => ({ name })),
    });
    server.middleware.unshift(decodeCopySourceLikeS3);
    const { port } = await server.run();
    this.server = server;
    return { port, endpoint: `http://${LOOPBACK}:${port}` };
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }
}

/**
 * S3 fully URL-decodes the copy source (`a%2Bb` is the key `a+b`); s3rver applies `decodeURI`, which
 * leaves reserved characters encoded. Re-encoding the decoded key with `encodeURI` gives s3rver a value
 * its `decodeURI` turns back into exactly that key. A `?versionId=` suffix is dropped: s3rver has no
 * versions. s3rver does not verify SigV4 signatures, so rewriting a signed header is harmless.
 */
async function decodeCopySourceLikeS3(ctx: KoaContext, next: () => Promise<unknown>): Promise<unknown> {
  const header = ctx.headers['x-amz-copy-source'];
  if (typeof header === 'string') {
    const [path] = header.split('?');
    try {
      ctx.headers['x-amz-copy-source'] = encodeURI(decodeURIComponent(path));
    } catch {
      // Malformed percent-encoding: leave it to s3rver to refuse.
    }
  }
  return next();
}

/** The variables that point `createS3Client()` (and any SDK v3 S3 client) at a local S3 server. */
export function localS3Env(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    // Without these the SDK streams aws-chunked bodies that s3rver stores framing and all.
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
  };
}
