/**
 * Keeping a dataset's Iceberg tables (history, current state, deleted keys) small and fast as they age (Athena's Iceberg maintenance statements):
 *
 *   OPTIMIZE <table> REWRITE DATA USING BIN_PACK WHERE dt IN (...)   compacts the partitions a plan merged
 *       into: Athena writes MERGE changes merge-on-read (delete files beside small data files), so each
 *       hourly merge adds files to the partitions it touched; bin-packing rewrites them into few files.
 *   VACUUM <table>   expires old snapshots and removes the files only they referenced (Athena keeps
 *       snapshots younger than the table's `vacuum_max_snapshot_age_seconds`, 5 days by default), so
 *       storage is bounded by the data plus a few days of changes.
 *
 * Both are bounded by new data: OPTIMIZE reads only the partitions merged, VACUUM only metadata and the
 * expired files.
 */
import type { DatasetContract } from '../contracts/dataset-contract';
import { PARTITION_KEY } from '../lake/layout';
import { sqlIdent, sqlString } from '../sql/quote';
import { currentTableName, deletedTableName, historyTableName } from './tables';

/**
 * The maintenance after merging into `partitions` (groups of at most `partitionsPerStatement`): of the
 * current state, and of the history when the merges appended to it (one small file per bronze object and
 * partition arrives there; bin-packing keeps a partition to a file or two).
 */
export function silverMaintenance(
  contract: DatasetContract,
  partitions: readonly string[],
  partitionsPerStatement: number,
  options: { readonly history: boolean },
): string[] {
  const tables = [
    ...(options.history ? [sqlIdent(historyTableName(contract.dataset))] : []),
    sqlIdent(currentTableName(contract.dataset)),
  ];
  const statements: string[] = [];
  const sorted = [...new Set(partitions)].sort();
  for (const table of tables) {
    for (let i = 0; i < sorted.length; i += partitionsPerStatement) {
      const group = sorted.slice(i, i + partitionsPerStatement);
      statements.push(
        `OPTIMIZE ${table} REWRITE DATA USING BIN_PACK WHERE ${sqlIdent(PARTITION_KEY)} IN (${group.map(sqlString).join(', ')})`,
      );
    }
    statements.push(`VACUUM ${table}`);
  }
  if (contract.deletes) {
    const deleted = sqlIdent(deletedTableName(contract.dataset));
    if (sorted.length > 0) statements.push(`OPTIMIZE ${deleted} REWRITE DATA USING BIN_PACK`);
    statements.push(`VACUUM ${deleted}`);
  }
  return statements;
}
