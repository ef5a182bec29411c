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

import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { mapCsvHeader } from '../../core/contracts/column-mapping';
import type { ColumnType, DatasetContract } from '../../core/contracts/dataset-contract';
import type { ContractRegistry } from '../../core/contracts/load-contracts';
import { LandingError, ObjectChangedError } from '../../core/errors';
import {
  bronzeContentIndexKey,
  bronzeExtension,
  bronzeKey,
  idempotencyIndexKey,
  quarantineUnknownKey,
  type SourceFormat,
  unsafeSegmentReason,
} from '../../core/lake/layout';
import {
  METRIC_DIMENSIONS,
  METRIC_NAMES,
  METRICS_NAMESPACE,
  metricsDocument,
} from '../../core/telemetry/metrics';

export interface LandingConfig {
  s3: S3Client;
  contracts: ContractRegistry;
  landingBucket: string;
  bronzeBucket: string;
  quarantineBucket: string;
  /** Largest API request body accepted, in bytes (after base64 decoding). */
  maxBodyBytes: number;
  /**
   * Largest gzip API body once decompressed for validation; default `DEFAULT_MAX_DECOMPRESSED_BODY_BYTES`.
   * The body is checked in memory, so this bounds the function's memory, not what S3 could hold.
   */
  maxDecompressedBodyBytes?: number;
  /** The clock; tests pin it. */
  now?: () => Date;
  /** Receives one structured entry per landing; default: a JSON line on stdout (CloudWatch). */
  log?: (entry: Record<string, unknown>) => void;
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
/** 32 MiB of JSON parses well within the landing function's 1 GB; larger files go through the bucket. */
export const DEFAULT_MAX_DECOMPRESSED_BODY_BYTES = 32 * 1024 * 1024;
/** How many schema problems a 400 lists (the total is counted). */
const MAX_LISTED_PROBLEMS = 5;

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
  const gzip = isGzipBody(request.body, headers['content-encoding']);
  const fileName = fileNameHeader(headers['x-file-name']);
  const idempotencyKey = idempotencyKeyHeader(headers['idempotency-key']);
  // Last: the only check that reads the whole body.
  const maxText = config.maxDecompressedBodyBytes ?? DEFAULT_MAX_DECOMPRESSED_BODY_BYTES;
  const file = fileName ?? 'the request body';
  checkPayload(contract, payloadText(request.body, gzip, maxText, file), file);
  return {
    contract,
    body: request.body,
    sha256: createHash('sha256').update(request.body).digest('hex'),
    gzip,
    contentType,
    originalName: fileName ?? 'api-request',
    idempotencyKey,
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

/**
 * The name recorded as `original-name`; downstream may use it as a file name, so it must be one.
 * HTTP header values are ASCII, so the name travels percent-encoded (UTF-8) and is decoded once here:
 * `r%C3%A9sum%C3%A9.csv` is `résumé.csv`, and a literal '%' must be sent as `%25`.
 */
function fileNameHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const name = percentDecoded(value);
  if (name === undefined) {
    throw new LandingError(
      400,
      `X-File-Name ${JSON.stringify(value)} is not valid percent-encoding (send '%' as %25)`,
    );
  }
  // Once decoded, a '%' is a character of the name, not an encoding left to undo.
  const reason = unsafeSegmentReason(name.replace(/%/g, '_'));
  if (reason) throw new LandingError(400, `X-File-Name ${JSON.stringify(value)} ${reason}`);
  return name;
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
// API door: what the body holds
//
// The checks are structural only: the body parses, each record is an object, required columns are
// present, and each value has a JSON type the column's declared type can be read from. Range, pattern,
// enum and format rules stay in silver, where a row that breaks them is quarantined with its line and
// rule while the rest of the file goes on; here one bad record refuses the whole request (400) and the
// producer resends it fixed, so nothing lands half-understood.

/** The body as text: gunzipped within `maxBytes` (a small body may inflate enormously), UTF-8, no BOM. */
function payloadText(body: Buffer, gzip: boolean, maxBytes: number, file: string): string {
  let bytes = body;
  if (gzip) {
    try {
      bytes = gunzipSync(body, { maxOutputLength: maxBytes });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new LandingError(
          413,
          `${file}: the gzip body decompresses to more than ${maxBytes} bytes: upload large files to the landing bucket`,
        );
      }
      throw new LandingError(400, `${file}: the gzip body cannot be decompressed: ${(e as Error).message}`);
    }
  }
  if (!isUtf8(bytes)) throw new LandingError(400, `${file}: the body is not valid UTF-8 text`);
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function checkPayload(contract: DatasetContract, text: string, file: string): void {
  const format = contract.source.format;
  if (format === 'csv') {
    checkCsvHeader(contract, text, file);
    return;
  }
  const problems = new SchemaProblems(contract);
  if (format === 'ndjson') {
    // Record n is line n: blank lines are allowed (silver skips them) and keep the numbering.
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() === '') continue;
      problems.check(parseJson(lines[i], `${file}: line ${i + 1} is not valid JSON`), i + 1);
    }
    if (problems.records === 0) throw new LandingError(400, `${file}: no JSON record in the body`);
  } else {
    const document = parseJson(text, `${file}: not valid JSON`);
    if (!Array.isArray(document)) {
      throw new LandingError(
        400,
        `${file}: dataset '${contract.dataset}' takes a JSON array of objects, got ${jsonKind(document)}`,
      );
    }
    for (const [i, record] of document.entries()) problems.check(record, i + 1);
  }
  problems.throwIfAny(file);
}

/** Collects `record <n>: column '<c>' <rule>` problems, listing the first few and counting the rest. */
class SchemaProblems {
  records = 0;
  private total = 0;
  private readonly listed: string[] = [];

  constructor(private readonly contract: DatasetContract) {}

  check(record: unknown, n: number): void {
    this.records++;
    if (jsonKind(record) !== 'an object') {
      this.add(`record ${n}: not a JSON object (got ${jsonKind(record)})`);
      return;
    }
    const fields = record as Record<string, unknown>;
    for (const column of this.contract.columns) {
      const field = column.from ?? column.name;
      const value = Object.hasOwn(fields, field) ? fields[field] : undefined;
      if (value === undefined || value === null) {
        if (column.required) {
          this.add(`record ${n}: column '${field}' is required but ${value === null ? 'null' : 'missing'}`);
        }
        continue;
      }
      const kind = jsonKind(value);
      if (!readableAs(column.type).includes(kind)) {
        this.add(`record ${n}: column '${field}' is ${column.typeText}, got ${kind}`);
      }
    }
  }

  throwIfAny(file: string): void {
    if (this.total === 0) return;
    const more = this.total - this.listed.length;
    throw new LandingError(
      400,
      `${file}: ${this.total} problem(s) against the contract of dataset '${this.contract.dataset}': ` +
        `${this.listed.join('; ')}${more > 0 ? `; and ${more} more` : ''}`,
    );
  }

  private add(problem: string): void {
    this.total++;
    if (this.listed.length < MAX_LISTED_PROBLEMS) this.listed.push(problem);
  }
}

type JsonKind = 'a string' | 'a number' | 'a boolean' | 'an object' | 'an array' | 'null';

function jsonKind(value: unknown): JsonKind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}` as JsonKind;
}

/**
 * JSON types a column's value may have. Silver reads every value as text and casts it, so a number in a
 * string ("12.50") is fine, and a string that does not cast is a row-level 'type' quarantine there.
 */
function readableAs(type: ColumnType): readonly JsonKind[] {
  switch (type.kind) {
    case 'string':
      return ['a string', 'a number', 'a boolean'];
    case 'boolean':
      return ['a boolean', 'a string'];
    case 'date':
    case 'timestamp':
      return ['a string'];
    default:
      return ['a number', 'a string'];
  }
}

/** `JSON.parse`, failing with a 400 that says where (V8's message does not always carry a position). */
function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const reason = (e as Error).message
      .replace(/, .*" is not valid JSON$/s, '') // a quote of the body: the position says where
      .replace(/ (?:in JSON )?at position \d+.*$/s, '');
    const at = jsonErrorOffset(text);
    const where = at === undefined ? '' : ` at ${lineAndColumn(text, at)}`;
    throw new LandingError(400, `${what}${where}: ${reason}`);
  }
}

/** `line L column C` (1-based), or `column C` for text on one line (an NDJSON record). */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const column = `column ${offset - before.lastIndexOf('\n')}`;
  return text.includes('\n') ? `line ${before.split('\n').length} ${column}` : column;
}

const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// biome-ignore lint/suspicious/noControlCharactersInRegex: raw control characters are what JSON forbids in strings
const JSON_STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/** Offset of the first syntax error in `text`, by a small recursive-descent scan; run only on failure. */
function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const token = (re: RegExp) => {
    re.lastIndex = i;
    if (!re.test(text)) throw i;
    i = re.lastIndex;
  };
  const expect = (char: string) => {
    space();
    if (text[i] !== char) throw i;
    i++;
  };
  /** `[...]` or `{...}`: the opening character, then items separated by commas, then `close`. */
  const list = (close: string, item: () => void) => {
    i++;
    space();
    if (text[i] !== close) {
      item();
      space();
      while (text[i] === ',') {
        i++;
        item();
        space();
      }
    }
    expect(close);
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{') {
      list('}', () => {
        space();
        token(JSON_STRING);
        expect(':');
        value();
      });
    } else if (c === '[') list(']', value);
    else if (c === '"') token(JSON_STRING);
    else if (c === '-' || (c >= '0' && c <= '9')) token(JSON_NUMBER);
    else {
      // Character by character, so that `tru}` fails at the '}' as the parser's message says.
      const literal = ['true', 'false', 'null'].find((l) => l[0] === c);
      if (!literal) throw i;
      for (const char of literal) {
        if (text[i] !== char) throw i;
        i++;
      }
    }
  };
  try {
    value();
    space();
    return i < text.length ? i : undefined;
  } catch (at) {
    return typeof at === 'number' ? at : undefined; // a RangeError: nested too deep to say
  }
}

/** CSV: the header must name every required column (matched as the transform matches them). */
function checkCsvHeader(contract: DatasetContract, text: string, file: string): void {
  const csv = contract.source.csv;
  if (!csv.header) return;
  const header = csvFirstRecord(text, csv);
  if (header.length === 0) throw new LandingError(400, `${file}: the CSV header line is empty`);
  const mapping = mapCsvHeader(contract, header);
  const missing = contract.columns.filter((c) => c.required && mapping.sources.get(c.name) === undefined);
  if (missing.length > 0) {
    throw new LandingError(
      400,
      `${file}: the CSV header lacks required column(s) of dataset '${contract.dataset}': ` +
        `${missing.map((c) => c.from ?? c.name).join(', ')} (header: ${header.join(', ')})`,
    );
  }
}

/** The fields of the first CSV record, trimmed, without trailing empty ones (as the transform reads it). */
function csvFirstRecord(text: string, csv: { delimiter: string; quote: string; escape?: string }): string[] {
  const escapeChar = csv.escape ?? csv.quote;
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === escapeChar && text[i + 1] === csv.quote) {
        field += csv.quote;
        i++;
      } else if (c === csv.quote) quoted = false;
      else field += c;
    } else if (c === csv.quote) quoted = true;
    else if (c === csv.delimiter) {
      fields.push(field);
      field = '';
    } else if (c === '\n') break;
    else field += c;
  }
  fields.push(field);
  const names = fields.map((f) => f.trim());
  while (names.length > 0 && names[names.length - 1] === '') names.pop();
  return names;
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
    throw new ObjectChangedError(
      `s3://${object.bucket}/${object.key} changed while it was being landed; retry`,
    );
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
