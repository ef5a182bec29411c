import { parseContract } from '../../../core/contracts/dataset-contract';
import { ConfigError } from '../../../core/errors';
import { currentStateDdl } from '../../../core/silver/current-state-ddl';
import { currentStateColumns, deletedKeysColumns } from '../../../core/silver/tables';
import { athenaTypeOf } from '../../../core/sql/types';

const contract = (extra: Record<string, unknown> = {}, columns: Record<string, unknown>[] = []) =>
  parseContract(
    {
      domain: 'shop',
      dataset: 'items',
      source: { format: 'csv' },
      columns: [
        { name: 'id', type: 'string', required: true, description: "The item's key" },
        { name: 'price', type: 'decimal(10,2)' },
        { name: 'op', type: 'string' },
        { name: 'day', type: 'date', required: true },
        ...columns,
      ],
      primaryKey: ['id'],
      partition: { column: 'day' },
      ...extra,
    },
    'items.yaml',
  );
const LOCATIONS = {
  history: 's3://silver/_history/shop/items',
  current: 's3://silver/_current/shop/items',
  deleted: 's3://silver/_deleted/shop/items',
};
const asTable = (name: string, cols: { name: string; type: string }[]) => ({
  Name: name,
  StorageDescriptor: { Columns: cols.map((c) => ({ Name: c.name, Type: athenaTypeOf(c.type) })) },
});

describe('currentStateDdl', () => {
  it('creates a missing current-state table as a dt-partitioned Iceberg table, with the contract comments', () => {
    const history = asTable('items_history', currentStateColumns(contract()));
    const [create] = currentStateDdl(contract(), LOCATIONS, [history]);
    expect(create).toBe(
      [
        'CREATE TABLE IF NOT EXISTS `items` (',
        "  `id` string COMMENT 'The item\\'s key',",
        '  `price` decimal(10,2),',
        '  `op` string,',
        '  `day` date,',
        "  `_bronze_key` string COMMENT 'Key of the bronze object this version was read from.',",
        "  `_ingested_at` timestamp COMMENT 'When the file holding this version landed in bronze (UTC).',",
        "  `dt` string COMMENT 'UTC day of day: filter on it to prune.'",
        ')',
        'PARTITIONED BY (`dt`)',
        "LOCATION 's3://silver/_current/shop/items'",
        "TBLPROPERTIES ('table_type' = 'ICEBERG', 'format' = 'parquet', 'write_compression' = 'zstd')",
      ].join('\n'),
    );
  });

  it('also creates the unpartitioned deleted-keys table when the contract declares deletes', () => {
    const c = contract({ deletes: { column: 'op', values: ['D'] } });
    const history = asTable('items_history', currentStateColumns(c));
    const statements = currentStateDdl(c, LOCATIONS, [history, asTable('items', currentStateColumns(c))]);
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/^CREATE TABLE IF NOT EXISTS `items_deleted` \(\n {2}`id` string/);
    expect(statements[0]).not.toContain('PARTITIONED BY');
    expect(statements[0]).toContain("LOCATION 's3://silver/_deleted/shop/items'");
    expect(
      currentStateDdl(c, LOCATIONS, [
        history,
        asTable('items', currentStateColumns(c)),
        asTable('items_deleted', deletedKeysColumns(c)),
      ]),
    ).toEqual([]);
  });

  it('adds the columns a contract gained, and nothing when the table matches (types compared loosely)', () => {
    const before = contract();
    const after = contract({}, [{ name: 'colour', type: 'string' }]);
    const table = asTable('items', currentStateColumns(before));
    const history = asTable('items_history', currentStateColumns(before));
    expect(currentStateDdl(after, LOCATIONS, [history, table])).toEqual([
      'ALTER TABLE `items_history` ADD COLUMNS (`colour` string)',
      'ALTER TABLE `items` ADD COLUMNS (`colour` string)',
    ]);
    const spaced = {
      ...table,
      StorageDescriptor: {
        Columns: table.StorageDescriptor.Columns.map((c) => ({
          ...c,
          Type: c.Type.replace(',', ', ').toUpperCase(),
        })),
      },
    };
    expect(currentStateDdl(before, LOCATIONS, [{ ...spaced, Name: 'items_history' }, spaced])).toEqual([]);
  });

  it('refuses a column whose type changed, saying how to rebuild', () => {
    const table = asTable('items', currentStateColumns(contract()));
    const retyped = contract({}, []);
    (retyped.columns[1] as { typeText: string }).typeText = 'double';
    const changed = {
      ...table,
      StorageDescriptor: {
        Columns: table.StorageDescriptor.Columns.map((c) =>
          c.Name === 'price' ? { ...c, Type: 'double' } : c,
        ),
      },
    };
    const history = asTable('items_history', currentStateColumns(retyped));
    const run = () => currentStateDdl(retyped, LOCATIONS, [history, changed]);
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(
      /column 'price' of table items is double, the contract \(items.yaml\) now makes it decimal\(10,2\).*DROP TABLE `items`.*rebuilds it from items_history/,
    );
    // The history is rebuilt from the arrivals it still holds; older versions come back by a replay.
    const historyRun = () => currentStateDdl(retyped, LOCATIONS, [{ ...changed, Name: 'items_history' }]);
    expect(historyRun).toThrow(
      /column 'price' of table items_history is double.*DROP TABLE `items_history`.*rebuilds it from items_arrivals.*replay the dataset from bronze/,
    );
  });

  it('creates the history as a dt-partitioned Iceberg table at its own location, before the current state', () => {
    const statements = currentStateDdl(contract(), LOCATIONS, []);
    expect(statements.map((st) => st.split(' (')[0])).toEqual([
      'CREATE TABLE IF NOT EXISTS `items_history`',
      'CREATE TABLE IF NOT EXISTS `items`',
    ]);
    expect(statements[0]).toContain('PARTITIONED BY (`dt`)');
    expect(statements[0]).toContain("LOCATION 's3://silver/_history/shop/items'");
    expect(statements[0]).toContain("'table_type' = 'ICEBERG'");
  });
});
