/**
 * Athena's UNLOAD of a gold model: built here for the state machine (CDK) and parsed here by the local
 * Athena, so the statement the workflow sends and the one the emulator reads cannot drift apart.
 */
import { AthenaSqlError } from '../errors';
import { splitSqlList, sqlString, sqlStringBody } from '../sql/quote';

/** The parts of `UNLOAD (<select>) TO '<s3 uri>' WITH (<options>)`. */
export interface UnloadStatement {
  readonly select: string;
  readonly location: string;
  readonly format: string;
  readonly compression: string | undefined;
  /** The `partitioned_by = ARRAY[...]` columns, in order; empty when the option is absent. */
  readonly partitionedBy: string[];
}

/** The SQL of a model as UNLOAD wraps it: trimmed, a trailing ';' dropped (UNLOAD wraps a single SELECT). */
function unloadedSelect(sql: string): string {
  return sql
    .trim()
    .replace(/;+\s*$/, '')
    .trim();
}

/**
 * A model's UNLOAD statement, split around the version location: `before + location + after`. The SQL
 * goes on lines of its own, so a trailing `-- comment` cannot swallow the closing parenthesis; a trailing
 * ';' is dropped (UNLOAD wraps a single SELECT).
 */
export function unloadStatement(sql: string): { before: string; after: string } {
  return {
    before: `UNLOAD (\n${unloadedSelect(sql)}\n) TO '`,
    after: "' WITH (format = 'PARQUET', compression = 'ZSTD')",
  };
}

/**
 * The UNLOAD of an incremental model, written as one Hive partition directory per value of
 * `partitionColumns` (`<location><column>=<value>/`): like {@link unloadStatement} with the option
 * `partitioned_by = ARRAY['<column>', ...]`. Athena wants the partition columns last in the SELECT, in
 * this order. `location` is an s3:// URI ending with '/'.
 */
export function partitionedUnloadStatement(
  select: string,
  location: string,
  partitionColumns: readonly string[],
): string {
  if (partitionColumns.length === 0) {
    throw new Error('partitionedUnloadStatement: no partition column (use unloadStatement)');
  }
  const columns = partitionColumns.map(sqlString).join(', ');
  return (
    `UNLOAD (\n${unloadedSelect(select)}\n) TO '${sqlStringBody(location)}' ` +
    `WITH (format = 'PARQUET', compression = 'ZSTD', partitioned_by = ARRAY[${columns}])`
  );
}

/** A quoted string literal, its quotes doubled inside. */
const STRING = `'(?:[^']|'')*'`;
const unquote = (literal: string): string => literal.slice(1, -1).replace(/''/g, "'");

/** Parses an UNLOAD statement; undefined when `statement` is not one. */
export function parseUnload(statement: string): UnloadStatement | undefined {
  const m = new RegExp(
    `^\\s*UNLOAD\\s*\\(([\\s\\S]*)\\)\\s*TO\\s*(${STRING})\\s*WITH\\s*\\(([\\s\\S]*)\\)\\s*;?\\s*$`,
    'i',
  ).exec(statement);
  if (!m) return undefined;
  const options: Record<string, string> = {};
  let partitionedBy: string[] = [];
  // The options, split at the commas outside string literals and brackets.
  const parts = splitSqlList(m[3]);
  if (parts === undefined)
    throw new AthenaSqlError(`UNLOAD: unbalanced quotes or brackets in WITH (${m[3]})`);
  for (const part of parts) {
    const text = /^\s*(\w+)\s*=\s*(\S[\s\S]*?)\s*$/.exec(part);
    const name = text?.[1].toLowerCase();
    const value = text?.[2] ?? '';
    if (name !== undefined && name !== 'partitioned_by' && new RegExp(`^${STRING}$`).test(value)) {
      options[name] = unquote(value);
      continue;
    }
    const array = new RegExp(`^ARRAY\\s*\\[\\s*(${STRING}(?:\\s*,\\s*${STRING})*)\\s*\\]$`, 'i').exec(value);
    if (name === 'partitioned_by' && array) {
      partitionedBy = (array[1].match(new RegExp(STRING, 'g')) ?? []).map(unquote);
      continue;
    }
    throw new AthenaSqlError(`UNLOAD: cannot read the option '${part.trim()}'`);
  }
  return {
    select: m[1].trim(),
    location: unquote(m[2]),
    format: (options.format ?? 'TEXTFILE').toUpperCase(),
    compression: options.compression?.toUpperCase(),
    partitionedBy,
  };
}
