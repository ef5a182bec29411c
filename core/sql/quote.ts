/** SQL literals and identifiers, quoted the one way Athena/Trino and DuckDB both read. */
/** Text made safe inside an SQL string literal already opened (its quotes doubled). */
export const sqlStringBody = (s: string): string => s.replace(/'/g, "''");

export const sqlString = (s: string): string => `'${sqlStringBody(s)}'`;

/** A double-quoted SQL identifier (Athena/Trino and DuckDB alike). */
export const sqlIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
