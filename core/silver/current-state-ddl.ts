/**
 * The DDL that creates and evolves a dataset's Iceberg tables (`<dataset>_history`, `<dataset>`, and
 * `<dataset>_deleted` for contracts with `deletes`): tables that Athena creates, not CloudFormation. An update of an
 * Iceberg `AWS::Glue::Table` by CloudFormation replaces the table input and drops the `metadata_location`
 * Glue set, leaving a table Athena cannot read; DDL run by the workflow keeps Iceberg's metadata Iceberg's.
 *
 * Evolution is additive: a column the contract adds is added (`ALTER TABLE ... ADD COLUMNS`); a column
 * whose type changed cannot be altered in place and fails the plan with what to do (drop the table: the
 * next run rebuilds the current state from the history, the history from the arrivals it still holds,
 * and a replay from bronze restores older history).
 */
import type { DatasetContract } from '../contracts/dataset-contract';
import { ConfigError } from '../errors';
import { PARTITION_KEY } from '../lake/layout';
import type { SilverColumn } from '../sql/silver-schema';
import { athenaTypeOf } from '../sql/types';
import {
  arrivalsTableName,
  currentStateColumns,
  currentTableName,
  deletedKeysColumns,
  deletedTableName,
  historyTableName,
} from './tables';

/** A table as Glue's GetTables describes it (the fields used here). */
export interface CatalogTable {
  readonly Name: string;
  readonly StorageDescriptor?: {
    readonly Columns?: readonly { readonly Name: string; readonly Type?: string }[];
  };
}

/** Where a dataset's Iceberg tables live: `s3://<silver>/<prefix>` without a trailing '/'. */
export interface TableLocations {
  readonly history: string;
  readonly current: string;
  readonly deleted: string;
}

/**
 * A DDL string literal. Athena reads DDL with Hive's grammar, where a quote is escaped with a backslash
 * (`''` would be read as two adjacent literals, dropping the quote).
 */
const ddlString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Athena DDL quotes identifiers with backticks (double quotes are for DML). */
const ddlIdent = (name: string) => `\`${name.replace(/`/g, '``')}\``;

/** The statements that make the dataset's Iceberg tables match its contract (none when they do). */
export function currentStateDdl(
  contract: DatasetContract,
  locations: TableLocations,
  existing: readonly CatalogTable[],
): string[] {
  const tables = [
    {
      name: historyTableName(contract.dataset),
      columns: currentStateColumns(contract),
      location: locations.history,
      partitioned: true,
    },
    {
      name: currentTableName(contract.dataset),
      columns: currentStateColumns(contract),
      location: locations.current,
      partitioned: true,
    },
    ...(contract.deletes
      ? [
          {
            name: deletedTableName(contract.dataset),
            columns: deletedKeysColumns(contract),
            location: locations.deleted,
            partitioned: false,
          },
        ]
      : []),
  ];
  const statements: string[] = [];
  for (const t of tables) {
    const found = existing.find((e) => e.Name === t.name);
    if (!found) {
      statements.push(createTable(contract, t.name, t.columns, t.location, t.partitioned));
      continue;
    }
    const have = new Map((found.StorageDescriptor?.Columns ?? []).map((c) => [c.Name, c.Type ?? '']));
    const missing: SilverColumn[] = [];
    for (const c of t.columns) {
      const type = athenaTypeOf(c.type);
      const current = have.get(c.name);
      if (current === undefined) missing.push(c);
      else if (normalizeType(current) !== normalizeType(type)) {
        const rebuild =
          t.name === historyTableName(contract.dataset)
            ? `the next run rebuilds it from ${arrivalsTableName(contract.dataset)} (the files of the last retention.silverArrivalsDays days); replay the dataset from bronze (npm run replay) to restore older history`
            : `the next run rebuilds it from ${historyTableName(contract.dataset)}`;
        throw new ConfigError(
          `silver tables of ${contract.dataset}: column '${c.name}' of table ${t.name} is ${current}, the contract (${contract.file}) now makes it ${type}; ` +
            `Iceberg cannot change that in place: drop the table ${t.name} (DROP TABLE \`${t.name}\` in Athena) and ${rebuild}`,
        );
      }
    }
    if (missing.length > 0) {
      statements.push(
        `ALTER TABLE ${ddlIdent(t.name)} ADD COLUMNS (${missing.map((c) => columnDefinition(c)).join(', ')})`,
      );
    }
  }
  return statements;
}

function createTable(
  contract: DatasetContract,
  name: string,
  columns: SilverColumn[],
  location: string,
  partitioned: boolean,
): string {
  return [
    `CREATE TABLE IF NOT EXISTS ${ddlIdent(name)} (`,
    columns.map((c) => `  ${columnDefinition(c, contract)}`).join(',\n'),
    ')',
    ...(partitioned ? [`PARTITIONED BY (${ddlIdent(PARTITION_KEY)})`] : []),
    `LOCATION ${ddlString(location)}`,
    "TBLPROPERTIES ('table_type' = 'ICEBERG', 'format' = 'parquet', 'write_compression' = 'zstd')",
  ].join('\n');
}

const LINEAGE_COMMENTS: Record<string, string> = {
  _extra:
    'Source fields the contract does not declare, as a JSON object (null when there were none); values are salted SHA-256 hashes unless the contract sets unknownValues: keep.',
  _bronze_key: 'Key of the bronze object this version was read from.',
  _ingested_at: 'When the file holding this version landed in bronze (UTC).',
};

function columnDefinition(c: SilverColumn, contract?: DatasetContract): string {
  const comment =
    c.column?.description ??
    LINEAGE_COMMENTS[c.name] ??
    (c.name === PARTITION_KEY && contract
      ? `UTC ${contract.partition.granularity} of ${contract.partition.column}: filter on it to prune.`
      : undefined);
  // Glue keeps at most 255 characters of a column comment.
  const clipped = comment && comment.length > 255 ? `${comment.slice(0, 254)}…` : comment;
  return `${ddlIdent(c.name)} ${athenaTypeOf(c.type)}${clipped ? ` COMMENT ${ddlString(clipped)}` : ''}`;
}

/** Glue may return `decimal(10, 2)` or `DECIMAL(10,2)`: compare types without case or spaces. */
function normalizeType(type: string): string {
  return type.replace(/\s+/g, '').toLowerCase();
}
