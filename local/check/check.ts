/**
 * `medallion check`: everything about the contracts and the gold models that can be known before any data
 * moves, found at once, each problem at its file and line with what to do (see `report.ts`):
 *
 * - usage: the directories exist, hold something, and (for a local pipeline that runs gold, which
 *   synthesizes the workflow from them) lie inside the project;
 * - the contracts (`contracts.ts`): YAML, schema, and each regex compiled by DuckDB, the engine that runs it;
 * - the models (`models.ts`): refs, Athena syntax (and with `--gold-engine redshift` the SQL every engine
 *   reads alike, `core/gold/portable-sql.ts`), the loader's own rules;
 * - the columns (`columns.ts`): each header against what DuckDB says its SELECT yields.
 *
 * One in-memory DuckDB serves the regexes and the descriptions.
 */

import { existsSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { contractFiles } from '../../core/contracts/load-contracts';
import type { GoldEngineName } from '../../lib/config';
import { createOfflineDuckDb } from '../offline-duckdb';
import { createSilverTables, describeModels } from './columns';
import { checkContracts } from './contracts';
import { checkModels } from './models';
import type { CheckProblem, CheckResult } from './report';

/** The database the refs render to in the check's DuckDB (any name: nothing outside the check sees it). */
const CHECK_DATABASE = 'medallion';

/** The repository root (this file is `local/check/check.ts`); lib/config's, without loading the CDK. */
const PROJECT_ROOT = resolve(__dirname, '..', '..');

export interface CheckOptions {
  /** The data contracts directory. */
  readonly contractsDir: string;
  /** The gold models directory; undefined: no models. */
  readonly modelsDir?: string;
  /**
   * With models, both directories must lie inside the project: the local pipeline synthesizes the gold
   * workflow from paths relative to it.
   * @default false
   */
  readonly insideProject?: boolean;
  /**
   * The engine the models run on: `redshift` also holds them to the SQL that Athena, Redshift, DuckDB
   * and PostgreSQL all read (`core/gold/portable-sql.ts`).
   * @default 'athena'
   */
  readonly goldEngine?: GoldEngineName;
}

/** A problem with the command's arguments (exit 2), not with the files they name. */
export interface UsageProblem extends CheckProblem {
  readonly usage: true;
}

export function isUsageProblem(p: CheckProblem): p is UsageProblem {
  return (p as Partial<UsageProblem>).usage === true;
}

/** Checks the contracts and the models (see the module comment); never throws for what it checks. */
export async function checkProject(options: CheckOptions): Promise<CheckResult> {
  const t0 = Date.now();
  const contractsDir = resolve(options.contractsDir);
  const modelsDir = options.modelsDir === undefined ? undefined : resolve(options.modelsDir);
  const usage = usageProblems(contractsDir, modelsDir, options.insideProject ?? false);
  if (usage.length > 0) return { problems: usage, contracts: 0, models: 0, ms: Date.now() - t0 };
  const instance = await createOfflineDuckDb({ threads: 1, memoryLimit: '256MB' });
  const duckdb = await instance.connect();
  try {
    const contracts = await checkContracts(contractsDir, duckdb);
    const problems = [...contracts.problems];
    let models = 0;
    if (modelsDir !== undefined) {
      const checked = checkModels(
        modelsDir,
        contracts.contracts,
        CHECK_DATABASE,
        contracts.unloaded,
        options.goldEngine,
      );
      models = checked.files;
      problems.push(...checked.problems);
      await createSilverTables(duckdb, CHECK_DATABASE, contracts.contracts);
      problems.push(...(await describeModels(duckdb, CHECK_DATABASE, checked.models)));
    }
    return { problems, contracts: contracts.files, models, ms: Date.now() - t0 };
  } finally {
    duckdb.closeSync();
    instance.closeSync();
  }
}

/** What is wrong with the directories themselves: nothing else can be checked then. */
function usageProblems(contractsDir: string, modelsDir: string | undefined, insideProject: boolean) {
  const problems: UsageProblem[] = [];
  const problem = (file: string, message: string, fix: string) =>
    problems.push({ file, line: 0, message, fix, usage: true });
  const isDirectory = (dir: string) => existsSync(dir) && statSync(dir).isDirectory();
  if (!isDirectory(contractsDir)) {
    problem(
      contractsDir,
      'the contracts directory does not exist',
      'give the directory of the data contracts: --contracts <dir>',
    );
  } else if (contractFiles(contractsDir).length === 0) {
    problem(
      contractsDir,
      'no data contract (*.yaml, *.yml, *.json) in the contracts directory',
      'add one file per dataset, e.g. samples/contracts/orders.yaml',
    );
  }
  if (modelsDir !== undefined && !isDirectory(modelsDir)) {
    problem(
      modelsDir,
      'the gold models directory does not exist',
      'give the directory of the .sql models: --models <dir> (or --no-gold)',
    );
  }
  if (insideProject && modelsDir !== undefined) {
    for (const [dir, what] of [
      [contractsDir, 'contracts directory'],
      [modelsDir, 'models directory'],
    ] as const) {
      if (dir === undefined) continue;
      const rel = relative(PROJECT_ROOT, dir);
      if (rel.startsWith('..') || isAbsolute(rel)) {
        problem(
          dir,
          `the ${what} must be inside the project (${PROJECT_ROOT}) for the local gold run, which synthesizes the gold workflow from it`,
          `move it under ${PROJECT_ROOT}, or run without gold (--no-gold)`,
        );
      }
    }
  }
  return problems;
}
