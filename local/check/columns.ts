/**
 * `medallion check`, each model's header against what its SELECT really yields, asked of the engine: in an
 * in-memory DuckDB, every silver table is an empty table with the catalog's columns and types as the
 * local Athena casts them (`catalog-views.ts`: the Athena type, then `duckDbType`), in the schema
 * `"<database>"` the refs render to; each model is `DESCRIBE`d as the local Athena runs it (time zone UTC,
 * the database current), in dependency order, and then becomes an empty table of its declared columns, so
 * a model reading it is described against its header, as the catalog will declare it.
 *
 * Athena types are compared with DuckDB's (string~VARCHAR, int~INTEGER, bigint~BIGINT, decimal(p,s)~
 * DECIMAL(p,s), timestamp~TIMESTAMP, array<string>~VARCHAR[]...). One DuckDB difference is accepted: a
 * `sum` of integers is a HUGEINT there and a bigint in Trino. Others are not, on purpose: `decimal /
 * bigint` and `avg(decimal)` are a DOUBLE in DuckDB and a DECIMAL in Trino, so a model that declares a
 * decimal there must CAST, which makes both engines agree.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { GOLD_MODEL_NAME, orderModels } from '../../core/gold/graph';
import type { GoldModel } from '../../core/gold/models';
import { PARTITION_KEY } from '../../core/lake/layout';
import {
  arrivalsTableName,
  currentStateColumns,
  currentTableName,
  deletedKeysColumns,
  deletedTableName,
  historyTableName,
} from '../../core/silver/tables';
import { sqlIdent } from '../../core/sql/quote';
import { silverSchema } from '../../core/sql/silver-schema';
import { athenaTypeOf, duckDbType, splitTopLevel } from '../../core/sql/types';
import type { CheckedModel, ModelToDescribe } from './models';
import { type CheckProblem, didYouMean, engineMessage } from './report';

/** Creates the silver tables of `contracts`, empty, in the schema `"<database>"` (see the module comment). */
export async function createSilverTables(
  duckdb: DuckDBConnection,
  database: string,
  contracts: readonly DatasetContract[],
): Promise<void> {
  await duckdb.run("SET TimeZone = 'UTC'");
  await duckdb.run(`CREATE SCHEMA IF NOT EXISTS ${sqlIdent(database)}`);
  for (const c of contracts) {
    const athena = (cols: readonly { name: string; type: string }[]) =>
      cols.map((col) => ({ name: col.name, type: athenaTypeOf(col.type) }));
    const tables: [string, { name: string; type: string }[]][] = [
      [currentTableName(c.dataset), athena(currentStateColumns(c))],
      [historyTableName(c.dataset), athena(currentStateColumns(c))],
      [arrivalsTableName(c.dataset), [...athena(silverSchema(c)), { name: PARTITION_KEY, type: 'string' }]],
    ];
    if (c.deletes) tables.push([deletedTableName(c.dataset), athena(deletedKeysColumns(c))]);
    for (const [table, columns] of tables) await createTable(duckdb, database, table, columns);
  }
  await duckdb.run(`USE ${sqlIdent(database)}`);
}

/**
 * Describes every model (dependencies first) and compares each with its header: a problem per column
 * that differs, or the engine's error. A model whose dependency has no table (its header unreadable, its
 * SELECT failing) is skipped.
 */
export async function describeModels(
  duckdb: DuckDBConnection,
  database: string,
  models: readonly CheckedModel[],
): Promise<CheckProblem[]> {
  let waves: GoldModel[][];
  try {
    // Only the models the loader can name, and their dependencies among them: the rest is reported.
    const named = models.filter((m) => GOLD_MODEL_NAME.test(m.name));
    const names = new Set(named.map((m) => m.name));
    waves = orderModels(
      named.map((m) => ({ name: m.name, sql: m.sql, dependsOn: m.dependsOn.filter((d) => names.has(d)) })),
    );
  } catch {
    return []; // a cycle: the model loader's problem, reported with the models named
  }
  const byName = new Map(models.map((m) => [m.name, m]));
  const described = new Set<string>();
  const problems: CheckProblem[] = [];
  for (const model of waves.flat().map((m) => byName.get(m.name) as CheckedModel)) {
    if (model.dependsOn.some((d) => !described.has(d))) continue;
    if (!model.describe) {
      // Reported already; its readers are still described against its header.
      await createTable(duckdb, database, model.name, model.tableColumns);
      described.add(model.name);
      continue;
    }
    let yielded: { name: string; type: string }[];
    try {
      const reader = await duckdb.runAndReadAll(`DESCRIBE ${model.sql}`);
      yielded = reader
        .getRowObjectsJson()
        .map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
    } catch (e) {
      problems.push(engineProblem(model, engineMessage(e)));
      continue;
    }
    problems.push(...compareColumns(model, yielded));
    await createTable(duckdb, database, model.name, model.tableColumns);
    described.add(model.name);
  }
  return problems;
}

async function createTable(
  duckdb: DuckDBConnection,
  database: string,
  table: string,
  columns: readonly { name: string; type: string }[],
): Promise<void> {
  const list = columns.map((c) => `${sqlIdent(c.name)} ${duckDbTypeOf(c.type)}`).join(', ');
  await duckdb.run(`CREATE OR REPLACE TABLE ${sqlIdent(database)}.${sqlIdent(table)} (${list})`);
}

/** The header's columns against the SELECT's: names, order and types. */
export function compareColumns(
  model: ModelToDescribe,
  yielded: readonly { name: string; type: string }[],
): CheckProblem[] {
  const problems: CheckProblem[] = [];
  const declared = model.columns;
  const lastLine = Math.max(...declared.map((c) => c.line));
  const problem = (line: number, message: string, fix: string) =>
    problems.push({ file: model.file, line, message: `${model.name}: ${message}`, fix });
  const yieldedNames = yielded.map((c) => c.name);
  const declaredNames = declared.map((c) => c.name);
  const undeclared = yieldedNames.filter((n) => !declaredNames.includes(n));
  for (const column of declared) {
    const found = yielded.find((c) => c.name === column.name);
    if (!found) {
      const near = didYouMean(column.name, undeclared);
      problem(
        column.line,
        `column '${column.name}' is declared, but the SELECT yields no such column (it yields: ${yieldedNames.join(', ')})`,
        near
          ? `the SELECT names it '${near}': write '... AS ${column.name}', or declare '${near}'`
          : `add '<expression> AS ${column.name}' to the SELECT, or remove it from '-- columns:'`,
      );
    } else if (!sameType(column.type, found.type)) {
      problem(
        column.line,
        `column '${column.name}' is declared ${column.type}, but its SELECT yields ${athenaName(found.type)} (DuckDB: ${found.type})`,
        `CAST(<expression> AS ${column.type}) AS ${column.name} in the SELECT, or declare '${column.name} ${athenaName(found.type)}'`,
      );
    }
  }
  for (const name of undeclared) {
    if (
      didYouMean(
        name,
        declaredNames.filter((n) => !yieldedNames.includes(n)),
      ) !== undefined
    )
      continue;
    problem(
      lastLine,
      `the SELECT yields column '${name}', which the header does not declare`,
      `declare it ('-- columns: ..., ${name} ${athenaName(yielded.find((c) => c.name === name)?.type ?? '')}') or leave it out of the SELECT`,
    );
  }
  const common = declaredNames.filter((n) => yieldedNames.includes(n));
  const inSelect = yieldedNames.filter((n) => declaredNames.includes(n));
  if (common.join() !== inSelect.join()) {
    problem(
      declared[0].line,
      `the SELECT yields the columns in another order (${inSelect.join(', ')}) than the header declares (${common.join(', ')})`,
      'list them in the same order in the SELECT and in the header: Athena writes them by position',
    );
  }
  return problems;
}

/** The engine could not describe the model: its error, at the model's line, with its caret as detail. */
function engineProblem(model: ModelToDescribe, error: string): CheckProblem {
  const [first, ...rest] = error.split('\n');
  const at = /^LINE (\d+):/m.exec(error);
  const line = at ? model.sqlLine + Number(at[1]) - 1 : model.sqlLine;
  const candidates = /Candidate bindings: "([^"]+)"/.exec(error)?.[1];
  const didYou = /Did you mean "([^"]+)"/.exec(error)?.[1];
  const missingTable = /Table with name (\S+) does not exist/.exec(first)?.[1];
  let fix = 'correct the SQL where the caret below points';
  if (candidates) fix = `did you mean "${candidates}"?`;
  else if (missingTable) fix = `read tables through refs: {{ ref('${missingTable}') }}`;
  else if (didYou) {
    fix = /Function/.test(first)
      ? `DuckDB suggests "${didYou}"; a model must run on Athena and on DuckDB (README 'Gold SQL: the dialect subset')`
      : `did you mean "${didYou}"?`;
  }
  const caret = rest.slice(rest.findIndex((l) => l.startsWith('LINE '))).filter((l) => l.trim() !== '');
  return {
    file: model.file,
    line,
    message: `${model.name}: DuckDB (the local Athena) cannot describe the SELECT: ${first}`,
    fix,
    ...(at ? { detail: caret } : {}),
  };
}

/** An Athena type as DuckDB names it, complex types included (`array<string>` -> `VARCHAR[]`). */
export function duckDbTypeOf(athenaType: string): string {
  const t = athenaType.trim().toLowerCase();
  const complex = /^(array|map|struct)<(.*)>$/.exec(t.replace(/\s+/g, ''));
  if (!complex) return duckDbType(t);
  const parts = splitTopLevel(complex[2]) ?? [];
  if (complex[1] === 'array') return `${duckDbTypeOf(parts[0])}[]`;
  if (complex[1] === 'map') return `MAP(${duckDbTypeOf(parts[0])}, ${duckDbTypeOf(parts[1])})`;
  return `STRUCT(${parts
    .map((p) => {
      const colon = p.indexOf(':');
      return `${p.slice(0, colon)} ${duckDbTypeOf(p.slice(colon + 1))}`;
    })
    .join(', ')})`;
}

/** Whether a declared Athena type matches the type DuckDB describes. */
function sameType(declared: string, described: string): boolean {
  const expected = normalize(duckDbTypeOf(declared));
  const actual = normalize(described);
  // DuckDB sums integers into a HUGEINT where Trino keeps a bigint.
  return expected === actual || (expected === 'BIGINT' && actual === 'HUGEINT');
}

const normalize = (type: string) => type.toUpperCase().replace(/\s+|"/g, '');

/** A DuckDB type in Athena's words, for messages (`DECIMAL(38,2)` -> `decimal(38,2)`). */
function athenaName(duckType: string): string {
  const t = duckType.trim();
  if (t.endsWith('[]')) return `array<${athenaName(t.slice(0, -2))}>`;
  const scalar: Record<string, string> = {
    VARCHAR: 'string',
    INTEGER: 'int',
    BIGINT: 'bigint',
    HUGEINT: 'bigint',
    SMALLINT: 'smallint',
    TINYINT: 'tinyint',
    DOUBLE: 'double',
    FLOAT: 'float',
    BOOLEAN: 'boolean',
    DATE: 'date',
    TIMESTAMP: 'timestamp',
    'TIMESTAMP WITH TIME ZONE': 'timestamp with time zone',
    BLOB: 'binary',
  };
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
  if (decimal) return `decimal(${decimal[1]},${decimal[2]})`;
  return scalar[t] ?? t.toLowerCase();
}
