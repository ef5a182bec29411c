/**
 * Partition pruning, emulated for `DataScannedInBytes`: the gold planner renders a date-filtered source as
 * `(SELECT * FROM "<db>"."<table>" WHERE "<partition column>" IN ('<value>', ...))`. When EVERY
 * occurrence of a table in a statement is in that form (`"<db>"."<table>" WHERE "<column>" IN (<string
 * literals, or DATE literals>)`, followed by `)`, `;` or the end of the statement, the column a
 * partition column of the table), the table's view only needs the files of the listed partition values
 * (the union over the occurrences); Athena reads no more. Any other occurrence (unquoted or unqualified
 * name, another predicate, an `OR` after the list, the name as a column or alias) turns pruning off for
 * the table: every file is read, as before. Names match case-insensitively, as Athena's do.
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
 * read whole (or not named at all).
 */
export function partitionPruning(
  sql: string,
  database: string,
  table: string,
  partitionColumns: readonly string[],
): PartitionPruning | undefined {
  if (partitionColumns.length === 0) return undefined;
  // Not lowercased: the positions of a match must be those in `sql` (the regular expressions ignore case).
  const code = blankLiterals(sql);
  const qualifier = new RegExp(`${quotedName(database)}\\s*\\.\\s*"$`, 'i');
  const filtered = new RegExp(
    `${quotedName(database)}\\s*\\.\\s*${quotedName(table)}\\s+WHERE\\s+"((?:[^"]|"")+)"\\s+IN\\s*\\(\\s*(${LITERAL}(?:\\s*,\\s*${LITERAL})*)\\s*\\)(?=\\s*(?:\\)|;|$))`,
    'iy',
  );
  const predicates: { column: string; values: Set<string> }[] = [];
  // A name after a comma is a column of a select list far more often than a table of a FROM list (the
  // planner qualifies every table it filters): for pruning, only qualified or FROM/JOIN references count.
  for (const at of tableReferences(code, table, { commas: false })) {
    const before = qualifier.exec(code.slice(0, at));
    if (!before) return undefined;
    filtered.lastIndex = before.index;
    const f = filtered.exec(sql);
    if (!f) return undefined;
    const column = partitionColumns.find((c) => c.toLowerCase() === f[1].replace(/""/g, '"').toLowerCase());
    if (column === undefined) return undefined;
    const values = (f[2].match(/'(?:[^']|'')*'/g) ?? []).map((v) => v.slice(1, -1).replace(/''/g, "'"));
    predicates.push({ column, values: new Set(values) });
  }
  return predicates.length > 0 ? { predicates } : undefined;
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
