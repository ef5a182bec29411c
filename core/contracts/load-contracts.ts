/** Loading data contracts from files: one file, one directory (the registry), and the callers' wordings. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { isMap, isSeq, LineCounter, type Node, parseDocument, visit } from 'yaml';
import { ContractError, MedallionConfigError } from '../errors';
import {
  type ContractIssue,
  type DatasetContract,
  formatContractPath,
  validateContract,
} from './dataset-contract';

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
  const inspected = inspectContractFile(file);
  if (!inspected.contract) {
    throw new ContractError(
      file,
      inspected.problems.map((p) => p.text),
    );
  }
  return inspected.contract;
}

/** A problem of one contract file, with the line and column (1-based) of what it is about. */
export interface ContractFileProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** `yaml`: the file is not valid YAML; `schema`: a field breaks the contract's rules; `file-name`. */
  readonly kind: 'yaml' | 'schema' | 'file-name';
  /** The field (`columns[2].type`), empty when the problem is not about one. */
  readonly path: string;
  /** What is wrong, without the position. */
  readonly message: string;
  /** The problem as `ContractError` lists it (one line). */
  readonly text: string;
  /** zod's issue, for a `schema` problem. */
  readonly issue?: ContractIssue;
  /** The YAML parser's code frame (the lines around the error, a caret under it), for a `yaml` problem. */
  readonly frame?: string;
}

/** One contract file read: the contract when it is valid, every problem otherwise, and where its fields are. */
export interface InspectedContractFile {
  readonly file: string;
  /** The contract; undefined when there are problems. */
  readonly contract?: DatasetContract;
  readonly problems: ContractFileProblem[];
  /**
   * Line and column (1-based) of a field, e.g. `['columns', 0, 'checks', 'regex']` (of its key); of its
   * closest ancestor the file has when it has not this one; 1:1 when the file is not YAML.
   */
  position(path: readonly (string | number)[]): { line: number; column: number };
  /** The file as parsed (plain data), whatever its problems; undefined when it is not YAML. */
  readonly raw?: unknown;
}

/**
 * Reads one contract file (YAML or JSON) and says what is wrong with it, each problem at its line: YAML
 * errors with the parser's code frame, every field zod refuses, a dataset named unlike the file.
 */
export function inspectContractFile(file: string): InspectedContractFile {
  const text = readFileSync(file, 'utf8');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const position = (path: readonly (string | number)[]) => at(fieldOffset(doc.contents, path));
  const yamlProblem = (message: string, where: { line: number; column: number }, frame?: string) => ({
    file,
    ...where,
    kind: 'yaml' as const,
    path: '',
    message,
    text: message,
    ...(frame ? { frame } : {}),
  });
  if (doc.errors.length > 0) {
    return {
      file,
      position: () => ({ line: 1, column: 1 }),
      problems: doc.errors.map((e) => {
        const [first, ...rest] = e.message.split('\n');
        const where = e.linePos ? { line: e.linePos[0].line, column: e.linePos[0].col } : at(e.pos[0]);
        const frame = rest.join('\n').replace(/^\n+|\s+$/g, '');
        return {
          ...yamlProblem(first.replace(/ at line \d+, column \d+:?$/, ''), where, frame),
          text: first,
        };
      }),
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (e) {
    // e.g. an alias to an undefined anchor: report it like a syntax error, naming the file and the alias.
    let where = { line: 1, column: 1 };
    visit(doc, {
      Alias(_key, alias) {
        if (alias.resolve(doc) === undefined && alias.range) {
          where = at(alias.range[0]);
          return visit.BREAK;
        }
        return undefined;
      },
    });
    return { file, position, problems: [yamlProblem((e as Error).message, where)] };
  }
  const validation = validateContract(raw, file);
  if (!validation.ok) {
    return {
      file,
      position,
      raw,
      problems: validation.issues.map((issue) => {
        const path = formatContractPath(issue.path);
        // An unknown field is at its own key, not at the object holding it.
        const where = position(issue.keys?.length ? [...issue.path, issue.keys[0]] : issue.path);
        return {
          file,
          ...where,
          kind: 'schema' as const,
          path,
          message: issue.message,
          text: `${path || '(root)'}: ${issue.message}`,
          issue,
        };
      }),
    };
  }
  const contract = validation.contract;
  const stem = basename(file, extname(file));
  if (stem !== contract.dataset) {
    const message = `'${contract.dataset}' must match the file name '${stem}'`;
    return {
      file,
      position,
      raw,
      problems: [
        {
          file,
          ...position(['dataset']),
          kind: 'file-name',
          path: 'dataset',
          message,
          text: `dataset: ${message}`,
        },
      ],
    };
  }
  return { file, contract, problems: [], position, raw };
}

/** Offset in the file of the field at `path` (its key), or of its closest ancestor present. */
function fieldOffset(root: unknown, path: readonly (string | number)[]): number {
  let node = root as Node | null | undefined;
  let offset = node?.range?.[0] ?? 0;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === segment);
      if (!pair) break;
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return offset;
}

/** The contract files of a directory (`*.yaml`, `*.yml`, `*.json`, not `*.schema.json`), sorted. */
export function contractFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => CONTRACT_EXTENSIONS.has(extname(f)) && !f.endsWith('.schema.json'))
    .sort()
    .map((f) => join(dir, f));
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
    return new ContractRegistry(contractFiles(dir).map(loadContractFile));
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
