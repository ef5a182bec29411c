/** Loading data contracts from files: one file, one directory (the registry), and the callers' wordings. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { ContractError, MedallionConfigError } from '../errors';
import { type DatasetContract, parseContract } from './dataset-contract';

/** Why a contracts directory did not load (each caller words it for its audience). */
export type ContractsProblem =
  | { readonly kind: 'invalid'; readonly error: ContractError }
  | { readonly kind: 'unreadable'; readonly error: Error }
  | { readonly kind: 'empty' };

/**
 * The one loader of a contracts directory: every contract file, validated, as a registry. Any problem
 * (an invalid contract, an unreadable directory, no contract at all) goes to `fail`, whose error is thrown.
 */
export function loadContractRegistry(
  dir: string,
  fail: (problem: ContractsProblem) => Error,
): ContractRegistry {
  let registry: ContractRegistry;
  try {
    registry = ContractRegistry.fromDirectory(dir);
  } catch (e) {
    throw fail(
      e instanceof ContractError ? { kind: 'invalid', error: e } : { kind: 'unreadable', error: e as Error },
    );
  }
  if (registry.all.length === 0) throw fail({ kind: 'empty' });
  return registry;
}

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
  return loadContractRegistry(dir, (p) => {
    switch (p.kind) {
      case 'invalid':
        return fail(
          `invalid data contract ${show(p.error.file)}: ${p.error.problems.join('; ').replace(/\s*\n\s*/g, ' ')}`,
        );
      case 'unreadable':
        return fail(`cannot read the data contracts in ${show(dir)}: ${p.error.message}`);
      case 'empty':
        return fail(`no data contract in ${show(dir)}`);
    }
  });
}

/**
 * Loads and validates the contracts at synth: a bad contract fails `cdk synth` with the file and the
 * field, instead of failing the functions' first invocation after a deploy. Sorted by id.
 */
export function loadContracts(dir: string): DatasetContract[] {
  const registry = loadContractRegistry(dir, (p) => {
    switch (p.kind) {
      case 'invalid':
        return new MedallionConfigError(`medallion: ${p.error.message}`);
      case 'unreadable':
        return new MedallionConfigError(
          `medallion: cannot read the data contracts in ${dir}: ${p.error.message}`,
        );
      case 'empty':
        return new MedallionConfigError(
          `medallion: no data contract (*.yaml, *.yml, *.json) in ${dir}: nothing could be ingested`,
        );
    }
  });
  return registry.all.sort((a, b) => a.id.localeCompare(b.id));
}

/** Reads and validates one contract file (YAML or JSON). */
export function loadContractFile(file: string): DatasetContract {
  const text = readFileSync(file, 'utf8');
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ContractError(
      file,
      doc.errors.map((e) => e.message.split('\n')[0]),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (e) {
    // e.g. an alias to an undefined anchor: report it like a syntax error, naming the file.
    throw new ContractError(file, [(e as Error).message]);
  }
  const contract = parseContract(raw, file);
  const stem = basename(file, extname(file));
  if (stem !== contract.dataset) {
    throw new ContractError(file, [`dataset: '${contract.dataset}' must match the file name '${stem}'`]);
  }
  return contract;
}
/** All contracts in a directory, keyed by dataset name (dataset names are unique across domains). */
export class ContractRegistry {
  private readonly byDataset = new Map<string, DatasetContract>();

  constructor(contracts: DatasetContract[]) {
    for (const c of contracts) {
      const clash = this.byDataset.get(c.dataset);
      if (clash)
        throw new ContractError(c.file, [`dataset: '${c.dataset}' is also defined in ${clash.file}`]);
      this.byDataset.set(c.dataset, c);
    }
  }

  static fromDirectory(dir: string): ContractRegistry {
    const files = readdirSync(dir)
      .filter((f) => CONTRACT_EXTENSIONS.has(extname(f)) && !f.endsWith('.schema.json'))
      .sort();
    return new ContractRegistry(files.map((f) => loadContractFile(join(dir, f))));
  }

  get all(): DatasetContract[] {
    return [...this.byDataset.values()];
  }

  byName(dataset: string): DatasetContract | undefined {
    return this.byDataset.get(dataset);
  }

  /** The contract owning `<domain>/<dataset>/...`, if any. */
  forKey(key: string): DatasetContract | undefined {
    const [domain, dataset] = key.split('/');
    const c = dataset === undefined ? undefined : this.byDataset.get(dataset);
    return c && c.domain === domain ? c : undefined;
  }
}
const CONTRACT_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
