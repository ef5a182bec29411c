import { AthenaSqlError } from '../errors';

/** DuckDB syntax Athena (Trino) does not accept: refused in model SQL before it runs. */
export const DUCKDB_ONLY_SYNTAX: readonly { pattern: RegExp; what: string; instead: string }[] = [
  { pattern: /::/, what: "'::' casts", instead: 'CAST(x AS type)' },
  { pattern: /\bQUALIFY\b/i, what: 'QUALIFY', instead: 'a subquery filtering on the window function' },
  { pattern: /\*\s*(EXCLUDE|REPLACE)\s*\(/i, what: 'SELECT * EXCLUDE/REPLACE', instead: 'list the columns' },
  { pattern: /\bCOLUMNS\s*\(/i, what: 'COLUMNS(...) star expressions', instead: 'list the columns' },
  {
    pattern: /\b(GROUP|ORDER)\s+BY\s+ALL\b/i,
    what: 'GROUP BY ALL / ORDER BY ALL',
    instead: 'list the columns',
  },
  { pattern: /\bI?LIKE\s+ANY\b|\bILIKE\b/i, what: 'ILIKE', instead: 'lower(x) LIKE ...' },
  { pattern: /\b(UN)?PIVOT\b/i, what: 'PIVOT/UNPIVOT', instead: 'CASE expressions / UNNEST' },
  {
    pattern: /\b(ASOF|POSITIONAL|ANTI|SEMI)\s+JOIN\b/i,
    what: 'ASOF/POSITIONAL/ANTI/SEMI JOIN',
    instead: 'a JOIN or [NOT] EXISTS',
  },
  { pattern: /\bUSING\s+SAMPLE\b/i, what: 'USING SAMPLE', instead: 'TABLESAMPLE' },
  { pattern: /\/\//, what: "'//' integer division", instead: 'CAST(a / b AS bigint) or floor(a / b)' },
  { pattern: /^\s*FROM\b/i, what: 'FROM-first queries', instead: 'SELECT ... FROM ...' },
  { pattern: /\bFROM\s+'/i, what: "reading files ('FROM 'file.parquet')", instead: 'a catalog table' },
  {
    pattern:
      /\b(strftime|strptime|epoch_ms|epoch_us|make_date|make_timestamp|list_value|list_aggr?|list_transform|list_filter|struct_pack|string_agg|regexp_full_match|read_parquet|parquet_scan|read_csv(_auto)?|read_json(_auto)?|glob|range|generate_series|ifnull|datediff|datepart|time_bucket|printf|list_contains|array_length|len|arg_max|arg_min|median|mode|quantile_cont|quantile_disc|hash|md5_number|today)\s*\(/i,
    what: 'DuckDB-only functions',
    instead:
      "Trino's (date_format, date_parse, from_unixtime, array_agg, listagg, max_by, approx_percentile, sequence, coalesce, date_diff, cardinality, length...)",
  },
];
/**
 * Throws an {@link AthenaSqlError} naming each DuckDB-only construct of `sql` (with its line) and what to
 * write instead. `label` names the query in the message (e.g. the model); `firstLine` is the line of the
 * statement `sql` starts on (an engine counts lines from its statement: UNLOAD's SELECT starts on line 2).
 */
export function checkAthenaSql(sql: string, label = 'query', firstLine = 1): void {
  const code = codeOnly(sql);
  const lines = code.split('\n');
  const problems: string[] = [];
  for (const rule of DUCKDB_ONLY_SYNTAX) {
    // A rule anchored at the start applies to the whole statement, the others line by line.
    const candidates = rule.pattern.source.startsWith('^') ? [code.trimStart()] : lines;
    const at = candidates.findIndex((line) => rule.pattern.test(line));
    if (at < 0) continue;
    const match = (rule.pattern.exec(candidates[at]) as RegExpExecArray)[0].trim();
    problems.push(`${rule.what} (line ${at + firstLine}: '${match}'): use ${rule.instead}`);
  }
  if (problems.length > 0) {
    throw new AthenaSqlError(
      `${label}: DuckDB-only syntax, Athena would refuse it:\n  - ${problems.join('\n  - ')}`,
    );
  }
}
/** `sql` with string literals, quoted identifiers and comments blanked out (same length, newlines kept). */
function codeOnly(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\//g, (m) =>
    m.startsWith("'") ? `''${' '.repeat(Math.max(0, m.length - 2))}` : m.replace(/[^\n]/g, ' '),
  );
}
