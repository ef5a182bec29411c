/**
 * Column types between the two engines of the Redshift stand-in: DuckDB (which reads the lake's Parquet
 * for Spectrum and writes UNLOAD's Parquet) and PGlite (which plays Redshift). Only the scalar types the
 * lake holds are mapped; Spectrum's nested types (Glue `array<>`, `struct<>`, `map<>`) are refused with
 * the reason, since Redshift reads them only through its PartiQL navigation, which is not emulated.
 */
import { RedshiftSqlError } from './redshift-data-errors';

/** The Glue types Redshift Spectrum reads as nested data. */
const NESTED_GLUE_TYPE = /^\s*(array|struct|map|uniontype)\s*</i;

/** Throws when a Glue column of an external table is of a nested type. */
export function refuseNestedGlueType(table: string, column: string, glueType: string | undefined): void {
  if (glueType !== undefined && NESTED_GLUE_TYPE.test(glueType)) {
    throw nestedTypeError(table, column, glueType);
  }
}

const nestedTypeError = (table: string, column: string, type: string) =>
  new RedshiftSqlError(
    `Spectrum nested types are not emulated locally: column "${column}" of external table ${table} is ${type} ` +
      '(Redshift reads it only through PartiQL navigation of the SUPER-like nested column)',
  );

/** The PostgreSQL (Redshift) type of a DuckDB column a Spectrum table is loaded from. */
export function pgTypeOfDuckDb(table: string, column: string, duckDbType: string): string {
  const t = duckDbType.toUpperCase().trim();
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
  if (decimal) return `numeric(${decimal[1]},${decimal[2]})`;
  const scalar: Record<string, string> = {
    VARCHAR: 'varchar',
    BIGINT: 'bigint',
    INTEGER: 'integer',
    SMALLINT: 'smallint',
    // Spectrum reads a Parquet INT8 (Glue tinyint) as a smallint: Redshift has no 1-byte integer.
    TINYINT: 'smallint',
    DOUBLE: 'double precision',
    FLOAT: 'real',
    BOOLEAN: 'boolean',
    DATE: 'date',
    TIMESTAMP: 'timestamp',
    'TIMESTAMP WITH TIME ZONE': 'timestamptz',
    // Redshift's VARBYTE.
    BLOB: 'bytea',
  };
  const type = scalar[t];
  if (type) return type;
  if (/\[\d*\]$/.test(t) || /^(STRUCT|MAP|UNION)\s*\(/.test(t))
    throw nestedTypeError(table, column, duckDbType);
  throw new RedshiftSqlError(
    `the local Spectrum does not map DuckDB type ${duckDbType} (column "${column}" of external table ${table})`,
  );
}

/**
 * The DuckDB type an UNLOAD writes a PostgreSQL column as (its `format_type`); an unconstrained `numeric`
 * needs its `scale` (the largest of its values'), since Parquet's DECIMAL has a fixed one.
 */
export function duckDbTypeOfPg(column: string, pgType: string, numericScale = 0): string {
  const t = pgType.toLowerCase().trim();
  const numeric = /^numeric\((\d+),(\d+)\)$/.exec(t);
  if (numeric) return `DECIMAL(${numeric[1]},${numeric[2]})`;
  if (t === 'numeric') return `DECIMAL(38,${Math.min(Math.max(numericScale, 0), 37)})`;
  if (/^(character varying|character|varchar|bpchar|char)(\(\d+\))?$/.test(t) || t === 'text')
    return 'VARCHAR';
  const scalar: Record<string, string> = {
    bigint: 'BIGINT',
    integer: 'INTEGER',
    smallint: 'SMALLINT',
    'double precision': 'DOUBLE',
    real: 'FLOAT',
    boolean: 'BOOLEAN',
    date: 'DATE',
    'timestamp without time zone': 'TIMESTAMP',
    'timestamp with time zone': 'TIMESTAMP WITH TIME ZONE',
    bytea: 'BLOB',
  };
  const type = scalar[t.replace(/\(\d+\)/, '')];
  if (type) return type;
  throw new RedshiftSqlError(
    `UNLOAD to Parquet: column "${column}" is of type ${pgType}, which is not emulated`,
  );
}
