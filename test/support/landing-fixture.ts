/**
 * What the landing tests share: two small contracts (sales/orders in CSV, web/clicks in NDJSON), a local
 * S3 server holding the three buckets, and a `LandingConfig` on it whose clock and log the tests hold.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContractRegistry } from '../../core/contracts/load-contracts';
import type { ApiLandingRequest } from '../../lambdas/landing/api-door';
import type { LandingConfig } from '../../lambdas/landing/landing-config';
import { writeMinimalContracts } from './aws-events';
import { type LocalS3, withLocalS3 } from './local-s3';

export const LANDING = 'landing';
export const BRONZE = 'bronze';
export const QUARANTINE = 'quarantine';

/** The clock every test starts from. */
const TODAY = new Date('2026-11-21T10:00:00Z');

export const sha256 = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Two small contracts: sales/orders (CSV) and web/clicks (NDJSON). */
const writeContracts = (dir: string): void =>
  writeMinimalContracts(dir, [
    { domain: 'sales', dataset: 'orders', format: 'csv' },
    { domain: 'web', dataset: 'clicks', format: 'ndjson', file: 'clicks.yml' },
  ]);

/** The registry of the two contracts, read from files as the handler reads them. */
export function testContracts(): ContractRegistry {
  const dir = mkdtempSync(join(tmpdir(), 'medallion-contracts-'));
  try {
    writeContracts(dir);
    return ContractRegistry.fromDirectory(dir);
  } finally {
    rmSync(dir, { recursive: true });
  }
}

export interface LandingFixture {
  readonly s3: LocalS3;
  /** The entries logged since the test began. */
  readonly logs: Record<string, unknown>[];
  /** Valid once `beforeAll` has run. */
  readonly config: LandingConfig;
  /** Moves the clock; each test starts at 2026-11-21T10:00:00Z. */
  setToday(date: Date): void;
}

/** Jest helper: the local S3 server and a config landing into it, reset before each test. */
export function withLanding(): LandingFixture {
  const s3 = withLocalS3([LANDING, BRONZE, QUARANTINE]);
  const logs: Record<string, unknown>[] = [];
  let today = TODAY;
  let config: LandingConfig | undefined;

  beforeAll(() => {
    config = {
      s3: s3.client,
      contracts: testContracts(),
      landingBucket: LANDING,
      bronzeBucket: BRONZE,
      quarantineBucket: QUARANTINE,
      maxBodyBytes: 64 * 1024,
      now: () => today,
      log: (entry) => logs.push(entry),
    };
  });
  beforeEach(() => {
    logs.length = 0;
    today = TODAY;
  });

  return {
    s3,
    logs,
    get config() {
      if (!config) throw new Error('withLanding: the config exists only inside tests (after beforeAll)');
      return config;
    },
    setToday: (date) => {
      today = date;
    },
  };
}

/** Requests for one dataset, in its media type: `(body, extra headers) => request`. */
const apiRequest =
  (dataset: string, contentType: string, requestId: string) =>
  (body: string | Buffer, headers: Record<string, string> = {}): ApiLandingRequest => ({
    dataset,
    headers: { 'Content-Type': contentType, ...headers },
    body: Buffer.from(body),
    requestId,
  });

export const csvRequest = apiRequest('orders', 'text/csv', 'api-req-1');
export const ndjsonRequest = apiRequest('clicks', 'application/x-ndjson', 'api-req-2');
