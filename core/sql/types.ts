import type { ContractColumn } from '../contracts/dataset-contract';

const ATHENA_PRIMITIVE =
  /^(string|tinyint|smallint|int|bigint|float|double|boolean|date|timestamp|binary|decimal\(\s*\d+\s*,\s*\d+\s*\)|varchar\(\d+\)|char\(\d+\))$/;

/**
 * The Athena type of a silver column, from the DuckDB type the transform casts it to. TIMESTAMPTZ is
 * written to Parquet as a UTC-adjusted timestamp, which Athena reads as `timestamp` (in UTC).
 * Throws on a type it does not know, so a new type in the transform fails synth instead of mis-declaring.
 */
export function athenaTypeOf(duckDbType: string): string {
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(duckDbType);
  if (decimal) return `decimal(${decimal[1]},${decimal[2]})`;
  const scalar: Record<string, string> = {
    VARCHAR: 'string',
    INTEGER: 'int',
    BIGINT: 'bigint',
    DOUBLE: 'double',
    BOOLEAN: 'boolean',
    DATE: 'date',
    TIMESTAMPTZ: 'timestamp',
  };
  const type = scalar[duckDbType];
  if (type === undefined) throw new Error(`no Athena type for the silver column type '${duckDbType}'`);
  return type;
}
/** A Hive DDL type Athena reads: a primitive, or array/map/struct of them (shape checked, not field names). */
export function isAthenaType(type: string): boolean {
  if (ATHENA_PRIMITIVE.test(type)) return true;
  const complex = /^(array|map|struct)<(.+)>$/.exec(type);
  if (!complex) return false;
  const parts = splitTopLevel(complex[2]);
  if (parts === undefined) return false;
  switch (complex[1]) {
    case 'array':
      return parts.length === 1 && isAthenaType(parts[0]);
    case 'map':
      return parts.length === 2 && ATHENA_PRIMITIVE.test(parts[0]) && isAthenaType(parts[1]);
    default:
      return parts.every((p) => {
        const field = /^([a-z_][a-z0-9_]*):(.+)$/.exec(p);
        return field !== null && isAthenaType(field[2]);
      });
  }
}
/** `a,b<c,d>,e(f,g)` -> [a, b<c,d>, e(f,g)]; undefined when the brackets do not balance. */
export function splitTopLevel(text: string): string[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '<' || ch === '(') depth++;
    if (ch === '>' || ch === ')') depth--;
    if (depth < 0) return undefined;
    if (ch === ',' && depth === 0) {
      parts.push(text.slice(from, i).trim());
      from = i + 1;
    }
  }
  if (depth !== 0) return undefined;
  parts.push(text.slice(from).trim());
  return parts;
}
/** Athena types (Hive DDL) -> DuckDB types, for the views' casts and empty tables. */
export function duckDbType(athenaType: string): string {
  const t = athenaType.toLowerCase().replace(/\s+/g, '');
  const decimal = /^decimal\((\d+),(\d+)\)$/.exec(t);
  if (decimal) return `DECIMAL(${decimal[1]},${decimal[2]})`;
  if (/^(varchar|char)\(\d+\)$/.test(t)) return 'VARCHAR';
  const scalar: Record<string, string> = {
    string: 'VARCHAR',
    tinyint: 'TINYINT',
    smallint: 'SMALLINT',
    int: 'INTEGER',
    integer: 'INTEGER',
    bigint: 'BIGINT',
    float: 'FLOAT',
    double: 'DOUBLE',
    boolean: 'BOOLEAN',
    date: 'DATE',
    timestamp: 'TIMESTAMP',
    binary: 'BLOB',
  };
  const type = scalar[t];
  if (!type) throw new Error(`local Athena: no DuckDB type for the catalog type '${athenaType}'`);
  return type;
}

/** The DuckDB type a contract column is cast to in silver. */
export function sqlType(c: ContractColumn): string {
  const t = c.type;
  switch (t.kind) {
    case 'string':
      return 'VARCHAR';
    case 'int32':
      return 'INTEGER';
    case 'int64':
      return 'BIGINT';
    case 'double':
      return 'DOUBLE';
    case 'decimal':
      return `DECIMAL(${t.precision},${t.scale})`;
    case 'boolean':
      return 'BOOLEAN';
    case 'date':
      return 'DATE';
    case 'timestamp':
      return 'TIMESTAMPTZ';
  }
}
