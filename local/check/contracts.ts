/**
 * `medallion check`, the contracts: every file read as the loader reads it (YAML errors with their code
 * frame, every field the schema refuses, at its line, reworded with what to do), and every `regex` check
 * compiled by the engine that runs it: the transform validates rows with DuckDB's `regexp_full_match`
 * (RE2), which refuses what JavaScript accepts (lookarounds, named groups `(?<n>...)`, backreferences),
 * so a pattern that loads would quarantine every file of its dataset at run time.
 */
import { basename, extname } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  type ContractIssue,
  contractJsonSchema,
  type DatasetContract,
  formatContractPath,
} from '../../core/contracts/dataset-contract';
import {
  type ContractFileProblem,
  contractFiles,
  type InspectedContractFile,
  inspectContractFile,
} from '../../core/contracts/load-contracts';
import { sqlString } from '../../core/sql/quote';
import { type CheckProblem, engineMessage, suggestion } from './report';

/** What the contracts of a directory hold: the valid contracts, and every problem. */
export interface CheckedContracts {
  /** The contract files read. */
  readonly files: number;
  /** The contracts that loaded (their datasets can be referred to by models). */
  readonly contracts: DatasetContract[];
  /** The datasets (file names) whose contract did not load. */
  readonly unloaded: string[];
  readonly problems: CheckProblem[];
}

/** Checks every contract file of `dir` (which exists); `duckdb` compiles the regexes. */
export async function checkContracts(dir: string, duckdb: DuckDBConnection): Promise<CheckedContracts> {
  const files = contractFiles(dir);
  const problems: CheckProblem[] = [];
  const contracts: DatasetContract[] = [];
  const unloaded: string[] = [];
  const byDataset = new Map<string, string>();
  for (const file of files) {
    const inspected = inspectContractFile(file);
    // The first YAML error only: the next ones mostly follow from it.
    const own = inspected.problems.filter((p, i) => p.kind !== 'yaml' || i === 0);
    problems.push(...own.map((p) => contractProblem(p, inspected)));
    const contract = inspected.contract;
    if (!contract) {
      unloaded.push(basename(file, extname(file)));
      continue;
    }
    const clash = byDataset.get(contract.dataset);
    if (clash !== undefined) {
      problems.push({
        file,
        line: inspected.position(['dataset']).line,
        message: `dataset: '${contract.dataset}' is also defined in ${clash}`,
        fix: 'keep one file per dataset (a .yaml and a .json of the same name are two contracts)',
      });
      continue;
    }
    byDataset.set(contract.dataset, file);
    contracts.push(contract);
    problems.push(...(await regexProblems(contract, inspected, duckdb)));
  }
  return { files: files.length, contracts, unloaded, problems };
}

/** Every `regex` check the transform's engine refuses (see the module comment). */
async function regexProblems(
  contract: DatasetContract,
  inspected: InspectedContractFile,
  duckdb: DuckDBConnection,
): Promise<CheckProblem[]> {
  const problems: CheckProblem[] = [];
  for (const [i, column] of contract.columns.entries()) {
    const regex = column.checks?.regex;
    if (regex === undefined) continue;
    try {
      // The transform's own expression (core/sql/silver-sql.ts): the pattern a constant, compiled once.
      await duckdb.run(`SELECT regexp_full_match('', ${sqlString(regex)})`);
    } catch (e) {
      const path = ['columns', i, 'checks', 'regex'];
      const reason = engineMessage(e)
        .split('\n')[0]
        .replace(/^Invalid Input Error: /, '');
      problems.push({
        file: contract.file,
        line: inspected.position(path).line,
        message: `${formatContractPath(path)}: DuckDB (RE2, which validates the rows) refuses '${regex}': ${reason}; every file of ${contract.dataset} would be quarantined`,
        fix: re2Fix(regex),
      });
    }
  }
  return problems;
}

/** What to write instead of a pattern RE2 refuses. */
function re2Fix(regex: string): string {
  if (/\(\?<?[=!]/.test(regex)) {
    return 'RE2 has no lookahead or lookbehind: match the whole value with a plain pattern (character classes, alternatives), or split the rule';
  }
  if (/\(\?<[A-Za-z]/.test(regex)) return 'write a named group as (?P<name>...) (RE2 syntax)';
  if (/\\[1-9]/.test(regex)) return 'RE2 has no backreferences: spell the repeated part out';
  if (/[*+?}][+]/.test(regex)) return 'RE2 has no possessive quantifiers: drop the extra +';
  return 'write the pattern in RE2 syntax (github.com/google/re2/wiki/Syntax), as DuckDB reads it';
}

/** A contract file's problem in the check's words: the field, what is wrong, what to do. */
function contractProblem(p: ContractFileProblem, inspected: InspectedContractFile): CheckProblem {
  const at = { file: p.file, line: p.line };
  if (p.kind === 'yaml') {
    return {
      ...at,
      message: `not valid YAML: ${p.message}`,
      fix: `correct the YAML at line ${p.line}, column ${p.column}`,
      ...(p.frame ? { detail: p.frame.split('\n') } : {}),
    };
  }
  if (p.kind === 'file-name') {
    const stem = /file name '([^']*)'/.exec(p.message)?.[1] ?? '';
    return {
      ...at,
      message: `dataset: ${p.message}`,
      fix: `rename the file after its dataset, or write 'dataset: ${stem}'`,
    };
  }
  const issue = p.issue as ContractIssue;
  const { message, fix } = reworded(issue, inspected.raw);
  // An unknown field is named by its own path: `columns[0].requried: unknown field`.
  const path =
    issue.code === 'unrecognized_keys' && issue.keys?.length === 1
      ? formatContractPath([...issue.path, issue.keys[0]])
      : p.path;
  return { ...at, message: `${path || '(root)'}: ${message}`, fix };
}

/** zod's issue as a reader wants it: what is wrong with the field and what to write. */
function reworded(issue: ContractIssue, raw: unknown): { message: string; fix: string } {
  const field = issue.path.at(-1);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const keys = issue.keys ?? [];
      const known = knownFields(issue.path);
      const fixes = keys.map((k) => {
        const hint = suggestion(k, known, 'the fields here are');
        return hint.startsWith('did you mean') ? `'${k}': ${hint}` : `remove '${k}' (${hint})`;
      });
      return keys.length === 1
        ? { message: 'unknown field', fix: fixes[0].replace(/^'[^']*': /, '') }
        : { message: `unknown fields ${keys.map((k) => `'${k}'`).join(', ')}`, fix: fixes.join('; ') };
    }
    case 'invalid_value': {
      const allowed = (issue.values ?? []).map(String);
      const given = valueAt(raw, issue.path);
      const hint = typeof given === 'string' ? suggestion(given, allowed) : '';
      return {
        message: `${given === undefined ? 'the value' : `'${String(given)}'`} is not one of ${allowed.join(', ')}`,
        fix: hint.startsWith('did you mean') ? hint : `write one of ${allowed.join(', ')}`,
      };
    }
    case 'invalid_type':
      return issue.missing
        ? {
            message: `'${String(field ?? '(root)')}' is missing`,
            fix: `add '${String(field)}' (${article(issue.expected ?? 'value')}), see README 'Data contracts'`,
          }
        : {
            message: `expected ${article(issue.expected ?? 'value')}, got ${describe(valueAt(raw, issue.path))}`,
            fix: `write ${article(issue.expected ?? 'value')}`,
          };
    case 'too_small':
      return {
        message: issue.message.replace(/^Too small: /, 'too small: '),
        fix: /string/.test(issue.message) ? 'write a value, or remove the field' : 'add entries',
      };
    default: {
      // Our own rules (superRefine): their messages already say what is wrong; add the likely name.
      const missing = /^(.*) '([^']*)' is not a declared column$/.exec(issue.message);
      if (missing) {
        return {
          message: issue.message,
          fix: `name a column of the contract: ${suggestion(missing[2], columnNames(raw), 'columns')}`,
        };
      }
      return { message: issue.message, fix: fixOf(issue.message) };
    }
  }
}

/** What to do about one of the contract schema's own messages. */
function fixOf(message: string): string {
  if (/^invalid regular expression/.test(message)) return 'write a valid RE2 pattern';
  if (/^unknown type/.test(message)) return 'use one of the types the message lists';
  if (/must be required/.test(message)) return "add 'required: true' to that column";
  if (/is greater than max/.test(message)) return 'swap min and max';
  if (/^duplicate column/.test(message)) return 'rename or remove one of the two columns';
  if (/unknown time zone/.test(message)) return 'use an IANA time zone name, e.g. Europe/Paris';
  return "see the field's rule in README 'Data contracts'";
}

/** The fields the contract schema allows in the object at `path` (from its JSON Schema). */
function knownFields(path: readonly (string | number)[]): string[] {
  let node = contractJsonSchema() as JsonSchema | undefined;
  for (const segment of path) {
    if (!node) return [];
    node = typeof segment === 'number' ? node.items : node.properties?.[segment];
  }
  return Object.keys(node?.properties ?? {});
}

interface JsonSchema {
  readonly properties?: Record<string, JsonSchema>;
  readonly items?: JsonSchema;
}

function valueAt(raw: unknown, path: readonly (string | number)[]): unknown {
  let v = raw;
  for (const segment of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[segment];
  }
  return v;
}

function columnNames(raw: unknown): string[] {
  const columns = valueAt(raw, ['columns']);
  return Array.isArray(columns)
    ? columns.map((c) => (c as { name?: unknown })?.name).filter((n): n is string => typeof n === 'string')
    : [];
}

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}
