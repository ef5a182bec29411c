/** SQL literals and identifiers, quoted the one way Athena/Trino and DuckDB both read. */
export const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** A double-quoted SQL identifier (Athena/Trino and DuckDB alike). */
export const sqlIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
