import {
  type _Object,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';

/**
 * The one S3 client a handler creates at module load.
 *
 * Endpoint, region, credentials and checksum behaviour come from the SDK's standard variables
 * (`AWS_ENDPOINT_URL_S3`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`,
 * `AWS_REQUEST_CHECKSUM_CALCULATION`, `AWS_RESPONSE_CHECKSUM_VALIDATION`), so the handler code is the same
 * in AWS and against the local S3 server: only the environment differs. They are read from `env`, not
 * left to the SDK, because the SDK only ever looks at `process.env`: a caller passing another object (a
 * test, the local runner) would otherwise get a client pointed somewhere else. Unset variables fall back
 * to the SDK's own resolution. An endpoint override implies path-style addressing, which every
 * S3-compatible server understands.
 */
export function createS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const config: S3ClientConfig = { forcePathStyle: endpoint !== undefined, maxAttempts: 5 };
  if (endpoint) config.endpoint = endpoint;
  if (region) config.region = region;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    config.credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      sessionToken: env.AWS_SESSION_TOKEN,
    };
  }
  const requestChecksums = checksumSetting(env.AWS_REQUEST_CHECKSUM_CALCULATION);
  if (requestChecksums) config.requestChecksumCalculation = requestChecksums;
  const responseChecksums = checksumSetting(env.AWS_RESPONSE_CHECKSUM_VALIDATION);
  if (responseChecksums) config.responseChecksumValidation = responseChecksums;
  return new S3Client(config);
}

/** The SDK accepts these two values, case-insensitively, in the variables. */
function checksumSetting(value: string | undefined): 'WHEN_REQUIRED' | 'WHEN_SUPPORTED' | undefined {
  const upper = value?.toUpperCase();
  return upper === 'WHEN_REQUIRED' || upper === 'WHEN_SUPPORTED' ? upper : undefined;
}

/** The HTTP status of an SDK error, when the service answered. */
function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/**
 * "No such key / bucket": a 404, whichever way the SDK shaped it (a modeled `NoSuchKey`, a HEAD's bare
 * `NotFound`, or only the status). Needs `s3:ListBucket`, without which S3 answers 403 for a missing key.
 */
export function isNotFound(e: unknown): boolean {
  const name = (e as { name?: string } | undefined)?.name;
  return httpStatus(e) === 404 || name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket';
}

/** A conditional write (`If-Match` / `If-None-Match`) lost: 412. */
export function isPreconditionFailed(e: unknown): boolean {
  return httpStatus(e) === 412 || (e as { name?: string } | undefined)?.name === 'PreconditionFailed';
}

/** Every object under `prefix` (all of the bucket by default), page by page (ListObjectsV2). */
export async function* listObjects(
  s3: S3Client,
  bucket: string,
  prefix?: string,
  options: { abortSignal?: AbortSignal; startAfter?: string } = {},
): AsyncGenerator<_Object> {
  // Pages are chained by StartAfter (the last key returned), not by continuation token: the same
  // listing for S3, and the local S3 server's tokens fail on Node's OpenSSL 3 past the first page.
  let startAfter = options.startAfter;
  for (;;) {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, StartAfter: startAfter }),
      { abortSignal: options.abortSignal },
    );
    const contents = page.Contents ?? [];
    yield* contents;
    const last = contents.at(-1)?.Key;
    if (!page.IsTruncated || last === undefined) return;
    startAfter = last;
  }
}

/**
 * What `attempt` resolves to, or `fallback` when it fails with an error `expected` accepts: a 404 where
 * absence is an answer, a 412 where a lost condition is. Any other error is thrown as it came.
 */
export async function recoverWhen<T, F>(
  attempt: Promise<T>,
  expected: (e: unknown) => boolean,
  fallback: F,
): Promise<T | F> {
  try {
    return await attempt;
  } catch (e) {
    if (expected(e)) return fallback;
    throw e;
  }
}

/**
 * PutObject that never replaces: false when the key already exists (S3 answers `If-None-Match: *` with
 * 412; so does the local S3 server, see local/cloud/s3-conditional-writes.ts). Of concurrent calls for
 * one key, exactly one returns true.
 */
export function putIfAbsent(s3: S3Client, input: PutObjectCommandInput): Promise<boolean> {
  const put = s3.send(new PutObjectCommand({ ...input, IfNoneMatch: '*' })).then(() => true);
  return recoverWhen(put, isPreconditionFailed, false);
}

/** The object's ETag (`null` if S3 gave none), or `undefined` when the object does not exist. */
export function headEtag(s3: S3Client, bucket: string, key: string): Promise<string | null | undefined> {
  const head = s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then((out) => out.ETag ?? null);
  return recoverWhen(head, isNotFound, undefined);
}

export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  return (await headEtag(s3, bucket, key)) !== undefined;
}

/** An object being read: its bytes as a stream, with the ETag and Content-Type they came with. */
export interface ObjectStream {
  body: AsyncIterable<Uint8Array>;
  etag: string | undefined;
  contentType: string | undefined;
  /** The object's user metadata (names lower-case, without `x-amz-meta-`). */
  metadata: Record<string, string>;
}

/** Starts streaming an object; `undefined` when it does not exist. */
export function openObjectStream(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<ObjectStream | undefined> {
  const open = s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })).then((out) => {
    const body = out.Body as unknown as AsyncIterable<Uint8Array> | undefined;
    if (!body || typeof body[Symbol.asyncIterator] !== 'function') {
      throw new Error(`s3://${bucket}/${key}: the SDK returned a body that cannot be streamed`);
    }
    return { body, etag: out.ETag, contentType: out.ContentType, metadata: out.Metadata ?? {} };
  });
  return recoverWhen(open, isNotFound, undefined);
}

/**
 * Deletes the object only if it still holds the bytes of `etag` (`If-Match`), and takes an object
 * already gone as deleted: a writer that replaced it meanwhile keeps its bytes.
 */
export async function deleteIfUnchanged(
  s3: S3Client,
  bucket: string,
  key: string,
  etag: string | undefined,
): Promise<void> {
  const deletion = s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, IfMatch: etag }));
  await recoverWhen(deletion, (e) => isPreconditionFailed(e) || isNotFound(e), undefined);
}

/** `x-amz-copy-source`: S3 URL-decodes it, so each key segment is encoded ('+' must travel as %2B). */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** Every key under `prefix`, sorted. */
export async function listKeys(s3: S3Client, bucket: string, prefix?: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listObjects(s3, bucket, prefix)) if (o.Key) keys.push(o.Key);
  return keys.sort();
}

/** An ETag without the quotes S3 wraps it in. */
export function unquoteETag(eTag: string | undefined): string | undefined {
  return eTag?.replace(/"/g, '');
}

/** A write condition: replace only the object of this ETag (`IfMatch`), or create only (`IfNoneMatch: '*'`). */
export type WriteCondition = Pick<PutObjectCommandInput, 'IfMatch' | 'IfNoneMatch'>;

/**
 * A JSON record (a manifest, a quarantine reason), pretty-printed. With a `condition` that does not hold,
 * S3 answers 412 (see `isPreconditionFailed`) and nothing is written.
 */
export async function putJson(
  s3: S3Client,
  bucket: string,
  key: string,
  body: unknown,
  signal?: AbortSignal,
  condition: WriteCondition = {},
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: `${JSON.stringify(body, null, 2)}\n`,
      ContentType: 'application/json',
      ...condition,
    }),
    { abortSignal: signal },
  );
}

/** An object's body as UTF-8 text, with the ETag of those bytes. */
export interface ObjectText {
  readonly text: string;
  readonly etag: string | undefined;
}

/** The object's body as UTF-8 text and its ETag, or `undefined` when it does not exist. */
export function readObjectTextAndETag(
  s3: S3Client,
  bucket: string,
  key: string,
  signal?: AbortSignal,
): Promise<ObjectText | undefined> {
  const get = s3
    .send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal })
    .then(async (got) => ({ text: (await got.Body?.transformToString('utf8')) ?? '', etag: got.ETag }));
  return recoverWhen(get, isNotFound, undefined);
}

/** The object's body as UTF-8 text, or `undefined` when it does not exist. */
export async function readObjectText(
  s3: S3Client,
  bucket: string,
  key: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  return (await readObjectTextAndETag(s3, bucket, key, signal))?.text;
}

/** The object parsed as JSON, or `undefined` when it does not exist. */
export async function getJson<T>(
  s3: S3Client,
  bucket: string,
  key: string,
  signal?: AbortSignal,
): Promise<T | undefined> {
  const text = await readObjectText(s3, bucket, key, signal);
  return text === undefined ? undefined : (JSON.parse(text) as T);
}

/**
 * The directories (common prefixes) right under `prefix`, sorted, paged with StartAfter (`pageSize`: S3's
 * MaxKeys, 1,000 unless a test wants pages sooner).
 */
export async function listDirectories(
  s3: S3Client,
  bucket: string,
  prefix: string,
  pageSize?: number,
): Promise<string[]> {
  const found = new Set<string>();
  let startAfter: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        Delimiter: '/',
        StartAfter: startAfter,
        MaxKeys: pageSize,
      }),
    );
    const dirs = (page.CommonPrefixes ?? []).flatMap((p) => (p.Prefix ? [p.Prefix] : []));
    for (const d of dirs) found.add(d);
    // Resume after the last entry, a directory or a key. After a directory `d/`, resume at `d0` ('0'
    // follows '/'): every key under `d/` sorts before it, so the directory is not listed again (S3 counts
    // directories in MaxKeys). Only a key named exactly `d0` is skipped, and it is no directory.
    const resumeAfter = [
      ...dirs.map((d) => `${d.slice(0, -1)}0`),
      ...(page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])),
    ]
      .sort()
      .at(-1);
    if (!page.IsTruncated || resumeAfter === undefined) break;
    startAfter = resumeAfter;
  }
  return [...found].sort();
}

/** `work` over `items`, at most `limit` at a time, results in input order. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
