/**
 * The SQL that takes back from the current state the versions a re-run retracted. A bronze object
 * transformed again (a replay under a stricter contract, say) can lose rows: the history append deletes
 * them (`history-append.ts`), but the current-state merge only ever moves a key forward, so a key whose
 * current version was one of them would keep it. After the batch's merges these statements find such keys
 * (their current row, or their delete in `<dataset>_deleted`, came from a re-run bronze object and is no
 * longer in the history) and set each to its latest remaining version: its row, its removal when that
 * version is a delete, or nothing at all when no version remains.
 *
 * Only plans with re-run commits run them: finding the keys reads the current state's `_bronze_key` column
 * and their versions read the history of those keys, all partitions (only the batch's, for a partition
 * fixed per key), so their cost follows the table, which a replay, rare and run by an operator, can pay.
 */
import type { DatasetContract } from '../contracts/dataset-contract';
import { PARTITION_KEY } from '../lake/layout';
import { sqlIdent, sqlString } from '../sql/quote';
import {
  insertFromSource,
  isDelete,
  keyMatch,
  targetPartitionFilter,
  updateFromSource,
  versionOrder,
} from './current-state-merge';
import {
  currentStateColumns,
  currentTableName,
  deletedKeysColumns,
  deletedTableName,
  historyTableName,
} from './tables';

const BRONZE_KEY = '_bronze_key';
const RANK = '_version_rank';
/** Source columns: the key has no version left; its latest remaining version is a delete. */
const GONE = '_gone';
const IS_DELETE = '_is_delete';

/**
 * The statements that take back the versions of `bronzeKeys` (re-run objects) no longer in the history,
 * to run after the batch's history append and current-state merge; `partitions`: the batch's.
 */
export function currentStateRetractionStatements(
  contract: DatasetContract,
  bronzeKeys: readonly string[],
  partitions: readonly string[],
): string[] {
  if (bronzeKeys.length === 0) return [];
  const source = retractedKeysSource(contract, bronzeKeys, partitions);
  const statements = [currentRetraction(contract, source)];
  // After the current state: its stale rows are fixed by then, so this one reads the stale deletes only.
  if (contract.deletes) statements.push(deletedRetraction(contract, source));
  return statements;
}

/**
 * One row per affected key: its latest remaining version's columns (null when none remains), `_gone` and
 * `_is_delete`.
 */
function retractedKeysSource(
  contract: DatasetContract,
  bronzeKeys: readonly string[],
  partitions: readonly string[],
): string {
  const keys = contract.primaryKey;
  const columns = currentStateColumns(contract).map((c) => c.name);
  const keySet = new Set(keys);
  const others = columns.filter((c) => !keySet.has(c));
  const history = sqlIdent(historyTableName(contract.dataset));
  const inRerun = (alias: string) =>
    `${alias}.${sqlIdent(BRONZE_KEY)} IN (${bronzeKeys.map(sqlString).join(', ')})`;
  const sameVersion = (alias: string, withPartition: boolean) =>
    [
      `h.${sqlIdent(BRONZE_KEY)} = ${alias}.${sqlIdent(BRONZE_KEY)}`,
      ...(withPartition ? [`h.${sqlIdent(PARTITION_KEY)} = ${alias}.${sqlIdent(PARTITION_KEY)}`] : []),
      keyMatch(contract, 'h', alias),
    ].join(' AND ');
  const keyList = (alias: string) => keys.map((k) => `${alias}.${sqlIdent(k)}`).join(', ');
  const currentPartitions = targetPartitionFilter(contract, { kind: 'partitions', partitions }, 'c');
  const affected = [
    `SELECT ${keyList('c')} FROM ${sqlIdent(currentTableName(contract.dataset))} AS c`,
    `WHERE ${[inRerun('c'), ...(currentPartitions ? [currentPartitions] : [])].join(' AND ')}`,
    `AND NOT EXISTS (SELECT 1 FROM ${history} AS h WHERE ${sameVersion('c', true)})`,
    ...(contract.deletes
      ? [
          'UNION',
          `SELECT ${keyList('d')} FROM ${sqlIdent(deletedTableName(contract.dataset))} AS d`,
          `WHERE ${inRerun('d')}`,
          `AND NOT EXISTS (SELECT 1 FROM ${history} AS h WHERE ${sameVersion('d', false)})`,
        ]
      : []),
  ].join('\n');
  const historyPartitions = targetPartitionFilter(contract, { kind: 'partitions', partitions }, 'h');
  return [
    `SELECT ${[...keys.map(sqlIdent), ...others.map(sqlIdent)].join(', ')},`,
    `  ${GONE}, ${isDelete(contract, 'v')} AS ${IS_DELETE}`,
    'FROM (',
    `  SELECT ${[...keys.map((k) => `a.${sqlIdent(k)}`), ...others.map((c) => `h.${sqlIdent(c)}`)].join(', ')},`,
    `    h.${sqlIdent(keys[0] as string)} IS NULL AS ${GONE},`,
    `    row_number() OVER (PARTITION BY ${keyList('a')} ORDER BY ${versionOrder(contract, 'h')}) AS ${RANK}`,
    `  FROM (\n${affected}\n) AS a`,
    `  LEFT JOIN ${history} AS h ON ${[keyMatch(contract, 'a', 'h'), ...(historyPartitions ? [historyPartitions] : [])].join(' AND ')}`,
    `) AS v WHERE ${RANK} = 1`,
  ].join('\n');
}

/** The MERGE into `table` (of `columns`) from the retraction source, with its WHEN clauses. */
function retractionMerge(
  contract: DatasetContract,
  table: string,
  columns: readonly string[],
  source: string,
  when: { readonly remove: string; readonly insert: string },
): string {
  return [
    `MERGE INTO ${sqlIdent(table)} AS t`,
    `USING (\n${source}\n) AS s`,
    `ON (${keyMatch(contract, 't', 's')})`,
    `WHEN MATCHED AND (${when.remove}) THEN DELETE`,
    `WHEN MATCHED THEN ${updateFromSource(columns, contract.primaryKey)}`,
    `WHEN NOT MATCHED AND ${when.insert} THEN ${insertFromSource(columns)}`,
  ].join('\n');
}

/** The current state: the latest remaining version's row, or no row when none remains or it is a delete. */
function currentRetraction(contract: DatasetContract, source: string): string {
  return retractionMerge(
    contract,
    currentTableName(contract.dataset),
    currentStateColumns(contract).map((c) => c.name),
    source,
    { remove: `s.${GONE} OR s.${IS_DELETE}`, insert: `NOT s.${GONE} AND NOT s.${IS_DELETE}` },
  );
}

/** The deleted keys: the latest remaining version when it is a delete, else no row. */
function deletedRetraction(contract: DatasetContract, source: string): string {
  return retractionMerge(
    contract,
    deletedTableName(contract.dataset),
    deletedKeysColumns(contract).map((c) => c.name),
    source,
    { remove: `s.${GONE} OR NOT s.${IS_DELETE}`, insert: `s.${IS_DELETE}` },
  );
}
