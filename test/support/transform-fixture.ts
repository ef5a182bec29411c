/**
 * The bronze-to-silver transform against a local S3 server (`withLocalS3`), on a real DuckDB engine with
 * its own scratch directory: call in a `describe`, it sets up in `beforeAll` and cleans up in `afterAll`,
 * and silences the transform's warnings (quarantined rows) while each test runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContractRegistry } from '../../core/contracts/load-contracts';
import { Engine } from '../../lambdas/bronze-to-silver/duckdb-engine';
import { BronzeToSilver, type TransformConfig } from '../../lambdas/bronze-to-silver/transform';
import type { LocalS3 } from './local-s3';

export interface TransformFixture {
  /** A transform of `contracts` writing to the buckets given, with `config` over the defaults. */
  transformer(contracts: ContractRegistry, config?: Partial<TransformConfig>): BronzeToSilver;
}

export function withTransform(
  s3: LocalS3,
  buckets: { readonly silver: string; readonly quarantine: string },
): TransformFixture {
  let scratch = '';
  let engine: Engine | undefined;
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'medallion-transform-'));
    engine = await Engine.create({ memoryLimit: '256MB', threads: 1, tempDirectory: join(scratch, 'spill') });
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  beforeEach(() => jest.spyOn(console, 'warn').mockImplementation(() => {}));
  afterEach(() => jest.restoreAllMocks());
  return {
    transformer: (contracts, config = {}) => {
      if (!engine) throw new Error('withTransform: use the transformer inside a test');
      return new BronzeToSilver({
        s3: s3.client,
        engine,
        contracts,
        config: {
          silverBucket: buckets.silver,
          quarantineBucket: buckets.quarantine,
          scratchDir: scratch,
          maxDecompressedBytes: 64 * 1024 * 1024,
          piiSalt: 'salt',
          ...config,
        },
      });
    },
  };
}
