/**
 * Gold models: named SQL queries over silver (and earlier gold) tables, each published as a gold table of
 * the same name. This module builds no construct: it loads models from `.sql` files, validates a set of
 * models and orders them into waves.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { GoldModelError } from '../errors';
import { sqlIdent } from '../sql/quote';
import { isAthenaType, splitTopLevel } from '../sql/types';
import { GOLD_MODEL_NAME, orderModels } from './graph';

/** One gold model: its SQL (already rendered for the engine: `{{ ref() }}` resolved) and what it reads. */
export interface GoldModel {
  /**
   * The gold table the model publishes, also its key prefix in the gold bucket: lower-case letters,
   * digits and '_', starting with a letter, at most 63 characters (Glue/Athena folds names to lower case).
   */
  readonly name: string;
  /** A single SELECT (or WITH ... SELECT) statement; a trailing ';' is tolerated. */
  readonly sql: string;
  /** Names of the gold models this one reads: they are published before it runs. */
  readonly dependsOn: string[];
}

export interface LoadGoldModelsOptions {
  /** The Glue database of the silver and gold tables: `{{ ref('x') }}` renders as `"<database>"."x"`. */
  readonly database: string;
  /**
   * The silver tables a model may `ref` (the contracts' dataset names).
   * @default [] - models may only ref each other
   */
  readonly silverTables?: readonly string[];
}

/** What {@link loadGoldModels} found. */
export interface LoadedGoldModels {
  /** The models, by file name, with their refs rendered and `dependsOn` set from refs to other models. */
  readonly models: GoldModel[];
  /** The gold table of each model, from its header (same order as `models`). */
  readonly tables: GoldTableDefinition[];
  /** The silver tables the models ref, sorted: all they may read. */
  readonly silverTables: string[];
}

/** `{{ ref('name') }}` (single or double quotes, any spaces). */
const REF = /\{\{\s*ref\(\s*(['"])([^'"]*)\1\s*\)\s*\}\}/g;
/** A header line: `-- key: value`. */
const HEADER_KEY = /^--\s*([A-Za-z_][\w-]*)\s*:(.*)$/;
const COLUMN_NAME = /^[a-z][a-z0-9_]{0,254}$/;

/**
 * Loads the gold models of a directory: one model per `<name>.sql` file (dbt-like), published as the gold
 * table `<name>`. A file is a header of `--` comment lines, then one SELECT (or WITH ... SELECT):
 *
 *   -- description: Daily sales by date, store and product category
 *   -- columns: sales_date date, store_id string, revenue decimal(18,2),
 *   -- columns: orders bigint          (the list may go on over several `columns:` lines, a trailing ',' is fine)
 *   -- Any other comment line is free text (but must not look like `word:`, which is read as a key).
 *   SELECT ... FROM {{ ref('orders') }} JOIN {{ ref('daily_sales') }} ...
 *
 * `columns` (required) declares the gold table's schema in Athena DDL types, in the order the SELECT
 * returns them; `description` (optional) becomes the table's description. `{{ ref('x') }}` names another
 * model (which then runs first: `dependsOn`) or a silver table, and is rendered as `"<database>"."x"`.
 * The header is left out of the model's SQL.
 *
 * Throws a {@link GoldModelError} naming the file (and the line) on a bad header, an unknown ref or any
 * other template syntax, a model named like a silver table, or any problem of {@link orderModels}.
 */
export function loadGoldModels(dir: string, options: LoadGoldModelsOptions): LoadedGoldModels {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new GoldModelError(`gold models: no such directory ${dir}`);
  }
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const silver = new Set(options.silverTables ?? []);
  const parsed = files.map((f) => parseModelFile(join(dir, f), readFileSync(join(dir, f), 'utf8')));
  const modelNames = new Set(parsed.map((p) => p.name));
  const problems: string[] = [];
  for (const p of parsed) {
    if (silver.has(p.name)) {
      problems.push(`${p.file}: gold model '${p.name}' has the name of a silver table: rename the file`);
    }
  }
  const known = [...new Set([...modelNames, ...silver])].sort().join(', ');
  const usedSilver = new Set<string>();
  const models = parsed.map((p): GoldModel => {
    const dependsOn = new Set<string>();
    const sql = p.body.replace(REF, (_match, _quote, name: string, offset: number) => {
      const line = p.bodyLine + lineOf(p.body, offset);
      if (modelNames.has(name)) dependsOn.add(name);
      else if (silver.has(name)) usedSilver.add(name);
      else
        problems.push(
          `${p.file}:${line}: ref('${name}') is neither a gold model nor a silver table (known: ${known})`,
        );
      return `${sqlIdent(options.database)}.${sqlIdent(name)}`;
    });
    const leftover = /\{\{|\{%/.exec(sql);
    if (leftover) {
      const line = p.bodyLine + lineOf(p.body, p.body.indexOf(leftover[0]));
      problems.push(`${p.file}:${line}: only {{ ref('name') }} is supported between '{{' and '}}'`);
    }
    return { name: p.name, sql, dependsOn: [...dependsOn].sort() };
  });
  if (problems.length > 0) throw new GoldModelError(`invalid gold models:\n  - ${problems.join('\n  - ')}`);
  orderModels(models); // names, empty SQL, cycles: fail here, with the models named
  return {
    models,
    tables: parsed.map((p) => ({
      name: p.name,
      columns: p.columns,
      ...(p.description === undefined ? {} : { description: p.description }),
    })),
    silverTables: [...usedSilver].sort(),
  };
}

interface ParsedModelFile {
  readonly file: string;
  readonly name: string;
  readonly description?: string;
  readonly columns: GoldColumn[];
  /** The SQL after the header. */
  readonly body: string;
  /** The (1-based) line of the file where `body` starts. */
  readonly bodyLine: number;
}

/** Reads the header of one model file (see {@link loadGoldModels}); `file` names it in errors. */
function parseModelFile(file: string, text: string): ParsedModelFile {
  const name = basename(file, '.sql');
  const fail = (line: number, message: string): never => {
    throw new GoldModelError(`gold model ${file}:${line}: ${message}`);
  };
  if (!GOLD_MODEL_NAME.test(name)) {
    fail(1, "the file name must be lower-case letters, digits and '_', starting with a letter (max 63)");
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let description: string | undefined;
  const columns: GoldColumn[] = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    if (!line.startsWith('--')) break;
    const header = HEADER_KEY.exec(line);
    if (!header) continue; // free text
    const [, key, rawValue] = header;
    const value = rawValue.trim();
    const at = i + 1;
    if (key === 'description') {
      if (description !== undefined) fail(at, 'description is given twice');
      if (value === '') fail(at, 'the description is empty');
      description = value;
    } else if (key === 'columns') {
      // A list split over several lines may end each line with a comma.
      for (const c of parseColumns(value.replace(/,$/, '').trim(), (message) => fail(at, message))) {
        if (columns.some((x) => x.name === c.name)) fail(at, `column '${c.name}' is declared twice`);
        columns.push(c);
      }
    } else {
      fail(at, `unknown header key '${key}' (expected description or columns)`);
    }
  }
  if (columns.length === 0) {
    fail(1, "the header declares no column: add a line '-- columns: <name> <type>, ...' before the SQL");
  }
  return {
    file,
    name,
    description,
    columns,
    body: lines.slice(i).join('\n').trim(),
    bodyLine: i + 1,
  };
}

/** `a string, b decimal(18,2), c map<string,int>` -> columns; `fail` reports a problem (and throws). */
function parseColumns(list: string, fail: (message: string) => never): GoldColumn[] {
  if (list === '') fail('columns: the list is empty');
  const items = splitTopLevel(list);
  if (items === undefined) fail(`columns: unbalanced brackets in '${list}'`);
  return (items as string[]).map((item) => {
    if (item === '') fail('columns: an empty entry (two commas in a row)');
    const m = /^(\S+)\s+(.+)$/.exec(item);
    if (!m) fail(`columns: '${item}' must be '<name> <type>'`);
    const [, name, rawType] = m as RegExpExecArray;
    if (!COLUMN_NAME.test(name)) {
      fail(
        `columns: invalid column name '${name}' (lower-case letters, digits and '_', starting with a letter)`,
      );
    }
    const type = rawType.toLowerCase().replace(/\s+/g, '');
    if (!isAthenaType(type)) {
      fail(
        `columns: column '${name}' has type '${rawType}', not an Athena type ` +
          '(string, int, bigint, double, decimal(p,s), boolean, date, timestamp, array<...>...)',
      );
    }
    return { name, type };
  });
}

/** 0-based line of `offset` in `text`. */
function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length - 1;
}

/** A column of a gold table. */
export interface GoldColumn {
  /** Lower-case letters, digits and '_', starting with a letter. */
  readonly name: string;
  /**
   * An Athena (Hive DDL) type: `string`, `int`, `bigint`, `double`, `decimal(12,2)`, `date`, `timestamp`,
   * `array<string>`... Gold is written by Athena SQL, so its columns use Athena's names for types.
   */
  readonly type: string;
  readonly description?: string;
}
/** A gold table, built and published by the gold workflow. */
export interface GoldTableDefinition {
  /** Table name, also its prefix in the gold bucket: lower-case letters, digits and '_'. */
  readonly name: string;
  readonly columns: GoldColumn[];
  readonly description?: string;
}
