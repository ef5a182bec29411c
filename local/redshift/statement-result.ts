/**
 * A statement's result set as the Redshift Data API's GetStatementResult returns it: `Records` of typed
 * `Field`s (integers as `longValue`, floating point as `doubleValue`, booleans as `booleanValue`, bytes as
 * base64 `blobValue`, NULL as `isNull`, everything else, `numeric` included, as PostgreSQL's text in
 * `stringValue`) and `ColumnMetadata` naming each column's type as Redshift does (`int8`, `varchar`,
 * `numeric`, `float8`, `bool`, `timestamp`, ...: PostgreSQL's `typname`, which Redshift shares).
 */
import type { PgliteWorker } from './pglite-worker';

export type Field =
  | { stringValue: string }
  | { longValue: number }
  | { doubleValue: number }
  | { booleanValue: boolean }
  | { blobValue: string }
  | { isNull: true };

export interface ColumnMetadata {
  name: string;
  label: string;
  typeName: string;
}

/** A result set, kept for GetStatementResult. */
export interface StatementResult {
  readonly columns: ColumnMetadata[];
  readonly records: Field[][];
}

/** The `typname` of the types statements return most, by OID (others are looked up in `pg_type`). */
const TYPE_NAMES: Record<number, string> = {
  16: 'bool',
  17: 'bytea',
  18: 'char',
  19: 'name',
  20: 'int8',
  21: 'int2',
  23: 'int4',
  25: 'text',
  26: 'oid',
  700: 'float4',
  701: 'float8',
  1042: 'bpchar',
  1043: 'varchar',
  1082: 'date',
  1083: 'time',
  1114: 'timestamp',
  1184: 'timestamptz',
  1186: 'interval',
  1700: 'numeric',
};

const LONG_TYPES = new Set(['int2', 'int4', 'int8', 'oid']);
const DOUBLE_TYPES = new Set(['float4', 'float8']);

/** The result set of a query run with `text: true` and `rowMode: 'array'`. */
export async function statementResult(
  pg: PgliteWorker,
  fields: readonly { name: string; dataTypeID: number }[],
  rows: readonly unknown[][],
): Promise<StatementResult> {
  const unknown = [...new Set(fields.map((f) => f.dataTypeID).filter((oid) => !(oid in TYPE_NAMES)))];
  const looked =
    unknown.length === 0
      ? []
      : (
          await pg.query<{ oid: number; typname: string }>(
            'SELECT oid::int AS oid, typname FROM pg_type WHERE oid = ANY($1::oid[])',
            [unknown],
          )
        ).rows;
  const names = new Map<number, string>(looked.map((r) => [r.oid, r.typname]));
  const types = fields.map((f) => TYPE_NAMES[f.dataTypeID] ?? names.get(f.dataTypeID) ?? 'unknown');
  return {
    columns: fields.map((f, i) => ({ name: f.name, label: f.name, typeName: types[i] })),
    records: rows.map((row) => row.map((value, i) => field(value, types[i]))),
  };
}

function field(value: unknown, type: string): Field {
  if (value === null || value === undefined) return { isNull: true };
  const text = String(value);
  if (LONG_TYPES.has(type)) return { longValue: Number(text) };
  if (DOUBLE_TYPES.has(type)) return { doubleValue: Number(text) };
  if (type === 'bool') return { booleanValue: text === 't' || text === 'true' };
  if (type === 'bytea') return { blobValue: Buffer.from(text.replace(/^\\x/, ''), 'hex').toString('base64') };
  return { stringValue: text };
}
