/**
 * `medallion check` (the contracts and gold models, before anything runs: see `local/check/check.ts`), and
 * the same check run first by `pipeline` and `local`, which refuse to start when it finds a problem.
 */
import { resolve } from 'node:path';
import { PipelineUsageError } from '../../core/errors';
import type { GoldEngineName } from '../../lib/config';
import { checkAgainst, formatAgainst } from '../check/against';
import { checkProject, isUsageProblem } from '../check/check';
import { type CheckProblem, formatCheck, problemLine, sortProblems } from '../check/report';
import { DEFAULT_CONTRACTS_DIR, DEFAULT_MODELS_DIR } from '../command-defaults';
import { displayPath } from '../report/display-path';

export interface CheckCommandOptions {
  readonly contractsDir?: string;
  /** Gold models; default: the sample models with the sample contracts, none otherwise. */
  readonly modelsDir?: string;
  /** Report lines; default: stdout. */
  readonly out?: (line: string) => void;
  /** The engine the models run on (`redshift`: the portable SQL subset too); default `athena`. */
  readonly goldEngine?: GoldEngineName;
  /**
   * A git ref: also list the contract and model changes since it that break readers, each a problem
   * unless the product's major version went up (`local/check/against.ts`).
   */
  readonly against?: string;
}

/**
 * Runs the check and prints every problem, then a summary line. Returns the exit code: 0 clean, 1
 * problems; throws a {@link PipelineUsageError} (exit 2) when the directories themselves (or the
 * `against` ref) are wrong.
 */
export async function runCheck(options: CheckCommandOptions = {}): Promise<number> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const contractsDir = resolve(options.contractsDir ?? DEFAULT_CONTRACTS_DIR);
  const modelsDir =
    options.modelsDir ?? (contractsDir === resolve(DEFAULT_CONTRACTS_DIR) ? DEFAULT_MODELS_DIR : undefined);
  const result = await checkProject({ contractsDir, modelsDir, goldEngine: options.goldEngine });
  const usage = result.problems.filter(isUsageProblem);
  if (usage.length > 0) throw new PipelineUsageError(refusal(usage));
  const against =
    options.against === undefined
      ? undefined
      : checkAgainst({ ref: options.against, contractsDir, modelsDir: modelsDir && resolve(modelsDir) });
  if (against && against.usage.length > 0) throw new PipelineUsageError(refusal(against.usage));
  const problems = [...result.problems, ...(against?.problems ?? [])];
  const lines = formatCheck({ ...result, problems }, displayPath);
  // The comparison's own lines go just above the check's summary, which stays last.
  if (against) lines.splice(-1, 0, ...formatAgainst(against, displayPath));
  for (const line of lines) out(line);
  return problems.length === 0 ? 0 : 1;
}

/**
 * The check `pipeline` and `local` run before anything else: the contracts, and the models the command
 * runs (`modelsDir`, already resolved by the command; none for `local`), which must then lie inside the
 * project. Throws a {@link PipelineUsageError} (exit 2, nothing started) listing the problems.
 */
export async function checkBeforeRun(options: {
  readonly contractsDir: string;
  readonly modelsDir?: string;
  readonly goldEngine?: GoldEngineName;
}): Promise<void> {
  const result = await checkProject({ ...options, insideProject: true });
  if (result.problems.length > 0) throw new PipelineUsageError(refusal(result.problems));
}

/** One line per problem (the CLI prints an error on one line: they are then separated by two spaces). */
function refusal(problems: readonly CheckProblem[]): string {
  const lines = sortProblems(problems).map((p) => problemLine(p, displayPath));
  return lines.length === 1
    ? lines[0]
    : `medallion check found ${lines.length} problems, nothing ran:\n${lines.join('\n')}`;
}
