/**
 * Jest helper: one real local cloud per test file (S3 server, landing and transform handlers, queue, HTTP
 * API, wired from the synthesized template), plus what evidence scenarios read back from it.
 *
 *   const local = withLocalCloud();
 *   it('...', async () => { await local.cloud.s3.send(...); await local.cloud.whenIdle(); ... });
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListBucketsCommand } from '@aws-sdk/client-s3';
import { ContractRegistry } from '../../../core/contracts/load-contracts';
import { manifestKey, sourceId } from '../../../core/lake/layout';
import type { Manifest } from '../../../core/lake/manifest';
import { listKeys } from '../../../lambdas/aws/s3';
import { LocalCloud, type LocalCloudEvents, type LocalCloudOptions } from '../../../local/cloud/local-cloud';

export const SAMPLES = resolve(__dirname, '..', '..', '..', 'samples');

export interface CloudUnderTest {
  readonly cloud: LocalCloud;
  readonly stateDir: string;
  /** Every event the cloud emitted, by name, in order. */
  readonly events: { [E in keyof LocalCloudEvents]: LocalCloudEvents[E][] };
  /** The handlers' log lines. */
  readonly logs: string[];
  /** How long the cloud took to start, and how its wiring was obtained. */
  readonly startup: { ms: number; wiring?: { fromCache: boolean; ms: number; synthMs: number } };
  /** Every key of a bucket under `prefix`, sorted. */
  keys(bucket: string, prefix?: string): Promise<string[]>;
  /** Every bucket (ListBuckets, so a bucket created meanwhile shows too) with its sorted keys. */
  snapshot(): Promise<Record<string, string[]>>;
  /** Bronze data objects (bookkeeping under `_` left out). */
  bronzeObjects(): Promise<string[]>;
  /** The silver manifest of a bronze object. */
  manifest(bronzeKey: string): Promise<Manifest>;
  /** The user metadata of an object. */
  metadata(bucket: string, key: string): Promise<Record<string, string>>;
}

export function withLocalCloud(options: Partial<LocalCloudOptions> = {}): CloudUnderTest {
  let cloud: LocalCloud | undefined;
  let stateDir = '';
  const logs: string[] = [];
  const events = {
    landed: [],
    'landing-failed': [],
    transformed: [],
    'transform-failed': [],
    'dead-lettered': [],
    reconciled: [],
    'reconcile-failed': [],
  } as CloudUnderTest['events'];
  let contracts: ContractRegistry | undefined;
  const startup: CloudUnderTest['startup'] = { ms: 0 };

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'medallion-evidence-'));
    const contractsDir = options.contractsDir ?? join(SAMPLES, 'contracts');
    contracts = ContractRegistry.fromDirectory(contractsDir);
    const began = performance.now();
    cloud = await LocalCloud.start({
      stateDir,
      contractsDir,
      s3Port: 0,
      apiPort: 0,
      retryDelayMs: 1,
      functionLogs: (line) => logs.push(line),
      // The wiring is cached per hash of lib/, the contracts and cdk.json: evidence files share it, so
      // only the first one pays for synthesizing the app.
      wiringCacheDir: join(tmpdir(), 'medallion-evidence-wiring'),
      onWiring: (info) => {
        startup.wiring = info;
      },
      ...options,
    });
    startup.ms = performance.now() - began;
    for (const name of Object.keys(events) as (keyof LocalCloudEvents)[]) {
      cloud.on(name, (e) => (events[name] as unknown[]).push(e));
    }
  }, 60_000);

  afterAll(async () => {
    await cloud?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  const started = (): LocalCloud => {
    if (!cloud) throw new Error('withLocalCloud: the cloud only runs inside tests (after beforeAll)');
    return cloud;
  };

  const keys = (bucket: string, prefix?: string): Promise<string[]> => listKeys(started().s3, bucket, prefix);

  return {
    get cloud() {
      return started();
    },
    get stateDir() {
      return stateDir;
    },
    events,
    logs,
    startup,
    keys,
    async snapshot() {
      const listed = await started().s3.send(new ListBucketsCommand({}));
      const out: Record<string, string[]> = {};
      for (const b of listed.Buckets ?? []) if (b.Name) out[b.Name] = await keys(b.Name);
      return out;
    },
    async bronzeObjects() {
      return (await keys(started().buckets.bronze)).filter((k) => !k.startsWith('_'));
    },
    async manifest(bronzeKey) {
      const c = started();
      const contract = contracts?.forKey(bronzeKey);
      if (!contract) throw new Error(`no contract owns ${bronzeKey}`);
      const key = manifestKey(contract.domain, contract.dataset, sourceId(c.buckets.bronze, bronzeKey));
      const got = await c.s3.send(new GetObjectCommand({ Bucket: c.buckets.silver, Key: key }));
      return JSON.parse((await got.Body?.transformToString()) ?? '') as Manifest;
    },
    async metadata(bucket, key) {
      const head = await started().s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return head.Metadata ?? {};
    },
  };
}
