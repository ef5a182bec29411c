/**
 * A local S3 server (s3rver) for offline runs and tests, bound to the loopback interface only.
 *
 * s3rver stores objects as plain files under `directory`. Three of its differences from S3 matter here
 * and are handled in this wrapper, so pipeline code runs unchanged against both:
 *  - clients must send checksums only when required and sign as S3RVER/S3RVER (`localS3Env` says so);
 *  - it decodes `x-amz-copy-source` with `decodeURI`, which leaves `%2B`, `%3F`, `%23`... encoded, so a
 *    correctly encoded CopyObject of a key holding '+' fails with NoSuchKey. We decode it the way S3 does;
 *  - its event records do not say which operation made them (a completed multipart upload and a form POST
 *    both report `ObjectCreated:Post`), copies carry no ETag, and they are emitted before the request has
 *    even succeeded. `onEvent` hands them over once the request has succeeded, with the operation and the
 *    ETag (`s3-event-adapter.ts` then turns them into real S3 records);
 *  - it builds ListObjectsV2 continuation tokens with single DES, which Node's OpenSSL 3 refuses, so any
 *    listing of more than 1,000 keys answered 500. {@link allowS3rverContinuationTokens} maps its cipher
 *    onto 3DES with the key repeated, which is the same cipher (and in OpenSSL's default provider);
 *  - it ignores `If-None-Match`/`If-Match` and serializes nothing: `s3-conditional-writes.ts` answers the
 *    conditions as S3 does, one request per object at a time;
 *  - it writes objects in place and answers before they are flushed: `s3rver-atomic-writes.ts` makes each
 *    object visible whole (temporary file, then rename);
 *  - it stores a key as the path it spells: `..` segments wrote outside the state directory and a long
 *    segment failed with ENAMETOOLONG; `s3rver-key-paths.ts` maps every key into its bucket, one to one;
 *  - its listings walk the directories in their own order (not S3's key order), fail with 500 when a file
 *    is renamed or deleted mid-walk, and miss common prefixes whose objects all lie deeper: the same
 *    module answers listings itself, sorted, tolerant of concurrent writes, paged by `listingPage`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type AddressInfo, createServer } from 'node:net';
import { PortInUseError } from '../../core/errors';
import { conditionalWrites } from './s3-conditional-writes';
import { installS3FaultInjection, type S3FaultInjector, type S3FaultSettings } from './s3-fault-injection';
import { makeS3rverWritesAtomic } from './s3rver-atomic-writes';
import { mapS3rverKeysSafely } from './s3rver-key-paths';
import { uploadPartCopy } from './s3rver-upload-part-copy';

type KoaContext = {
  headers: Record<string, string | string[] | undefined>;
  method: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
};
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<unknown>) => Promise<unknown>;

/** The part of s3rver used here (it ships no type declarations). */
interface S3rverInstance {
  /** Koa's middleware stack: composed per request, so a function put first runs before s3rver's. */
  middleware: KoaMiddleware[];
  /** Its FilesystemStore. */
  store: Parameters<typeof conditionalWrites>[0] & Parameters<typeof uploadPartCopy>[0];
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  on(event: 'event', listener: (event: { Records: S3rverEventRecord[] }) => void): void;
}

/** An event record as s3rver emits it: S3-like, but see `s3-event-adapter.ts` for how it differs. */
export interface S3rverEventRecord {
  eventVersion: string;
  eventSource: string;
  awsRegion: string;
  eventTime: string;
  eventName: string;
  userIdentity?: { principalId: string };
  requestParameters?: { sourceIPAddress: string };
  responseElements?: { 'x-amz-request-id': string; 'x-amz-id-2': string };
  s3: {
    s3SchemaVersion?: string;
    configurationId?: string;
    bucket: { name: string; ownerIdentity?: { principalId: string }; arn?: string };
    /** The key as stored: NOT URL-encoded. */
    object: { key: string; size?: number; eTag?: string; sequencer?: string };
  };
}

/** The S3 API operations that produce event notifications. */
export type S3Operation =
  | 'PutObject'
  | 'CopyObject'
  | 'CompleteMultipartUpload'
  | 'PostObject'
  | 'DeleteObject';

/** One s3rver event record, with what the record itself does not tell. */
export interface LocalS3Event {
  readonly record: S3rverEventRecord;
  /** The request that produced it. */
  readonly operation: S3Operation | undefined;
  /** The created object's ETag (without quotes), taken from the response when the record has none. */
  readonly eTag: string | undefined;
}

export type LocalS3EventListener = (event: LocalS3Event) => void;

/** Events captured during one request, released when it has succeeded. */
type PendingRequest = { records: S3rverEventRecord[] };
type S3rverOptions = {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string }[];
};
// s3rver is an untyped CommonJS package: `require` with the local type above instead of an ambient module.
const S3rver: new (options: S3rverOptions) => S3rverInstance = require('s3rver');

/**
 * s3rver calls `crypto.createCipheriv('des', key8, iv8)` (and the decipher) for its continuation tokens.
 * Single DES is in OpenSSL 3's legacy provider only; 3DES-CBC with K1 = K2 = K3 computes exactly DES-CBC
 * and is in the default provider. Installed once per process; any other cipher passes through unchanged.
 */
function allowS3rverContinuationTokens(): void {
  // The module object itself (an `import * as` namespace would be a copy): the one s3rver requires.
  const c = require('node:crypto') as Record<string | symbol, unknown>;
  if (c[PATCHED]) return;
  for (const name of ['createCipheriv', 'createDecipheriv'] as const) {
    const original = c[name] as (algorithm: string, key: Buffer, iv: Buffer, ...rest: unknown[]) => unknown;
    c[name] = (algorithm: string, key: Buffer, iv: Buffer, ...rest: unknown[]) =>
      algorithm === 'des' && key.length === 8
        ? original('des-ede3-cbc', Buffer.concat([key, key, key]), iv, ...rest)
        : original(algorithm, key, iv, ...rest);
  }
  c[PATCHED] = true;
}
const PATCHED = Symbol.for('medallion.s3rver-des');
allowS3rverContinuationTokens();

makeS3rverWritesAtomic();
mapS3rverKeysSafely();

export interface LocalS3StartOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Where s3rver keeps buckets and objects. */
  directory: string;
  /** Buckets created before the server accepts requests (existing ones are kept). */
  buckets: string[];
  /** Transient errors to inject (see `s3-fault-injection.ts`); default: what the environment asks for. */
  faults?: S3FaultSettings;
}

export interface LocalS3Address {
  port: number;
  /** `http://127.0.0.1:<port>`: an IP, so the SDK never tries virtual-host names like bucket.localhost. */
  endpoint: string;
}

const LOOPBACK = '127.0.0.1';

export class LocalS3Server {
  private server: S3rverInstance | undefined;
  private readonly listeners = new Set<LocalS3EventListener>();
  private readonly requests = new AsyncLocalStorage<PendingRequest>();
  /** The transient-error injector in front of the server, when one was asked for. */
  faults: S3FaultInjector | undefined;

  /**
   * Calls `listener` with every event notification, after the request that caused it has succeeded but
   * before its response is sent: a client that sees the response can rely on the listener having run.
   * The listener runs outside the request's async context; it should only queue work. Returns an
   * unsubscribe function.
   */
  onEvent(listener: LocalS3EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(options: LocalS3StartOptions): Promise<LocalS3Address> {
    if (this.server) throw new Error('local S3 server already started');
    // s3rver listens without an 'error' handler: a busy port would crash the process, so check first.
    if (options.port) await assertPortFree(options.port, LOOPBACK);
    const server = new S3rver({
      address: LOOPBACK,
      port: options.port ?? 0,
      directory: options.directory,
      silent: true,
      configureBuckets: options.buckets.map((name) => ({ name })),
    });
    server.middleware.unshift(decodeCopySourceLikeS3);
    server.middleware.unshift(uploadPartCopy(server.store) as unknown as KoaMiddleware);
    server.middleware.unshift(conditionalWrites(server.store) as unknown as KoaMiddleware);
    server.middleware.unshift((ctx, next) => this.captureEvents(ctx, next));
    this.faults = installS3FaultInjection(server.middleware, options.faults);
    server.on('event', (event) => {
      const pending = this.requests.getStore();
      if (pending) pending.records.push(...event.Records);
      else for (const record of event.Records) this.emit({ record, operation: undefined, eTag: undefined });
    });
    const { port } = await server.run();
    this.server = server;
    return { port, endpoint: `http://${LOOPBACK}:${port}` };
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }

  /** Runs the request with a place to collect its events, and releases them if it succeeded. */
  private async captureEvents(ctx: KoaContext, next: () => Promise<unknown>): Promise<unknown> {
    const pending: PendingRequest = { records: [] };
    const result = await this.requests.run(pending, next);
    if (pending.records.length > 0 && ctx.status >= 200 && ctx.status < 300) {
      const operation = operationOf(ctx);
      const eTag = responseETag(ctx.body);
      this.requests.exit(() => {
        for (const record of pending.records) {
          this.emit({ record, operation, eTag: record.s3.object.eTag ?? eTag });
        }
      });
    }
    return result;
  }

  private emit(event: LocalS3Event): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (e) {
        console.error(`local S3 event listener failed: ${(e as Error).message}`);
      }
    }
  }
}

function operationOf(ctx: KoaContext): S3Operation | undefined {
  switch (ctx.method) {
    case 'PUT':
      return ctx.headers['x-amz-copy-source'] === undefined ? 'PutObject' : 'CopyObject';
    case 'POST':
      return ctx.query.uploadId === undefined ? 'PostObject' : 'CompleteMultipartUpload';
    case 'DELETE':
      return 'DeleteObject';
    default:
      return undefined;
  }
}

/** The ETag in a CopyObject or CompleteMultipartUpload response (by then rendered as XML), unquoted. */
function responseETag(body: unknown): string | undefined {
  const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : undefined;
  const match = text && /<ETag>([^<]*)<\/ETag>/.exec(text);
  return match ? match[1].replace(/&quot;|"/g, '') : undefined;
}

function assertPortFree(port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new PortInUseError(port, address) : e),
    );
    probe.listen(port, address, () => probe.close(() => resolve()));
  });
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
