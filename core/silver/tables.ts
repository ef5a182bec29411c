/**
 * The catalog tables of one dataset, by role:
 *
 *   <dataset>           current state: one row per primary key, the latest version (an Iceberg table
 *                       maintained by MERGE INTO from the history, see `current-state-merge.ts`)
 *   <dataset>_history   every version of every row (an Iceberg table the same workflow appends to from
 *                       the arrivals, and compacts: the audit trail)
 *   <dataset>_arrivals  what the transforms wrote, one Parquet file per bronze object and partition (a
 *                       Hive table over files kept for a retention period: the history's source)
 *   <dataset>_deleted   the keys deleted so far and the version that deleted them (only for contracts
 *                       with `deletes`): an older version arriving late cannot bring a deleted key back
 */
import type { DatasetContract } from '../contracts/dataset-contract';
import { PARTITION_KEY } from '../lake/layout';
import { type SilverColumn, silverSchema } from '../sql/silver-schema';

export function currentTableName(dataset: string): string {
  return dataset;
}

export function historyTableName(dataset: string): string {
  return `${dataset}_history`;
}

export function arrivalsTableName(dataset: string): string {
  return `${dataset}_arrivals`;
}

/** The longest suffix a dataset's table names add to the dataset's name. */
export const LONGEST_TABLE_SUFFIX = '_arrivals';

export function deletedTableName(dataset: string): string {
  return `${dataset}_deleted`;
}

/** Every catalog table name a dataset owns. */
export function datasetTableNames(contract: Pick<DatasetContract, 'dataset' | 'deletes'>): string[] {
  const names = [
    currentTableName(contract.dataset),
    historyTableName(contract.dataset),
    arrivalsTableName(contract.dataset),
  ];
  if (contract.deletes) names.push(deletedTableName(contract.dataset));
  return names;
}

/**
 * The columns of the current-state table: the history's columns (`silverSchema`), then `dt` as a plain
 * string column (the history's partition value of the row, which the current-state table is
 * partitioned by).
 */
export function currentStateColumns(contract: DatasetContract): SilverColumn[] {
  return [...silverSchema(contract), { name: PARTITION_KEY, type: 'VARCHAR' }];
}

/**
 * The columns of the deleted-keys table: the primary key, `latestBy` (when the contract has one) and the
 * lineage that orders versions (`_ingested_at`, `_bronze_key`).
 */
export function deletedKeysColumns(contract: DatasetContract): SilverColumn[] {
  const schema = silverSchema(contract);
  const wanted = new Set([...contract.primaryKey, ...(contract.latestBy ? [contract.latestBy] : [])]);
  return [
    ...schema.filter((c) => wanted.has(c.name)),
    ...schema.filter((c) => c.name === '_ingested_at' || c.name === '_bronze_key'),
  ];
}
