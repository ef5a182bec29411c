/**
 * The lake as SQL: a Glue database with the tables of every silver dataset and gold table, and the Athena
 * workgroup that queries them.
 *
 * Each dataset has up to four tables (names from `core/silver/tables.ts`):
 * - `<dataset>_arrivals`: what the transforms wrote, one Parquet file per bronze object and partition, kept
 *   for a retention period (a Hive table, the only one CloudFormation declares). Partitions are projected
 *   (computed from the `dt` range at query time) instead of registered: no crawler, no `MSCK REPAIR`, and
 *   a new day is queryable the moment its first file lands.
 * - `<dataset>_history`: every version of every row (an Iceberg v2 table, partitioned by `dt`, which the
 *   gold workflow appends the arrivals to).
 * - `<dataset>`: the current state, one row per primary key (an Iceberg v2 table, partitioned by `dt`,
 *   kept by MERGE INTO from the history).
 * - `<dataset>_deleted`: the keys deleted so far (an Iceberg v2 table), for contracts with `deletes` only.
 *
 * Their columns are derived from the transform's own column list (`silverSchema`), so the catalog cannot
 * drift from the Parquet the transform writes.
 */
import { Size, Stack } from 'aws-cdk-lib';
import type * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { DatasetContract } from '../core/contracts/dataset-contract';
import { LINEAGE_PARAMETERS } from '../core/gold/lineage';
import type { GoldTableDefinition } from '../core/gold/models';
import {
  currentStatePrefix,
  datasetPrefixes,
  deletedKeysPrefix,
  goldUnpublishedPrefix,
  historyPrefix,
  PARTITION_KEY,
} from '../core/lake/layout';
import {
  arrivalsTableName,
  currentTableName,
  deletedTableName,
  historyTableName,
  LONGEST_TABLE_SUFFIX,
} from '../core/silver/tables';
import { type SilverColumn, silverSchema } from '../core/sql/silver-schema';
import { athenaTypeOf, isAthenaType } from '../core/sql/types';
import { lakeWorkGroup } from './lake-workgroup';

/** A column as the Glue catalog stores it (`type` in Hive/Athena DDL syntax). */
export interface CatalogColumn {
  readonly name: string;
  readonly type: string;
  readonly comment?: string;
}

/** Properties of {@link DataCatalog}. */
export interface DataCatalogProps {
  /** The deployment's name (`MedallionConfig.environment`): names the database and the workgroup. */
  readonly environment: string;
  /**
   * The validated data contracts: an arrivals table each is declared here; their history, current-state
   * (and deleted-keys) tables are the gold workflow's.
   */
  readonly contracts: DatasetContract[];
  readonly goldBucket: s3.IBucket;
  /** Where the workgroup writes query results. */
  readonly athenaResultsBucket: s3.IBucket;
  /** The lake key: query results are encrypted with it, like everything else in the lake. */
  readonly key: kms.IKey;
  /**
   * The Glue database (lower-case letters, digits and '_': Athena folds names to lower case).
   * @default `medallion_<environment>`, '-' replaced by '_'
   */
  readonly databaseName?: string;
  /**
   * The Athena workgroup; also the key prefix of its results in the athena-results bucket.
   * @default `medallion-<environment>`
   */
  readonly workGroupName?: string;
  /**
   * A query that scans more than this is cancelled (the workgroup enforces it; Athena's minimum is 10 MB).
   * @default Size.gibibytes(10)
   */
  readonly bytesScannedCutoffPerQuery?: Size;
  /**
   * Gold tables to declare. Each starts at a placeholder location; the gold workflow points it at the
   * prefix it publishes.
   * @default []
   */
  readonly goldTables?: GoldTableDefinition[];
}

/** Parquet as Glue declares it (Hive input/output formats and SerDe). */
export const PARQUET = {
  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  serdeInfo: {
    serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    parameters: { 'serialization.format': '1' },
  },
};

/**
 * Table and column names: lower-case, as Athena folds them anyway (an upper-case name could never match),
 * and at most 63 characters, the contracts' identifier rule (Glue and Athena would take 255): a dataset
 * name therefore leaves room for the longest suffix of its tables (`LONGEST_TABLE_SUFFIX`, `_arrivals`)
 * or fails synth.
 */
const NAME = /^[a-z][a-z0-9_]{0,62}$/;
const MAX_NAME_LENGTH = 63;
const MAX_DATASET_NAME_LENGTH = MAX_NAME_LENGTH - LONGEST_TABLE_SUFFIX.length;
const DATABASE_NAME = /^[a-z][a-z0-9_]{0,254}$/;
const WORKGROUP_NAME = /^[A-Za-z0-9._-]{1,128}$/;
/** Athena refuses a smaller per-query cutoff. */
const MIN_CUTOFF_BYTES = 10_000_000;
/** Glue's limits on a column comment and a table description. */
const MAX_COMMENT = 255;
const MAX_DESCRIPTION = 2048;

/** The Glue database of a deployment unless told otherwise: `medallion_<environment>`, '-' as '_'. */
export function defaultDatabaseName(environment: string): string {
  return `medallion_${environment.replace(/-/g, '_')}`;
}

const LINEAGE_COMMENTS: Record<string, string> = {
  _extra:
    'Source fields the contract does not declare, as a JSON object (null when there were none); values are salted SHA-256 hashes unless the contract sets unknownValues: keep.',
  _bronze_key: 'Key of the bronze object this row was read from.',
  _ingested_at: 'When the file landed in bronze (UTC).',
};

/**
 * The columns of a dataset's arrivals table (the Parquet files the transform writes), in file order: the
 * contract's columns minus `pii: drop` (hashed ones as strings), then `_extra` when unknown columns are
 * kept, then the lineage columns.
 * Names and types come from `silverSchema`, the list the transform writes; comments come from the
 * contract. The partition column `dt` is not among them (it is the table's partition key).
 */
export function silverTableColumns(contract: DatasetContract): CatalogColumn[] {
  return catalogColumns(contract, silverSchema(contract));
}

function catalogColumns(contract: DatasetContract, columns: SilverColumn[]): CatalogColumn[] {
  return columns.map(({ name, type, column: col }) => {
    let comment = col ? col.description : LINEAGE_COMMENTS[name];
    if (!col && name === PARTITION_KEY) comment = partitionComment(contract);
    if (col?.pii === 'hash') comment = joinText(comment, '(pii: salted SHA-256, hex)');
    if (col?.pii === 'mask') comment = joinText(comment, '(pii: masked, last 4 characters kept)');
    return withComment({ name, type: athenaTypeOf(type) }, comment);
  });
}

/** What `dt` holds, on the arrivals' partition key and the Iceberg tables' `dt` column alike. */
export function partitionComment(contract: DatasetContract): string {
  const { granularity, column } = contract.partition;
  const format = granularity === 'day' ? 'YYYY-MM-DD' : 'YYYY-MM';
  return `UTC ${granularity} of ${column} (${format}): filter on it to prune.`;
}

/** A table of a dataset, with the key prefix of its files in the silver bucket (for read grants). */
export interface SilverTableLocation {
  readonly name: string;
  /** Ends with '/'. */
  readonly prefix: string;
}

/**
 * Every table of a dataset, wherever it is declared (CloudFormation or the gold workflow's DDL): current
 * state, history, arrivals and, with `deletes`, deleted keys.
 */
export function silverTableLocations(contract: DatasetContract): SilverTableLocation[] {
  const { domain, dataset } = contract;
  return [
    { name: currentTableName(dataset), prefix: currentStatePrefix(domain, dataset) },
    { name: historyTableName(dataset), prefix: historyPrefix(domain, dataset) },
    { name: arrivalsTableName(dataset), prefix: datasetPrefixes.data(contract) },
    ...(contract.deletes
      ? [{ name: deletedTableName(dataset), prefix: deletedKeysPrefix(domain, dataset) }]
      : []),
  ];
}

/**
 * The Glue catalog of the lake and the Athena workgroup to query it.
 *
 * - per contract, one table declared here: `<dataset>_arrivals` (logical id `Arrivals-<dataset>`) at
 *   `s3://<silver>/<domain>/<dataset>/`, Parquet, partitioned by `dt` (UTC day `YYYY-MM-DD` or month
 *   `YYYY-MM`) with partition projection: what each transform wrote, one file per bronze object and
 *   partition, kept `arrivalsExpiration` (the silver bucket's lifecycle expires older files);
 * - per contract, the Iceberg v2 tables the gold workflow creates with Athena DDL (not here, see below):
 *   - `<dataset>_history`: every version of every row, at `s3://<silver>/_history/<domain>/<dataset>`,
 *     its columns the arrivals' plus `dt`, partitioned by identity(`dt`); the workflow appends the
 *     arrivals to it;
 *   - `<dataset>`: the current state, one row per primary key, at
 *     `s3://<silver>/_current/<domain>/<dataset>`, the history's columns, partitioned by identity(`dt`);
 *   - `<dataset>_deleted` (contracts with `deletes`): the deleted keys, an unpartitioned table at
 *     `s3://<silver>/_deleted/<domain>/<dataset>`;
 * - one gold table per `goldTables` entry: `s3://<gold>/<name>/`, created at the placeholder
 *   `s3://<gold>/<name>/_unpublished/` until the gold workflow publishes a version;
 * - a workgroup that enforces its settings on every query: results under `<workgroup name>/` in the
 *   athena-results bucket encrypted with the lake key, a per-query scan cutoff, CloudWatch metrics.
 *
 * Every table name must be unique in the database, whichever kind declares it (a dataset `orders_history`
 * next to `orders`, a gold table `orders_arrivals`): synth fails naming both.
 *
 * Upgrading a deployment from before the current state: the silver table named `<dataset>` was the Hive
 * table `Silver-<dataset>`; `<dataset>` is now an Iceberg table the workflow creates. CloudFormation
 * creates the new resources before it deletes the old ones and a table name cannot move between resources
 * in one update, so remove the old `<dataset>` tables first (their data stays in S3), then deploy.
 *
 * Upgrading a deployment from before the arrivals: the Hive table `<dataset>_history` (`History-<dataset>`)
 * becomes `<dataset>_arrivals` (`Arrivals-<dataset>`). CloudFormation replaces it (creates the new table,
 * deletes the old one); the data files stay where they are, under `<domain>/<dataset>/`. The workflow's
 * first run then creates `<dataset>_history` (Iceberg) and fills it from the arrivals. The same deploy adds
 * the lifecycle rules that expire arrivals older than `arrivalsExpiration` (by the files' age, within a
 * day or two of the deploy): deploy the upgrade with a `retention.silverArrivalsDays` longer than the
 * oldest arrivals, and lower it once a run has filled the history. Otherwise the older files are only
 * recoverable as noncurrent versions (for `retention.noncurrentVersionDays`) or by a replay from bronze.
 *
 * The Iceberg tables are left to the workflow because Glue writes Iceberg metadata only when it creates a
 * table, and a CloudFormation update of an Iceberg `AWS::Glue::Table` replaces its `TableInput`, dropping
 * the `table_type` and `metadata_location` Glue set (aws-cloudformation/cloudformation-coverage-roadmap
 * #1919).
 *
 * Deleting the stack deletes the metadata of the arrivals and gold tables only: the data stays in the
 * (retained) buckets, and the catalog is re-created from the contracts.
 */
export class DataCatalog extends Construct {
  public readonly database: glue.CfnDatabase;
  public readonly databaseName: string;
  /** Gold tables by table name. */
  public readonly goldTables: ReadonlyMap<string, glue.CfnTable>;
  public readonly workGroup: athena.CfnWorkGroup;
  public readonly workGroupName: string;
  /** Key prefix of the workgroup's results in the athena-results bucket (`<workgroup name>/`). */
  public readonly queryResultsPrefix: string;

  constructor(scope: Construct, id: string, props: DataCatalogProps) {
    super(scope, id);
    const { contracts, goldBucket } = props;
    const catalogId = Stack.of(this).account;

    this.databaseName = props.databaseName ?? defaultDatabaseName(props.environment);
    this.workGroupName = props.workGroupName ?? `medallion-${props.environment}`;
    const cutoff = (props.bytesScannedCutoffPerQuery ?? Size.gibibytes(10)).toBytes();
    const gold = props.goldTables ?? [];
    validate(this.databaseName, this.workGroupName, cutoff, contracts, gold);

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId,
      databaseInput: {
        name: this.databaseName,
        description: `medallion (${props.environment}): silver datasets and gold tables of the data lake`,
      },
    });

    const goldTables = new Map<string, glue.CfnTable>();
    for (const def of gold) {
      // A placeholder under the table's own prefix: queries before the first publication return no rows
      // instead of failing. Note that an update of this resource by CloudFormation (a changed definition)
      // resets the location here; the gold workflow must publish again after such a deploy.
      const location = `s3://${goldBucket.bucketName}/${goldUnpublishedPrefix(def.name)}`;
      const table = new glue.CfnTable(this, `Gold-${def.name}`, {
        catalogId,
        databaseName: this.database.ref,
        tableInput: {
          name: def.name,
          description: def.description === undefined ? undefined : clip(def.description, MAX_DESCRIPTION),
          tableType: 'EXTERNAL_TABLE',
          // Lineage and the product's version and domain (see core/gold/lineage.ts); the gold workflow adds
          // the run that built each published version.
          ...(def.product?.owner ? { owner: clip(def.product.owner.contact, 255) } : {}),
          parameters: {
            EXTERNAL: 'TRUE',
            classification: 'parquet',
            [LINEAGE_PARAMETERS.sources]: (def.sources ?? []).join(','),
            ...(def.product ? { [LINEAGE_PARAMETERS.version]: def.product.version } : {}),
            ...(def.product?.domain ? { [LINEAGE_PARAMETERS.domain]: def.product.domain } : {}),
          },
          // An incremental model's partitions are registered one by one, each at its own location, by the
          // gold workflow (no projection: the locations differ per partition and per run).
          ...(def.partitionKeys
            ? {
                partitionKeys: def.partitionKeys.map((c) =>
                  withComment({ name: c.name, type: c.type }, c.description),
                ),
              }
            : {}),
          storageDescriptor: {
            ...PARQUET,
            location,
            columns: def.columns.map((c) => withComment({ name: c.name, type: c.type }, c.description)),
          },
        },
      });
      goldTables.set(def.name, table);
    }
    this.goldTables = goldTables;

    // A prefix of its own (not the bucket root), so query principals can be granted this prefix only.
    this.queryResultsPrefix = `${this.workGroupName}/`;
    this.workGroup = lakeWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description: `medallion (${props.environment}): queries on the lake, results encrypted with the lake key`,
      resultsBucket: props.athenaResultsBucket,
      resultsPrefix: this.queryResultsPrefix,
      key: props.key,
      account: catalogId,
      bytesScannedCutoffPerQuery: cutoff,
    });
  }
}

/** Fails synth, naming every problem, on names or settings Glue or Athena would refuse at deploy. */
function validate(
  databaseName: string,
  workGroupName: string,
  cutoff: number,
  contracts: DatasetContract[],
  gold: GoldTableDefinition[],
): void {
  const problems: string[] = [];
  if (!DATABASE_NAME.test(databaseName)) {
    problems.push(`database name '${databaseName}' must be lower-case letters, digits and '_'`);
  }
  if (!WORKGROUP_NAME.test(workGroupName)) {
    problems.push(`workgroup name '${workGroupName}' must be letters, digits, '.', '_' and '-' (max 128)`);
  }
  if (!Number.isInteger(cutoff) || cutoff < MIN_CUTOFF_BYTES) {
    problems.push(`bytesScannedCutoffPerQuery must be at least ${MIN_CUTOFF_BYTES} bytes (10 MB)`);
  }
  // Every table name, whoever owns it: a dataset's current state, history, arrivals and deleted keys, a
  // gold table.
  const silver = new Map<string, string>();
  for (const c of contracts) {
    const tooLong = c.dataset.length > MAX_DATASET_NAME_LENGTH;
    if (tooLong) {
      problems.push(
        `dataset '${c.dataset}': its table '${c.dataset}${LONGEST_TABLE_SUFFIX}' would be longer than ` +
          `${MAX_NAME_LENGTH} characters (shorten the dataset name to ${MAX_DATASET_NAME_LENGTH} at most)`,
      );
    }
    const roles: [string, string][] = [
      [currentTableName(c.dataset), 'current-state table'],
      [historyTableName(c.dataset), 'history table'],
      [arrivalsTableName(c.dataset), 'arrivals table'],
      ...(c.deletes ? [[deletedTableName(c.dataset), 'deleted-keys table'] as [string, string]] : []),
    ];
    for (const [name, role] of roles) {
      const owner = `the ${role} of dataset '${c.dataset}'`;
      if (!tooLong && !NAME.test(name)) {
        problems.push(
          `${owner}: name '${name}' is not a valid table name (lower-case, at most 63 characters)`,
        );
      }
      const other = silver.get(name);
      if (other) problems.push(`table '${name}' is declared twice: ${other} and ${owner}`);
      else silver.set(name, owner);
    }
  }
  const seen = new Set<string>();
  for (const t of gold) {
    if (!NAME.test(t.name)) {
      problems.push(`gold table '${t.name}': name must be lower-case letters, digits and '_' (max 63)`);
    }
    const owner = silver.get(t.name);
    if (owner) problems.push(`gold table '${t.name}': a silver table (${owner}) has that name`);
    if (seen.has(t.name)) problems.push(`gold table '${t.name}' is declared twice`);
    seen.add(t.name);
    if (t.columns.length === 0) problems.push(`gold table '${t.name}' has no column`);
    const names = new Set<string>();
    for (const c of t.columns) {
      if (!NAME.test(c.name)) problems.push(`gold table '${t.name}': invalid column name '${c.name}'`);
      if (names.has(c.name)) problems.push(`gold table '${t.name}': duplicate column '${c.name}'`);
      names.add(c.name);
      if (!isAthenaType(c.type)) {
        problems.push(
          `gold table '${t.name}': column '${c.name}' has type '${c.type}', not an Athena type ` +
            '(string, int, bigint, double, decimal(p,s), boolean, date, timestamp, array<...>...)',
        );
      }
    }
  }
  if (problems.length > 0) throw new Error(`invalid data catalog:\n  - ${problems.join('\n  - ')}`);
}

function withComment(column: { name: string; type: string }, comment: string | undefined): CatalogColumn {
  return comment ? { ...column, comment: clip(comment, MAX_COMMENT) } : column;
}

function joinText(a: string | undefined, b: string): string {
  return a ? `${a} ${b}` : b;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A table description: the dataset's own, then what this table is; clipped to Glue's limit. */
export function tableDescription(about: string, role: string): string {
  return clip(`${about} ${role}`, MAX_DESCRIPTION);
}
