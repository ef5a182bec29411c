/**
 * The qualified names (`schema.table`, `"schema"."table"`) a PostgreSQL/Redshift statement holds outside
 * its string literals (`'...'`, `E'...'`, `$tag$...$tag$`) and comments (`-- ...`, nested `/* ... *\/`),
 * for the Spectrum loader to know which external tables a statement reads. Unquoted names fold to lower
 * case, quoted ones are kept as written (PostgreSQL's rule; see the "Not emulated" list of
 * `redshift-data-api.ts` for Redshift's).
 *
 * A chain `a.b.c` yields both `a.b` and `b.c` (a `database.schema.table` or a `schema.table.column`):
 * a pair that is no external table costs nothing, since only the catalog's tables are loaded.
 */

/** A `<schema>.<table>` pair, as the statement spells it once unquoted. */
export interface QualifiedName {
  readonly schema: string;
  readonly table: string;
}

type Token = { kind: 'name'; value: string } | { kind: 'dot' } | { kind: 'other' };

const NAME_START = /[A-Za-z_\u0080-\uffff]/;
const NAME_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

/** The distinct qualified names of `sql`, in order of first appearance. */
export function qualifiedNames(sql: string): QualifiedName[] {
  const tokens = tokenize(sql);
  const found = new Map<string, QualifiedName>();
  for (let i = 0; i + 2 < tokens.length; i++) {
    const [a, dot, b] = [tokens[i], tokens[i + 1], tokens[i + 2]];
    if (a.kind === 'name' && dot.kind === 'dot' && b.kind === 'name') {
      found.set(JSON.stringify([a.value, b.value]), { schema: a.value, table: b.value });
    }
  }
  return [...found.values()];
}

/** Names, dots and everything else; literals and comments are skipped whole. */
function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i];
    const next = sql[i + 1];
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (ch === '/' && next === '*') {
      i = blockCommentEnd(sql, i);
    } else if (ch === "'") {
      i = stringEnd(sql, i, false);
      tokens.push({ kind: 'other' });
    } else if ((ch === 'E' || ch === 'e') && next === "'") {
      i = stringEnd(sql, i + 1, true);
      tokens.push({ kind: 'other' });
    } else if (ch === '$' && dollarTag(sql, i) !== undefined) {
      const tag = dollarTag(sql, i) as string;
      const end = sql.indexOf(tag, i + tag.length);
      i = end < 0 ? sql.length : end + tag.length;
      tokens.push({ kind: 'other' });
    } else if (ch === '"') {
      let value = '';
      i++;
      while (i < sql.length) {
        if (sql[i] === '"' && sql[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (sql[i] === '"') {
          i++;
          break;
        } else value += sql[i++];
      }
      tokens.push({ kind: 'name', value });
    } else if (NAME_START.test(ch)) {
      const start = i;
      while (i < sql.length && NAME_PART.test(sql[i])) i++;
      tokens.push({ kind: 'name', value: sql.slice(start, i).toLowerCase() });
    } else if (/[0-9]/.test(ch)) {
      // A number, its decimal point and exponent included (`1.5` holds no dot between names).
      while (i < sql.length && /[0-9.eE]/.test(sql[i])) i++;
      tokens.push({ kind: 'other' });
    } else if (ch === '.') {
      tokens.push({ kind: 'dot' });
      i++;
    } else {
      tokens.push({ kind: 'other' });
      i++;
    }
  }
  return tokens;
}

/** The index after the string literal opening at `start` (`E'...'` strings take backslash escapes). */
function stringEnd(sql: string, start: number, backslashes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    if (backslashes && sql[i] === '\\') i += 2;
    else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
    else if (sql[i] === "'") return i + 1;
    else i++;
  }
  return sql.length;
}

/** The index after the (nested) block comment opening at `start`. */
function blockCommentEnd(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return sql.length;
}

/** The `$tag$` opening a dollar-quoted string at `start`; undefined for a parameter (`$1`) or a lone `$`. */
function dollarTag(sql: string, start: number): string | undefined {
  const m = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(start, start + 64));
  return m?.[0];
}
