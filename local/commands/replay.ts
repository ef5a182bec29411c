/**
 * `medallion replay --dataset NAME [--since YYYY-MM-DD] [--models DIR | --no-gold]`: rebuilds a dataset's
 * silver from bronze, then the gold built from it.
 *
 * Locally: starts the local cloud over an existing state directory (buckets kept), lists the dataset's
 * bronze objects (`<domain>/<dataset>/ingest_date=<day>/...`, optionally only days >= `since`), sends each
 * one's S3 notification again through the template's routes (so onto the transform queue, exactly as a
 * new upload would be), and waits until the queue is drained. The transform is idempotent per bronze
 * object: a replay rewrites the same partitions and manifests (under the contract as it is now: the way
 * to rebuild silver after a contract change). Then the gold state machine runs as `pipeline` runs it, with
 * a full refresh: every model is rebuilt (the workflow runs all its models; the ones that read the dataset
 * are named), so gold reflects the silver just rebuilt.
 *
 * Against a deployed stack (`replayToQueue`, the CLI's `--queue-url` with `--bronze-bucket`): the dataset's
 * bronze objects are listed in the real bucket and the same S3-event-shaped messages are sent to the real
 * transform queue, in batches of 10, with the credentials of the environment.
 */

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { readContracts } from '../../core/contracts/load-contracts';
import { PortInUseError, ReplayError } from '../../core/errors';
import { isBookkeepingKey } from '../../core/lake/layout';
import { listObjects, unquoteETag } from '../../lambdas/aws/s3';
import { LocalCloud } from '../cloud/local-cloud';
import { toAwsS3EventRecord, toS3Event } from '../cloud/s3-event-adapter';
import { DEFAULT_CONTRACTS_DIR, DEFAULT_STATE_DIR } from '../command-defaults';
import { formatGoldFailures } from '../gold/gold-failures';
import { goldModelsDir, goldModelsReading, runGold } from '../gold/run-gold-command';
import { displayPath } from '../report/display-path';
import type { GoldSummary } from '../report/pipeline-report';

export interface ReplayOptions {
  readonly dataset: string;
  /** Only bronze objects with `ingest_date >= since` (YYYY-MM-DD). */
  readonly since?: string;
  readonly stateDir?: string;
  readonly contractsDir?: string;
  /** S3 port of the local cloud during the replay; default 0 (any free port). */
  readonly port?: number;
  /**
   * Gold models rebuilt after silver; default: the sample models with the sample contracts, none
   * otherwise (as `pipeline`). `false` rebuilds silver only.
   */
  readonly modelsDir?: string | false;
  readonly out?: (line: string) => void;
}

export interface ReplayReport {
  readonly dataset: string;
  readonly objects: string[];
  readonly transformed: number;
  readonly deadLettered: number;
  /** The gold run that followed (absent without gold models). */
  readonly gold?: GoldSummary;
  /** The gold models that read the dataset, directly or through another model (all were rebuilt). */
  readonly goldModelsReading?: string[];
  readonly ms: number;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export async function replay(options: ReplayOptions): Promise<ReplayReport> {
  const t0 = Date.now();
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  checkSince(options.since);
  const stateDir = resolve(options.stateDir ?? DEFAULT_STATE_DIR);
  const contractsDir = resolve(options.contractsDir ?? DEFAULT_CONTRACTS_DIR);
  if (!existsSync(join(stateDir, 's3')))
    throw new ReplayError(`no local buckets in ${stateDir}: run \`medallion pipeline\` first`);
  const contract = findContract(contractsDir, options.dataset);

  let cloud: LocalCloud;
  try {
    cloud = await LocalCloud.start({ stateDir, contractsDir, s3Port: options.port ?? 0, apiPort: null });
  } catch (e) {
    if (e instanceof PortInUseError) throw new ReplayError(`${e.message}: choose another with --port`);
    throw e;
  }
  try {
    const objects = (await listBronzeObjects(cloud.s3, cloud.buckets.bronze, contract, options.since)).map(
      (o) => o.key,
    );
    let transformed = 0;
    const off = cloud.on('transformed', () => void transformed++);
    for (const key of objects) {
      const sent = await cloud.renotify(cloud.buckets.bronze, key);
      if (sent === 0) out(`not queued (no notification route matches): ${key}`);
    }
    await cloud.whenIdle();
    off();
    const deadLettered = cloud.deadLetters.length;
    out(
      `replayed ${objects.length} bronze object(s) of ${contract.domain}/${contract.dataset}` +
        `${options.since ? ` since ${options.since}` : ''}: ${transformed} transformed, ${deadLettered} dead-lettered`,
    );
    const rebuilt = await rebuildGold(cloud, {
      ...options,
      stateDir,
      contractsDir,
      contract,
      replayed: objects.length,
      out,
    });
    return { dataset: contract.dataset, objects, transformed, deadLettered, ...rebuilt, ms: Date.now() - t0 };
  } finally {
    await cloud.stop();
  }
}

export interface QueueReplayOptions {
  readonly dataset: string;
  readonly since?: string;
  readonly contractsDir?: string;
  /** The deployed transform queue (stack output TransformQueueUrl, or the queue's URL in the console). */
  readonly queueUrl: string;
  /** The deployed bronze bucket (stack output BronzeBucketName). */
  readonly bronzeBucket: string;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly out?: (line: string) => void;
}

/** Sends the dataset's bronze objects' notifications to a deployed transform queue; returns the keys sent. */
export async function replayToQueue(options: QueueReplayOptions): Promise<string[]> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  checkSince(options.since);
  const contract = findContract(resolve(options.contractsDir ?? DEFAULT_CONTRACTS_DIR), options.dataset);
  const objects = await listBronzeObjects(options.s3, options.bronzeBucket, contract, options.since);
  for (let i = 0; i < objects.length; i += 10) {
    const batch = objects.slice(i, i + 10);
    const sent = await options.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: batch.map((o, j) => ({
          Id: String(i + j),
          MessageBody: JSON.stringify(
            toS3Event(
              toAwsS3EventRecord({
                eventVersion: '2.1',
                eventSource: 'aws:s3',
                awsRegion: process.env.AWS_REGION ?? 'us-east-1',
                eventTime: new Date().toISOString(),
                eventName: 'ObjectCreated:Put',
                s3: {
                  bucket: { name: options.bronzeBucket },
                  object: { key: o.key, size: o.size, eTag: o.eTag },
                },
              }),
            ),
          ),
        })),
      }),
    );
    if (sent.Failed?.length) {
      const failed = sent.Failed.map((f) => `${batch[Number(f.Id) - i]?.key}: ${f.Code} ${f.Message ?? ''}`);
      throw new ReplayError(`the queue refused ${failed.length} message(s):\n  ${failed.join('\n  ')}`);
    }
  }
  out(
    `sent ${objects.length} bronze object(s) of ${contract.domain}/${contract.dataset}` +
      `${options.since ? ` since ${options.since}` : ''} to ${options.queueUrl}`,
  );
  // The transforms run from the queue, after this returns: gold cannot be started here and be right.
  out(
    'gold: the next scheduled run of the gold workflow merges the re-transformed files into the current ' +
      "state (taking back the versions the contract now refuses) and recomputes the incremental models' " +
      'partitions they touched. To rebuild every model instead, once the transform queue is empty: ' +
      `aws stepfunctions start-execution --state-machine-arn <GoldStateMachineArn> --input '{"fullRefresh": true}'`,
  );
  return objects.map((o) => o.key);
}

/**
 * Runs the gold workflow with a full refresh after a replay and says what it rebuilt: every model (the
 * workflow cannot run some of them only), those reading the replayed dataset named.
 */
async function rebuildGold(
  cloud: LocalCloud,
  o: Pick<ReplayOptions, 'modelsDir'> & {
    stateDir: string;
    contractsDir: string;
    contract: DatasetContract;
    /** Bronze objects replayed: none, nothing to rebuild. */
    replayed: number;
    out: (line: string) => void;
  },
): Promise<Pick<ReplayReport, 'gold' | 'goldModelsReading'>> {
  const modelsDir = goldModelsDir(o.modelsDir, o.contractsDir);
  if (!modelsDir) {
    o.out(
      o.modelsDir === false
        ? 'gold not rebuilt (--no-gold)'
        : 'gold not rebuilt: no gold models for these contracts (give them with --models DIR)',
    );
    return {};
  }
  if (o.replayed === 0) {
    o.out('gold not rebuilt: nothing was replayed');
    return {};
  }
  const contracts = readContracts(o.contractsDir, (m) => new ReplayError(m)).all;
  const reading = goldModelsReading(modelsDir, contracts, [o.contract]);
  o.out(
    `rebuilding gold in full, every model of ${displayPath(modelsDir)} ` +
      `(reading ${o.contract.domain}/${o.contract.dataset}: ${reading.length ? reading.join(', ') : 'none'})`,
  );
  const gold = await runGold({
    cloud,
    stateDir: o.stateDir,
    contractsDir: o.contractsDir,
    modelsDir,
    out: o.out,
    fullRefresh: true,
    fail: (m) => new ReplayError(m),
  });
  if (gold.skipped) {
    o.out(`gold not rebuilt: other gold runs in progress (${gold.skipped.join(', ')}); run the replay again`);
  } else {
    o.out(`gold ${gold.status} (execution ${gold.executionName})${gold.error ? `: ${gold.error}` : ''}`);
    for (const [table, t] of Object.entries(gold.tables).sort(([a], [b]) => a.localeCompare(b))) {
      const state = t.publishedNow === false ? 'NOT rebuilt, an earlier version stays published' : 'rebuilt';
      const reads = reading.includes(table) ? `, reads ${o.contract.domain}/${o.contract.dataset}` : '';
      o.out(`  ${table}: ${state}, ${t.rows} row(s)${reads}`);
    }
    for (const line of formatGoldFailures(gold.failures ?? [], displayPath)) o.out(line);
  }
  return { gold, goldModelsReading: reading };
}

function checkSince(since: string | undefined): void {
  if (since !== undefined && !DAY.test(since))
    throw new ReplayError(`--since must be a date YYYY-MM-DD, got '${since}'`);
}

function findContract(contractsDir: string, dataset: string): DatasetContract {
  const registry = readContracts(contractsDir, (m) => new ReplayError(m));
  const contract = registry.byName(dataset);
  if (!contract) {
    const known = registry.all.map((c) => c.dataset).sort();
    throw new ReplayError(`no data contract declares dataset '${dataset}' (known: ${known.join(', ')})`);
  }
  return contract;
}

/** The dataset's bronze objects (data keys only; `ingest_date >= since` when given), sorted by key. */
async function listBronzeObjects(
  s3: S3Client,
  bucket: string,
  contract: DatasetContract,
  since: string | undefined,
): Promise<{ key: string; size?: number; eTag?: string }[]> {
  const objects: { key: string; size?: number; eTag?: string }[] = [];
  for await (const o of listObjects(s3, bucket, `${contract.domain}/${contract.dataset}/`)) {
    const key = o.Key as string;
    if (isBookkeepingKey(key)) continue;
    const day = /\/ingest_date=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
    if (since && (!day || day < since)) continue;
    objects.push({ key, size: o.Size, eTag: unquoteETag(o.ETag) });
  }
  return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
