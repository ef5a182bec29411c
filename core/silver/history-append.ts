/**
 * The SQL that appends a dataset's arrivals to its history: `MERGE INTO <dataset>_history` from the rows
 * the transforms wrote (`<dataset>_arrivals`, one Parquet file per bronze object and partition), run by
 * the same serial workflow step as the current-state merge, so the history has a single writer and its
 * small files can be compacted (OPTIMIZE) with Iceberg's atomic commit.
 *
 * A history row is identified by the bronze object it came from, its partition and its primary key (the
 * transform de-duplicates a file by key, so the three are unique). The merge is an upsert on that
 * identity: re-merging the same arrivals (the watermark's overlap, a redelivered message) changes
 * nothing, and a replay under a changed contract replaces the rows it re-wrote. A matched row is only
 * rewritten when a value differs, so an overlap costs no new files.
 */
import type { DatasetContract } from '../contracts/dataset-contract';
import { PARTITION_KEY } from '../lake/layout';
import { sqlIdent, sqlString } from '../sql/quote';
import { batchFilter, type MergeBatch } from './current-state-merge';
import { arrivalsTableName, currentStateColumns, historyTableName } from './tables';

const BRONZE_KEY = '_bronze_key';

/** The MERGE that upserts the arrivals of `batch` into the history. */
export function historyAppendStatement(contract: DatasetContract, batch: MergeBatch): string {
  const columns = currentStateColumns(contract).map((c) => c.name);
  const identity = [BRONZE_KEY, PARTITION_KEY, ...contract.primaryKey];
  const identitySet = new Set(identity);
  const others = columns.filter((c) => !identitySet.has(c));
  const on = identity.map((c) => `t.${sqlIdent(c)} = s.${sqlIdent(c)}`);
  // Names the target partitions for the engine to prune its scan to (the rows of a unit stay in its
  // partition): the cost of an append follows the arrivals, not the history's size.
  if (batch.kind !== 'range' && batch.partitions.length > 0)
    on.push(`t.${sqlIdent(PARTITION_KEY)} IN (${batch.partitions.map(sqlString).join(', ')})`);
  const lines = [
    `MERGE INTO ${sqlIdent(historyTableName(contract.dataset))} AS t`,
    `USING (\nSELECT ${columns.map(sqlIdent).join(', ')}\nFROM ${sqlIdent(arrivalsTableName(contract.dataset))}\nWHERE ${batchFilter(batch)}\n) AS s`,
    `ON (${on.join(' AND ')})`,
  ];
  if (others.length > 0) {
    const changed = others.map((c) => `t.${sqlIdent(c)} IS DISTINCT FROM s.${sqlIdent(c)}`).join(' OR ');
    const set = others.map((c) => `${sqlIdent(c)} = s.${sqlIdent(c)}`).join(', ');
    lines.push(`WHEN MATCHED AND (${changed}) THEN UPDATE SET ${set}`);
  }
  lines.push(
    `WHEN NOT MATCHED THEN INSERT (${columns.map(sqlIdent).join(', ')}) VALUES (${columns.map((c) => `s.${sqlIdent(c)}`).join(', ')})`,
  );
  return lines.join('\n');
}
