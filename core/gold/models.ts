/**
 * Gold models: named SQL queries over silver (and earlier gold) tables, each published as a gold table of
 * the same name. This module builds no construct: it loads models from `.sql` files, validates a set of
 * models and orders them into waves.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type DataProductOwner, durationMinutes, SEMVER } from '../contracts/data-product';
import { GoldModelError } from '../errors';
import { PARTITION_KEY } from '../lake/layout';
import { sqlIdent } from '../sql/quote';
import { isAthenaType, splitTopLevel } from '../sql/types';
import { GOLD_MODEL_NAME, orderModels } from './graph';
import { type ModelTest, parseModelTest, testedTables } from './model-tests';

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
  /**
   * Set when the model's header declares `-- incremental: ...`: its table is partitioned by a date column
   * and a run recomputes only the dates whose inputs changed (see `incremental-plan.ts`).
   */
  readonly incremental?: IncrementalModel;
  /**
   * Where the model's SQL comes from, so that an engine's error (which counts lines from its statement)
   * can be traced to the file: `file` as loaded, `sqlLine` the file's line of the SQL's first line.
   * @default - unknown (a model built in code)
   */
  readonly source?: GoldModelSource;
  /**
   * The model's tests (`-- test: ...` header lines, see `model-tests.ts`): checked on the version the
   * model just wrote, before it is published; a failing test keeps the previous version published.
   * @default - none: the model is published as soon as it is written
   */
  readonly tests?: readonly ModelTest[];
  /**
   * The model as a data product (`-- domain:`, `-- owner:`, `-- version:`, `-- sla:`, `-- access:` header
   * lines): who owns it, what it promises, who reads it.
   * @default - version 1.0.0, no owner, no SLA, readable by its domain only
   */
  readonly product?: GoldModelProduct;
}

/** A gold model's data-product header (see `core/contracts/data-product.ts`). */
export interface GoldModelProduct {
  /** The owning domain: its alarms route to that domain's topics, its reader role reads the table. */
  readonly domain?: string;
  readonly owner?: DataProductOwner;
  /** MAJOR.MINOR.PATCH of the table's interface. */
  readonly version: string;
  /** Freshness (minutes: published within this long of its last run's start) and the SLO window. */
  readonly sla?: { readonly freshness?: number; readonly window: number };
  /** Other domains whose reader role may read the table. */
  readonly readers: readonly string[];
}

/** Where a model's SQL is in its file (see {@link GoldModel.source}). */
export interface GoldModelSource {
  /** The model's file name (`<model>.sql`). */
  readonly file: string;
  /** The (1-based) line of the file where the SQL (after the header) starts. */
  readonly sqlLine: number;
}

/** An incremental model: `-- incremental: <date column> lookback <N> day(s) [from <table>, ...]`. */
export interface IncrementalModel {
  /** The date column the gold table is partitioned by (declared in `columns` with type `date`). */
  readonly column: string;
  /**
   * How many days a gold date may lie from the `dt` partition of the source rows it is computed from:
   * a change in source partition D recomputes the gold dates D-N..D+N, which read D-2N..D+2N.
   */
  readonly lookbackDays: number;
  /**
   * The silver tables the date is aligned with (their `dt` partitions): `from`, or the model's only
   * silver ref. Other silver refs are read whole; any change in them rebuilds the model.
   */
  readonly alignedTables: readonly string[];
  /** The other silver tables the model reads. */
  readonly otherTables: readonly string[];
  /**
   * The model's SQL with each aligned ref rendered as a window subquery,
   * `(SELECT * FROM "<db>"."<table>" WHERE "dt" IN (${WINDOW_MARKER}))`: the planner puts the window's
   * `dt` values in place of the marker.
   */
  readonly windowSql: string;
  /** The gold table's columns in the order a partitioned write needs: the date column last. */
  readonly outputColumns: readonly string[];
  /** The table's columns without the date column, as Glue declares them (for each partition). */
  readonly columns: readonly { readonly Name: string; readonly Type: string }[];
}

/** Where the planner writes a window's `dt` list in {@link IncrementalModel.windowSql}. */
export const WINDOW_MARKER = '/*medallion:window*/';

export interface LoadGoldModelsOptions {
  /** The Glue database of the silver and gold tables: `{{ ref('x') }}` renders as `"<database>"."x"`. */
  readonly database: string;
  /**
   * The silver tables a model may `ref` (the contracts' dataset names).
   * @default [] - models may only ref each other
   */
  readonly silverTables?: readonly string[];
  /**
   * The silver tables partitioned by day (`dt` = a UTC day), which an incremental model may align its date
   * with (`from`).
   * @default silverTables - every silver table
   */
  readonly dayPartitionedTables?: readonly string[];
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
export const MODEL_REF = /\{\{\s*ref\(\s*(['"])([^'"]*)\1\s*\)\s*\}\}/g;
/** A header line: `-- key: value`. */
const HEADER_KEY = /^--\s*([A-Za-z_][\w-]*)\s*:(.*)$/;
/** `sales_date lookback 2 days` or `sales_date lookback 1 day from orders, orders_history`. */
const INCREMENTAL = /^([a-z][a-z0-9_]*)\s+lookback\s+(\d{1,3})\s+days?(?:\s+from\s+(.+))?$/i;
const COLUMN_NAME = /^[a-z][a-z0-9_]{0,254}$/;

/**
 * Loads the gold models of a directory: one model per `<name>.sql` file (dbt-like), published as the gold
 * table `<name>`. A file is a header of `--` comment lines, then one SELECT (or WITH ... SELECT):
 *
 *   -- description: Daily sales by date, store and product category
 *   -- columns: sales_date date, store_id string, revenue decimal(18,2),
 *   -- columns: orders bigint          (the list may go on over several `columns:` lines, a trailing ',' is fine)
 *   -- test: unique(sales_date, store_id)   (any number of `test:` lines, see `model-tests.ts`)
 *   -- Any other comment line is free text (but must not look like `word:`, which is read as a key).
 *   SELECT ... FROM {{ ref('orders') }} JOIN {{ ref('daily_sales') }} ...
 *
 * `columns` (required) declares the gold table's schema in Athena DDL types, in the order the SELECT
 * returns them; `description` (optional) becomes the table's description. `{{ ref('x') }}` names another
 * model (which then runs first: `dependsOn`) or a silver table, and is rendered as `"<database>"."x"`.
 * The header is left out of the model's SQL. `test` declares a test checked before the model is published
 * (`unique`, `not_null`, `accepted_values`, `relationships` to a gold model or silver table, which then
 * counts as a ref, and `expression`).
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
  const dayPartitioned = new Set(options.dayPartitionedTables ?? options.silverTables ?? []);
  const render = (name: string) => `${sqlIdent(options.database)}.${sqlIdent(name)}`;
  const goldColumns = new Map(parsed.map((p) => [p.name, p.columns.map((c) => c.name)] as const));
  const sourcesOf = new Map<string, string[]>();
  const models = parsed.map((p): GoldModel => {
    const dependsOn = new Set<string>();
    const silverRefs = new Set<string>();
    const sql = p.body.replace(MODEL_REF, (_match, _quote, name: string, offset: number) => {
      const line = p.bodyLine + lineOf(p.body, offset);
      if (modelNames.has(name)) dependsOn.add(name);
      else if (silver.has(name)) {
        usedSilver.add(name);
        silverRefs.add(name);
      } else
        problems.push(
          `${p.file}:${line}: ref('${name}') is neither a gold model nor a silver table (known: ${known})`,
        );
      return render(name);
    });
    const leftover = /\{\{|\{%/.exec(sql);
    if (leftover) {
      const line = p.bodyLine + lineOf(p.body, p.body.indexOf(leftover[0]));
      problems.push(`${p.file}:${line}: only {{ ref('name') }} is supported between '{{' and '}}'`);
    }
    const tests = modelTests(p, { goldColumns, silver, problems });
    // A relationship's table is read like a ref: a gold model is published first, a silver table granted.
    const testDependencies = testedTables(tests).filter((t) => goldColumns.has(t));
    for (const t of testedTables(tests)) if (silver.has(t)) usedSilver.add(t);
    sourcesOf.set(p.name, [...new Set([...silverRefs, ...dependsOn])].sort());
    const model: GoldModel = {
      name: p.name,
      sql,
      dependsOn: [...new Set([...dependsOn, ...testDependencies])].sort(),
      source: { file: basename(p.file), sqlLine: p.bodyLine },
      ...(tests.length > 0 ? { tests } : {}),
      product: p.product,
    };
    if (!p.incremental) return model;
    const incremental = incrementalModel(p, p.incremental, {
      silverRefs: [...silverRefs].sort(),
      // The SQL's own gold refs: a test's table is read by the test only, after the model is written.
      dependsOn: [...dependsOn].sort(),
      dayPartitioned,
      render,
      problems,
    });
    return incremental ? { ...model, incremental } : model;
  });
  if (problems.length > 0) throw new GoldModelError(`invalid gold models:\n  - ${problems.join('\n  - ')}`);
  orderModels(models); // names, empty SQL, cycles: fail here, with the models named
  return {
    models,
    tables: parsed.map((p) => {
      const dateColumn = models.find((m) => m.name === p.name)?.incremental?.column;
      return {
        name: p.name,
        columns: p.columns.filter((c) => c.name !== dateColumn),
        ...(dateColumn === undefined
          ? {}
          : { partitionKeys: p.columns.filter((c) => c.name === dateColumn) }),
        ...(p.description === undefined ? {} : { description: p.description }),
        sources: sourcesOf.get(p.name) ?? [],
        product: p.product,
      };
    }),
    silverTables: [...usedSilver].sort(),
  };
}

interface ParsedModelFile {
  readonly file: string;
  readonly name: string;
  readonly description?: string;
  readonly columns: GoldColumn[];
  /** The `incremental:` header, as written (checked once the refs are known). */
  readonly incremental?: { readonly value: string; readonly line: number };
  /** The `test:` headers, as written (checked once every model's columns are known). */
  readonly tests: readonly { readonly value: string; readonly line: number }[];
  readonly product: GoldModelProduct;
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
  const { header, body, bodyLine } = splitModelFile(text);
  let description: string | undefined;
  let incremental: { value: string; line: number } | undefined;
  const tests: { value: string; line: number }[] = [];
  const columns: GoldColumn[] = [];
  const product: Partial<Record<string, { value: string; line: number }>> = {};
  for (const { key, value, line: at } of header) {
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
    } else if (key === 'incremental') {
      if (incremental !== undefined) fail(at, 'incremental is given twice');
      incremental = { value, line: at };
    } else if (key === 'test') {
      if (value === '') fail(at, "the test is empty (e.g. '-- test: not_null(id)')");
      tests.push({ value, line: at });
    } else if (PRODUCT_KEYS.includes(key)) {
      if (product[key] !== undefined) fail(at, `${key} is given twice`);
      product[key] = { value, line: at };
    } else {
      fail(
        at,
        `unknown header key '${key}' (expected description, columns, incremental, test, ${PRODUCT_KEYS.join(', ')})`,
      );
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
    ...(incremental ? { incremental } : {}),
    tests,
    product: modelProduct(product, fail),
    body,
    bodyLine,
  };
}

/** The header keys of a model as a data product. */
const PRODUCT_KEYS = ['domain', 'owner', 'version', 'sla', 'access'];

/** Reads the data-product header lines (`fail` names the line of a bad one). */
function modelProduct(
  lines: Partial<Record<string, { value: string; line: number }>>,
  fail: (line: number, message: string) => never,
): GoldModelProduct {
  const { domain, owner, version, sla, access } = lines;
  if (domain && !/^[a-z][a-z0-9_]{0,62}$/.test(domain.value)) {
    fail(domain.line, "domain must be lower-case letters, digits and '_', starting with a letter");
  }
  if (owner && owner.value === '')
    fail(owner.line, 'the owner is empty: how to reach them (an e-mail address)');
  if (version && !SEMVER.test(version.value))
    fail(version.line, "version must be MAJOR.MINOR.PATCH, e.g. '1.2.0'");
  let objectives: GoldModelProduct['sla'];
  if (sla) {
    const parts = Object.fromEntries(
      sla.value.split(',').map((part) => {
        const m = /^\s*(freshness|window)\s+(.+?)\s*$/.exec(part);
        if (!m)
          fail(sla.line, `cannot read '${part.trim()}': write 'freshness 2 hours' (and ', window 30 days')`);
        const minutes = durationMinutes((m as RegExpExecArray)[2]);
        if (minutes === undefined)
          fail(sla.line, `'${(m as RegExpExecArray)[2]}' is no duration ('2 hours', '30 days')`);
        return [(m as RegExpExecArray)[1], minutes as number];
      }),
    );
    objectives = {
      ...(parts.freshness ? { freshness: parts.freshness } : {}),
      window: parts.window ?? 30 * 1440,
    };
  }
  const readers = access
    ? access.value
        .split(',')
        .map((d) => d.trim())
        .filter((d) => d !== '')
    : [];
  for (const d of readers) {
    if (!/^[a-z][a-z0-9_]{0,62}$/.test(d))
      fail((access as { line: number }).line, `'${d}' is no domain name`);
  }
  return {
    ...(domain ? { domain: domain.value } : {}),
    ...(owner ? { owner: { contact: owner.value } } : {}),
    version: version?.value ?? '1.0.0',
    ...(objectives ? { sla: objectives } : {}),
    readers,
  };
}

/** One `-- key: value` line of a model file's header (the value trimmed; `line` 1-based). */
export interface ModelHeaderLine {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

/**
 * A model file split into its header, the `--` lines before its first line of SQL (the `key: value` ones;
 * the others are free text), and its SQL (`body`, starting on the file's line `bodyLine`).
 */
export function splitModelFile(text: string): {
  header: ModelHeaderLine[];
  body: string;
  bodyLine: number;
} {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header: ModelHeaderLine[] = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    if (!line.startsWith('--')) break;
    const m = HEADER_KEY.exec(line);
    if (m) header.push({ key: m[1], value: m[2].trim(), line: i + 1 });
  }
  return { header, body: lines.slice(i).join('\n').trim(), bodyLine: i + 1 };
}

/** The tests a model's header declares; problems are added to `problems` (naming the file and line). */
function modelTests(
  p: ParsedModelFile,
  known: {
    goldColumns: ReadonlyMap<string, readonly string[]>;
    silver: ReadonlySet<string>;
    problems: string[];
  },
): ModelTest[] {
  const others = new Map([...known.goldColumns].filter(([name]) => name !== p.name));
  const context = { model: p.name, columns: p.columns, goldModels: others, silverTables: known.silver };
  const tests: ModelTest[] = [];
  for (const { value, line } of p.tests) {
    try {
      tests.push(...parseModelTest(value, line, context));
    } catch (e) {
      if (!(e instanceof GoldModelError)) throw e;
      known.problems.push(`${p.file}:${line}: test: ${e.message}`);
    }
  }
  const labels = tests.map((t) => t.label);
  const twice = tests.find((t, i) => labels.indexOf(t.label) !== i);
  if (twice) known.problems.push(`${p.file}:${twice.line}: test ${twice.label} is declared twice`);
  return tests;
}

/**
 * The incremental declaration of a model, checked against its columns and refs; problems are added to
 * `problems` (naming the file and line) and undefined returned.
 */
function incrementalModel(
  p: ParsedModelFile,
  header: { readonly value: string; readonly line: number },
  refs: {
    silverRefs: readonly string[];
    dependsOn: readonly string[];
    dayPartitioned: ReadonlySet<string>;
    render: (table: string) => string;
    problems: string[];
  },
): IncrementalModel | undefined {
  const where = `${p.file}:${header.line}`;
  const before = refs.problems.length;
  const m = INCREMENTAL.exec(header.value);
  if (!m) {
    refs.problems.push(
      `${where}: incremental must read '<date column> lookback <N> days [from <table>, ...]', got '${header.value}'`,
    );
    return undefined;
  }
  const [, column, days, from] = m;
  const declared = p.columns.find((c) => c.name === column);
  if (!declared) refs.problems.push(`${where}: incremental column '${column}' is not among the columns`);
  else if (declared.type !== 'date') {
    refs.problems.push(`${where}: incremental column '${column}' must have type date, not ${declared.type}`);
  }
  if (refs.dependsOn.length > 0) {
    refs.problems.push(
      `${where}: an incremental model reads silver tables only; it refs the gold model(s) ${refs.dependsOn.join(', ')} (make it a full model)`,
    );
  }
  let aligned: string[];
  if (from !== undefined) {
    aligned = [...new Set(from.split(',').map((t) => t.trim()))].sort();
    for (const t of aligned) {
      if (!refs.silverRefs.includes(t)) {
        refs.problems.push(
          `${where}: incremental from '${t}': the model refs no such silver table (it refs: ${refs.silverRefs.join(', ') || 'none'})`,
        );
      }
    }
  } else if (refs.silverRefs.length === 1) {
    aligned = [...refs.silverRefs];
  } else {
    refs.problems.push(
      `${where}: the model refs ${refs.silverRefs.length} silver tables: say which ones its date follows, e.g. 'incremental: ${column} lookback ${days} days from ${refs.silverRefs[0] ?? '<table>'}'`,
    );
    aligned = [];
  }
  for (const t of aligned) {
    if (refs.silverRefs.includes(t) && !refs.dayPartitioned.has(t)) {
      refs.problems.push(`${where}: incremental from '${t}': that table is not partitioned by day (dt)`);
    }
  }
  if (refs.problems.length > before) return undefined;
  const alignedSet = new Set(aligned);
  const windowSql = p.body.replace(MODEL_REF, (_match, _quote, name: string) =>
    alignedSet.has(name)
      ? `(SELECT * FROM ${refs.render(name)} WHERE ${sqlIdent(PARTITION_KEY)} IN (${WINDOW_MARKER}))`
      : refs.render(name),
  );
  return {
    column,
    lookbackDays: Number(days),
    alignedTables: aligned,
    otherTables: refs.silverRefs.filter((t) => !alignedSet.has(t)),
    windowSql,
    outputColumns: [...p.columns.filter((c) => c.name !== column).map((c) => c.name), column],
    columns: p.columns.filter((c) => c.name !== column).map((c) => ({ Name: c.name, Type: c.type })),
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
  /** The columns, without the partition keys. */
  readonly columns: GoldColumn[];
  /**
   * The partition keys (an incremental model's date column): the table's data is registered partition
   * by partition, each at its own location.
   * @default - unpartitioned: the table's location is its data
   */
  readonly partitionKeys?: GoldColumn[];
  readonly description?: string;
  /** The tables the model's SQL reads (its refs: silver tables and gold models), sorted: its lineage. */
  readonly sources?: readonly string[];
  /** The model as a data product (owner, version, domain). */
  readonly product?: GoldModelProduct;
}
