/**
 * `medallion local`: the local cloud over a kept state directory, until Ctrl-C; and how any command starts
 * the local cloud and tells its user where it runs.
 */

import { join, resolve } from 'node:path';
import { readContracts } from '../../core/contracts/load-contracts';
import { PipelineUsageError, PortInUseError } from '../../core/errors';
import type { LogSink } from '../cloud/lambda-runtime';
import {
  DEFAULT_API_PORT,
  DEFAULT_CONTRACTS_DIR,
  DEFAULT_S3_PORT,
  DEFAULT_STATE_DIR,
  LocalCloud,
} from '../cloud/local-cloud';
import { displayPath } from '../report/display-path';
import { prepareState } from './inputs';

export interface LocalOptions {
  readonly contractsDir?: string;
  readonly stateDir?: string;
  readonly port?: number;
  readonly apiPort?: number;
  readonly functionLogs?: LogSink;
  readonly out?: (line: string) => void;
  /** Runs until this resolves; default: until Ctrl-C. */
  readonly until?: () => Promise<void>;
  /** Called once the cloud runs (tests use it to reach the endpoints). */
  readonly onStarted?: (cloud: LocalCloud) => Promise<void> | void;
}

/** `medallion local`: the local cloud over a kept state directory, until Ctrl-C (or `until`). */
export async function startLocal(options: LocalOptions = {}): Promise<void> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const contractsDir = resolve(options.contractsDir ?? DEFAULT_CONTRACTS_DIR);
  const stateDir = resolve(options.stateDir ?? DEFAULT_STATE_DIR);
  readContracts(contractsDir, (m) => new PipelineUsageError(m), displayPath);
  prepareState(stateDir, true);
  const cloud = await startCloud({
    stateDir,
    contractsDir,
    s3Port: options.port ?? DEFAULT_S3_PORT,
    apiPort: options.apiPort ?? DEFAULT_API_PORT,
    functionLogs: options.functionLogs ?? { file: join(stateDir, 'logs', 'functions.log') },
  });
  try {
    for (const line of localCloudBanner(cloud)) out(line);
    await options.onStarted?.(cloud);
    await (options.until ?? untilSignal)();
    out('stopping the local cloud...');
  } finally {
    await cloud.stop();
  }
}

/** `LocalCloud.start`, a busy port turned into a usage error naming the option to change. */
export async function startCloud(o: Parameters<typeof LocalCloud.start>[0]): Promise<LocalCloud> {
  try {
    return await LocalCloud.start(o);
  } catch (e) {
    if (e instanceof PortInUseError) {
      const option = e.service === 'S3' ? '--port' : '--api-port';
      throw new PipelineUsageError(
        `${e.message}: is another local pipeline running? choose another with ${option}`,
      );
    }
    throw e;
  }
}

/** What to tell a user of a running local cloud: endpoints, buckets, and the variables for the aws CLI. */
export function localCloudBanner(
  cloud: Pick<LocalCloud, 'stateDir' | 'endpoints' | 'buckets'> &
    Partial<Pick<LocalCloud, 'startupReconciliation' | 'reconciliationError'>>,
): string[] {
  const found = cloud.startupReconciliation;
  const restored = cloud.reconciliationError
    ? [
        `could not look for work an earlier run left stranded (${cloud.reconciliationError}); retrying every 5 s`,
      ]
    : found?.stranded
      ? [
          `re-drove ${found.stranded} object(s) an earlier run left stranded ` +
            `(${found.landing.length} upload(s) in landing, ${found.bronze.length} bronze object(s) with no manifest)`,
        ]
      : [];
  return [
    ...restored,
    '',
    `local cloud running (state ${displayPath(cloud.stateDir)}); Ctrl-C stops it`,
    `  S3          ${cloud.endpoints.s3}`,
    `  ingest API  ${cloud.endpoints.api ? `${cloud.endpoints.api}/datasets/{dataset}/records` : '(none)'}`,
    `  buckets     ${Object.values(cloud.buckets).join(', ')}`,
    '',
    'for the aws CLI (and any SDK):',
    '  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1',
    '  export AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION=when_required',
    `  export AWS_ENDPOINT_URL_S3=${cloud.endpoints.s3}   # SDKs and aws CLI >= 2.13; older: --endpoint-url`,
    `  aws --endpoint-url ${cloud.endpoints.s3} s3 cp orders.csv s3://${cloud.buckets.landing}/retail/orders/orders.csv`,
  ];
}

/** Resolves on the first SIGINT or SIGTERM (Ctrl-C). */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
