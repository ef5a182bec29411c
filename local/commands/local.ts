/**
 * `medallion local`: the local cloud over a kept state directory, until Ctrl-C; and how any command starts
 * the local cloud and tells its user where it runs.
 */

import { join, resolve } from 'node:path';
import { readContracts } from '../../core/contracts/load-contracts';
import { PipelineUsageError, PortInUseError } from '../../core/errors';
import type { LogSink } from '../cloud/lambda-runtime';
import { DEFAULT_API_PORT, DEFAULT_S3_PORT, LocalCloud, type LocalCloudOptions } from '../cloud/local-cloud';
import { DEFAULT_CONTRACTS_DIR, DEFAULT_STATE_DIR } from '../command-defaults';
import { activityLine } from '../dashboard/activity-lines';
import { CloudFeed } from '../dashboard/cloud-feed';
import type { AlarmResult } from '../dashboard/dashboard-model';
import { DEFAULT_DASHBOARD_PORT, LocalDashboard } from '../dashboard/local-dashboard';
import type { CfnTemplate } from '../gold/state-machine-definition';
import { evaluateAlarms } from '../monitoring/alarm-evaluation';
import { alarmTemplate } from '../monitoring/run-alarms';
import { contractDriftWarnings } from '../report/contract-drift';
import { displayPath } from '../report/display-path';
import { checkBeforeRun } from './check';
import { prepareState } from './inputs';

export interface LocalOptions {
  readonly contractsDir?: string;
  readonly stateDir?: string;
  readonly port?: number;
  readonly apiPort?: number;
  readonly functionLogs?: LogSink;
  readonly out?: (line: string) => void;
  /**
   * The dashboard's port on 127.0.0.1; 0 for any free port, null for no dashboard. Default 4568, or any
   * free port when another process has it (a second local cloud, a test): the banner says which.
   */
  readonly dashboardPort?: number | null;
  /** The alarms that would fire, for the dashboard (see `LocalDashboardOptions.alarms`). */
  readonly alarms?: () => readonly AlarmResult[];
  /** Runs until this resolves; default: until Ctrl-C. */
  readonly until?: () => Promise<void>;
  /** Called once the cloud runs (tests use it to reach the endpoints). */
  readonly onStarted?: (cloud: LocalCloud, dashboard: LocalDashboard | undefined) => Promise<void> | void;
}

/** `medallion local`: the local cloud over a kept state directory, until Ctrl-C (or `until`). */
export async function startLocal(options: LocalOptions = {}): Promise<void> {
  // `medallion check` of the contracts first: a problem refuses to start (exit 2).
  await checkBeforeRun({ contractsDir: resolve(options.contractsDir ?? DEFAULT_CONTRACTS_DIR) });
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const contractsDir = resolve(options.contractsDir ?? DEFAULT_CONTRACTS_DIR);
  const stateDir = resolve(options.stateDir ?? DEFAULT_STATE_DIR);
  const contracts = readContracts(contractsDir, (m) => new PipelineUsageError(m), displayPath);
  prepareState(stateDir, true);
  const cloud = await startCloud({
    stateDir,
    contractsDir,
    s3Port: options.port ?? DEFAULT_S3_PORT,
    apiPort: options.apiPort ?? DEFAULT_API_PORT,
    functionLogs: options.functionLogs ?? { file: join(stateDir, 'logs', 'functions.log') },
    ...synthesisProgress(out),
  });
  let watch: CloudWatch | undefined;
  let signals: StopSignals | undefined;
  try {
    // The alarms' template is read (or synthesized) once, now: not on the dashboard's first request.
    const template = options.alarms
      ? undefined
      : alarmTemplate(stateDir, contractsDir, undefined, cloud.wiring.bucketPrefix);
    const alarms =
      options.alarms ??
      (() =>
        evaluateAlarms(template as CfnTemplate, cloud.metrics, { bucketPrefix: cloud.wiring.bucketPrefix }));
    watch = await watchCloud(cloud, { out, dashboardPort: options.dashboardPort, alarms });
    // Silver built under another version of a contract: said before anyone reads it. (`local` runs no
    // gold: the replay it suggests rebuilds replay's default models.)
    const drift = await contractDriftWarnings(cloud.s3, cloud.buckets.silver, contracts.all, {
      contractsDir,
      stateDir,
      modelsDir: undefined,
    });
    for (const line of drift.lines) out(line);
    for (const line of localCloudBanner(cloud, { dashboard: watch.dashboard?.url })) out(line);
    await options.onStarted?.(cloud, watch.dashboard);
    if (options.until) await options.until();
    else {
      signals = listenForStop();
      await signals.requested;
    }
    out('stopping the local cloud...');
  } finally {
    await watch?.stop();
    await cloud.stop();
    signals?.dispose();
  }
}

/** Lines before and after the synthesis of the CDK app (a first run's 10-15 silent seconds otherwise). */
export function synthesisProgress(
  out: (line: string) => void,
): Required<Pick<LocalCloudOptions, 'onSynthesizing' | 'onWiring'>> {
  return {
    onSynthesizing: () => out('synthesizing the CDK app to wire the local cloud (first run, ~15 s)...'),
    onWiring: (info) => {
      if (!info.fromCache)
        out(`synthesized in ${(info.ms / 1000).toFixed(1)} s (cached for the next starts)`);
    },
  };
}

/** What runs beside a local cloud for its user: the dashboard, and a line per file and gold run. */
export interface CloudWatch {
  /** Undefined when turned off (`dashboardPort: null`). */
  readonly dashboard: LocalDashboard | undefined;
  readonly stop: () => Promise<void>;
}

/**
 * Prints a line per landed, transformed or rejected file and per gold run (see `activity-lines.ts`), and
 * serves the dashboard: what `local` and `pipeline --keep-running` run while the cloud is up.
 */
export async function watchCloud(
  cloud: LocalCloud,
  o: {
    out: (line: string) => void;
    dashboardPort?: number | null;
    alarms?: () => readonly AlarmResult[];
  },
): Promise<CloudWatch> {
  const feed = new CloudFeed(cloud);
  feed.onActivity((a, quiet) => {
    if (!quiet) o.out(activityLine(a));
  });
  // Both attach their listeners synchronously, before the restored work the cloud delivers on a later turn.
  const dashboard =
    o.dashboardPort === null
      ? Promise.resolve(undefined)
      : LocalDashboard.start(cloud, feed, {
          port: o.dashboardPort ?? DEFAULT_DASHBOARD_PORT,
          // The default port taken: any other does (the banner prints it); a port asked for must be that one.
          anyPortIfTaken: o.dashboardPort === undefined,
          alarms: o.alarms,
        });
  feed.start();
  try {
    const started = await dashboard;
    return {
      dashboard: started,
      stop: async () => {
        await started?.stop();
        await feed.stop();
      },
    };
  } catch (e) {
    await feed.stop();
    if (e instanceof PortInUseError)
      throw new PipelineUsageError(`${e.message}: choose another with --dashboard-port (0: any free port)`);
    throw e;
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
  served: { readonly dashboard?: string } = {},
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
    ...(served.dashboard ? [`  dashboard   ${served.dashboard}`] : []),
    `  buckets     ${Object.values(cloud.buckets).join(', ')}`,
    '',
    'for the aws CLI (and any SDK):',
    '  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1',
    '  export AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION=when_required',
    `  export AWS_ENDPOINT_URL_S3=${cloud.endpoints.s3}   # SDKs and aws CLI >= 2.13; older: --endpoint-url`,
    `  aws --endpoint-url ${cloud.endpoints.s3} s3 cp orders.csv s3://${cloud.buckets.landing}/retail/orders/orders.csv`,
  ];
}

/** A second signal within this time of the first is the same one, delivered twice (see `listenForStop`). */
const SAME_SIGNAL_MS = 1000;

/** A request to stop, by signal: see {@link listenForStop}. */
export interface StopSignals {
  /** Resolves on the first SIGINT or SIGTERM (Ctrl-C). */
  readonly requested: Promise<void>;
  /** Stops listening: the signals' default action again. */
  readonly dispose: () => void;
}

/**
 * Listens for SIGINT and SIGTERM until `dispose`: the first asks the caller to stop cleanly. A Ctrl-C in a
 * terminal reaches both npm and this process, and npm forwards it, so it arrives twice at once: only the
 * first counts; one sent again more than a second later exits at once (130 or 143).
 */
export function listenForStop(): StopSignals {
  let first: number | undefined;
  let request: () => void = () => {};
  const requested = new Promise<void>((resolve) => {
    request = resolve;
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (first === undefined) {
      first = Date.now();
      request();
    } else if (Date.now() - first > SAME_SIGNAL_MS) {
      process.stderr.write(`${signal} again: exiting without stopping cleanly\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requested,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
