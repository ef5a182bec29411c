/**
 * S3's conditional writes and per-object consistency, for s3rver (which ignores both): a Koa middleware
 * run before s3rver's own.
 *
 *  - `If-None-Match: *` on PutObject (or CompleteMultipartUpload, or CopyObject) answers 412
 *    PreconditionFailed when the key exists; `If-Match: <etag>` answers 404 NoSuchKey when it does not and
 *    412 when its ETag differs. The pipeline's create-once writes (bronze objects, landing markers,
 *    manifests) depend on it: without it, concurrent identical requests each "create" the object.
 *  - Requests on one object are serialized (an in-process lock per bucket and key, the server being one
 *    process): a condition and the write it guards are one step, and a read never meets an object between
 *    its bytes and its ETag. Parts of a multipart upload are not serialized (they write no object).
 */
import { randomUUID } from 'node:crypto';

/** The part of Koa's context the S3 patches read and write. */
export type KoaContext = {
  headers: Record<string, string | string[] | undefined>;
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  type: string;
};

interface ObjectStore {
  existsObject(bucket: string, key: string): Promise<boolean>;
  getMetadata(bucket: string, key: string): Promise<{ etag: string }>;
}

/** The bucket and key of a path-style object request; undefined for a bucket or service request. */
export function objectOf(path: string): { bucket: string; key: string } | undefined {
  const m = /^\/([^/]+)\/(.+)$/.exec(path);
  if (!m) return undefined;
  try {
    return { bucket: decodeURIComponent(m[1]), key: decodeURIComponent(m[2]) };
  } catch {
    return undefined;
  }
}

/** Per-key chains of requests: each runs once the one before it on the same key has finished. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    let release: () => void = () => {};
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = before.then(() => mine);
    this.tails.set(key, tail);
    await before;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

const header = (ctx: KoaContext, name: string): string | undefined => {
  const v = ctx.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

function fail(ctx: KoaContext, status: number, code: string, message: string, condition?: string): void {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message>` +
    `${condition ? `<Condition>${condition}</Condition>` : ''}<RequestId>${randomUUID()}</RequestId></Error>`;
}

/** Whether the request creates or replaces an object (and so may carry a write condition). */
function writesObject(ctx: KoaContext): boolean {
  if (ctx.method === 'PUT') return ctx.query.partNumber === undefined;
  return ctx.method === 'POST' && ctx.query.uploadId !== undefined;
}

/** The middleware, over the server's store. */
export function conditionalWrites(store: ObjectStore) {
  const lock = new KeyedLock();
  return async (ctx: KoaContext, next: () => Promise<unknown>): Promise<unknown> => {
    const object = objectOf(ctx.path);
    if (!object || (ctx.method === 'PUT' && ctx.query.partNumber !== undefined)) return next();
    return lock.run(`${object.bucket}/${object.key}`, async () => {
      if (writesObject(ctx)) {
        const ifNoneMatch = header(ctx, 'if-none-match');
        const ifMatch = header(ctx, 'if-match');
        if (ifNoneMatch !== undefined || ifMatch !== undefined) {
          const exists = await store.existsObject(object.bucket, object.key);
          if (ifNoneMatch === '*' && exists) {
            fail(
              ctx,
              412,
              'PreconditionFailed',
              'At least one of the pre-conditions you specified did not hold',
              'If-None-Match',
            );
            return undefined;
          }
          if (ifMatch !== undefined) {
            if (!exists) {
              fail(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
              return undefined;
            }
            const { etag } = await store.getMetadata(object.bucket, object.key);
            const unquote = (s: string) => s.trim().replace(/^"|"$/g, '');
            if (ifMatch.trim() !== '*' && unquote(ifMatch) !== unquote(etag)) {
              fail(
                ctx,
                412,
                'PreconditionFailed',
                'At least one of the pre-conditions you specified did not hold',
                'If-Match',
              );
              return undefined;
            }
          }
        }
      }
      return next();
    });
  };
}
