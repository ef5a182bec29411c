/**
 * The multipart-copy requests s3rver lacks, answered as S3 answers them: a Koa middleware run before
 * s3rver's own, over its FilesystemStore and its layout of uploads (`<bucket>/._S3rver_uploads/<id>/`,
 * holding `key`, `metadata`, and each part as `<n>` with its `<n>.md5`).
 *
 *  - UploadPartCopy (`PUT ?partNumber&uploadId` with `x-amz-copy-source`): s3rver answered 501. A part is
 *    a byte range (`x-amz-copy-source-range: bytes=first-last`, the whole object without it) of the source
 *    as stored, on the conditions `x-amz-copy-source-if-match` / `-if-none-match` (412
 *    PreconditionFailed), answered with a `CopyPartResult` holding the part's ETag. A malformed range, or
 *    one outside the object, is 400 InvalidArgument, as S3 answers it;
 *  - AbortMultipartUpload (`DELETE ?uploadId`): s3rver answered 405. It removes the upload and its parts;
 *  - ListMultipartUploads (`GET /<bucket>?uploads`): s3rver answered 501. It lists the open uploads (with
 *    `prefix`; one page, never truncated);
 *  - CompleteMultipartUpload of an upload that does not exist: s3rver failed with 500, S3 answers 404
 *    NoSuchUpload (as do the three requests above);
 *  - CopyObject's `x-amz-copy-source-if-match` / `-if-none-match`: s3rver ignored them and copied
 *    whatever the source held; they answer 412 here, as for a part (checked just before s3rver copies).
 *
 * A copy that stops half-way must be able to take its parts back: without these, a multipart copy (see
 * lambdas/aws/copy-object.ts) could not run locally at all.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { type FileHandle, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type KoaContext, objectOf } from './s3-conditional-writes';

/** The part of s3rver's FilesystemStore used here. */
interface UploadStore {
  getBucket(bucket: string): Promise<unknown>;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
}

/** Thrown inside a handler; answered as S3's XML error. */
class S3Failure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

const xmlEscape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

function answerXml(ctx: KoaContext, status: number, xml: string): void {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = XML_HEAD + xml;
}

function answerFailure(ctx: KoaContext, failure: S3Failure): void {
  const extra = Object.entries(failure.extra)
    .map(([name, value]) => `<${name}>${xmlEscape(value)}</${name}>`)
    .join('');
  answerXml(
    ctx,
    failure.status,
    `<Error><Code>${failure.code}</Code><Message>${xmlEscape(failure.message)}</Message>${extra}` +
      `<RequestId>${randomUUID()}</RequestId></Error>`,
  );
}

const header = (ctx: KoaContext, name: string): string | undefined => {
  const v = ctx.headers[name];
  return Array.isArray(v) ? v[0] : v;
};
const queryValue = (ctx: KoaContext, name: string): string | undefined => {
  const v = ctx.query[name];
  return Array.isArray(v) ? v[0] : v;
};
const codeOf = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code;
const unquote = (etag: string) => etag.trim().replace(/^"|"$/g, '');

const noSuchUpload = () =>
  new S3Failure(
    404,
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  );
const noSuchBucket = (bucket: string) =>
  new S3Failure(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });

/** The middleware, over the server's store. */
export function uploadPartCopy(store: UploadStore) {
  const uploadDir = (bucket: string, uploadId: string): string => {
    // s3rver's ids are hex; anything else could name a path outside the uploads directory.
    if (!/^[0-9A-Za-z]+$/.test(uploadId)) throw noSuchUpload();
    return join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  };

  /** The directory of the open upload `uploadId` of `bucket`/`key`; NoSuchUpload when there is none. */
  const openUpload = async (bucket: string, key: string, uploadId: string): Promise<string> => {
    if (!(await store.getBucket(bucket))) throw noSuchBucket(bucket);
    const dir = uploadDir(bucket, uploadId);
    const uploadKey = await readFile(join(dir, 'key'), 'utf8').catch((e: unknown) => {
      if (codeOf(e) === 'ENOENT') return undefined;
      throw e;
    });
    if (uploadKey !== key) throw noSuchUpload();
    return dir;
  };

  const handlers = {
    copyPart: (ctx: KoaContext, bucket: string, key: string, uploadId: string) =>
      copyPart(store, ctx, { bucket, key, dir: () => openUpload(bucket, key, uploadId) }),
    abort: async (ctx: KoaContext, bucket: string, key: string, uploadId: string) => {
      await rm(await openUpload(bucket, key, uploadId), { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = '';
    },
    list: async (ctx: KoaContext, bucket: string) => {
      if (!(await store.getBucket(bucket))) throw noSuchBucket(bucket);
      answerXml(ctx, 200, await listUploads(store, bucket, queryValue(ctx, 'prefix') ?? ''));
    },
  };

  return async (ctx: KoaContext, next: () => Promise<unknown>): Promise<unknown> => {
    const uploadId = queryValue(ctx, 'uploadId');
    const object = objectOf(ctx.path);
    try {
      if (object && uploadId !== undefined) {
        const { bucket, key } = object;
        if (ctx.method === 'PUT' && header(ctx, 'x-amz-copy-source') !== undefined) {
          return await handlers.copyPart(ctx, bucket, key, uploadId);
        }
        if (ctx.method === 'DELETE') return await handlers.abort(ctx, bucket, key, uploadId);
        // CompleteMultipartUpload: s3rver's own, once the upload is known to exist.
        if (ctx.method === 'POST') await openUpload(bucket, key, uploadId);
      }
      const copiedFrom = header(ctx, 'x-amz-copy-source');
      if (object && uploadId === undefined && ctx.method === 'PUT' && copiedFrom !== undefined) {
        await checkCopyObjectConditions(store, ctx, copiedFrom);
      }
      const bucketOnly = /^\/([^/]+)\/?$/.exec(ctx.path);
      if (bucketOnly && ctx.method === 'GET' && 'uploads' in ctx.query) {
        return await handlers.list(ctx, decodeURIComponent(bucketOnly[1]));
      }
    } catch (e) {
      if (!(e instanceof S3Failure)) throw e;
      answerFailure(ctx, e);
      return undefined;
    }
    return next();
  };
}

/** The object a part is copied from. */
interface PartSource {
  bucket: string;
  key: string;
}

/** `x-amz-copy-source`: `[/]<bucket>/<key>[?versionId=...]`, URL-encoded (versions are ignored: s3rver has none). */
function parseCopySource(value: string): PartSource {
  const [path] = value.split('?');
  let decoded: string;
  try {
    decoded = decodeURIComponent(path.startsWith('/') ? path.slice(1) : path);
  } catch {
    decoded = '';
  }
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw new S3Failure(
      400,
      'InvalidArgument',
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      { ArgumentName: 'x-amz-copy-source', ArgumentValue: value },
    );
  }
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}

/** The inclusive byte range `x-amz-copy-source-range` names in an object of `size` bytes. */
export function parseCopySourceRange(
  value: string | undefined,
  size: number,
): { first: number; last: number } {
  if (value === undefined) return { first: 0, last: size - 1 };
  const m = /^bytes=(\d+)-(\d+)$/.exec(value.trim());
  if (!m) {
    throw new S3Failure(
      400,
      'InvalidArgument',
      'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: value },
    );
  }
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (first > last || last >= size) {
    throw new S3Failure(
      400,
      'InvalidArgument',
      `Range specified is not valid for source object of size: ${size}`,
      { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: value },
    );
  }
  return { first, last };
}

/**
 * The source object opened, with the ETag of the bytes opened: the file is opened first (a replacement
 * renames a new file into place, so the handle keeps the old bytes), then its metadata read and the path
 * checked to still be that file; a replacement in between is read again.
 */
async function openSource(
  store: UploadStore,
  source: PartSource,
): Promise<{ handle: FileHandle; etag: string; size: number }> {
  if (!(await store.getBucket(source.bucket))) throw noSuchBucket(source.bucket);
  const path = store.getResourcePath(source.bucket, source.key, 'object');
  for (let attempt = 1; ; attempt++) {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (e) {
      if (codeOf(e) !== 'ENOENT') throw e;
      throw new S3Failure(404, 'NoSuchKey', 'The specified key does not exist.', { Key: source.key });
    }
    try {
      const opened = await handle.stat();
      const metadata = await store.getMetadata(source.bucket, source.key);
      const now = await stat(path);
      if (now.ino === opened.ino && now.dev === opened.dev) {
        return { handle, etag: unquote(metadata.etag), size: opened.size };
      }
    } catch (e) {
      if (codeOf(e) !== 'ENOENT') {
        await handle.close();
        throw e;
      }
    }
    await handle.close();
    if (attempt >= 5)
      throw new S3Failure(500, 'InternalError', 'We encountered an internal error. Please try again.');
  }
}

/** `x-amz-copy-source-if-*` against the source's ETag: 412 when one does not hold. */
function checkSourceConditions(ctx: KoaContext, etag: string): void {
  const ifMatch = header(ctx, 'x-amz-copy-source-if-match');
  const ifNoneMatch = header(ctx, 'x-amz-copy-source-if-none-match');
  const failed = (condition: string) =>
    new S3Failure(
      412,
      'PreconditionFailed',
      'At least one of the pre-conditions you specified did not hold',
      {
        Condition: condition,
      },
    );
  if (ifMatch !== undefined && ifMatch.trim() !== '*' && unquote(ifMatch) !== etag) {
    throw failed('x-amz-copy-source-If-Match');
  }
  if (ifNoneMatch !== undefined && (ifNoneMatch.trim() === '*' || unquote(ifNoneMatch) === etag)) {
    throw failed('x-amz-copy-source-If-None-Match');
  }
  for (const name of ['x-amz-copy-source-if-modified-since', 'x-amz-copy-source-if-unmodified-since']) {
    if (header(ctx, name) !== undefined) {
      throw new S3Failure(501, 'NotImplemented', `The local S3 server does not implement ${name}`);
    }
  }
}

/** CopyObject's conditions on its source; s3rver then copies (or answers NoSuchKey for a missing source). */
async function checkCopyObjectConditions(
  store: UploadStore,
  ctx: KoaContext,
  copiedFrom: string,
): Promise<void> {
  const conditional = Object.keys(ctx.headers).some((name) => name.startsWith('x-amz-copy-source-if-'));
  if (!conditional) return;
  const source = parseCopySource(copiedFrom);
  let metadata: Record<string, string>;
  try {
    metadata = await store.getMetadata(source.bucket, source.key);
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return;
    throw e;
  }
  checkSourceConditions(ctx, unquote(metadata.etag));
}

async function copyPart(
  store: UploadStore,
  ctx: KoaContext,
  target: { bucket: string; key: string; dir: () => Promise<string> },
): Promise<void> {
  const partNumber = Number(queryValue(ctx, 'partNumber'));
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
    throw new S3Failure(
      400,
      'InvalidArgument',
      'Part number must be an integer between 1 and 10000, inclusive',
      {
        ArgumentName: 'partNumber',
        ArgumentValue: String(queryValue(ctx, 'partNumber')),
      },
    );
  }
  const dir = await target.dir();
  const source = parseCopySource(header(ctx, 'x-amz-copy-source') ?? '');
  const { handle, etag, size } = await openSource(store, source);
  let md5: string;
  try {
    checkSourceConditions(ctx, etag);
    const { first, last } = parseCopySourceRange(header(ctx, 'x-amz-copy-source-range'), size);
    md5 = await writePart(handle, first, last, join(dir, String(partNumber)));
  } finally {
    await handle.close();
  }
  answerXml(
    ctx,
    200,
    `<CopyPartResult xmlns="${S3_NS}"><LastModified>${new Date().toISOString()}</LastModified>` +
      `<ETag>"${md5}"</ETag></CopyPartResult>`,
  );
}

/** Bytes `first..last` of `handle` as the part file `partPath` (whole, through a rename) and its `.md5`. */
async function writePart(handle: FileHandle, first: number, last: number, partPath: string): Promise<string> {
  const hash = createHash('md5');
  const partial = `${partPath}.${randomUUID()}.partial`;
  try {
    if (last < first) await writeFile(partial, '');
    else {
      await pipeline(
        handle.createReadStream({ start: first, end: last, autoClose: false }),
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            callback(null, chunk);
          },
        }),
        createWriteStream(partial),
      );
    }
    const md5 = hash.digest('hex');
    await rename(partial, partPath);
    await writeFile(`${partPath}.md5`, md5);
    return md5;
  } catch (e) {
    // The upload was aborted (its directory removed) while the part was being written.
    if (codeOf(e) === 'ENOENT') throw noSuchUpload();
    throw e;
  } finally {
    await rm(partial, { force: true });
  }
}

/** The ListMultipartUploadsResult of `bucket`'s open uploads under `prefix`, by key then initiation. */
async function listUploads(store: UploadStore, bucket: string, prefix: string): Promise<string> {
  const root = store.getResourcePath(bucket, undefined, 'uploads');
  const ids = await readdir(root).catch((e: unknown) => {
    if (codeOf(e) === 'ENOENT') return [] as string[];
    throw e;
  });
  const uploads: { key: string; id: string; initiated: Date }[] = [];
  for (const id of ids) {
    const keyFile = join(root, id, 'key');
    try {
      const [key, stats] = await Promise.all([readFile(keyFile, 'utf8'), stat(keyFile)]);
      if (key.startsWith(prefix)) uploads.push({ key, id, initiated: stats.mtime });
    } catch (e) {
      // Completed or aborted while being listed, or not an upload.
      if (codeOf(e) !== 'ENOENT' && codeOf(e) !== 'ENOTDIR') throw e;
    }
  }
  uploads.sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.initiated.getTime() - b.initiated.getTime(),
  );
  const entries = uploads
    .map(
      (u) =>
        `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${u.id}</UploadId>` +
        `<Initiated>${u.initiated.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`,
    )
    .join('');
  return (
    `<ListMultipartUploadsResult xmlns="${S3_NS}"><Bucket>${xmlEscape(bucket)}</Bucket>` +
    `<KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><Prefix>${xmlEscape(prefix)}</Prefix>` +
    `<MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${entries}</ListMultipartUploadsResult>`
  );
}
