/**
 * Evidence helper: the real `BronzeToSilver` against a real local S3 server and a real DuckDB, with readers
 * for everything a run leaves behind (manifest, silver Parquet rows, quarantined rows, whole-file
 * quarantine), so a scenario can assert on the outcome byte by byte.
 *
 *   const h = withTransformHarness();
 *   it('...', async () => {
 *     const m = await h.land('retail/orders/ingest_date=2026-11-01/x.csv', body);
 *     expect(await h.silverRows(m)).toEqual([...]);
 *   });
 *
 * One S3 server and one engine per test file (`beforeAll`/`afterAll`), like `withLocalS3`.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DatasetContract } from '../../../core/contracts/dataset-contract';
import { ContractRegistry } from '../../../core/contracts/load-contracts';
import { manifestKey, sourceId } from '../../../core/lake/layout';
import type { Manifest } from '../../../core/lake/manifest';
import { sqlString } from '../../../core/sql/quote';
import { Engine, queryRows } from '../../../lambdas/bronze-to-silver/duckdb-engine';
import { BronzeToSilver, type TransformConfig } from '../../../lambdas/bronze-to-silver/transform';
import { type LocalS3, withLocalS3 } from '../local-s3';
import type { QuarantineLine } from '../run-silver-sql';

export const BRONZE = 'bronze';
export const SILVER = 'silver';
export const QUARANTINE = 'quarantine';
export const SAMPLE_CONTRACTS = join(__dirname, '../../../samples/contracts');
/** The cap tests run with (Lambda's default is 4 GiB): small enough to hit quickly. */
export const TEST_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

/** A bronze key of a sample dataset, as landing writes them. */
export const bronzeKey = (dataset: string, name: string, domain = 'retail') =>
  `${domain}/${dataset}/ingest_date=2026-11-01/${name}`;

/** What `quarantineFile` returns for a file quarantined as a whole. */
export interface FileQuarantine {
  /** The copy in the quarantine bucket (byte-identical to bronze). */
  readonly bytes: Buffer;
  /** The copy's metadata (`reason` is the reason code). */
  readonly metadata: Record<string, string>;
  /** `<copy>.reason.json`. */
  readonly reason: {
    reason: string;
    reasonCode: string;
    sourceBucket: string;
    sourceKey: string;
    quarantinedAt: string;
  };
}

export interface TransformHarness {
  readonly s3: LocalS3;
  readonly engine: Engine;
  /** A scratch directory of this test file, removed afterwards. */
  readonly scratch: string;
  /** The sample contracts (orders, customers, products). */
  readonly contracts: ContractRegistry;
  /** A sample contract by dataset name, to derive variants from (`{ ...contract('orders'), ... }`). */
  contract(dataset: string): DatasetContract;
  transformer(options?: {
    config?: Partial<TransformConfig>;
    contracts?: ContractRegistry;
    client?: S3Client;
  }): BronzeToSilver;
  /** Puts `body` into bronze under `key` and transforms it. */
  land(
    key: string,
    body: string | Uint8Array,
    options?: { config?: Partial<TransformConfig>; contracts?: ContractRegistry },
  ): Promise<Manifest>;
  /** The manifest committed in silver for a bronze key (undefined when none). */
  storedManifest(key: string, dataset: string, domain?: string): Promise<Manifest | undefined>;
  /**
   * Every silver row a manifest lists, read from S3 with DuckDB; values as DuckDB's text (`::VARCHAR`),
   * the lineage columns left out unless asked for; ordered by every column.
   */
  silverRows(m: Manifest, options?: { lineage?: boolean }): Promise<Record<string, string | null>[]>;
  /** The manifest's quarantined rows (NDJSON), parsed, in file order ([] when none). */
  quarantineLines(m: Manifest): Promise<QuarantineLine[]>;
  /** Size in bytes of the manifest's quarantined-rows object. */
  quarantineBytes(m: Manifest): Promise<number>;
  /** The whole-file quarantine of a quarantined manifest. */
  quarantineFile(m: Manifest): Promise<FileQuarantine>;
  /** Silver Parquet objects of this source under its dataset's prefix (manifests live under `_manifests/`). */
  silverKeysOf(m: Manifest): Promise<string[]>;
}

export function withTransformHarness(): TransformHarness {
  const s3 = withLocalS3([BRONZE, SILVER, QUARANTINE]);
  const contracts = ContractRegistry.fromDirectory(SAMPLE_CONTRACTS);
  let engine: Engine | undefined;
  let scratch: string | undefined;
  let parquetCount = 0;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'medallion-evidence-'));
    engine = await Engine.create({ memoryLimit: '256MB', threads: 2, tempDirectory: join(scratch, 'spill') });
  });
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const state = () => {
    if (!engine || !scratch) throw new Error('withTransformHarness: only inside tests (after beforeAll)');
    return { engine, scratch };
  };

  const harness: TransformHarness = {
    s3,
    get engine() {
      return state().engine;
    },
    get scratch() {
      return state().scratch;
    },
    contracts,
    contract(dataset) {
      const c = contracts.byName(dataset);
      if (!c) throw new Error(`no sample contract '${dataset}'`);
      return c;
    },
    transformer(options = {}) {
      return new BronzeToSilver({
        s3: options.client ?? s3.client,
        engine: state().engine,
        contracts: options.contracts ?? contracts,
        config: {
          silverBucket: SILVER,
          quarantineBucket: QUARANTINE,
          scratchDir: state().scratch,
          maxDecompressedBytes: TEST_MAX_DECOMPRESSED_BYTES,
          piiSalt: 'evidence-salt',
          ...options.config,
        },
      });
    },
    async land(key, body, options = {}) {
      await s3.put(BRONZE, key, body);
      return harness.transformer(options).process({ bucket: BRONZE, key });
    },
    async storedManifest(key, dataset, domain = 'retail') {
      const bytes = await s3.get(SILVER, manifestKey(domain, dataset, sourceId(BRONZE, key)));
      return bytes ? (JSON.parse(bytes.toString()) as Manifest) : undefined;
    },
    async silverRows(m, options = {}) {
      const rows: Record<string, string | null>[] = [];
      const { engine, scratch } = state();
      for (const o of m.outputs) {
        const bytes = await s3.get(SILVER, o.key);
        if (!bytes) throw new Error(`the manifest lists ${o.key}, which is not in silver`);
        const file = join(scratch, `silver-${++parquetCount}.parquet`);
        writeFileSync(file, bytes);
        try {
          const exclude = options.lineage ? '' : ' EXCLUDE (_bronze_key, _ingested_at)';
          rows.push(
            ...(await engine.withConnection((conn) =>
              queryRows<Record<string, string | null>>(
                conn,
                `SELECT COLUMNS(*)::VARCHAR FROM (SELECT *${exclude} FROM read_parquet(${sqlString(file)}))`,
              ),
            )),
          );
        } finally {
          rmSync(file, { force: true });
        }
      }
      const text = (r: Record<string, string | null>) => JSON.stringify(Object.values(r));
      return rows.sort((a, b) => (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0));
    },
    async quarantineLines(m) {
      if (!m.quarantine || m.quarantine.rows === undefined) return [];
      const text = (await s3.get(m.quarantine.bucket, m.quarantine.key))?.toString() ?? '';
      return text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as QuarantineLine);
    },
    async quarantineBytes(m) {
      if (!m.quarantine) return 0;
      return (await s3.get(m.quarantine.bucket, m.quarantine.key))?.length ?? 0;
    },
    async quarantineFile(m) {
      if (m.status !== 'quarantined' || !m.quarantine) throw new Error('the file was not quarantined whole');
      const { bucket, key } = m.quarantine;
      const bytes = await s3.get(bucket, key);
      const reason = await s3.get(bucket, `${key}.reason.json`);
      if (!bytes || !reason) throw new Error(`the quarantine copy ${key} or its reason is missing`);
      return {
        bytes,
        metadata: ((await s3.head(bucket, key))?.Metadata ?? {}) as Record<string, string>,
        reason: JSON.parse(reason.toString()),
      };
    },
    async silverKeysOf(m) {
      const id = sourceId(m.source.bucket, m.source.key);
      return (await s3.keys(SILVER, `${m.domain}/${m.dataset}/`)).filter((k) => k.includes(id));
    },
  };
  return harness;
}
