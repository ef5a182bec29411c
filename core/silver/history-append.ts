/**
 * The SQL that appends a dataset's arrivals to its history: `MERGE INTO <dataset>_history` from the rows
 * the transforms wrote (`<dataset>_arrivals`, one Parquet file per bronze object and partition), run by
 * the same serial workflow step as the current-state merge, so the history has a single writer and its
 * small files can be compacted (OPTIMIZE) with Iceberg's atomic commit.
 *
 * A history row is identified by the bronze object it came from, its partition and its primary key (the
 * transform de-duplicates a file by key, so the three are unique). The merge makes the history's rows of
 * the batch's bronze objects, in the batch's partitions, equal to their arrivals, in one commit: it
 * inserts new rows, rewrites a row only when a value differs, and deletes a row the arrivals no longer
 * hold (a replay under a changed contract that now quarantines it, or moved it to another partition: the
 * transform deletes its stale files and its commit names the partitions it left). Re-merging the same
 * arrivals (the watermark's overlap, a redelivered message) therefore changes nothing and writes no file.
 * The retracted rows come from the target itself, in the source (Athena reads the snapshot the MERGE
 * started from), because Athena's MERGE has no `WHEN NOT MATCHED BY SOURCE`.
 */
import type { DatasetContract } from '../contracts/dataset-contract';
import { PARTITION_KEY } from '../lake/layout';
import { sqlIdent, sqlString } from '../sql/quote';
import { batchFilter, insertFromSource, type MergeBatch, updateFromSource } from './current-state-merge';
import { arrivalsTableName, currentStateColumns, historyTableName } from './tables';

const BRONZE_KEY = '_bronze_key';
/** Marks a source row that is a history row to delete (its arrival is gone). */
const RETRACTED = '_retracted';

/** The MERGE that makes the history's rows of `batch` equal to the arrivals of `batch`. */
export function historyAppendStatement(contract: DatasetContract, batch: MergeBatch): string {
  const columns = currentStateColumns(contract).map((c) => c.name);
  const identity = [BRONZE_KEY, PARTITION_KEY, ...contract.primaryKey];
  const identitySet = new Set(identity);
  const others = columns.filter((c) => !identitySet.has(c));
  const matches = (a: string, b: string) => identity.map((c) => `${a}.${sqlIdent(c)} = ${b}.${sqlIdent(c)}`);
  const on = matches('t', 's');
  // Names the target partitions for the engine to prune its scan to (the rows of a unit stay in its
  // partition): the cost of an append follows the arrivals, not the history's size.
  if (batch.kind !== 'range' && batch.partitions.length > 0)
    on.push(`t.${sqlIdent(PARTITION_KEY)} IN (${batch.partitions.map(sqlString).join(', ')})`);
  const history = sqlIdent(historyTableName(contract.dataset));
  const arrivals = sqlIdent(arrivalsTableName(contract.dataset));
  const filter = batchFilter(batch);
  const source = [
    `SELECT ${columns.map(sqlIdent).join(', ')}, false AS ${RETRACTED}`,
    `FROM ${arrivals}`,
    `WHERE ${filter}`,
    'UNION ALL',
    `SELECT ${columns.map((c) => `h.${sqlIdent(c)}`).join(', ')}, true AS ${RETRACTED}`,
    `FROM ${history} AS h`,
    `WHERE ${batchFilter(batch, 'h')}`,
    `AND NOT EXISTS (SELECT 1 FROM ${arrivals} AS a WHERE ${batchFilter(batch, 'a')} AND ${matches('a', 'h').join(' AND ')})`,
  ].join('\n');
  const lines = [`MERGE INTO ${history} AS t`, `USING (\n${source}\n) AS s`, `ON (${on.join(' AND ')})`];
  lines.push(`WHEN MATCHED AND s.${RETRACTED} THEN DELETE`);
  if (others.length > 0) {
    const changed = others.map((c) => `t.${sqlIdent(c)} IS DISTINCT FROM s.${sqlIdent(c)}`).join(' OR ');
    lines.push(`WHEN MATCHED AND (${changed}) THEN ${updateFromSource(columns, identity)}`);
  }
  lines.push(`WHEN NOT MATCHED AND NOT s.${RETRACTED} THEN ${insertFromSource(columns)}`);
  return lines.join('\n');
}
