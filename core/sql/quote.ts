/** SQL literals and identifiers, quoted the one way Athena/Trino and DuckDB both read, and SQL lists split. */
/** Text made safe inside an SQL string literal already opened (its quotes doubled). */
export const sqlStringBody = (s: string): string => s.replace(/'/g, "''");

export const sqlString = (s: string): string => `'${sqlStringBody(s)}'`;

/** A double-quoted SQL identifier (Athena/Trino and DuckDB alike). */
export const sqlIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Splits `a, 'x, y', f(b, c)` at its top-level commas (quotes and brackets kept whole); undefined when
 * the brackets or quotes do not balance.
 */
export function splitSqlList(text: string): string[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === "'" && text[i + 1] === "'") i++;
      else if (ch === "'") quoted = false;
      continue;
    }
    if (ch === "'") quoted = true;
    else if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(text.slice(from, i).trim());
      from = i + 1;
    }
    if (depth < 0) return undefined;
  }
  if (depth !== 0 || quoted) return undefined;
  parts.push(text.slice(from).trim());
  return parts.length === 1 && parts[0] === '' ? [] : parts;
}
