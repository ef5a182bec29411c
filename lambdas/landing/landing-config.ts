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
 *
 * Each concern lives in its own file:
 *  - `api-door.ts`: the HTTP request, its headers and dataset path;
 *  - `payload-checks.ts` and `parse-json.ts`: what an API body must hold;
 *  - `s3-door.ts`: an upload to the landing bucket, or its quarantine;
 *  - `land-once.ts`: the content index and Idempotency-Key markers;
 *  - `content-digest.ts`, `bronze-object.ts`: the bytes' hash, and the metadata stored with them;
 *  - `landing-config.ts`, `landing-log.ts`: what both doors are given, and what they log.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ContractRegistry } from '../../core/contracts/load-contracts';
import type { LogSink } from '../../core/telemetry/logger';

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
  log?: LogSink;
}

export interface Landed {
  bronzeKey: string;
  sha256: string;
  /** True when these bytes (or this Idempotency-Key) had landed before: nothing new was written. */
  duplicate: boolean;
}

/** The door a file came through, recorded as the bronze object's `source`. */
export type LandingSource = 'api' | 's3-upload';

/** 32 MiB of JSON parses well within the landing function's 1 GB; larger files go through the bucket. */
export const DEFAULT_MAX_DECOMPRESSED_BODY_BYTES = 32 * 1024 * 1024;

export function now(config: LandingConfig): Date {
  return config.now?.() ?? new Date();
}
