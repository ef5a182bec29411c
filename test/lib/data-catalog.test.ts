/**
 * The Glue catalog and the Athena workgroup: silver columns derived from the transform's column list,
 * the arrivals tables' partition projection per granularity, the Iceberg tables (history, current state,
 * deleted keys) left to the workflow, unique table names, gold placeholders, workgroup settings, and
 * cdk-nag.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Size, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { mapJsonKeys } from '../../core/contracts/column-mapping';
import { type DatasetContract, parseContract } from '../../core/contracts/dataset-contract';
import { loadContracts } from '../../core/contracts/load-contracts';
import type { GoldTableDefinition } from '../../core/gold/models';
import { arrivalsTableName, datasetTableNames, LONGEST_TABLE_SUFFIX } from '../../core/silver/tables';
import { SilverSql } from '../../core/sql/silver-sql';
import { athenaTypeOf, isAthenaType } from '../../core/sql/types';
import { contractsDirectory } from '../../lib/config';
import {
  DataCatalog,
  type DataCatalogProps,
  silverTableColumns,
  silverTableLocations,
} from '../../lib/data-catalog';
import { DatasetTables, type DatasetTablesProps } from '../../lib/dataset-tables';
import { LakeStorage } from '../../lib/lake-storage';
import { logicalId, testContext } from '../support/cdk';

const contracts = loadContracts(contractsDirectory({ contractsDir: 'samples/contracts' }));
const contract = (dataset: string) => contracts.find((c) => c.dataset === dataset) as DatasetContract;
const nameAndType = (cols: { name: string; type: string }[]) => cols.map((c) => [c.name, c.type]);

const LINEAGE = [
  ['_bronze_key', 'string'],
  ['_ingested_at', 'timestamp'],
];

/** A contract with every column type, a hashed key, a masked and a dropped column, and descriptions. */
const allTypes = parseContract(
  {
    domain: 'test',
    dataset: 'all_types',
    source: { format: 'ndjson' },
    columns: [
      { name: 'id', type: 'string', required: true, pii: 'hash', description: 'Customer key.' },
      { name: 'small', type: 'int32' },
      { name: 'big', type: 'int64', description: 'x'.repeat(300) },
      { name: 'ratio', type: 'double' },
      { name: 'amount', type: 'decimal(38, 0)' },
      { name: 'flag', type: 'boolean' },
      { name: 'day', type: 'date', required: true },
      { name: 'at', type: 'timestamp' },
      { name: 'nickname', type: 'string', pii: 'mask' },
      { name: 'secret', type: 'string', pii: 'drop' },
    ],
    primaryKey: ['id'],
    partition: { column: 'day', granularity: 'month' },
    unknownColumns: 'keep',
  },
  'all_types.yaml',
);

describe('silverTableColumns', () => {
  test('orders: contract types as Athena types, no _extra (unknown columns ignored), lineage last', () => {
    expect(nameAndType(silverTableColumns(contract('orders')))).toEqual([
      ['order_id', 'string'],
      ['order_ts', 'timestamp'],
      ['updated_at', 'timestamp'],
      ['customer_id', 'string'],
      ['store_id', 'string'],
      ['product_id', 'string'],
      ['quantity', 'int'],
      ['unit_price', 'decimal(10,2)'],
      ['currency', 'string'],
      ['status', 'string'],
      ...LINEAGE,
    ]);
  });

  test('customers: email hashed (string), phone dropped, _extra kept as a string', () => {
    const cols = silverTableColumns(contract('customers'));
    expect(nameAndType(cols)).toEqual([
      ['customer_id', 'string'],
      ['email', 'string'],
      ['full_name', 'string'],
      ['country', 'string'],
      ['signup_date', 'date'],
      ['updated_at', 'timestamp'],
      ['_extra', 'string'],
      ...LINEAGE,
    ]);
    expect(cols.find((c) => c.name === 'email')?.comment).toBe('(pii: salted SHA-256, hex)');
    expect(cols.find((c) => c.name === 'full_name')?.comment).toBe('(pii: masked, last 4 characters kept)');
    expect(cols.find((c) => c.name === '_extra')?.comment).toMatch(/JSON object/);
  });

  test('products: decimal and boolean', () => {
    expect(nameAndType(silverTableColumns(contract('products')))).toEqual([
      ['product_id', 'string'],
      ['name', 'string'],
      ['category', 'string'],
      ['unit_cost', 'decimal(10,2)'],
      ['active', 'boolean'],
      ['updated_at', 'timestamp'],
      ...LINEAGE,
    ]);
  });

  test('every contract type, pii rules, comments from descriptions (clipped to 255)', () => {
    const cols = silverTableColumns(allTypes);
    expect(nameAndType(cols)).toEqual([
      ['id', 'string'],
      ['small', 'int'],
      ['big', 'bigint'],
      ['ratio', 'double'],
      ['amount', 'decimal(38,0)'],
      ['flag', 'boolean'],
      ['day', 'date'],
      ['at', 'timestamp'],
      ['nickname', 'string'],
      ['_extra', 'string'],
      ...LINEAGE,
    ]);
    expect(cols[0].comment).toBe('Customer key. (pii: salted SHA-256, hex)');
    expect(cols[2].comment).toHaveLength(255);
    expect(cols[1]).not.toHaveProperty('comment');
  });

  test.each([...contracts, allTypes].map((c) => [c.dataset, c] as const))(
    '%s: exactly the columns the transform writes (SilverSql.silverColumns), in order, without dt',
    (_, c) => {
      const sql = new SilverSql(c, { path: 'x', header: [] }, mapJsonKeys(c), {
        bronzeKey: 'k',
        ingestedAt: new Date(),
        piiSalt: 's',
      });
      const written = sql.silverColumns().map((col) => [col.name, athenaTypeOf(col.type)]);
      expect(nameAndType(silverTableColumns(c))).toEqual(written);
      expect(written.map(([name]) => name)).not.toContain('dt');
    },
  );

  test('a transform type without an Athena equivalent fails instead of being mis-declared', () => {
    expect(() => athenaTypeOf('HUGEINT')).toThrow("no Athena type for the silver column type 'HUGEINT'");
    expect(athenaTypeOf('DECIMAL(18,4)')).toBe('decimal(18,4)');
  });
});

test.each([
  ['string', true],
  ['decimal(12, 2)', true],
  ['varchar(10)', true],
  ['array<string>', true],
  ['map<string,array<bigint>>', true],
  ['struct<a:int,b:decimal(10,2)>', true],
  ['int32', false],
  ['array<int64>', false],
  ['map<string>', false],
  ['array<string', false],
  ['text', false],
])('isAthenaType(%s) = %s', (type, ok) => {
  expect(isAthenaType(type)).toBe(ok);
});

const GOLD: GoldTableDefinition[] = [
  {
    name: 'daily_sales',
    description: 'Revenue per store and day.',
    columns: [
      { name: 'day', type: 'date', description: 'UTC order day.' },
      { name: 'store_id', type: 'string' },
      { name: 'revenue', type: 'decimal(18,2)' },
    ],
  },
];

type CatalogAndTablesProps = Partial<DataCatalogProps> &
  Partial<Pick<DatasetTablesProps, 'partitionProjectionStart' | 'arrivalsExpiration'>>;

/** The platform's catalog and the datasets' tables (a domain's, here in the same stack). */
function synth(props: CatalogAndTablesProps = {}) {
  const { partitionProjectionStart, arrivalsExpiration, ...catalogProps } = props;
  const app = new App({ context: testContext() });
  const stack = new Stack(app, 'Test');
  const storage = new LakeStorage(stack, 'Storage');
  const catalog = new DataCatalog(stack, 'Catalog', {
    environment: 'test-env',
    contracts,
    goldBucket: storage.goldBucket,
    athenaResultsBucket: storage.athenaResultsBucket,
    key: storage.key,
    ...catalogProps,
  });
  const datasets = new DatasetTables(stack, 'Tables', {
    databaseName: catalog.databaseName,
    contracts: catalogProps.contracts ?? contracts,
    silverBucket: storage.silverBucket,
    partitionProjectionStart,
    arrivalsExpiration,
  });
  return { t: Template.fromStack(stack), catalog, datasets, stack };
}

/** `{ Fn::Join: ['', ['s3://', { Ref: 'StorageSilverX' }, '/a/']] }` -> `s3://<StorageSilver>/a/`. */
function flat(v: unknown): string {
  if (typeof v === 'string') return v;
  const o = v as { 'Fn::Join'?: [string, unknown[]]; Ref?: string };
  if (o['Fn::Join']) return o['Fn::Join'][1].map(flat).join(o['Fn::Join'][0]);
  if (o.Ref) return `<${o.Ref.replace(/[0-9A-F]{8}$/, '')}>`;
  throw new Error(`unexpected value ${JSON.stringify(v)}`);
}

describe('DataCatalog with the sample contracts', () => {
  const { t, catalog, datasets } = synth({ goldTables: GOLD });
  const tables = t.findResources('AWS::Glue::Table');
  const tableInput = (name: string) => {
    const found = Object.values(tables).filter((r) => r.Properties.TableInput.Name === name);
    expect(found).toHaveLength(1);
    return found[0].Properties.TableInput;
  };
  const databaseId = logicalId(t, 'AWS::Glue::Database', 'CatalogDatabase');

  test('one database, named after the environment, in the account catalog', () => {
    t.resourceCountIs('AWS::Glue::Database', 1);
    t.hasResourceProperties('AWS::Glue::Database', {
      CatalogId: { Ref: 'AWS::AccountId' },
      DatabaseInput: { Name: 'medallion_test_env', Description: Match.stringLikeRegexp('test-env') },
    });
    expect(catalog.databaseName).toBe('medallion_test_env');
  });

  test('an arrivals table per contract, plus the gold tables, all in the database', () => {
    t.resourceCountIs('AWS::Glue::Table', contracts.length + GOLD.length);
    expect([...datasets.arrivalsTables.keys()].sort()).toEqual(['customers', 'orders', 'products']);
    expect([...catalog.goldTables.keys()]).toEqual(['daily_sales']);
    for (const r of Object.values(tables)) {
      // The gold tables beside the database; the datasets' in their domain's stack, by name.
      const gold = r.Properties.TableInput.Name === 'daily_sales';
      expect(r.Properties.DatabaseName).toEqual(gold ? { Ref: databaseId } : 'medallion_test_env');
      expect(r.Properties.CatalogId).toEqual({ Ref: 'AWS::AccountId' });
    }
  });

  test.each(contracts.map((c) => [c.dataset, c] as const))(
    '%s_arrivals: external Parquet table at s3://<silver>/<domain>/<dataset>/, typed columns, partitioned by dt',
    (dataset, c) => {
      const input = tableInput(`${dataset}_arrivals`);
      expect(input.TableType).toBe('EXTERNAL_TABLE');
      expect(input.Parameters).toMatchObject({ EXTERNAL: 'TRUE', classification: 'parquet' });
      expect(input.Description).toBe(
        `${c.description} Arrivals: what each transform wrote, one Parquet file per bronze object and ` +
          `partition; the gold workflow appends them to ${dataset}_history (every version of every row); ` +
          `the current state is ${dataset}.`,
      );
      expect(input.Owner).toBe(c.owner?.contact);
      const sd = input.StorageDescriptor;
      expect(sd.InputFormat).toBe('org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat');
      expect(sd.OutputFormat).toBe('org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat');
      expect(sd.SerdeInfo.SerializationLibrary).toBe(
        'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
      );
      expect(flat(sd.Location)).toBe(`s3://<StorageSilver>/retail/${dataset}/`);
      expect(sd.Columns.map((col: { Name: string; Type: string }) => [col.Name, col.Type])).toEqual(
        nameAndType(silverTableColumns(c)),
      );
      expect(input.PartitionKeys).toEqual([
        { Name: 'dt', Type: 'string', Comment: expect.stringContaining(c.partition.column) },
      ]);
    },
  );

  test('orders_arrivals: unit_price decimal(10,2), order_ts timestamp; customers_arrivals: email string, no phone', () => {
    const cols = (name: string) =>
      Object.fromEntries(
        tableInput(name).StorageDescriptor.Columns.map((c: { Name: string; Type: string }) => [
          c.Name,
          c.Type,
        ]),
      );
    expect(cols('orders_arrivals')).toMatchObject({ unit_price: 'decimal(10,2)', order_ts: 'timestamp' });
    expect(cols('customers_arrivals')).toMatchObject({ email: 'string', _extra: 'string' });
    expect(cols('customers_arrivals')).not.toHaveProperty('phone');
    expect(cols('orders_arrivals')).not.toHaveProperty('_extra');
  });

  test('day granularity: dates projected daily from the default start to NOW', () => {
    expect(tableInput('orders_arrivals').Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.dt.type': 'date',
      'projection.dt.format': 'yyyy-MM-dd',
      'projection.dt.range': '2020-01-01,NOW',
      'projection.dt.interval': '1',
      'projection.dt.interval.unit': 'DAYS',
    });
  });

  test('month granularity: months projected monthly', () => {
    expect(tableInput('customers_arrivals').Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.dt.type': 'date',
      'projection.dt.format': 'yyyy-MM',
      'projection.dt.range': '2020-01,NOW',
      'projection.dt.interval': '1',
      'projection.dt.interval.unit': 'MONTHS',
    });
  });

  test('storage.location.template is the Hive partition directory the transform writes', () => {
    for (const c of contracts) {
      expect(flat(tableInput(arrivalsTableName(c.dataset)).Parameters['storage.location.template'])).toBe(
        `s3://<StorageSilver>/retail/${c.dataset}/dt=\${dt}/`,
      );
    }
  });

  test('column comments come from the contract', () => {
    const email = tableInput('customers_arrivals').StorageDescriptor.Columns.find(
      (c: { Name: string }) => c.Name === 'email',
    );
    expect(email.Comment).toBe('(pii: salted SHA-256, hex)');
  });

  test('gold tables: Parquet at the unpublished placeholder under s3://<gold>/<name>/', () => {
    const input = tableInput('daily_sales');
    expect(input.TableType).toBe('EXTERNAL_TABLE');
    expect(input.Description).toBe('Revenue per store and day.');
    expect(input.PartitionKeys).toBeUndefined();
    expect(flat(input.StorageDescriptor.Location)).toBe('s3://<StorageGold>/daily_sales/_unpublished/');
    expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toMatch(/ParquetHiveSerDe$/);
    expect(input.StorageDescriptor.Columns).toEqual([
      { Name: 'day', Type: 'date', Comment: 'UTC order day.' },
      { Name: 'store_id', Type: 'string' },
      { Name: 'revenue', Type: 'decimal(18,2)' },
    ]);
  });

  test("gold tables record their lineage and product in their parameters: the model's sources, version, domain", () => {
    const { t } = synth({
      goldTables: [
        {
          name: 'daily_sales',
          columns: [{ name: 'n', type: 'bigint' }],
          sources: ['orders', 'products'],
          product: {
            domain: 'retail',
            owner: { contact: 'retail@example.com' },
            version: '2.1.0',
            readers: [],
          },
        },
      ],
    });
    const input = Object.values(t.findResources('AWS::Glue::Table')).find(
      (r) => r.Properties.TableInput.Name === 'daily_sales',
    )?.Properties.TableInput;
    expect(input.Owner).toBe('retail@example.com');
    expect(input.Parameters).toEqual({
      EXTERNAL: 'TRUE',
      classification: 'parquet',
      'medallion.sources': 'orders,products',
      'medallion.version': '2.1.0',
      'medallion.domain': 'retail',
    });
  });

  test('workgroup: enforced settings, 10 GiB cutoff, metrics, automatic engine version', () => {
    t.resourceCountIs('AWS::Athena::WorkGroup', 1);
    t.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'medallion-test-env',
      State: 'ENABLED',
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        PublishCloudWatchMetricsEnabled: true,
        RequesterPaysEnabled: false,
        EngineVersion: { SelectedEngineVersion: 'AUTO' },
      }),
    });
  });

  test('workgroup results: own prefix in the athena-results bucket, SSE-KMS with the lake key', () => {
    const wg = Object.values(t.findResources('AWS::Athena::WorkGroup'))[0];
    const result = wg.Properties.WorkGroupConfiguration.ResultConfiguration;
    expect(result.EncryptionConfiguration).toEqual({
      EncryptionOption: 'SSE_KMS',
      KmsKey: { 'Fn::GetAtt': [logicalId(t, 'AWS::KMS::Key', 'StorageKey'), 'Arn'] },
    });
    expect(result.ExpectedBucketOwner).toEqual({ Ref: 'AWS::AccountId' });
    const location = flat(result.OutputLocation);
    expect(location).toBe('s3://<StorageAthenaResults>/medallion-test-env/');
    expect(location.replace(/^s3:\/\//, '')).not.toContain('//');
    expect(catalog.queryResultsPrefix).toBe('medallion-test-env/');
  });
});

/** A contract with deletes, a latestBy, a bigint and a decimal column, an owner and a day partition. */
const accounts = parseContract(
  {
    domain: 'bank',
    dataset: 'accounts',
    description: 'Bank accounts.',
    owner: 'team-ledger',
    source: { format: 'ndjson' },
    columns: [
      { name: 'account_id', type: 'string', required: true, description: 'Account key.' },
      { name: 'balance', type: 'decimal(18,2)' },
      { name: 'visits', type: 'int64' },
      { name: 'op', type: 'string', normalize: ['upper'] },
      { name: 'updated_at', type: 'timestamp', required: true },
    ],
    primaryKey: ['account_id'],
    latestBy: 'updated_at',
    deletes: { column: 'op', values: ['D', 'X'] },
    partition: { column: 'updated_at', granularity: 'day' },
  },
  'accounts.yaml',
);

describe('silver tables: only <dataset>_arrivals is a template resource', () => {
  // `accounts` has deletes, `all_types` does not (and is partitioned by month).
  const { t, datasets } = synth({ contracts: [accounts, allTypes] });
  const tables = t.findResources('AWS::Glue::Table');

  test('the Iceberg tables <dataset>_history, <dataset> and <dataset>_deleted are left to the workflow (Athena DDL), not CloudFormation', () => {
    t.resourceCountIs('AWS::Glue::Table', 2);
    expect(
      Object.values(tables)
        .map((r) => r.Properties.TableInput.Name)
        .sort(),
    ).toEqual(['accounts_arrivals', 'all_types_arrivals']);
    for (const name of ['accounts_history', 'all_types_history', 'accounts', 'accounts_deleted']) {
      t.resourcePropertiesCountIs('AWS::Glue::Table', { TableInput: Match.objectLike({ Name: name }) }, 0);
    }
    for (const r of Object.values(tables)) expect(r.Properties.OpenTableFormatInput).toBeUndefined();
    expect(datasets.arrivalsTables.get('accounts')?.node.id).toBe('Arrivals-accounts');
  });

  test("the arrivals table is the Hive table over the transform's files, with dt projected", () => {
    t.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'accounts_arrivals',
        Owner: 'team-ledger',
        TableType: 'EXTERNAL_TABLE',
        PartitionKeys: [Match.objectLike({ Name: 'dt', Type: 'string' })],
        Parameters: Match.objectLike({
          'projection.enabled': 'true',
          'projection.dt.format': 'yyyy-MM-dd',
          'storage.location.template': {
            'Fn::Join': [
              '',
              // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's placeholder, not a JS template
              ['s3://', { Ref: Match.stringLikeRegexp('^StorageSilver') }, '/bank/accounts/dt=${dt}/'],
            ],
          },
        }),
        StorageDescriptor: Match.objectLike({
          Location: {
            'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('^StorageSilver') }, '/bank/accounts/']],
          },
        }),
      }),
    });
  });

  test('silverTableLocations names every table of a dataset with the prefix its files live under', () => {
    expect(silverTableLocations(accounts)).toEqual([
      { name: 'accounts', prefix: '_current/bank/accounts/' },
      { name: 'accounts_history', prefix: '_history/bank/accounts/' },
      { name: 'accounts_arrivals', prefix: 'bank/accounts/' },
      { name: 'accounts_deleted', prefix: '_deleted/bank/accounts/' },
    ]);
    expect(silverTableLocations(allTypes).map((l) => l.name)).toEqual([
      'all_types',
      'all_types_history',
      'all_types_arrivals',
    ]);
    // Every table the dataset owns has a location (the grants follow them).
    for (const c of [accounts, allTypes]) {
      expect(silverTableLocations(c).map((l) => l.name)).toEqual(datasetTableNames(c));
    }
  });
});

describe('the arrivals tables describe how long their files are kept', () => {
  test('arrivalsExpiration: the description says how many days', () => {
    const { t } = synth({ contracts: [accounts], arrivalsExpiration: Duration.days(45) });
    t.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'accounts_arrivals',
        Description:
          'Bank accounts. Arrivals: what each transform wrote, one Parquet file per bronze object and ' +
          'partition, kept 45 days; the gold workflow appends them to accounts_history (every version of ' +
          'every row); the current state is accounts.',
      }),
    });
  });
});

describe('table names are unique across current-state, history, arrivals, deleted-keys and gold tables', () => {
  const dataset = (name: string, deletes = false): DatasetContract => ({
    ...accounts,
    dataset: name,
    id: `bank/${name}`,
    ...(deletes ? {} : { deletes: undefined }),
  });

  test.each<[string, CatalogAndTablesProps, string]>([
    [
      "a dataset named like another's history table",
      { contracts: [dataset('orders'), dataset('orders_history')] },
      "table 'orders_history' is declared twice: the history table of dataset 'orders' and the current-state table of dataset 'orders_history'",
    ],
    [
      "a dataset named like another's arrivals table",
      { contracts: [dataset('orders'), dataset('orders_arrivals')] },
      "table 'orders_arrivals' is declared twice: the arrivals table of dataset 'orders' and the current-state table of dataset 'orders_arrivals'",
    ],
    [
      "a dataset named like another's deleted-keys table",
      { contracts: [dataset('orders', true), dataset('orders_deleted')] },
      "table 'orders_deleted' is declared twice: the deleted-keys table of dataset 'orders' and the current-state table of dataset 'orders_deleted'",
    ],
    [
      'a gold table named like a history table',
      {
        contracts: [dataset('orders')],
        goldTables: [{ name: 'orders_history', columns: [{ name: 'n', type: 'int' }] }],
      },
      "gold table 'orders_history': a silver table (the history table of dataset 'orders') has that name",
    ],
    [
      'a gold table named like an arrivals table',
      {
        contracts: [dataset('orders')],
        goldTables: [{ name: 'orders_arrivals', columns: [{ name: 'n', type: 'int' }] }],
      },
      "gold table 'orders_arrivals': a silver table (the arrivals table of dataset 'orders') has that name",
    ],
    [
      'a gold table named like a deleted-keys table',
      {
        contracts: [dataset('orders', true)],
        goldTables: [{ name: 'orders_deleted', columns: [{ name: 'n', type: 'int' }] }],
      },
      "gold table 'orders_deleted': a silver table (the deleted-keys table of dataset 'orders') has that name",
    ],
    [
      'a dataset name too long for its arrivals table (55 + 9 characters)',
      { contracts: [dataset('a'.repeat(55))] },
      `dataset '${'a'.repeat(55)}': its table '${'a'.repeat(55)}_arrivals' would be longer than 63 characters (shorten the dataset name to 54 at most)`,
    ],
  ])('refuses %s at synth', (_, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  test('a dataset named like a deleted-keys table is fine when its neighbour has no deletes', () => {
    const { datasets } = synth({ contracts: [dataset('orders'), dataset('orders_deleted')] });
    expect([...datasets.arrivalsTables.keys()]).toEqual(['orders', 'orders_deleted']);
  });

  test('a dataset name of 54 characters leaves room for _arrivals (63), the longest suffix', () => {
    const name = 'a'.repeat(54);
    const { datasets } = synth({ contracts: [dataset(name, true)] });
    expect(datasets.arrivalsTables.has(name)).toBe(true);
    const suffixes = datasetTableNames(dataset(name, true)).map((t) => t.slice(name.length));
    expect(Math.max(...suffixes.map((x) => x.length))).toBe(LONGEST_TABLE_SUFFIX.length);
    expect(suffixes).toContain(LONGEST_TABLE_SUFFIX);
  });
});

describe('DataCatalog options', () => {
  test('names, projection start and cutoff can be set', () => {
    const { t, catalog, datasets } = synth({
      databaseName: 'lake',
      workGroupName: 'analysts',
      partitionProjectionStart: '2023-03-15',
      bytesScannedCutoffPerQuery: Size.gibibytes(1),
    });
    t.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: Match.objectLike({ Name: 'lake' }) });
    t.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'analysts',
      WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 1024 ** 3 }),
    });
    const stack = Stack.of(catalog);
    const params = (dataset: string) => {
      const input = datasets.arrivalsTables.get(dataset)?.tableInput as {
        parameters: Record<string, string>;
      };
      return stack.resolve(input.parameters);
    };
    expect(params('orders')['projection.dt.range']).toBe('2023-03-15,NOW');
    expect(params('customers')['projection.dt.range']).toBe('2023-03,NOW');
    expect(catalog.goldTables.size).toBe(0);
    t.resourceCountIs('AWS::Glue::Table', contracts.length);
  });

  test.each<[string, CatalogAndTablesProps, string]>([
    ['database name', { databaseName: 'Medallion-Dev' }, "database name 'Medallion-Dev'"],
    ['workgroup name', { workGroupName: 'a b' }, "workgroup name 'a b'"],
    ['projection start', { partitionProjectionStart: '2023-02-30' }, "partitionProjectionStart '2023-02-30'"],
    ['cutoff', { bytesScannedCutoffPerQuery: Size.mebibytes(1) }, 'at least 10000000 bytes'],
    [
      'gold type',
      { goldTables: [{ name: 'g', columns: [{ name: 'n', type: 'int64' }] }] },
      "column 'n' has type 'int64'",
    ],
    [
      'gold name clashing with a silver table',
      { goldTables: [{ name: 'orders', columns: [{ name: 'n', type: 'int' }] }] },
      "gold table 'orders': a silver table",
    ],
    [
      'gold table declared twice',
      {
        goldTables: [
          { name: 'g', columns: [{ name: 'n', type: 'int' }] },
          { name: 'g', columns: [{ name: 'n', type: 'int' }] },
        ],
      },
      "gold table 'g' is declared twice",
    ],
    [
      'gold table without columns',
      { goldTables: [{ name: 'g', columns: [] }] },
      "gold table 'g' has no column",
    ],
    [
      'gold column twice',
      {
        goldTables: [
          {
            name: 'g',
            columns: [
              { name: 'n', type: 'int' },
              { name: 'n', type: 'int' },
            ],
          },
        ],
      },
      "duplicate column 'n'",
    ],
  ])('refuses a bad %s at synth', (_, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});

describe('cdk-nag AwsSolutions', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'medallion-catalog-nag-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('lake storage + catalog: zero findings, nothing acknowledged in the catalog', () => {
    const app = new App({ outdir: tmp, context: testContext() });
    const stack = new Stack(app, 'Nag');
    const storage = new LakeStorage(stack, 'Storage');
    const catalog = new DataCatalog(stack, 'Catalog', {
      environment: 'dev',
      contracts,
      goldBucket: storage.goldBucket,
      athenaResultsBucket: storage.athenaResultsBucket,
      key: storage.key,
      goldTables: GOLD,
    });
    new DatasetTables(stack, 'Tables', {
      databaseName: catalog.databaseName,
      contracts,
      silverBucket: storage.silverBucket,
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
    // The report lists a plugin only when it found something (acknowledged findings included).
    const report = JSON.parse(readFileSync(join(tmp, 'validation-report.json'), 'utf8')) as {
      pluginReports: {
        pluginName: string;
        violations: unknown[];
        suppressedViolations?: { violatingConstructs: { constructPath: string }[] }[];
      }[];
    };
    const nag = report.pluginReports.filter((r) => r.pluginName === 'AwsSolutions');
    expect(nag.flatMap((r) => r.violations)).toEqual([]);
    const acknowledgedInCatalog = nag
      .flatMap((r) => r.suppressedViolations ?? [])
      .flatMap((s) => s.violatingConstructs.filter((c) => c.constructPath.startsWith('Nag/Catalog')));
    expect(acknowledgedInCatalog).toEqual([]);
  });
});
