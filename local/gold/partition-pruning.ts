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
  const code = sql.replace(LITERALS_AND_COMMENTS, (m) => ' '.repeat(m.length));
  const occurrence = new RegExp(`(^|[^a-z0-9_])${escapeRegExp(table)}(?=[^a-z0-9_]|$)`, 'gi');
  const qualifier = new RegExp(`${quotedName(database)}\\s*\\.\\s*"$`, 'i');
  const filtered = new RegExp(
    `${quotedName(database)}\\s*\\.\\s*${quotedName(table)}\\s+WHERE\\s+"((?:[^"]|"")+)"\\s+IN\\s*\\(\\s*(${LITERAL}(?:\\s*,\\s*${LITERAL})*)\\s*\\)(?=\\s*(?:\\)|;|$))`,
    'iy',
  );
  const predicates: { column: string; values: Set<string> }[] = [];
  for (let m = occurrence.exec(code); m; m = occurrence.exec(code)) {
    const at = m.index + m[1].length;
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
