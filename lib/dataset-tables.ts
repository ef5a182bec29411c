/**
 * The Glue tables a domain declares for its datasets: one `<dataset>_arrivals` table each (Hive, partition
 * projected), in the platform's database. The Iceberg tables (`<dataset>_history`, `<dataset>`,
 * `<dataset>_deleted`) are the gold workflow's (see `DataCatalog`, which also checks every name of the
 * lake for collisions).
 */
import { type Duration, Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { DatasetContract } from '../core/contracts/dataset-contract';
import { datasetPrefixes, isoDate, PARTITION_KEY, silverPartitionPrefix } from '../core/lake/layout';
import { arrivalsTableName, currentTableName, historyTableName } from '../core/silver/tables';
import { PARQUET, partitionComment, silverTableColumns, tableDescription } from './data-catalog';

/** Properties of {@link DatasetTables}. */
export interface DatasetTablesProps {
  /** The Glue database (the platform's `DataCatalog.databaseName`). */
  readonly databaseName: string;
  /** The datasets whose arrivals tables are declared. */
  readonly contracts: DatasetContract[];
  readonly silverBucket: s3.IBucket;
  /**
   * First day of the projected `dt` range (`YYYY-MM-DD`, UTC; monthly datasets start at its month). Rows
   * partitioned before it are invisible to Athena; an early start only costs an S3 listing per empty
   * partition in queries that do not filter on `dt`. The range ends at NOW (UTC, at query time).
   * @default '2020-01-01'
   */
  readonly partitionProjectionStart?: string;
  /**
   * How long the silver bucket keeps the arrivals (`LakeStorageProps.silverArrivalsExpiration`): said in
   * the arrivals tables' descriptions.
   * @default - the arrivals do not expire
   */
  readonly arrivalsExpiration?: Duration;
}

/** What Athena replaces with a projected partition value in `storage.location.template`. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's placeholder syntax, not a JS template
const PROJECTED_VALUE = '${dt}';

/**
 * Per contract, `<dataset>_arrivals` (logical id `Arrivals-<dataset>`) at `s3://<silver>/<domain>/<dataset>/`,
 * Parquet, partitioned by `dt` (UTC day `YYYY-MM-DD` or month `YYYY-MM`) with partition projection (no
 * crawler, no `MSCK REPAIR`: a new day is queryable the moment its first file lands): what each transform
 * wrote, one file per bronze object and partition, kept `arrivalsExpiration`.
 */
export class DatasetTables extends Construct {
  /** The arrivals tables by dataset name (table name `<dataset>_arrivals`). */
  public readonly arrivalsTables: ReadonlyMap<string, glue.CfnTable>;

  constructor(scope: Construct, id: string, props: DatasetTablesProps) {
    super(scope, id);
    const start = props.partitionProjectionStart ?? '2020-01-01';
    const startDate = new Date(`${start}T00:00:00Z`);
    if (
      !/^\d{4}-\d{2}-\d{2}$/.test(start) ||
      Number.isNaN(startDate.getTime()) ||
      isoDate(startDate) !== start
    )
      throw new Error(
        `invalid data catalog:\n  - partitionProjectionStart '${start}' must be a date YYYY-MM-DD`,
      );
    const tables = new Map<string, glue.CfnTable>();
    for (const contract of props.contracts) {
      tables.set(contract.dataset, this.arrivalsTable(props, contract, start));
    }
    this.arrivalsTables = tables;
  }

  private arrivalsTable(props: DatasetTablesProps, contract: DatasetContract, start: string): glue.CfnTable {
    const silverUrl = (prefix: string) => `s3://${props.silverBucket.bucketName}/${prefix}`;
    const day = contract.partition.granularity === 'day';
    // The partition directory as the transform writes it, with Athena's placeholder for the value.
    const template = silverUrl(silverPartitionPrefix(contract.domain, contract.dataset, PROJECTED_VALUE));
    const keptDays = props.arrivalsExpiration?.toDays();
    const kept = keptDays === undefined ? '' : `, kept ${keptDays} days`;
    return new glue.CfnTable(this, `Arrivals-${contract.dataset}`, {
      catalogId: Stack.of(this).account,
      databaseName: props.databaseName,
      tableInput: {
        name: arrivalsTableName(contract.dataset),
        description: tableDescription(
          contract.description ?? `Silver dataset ${contract.id}.`,
          `Arrivals: what each transform wrote, one Parquet file per bronze object and partition${kept}; ` +
            `the gold workflow appends them to ${historyTableName(contract.dataset)} (every version of ` +
            `every row); the current state is ${currentTableName(contract.dataset)}.`,
        ),
        owner: contract.owner?.contact,
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          EXTERNAL: 'TRUE',
          classification: 'parquet',
          'projection.enabled': 'true',
          [`projection.${PARTITION_KEY}.type`]: 'date',
          // Java date patterns; the same values the transform writes (UTC), see `partitionValue`.
          [`projection.${PARTITION_KEY}.format`]: day ? 'yyyy-MM-dd' : 'yyyy-MM',
          [`projection.${PARTITION_KEY}.range`]: `${day ? start : start.slice(0, 7)},NOW`,
          [`projection.${PARTITION_KEY}.interval`]: '1',
          [`projection.${PARTITION_KEY}.interval.unit`]: day ? 'DAYS' : 'MONTHS',
          'storage.location.template': template,
        },
        partitionKeys: [{ name: PARTITION_KEY, type: 'string', comment: partitionComment(contract) }],
        storageDescriptor: {
          ...PARQUET,
          location: silverUrl(datasetPrefixes.data(contract)),
          columns: silverTableColumns(contract),
        },
      },
    });
  }
}
