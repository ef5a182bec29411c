/**
 * Athena's UNLOAD of a gold model: built here for the state machine (CDK) and parsed here by the local
 * Athena, so the statement the workflow sends and the one the emulator reads cannot drift apart.
 */
import { AthenaSqlError } from '../errors';

/** The parts of `UNLOAD (<select>) TO '<s3 uri>' WITH (<options>)`. */
export interface UnloadStatement {
  readonly select: string;
  readonly location: string;
  readonly format: string;
  readonly compression: string | undefined;
}

/**
 * A model's UNLOAD statement, split around the version location: `before + location + after`. The SQL
 * goes on lines of its own, so a trailing `-- comment` cannot swallow the closing parenthesis; a trailing
 * ';' is dropped (UNLOAD wraps a single SELECT).
 */
export function unloadStatement(sql: string): { before: string; after: string } {
  const select = sql
    .trim()
    .replace(/;+\s*$/, '')
    .trim();
  return {
    before: `UNLOAD (\n${select}\n) TO '`,
    after: "' WITH (format = 'PARQUET', compression = 'ZSTD')",
  };
}
/** Parses an UNLOAD statement; undefined when `statement` is not one. */
export function parseUnload(statement: string): UnloadStatement | undefined {
  const m = /^\s*UNLOAD\s*\(([\s\S]*)\)\s*TO\s*'([^']*)'\s*WITH\s*\(([\s\S]*)\)\s*;?\s*$/i.exec(statement);
  if (!m) return undefined;
  const options: Record<string, string> = {};
  for (const part of m[3].split(',')) {
    const o = /^\s*(\w+)\s*=\s*'([^']*)'\s*$/.exec(part);
    if (!o) throw new AthenaSqlError(`UNLOAD: cannot read the option '${part.trim()}'`);
    options[o[1].toLowerCase()] = o[2];
  }
  return {
    select: m[1].trim(),
    location: m[2],
    format: (options.format ?? 'TEXTFILE').toUpperCase(),
    compression: options.compression?.toUpperCase(),
  };
}
