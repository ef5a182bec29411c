/**
 * Partition pruning, emulated for `DataScannedInBytes`: the gold planner renders a date-filtered source as
 * `(SELECT * FROM "<db>"."<table>" WHERE "<partition column>" IN ('<value>', ...))`, and the current-state
 * merge reads its batch as `FROM "<table>" WHERE "dt" IN (...) AND "_bronze_key" IN (...)`. When EVERY
 * occurrence of a table in a statement is in that form (`"<db>"."<table>"`, or `"<table>"` in the
 * statement's database, then `WHERE "<column>" IN (<string literals, or DATE literals>)`, the column a
 * partition column of the table, followed by the end of the clause or by further `AND` conditions with no
 * `OR` at the clause's level), the table's view only needs the files of the listed partition values (the
 * union over the occurrences); Athena reads no more. Any other occurrence (an unquoted name, a name of
 * another database, another predicate first, an `OR` after the list, the name as a column or alias) turns
 * pruning off for the table: every file is read, as before. Names match case-insensitively, as Athena's do.
 */

/** The partition values a statement reads from a table, by partition column (the catalog's name). */
export interface PartitionPruning {
  readonly predicates: readonly { readonly column: string; readonly values: ReadonlySet<string> }[];
}

/** String literals and comments, blanked (same length) so positions in the text stay those of the SQL. */
const LITERALS_AND_COMMENTS = /'(?:[^']|'')*'|--[^\n]*|\/\*[\s\S]*?\*\//g;
const LITERAL = `(?:DATE\\s+)?'(?:[^']|'')*'`;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const quotedName = (name: string) => `"${escapeRegExp(name.replace(/"/g, '""'))}"`;

/**
 * Where `sql` (literals and comments blanked: see {@link blankLiterals}) refers to the table: each
 * occurrence of its name that is qualified by a database (`"db"."t"`, `db.t`) or, unqualified, follows a
 * keyword that introduces a table (FROM, JOIN, INTO, USING, TABLE, OPTIMIZE, VACUUM) or, unless `commas`
 * is false, a comma (a FROM list; a view too many only costs its files). The name
 * as a column or an alias (`SUM(orders)`, `AS orders`) is no reference. Positions of the name.
 */
export function tableReferences(code: string, table: string, options: { commas?: boolean } = {}): number[] {
  const occurrence = new RegExp(`(^|[^a-z0-9_])("?)${escapeRegExp(table)}\\2(?=[^a-z0-9_"]|$)`, 'gi');
  const introduced =
    options.commas === false
      ? /\b(?:FROM|JOIN|INTO|USING|TABLE|OPTIMIZE|VACUUM)\s*$/i
      : /(?:\b(?:FROM|JOIN|INTO|USING|TABLE|OPTIMIZE|VACUUM)|,)\s*$/i;
  const qualified = /(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_]*)\s*\.\s*$/i;
  const found: number[] = [];
  for (let m = occurrence.exec(code); m; m = occurrence.exec(code)) {
    const start = m.index + m[1].length; // the name, or its opening quote
    const before = code.slice(Math.max(0, start - 200), start);
    if (qualified.test(before) || introduced.test(before)) found.push(start + m[2].length);
  }
  return found;
}

/** `sql` with its string literals and comments blanked (same length, so positions stay those of the SQL). */
export function blankLiterals(sql: string): string {
  return sql.replace(LITERALS_AND_COMMENTS, (m) => ' '.repeat(m.length));
}

/**
 * The pruning of table `<database>.<table>` in `sql` (see the module comment); undefined when the table is
 * read whole (or not named at all). An unqualified quoted name counts as `<database>.<table>` when
 * `queryDatabase` (the statement's current database) is `database`.
 */
export function partitionPruning(
  sql: string,
  database: string,
  table: string,
  partitionColumns: readonly string[],
  queryDatabase?: string,
): PartitionPruning | undefined {
  if (partitionColumns.length === 0) return undefined;
  // Not lowercased: the positions of a match must be those in `sql` (the regular expressions ignore case).
  const code = blankLiterals(sql);
  const qualifier = new RegExp(`${quotedName(database)}\\s*\\.\\s*"$`, 'i');
  const unqualified = queryDatabase?.toLowerCase() === database.toLowerCase();
  const filtered = new RegExp(
    `${quotedName(table)}\\s+WHERE\\s+"((?:[^"]|"")+)"\\s+IN\\s*\\(\\s*(${LITERAL}(?:\\s*,\\s*${LITERAL})*)\\s*\\)`,
    'iy',
  );
  const predicates: { column: string; values: Set<string> }[] = [];
  // A name after a comma is a column of a select list far more often than a table of a FROM list (the
  // planner qualifies every table it filters): for pruning, only qualified or FROM/JOIN references count.
  for (const at of tableReferences(code, table, { commas: false })) {
    const before = code.slice(0, at);
    const qualified = qualifier.test(before);
    if (!qualified && !(unqualified && before.endsWith('"') && !/\.\s*"$/.test(before))) return undefined;
    filtered.lastIndex = at - 1; // the name's opening quote
    const f = filtered.exec(sql);
    if (!f || !restrictsRows(code, filtered.lastIndex)) return undefined;
    const column = partitionColumns.find((c) => c.toLowerCase() === f[1].replace(/""/g, '"').toLowerCase());
    if (column === undefined) return undefined;
    const values = (f[2].match(/'(?:[^']|'')*'/g) ?? []).map((v) => v.slice(1, -1).replace(/''/g, "'"));
    predicates.push({ column, values: new Set(values) });
  }
  return predicates.length > 0 ? { predicates } : undefined;
}

/**
 * Whether the IN list that ends at `from` still bounds the rows of its WHERE clause: what follows, up to
 * the end of the clause (a `)` closing it, `;`, the end, or a keyword that ends a WHERE), is nothing or
 * further `AND` conditions, with no `OR` at the clause's level (`a IN (...) AND b OR c` reads every row).
 */
function restrictsRows(code: string, from: number): boolean {
  const rest = code.slice(from);
  const first = /^\s*(\S)?/.exec(rest)?.[1];
  if (first === undefined || first === ')' || first === ';') return true;
  if (!/^\s*AND\b/i.test(rest)) return false;
  for (const { word } of topLevelWords(code, from)) {
    if (word === 'OR') return false;
    if (word === ')' || word === ';' || CLAUSE_ENDS.has(word)) return true;
  }
  return true;
}

/** Keywords that end a WHERE clause. */
const CLAUSE_ENDS = new Set(['GROUP', 'ORDER', 'LIMIT', 'HAVING', 'WINDOW', 'UNION', 'INTERSECT', 'EXCEPT']);

const WORD = /[A-Za-z_]+/y;

/**
 * The words (upper-cased) at parenthesis depth 0 of `code[from, end)` (literals blanked), and each `)` or
 * `;` met at depth 0 (where the enclosing clause ends), with their positions.
 */
function* topLevelWords(
  code: string,
  from: number,
  end = code.length,
): Generator<{ word: string; at: number }> {
  let depth = 0;
  for (let i = from; i < end; i++) {
    const ch = code[i];
    if (ch === '(') depth++;
    else if (ch === ')') {
      if (depth === 0) yield { word: ')', at: i };
      else depth--;
    } else if (depth === 0 && ch === ';') yield { word: ';', at: i };
    else if (depth === 0 && /[A-Za-z_]/.test(ch) && !/[A-Za-z0-9_."]/.test(code[i - 1] ?? ' ')) {
      WORD.lastIndex = i;
      const word = (WORD.exec(code)?.[0] ?? ch).slice(0, end - i);
      yield { word: word.toUpperCase(), at: i };
      i += word.length - 1;
    }
  }
}

/**
 * Whether a partition (its values by partition column; null for NULL) is read under `pruning`: always
 * without pruning, else when one predicate lists its value.
 */
export function isRead(
  pruning: PartitionPruning | undefined,
  values: Readonly<Record<string, string | null | undefined>>,
): boolean {
  if (!pruning) return true;
  return pruning.predicates.some((p) => {
    const value = values[p.column];
    return value !== null && value !== undefined && p.values.has(value);
  });
}

/** An identifier, quoted or not. */
const IDENT = `(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)`;
const unquote = (ident: string) => (ident.startsWith('"') ? ident.slice(1, -1).replace(/""/g, '"') : ident);

/**
 * The partitions a MERGE reads of its target: Athena (Trino) runs a MERGE as a join of the target with its
 * source on the ON clause, and pushes a condition on the target's partition column alone (a conjunct
 * `<target alias>."<partition column>" IN (<literals>)` of the ON clause, with no OR at its top level) into
 * the target's scan: the MERGE reads, and can match, only those partitions' files. Undefined when the ON
 * clause has no such conjunct (the whole target is read).
 */
export function mergeTargetPruning(
  sql: string,
  partitionColumns: readonly string[],
): PartitionPruning | undefined {
  if (partitionColumns.length === 0) return undefined;
  const code = blankLiterals(sql);
  const head = new RegExp(
    `^\\s*MERGE\\s+INTO\\s+${IDENT}(?:\\s*\\.\\s*${IDENT})?\\s+(?:AS\\s+)?(?!USING\\b)(${IDENT})`,
    'i',
  ).exec(code);
  const alias = head ? unquote(head[1]) : undefined;
  const on = alias === undefined ? undefined : topLevelOn(code, head?.[0].length ?? 0);
  if (alias === undefined || on === undefined) return undefined;
  const conjuncts = splitTopLevel(code, on.start, on.end);
  if (conjuncts === undefined) return undefined;
  const condition = new RegExp(
    `^\\s*(${IDENT})\\s*\\.\\s*(${IDENT})\\s+IN\\s*\\(\\s*(${LITERAL}(?:\\s*,\\s*${LITERAL})*)\\s*\\)\\s*$`,
    'i',
  );
  const predicates: { column: string; values: Set<string> }[] = [];
  for (const [start, end] of conjuncts) {
    const m = condition.exec(sql.slice(start, end));
    if (!m || unquote(m[1]).toLowerCase() !== alias.toLowerCase()) continue;
    const column = partitionColumns.find((c) => c.toLowerCase() === unquote(m[2]).toLowerCase());
    if (column === undefined) continue;
    const values = (m[3].match(/'(?:[^']|'')*'/g) ?? []).map((v) => v.slice(1, -1).replace(/''/g, "'"));
    predicates.push({ column, values: new Set(values) });
  }
  // Conjuncts on two columns bound the scan to an intersection, which `isRead` (a union) cannot express:
  // the first alone reads a superset, which is safe (the ON clause still applies).
  return predicates.length > 0 ? { predicates: predicates.slice(0, 1) } : undefined;
}

/**
 * The span of the ON condition of a MERGE (in `code`, literals blanked): the first `ON` at parenthesis depth
 * 0 after `from`, up to the first `WHEN` at depth 0.
 */
function topLevelOn(code: string, from: number): { start: number; end: number } | undefined {
  let start: number | undefined;
  for (const { word, at } of topLevelWords(code, from)) {
    if (start === undefined && word === 'ON') start = at + 2;
    else if (start !== undefined && word === 'WHEN') return { start, end: at };
  }
  return undefined;
}

/**
 * The top-level conjuncts of the condition `code[start, end)`, unwrapping parentheses around the whole
 * condition; undefined when an OR is at its top level (no conjunct bounds the rows then).
 */
function splitTopLevel(code: string, start: number, end: number): [number, number][] | undefined {
  const [s, e] = unwrap(code, start, end);
  const parts: [number, number][] = [];
  let from = s;
  for (const { word, at } of topLevelWords(code, s, e)) {
    if (word === 'OR') return undefined;
    if (word === 'AND') {
      parts.push([from, at]);
      from = at + 3;
    }
  }
  parts.push([from, e]);
  return parts.map(([a, b]) => unwrap(code, a, b));
}

/** The span `code[start, end)` without its surrounding blanks and the parentheses around all of it. */
function unwrap(code: string, start: number, end: number): [number, number] {
  let [s, e] = [start, end];
  for (;;) {
    while (s < e && /\s/.test(code[s])) s++;
    while (e > s && /\s/.test(code[e - 1])) e--;
    if (code[s] !== '(' || code[e - 1] !== ')' || closingParen(code, s) !== e - 1) return [s, e];
    s++;
    e--;
  }
}

/** The position of the parenthesis closing the one at `open`. */
function closingParen(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === '(') depth++;
    else if (code[i] === ')' && --depth === 0) return i;
  }
  return -1;
}
