/**
 * `medallion check`, the gold model files: each `{{ ref() }}` known (or the closest name offered), the
 * SQL positively Athena's (`athenaSyntaxFindings`), one SELECT, and everything the loader itself checks
 * (`loadGoldModels`: header, incremental declaration, names, cycles), each at its file and line. What it
 * hands on is each model ready to be described by the engine (`columns.ts`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { errorMessage, GoldModelError } from '../../core/errors';
import { athenaSyntaxFindings, maskLiterals } from '../../core/gold/athena-syntax';
import { loadGoldModels, MODEL_REF, splitModelFile } from '../../core/gold/models';
import { portableSqlFindings } from '../../core/gold/portable-sql';
import { currentTableName, datasetTableNames, historyTableName } from '../../core/silver/tables';
import { sqlIdent } from '../../core/sql/quote';
import { isAthenaType, splitTopLevel } from '../../core/sql/types';
import type { GoldEngineName } from '../../lib/config';
import { type CheckProblem, suggestion } from './report';

/** A column the header declares, with the line declaring it. */
export interface DeclaredColumn {
  readonly name: string;
  /** The Athena type as written, lower case without spaces (`decimal(18,2)`). */
  readonly type: string;
  readonly line: number;
}

/** A model ready to be described: its SQL rendered as the workflow renders it, and its header. */
export interface ModelToDescribe {
  readonly name: string;
  readonly file: string;
  /** The SQL after the header, each ref rendered `"<database>"."<table>"`. */
  readonly sql: string;
  /** The file's line where `sql` starts. */
  readonly sqlLine: number;
  /** The gold models it refs (described first). */
  readonly dependsOn: string[];
  /** The header's columns, in its order (the order the SELECT must yield). */
  readonly columns: DeclaredColumn[];
  /** The gold table's columns in catalog order: an incremental model's date column last. */
  readonly tableColumns: DeclaredColumn[];
}

/** What the model files of a directory hold. */
export interface CheckedModels {
  readonly files: number;
  readonly problems: CheckProblem[];
  /**
   * The models whose header could be read: `describe` when their file raised no problem here, else only
   * their declared table is made (so the models reading them are still described).
   */
  readonly models: CheckedModel[];
}

/** A model of {@link CheckedModels}: `describe` false when its file raised a problem already. */
export type CheckedModel = ModelToDescribe & { readonly describe: boolean };

/**
 * Checks the `.sql` files of `dir` (which exists) against the contracts' silver tables. `unloaded` names
 * the datasets whose contract did not load (reported already): their tables count as known, so a model
 * reading them is not refused for it, only not described.
 */
export function checkModels(
  dir: string,
  contracts: readonly DatasetContract[],
  database: string,
  unloaded: readonly string[] = [],
  engine: GoldEngineName = 'athena',
): CheckedModels {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => join(dir, f));
  const unloadedTables = unloaded.flatMap((dataset) =>
    datasetTableNames({ dataset, deletes: { column: '', values: [] } }),
  );
  const silverTables = [...contracts.flatMap((c) => datasetTableNames(c)), ...unloadedTables];
  const modelNames = files.map((f) => basename(f, '.sql'));
  const known = [...new Set([...modelNames, ...silverTables])].sort();
  const problems: CheckProblem[] = [];
  const refused = new Set<string>(); // files with a problem: their SELECT is not described
  const models: ModelToDescribe[] = [];
  for (const file of files) {
    const before = problems.length;
    const model = readModel(file, readFileSync(file, 'utf8'));
    const dependsOn = new Set<string>();
    for (const ref of model.refs) {
      if (unloadedTables.includes(ref.name)) refused.add(file);
      if (modelNames.includes(ref.name)) dependsOn.add(ref.name);
      else if (!silverTables.includes(ref.name)) {
        problems.push({
          file,
          line: ref.line,
          message: `ref('${ref.name}') is neither a gold model nor a silver table`,
          fix: suggestion(ref.name, known, 'known tables'),
        });
      }
    }
    problems.push(...statementProblems(file, model, engine));
    if (problems.length > before) refused.add(file);
    if (model.describable) {
      const render = (name: string) => `${sqlIdent(database)}.${sqlIdent(name)}`;
      const date = model.incrementalColumn;
      models.push({
        name: model.name,
        file,
        sql: model.body.replace(MODEL_REF, (_m, _q, name: string) => render(name)),
        sqlLine: model.bodyLine,
        dependsOn: [...dependsOn].sort(),
        columns: model.columns,
        tableColumns: [
          ...model.columns.filter((c) => c.name !== date),
          ...model.columns.filter((c) => c.name === date),
        ],
      });
    }
  }
  // As synth loads them (lib/platform-stack.ts); an unloaded contract's tables count as partitioned by day.
  const dayPartitionedTables = [
    ...contracts
      .filter((c) => c.partition.granularity === 'day')
      .flatMap((c) => [currentTableName(c.dataset), historyTableName(c.dataset)]),
    ...unloadedTables,
  ];
  for (const p of loaderProblems(dir, { silverTables, dayPartitionedTables }, database)) {
    problems.push(p);
    refused.add(p.file);
  }
  return {
    files: files.length,
    problems,
    models: models.map((m) => ({ ...m, describe: !refused.has(m.file) })),
  };
}

/** The syntax of a model's SQL: Athena's (and on Redshift, the portable subset), and one SELECT. */
function statementProblems(file: string, model: ModelFile, engine: GoldEngineName): CheckProblem[] {
  // Each ref as a quoted name of the same length: positions in the file stay right.
  const sql = model.body.replace(MODEL_REF, (m, _q, name: string) => `"${name}"`.padEnd(m.length));
  const problems: CheckProblem[] = athenaSyntaxFindings(sql).map((f) => ({
    file,
    line: model.bodyLine + f.line - 1,
    message: `${f.message} (column ${f.column})`,
    fix: f.fix,
  }));
  if (engine === 'redshift') {
    // Athena's grammar passed it; Redshift (and the local PostgreSQL) must read it the same way too.
    for (const f of portableSqlFindings(sql)) {
      problems.push({
        file,
        line: model.bodyLine + f.line - 1,
        message: `not portable to Redshift: ${f.what} ('${f.match}', column ${f.column})`,
        fix: f.instead,
      });
    }
  }
  const first = /^\s*(\(|[A-Za-z]+)/.exec(maskLiterals(sql))?.[1]?.toUpperCase();
  if (first !== undefined && !['SELECT', 'WITH', '('].includes(first)) {
    problems.push({
      file,
      line: model.bodyLine,
      message: `a gold model is one SELECT (or WITH ... SELECT), not ${first}`,
      fix: 'write the query whose rows make the table; the workflow writes them (UNLOAD)',
    });
  }
  return problems;
}

/**
 * What `loadGoldModels` (the loader synth and the workflow use) refuses, at file and line; unknown refs
 * are left out (reported above with a suggestion). Its header errors stop at the first file.
 */
function loaderProblems(
  dir: string,
  tables: { readonly silverTables: string[]; readonly dayPartitionedTables: string[] },
  database: string,
): CheckProblem[] {
  try {
    loadGoldModels(dir, { database, ...tables });
    return [];
  } catch (e) {
    if (!(e instanceof GoldModelError)) throw e;
    return errorMessage(e)
      .replace(/^invalid gold models:\n {2}- /, '')
      .split('\n  - ')
      .filter((line) => !/: ref\('[^']*'\) is neither a gold model nor a silver table/.test(line))
      .map((line) => {
        const located = /^(?:gold model )?(\S+?\.sql)(?::(\d+))?: ([\s\S]*)$/.exec(line);
        const message = (located?.[3] ?? line).replace(/\s*\n\s*/g, ' ');
        return {
          file: located?.[1] ?? dir,
          line: located?.[2] ? Number(located[2]) : 0,
          message,
          fix: modelFix(message),
        };
      });
  }
}

/** What to do about a message of the model loader (most say it; the header format is in the README). */
function modelFix(message: string): string {
  if (/dependency cycle/.test(message)) return 'break the cycle: one of these models must not ref the other';
  if (/has the name of a silver table/.test(message)) return 'rename the model file';
  if (/incremental/.test(message)) return "see README 'Incremental gold' for the declaration";
  return "see README 'Gold models' for the header ('-- columns: <name> <type>, ...') and refs";
}

interface ModelFile {
  readonly name: string;
  readonly columns: DeclaredColumn[];
  readonly incrementalColumn?: string;
  readonly refs: { name: string; line: number }[];
  readonly body: string;
  readonly bodyLine: number;
  /** The header could be read: columns declared, each with an Athena type. */
  readonly describable: boolean;
}

/** What a model file's header declares for its readers, read leniently (each with its line). */
export interface DeclaredHeader {
  readonly columns: DeclaredColumn[];
  /** `-- incremental:`'s date column and its line. */
  readonly incremental?: { readonly column: string; readonly line: number };
  /** `-- version:` as written and its line. */
  readonly version?: { readonly value: string; readonly line: number };
  /** Every declared column has an Athena type. */
  readonly typed: boolean;
}

/**
 * The columns, incremental column and version a model file's header declares, each at its line, read
 * leniently (the loader validates the header): for the check's descriptions and `check --against`.
 */
export function readDeclaredHeader(text: string): DeclaredHeader {
  const { header } = splitModelFile(text);
  const columns: DeclaredColumn[] = [];
  let incremental: DeclaredHeader['incremental'];
  let version: DeclaredHeader['version'];
  let typed = true;
  for (const { key, value, line } of header) {
    if (key === 'incremental') incremental = { column: value.split(/\s+/)[0], line };
    if (key === 'version') version = { value, line };
    if (key !== 'columns') continue;
    for (const item of splitTopLevel(value.replace(/,$/, '')) ?? ['']) {
      const m = /^(\S+)\s+(.+)$/.exec(item);
      const type = m?.[2].toLowerCase().replace(/\s+/g, '') ?? '';
      if (!m || !isAthenaType(type)) typed = false;
      else columns.push({ name: m[1], type, line });
    }
  }
  return { columns, ...(incremental ? { incremental } : {}), ...(version ? { version } : {}), typed };
}

/**
 * A model file's header and SQL, read leniently (the loader validates the header; this only needs each
 * declared column's line).
 */
function readModel(file: string, text: string): ModelFile {
  const { body, bodyLine } = splitModelFile(text);
  const declared = readDeclaredHeader(text);
  const columns = declared.columns;
  const incrementalColumn = declared.incremental?.column;
  const describable = declared.typed;
  const refs = [...body.matchAll(MODEL_REF)].map((m) => ({
    name: m[2],
    line: bodyLine + body.slice(0, m.index).split('\n').length - 1,
  }));
  return {
    name: basename(file, '.sql'),
    columns,
    ...(incrementalColumn ? { incrementalColumn } : {}),
    refs,
    body,
    bodyLine,
    describable: describable && columns.length > 0 && body !== '',
  };
}
