/**
 * Landing: every file a producer delivers becomes one immutable, content-addressed bronze object.
 *
 * Two doors share this logic: an HTTP request (`landApiRequest`, bytes in memory, at most a Lambda
 * payload) and an upload to the landing bucket (`landS3Object`, streamed and copied server-side, any
 * size S3 can copy in one request). Either way:
 *  - the bronze key is `<domain>/<dataset>/ingest_date=<day>/<sha256>.<ext>`, bytes stored as received;
 *  - the same bytes delivered twice land once: a content index marker maps the hash to its bronze key;
 *  - writes are conditional (`If-None-Match: *`), so a retry or a race never rewrites an object;
 *  - nothing is lost: an upload no contract claims is moved to quarantine with its reason.
 * No Lambda types here: the handler translates events and errors.
 */
import { createHash } from 'node:crypto';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ContractRegistry, DatasetContract } from '../shared/dataset-contract';
import { METRIC_DIMENSIONS, METRIC_NAMES, METRICS_NAMESPACE, metricsDocument } from '../shared/metrics';
import {
  bronzeContentIndexKey,
  bronzeExtension,
  bronzeKey,
  idempotencyIndexKey,
  quarantineUnknownKey,
  type SourceFormat,
  unsafeSegmentReason,
} from '../shared/object-keys';

export interface LandingConfig {
  s3: S3Client;
  contracts: ContractRegistry;
  landingBucket: string;
  bronzeBucket: string;
  quarantineBucket: string;
  /** Largest API request body accepted, in bytes (after base64 decoding). */
  maxBodyBytes: number;
  /** The clock; tests pin it. */
  now?: () => Date;
  /** Receives one structured entry per landing; default: a JSON line on stdout (CloudWatch). */
  log?: (entry: Record<string, unknown>) => void;
}

/** A refusal the client can act on; `statusCode` is the HTTP status the API door answers with. */
export class LandingError extends Error {
  constructor(
    readonly statusCode: 400 | 404 | 409 | 413 | 415,
    message: string,
  ) {
    super(message);
    this.name = 'LandingError';
  }
}

export interface Landed {
  bronzeKey: string;
  sha256: string;
  /** True when these bytes (or this Idempotency-Key) had landed before: nothing new was written. */
  duplicate: boolean;
}

type Source = 'api' | 's3-upload';

/** Media types accepted by the API door, and the contract format each one carries. */
const MEDIA_TYPE_FORMATS = new Map<string, SourceFormat>([
  ['text/csv', 'csv'],
  ['application/x-ndjson', 'ndjson'],
  ['application/ndjson', 'ndjson'],
  ['application/json', 'json'],
]);

const FORMAT_MEDIA_TYPES: Record<SourceFormat, string> = {
  csv: 'text/csv',
  ndjson: 'application/x-ndjson',
  json: 'application/json',
};

/** S3 allows 2 KB of user metadata in all; the original name gets at most half of it. */
const MAX_ORIGINAL_NAME_CHARS = 1024;
const MAX_IDEMPOTENCY_KEY_CHARS = 255;

// ---------------------------------------------------------------------------------------------------
// API door

export interface ApiLandingRequest {
  /** The `{dataset}` path parameter exactly as API Gateway passed it (possibly still percent-encoded). */
  dataset: string | undefined;
  /** Request headers; names in any case. */
  headers: Record<string, string | undefined> | null;
  /** The body bytes, already base64-decoded. */
  body: Buffer;
  requestId: string;
}

export async function landApiRequest(config: LandingConfig, request: ApiLandingRequest): Promise<Landed> {
  const parsed = parseApiRequest(config, request);
  const { contract, idempotencyKey, sha256 } = parsed;
  const receivedAt = now(config);
  const earlier =
    idempotencyKey === undefined
      ? undefined
      : await idempotentReplay(config, contract, idempotencyKey, sha256);
  const landed =
    earlier ??
    (await landOnce(config, { ...parsed, receivedAt }, (key) => putBronze(config, parsed, key, receivedAt)));
  if (idempotencyKey !== undefined && !earlier) {
    await rememberIdempotencyKey(config, contract, idempotencyKey, landed);
  }
  const { body, requestId } = parsed;
  logLanding(config, { source: 'api', contract, landed, bytes: body.length, requestId });
  return landed;
}

type ApiContent = {
  contract: DatasetContract;
  body: Buffer;
  sha256: string;
  gzip: boolean;
  contentType: string;
  originalName: string;
  idempotencyKey: string | undefined;
  requestId: string;
};

/** Every check that needs no S3 call, each failing with the status the client should get. */
function parseApiRequest(config: LandingConfig, request: ApiLandingRequest): ApiContent {
  const contract = contractForPath(config.contracts, request.dataset);
  const headers = lowerCaseNames(request.headers);
  const contentType = acceptedMediaType(contract, headers['content-type']);
  checkBodySize(request.body, config.maxBodyBytes);
  return {
    contract,
    body: request.body,
    sha256: createHash('sha256').update(request.body).digest('hex'),
    gzip: isGzipBody(request.body, headers['content-encoding']),
    contentType,
    originalName: fileNameHeader(headers['x-file-name']),
    idempotencyKey: idempotencyKeyHeader(headers['idempotency-key']),
    requestId: request.requestId,
  };
}

function putBronze(
  config: LandingConfig,
  content: ApiContent,
  key: string,
  receivedAt: Date,
): Promise<boolean> {
  return putIfAbsent(config.s3, {
    Bucket: config.bronzeBucket,
    Key: key,
    Body: content.body,
    ContentType: bronzeContentType(content.contract.source.format, content.gzip),
    Metadata: bronzeMetadata({ source: 'api', receivedAt, ...content }),
  });
}

/** The contract named by the path, refusing names that could leave their prefix (raw or decoded). */
function contractForPath(contracts: ContractRegistry, raw: string | undefined): DatasetContract {
  if (raw === undefined)
    throw new LandingError(400, 'the path names no dataset: POST /datasets/{dataset}/records');
  for (const candidate of [raw, percentDecoded(raw)]) {
    const reason = candidate === undefined ? 'is not valid percent-encoding' : unsafeSegmentReason(candidate);
    if (reason) throw new LandingError(400, `dataset name ${JSON.stringify(raw)} ${reason}`);
  }
  const contract = contracts.byName(raw);
  if (!contract) throw new LandingError(404, `unknown dataset '${raw}': no data contract declares it`);
  return contract;
}

function percentDecoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function lowerCaseNames(
  headers: Record<string, string | undefined> | null,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}

/** The request's media type, when it is one we take and the one the contract's format expects. */
function acceptedMediaType(contract: DatasetContract, header: string | undefined): string {
  const expected = FORMAT_MEDIA_TYPES[contract.source.format];
  const mediaType = header?.split(';')[0].trim().toLowerCase();
  if (!mediaType)
    throw new LandingError(415, `Content-Type is required: dataset '${contract.dataset}' takes ${expected}`);
  const format = MEDIA_TYPE_FORMATS.get(mediaType);
  if (!format) {
    const accepted = [...MEDIA_TYPE_FORMATS.keys()].join(', ');
    throw new LandingError(415, `unsupported Content-Type '${mediaType}': use one of ${accepted}`);
  }
  if (format !== contract.source.format) {
    throw new LandingError(
      415,
      `dataset '${contract.dataset}' takes ${contract.source.format} (${expected}), not ${mediaType}`,
    );
  }
  return mediaType;
}

function checkBodySize(body: Buffer, maxBytes: number): void {
  if (body.length === 0) throw new LandingError(400, 'the request body is empty');
  if (body.length > maxBytes) {
    throw new LandingError(
      413,
      `the request body is ${body.length} bytes, over the limit of ${maxBytes}: upload large files to the landing bucket`,
    );
  }
}

/**
 * Gzip is recognised by its magic bytes, announced or not (as for uploads); an announced encoding must
 * be gzip and must match the bytes, so a client bug is reported instead of landing unreadable data.
 */
function isGzipBody(body: Buffer, header: string | undefined): boolean {
  const encoding = header?.trim().toLowerCase();
  if (!encoding || encoding === 'identity') return hasGzipMagic(body);
  if (encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw new LandingError(415, `unsupported Content-Encoding '${encoding}': send the body as is or gzip`);
  }
  if (!hasGzipMagic(body))
    throw new LandingError(400, 'Content-Encoding is gzip but the body is not gzip data');
  return true;
}

/** The name recorded as `original-name`; downstream may use it as a file name, so it must be one. */
function fileNameHeader(value: string | undefined): string {
  if (value === undefined) return 'api-request';
  const reason = unsafeSegmentReason(value);
  if (reason) throw new LandingError(400, `X-File-Name ${JSON.stringify(value)} ${reason}`);
  return value;
}

function idempotencyKeyHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const key = value.trim();
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_CHARS) {
    throw new LandingError(400, `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_CHARS} characters`);
  }
  return key;
}

/** What an earlier request with this Idempotency-Key landed, refusing the key's reuse for other bytes. */
async function idempotentReplay(
  config: LandingConfig,
  contract: DatasetContract,
  idempotencyKey: string,
  sha256: string,
): Promise<Landed | undefined> {
  const marker = await readMarker(
    config.s3,
    config.bronzeBucket,
    idempotencyIndexKey(contract.domain, contract.dataset, idempotencyKey),
  );
  if (!marker) return undefined;
  if (marker.sha256 !== sha256) {
    throw new LandingError(409, 'this Idempotency-Key was already used with a different body');
  }
  return { bronzeKey: marker.value, sha256, duplicate: true };
}

async function rememberIdempotencyKey(
  config: LandingConfig,
  contract: DatasetContract,
  idempotencyKey: string,
  landed: Landed,
): Promise<void> {
  const key = idempotencyIndexKey(contract.domain, contract.dataset, idempotencyKey);
  const created = await putIfAbsent(config.s3, {
    Bucket: config.bronzeBucket,
    Key: key,
    Body: landed.bronzeKey,
    ContentType: 'text/plain',
    Metadata: { sha256: landed.sha256 },
  });
  // Lost a race with a concurrent request using the same key: only the same bytes may share it.
  if (!created) await idempotentReplay(config, contract, idempotencyKey, landed.sha256);
}

// ---------------------------------------------------------------------------------------------------
// S3 upload door

export interface LandingObject {
  bucket: string;
  /** The decoded object key (see `decodeEventKey`). */
  key: string;
  requestId: string;
  /** When S3 received the object (the event time); default: now. */
  receivedAt?: Date;
}

export type S3LandingOutcome =
  | ({ outcome: 'landed' } & Landed)
  | { outcome: 'quarantined'; quarantineKey: string; reason: string }
  /** The object is no longer in landing: an earlier delivery of the same event already handled it. */
  | { outcome: 'gone' };

export async function landS3Object(config: LandingConfig, object: LandingObject): Promise<S3LandingOutcome> {
  const receivedAt = object.receivedAt ?? now(config);
  const route = routeLandingKey(config.contracts, object.key);
  if ('reason' in route) return quarantine(config, object, route.reason, receivedAt);

  const source = await openObject(config.s3, object.bucket, object.key);
  if (!source) return { outcome: 'gone' };
  const digest = await digestStream(source.body);
  const { contract } = route;
  const metadata = bronzeMetadata({
    source: 's3-upload',
    originalName: route.name,
    receivedAt,
    sha256: digest.sha256,
    requestId: object.requestId,
    contentType: source.contentType ?? 'application/octet-stream',
  });
  const landed = await landOnce(
    config,
    { contract, sha256: digest.sha256, gzip: digest.gzip, receivedAt },
    (key) =>
      copyToBronze(config, object, source.etag, {
        key,
        metadata,
        contentType: bronzeContentType(contract.source.format, digest.gzip),
      }),
  );
  await deleteIfUnchanged(config.s3, object.bucket, object.key, source.etag);
  logLanding(config, {
    source: 's3-upload',
    contract,
    landed,
    bytes: digest.bytes,
    requestId: object.requestId,
  });
  return { outcome: 'landed', ...landed };
}

type Route = { contract: DatasetContract; name: string } | { reason: string };

/** Which contract owns a landing key `<domain>/<dataset>/<name...>`, or why none does. */
export function routeLandingKey(contracts: ContractRegistry, key: string): Route {
  const segments = key.split('/');
  const name = segments[segments.length - 1];
  if (segments.length < 3 || name === '') {
    return { reason: 'the key is not <domain>/<dataset>/<file name>' };
  }
  const [domain, dataset] = segments;
  const contract = contracts.byName(dataset);
  if (!contract) return { reason: `no data contract declares dataset '${dataset}'` };
  if (contract.domain !== domain) {
    return { reason: `dataset '${dataset}' belongs to domain '${contract.domain}', not '${domain}'` };
  }
  return { contract, name };
}

export interface Digest {
  sha256: string;
  bytes: number;
  /** The content starts with the gzip magic bytes 1f 8b. */
  gzip: boolean;
}

/** Hashes a stream chunk by chunk: memory stays at one chunk whatever the object's size. */
export async function digestStream(body: AsyncIterable<Uint8Array>): Promise<Digest> {
  const hash = createHash('sha256');
  const head: number[] = []; // the first two bytes, which may arrive in different chunks
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    for (let i = 0; head.length < 2 && i < chunk.length; i++) head.push(chunk[i]);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes, gzip: hasGzipMagic(head) };
}

export function hasGzipMagic(bytes: ArrayLike<number>): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

type OpenObject = {
  body: AsyncIterable<Uint8Array>;
  etag: string | undefined;
  contentType: string | undefined;
};

/** Starts streaming an object; `undefined` when it does not exist. */
async function openObject(s3: S3Client, bucket: string, key: string): Promise<OpenObject | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = out.Body as unknown as AsyncIterable<Uint8Array> | undefined;
    if (!body || typeof body[Symbol.asyncIterator] !== 'function') {
      throw new Error(`s3://${bucket}/${key}: the SDK returned a body that cannot be streamed`);
    }
    return { body, etag: out.ETag, contentType: out.ContentType };
  } catch (e) {
    if (httpStatus(e) === 404) return undefined;
    throw e;
  }
}

/**
 * Server-side copy into bronze: no bytes pass through the Lambda. `CopySourceIfMatch` pins the copy to
 * the bytes that were hashed; `IfNoneMatch` keeps an existing bronze object as it is.
 */
async function copyToBronze(
  config: LandingConfig,
  object: LandingObject,
  etag: string | undefined,
  target: { key: string; metadata: Record<string, string>; contentType: string },
): Promise<boolean> {
  try {
    await config.s3.send(
      new CopyObjectCommand({
        Bucket: config.bronzeBucket,
        Key: target.key,
        CopySource: copySource(object.bucket, object.key),
        CopySourceIfMatch: etag,
        IfNoneMatch: '*',
        MetadataDirective: 'REPLACE',
        Metadata: target.metadata,
        ContentType: target.contentType,
      }),
    );
    return true;
  } catch (e) {
    if (!isPreconditionFailed(e)) throw e;
    // Both conditions answer 412: either bronze already holds the object (an earlier attempt copied it),
    // or the landing object was overwritten after it was hashed, and the next attempt must hash it again.
    if (await exists(config.s3, config.bronzeBucket, target.key)) return false;
    throw new Error(`s3://${object.bucket}/${object.key} changed while it was being landed; retry`);
  }
}

/** Moves an upload no contract claims into quarantine, with its reason beside it. */
async function quarantine(
  config: LandingConfig,
  object: LandingObject,
  reason: string,
  receivedAt: Date,
): Promise<S3LandingOutcome> {
  const found = await headEtag(config.s3, object.bucket, object.key);
  if (found === undefined) return { outcome: 'gone' };
  const etag = found ?? undefined;
  const quarantineKey = quarantineUnknownKey(object.key);
  await config.s3.send(
    new CopyObjectCommand({
      Bucket: config.quarantineBucket,
      Key: quarantineKey,
      CopySource: copySource(object.bucket, object.key),
      CopySourceIfMatch: etag,
      MetadataDirective: 'REPLACE',
      Metadata: { reason: headerSafe(reason), 'received-at': receivedAt.toISOString() },
    }),
  );
  const why = {
    reason,
    sourceBucket: object.bucket,
    sourceKey: object.key,
    receivedAt: receivedAt.toISOString(),
  };
  await config.s3.send(
    new PutObjectCommand({
      Bucket: config.quarantineBucket,
      Key: `${quarantineKey}.reason.json`,
      Body: JSON.stringify(why, null, 2),
      ContentType: 'application/json',
    }),
  );
  await deleteIfUnchanged(config.s3, object.bucket, object.key, etag);
  log(config, { level: 'warn', message: 'quarantined', ...why, quarantineKey, requestId: object.requestId });
  return { outcome: 'quarantined', quarantineKey, reason };
}

/**
 * Deletes the landing object only if it still holds the bytes just handled: an upload that replaced it
 * meanwhile has its own event coming and must not be lost.
 */
async function deleteIfUnchanged(
  s3: S3Client,
  bucket: string,
  key: string,
  etag: string | undefined,
): Promise<void> {
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, IfMatch: etag }));
  } catch (e) {
    if (!isPreconditionFailed(e) && httpStatus(e) !== 404) throw e;
  }
}

/** `x-amz-copy-source`: S3 URL-decodes it, so each key segment is encoded ('+' must travel as %2B). */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

// ---------------------------------------------------------------------------------------------------
// Shared by both doors

/**
 * Lands content once: when the content index knows the hash, the earlier bronze key is returned;
 * otherwise `write` stores the bytes under the new key (false: it was already there) and the index
 * marker is written after it, so a crash in between only costs a retry, never a dangling marker.
 */
async function landOnce(
  config: LandingConfig,
  content: { contract: DatasetContract; sha256: string; gzip: boolean; receivedAt: Date },
  write: (key: string) => Promise<boolean>,
): Promise<Landed> {
  const { contract, sha256 } = content;
  const indexKey = bronzeContentIndexKey(contract.domain, contract.dataset, sha256);
  const indexed = await readMarker(config.s3, config.bronzeBucket, indexKey);
  if (indexed) return { bronzeKey: indexed.value, sha256, duplicate: true };

  const key = bronzeKey({
    domain: contract.domain,
    dataset: contract.dataset,
    receivedAt: content.receivedAt,
    sha256,
    extension: bronzeExtension(contract.source.format, content.gzip),
  });
  const created = await write(key);
  await putIfAbsent(config.s3, {
    Bucket: config.bronzeBucket,
    Key: indexKey,
    Body: key,
    ContentType: 'text/plain',
    Metadata: { sha256 },
  });
  return { bronzeKey: key, sha256, duplicate: !created };
}

/** The S3 user metadata of a bronze object (S3 lower-cases the names anyway). */
export function bronzeMetadata(p: {
  source: Source;
  originalName: string;
  receivedAt: Date;
  sha256: string;
  requestId: string;
  contentType: string;
}): Record<string, string> {
  return {
    source: p.source,
    'original-name': encodeOriginalName(p.originalName),
    'received-at': p.receivedAt.toISOString(),
    sha256: p.sha256,
    'request-id': headerSafe(p.requestId),
    'content-type': headerSafe(p.contentType),
  };
}

/**
 * Metadata travels as HTTP headers, which carry ASCII only: the name is percent-encoded
 * (`decodeURIComponent` restores it), whole characters at a time, within the metadata size budget.
 */
function encodeOriginalName(name: string): string {
  let out = '';
  for (const char of name) {
    const encoded = percentEncode(char);
    if (out.length + encoded.length > MAX_ORIGINAL_NAME_CHARS) break;
    out += encoded;
  }
  return out;
}

/** Printable ASCII passes; anything else is percent-encoded. */
function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/gu, percentEncode);
}

function percentEncode(char: string): string {
  try {
    return encodeURIComponent(char);
  } catch {
    return '%EF%BF%BD'; // a lone surrogate: U+FFFD, as a UTF-8 decoder would read it
  }
}

function bronzeContentType(format: SourceFormat, gzip: boolean): string {
  return gzip ? 'application/gzip' : FORMAT_MEDIA_TYPES[format];
}

function now(config: LandingConfig): Date {
  return config.now?.() ?? new Date();
}

function log(config: LandingConfig, entry: Record<string, unknown>): void {
  (config.log ?? ((e) => console.log(JSON.stringify(e))))(entry);
}

function logLanding(
  config: LandingConfig,
  p: { source: Source; contract: DatasetContract; landed: Landed; bytes: number; requestId: string },
): void {
  log(config, {
    level: 'info',
    message: p.landed.duplicate ? 'already landed' : 'landed',
    source: p.source,
    domain: p.contract.domain,
    dataset: p.contract.dataset,
    bronzeKey: p.landed.bronzeKey,
    sha256: p.landed.sha256,
    bytes: p.bytes,
    duplicate: p.landed.duplicate,
    requestId: p.requestId,
    // The same entry carries the landing metrics (EMF). Bytes that had already landed store nothing new.
    ...metricsDocument(
      METRICS_NAMESPACE,
      { [METRIC_DIMENSIONS.Dataset]: p.contract.dataset },
      [
        { name: METRIC_NAMES.FilesLanded, value: p.landed.duplicate ? 0 : 1, unit: 'Count' },
        { name: METRIC_NAMES.BytesLanded, value: p.landed.duplicate ? 0 : p.bytes, unit: 'Bytes' },
      ],
      now(config).getTime(),
    ),
  });
}

// ---------------------------------------------------------------------------------------------------
// Small S3 helpers

/**
 * PutObject that never replaces: false when the key already exists. Real S3 enforces `If-None-Match`
 * and answers 412; s3rver ignores it and overwrites, harmless here since every such object is
 * content-addressed or holds the same value.
 */
async function putIfAbsent(s3: S3Client, input: PutObjectCommandInput): Promise<boolean> {
  try {
    await s3.send(new PutObjectCommand({ ...input, IfNoneMatch: '*' }));
    return true;
  } catch (e) {
    if (isPreconditionFailed(e)) return false;
    throw e;
  }
}

/** A marker object: its body (a bronze key) and the sha256 in its metadata; `undefined` when absent. */
async function readMarker(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<{ value: string; sha256: string | undefined } | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const value = (await out.Body?.transformToString('utf8')) ?? '';
    return { value, sha256: out.Metadata?.sha256 };
  } catch (e) {
    if (httpStatus(e) === 404) return undefined;
    throw e;
  }
}

/** The object's ETag (`null` if S3 gave none), or `undefined` when the object does not exist. */
async function headEtag(s3: S3Client, bucket: string, key: string): Promise<string | null | undefined> {
  try {
    return (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag ?? null;
  } catch (e) {
    if (httpStatus(e) === 404) return undefined;
    throw e;
  }
}

async function exists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  return (await headEtag(s3, bucket, key)) !== undefined;
}

function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isPreconditionFailed(e: unknown): boolean {
  return httpStatus(e) === 412 || (e as { name?: string } | undefined)?.name === 'PreconditionFailed';
}
