/**
 * `medallion pipeline`: runs sample (or any) data through the local cloud, landing to silver, and checks
 * the outcome.
 *
 *  1. discovers the input files: `<data>/<dataset>/<file...>`, the dataset naming its contract;
 *  2. starts the local cloud (state wiped first unless `keepState`);
 *  3. ingests each file through one of the two doors: CSV and gzip files are uploaded to the landing
 *     bucket (`<domain>/<dataset>/<file>`), JSON and NDJSON files are POSTed to the ingest API;
 *  4. waits until everything is transformed (`whenIdle`), then reads the silver manifests and checks,
 *     per file, that every row is accounted for: in = out + quarantined + duplicates.
 *
 * Problems with the invocation itself (unknown dataset directory, broken contract, busy port) are
 * `PipelineUsageError`s; problems with the run (a dead-lettered message, a failed landing, a broken
 * conservation check) make the report not `ok`.
 */

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { readContracts } from '../../core/contracts/load-contracts';
import { PipelineUsageError } from '../../core/errors';
import { currentTableName, historyTableName } from '../../core/silver/tables';
import { PROJECT_ROOT } from '../../lib/config';
import type { LogSink } from '../cloud/lambda-runtime';
import {
  DEFAULT_API_PORT,
  DEFAULT_CONTRACTS_DIR,
  DEFAULT_S3_PORT,
  DEFAULT_STATE_DIR,
  type LocalCloud,
} from '../cloud/local-cloud';
import { wiringKey } from '../cloud/template-wiring';
import { countTables, formatRows, previewGoldTables, runGoldLocally } from '../gold/run-gold';
import { type CfnTemplate, synthesizeTemplate } from '../gold/state-machine-definition';
import { displayPath } from '../report/display-path';
import { buildReport, type GoldSummary, type PipelineReport } from '../report/pipeline-report';
import { formatSummary } from '../report/summary';
import { ingest } from './ingest';
import { discoverInputs, hashInputs, prepareState } from './inputs';
import { localCloudBanner, startCloud } from './local';

export const DEFAULT_DATA_DIR = 'samples/data';
/** Gold models run by default with the sample contracts (they refer to orders and products). */
export const DEFAULT_MODELS_DIR = 'samples/models';

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
  /** Write the run report (JSON) there. */
  readonly reportFile?: string;
  /** S3 port; default 4566, 0 for any free port. */
  readonly port?: number;
  /** Ingest API port; default 4567, 0 for any free port. */
  readonly apiPort?: number;
  /** Progress and summary lines; default: stdout. */
  readonly out?: (line: string) => void;
  /** Handlers' logs; default `<state>/logs/functions.log`. */
  readonly functionLogs?: LogSink;
  /**
   * After the report, keep the local cloud running (endpoints printed) until this resolves; default: stop
   * at once. The CLI's `--keep-running` passes `untilSignal()`.
   */
  readonly keepRunning?: () => Promise<void>;
  /** Called once the local cloud runs, before anything is ingested (tests use it to break things). */
  readonly beforeIngest?: (cloud: LocalCloud) => Promise<void> | void;
}

export async function runPipeline(options: PipelineOptions = {}): Promise<PipelineReport> {
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
    const tReported = Date.now();
    const modelsDir = goldModelsDir(options.modelsDir, contractsDir);
    const gold = modelsDir
      ? await runGold(cloud, stateDir, contractsDir, modelsDir, out, options.fullRefresh ?? false)
      : undefined;
    const finished = Date.now();
    const full: PipelineReport = {
      ...report,
      ok: report.ok && (gold?.ok ?? true),
      gold,
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
        ...(gold ? { gold: finished - tReported } : {}),
        total: finished - t0,
      },
      functionLogs: options.functionLogs ? undefined : logFile,
    };
    for (const line of formatSummary(full)) out(line);
    if (options.reportFile) {
      const file = resolve(options.reportFile);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(full, null, 2)}\n`);
      out(`report written to ${displayPath(file)}`);
    }
    if (options.keepRunning) {
      for (const line of localCloudBanner(cloud)) out(line);
      await options.keepRunning();
    }
    return full;
  } finally {
    await cloud.stop();
  }
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

function goldTemplateKey(contractsDir: string, modelsDir: string): string {
  const hash = createHash('sha256').update(wiringKey(contractsDir, 'gold'));
  for (const f of readdirSync(modelsDir).sort()) hash.update(f).update(readFileSync(join(modelsDir, f)));
  return hash.digest('hex').slice(0, 16);
}

function goldModelsDir(option: string | false | undefined, contractsDir: string): string | undefined {
  if (option === false) return undefined;
  if (option !== undefined) return resolve(option);
  return contractsDir === resolve(DEFAULT_CONTRACTS_DIR) ? resolve(DEFAULT_MODELS_DIR) : undefined;
}

/** Runs the synthesized gold state machine locally (Athena on DuckDB) and reads back what it published. */
async function runGold(
  cloud: LocalCloud,
  stateDir: string,
  contractsDir: string,
  modelsDir: string,
  out: (line: string) => void,
  fullRefresh: boolean,
): Promise<GoldSummary> {
  const inRepo = (dir: string, what: string) => {
    const rel = relative(PROJECT_ROOT, dir);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw new PipelineUsageError(
        `${what} ${displayPath(dir)} must be inside the project to synthesize the gold workflow`,
      );
    }
    return rel;
  };
  out('running gold models (the synthesized state machine, Athena on DuckDB)');
  const config = {
    contractsDir: inRepo(contractsDir, 'contracts directory'),
    gold: { modelsDir: inRepo(modelsDir, 'models directory') },
  };
  // Synthesizing costs seconds: the template is cached like the wiring, keyed by what decides it.
  const cache = join(stateDir, 'cache', `gold-template-${goldTemplateKey(contractsDir, modelsDir)}.json`);
  let template: CfnTemplate;
  if (existsSync(cache)) template = JSON.parse(readFileSync(cache, 'utf8')) as CfnTemplate;
  else {
    template = synthesizeTemplate({ config }).template;
    mkdirSync(dirname(cache), { recursive: true });
    writeFileSync(cache, JSON.stringify(template));
  }
  const run = await runGoldLocally({
    s3Endpoint: cloud.endpoints.s3,
    stateDir,
    buckets: cloud.buckets,
    template,
    invokeFunction: (id, payload) => cloud.invokeFunction(id, payload),
    ...(fullRefresh ? { executionInput: { fullRefresh: true } } : {}),
  });
  const tables = Object.keys(run.published);
  const PREVIEW_ROWS = 10;
  const rows = await previewGoldTables({
    s3Endpoint: cloud.endpoints.s3,
    stateDir,
    database: run.database,
    tables,
    limit: PREVIEW_ROWS,
  });
  const contracts = readContracts(contractsDir, (m) => new PipelineUsageError(m)).all;
  const counted = await countTables({
    s3Endpoint: cloud.endpoints.s3,
    stateDir,
    database: run.database,
    tables: contracts.flatMap((c) => [currentTableName(c.dataset), historyTableName(c.dataset)]),
  }).catch(() => ({}) as Record<string, number>);
  const currentState: GoldSummary['currentState'] = {};
  for (const c of contracts) {
    const [keys, versions] = [counted[currentTableName(c.dataset)], counted[historyTableName(c.dataset)]];
    if (keys !== undefined && versions !== undefined) currentState[c.id] = { keys, versions };
  }
  return {
    ok: run.ok,
    status: run.status,
    ...(run.skipped ? { skipped: run.skipped.running } : {}),
    currentState,
    error: run.error ? `${run.error.error}: ${run.error.cause}` : undefined,
    executionName: run.executionName,
    tables: Object.fromEntries(
      tables.map((t) => [
        t,
        {
          location: run.published[t],
          rows: rows[t]?.count ?? 0,
          ...(run.models[t]?.bytesRead === undefined ? {} : { bytesRead: run.models[t].bytesRead }),
          ...(run.models[t]?.plan
            ? {
                plan: {
                  mode: run.models[t].plan.mode,
                  reason: run.models[t].plan.reason,
                  dates: run.models[t].plan.dates.length,
                },
              }
            : {}),
          preview: formatRows(rows[t]?.rows ?? [], PREVIEW_ROWS, rows[t]?.count),
        },
      ]),
    ),
    alarms: run.alarms.length,
  };
}
