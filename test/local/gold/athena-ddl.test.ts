import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDdlStatement, parseDdl, runDdl } from '../../../local/gold/athena-ddl';
import { LocalGlueCatalog } from '../../../local/gold/glue-catalog';
import { TemplateResolver } from '../../../local/gold/state-machine-definition';
import { SILVER_HISTORY_TEMPLATE, SILVER_TEMPLATE } from './fixtures/silver-template';

/** The statement the current-state workflow generates (core/silver/current-state-ddl.ts), comments aside. */
const CREATE_ORDERS = `CREATE TABLE IF NOT EXISTS \`orders\` (
  \`order_id\` string COMMENT 'Business key, it\\'s trimmed',
  \`quantity\` int,
  \`unit_price\` decimal(10,2),
  \`updated_at\` timestamp,
  \`_ingested_at\` timestamp,
  \`dt\` string COMMENT 'UTC day of order_ts'
)
PARTITIONED BY (\`dt\`)
LOCATION 's3://silver-bucket/_current/retail/orders'
TBLPROPERTIES ('table_type' = 'ICEBERG', 'format' = 'parquet', 'write_compression' = 'zstd')`;

describe('Athena DDL statements', () => {
  it('are told from other statements by their first word, after comments', () => {
    expect(isDdlStatement('-- make it\n  create table `t` (`a` int)')).toBe(true);
    expect(isDdlStatement('ALTER TABLE `t` ADD COLUMNS (`b` int)')).toBe(true);
    expect(isDdlStatement('DROP TABLE `t`')).toBe(true);
    expect(isDdlStatement('SELECT 1 -- CREATE TABLE')).toBe(false);
    expect(isDdlStatement('MERGE INTO t USING s ON (true) WHEN MATCHED THEN DELETE')).toBe(false);
  });

  it('parse an Iceberg CREATE TABLE into its columns, partition columns, location and properties', () => {
    expect(parseDdl(CREATE_ORDERS)).toEqual({
      kind: 'CREATE_TABLE',
      database: undefined,
      table: 'orders',
      ifNotExists: true,
      columns: [
        { name: 'order_id', type: 'string', comment: "Business key, it's trimmed" },
        { name: 'quantity', type: 'int' },
        { name: 'unit_price', type: 'decimal(10,2)' },
        { name: 'updated_at', type: 'timestamp' },
        { name: '_ingested_at', type: 'timestamp' },
        { name: 'dt', type: 'string', comment: 'UTC day of order_ts' },
      ],
      partitionColumns: ['dt'],
      location: 's3://silver-bucket/_current/retail/orders',
      properties: { table_type: 'ICEBERG', format: 'parquet', write_compression: 'zstd' },
    });
  });

  it('read names lower-cased, qualified or not, and a table with no PARTITIONED BY as unpartitioned', () => {
    const statement = parseDdl(
      "create table `Lake`.`Orders_Deleted` (`Order_ID` STRING, amount DECIMAL( 12 , 3 ), `n` bigint, `x` double, `ok` boolean, `d` date) location 's3://b/x/' tblproperties ('table_type'='iceberg');",
    );
    expect(statement).toMatchObject({
      database: 'lake',
      table: 'orders_deleted',
      ifNotExists: false,
      partitionColumns: [],
      location: 's3://b/x/',
    });
    expect(statement.columns.map((c) => `${c.name} ${c.type}`)).toEqual([
      'order_id string',
      'amount decimal(12,3)',
      'n bigint',
      'x double',
      'ok boolean',
      'd date',
    ]);
  });

  it("read string literals as Hive does: C escapes, and 'a''b' as two adjacent literals ('ab')", () => {
    const comment = (literal: string) =>
      parseDdl(`ALTER TABLE \`t\` ADD COLUMNS (\`c\` string COMMENT ${literal})`).columns[0].comment;
    expect(comment("'it\\'s'")).toBe("it's");
    expect(comment("'it''s'")).toBe('its');
    expect(comment("'a\\\\b\\nc'")).toBe('a\\b\nc');
    expect(comment('"double ok"')).toBe('double ok');
    expect(comment("'100…%'")).toBe('100…%');
  });

  it('parse ALTER TABLE ... ADD COLUMNS', () => {
    expect(
      parseDdl("ALTER TABLE `lake`.`orders` ADD COLUMNS (`new_col` string COMMENT 'new', `other` bigint)"),
    ).toEqual({
      kind: 'ALTER_TABLE_ADD_COLUMNS',
      database: 'lake',
      table: 'orders',
      columns: [
        { name: 'new_col', type: 'string', comment: 'new' },
        { name: 'other', type: 'bigint' },
      ],
    });
  });

  it.each([
    ["CREATE TABLE `t` (`a` int) LOCATION 's3://b/t'", /only Iceberg CREATE TABLE is emulated locally/],
    [
      "CREATE EXTERNAL TABLE `t` (`a` int) LOCATION 's3://b/t' TBLPROPERTIES ('table_type'='ICEBERG')",
      /^External keyword not supported for table type ICEBERG$/,
    ],
    [
      "CREATE TABLE \"t\" (`a` int) LOCATION 's3://b/t' TBLPROPERTIES ('table_type'='ICEBERG')",
      /^line 1:14: Athena DDL quotes names with backticks \(`t`\), not double quotes$/,
    ],
    [
      "CREATE TABLE `t` (`a` float) LOCATION 's3://b/t' TBLPROPERTIES ('table_type'='ICEBERG')",
      /the type 'float' of column 'a' is not emulated locally \(string, int, bigint, double, boolean, date, timestamp, decimal\(p,s\)\)/,
    ],
    [
      "CREATE TABLE `t` (`a` timestamp) PARTITIONED BY (day(`a`)) LOCATION 's3://b/t' TBLPROPERTIES ('table_type'='ICEBERG')",
      /the partition transform day\(\.\.\.\) is not emulated locally; only identity \(a column\) is/,
    ],
    [
      "CREATE TABLE `t` (`a` int) PARTITIONED BY (`dt`) LOCATION 's3://b/t' TBLPROPERTIES ('table_type'='ICEBERG')",
      /the partition column 'dt' is not a column of the table/,
    ],
    [
      "CREATE TABLE `t` (`a` int, `A` int) LOCATION 's3://b/t' TBLPROPERTIES ('table_type'='ICEBERG')",
      /the column 'a' is declared twice/,
    ],
    [
      "CREATE TABLE `t` (`a` int) TBLPROPERTIES ('table_type'='ICEBERG')",
      /an Iceberg table needs a LOCATION/,
    ],
    [
      "CREATE TABLE `t` (`a` int) LOCATION 's3://b/t' TBLPROPERTIES ('table_type'='ICEBERG', 'format'='avro')",
      /the format 'avro' is not emulated locally/,
    ],
    [
      "CREATE TABLE `t` (`a` int) STORED AS PARQUET LOCATION 's3://b/t' TBLPROPERTIES ('table_type'='ICEBERG')",
      /^line 1:28: 'STORED' is not emulated locally here$/,
    ],
    ['CREATE TABLE `t` AS SELECT 1 AS a', /CREATE TABLE AS SELECT is not emulated/],
    ['CREATE VIEW `v` AS SELECT 1', /CREATE other than CREATE TABLE is not emulated locally/],
    ['DROP TABLE `t`', /DROP statement is not emulated locally/],
    ['ALTER TABLE `t` DROP COLUMN `a`', /ALTER TABLE other than ADD COLUMNS is not emulated locally/],
    ["ALTER TABLE `t` ADD COLUMNS (`c` string COMMENT 'open)", /unterminated string literal/],
    ['ALTER TABLE `c`.`d`.`t` ADD COLUMNS (`c` int)', /a catalog name is not supported/],
  ])('refuse, naming the reason: %s', (sql, message) => {
    expect(() => parseDdl(sql)).toThrow(message);
  });
});

describe('runDdl', () => {
  let dir: string;
  let catalog: LocalGlueCatalog;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-ddl-'));
    catalog = new LocalGlueCatalog(join(dir, 'c.json'));
    catalog.seedFromTemplate(new TemplateResolver(SILVER_TEMPLATE, { buckets: { silver: 's' } }));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const create = (ifNotExists = true) =>
    runDdl(
      catalog,
      parseDdl(ifNotExists ? CREATE_ORDERS : CREATE_ORDERS.replace(' IF NOT EXISTS', '')),
      'lake',
    );

  it('creates an Iceberg table in the query database like the seeded ones, with no snapshot yet', () => {
    catalog = new LocalGlueCatalog(join(dir, 'other.json')); // no `orders` seeded from a template
    catalog.seedFromTemplate(new TemplateResolver(SILVER_HISTORY_TEMPLATE, { buckets: { silver: 's' } }));
    expect(create()).toBe('created');
    const { Table } = catalog.getTable({ DatabaseName: 'lake', Name: 'orders' });
    expect(Table).toMatchObject({
      Name: 'orders',
      DatabaseName: 'lake',
      TableType: 'EXTERNAL_TABLE',
      Parameters: { table_type: 'ICEBERG' },
      VersionId: '1',
      CreateTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      StorageDescriptor: { Location: 's3://silver-bucket/_current/retail/orders' },
    });
    expect(Table).not.toHaveProperty('PartitionKeys');
    expect(Table.Parameters).not.toHaveProperty('metadata_location');
    expect(Table.StorageDescriptor?.Columns?.slice(0, 3)).toEqual([
      { Name: 'order_id', Type: 'string', Comment: "Business key, it's trimmed" },
      { Name: 'quantity', Type: 'int' },
      { Name: 'unit_price', Type: 'decimal(10,2)' },
    ]);
    expect(catalog.icebergPartitionColumns('lake', 'orders')).toEqual(['dt']);
  });

  it('does nothing with IF NOT EXISTS on an existing table, even with other columns; fails without it', () => {
    const before = catalog.getTable({ DatabaseName: 'lake', Name: 'orders' });
    expect(create()).toBe('already exists');
    expect(catalog.getTable({ DatabaseName: 'lake', Name: 'orders' })).toEqual(before);
    expect(() => create(false)).toThrow('AlreadyExistsException: Table already exists: lake.orders');
  });

  it('appends columns, refusing a column that exists', () => {
    const alter = (columns: string) =>
      runDdl(catalog, parseDdl(`ALTER TABLE \`orders\` ADD COLUMNS (${columns})`), 'lake');
    expect(alter("`note` string COMMENT 'free text', `n` bigint")).toBe('columns added');
    const { Table } = catalog.getTable({ DatabaseName: 'lake', Name: 'orders' });
    expect(Table.StorageDescriptor?.Columns?.map((c) => c.Name)).toEqual([
      'order_id',
      'amount',
      'updated_at',
      'dt',
      'note',
      'n',
    ]);
    expect(Table.StorageDescriptor?.Columns?.[4]).toEqual({
      Name: 'note',
      Type: 'string',
      Comment: 'free text',
    });
    expect(Table.VersionId).toBe('2');
    expect(() => alter('`x` int, `amount` int')).toThrow("Column 'amount' already exists");
    expect(() => alter('`dt` string')).toThrow("Column 'dt' already exists");
    expect(() =>
      runDdl(catalog, parseDdl('ALTER TABLE `orders_history` ADD COLUMNS (`dt` string)'), 'lake'),
    ).toThrow("Column 'dt' already exists"); // a Hive table's partition key is a column too
  });

  it('fails like Athena on an unknown database or table, or with no database at all', () => {
    expect(() => runDdl(catalog, parseDdl(CREATE_ORDERS), 'nope')).toThrow('Database does not exist: nope');
    expect(() => runDdl(catalog, parseDdl(CREATE_ORDERS), undefined)).toThrow(/CREATE_TABLE: no database/);
    expect(() =>
      runDdl(catalog, parseDdl('ALTER TABLE `lake`.`gone` ADD COLUMNS (`a` int)'), undefined),
    ).toThrow("TABLE_NOT_FOUND: Table 'awsdatacatalog.lake.gone' does not exist");
  });
});
