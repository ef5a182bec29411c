import { existsSync, statSync } from 'node:fs';
import { ContractError, ContractRegistry } from '../lambdas/shared/dataset-contract';

/**
 * The contracts a command works with. Any problem reading them becomes one line, raised as the command's
 * own error type (`fail`), so the CLI prints it and exits 2.
 */
export function readContracts(
  dir: string,
  fail: (message: string) => Error,
  show: (path: string) => string = (p) => p,
): ContractRegistry {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw fail(`contracts directory ${show(dir)} does not exist`);
  let registry: ContractRegistry;
  try {
    registry = ContractRegistry.fromDirectory(dir);
  } catch (e) {
    if (e instanceof ContractError) {
      throw fail(`invalid data contract ${show(e.file)}: ${e.problems.join('; ').replace(/\s*\n\s*/g, ' ')}`);
    }
    throw fail(`cannot read the data contracts in ${show(dir)}: ${(e as Error).message}`);
  }
  if (registry.all.length === 0) throw fail(`no data contract in ${show(dir)}`);
  return registry;
}
