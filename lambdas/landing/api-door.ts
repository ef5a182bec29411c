/**
 * The API door: one HTTP request, `POST /datasets/{dataset}/records`, bytes in memory (at most a Lambda
 * payload). Every check that needs no S3 call runs first, each failing with the status the client should
 * get; then the body lands once, and an Idempotency-Key, when sent, is remembered with what it landed.
 */
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import type { ContractRegistry } from '../../core/contracts/load-contracts';
import { LandingError } from '../../core/errors';
import { EXPECTED_ROWS_HEADER, invalidRowCountReason, parseRowCount } from '../../core/lake/expected-rows';
import { type SourceFormat, unsafeSegmentReason } from '../../core/lake/layout';
import { putIfAbsent } from '../aws/s3';
import { bronzeContentType, bronzeMetadata, FORMAT_MEDIA_TYPES } from './bronze-object';
import { hasGzipMagic, sha256Hex } from './content-digest';
import { claimIdempotencyKey, idempotentReplay, landOnce } from './land-once';
import { DEFAULT_MAX_DECOMPRESSED_BODY_BYTES, type Landed, type LandingConfig, now } from './landing-config';
import { logLanding } from './landing-log';
import { checkPayload, payloadText } from './payload-checks';

/** Media types accepted by the API door, and the contract format each one carries. */
const MEDIA_TYPE_FORMATS = new Map<string, SourceFormat>([
  ['text/csv', 'csv'],
  ['application/x-ndjson', 'ndjson'],
  ['application/ndjson', 'ndjson'],
  ['application/json', 'json'],
]);

const MAX_IDEMPOTENCY_KEY_CHARS = 255;

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
  // A refused reuse of an Idempotency-Key is refused before anything is stored; a request the key has
  // already seen lands the same bytes under the same key (writing them again only if they are missing).
  const earlier =
    idempotencyKey === undefined
      ? undefined
      : await idempotentReplay(config, contract, idempotencyKey, sha256);
  const landed = await landOnce(
    config,
    { ...parsed, receivedAt },
    (key) => putBronze(config, parsed, key, receivedAt),
    idempotencyKey === undefined
      ? undefined
      : (key) => claimIdempotencyKey(config, contract, idempotencyKey, sha256, earlier?.bronzeKey ?? key),
  );
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
  /** `X-Expected-Rows`, checked: the rows the producer says the body holds. */
  expectedRows: string | undefined;
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
  const expectedRows = expectedRowsHeader(headers[EXPECTED_ROWS_HEADER.toLowerCase()]);
  // Last: the only check that reads the whole body.
  const maxText = config.maxDecompressedBodyBytes ?? DEFAULT_MAX_DECOMPRESSED_BODY_BYTES;
  const file = fileName ?? 'the request body';
  checkPayload(contract, payloadText(request.body, gzip, maxText, file), file);
  return {
    contract,
    body: request.body,
    sha256: sha256Hex(request.body),
    gzip,
    contentType,
    originalName: fileName ?? 'api-request',
    idempotencyKey,
    expectedRows,
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

/** The stated row count, as digits; a value that is not one is refused (400) before anything is stored. */
function expectedRowsHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const count = parseRowCount(value);
  if (count === undefined) throw new LandingError(400, invalidRowCountReason(EXPECTED_ROWS_HEADER, value));
  return String(count);
}

function idempotencyKeyHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const key = value.trim();
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_CHARS) {
    throw new LandingError(400, `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_CHARS} characters`);
  }
  return key;
}
