/**
 * `medallion pipeline`: runs sample (or any) data through the local cloud, landing to silver, and checks
 * the outcome.
 *
 *  1. discovers the input files: `<data>/<dataset>/<file...>`, the dataset naming its contract;
 *  2. starts the local cloud (state wiped first unless `keepState`);
 *  3. ingests each file through one of the two doors: CSV and gzip files are uploaded to the landing
 *     bucket (`<domain>/<dataset>/<file>`), JSON and NDJSON files are POSTed to the ingest API;
 *  4. waits until everything is transformed (`whenIdle`), then reads the silver manifests and checks,
 *     per file, that every row is accounted for: in = out + quarantined + duplicates;
 *  5. after gold, evaluates the template's CloudWatch alarms on the run's metrics (local/monitoring/).
 *
 * Problems with the invocation itself (unknown dataset directory, broken contract, busy port) are
 * `PipelineUsageError`s; problems with the run (a dead-lettered message, a failed landing, a broken
 * conservation check, an alarm AWS would raise) make the report not `ok`.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { readContracts } from '../../core/contracts/load-contracts';
import { PipelineUsageError } from '../../core/errors';
import { type GoldModel, loadGoldModels } from '../../core/gold/models';
import { datasetTableNames } from '../../core/silver/tables';
import type { GoldEngineName } from '../../lib/config';
import type { LogSink } from '../cloud/lambda-runtime';
import { DEFAULT_API_PORT, DEFAULT_S3_PORT, type LocalCloud } from '../cloud/local-cloud';
import { DEFAULT_CONTRACTS_DIR, DEFAULT_STATE_DIR } from '../command-defaults';
import { goldModelsDir, runGold } from '../gold/run-gold-command';
import { evaluateAlarms } from '../monitoring/alarm-evaluation';
import { productSlis, sloAlertLines } from '../monitoring/product-slis';
import { alarmTemplate, evaluateRunAlarms } from '../monitoring/run-alarms';
import { type ContractDriftRecord, contractDriftWarnings } from '../report/contract-drift';
import { displayPath } from '../report/display-path';
import { buildReport, type PipelineReport } from '../report/pipeline-report';
import { formatSummary } from '../report/summary';
import { checkBeforeRun } from './check';
import { ingest } from './ingest';
import { discoverInputs, hashInputs, prepareState } from './inputs';
import { localCloudBanner, startCloud, synthesisProgress, watchCloud } from './local';

export const DEFAULT_DATA_DIR = 'samples/data';

export interface PipelineOptions {
  readonly contractsDir?: string;
  readonly dataDir?: string;
  readonly stateDir?: string;
  /**
   * Gold models to run after silver, with the synthesized gold state machine; default: the sample models
   * when the contracts are the samples', none otherwise. `false` skips gold.
   */
  readonly modelsDir?: string | false;
  /** Keep the buckets of an earlier run instead of starting empty. */
  readonly keepState?: boolean;
  /** Rebuild every partition of the incremental gold models (default: only those whose inputs changed). */
  readonly fullRefresh?: boolean;
  /** The engine of the gold models (default: the config's, `athena`): `redshift` runs them on PGlite. */
  readonly goldEngine?: GoldEngineName;
  /** Write the run report (JSON) there. */
  readonly reportFile?: string;
  /** S3 port; default 4566, 0 for any free port. */
  readonly port?: number;
  /** Ingest API port; default 4567, 0 for any free port. */
  readonly apiPort?: number;
  /** With `keepRunning`: the dashboard's port (see `LocalOptions.dashboardPort`); null for none. */
  readonly dashboardPort?: number | null;
  /** Progress and summary lines; default: stdout. */
  readonly out?: (line: string) => void;
  /** Handlers' logs; default `<state>/logs/functions.log`. */
  readonly functionLogs?: LogSink;
  /**
   * After the report, keep the local cloud running (endpoints printed) until this resolves; default: stop
   * at once. The CLI's `--keep-running` waits for a signal (`listenForStop` in local.ts).
   */
  readonly keepRunning?: () => Promise<void>;
  /** Called once the local cloud runs, before anything is ingested (tests use it to break things). */
  readonly beforeIngest?: (cloud: LocalCloud) => Promise<void> | void;
}

export async function runPipeline(options: PipelineOptions = {}): Promise<PipelineReport> {
  // `medallion check` first: a bad contract or model refuses the run before anything starts (exit 2).
  const checkedContracts = resolve(options.contractsDir ?? DEFAULT_CONTRACTS_DIR);
  await checkBeforeRun({
    contractsDir: checkedContracts,
    modelsDir: goldModelsDir(options.modelsDir, checkedContracts),
    goldEngine: options.goldEngine,
  });
  const t0 = Date.now();
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const contractsDir = resolve(options.contractsDir ?? DEFAULT_CONTRACTS_DIR);
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const stateDir = resolve(options.stateDir ?? DEFAULT_STATE_DIR);
  const contracts = readContracts(contractsDir, (m) => new PipelineUsageError(m), displayPath);
  const inputs = await hashInputs(discoverInputs(dataDir, contracts));
  prepareState(stateDir, options.keepState ?? false);

  const logFile = join(stateDir, 'logs', 'functions.log');
  const cloud = await startCloud({
    stateDir,
    contractsDir,
    s3Port: options.port ?? DEFAULT_S3_PORT,
    apiPort: options.apiPort ?? DEFAULT_API_PORT,
    functionLogs: options.functionLogs ?? { file: logFile },
    goldEngine: options.goldEngine,
    ...synthesisProgress(out),
  });
  const startedAt = new Date(t0).toISOString();
  const tStarted = Date.now();
  try {
    out(
      `medallion pipeline: ${inputs.length} file(s) from ${displayPath(dataDir)}, contracts ${displayPath(contractsDir)}, state ${displayPath(stateDir)}`,
    );
    out(`  S3 ${cloud.endpoints.s3}   ingest API ${cloud.endpoints.api ?? '(none)'}`);
    await options.beforeIngest?.(cloud);
    const { files, unsubscribe, toTransform } = await ingest(cloud, inputs, out);
    const tIngested = Date.now();
    await withProgress(cloud.whenIdle(), out, (s) => `still transforming (${s} s): large files take a while`);
    unsubscribe();
    if (toTransform === 0) out('nothing new to transform: bronze already held every file');
    const tSettled = Date.now();
    const report = await buildReport(cloud, files);
    const modelsDir = goldModelsDir(options.modelsDir, contractsDir);
    // Silver built under another version of a contract (warned after the summary, recorded in the report).
    const drift = await contractDriftWarnings(cloud.s3, cloud.buckets.silver, contracts.all, {
      contractsDir,
      stateDir,
      modelsDir: modelsDir ?? (options.modelsDir === false ? false : undefined),
    });
    const tReported = Date.now();
    const gold = modelsDir
      ? await runGold({
          cloud,
          stateDir,
          contractsDir,
          modelsDir,
          out,
          fullRefresh: options.fullRefresh ?? false,
          goldEngine: options.goldEngine,
        })
      : undefined;
    const tGold = Date.now();
    // What AWS would have alarmed on (local/monitoring/): any such alarm fails the run.
    const alarms = evaluateRunAlarms(cloud, {
      stateDir,
      contractsDir,
      modelsDir,
      gold,
      goldEngine: options.goldEngine,
    });
    // The data products' SLOs, judged on the run as their CloudWatch burn-rate alarms would judge it.
    const slos = productSlis({
      contracts: contracts.all,
      models: modelsDir ? productModels(modelsDir, contracts.all) : [],
      metrics: cloud.metrics,
      gold,
    });
    const wouldAlarm = [...alarms.wouldAlarm, ...sloAlertLines(slos)];
    const finished = Date.now();
    const full: PipelineReport & ContractDriftRecord = {
      ...report,
      contractDrift: drift.drift,
      ok: report.ok && (gold?.ok ?? true) && wouldAlarm.length === 0,
      gold,
      wouldAlarm,
      slos: slos.map((s) => ({ ...s })),
      alarmStates: alarms.results.map(({ alarmId, state, line }) => ({ alarmId, state, line })),
      startedAt,
      finishedAt: new Date(finished).toISOString(),
      contractsDir,
      dataDir,
      stateDir,
      endpoints: { ...cloud.endpoints },
      buckets: { ...cloud.buckets },
      timingsMs: {
        start: tStarted - t0,
        ingest: tIngested - tStarted,
        transform: tSettled - tIngested,
        report: tReported - tSettled,
        ...(gold ? { gold: tGold - tReported } : {}),
        alarms: finished - tGold,
        total: finished - t0,
      },
      functionLogs: options.functionLogs ? undefined : logFile,
    };
    for (const line of formatSummary(full)) out(line);
    for (const line of drift.lines) out(line);
    if (options.reportFile) {
      const file = resolve(options.reportFile);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(full, null, 2)}\n`);
      out(`report written to ${displayPath(file)}`);
    }
    if (options.keepRunning) {
      const template = alarmTemplate(stateDir, contractsDir, modelsDir, cloud.wiring.bucketPrefix);
      const watch = await watchCloud(cloud, {
        out,
        dashboardPort: options.dashboardPort,
        alarms: () => evaluateAlarms(template, cloud.metrics, { bucketPrefix: cloud.wiring.bucketPrefix }),
      });
      try {
        for (const line of localCloudBanner(cloud, { dashboard: watch.dashboard?.url })) out(line);
        await options.keepRunning();
      } finally {
        await watch.stop();
      }
    }
    return full;
  } finally {
    await cloud.stop();
  }
}

/** The gold models' headers (their SLAs), loaded as synth loads them. */
function productModels(modelsDir: string, contracts: readonly DatasetContract[]): GoldModel[] {
  return loadGoldModels(modelsDir, {
    database: 'local',
    silverTables: contracts.flatMap((c) => datasetTableNames(c)),
  }).models;
}

/** While `work` runs, says so every 5 s, so a long file does not look like a hang. */
async function withProgress<T>(
  work: Promise<T>,
  out: (line: string) => void,
  line: (seconds: number) => string,
) {
  const t0 = Date.now();
  const timer = setInterval(() => out(line(Math.round((Date.now() - t0) / 1000))), 5000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
