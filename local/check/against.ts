/**
 * `medallion check --against <git ref>`: the contract and model changes since the ref that break readers
 * (`breaking-changes.ts`). Each is a problem unless the product's MAJOR version went up (then it is listed
 * as accepted); a version that went down is a problem too. A dataset or model removed is a problem at its
 * file as it was at the ref, line 1: there is no version left to bump.
 *
 * Contracts are matched by dataset (a dataset whose domain changed is a breaking change of that contract),
 * models by file name. The ref's files are read with git (`git-ref.ts`), the working tree's from disk, both
 * with the parsers the loaders use. A file that does not load on either side is not compared: the check
 * reports the working tree's, and the ref's is shown as a note.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { majorOf } from '../../core/contracts/data-product';
import { type DatasetContract, validateContract } from '../../core/contracts/dataset-contract';
import { contractFiles, inspectContractFile } from '../../core/contracts/load-contracts';
import {
  type BreakingChange,
  contractBreakingChanges,
  type FieldLine,
  modelBreakingChanges,
  readModelInterface,
} from './breaking-changes';
import type { UsageProblem } from './check';
import { GitRepository } from './git-ref';
import type { CheckProblem } from './report';

export interface AgainstOptions {
  /** The git ref to compare with: a branch, tag, commit, or an expression like `HEAD~1`. */
  readonly ref: string;
  /** The contracts directory the check reads (absolute). */
  readonly contractsDir: string;
  /** The models directory the check reads (absolute); undefined: no models. */
  readonly modelsDir?: string;
}

/** A breaking change a new MAJOR version announces: informational. */
export interface AcceptedChange {
  readonly file: string;
  readonly line: number;
  readonly what: string;
  readonly from: string;
  readonly to: string;
}

/** What the comparison found. */
export interface AgainstResult {
  /** The ref as given, and the commit it names (empty when it names none). */
  readonly ref: string;
  readonly commit: string;
  /** Problems with the command's arguments (exit 2): nothing else was compared. */
  readonly usage: UsageProblem[];
  /** Breaking changes without a new MAJOR, versions that went down, removals. */
  readonly problems: CheckProblem[];
  readonly accepted: AcceptedChange[];
  /** Files of the ref that could not be compared (they do not load there). */
  readonly notes: { readonly file: string; readonly message: string }[];
  /** How many contracts and models were found on both sides and compared. */
  readonly contracts: number;
  readonly models: number;
  readonly ms: number;
}

/** Compares the contracts and models of the working tree with those at `ref` (see the module comment). */
export function checkAgainst(options: AgainstOptions): AgainstResult {
  const t0 = Date.now();
  const found = {
    ref: options.ref,
    commit: '',
    usage: [] as UsageProblem[],
    problems: [] as CheckProblem[],
    accepted: [] as AcceptedChange[],
    notes: [] as { file: string; message: string }[],
    contracts: 0,
    models: 0,
  };
  const done = () => ({ ...found, ms: Date.now() - t0 });
  const usage = (file: string, message: string, fix: string) =>
    found.usage.push({ file, line: 0, message, fix, usage: true });
  const repository = GitRepository.containing(options.contractsDir);
  if (repository === undefined) {
    usage(
      options.contractsDir,
      `--against ${options.ref}: the contracts directory is not in a git repository`,
      'run the check in a clone of the project, or without --against',
    );
    return done();
  }
  const dirs: { contracts: string; models?: string } = { contracts: '' };
  for (const [key, dir, what] of [
    ['contracts', options.contractsDir, 'contracts'],
    ['models', options.modelsDir, 'gold models'],
  ] as const) {
    if (dir === undefined) continue;
    const path = repository.pathOf(dir);
    if (path === undefined) {
      usage(
        dir,
        `--against ${options.ref}: the ${what} directory is outside the git repository ${repository.root}`,
        'give directories of the repository: --against compares them with their versions at the ref',
      );
    } else dirs[key] = path;
  }
  const commit = repository.commitOf(options.ref);
  if (commit === undefined) {
    usage(
      repository.root,
      `--against: unknown git ref '${options.ref}' (no branch, tag or commit of that name)`,
      'give a ref this clone has, e.g. HEAD~1 or $(git merge-base HEAD origin/main); a shallow clone may need git fetch --unshallow',
    );
  }
  if (found.usage.length > 0 || commit === undefined) return done();
  found.commit = commit;
  const shown = shortRef(options.ref);
  const at = (path: string) => join(repository.root, path);

  // Contracts, by dataset.
  const current = contractFiles(options.contractsDir).map(inspectContractFile);
  const loaded = new Map<string, { contract: DatasetContract; lineOf: FieldLine }>();
  for (const file of current) {
    if (file.contract && !loaded.has(file.contract.dataset)) {
      loaded.set(file.contract.dataset, {
        contract: file.contract,
        lineOf: (path) => file.position(path).line,
      });
    }
  }
  const unloaded = new Set(current.filter((f) => !f.contract).map((f) => basename(f.file, extname(f.file))));
  for (const { path, text } of repository.filesAt(commit, dirs.contracts, isContractFile)) {
    const before = contractAt(text, at(path));
    if (typeof before === 'string') {
      found.notes.push({ file: at(path), message: `not compared: at ${shown} ${before}` });
      continue;
    }
    const after = loaded.get(before.dataset);
    if (after === undefined) {
      if (unloaded.has(before.dataset)) continue; // the check reports why it does not load now
      found.problems.push({
        file: at(path),
        line: 1,
        message: `breaking change since ${shown}: dataset ${before.id} removed (its readers lose its silver tables)`,
        fix: `a removal has no version to bump: restore it (git checkout ${shown} -- ${path}) until its readers have moved`,
      });
      continue;
    }
    found.contracts++;
    judge(
      found,
      shown,
      {
        file: after.contract.file,
        versionLine: after.lineOf(['version']),
        before: before.version,
        after: after.contract.version,
        bump: (v) => `version: ${v}`,
      },
      contractBreakingChanges(before, after.contract, after.lineOf),
    );
  }

  // Models, by file name.
  if (options.modelsDir !== undefined && dirs.models !== undefined) {
    const modelsDir = options.modelsDir;
    const now = new Map(
      readdirSync(modelsDir)
        .filter(isModelFile)
        .map((name) => {
          const file = join(modelsDir, name);
          return [name, { file, model: readModelInterface(readFileSync(file, 'utf8')) }] as const;
        }),
    );
    for (const { path, text } of repository.filesAt(commit, dirs.models, isModelFile)) {
      const before = readModelInterface(text);
      if (before === undefined) {
        found.notes.push({
          file: at(path),
          message: `not compared: at ${shown} its header has no readable columns or version`,
        });
        continue;
      }
      const after = now.get(basename(path));
      if (after === undefined) {
        found.problems.push({
          file: at(path),
          line: 1,
          message: `breaking change since ${shown}: gold model ${basename(path, '.sql')} removed (its readers lose its table)`,
          fix: `a removal has no version to bump: restore it (git checkout ${shown} -- ${path}) until its readers have moved`,
        });
        continue;
      }
      if (after.model === undefined) continue; // the check reports its header
      found.models++;
      judge(
        found,
        shown,
        {
          file: after.file,
          versionLine: after.model.versionLine,
          before: before.version,
          after: after.model.version,
          bump: (v) => `-- version: ${v}`,
        },
        modelBreakingChanges(before, after.model),
      );
    }
  }
  return done();
}

/** A product's version before and after, where to write it, and how. */
interface VersionChange {
  readonly file: string;
  readonly versionLine: number;
  readonly before: string;
  readonly after: string;
  /** The line that sets version `v` in the file. */
  readonly bump: (v: string) => string;
}

/** Each breaking change accepted (a new MAJOR) or a problem; a version that went down is one too. */
function judge(
  found: { problems: CheckProblem[]; accepted: AcceptedChange[] },
  ref: string,
  version: VersionChange,
  changes: readonly BreakingChange[],
): void {
  const { file, before, after } = version;
  if (compareVersions(after, before) < 0) {
    found.problems.push({
      file,
      line: version.versionLine,
      message: `version went down since ${ref}: ${before} -> ${after}`,
      fix: `write ${before} or above (${version.bump(before)}): a version only goes up`,
    });
  }
  const major = majorOf(after);
  for (const change of changes) {
    if (major > majorOf(before)) {
      found.accepted.push({ file, line: change.line, what: change.what, from: before, to: after });
    } else {
      const next = `${majorOf(before) + 1}.0.0`;
      found.problems.push({
        file,
        line: change.line,
        message: `breaking change since ${ref}: ${change.what}; version ${after} keeps major ${major}`,
        fix: `write ${version.bump(next)} so readers know, or ${change.undo}`,
      });
    }
  }
}

/** The lines the comparison adds to the check's report: accepted changes, notes, then its summary. */
export function formatAgainst(result: AgainstResult, show: (path: string) => string = (x) => x): string[] {
  const ref = shortRef(result.ref);
  const accepted = [...result.accepted].sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line,
  );
  const breaking = result.problems.filter((p) => p.message.startsWith('breaking change')).length;
  return [
    ...accepted.map(
      (a) => `${show(a.file)}:${a.line}: accepted since ${ref}: ${a.what} (version ${a.from} -> ${a.to})`,
    ),
    ...result.notes.map((n) => `${show(n.file)}: ${n.message}`),
    `against ${ref} (${result.commit.slice(0, 12)}): ${result.contracts} contracts and ${result.models} models compared, ${breaking} breaking ${breaking === 1 ? 'change' : 'changes'} without a new major, ${result.accepted.length} accepted (${result.ms} ms)`,
  ];
}

/** The contract at the ref, or why it does not load there. */
function contractAt(text: string, file: string): DatasetContract | string {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) return 'the file is not valid YAML';
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch {
    return 'the file is not valid YAML';
  }
  const validation = validateContract(raw, file);
  return validation.ok ? validation.contract : 'the contract does not load';
}

/** As `contractFiles` and the model loader pick files. */
const isContractFile = (name: string) =>
  ['.yaml', '.yml', '.json'].includes(extname(name)) && !name.endsWith('.schema.json');
const isModelFile = (name: string) => name.endsWith('.sql');

/** `-1`, `0` or `1` as MAJOR.MINOR.PATCH `a` is below, equal to or above `b`. */
function compareVersions(a: string, b: string): number {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

/** A ref as messages show it: a full commit hash cut to 12 characters, any other ref as given. */
function shortRef(ref: string): string {
  return /^[0-9a-f]{40}$/i.test(ref) ? ref.slice(0, 12) : ref;
}
