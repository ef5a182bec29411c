/**
 * The columns of a dataset's silver files, as a pure function of its contract: what the transform writes
 * and what the catalog declares, so the two cannot disagree.
 */
import type { ContractColumn, DatasetContract } from '../contracts/dataset-contract';
import { sqlType } from './types';

/** Columns the transform adds to every silver row (`_extra` only under `unknownColumns: keep`). */
export type LineageColumn = '_extra' | '_bronze_key' | '_ingested_at';

export interface SilverColumn {
  readonly name: string;
  /** The DuckDB type written to Parquet. */
  readonly type: string;
  /** The contract column it comes from; undefined for a lineage column. */
  readonly column?: ContractColumn;
}

/**
 * In file order: the contract's columns minus `pii: drop` (hashed ones as strings), then `_extra` when
 * unknown columns are kept, then the lineage columns. The partition column `dt` is not among them (it is
 * the Hive partition directory).
 */
export function silverSchema(contract: DatasetContract): SilverColumn[] {
  const cols: SilverColumn[] = contract.columns
    .filter((c) => c.pii !== 'drop')
    .map((c) => ({ name: c.name, type: c.pii === 'hash' ? 'VARCHAR' : sqlType(c), column: c }));
  if (contract.unknownColumns === 'keep') cols.push({ name: '_extra', type: 'VARCHAR' });
  cols.push({ name: '_bronze_key', type: 'VARCHAR' }, { name: '_ingested_at', type: 'TIMESTAMPTZ' });
  return cols;
}
