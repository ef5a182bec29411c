/**
 * `medallion replay --dataset NAME [--since YYYY-MM-DD]`: rebuilds a dataset's silver from bronze.
 *
 * Locally: starts the local cloud over an existing state directory (buckets kept), lists the dataset's
 * bronze objects (`<domain>/<dataset>/ingest_date=<day>/...`, optionally only days >= `since`), sends each
 * one's S3 notification again through the template's routes (so onto the transform queue, exactly as a
 * new upload would be), and waits until the queue is drained. The transform is idempotent per bronze
 * object: a replay rewrites the same partitions and manifests.
 *
 * Against a deployed stack (`--queue-url`), the same S3-event-shaped messages would go to the real SQS
 * queue; that needs @aws-sdk/client-sqs, which this repository does not install, so it is refused.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ContractError, ContractRegistry } from '../lambdas/shared/dataset-contract';
import { isBookkeepingKey } from '../lambdas/shared/object-keys';
import { DEFAULT_CONTRACTS_DIR, DEFAULT_STATE_DIR, LocalCloud } from './local-cloud';
import { PortInUseError } from './s3-server';

export interface ReplayOptions {
  readonly dataset: string;
  /** Only bronze objects with `ingest_date >= since` (YYYY-MM-DD). */
  readonly since?: string;
  readonly stateDir?: string;
  readonly contractsDir?: string;
  /** S3 port of the local cloud during the replay; default 0 (any free port). */
  readonly port?: number;
  /** A deployed stack's transform queue: not supported here (no @aws-sdk/client-sqs). */
  readonly queueUrl?: string;
  readonly out?: (line: string) => void;
}

export interface ReplayReport {
  readonly dataset: string;
  readonly objects: string[];
  readonly transformed: number;
  readonly deadLettered: number;
  readonly ms: number;
}

export class ReplayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayError';
  }
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export async function replay(options: ReplayOptions): Promise<ReplayReport> {
  const t0 = Date.now();
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  if (options.queueUrl) {
    throw new ReplayError(
      '--queue-url needs @aws-sdk/client-sqs, which is not installed: only the local replay is available',
    );
  }
  if (options.since !== undefined && !DAY.test(options.since))
    throw new ReplayError(`--since must be a date YYYY-MM-DD, got '${options.since}'`);
  const stateDir = resolve(options.stateDir ?? DEFAULT_STATE_DIR);
  const contractsDir = resolve(options.contractsDir ?? DEFAULT_CONTRACTS_DIR);
  if (!existsSync(join(stateDir, 's3')))
    throw new ReplayError(`no local buckets in ${stateDir}: run \`medallion pipeline\` first`);
  let registry: ContractRegistry;
  try {
    registry = ContractRegistry.fromDirectory(contractsDir);
  } catch (e) {
    if (e instanceof ContractError)
      throw new ReplayError(
        `invalid data contract ${e.file}: ${e.problems.join('; ').replace(/\s*\n\s*/g, ' ')}`,
      );
    throw new ReplayError(`cannot read the data contracts in ${contractsDir}: ${(e as Error).message}`);
  }
  const contract = registry.byName(options.dataset);
  if (!contract) {
    const known = registry.all.map((c) => c.dataset).sort();
    throw new ReplayError(
      `no data contract declares dataset '${options.dataset}' (known: ${known.join(', ')})`,
    );
  }

  let cloud: LocalCloud;
  try {
    cloud = await LocalCloud.start({ stateDir, contractsDir, s3Port: options.port ?? 0, apiPort: null });
  } catch (e) {
    if (e instanceof PortInUseError) throw new ReplayError(`${e.message}: choose another with --port`);
    throw e;
  }
  try {
    const prefix = `${contract.domain}/${contract.dataset}/`;
    const objects: string[] = [];
    let token: string | undefined;
    do {
      const page = await cloud.s3.send(
        new ListObjectsV2Command({ Bucket: cloud.buckets.bronze, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        const key = o.Key as string;
        if (isBookkeepingKey(key)) continue;
        const day = /\/ingest_date=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
        if (options.since && (!day || day < options.since)) continue;
        objects.push(key);
      }
      token = page.NextContinuationToken;
    } while (token);
    objects.sort();
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
    return { dataset: contract.dataset, objects, transformed, deadLettered, ms: Date.now() - t0 };
  } finally {
    await cloud.stop();
  }
}
