/** What a bronze object carries besides its bytes: its provenance as S3 user metadata, and its type. */
import { EXPECTED_ROWS_METADATA } from '../../core/lake/expected-rows';
import type { SourceFormat } from '../../core/lake/layout';
import type { LandingSource } from './landing-config';

/** The media type of each contract format, as the API door takes it and bronze stores it. */
export const FORMAT_MEDIA_TYPES: Record<SourceFormat, string> = {
  csv: 'text/csv',
  ndjson: 'application/x-ndjson',
  json: 'application/json',
};

/** S3 allows 2 KB of user metadata in all; the original name gets at most half of it. */
const MAX_ORIGINAL_NAME_CHARS = 1024;

/** A count has at most 15 digits: longer values are cut (still refused), so metadata stays within 2 KB. */
const MAX_EXPECTED_ROWS_CHARS = 64;

/** The S3 user metadata of a bronze object (S3 lower-cases the names anyway). */
export function bronzeMetadata(p: {
  source: LandingSource;
  originalName: string;
  receivedAt: Date;
  sha256: string;
  requestId: string;
  contentType: string;
  /** The row count the producer stated (`core/lake/expected-rows.ts`), as sent. */
  expectedRows?: string;
}): Record<string, string> {
  return {
    ...(p.expectedRows === undefined
      ? {}
      : { [EXPECTED_ROWS_METADATA]: headerSafe(p.expectedRows).slice(0, MAX_EXPECTED_ROWS_CHARS) }),
    source: p.source,
    'original-name': encodeOriginalName(p.originalName),
    'received-at': p.receivedAt.toISOString(),
    sha256: p.sha256,
    'request-id': headerSafe(p.requestId),
    'content-type': headerSafe(p.contentType),
  };
}

export function bronzeContentType(format: SourceFormat, gzip: boolean): string {
  return gzip ? 'application/gzip' : FORMAT_MEDIA_TYPES[format];
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
export function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/gu, percentEncode);
}

function percentEncode(char: string): string {
  try {
    return encodeURIComponent(char);
  } catch {
    return '%EF%BF%BD'; // a lone surrogate: U+FFFD, as a UTF-8 decoder would read it
  }
}
