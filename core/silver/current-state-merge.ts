/**
 * The SQL that keeps a dataset's current state: `MERGE INTO <dataset>` from a batch of its history rows,
 * in the subset of SQL that Athena (Trino, on Iceberg tables) and DuckDB (the local Athena) both run
 * unchanged.
 *
 * Versions of a key are ordered by `latestBy` (nulls lowest, absent: ignored), then `_ingested_at`, then
 * `_bronze_key`: a total order, so every engine and every arrival order picks the same latest version.
 * A batch row replaces the current row only when it is at least as late ("newer or equal"), which makes a
 * merge idempotent: merging the same batch twice, or overlapping batches, changes nothing more.
 *
 * Deletes (contract `deletes`): when a key's latest version in the batch is a delete marker, the key is
 * removed from `<dataset>` and remembered in `<dataset>_deleted` with the version that deleted it. A batch
 * row older than the key's delete is ignored, so a late, older version cannot bring the key back; a newer
 * one (a re-insert) can.
 *
 * A contract whose partition value is fixed per key (`partition.fixedPerKey`) lets the merge name the
 * target partitions it can touch in its ON clause ({@link targetPartitionFilter}): its cost then follows the
 * batch, not the table's history.
 */
import type { DatasetContract } from '../contracts/dataset-contract';
import { PARTITION_KEY } from '../lake/layout';
import { sqlIdent, sqlString } from '../sql/quote';
import {
  currentStateColumns,
  currentTableName,
  deletedKeysColumns,
  deletedTableName,
  historyTableName,
} from './tables';

/** Which history rows a merge reads. */
export type MergeBatch =
  /** The rows of these bronze objects, in these partitions (what commits added since the last merge). */
  | { readonly kind: 'files'; readonly partitions: readonly string[]; readonly bronzeKeys: readonly string[] }
  /** Every row of these partitions: a rebuild, a few partitions at a time. */
  | { readonly kind: 'partitions'; readonly partitions: readonly string[] }
  /** Every row whose partition is in `[from, to)` (either bound open when absent). */
  | { readonly kind: 'range'; readonly from?: string; readonly to?: string };

/** The lineage columns that order versions after `latestBy`. */
const INGESTED = '_ingested_at';
const BRONZE_KEY = '_bronze_key';
const RANK = '_version_rank';

/**
 * The statements that merge `batch` into the current state, to run in order: the deleted-keys merge first
 * (contracts with `deletes`), then the current-state merge, which consults it.
 */
export function currentStateMergeStatements(contract: DatasetContract, batch: MergeBatch): string[] {
  const statements: string[] = [];
  if (contract.deletes) statements.push(deletedKeysMerge(contract, batch));
  statements.push(currentStateMerge(contract, batch));
  return statements;
}

/** `s` is at least as late as `t` (both aliases of rows with the dataset's columns). */
export function newerOrEqual(contract: Pick<DatasetContract, 'latestBy'>, s: string, t: string): string {
  const col = (alias: string, name: string) => `${alias}.${sqlIdent(name)}`;
  const lineage =
    `(${col(s, INGESTED)} > ${col(t, INGESTED)} OR (${col(s, INGESTED)} = ${col(t, INGESTED)} ` +
    `AND ${col(s, BRONZE_KEY)} >= ${col(t, BRONZE_KEY)}))`;
  if (!contract.latestBy) return lineage;
  const [sl, tl] = [col(s, contract.latestBy), col(t, contract.latestBy)];
  return (
    `(${sl} > ${tl} OR (${tl} IS NULL AND ${sl} IS NOT NULL) ` +
    `OR (${sl} IS NOT DISTINCT FROM ${tl} AND ${lineage}))`
  );
}

/** The window order of versions, latest first (columns under `alias` when given). */
export function versionOrder(contract: Pick<DatasetContract, 'latestBy'>, alias?: string): string {
  const col = (name: string) => (alias ? `${alias}.${sqlIdent(name)}` : sqlIdent(name));
  const by = [
    ...(contract.latestBy ? [`${col(contract.latestBy)} DESC NULLS LAST`] : []),
    `${col(INGESTED)} DESC`,
    `${col(BRONZE_KEY)} DESC`,
  ];
  return by.join(', ');
}

/** The history rows of the batch (a WHERE clause on the history table, its columns under `alias`). */
export function batchFilter(batch: MergeBatch, alias?: string): string {
  const col = (name: string) => (alias ? `${alias}.${sqlIdent(name)}` : sqlIdent(name));
  const dt = col(PARTITION_KEY);
  if (batch.kind === 'files') {
    if (batch.partitions.length === 0 || batch.bronzeKeys.length === 0) return 'false';
    return (
      `${dt} IN (${batch.partitions.map(sqlString).join(', ')}) ` +
      `AND ${col(BRONZE_KEY)} IN (${batch.bronzeKeys.map(sqlString).join(', ')})`
    );
  }
  if (batch.kind === 'partitions') {
    if (batch.partitions.length === 0) return 'false';
    return `${dt} IN (${batch.partitions.map(sqlString).join(', ')})`;
  }
  const bounds = [
    ...(batch.from !== undefined ? [`${dt} >= ${sqlString(batch.from)}`] : []),
    ...(batch.to !== undefined ? [`${dt} < ${sqlString(batch.to)}`] : []),
  ];
  return bounds.length > 0 ? bounds.join(' AND ') : 'true';
}

/**
 * The partitions of current state a merge of `batch` can touch, as a condition on the target `alias` for
 * its ON clause; undefined when it can touch any. Only a contract whose partition is `fixedPerKey` bounds
 * them: every version of a key then lies in the partition of the key's batch rows, so the target rows a
 * batch matches lie in the batch's partitions, and Athena prunes the target's scan to them (the MERGE
 * reads what arrived, not the whole table). Otherwise a key's current row may lie in any partition.
 */
export function targetPartitionFilter(
  contract: DatasetContract,
  batch: MergeBatch,
  alias: string,
): string | undefined {
  if (!contract.partition.fixedPerKey || batch.kind === 'range' || batch.partitions.length === 0)
    return undefined;
  return `${alias}.${sqlIdent(PARTITION_KEY)} IN (${batch.partitions.map(sqlString).join(', ')})`;
}

/** Whether the row at `alias` is a delete marker (false for contracts without `deletes`). */
export function isDelete(contract: DatasetContract, alias: string): string {
  if (!contract.deletes) return 'false';
  const col = `${alias}.${sqlIdent(contract.deletes.column)}`;
  return `(${col} IS NOT NULL AND ${col} IN (${contract.deletes.values.map(sqlString).join(', ')}))`;
}

/** The latest version of each key among the batch's history rows, with `columns`. */
function latestInBatch(contract: DatasetContract, batch: MergeBatch, columns: string[]): string {
  const keys = contract.primaryKey.map(sqlIdent).join(', ');
  const list = columns.map(sqlIdent).join(', ');
  return [
    `SELECT ${list} FROM (`,
    `  SELECT ${list}, row_number() OVER (PARTITION BY ${keys} ORDER BY ${versionOrder(contract)}) AS ${RANK}`,
    `  FROM ${sqlIdent(historyTableName(contract.dataset))}`,
    `  WHERE ${batchFilter(batch)}`,
    `) AS v WHERE ${RANK} = 1`,
  ].join('\n');
}

/** The primary keys of `a` and `b` are equal. */
export function keyMatch(contract: Pick<DatasetContract, 'primaryKey'>, a: string, b: string): string {
  return contract.primaryKey.map((k) => `${a}.${sqlIdent(k)} = ${b}.${sqlIdent(k)}`).join(' AND ');
}

function currentStateMerge(contract: DatasetContract, batch: MergeBatch): string {
  const columns = currentStateColumns(contract).map((c) => c.name);
  const latest = latestInBatch(contract, batch, columns);
  const keys = new Set(contract.primaryKey);
  const source = contract.deletes
    ? [
        `SELECT b.* FROM (\n${latest}\n) AS b`,
        `LEFT JOIN ${sqlIdent(deletedTableName(contract.dataset))} AS d ON ${keyMatch(contract, 'b', 'd')}`,
        // A version older than the key's delete is ignored (the delete itself compares equal and stays).
        `WHERE d.${sqlIdent(contract.primaryKey[0])} IS NULL OR ${newerOrEqual(contract, 'b', 'd')}`,
      ].join('\n')
    : latest;
  const newer = newerOrEqual(contract, 's', 't');
  const lines = [
    `MERGE INTO ${sqlIdent(currentTableName(contract.dataset))} AS t`,
    `USING (\n${source}\n) AS s`,
    `ON (${[keyMatch(contract, 't', 's'), targetPartitionFilter(contract, batch, 't') ?? []].flat().join(' AND ')})`,
  ];
  if (contract.deletes) lines.push(`WHEN MATCHED AND ${newer} AND ${isDelete(contract, 's')} THEN DELETE`);
  lines.push(
    `WHEN MATCHED AND ${newer} THEN ${updateFromSource(columns, keys)}`,
    `WHEN NOT MATCHED AND NOT ${isDelete(contract, 's')} THEN ${insertFromSource(columns)}`,
  );
  return lines.join('\n');
}

function deletedKeysMerge(contract: DatasetContract, batch: MergeBatch): string {
  const columns = deletedKeysColumns(contract).map((c) => c.name);
  const deletesColumn = (contract.deletes as NonNullable<DatasetContract['deletes']>).column;
  const withMarker = columns.includes(deletesColumn) ? columns : [...columns, deletesColumn];
  const latest = latestInBatch(contract, batch, withMarker);
  return [
    `MERGE INTO ${sqlIdent(deletedTableName(contract.dataset))} AS t`,
    // Only keys whose latest version in the batch is a delete: a later re-insert in the same batch wins.
    `USING (\nSELECT * FROM (\n${latest}\n) AS l WHERE ${isDelete(contract, 'l')}\n) AS s`,
    `ON (${keyMatch(contract, 't', 's')})`,
    `WHEN MATCHED AND ${newerOrEqual(contract, 's', 't')} THEN ${updateFromSource(columns, contract.primaryKey)}`,
    `WHEN NOT MATCHED THEN ${insertFromSource(columns)}`,
  ].join('\n');
}

/** A MERGE's `UPDATE SET` of every column but the keys, from the source row `s`. */
export function updateFromSource(columns: readonly string[], keys: Iterable<string>): string {
  const keySet = new Set(keys);
  const set = columns.filter((c) => !keySet.has(c)).map((c) => `${sqlIdent(c)} = s.${sqlIdent(c)}`);
  return `UPDATE SET ${set.join(', ')}`;
}

/** A MERGE's `INSERT` of `columns` from the source row `s`. */
export function insertFromSource(columns: readonly string[]): string {
  return `INSERT (${columns.map(sqlIdent).join(', ')}) VALUES (${columns.map((c) => `s.${sqlIdent(c)}`).join(', ')})`;
}
