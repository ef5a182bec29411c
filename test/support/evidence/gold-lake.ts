/**
 * Jest helper for evidence scenarios that need silver AND gold: one local cloud per test file (the real
 * landing and transform handlers over the real local S3 server, wired from the synthesized template) and
 * the synthesized gold state machine run with Athena played by DuckDB.
 *
 *   const lake = withGoldLake();
 *   it('...', async () => {
 *     const manifest = await lake.land('retail/orders/a.csv', csv);   // landing -> bronze -> silver
 *     const run = await lake.runGold('run-1');                        // every sample model
 *     const rows = await lake.goldTables();                           // what readers see now
 *   });
 *
 * The cloud starts in `beforeAll` (~5-10 s: the app is synthesized twice, once for the wiring, once for
 * the gold workflow) and stops in `afterAll`. Handler modules are loaded once per process, so a file holds
 * one lake: scenarios of one file share it and run in order.
 */

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Manifest } from '../../../core/lake/manifest';
import { listKeys } from '../../../lambdas/aws/s3';
import { LocalCloud } from '../../../local/cloud/local-cloud';
import { LocalAthena } from '../../../local/gold/athena-on-duckdb';
import { LocalGlueCatalog } from '../../../local/gold/glue-catalog';
import { type GoldRunReport, readGoldTables, runGoldLocally } from '../../../local/gold/run-gold';
import {
  type CfnTemplate,
  synthesizeTemplate,
  TemplateResolver,
} from '../../../local/gold/state-machine-definition';

export const SAMPLES = resolve(__dirname, '..', '..', '..', 'samples');
/** The sample models, as the workflow runs them (wave order does not matter here). */
export const SAMPLE_MODELS = ['category_sales', 'customer_lifetime_value', 'daily_sales'];

export type Rows = Record<string, unknown>[];

export interface GoldLake {
  readonly cloud: LocalCloud;
  readonly stateDir: string;
  /** The template synthesized with the sample models (what `cdk synth` builds by default). */
  readonly template: CfnTemplate;
  /** The Glue database of the silver and gold tables. */
  readonly database: string;
  /**
   * Uploads `body` to the landing bucket at `key` (`<domain>/<dataset>/<name>`), waits until landing and
   * the transform are done, and returns the manifest the transform wrote for it. Throws if the upload
   * failed to land, a message was dead-lettered, or not exactly one new manifest appeared.
   */
  land(key: string, body: string | Uint8Array): Promise<Manifest>;
  /** Runs the gold workflow as execution `name` (default: the sample models' template). */
  runGold(name: string, template?: CfnTemplate): Promise<GoldRunReport>;
  /** Every published gold table's rows (all columns, sorted), as a reader sees them now. */
  goldTables(tables?: string[]): Promise<Record<string, Rows>>;
  /** A SELECT over the catalog's tables (silver and published gold), on the local Athena. */
  query(sql: string): Promise<Rows>;
  /** An object's bytes (undefined when absent). */
  object(bucket: string, key: string): Promise<Buffer | undefined>;
  /** Keys under `prefix`, sorted. */
  keys(bucket: string, prefix?: string): Promise<string[]>;
}

/**
 * The sample models as full models (their `-- incremental:` lines left out), copied under `dir`: the
 * evidence scenarios check the full publication path (one version per run, the table's location switched);
 * incremental models have their own tests (test/e2e/incremental-gold.test.ts).
 */
export function fullSampleModels(dir: string): string {
  const models = join(dir, 'full-models');
  mkdirSync(models, { recursive: true });
  for (const f of readdirSync(join(SAMPLES, 'models'))) {
    const text = readFileSync(join(SAMPLES, 'models', f), 'utf8');
    writeFileSync(join(models, f), text.replace(/^-- incremental:.*\n/m, ''));
  }
  return models;
}

export function withGoldLake(): GoldLake {
  let started: { cloud: LocalCloud; stateDir: string; template: CfnTemplate; database: string } | undefined;

  beforeAll(async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'medallion-evidence-gold-'));
    const cloud = await LocalCloud.start({
      stateDir,
      contractsDir: join(SAMPLES, 'contracts'),
      s3Port: 0,
      apiPort: null,
      retryDelayMs: 1,
      // Handler logs stay in <state>/logs/functions.log (the test reads outcomes, not logs).
    });
    const { template } = synthesizeTemplate({ config: { gold: { modelsDir: fullSampleModels(stateDir) } } });
    const db = Object.values(template.Resources).find((r) => r.Type === 'AWS::Glue::Database');
    const input = db?.Properties?.DatabaseInput as { Name: string } | undefined;
    if (!input) throw new Error('the synthesized template declares no Glue database');
    started = { cloud, stateDir, template, database: input.Name };
  }, 60_000);

  afterAll(async () => {
    if (!started) return;
    await started.cloud.stop();
    rmSync(started.stateDir, { recursive: true, force: true });
    started = undefined;
  });

  const state = () => {
    if (!started) throw new Error('withGoldLake: the lake only runs inside tests (after beforeAll)');
    return started;
  };

  const keys = (bucket: string, prefix?: string) => listKeys(state().cloud.s3, bucket, prefix);

  const object = async (bucket: string, key: string) => {
    try {
      const got = await state().cloud.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from((await got.Body?.transformToByteArray()) ?? []);
    } catch (e) {
      if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
        return undefined;
      throw e;
    }
  };

  return {
    get cloud() {
      return state().cloud;
    },
    get stateDir() {
      return state().stateDir;
    },
    get template() {
      return state().template;
    },
    get database() {
      return state().database;
    },
    keys,
    object,
    async land(key, body) {
      const { cloud } = state();
      const [domain, dataset] = key.split('/');
      const manifests = `_manifests/${domain}/${dataset}/`;
      const before = new Set(await keys(cloud.buckets.silver, manifests));
      const failuresBefore = cloud.landingFailures.length;
      const deadBefore = cloud.deadLetters.length;
      await cloud.s3.send(new PutObjectCommand({ Bucket: cloud.buckets.landing, Key: key, Body: body }));
      await cloud.whenIdle();
      const failed = cloud.landingFailures.slice(failuresBefore);
      if (failed.length > 0) throw new Error(`${key} did not land: ${failed.map((f) => f.error).join('; ')}`);
      const dead = cloud.deadLetters.slice(deadBefore);
      if (dead.length > 0)
        throw new Error(`${key}: dead-lettered: ${dead.map((d) => d.lastError).join('; ')}`);
      const created = (await keys(cloud.buckets.silver, manifests)).filter((k) => !before.has(k));
      if (created.length !== 1) {
        throw new Error(`${key}: expected one new manifest under ${manifests}, found ${created.length}`);
      }
      const text = await object(cloud.buckets.silver, created[0]);
      return JSON.parse((text as Buffer).toString('utf8')) as Manifest;
    },
    runGold(name, template) {
      const { cloud, stateDir } = state();
      return runGoldLocally({
        s3Endpoint: cloud.endpoints.s3,
        stateDir,
        buckets: cloud.buckets,
        template: template ?? state().template,
        executionName: name,
        invokeFunction: (id, payload) => cloud.invokeFunction(id, payload),
      });
    },
    goldTables(tables = SAMPLE_MODELS) {
      const { cloud, stateDir, database } = state();
      return readGoldTables({ s3Endpoint: cloud.endpoints.s3, stateDir, database, tables });
    },
    async query(sql) {
      const { cloud, stateDir, database } = state();
      const catalog = new LocalGlueCatalog(join(stateDir, 'gold', 'glue-catalog.json'));
      // Silver tables are in the catalog even before the first gold run (seeding keeps published locations).
      catalog.seedFromTemplate(new TemplateResolver(state().template, { buckets: cloud.buckets }));
      const athena = new LocalAthena({ s3: cloud.s3, catalog, dir: join(stateDir, 'gold', 'athena') });
      return athena.query(sql, database);
    },
  };
}
