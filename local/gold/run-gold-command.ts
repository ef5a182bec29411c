/**
 * The gold step of the commands that run the local cloud (`pipeline` after silver, `replay` after
 * re-transforming): the synthesized gold state machine run locally over the running cloud (Athena on
 * DuckDB, see `run-gold.ts`), and what it published read back as the run report's `gold`.
 */

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { readContracts } from '../../core/contracts/load-contracts';
import { PipelineUsageError } from '../../core/errors';
import { loadGoldModels } from '../../core/gold/models';
import { currentTableName, datasetTableNames, historyTableName } from '../../core/silver/tables';
import { sqlIdent } from '../../core/sql/quote';
import type { GoldEngineName } from '../../lib/config';
import { PROJECT_ROOT } from '../../lib/config';
import { cacheDirOf } from '../cloud/cache-dir';
import type { LocalCloud } from '../cloud/local-cloud';
import { wiringKey } from '../cloud/template-wiring';
import { DEFAULT_CONTRACTS_DIR, DEFAULT_MODELS_DIR } from '../command-defaults';
import { recordGoldRun } from '../monitoring/cloud-metrics';
import { displayPath } from '../report/display-path';
import type { GoldSummary } from '../report/pipeline-report';
import { explainGoldFailures } from './gold-failures';
import { countTables, formatRows, previewGoldTables, runGoldLocally } from './run-gold';
import { type CfnTemplate, synthesizeTemplate } from './state-machine-definition';

/** Gold models run by default with the sample contracts (they refer to orders and products). */

/** Rows of each gold table shown in the summary. */
const PREVIEW_ROWS = 10;

/**
 * The gold models directory a command runs: `option` when given (`false`: none), else the sample models
 * when the contracts are the samples', none otherwise.
 */
export function goldModelsDir(option: string | false | undefined, contractsDir: string): string | undefined {
  if (option === false) return undefined;
  if (option !== undefined) return resolve(option);
  return contractsDir === resolve(DEFAULT_CONTRACTS_DIR) ? resolve(DEFAULT_MODELS_DIR) : undefined;
}

export interface GoldCommandOptions {
  readonly cloud: Pick<LocalCloud, 'endpoints' | 'buckets' | 'invokeFunction' | 'metrics'>;
  readonly stateDir: string;
  readonly contractsDir: string;
  readonly modelsDir: string;
  readonly out: (line: string) => void;
  /** Rebuild every partition of the incremental models (default: only those whose inputs changed). */
  readonly fullRefresh: boolean;
  /** The command's own usage error (a directory outside the project); default `PipelineUsageError`. */
  readonly fail?: (message: string) => Error;
  /**
   * The engine the models run on: `redshift` runs them on the local Redshift (PostgreSQL, PGlite) through
   * the synthesized Redshift workflow.
   * @default 'athena' (Athena on DuckDB)
   */
  readonly goldEngine?: GoldEngineName;
}

/** Runs the synthesized gold state machine locally (Athena on DuckDB) and reads back what it published. */
export async function runGold(options: GoldCommandOptions): Promise<GoldSummary> {
  const { cloud, stateDir, contractsDir, modelsDir, out } = options;
  const fail = options.fail ?? ((m: string) => new PipelineUsageError(m));
  const inRepo = (dir: string, what: string) => {
    const rel = relative(PROJECT_ROOT, dir);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw fail(`${what} ${displayPath(dir)} must be inside the project to synthesize the gold workflow`);
    }
    return rel;
  };
  const engine = options.goldEngine ?? 'athena';
  out(
    `running gold models (the synthesized state machine, ${engine === 'redshift' ? 'Redshift on PostgreSQL (PGlite)' : 'Athena on DuckDB'})`,
  );
  const config = {
    contractsDir: inRepo(contractsDir, 'contracts directory'),
    gold: { modelsDir: inRepo(modelsDir, 'models directory'), engine },
  };
  // Synthesizing costs seconds: the template is cached like the wiring, keyed by what decides it.
  const cache = goldTemplateFile(stateDir, contractsDir, modelsDir, engine);
  let template: CfnTemplate;
  if (existsSync(cache)) template = JSON.parse(readFileSync(cache, 'utf8')) as CfnTemplate;
  else {
    template = synthesizeTemplate({ config }).template;
    mkdirSync(dirname(cache), { recursive: true });
    // Through a rename: another process sharing the cache never reads half a file.
    const temp = `${cache}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(template));
    renameSync(temp, cache);
  }
  const run = await runGoldLocally({
    s3Endpoint: cloud.endpoints.s3,
    stateDir,
    buckets: cloud.buckets,
    template,
    invokeFunction: (id, payload) => cloud.invokeFunction(id, payload),
    ...(options.fullRefresh ? { executionInput: { fullRefresh: true } } : {}),
  });
  // The execution as Step Functions and CloudWatch count it, and what its PutMetricData tasks sent: the
  // metrics the template's alarms (and the dashboard) read.
  recordGoldRun(cloud.metrics, {
    status: run.status,
    ...(run.error ? { error: { error: run.error.error } } : {}),
    metrics: run.metrics,
  });
  const tables = Object.keys(run.published);
  const rows = await previewGoldTables({
    s3Endpoint: cloud.endpoints.s3,
    stateDir,
    database: run.database,
    tables,
    limit: PREVIEW_ROWS,
  });
  const contracts = readContracts(contractsDir, fail).all;
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
          ...(run.models[t] ? { publishedNow: run.models[t].published } : {}),
          sources: run.sources[t] ?? [],
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
    alarmSubjects: run.alarms.map((a) => a.subject ?? '(no subject)'),
    failures: explainGoldFailures(run.alarms, modelsDir),
  };
}

/**
 * The gold models of `modelsDir` that read one of `datasets` (any of their tables), directly or through
 * another model, sorted. Empty when the models do not load (the gold run then says why).
 */
export function goldModelsReading(
  modelsDir: string,
  contracts: readonly DatasetContract[],
  datasets: readonly Pick<DatasetContract, 'dataset' | 'deletes'>[],
): string[] {
  // Refs render as "<database>"."<table>": a model reads a table when its SQL holds that rendering.
  const database = 'medallion_refs';
  let models: ReturnType<typeof loadGoldModels>['models'];
  try {
    models = loadGoldModels(modelsDir, {
      database,
      silverTables: contracts.flatMap((c) => datasetTableNames(c)),
    }).models;
  } catch {
    return [];
  }
  const refs = datasets.flatMap(datasetTableNames).map((t) => `${sqlIdent(database)}.${sqlIdent(t)}`);
  const reading = new Set(models.filter((m) => refs.some((r) => m.sql.includes(r))).map((m) => m.name));
  // Models reading those models read the datasets too: until nothing is added.
  for (let grew = true; grew; ) {
    grew = false;
    for (const m of models) {
      if (!reading.has(m.name) && m.dependsOn.some((d) => reading.has(d))) {
        reading.add(m.name);
        grew = true;
      }
    }
  }
  return [...reading].sort();
}

/**
 * Where the gold step caches the app's merged template for these contracts and models (in the cache
 * directory, see `cache-dir.ts`), named by a hash of what decides it: lib/, core/, the contracts, cdk.json
 * (the wiring's key) and the models' files.
 */
export function goldTemplateFile(
  stateDir: string,
  contractsDir: string,
  modelsDir: string,
  engine: GoldEngineName = 'athena',
): string {
  const hash = createHash('sha256').update(wiringKey(contractsDir, 'gold')).update(engine);
  for (const f of readdirSync(modelsDir).sort()) hash.update(f).update(readFileSync(join(modelsDir, f)));
  return join(cacheDirOf(stateDir), `gold-template-${hash.digest('hex').slice(0, 16)}.json`);
}
