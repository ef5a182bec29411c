import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalGlueCatalog } from '../../../local/gold/glue-catalog';
import { GlueError } from '../../../local/gold/service-errors';
import { TemplateResolver } from '../../../local/gold/state-machine-definition';
import { DAILY_SALES_TEMPLATE, editedDailySalesTemplate } from './fixtures/daily-sales-template';
import { NUMBERS_TEMPLATE as TEMPLATE } from './fixtures/numbers-template';
import { editedSilverTemplate, SILVER_HISTORY_TEMPLATE, SILVER_TEMPLATE } from './fixtures/silver-template';

describe('LocalGlueCatalog', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-glue-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is seeded from the template, answers GetTable and persists UpdateTable', () => {
    const catalog = new LocalGlueCatalog(join(dir, 'c.json'));
    catalog.seedFromTemplate(new TemplateResolver(TEMPLATE, { buckets: { gold: 'g' } }));
    const { Table } = catalog.getTable({ DatabaseName: 'lake', Name: 'numbers' });
    expect(Table).toMatchObject({
      Name: 'numbers',
      DatabaseName: 'lake',
      TableType: 'EXTERNAL_TABLE',
      StorageDescriptor: { Location: 's3://g/numbers/_unpublished/' },
      VersionId: '1',
    });
    expect(Table).not.toHaveProperty('Owner');
    const { Name, TableType, StorageDescriptor } = Table;
    catalog.updateTable({
      DatabaseName: 'lake',
      TableInput: {
        Name,
        TableType,
        StorageDescriptor: { ...StorageDescriptor, Location: 's3://g/numbers/v=1/' },
      },
    });
    const reopened = new LocalGlueCatalog(join(dir, 'c.json'));
    reopened.seedFromTemplate(new TemplateResolver(TEMPLATE, { buckets: { gold: 'g' } })); // unchanged: kept
    expect(reopened.location('lake', 'numbers')).toBe('s3://g/numbers/v=1/');
    expect(reopened.getTable({ DatabaseName: 'lake', Name: 'numbers' }).Table.VersionId).toBe('2');
  });

  it('fails like Glue: unknown table, fields UpdateTable does not accept', () => {
    const catalog = new LocalGlueCatalog(join(dir, 'c.json'));
    catalog.seedFromTemplate(new TemplateResolver(TEMPLATE));
    expect(() => catalog.getTable({ DatabaseName: 'lake', Name: 'nope' })).toThrow(
      expect.objectContaining({ name: 'Glue.EntityNotFoundException' }),
    );
    const { Table } = catalog.getTable({ DatabaseName: 'lake', Name: 'numbers' });
    expect(() => catalog.updateTable({ DatabaseName: 'lake', TableInput: Table as never })).toThrow(
      GlueError,
    );
    expect(() => catalog.updateTable({ DatabaseName: 'lake', TableInput: Table as never })).toThrow(
      /fields UpdateTable does not accept: DatabaseName, CatalogId, CreateTime, UpdateTime, VersionId/,
    );
  });

  it('answers GetTables: every table sorted by name, or those whose whole name matches Expression', () => {
    const catalog = new LocalGlueCatalog(join(dir, 'c.json'));
    catalog.seedFromTemplate(new TemplateResolver(SILVER_TEMPLATE, { buckets: { silver: 's' } }));
    catalog.createIcebergTable('lake', {
      Name: 'customers',
      Columns: [{ Name: 'id', Type: 'string' }],
      Location: 's3://s/_current/retail/customers',
      PartitionColumns: [],
    });
    const names = (expression?: string) =>
      catalog.getTables({ DatabaseName: 'lake', Expression: expression }).TableList.map((t) => t.Name);
    expect(names()).toEqual(['customers', 'orders', 'orders_history']);
    expect(names('orders')).toEqual(['orders']); // the whole name, not a part of it
    expect(names('orders.*')).toEqual(['orders', 'orders_history']);
    expect(names('cust.*|orders')).toEqual(['customers', 'orders']);
    expect(names('nothing')).toEqual([]);
    expect(catalog.getTables({ DatabaseName: 'lake' }).TableList[0]).toEqual(
      catalog.getTable({ DatabaseName: 'lake', Name: 'customers' }).Table,
    );
    expect(() => catalog.getTables({ DatabaseName: 'nope' })).toThrow(
      expect.objectContaining({ name: 'Glue.EntityNotFoundException', message: 'Database nope not found.' }),
    );
    expect(() => names('orders(')).toThrow(expect.objectContaining({ name: 'Glue.InvalidInputException' }));
  });

  describe('Iceberg tables', () => {
    const silver = (template = SILVER_TEMPLATE) =>
      new TemplateResolver(template, { buckets: { silver: 's' } });
    const seeded = (template = SILVER_TEMPLATE) => {
      const catalog = new LocalGlueCatalog(join(dir, 'c.json'));
      catalog.seedFromTemplate(silver(template));
      return catalog;
    };
    const parameters = (catalog: LocalGlueCatalog) =>
      catalog.getTable({ DatabaseName: 'lake', Name: 'orders' }).Table.Parameters;

    it('seeds a table with OpenTableFormatInput as ICEBERG, with no snapshot and its identity partition columns', () => {
      const catalog = seeded();
      const { Table } = catalog.getTable({ DatabaseName: 'lake', Name: 'orders' });
      expect(Table.Parameters).toEqual({ classification: 'parquet', table_type: 'ICEBERG' });
      expect(Table).not.toHaveProperty('PartitionKeys');
      expect(Table.StorageDescriptor?.Location).toBe('s3://s/_current/retail/orders/');
      expect(Table.StorageDescriptor?.Columns?.map((c) => c.Name)).toEqual([
        'order_id',
        'amount',
        'updated_at',
        'dt',
      ]);
      expect(catalog.icebergPartitionColumns('lake', 'orders')).toEqual(['dt']);
      expect(catalog.icebergPartitionColumns('lake', 'orders_history')).toBeUndefined();
      expect(catalog.getTable({ DatabaseName: 'lake', Name: 'orders_history' }).Table.Parameters).toEqual({
        classification: 'parquet',
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'projection.dt.format': 'yyyy-MM-dd',
        'projection.dt.range': '2026-01-01,NOW',
        'projection.dt.interval': '1',
        'projection.dt.interval.unit': 'DAYS',
      });
    });

    it('reads a table with no PartitionSpec as unpartitioned', () => {
      const catalog = seeded(
        editedSilverTemplate((p) => {
          const iceberg = (p.OpenTableFormatInput as { IcebergInput: { IcebergTableInput: object } })
            .IcebergInput.IcebergTableInput as Record<string, unknown>;
          delete iceberg.PartitionSpec;
        }),
      );
      expect(catalog.icebergPartitionColumns('lake', 'orders')).toEqual([]);
    });

    it('refuses a partition transform other than identity, naming it', () => {
      const template = editedSilverTemplate((p) => {
        const input = (
          p.OpenTableFormatInput as { IcebergInput: { IcebergTableInput: Record<string, unknown> } }
        ).IcebergInput.IcebergTableInput;
        input.PartitionSpec = { SpecId: 0, Fields: [{ Name: 'dt_day', SourceId: 3, Transform: 'day' }] };
      });
      const catalog = new LocalGlueCatalog(join(dir, 'c.json'));
      expect(() => catalog.seedFromTemplate(silver(template))).toThrow(
        "Glue table lake.orders: the partition transform 'day' (field dt_day) is not emulated locally; only 'identity' is",
      );
    });

    it('commits a metadata location only over the one the writer started from (compare-and-swap), and persists it', () => {
      const catalog = seeded();
      catalog.commitIcebergMetadata('lake', 'orders', undefined, 's3://s/m/1.json');
      expect(parameters(catalog)).toEqual({
        classification: 'parquet',
        table_type: 'ICEBERG',
        metadata_location: 's3://s/m/1.json',
      });
      catalog.commitIcebergMetadata('lake', 'orders', 's3://s/m/1.json', 's3://s/m/2.json');
      expect(parameters(catalog)).toMatchObject({
        metadata_location: 's3://s/m/2.json',
        previous_metadata_location: 's3://s/m/1.json',
      });
      // A writer that started from 1.json (or from no snapshot) lost the race: nothing changes.
      for (const stale of ['s3://s/m/1.json', undefined]) {
        expect(() => catalog.commitIcebergMetadata('lake', 'orders', stale, 's3://s/m/3.json')).toThrow(
          expect.objectContaining({ name: 'Glue.ConcurrentModificationException' }),
        );
      }
      const reopened = new LocalGlueCatalog(join(dir, 'c.json'));
      expect(parameters(reopened)?.metadata_location).toBe('s3://s/m/2.json');
      expect(reopened.getTable({ DatabaseName: 'lake', Name: 'orders' }).Table.VersionId).toBe('3');
      expect(reopened.versions('lake', 'orders').map((v) => v.metadataLocation)).toEqual([
        undefined,
        's3://s/m/1.json',
        's3://s/m/2.json',
      ]);
      expect(() =>
        catalog.commitIcebergMetadata('lake', 'orders_history', undefined, 's3://s/m/1.json'),
      ).toThrow(expect.objectContaining({ name: 'Glue.InvalidInputException' }));
    });

    it('creates a table as Athena DDL does: ICEBERG, no PartitionKeys, no snapshot, its partition columns kept', () => {
      const catalog = seeded(SILVER_HISTORY_TEMPLATE);
      const columns = [
        { Name: 'order_id', Type: 'string', Comment: 'the key' },
        { Name: 'dt', Type: 'string' },
      ];
      const create = () =>
        catalog.createIcebergTable('lake', {
          Name: 'orders',
          Columns: columns,
          Location: 's3://s/_current/retail/orders',
          PartitionColumns: ['dt'],
        });
      create();
      const { Table } = catalog.getTable({ DatabaseName: 'lake', Name: 'orders' });
      expect(Table).toEqual({
        Name: 'orders',
        DatabaseName: 'lake',
        CatalogId: '000000000000',
        CreateTime: expect.any(String),
        UpdateTime: expect.any(String),
        VersionId: '1',
        IsRegisteredWithLakeFormation: false,
        Retention: 0,
        TableType: 'EXTERNAL_TABLE',
        Parameters: { table_type: 'ICEBERG' },
        StorageDescriptor: { Columns: columns, Location: 's3://s/_current/retail/orders' },
      });
      expect(catalog.icebergPartitionColumns('lake', 'orders')).toEqual(['dt']);
      expect(create).toThrow(expect.objectContaining({ name: 'Glue.AlreadyExistsException' }));
      expect(() =>
        catalog.createIcebergTable('nope', {
          Name: 't',
          Columns: [],
          Location: 's3://s/t',
          PartitionColumns: [],
        }),
      ).toThrow(expect.objectContaining({ name: 'Glue.EntityNotFoundException' }));
    });

    it('leaves a table the template does not declare alone when seeding again: columns, snapshot, versions', () => {
      const first = seeded(SILVER_HISTORY_TEMPLATE);
      first.createIcebergTable('lake', {
        Name: 'orders',
        Columns: [{ Name: 'order_id', Type: 'string' }],
        Location: 's3://s/_current/retail/orders',
        PartitionColumns: [],
      });
      first.addColumns('lake', 'orders', [{ Name: 'note', Type: 'string', Comment: 'added' }]);
      first.commitIcebergMetadata('lake', 'orders', undefined, 's3://s/m/1.json');
      const before = first.getTable({ DatabaseName: 'lake', Name: 'orders' }).Table;
      expect(before.StorageDescriptor?.Columns?.map((c) => c.Name)).toEqual(['order_id', 'note']);
      expect(before.VersionId).toBe('3');
      // Seeding with a changed template (its Hive table replaced) too.
      const changed = JSON.parse(JSON.stringify(SILVER_HISTORY_TEMPLATE));
      changed.Resources.History.Properties.TableInput.Parameters = { classification: 'parquet', x: 'y' };
      for (const template of [SILVER_HISTORY_TEMPLATE, changed]) {
        const again = seeded(template);
        expect(again.getTable({ DatabaseName: 'lake', Name: 'orders' }).Table).toEqual(before);
        expect(again.icebergPartitionColumns('lake', 'orders')).toEqual([]);
        expect(again.versions('lake', 'orders')).toHaveLength(3);
      }
      expect(() => first.addColumns('lake', 'orders', [{ Name: 'note', Type: 'int' }])).toThrow(
        expect.objectContaining({ name: 'Glue.InvalidInputException' }),
      );
    });

    it('keeps the snapshot of a table whose template is unchanged, and drops it when the template changed', () => {
      seeded().commitIcebergMetadata('lake', 'orders', undefined, 's3://s/m/1.json');
      expect(parameters(seeded())?.metadata_location).toBe('s3://s/m/1.json');
      // A change in OpenTableFormatInput alone replaces the table, as CloudFormation would.
      const changed = editedSilverTemplate((p) => {
        const input = (
          p.OpenTableFormatInput as { IcebergInput: { IcebergTableInput: Record<string, unknown> } }
        ).IcebergInput.IcebergTableInput;
        input.Properties = { 'write.parquet.compression-codec': 'snappy' };
      });
      const replaced = seeded(changed);
      expect(parameters(replaced)).toEqual({ classification: 'parquet', table_type: 'ICEBERG' });
      expect(replaced.getTable({ DatabaseName: 'lake', Name: 'orders' }).Table.VersionId).toBe('1');
      expect(replaced.icebergPartitionColumns('lake', 'orders')).toEqual(['dt']);
    });
  });

  describe('partitions of a Hive table without projection', () => {
    const gold = (template = DAILY_SALES_TEMPLATE) =>
      new TemplateResolver(template, { buckets: { gold: 'g', silver: 's' } });
    const seeded = (template = DAILY_SALES_TEMPLATE) => {
      const catalog = new LocalGlueCatalog(join(dir, 'c.json'));
      catalog.seedFromTemplate(gold(template));
      return catalog;
    };
    const table = { DatabaseName: 'lake', TableName: 'daily_sales' };
    const day = (n: number) => new Date(Date.UTC(2026, 0, 1 + n)).toISOString().slice(0, 10);
    const input = (value: string, version = 'run-1') => ({
      Values: [value],
      StorageDescriptor: {
        Location: `s3://g/daily_sales/v=${version}/0/sales_date=${value}/`,
        Columns: [{ Name: 'store', Type: 'string' }],
      },
      Parameters: { written_by: version },
    });
    const values = (catalog: LocalGlueCatalog, expression?: string) =>
      catalog.getPartitions({ ...table, Expression: expression }).Partitions.map((p) => p.Values[0]);

    it('creates partitions, answering AlreadyExistsException for those that exist (the others created)', () => {
      const catalog = seeded();
      expect(
        catalog.batchCreatePartition({ ...table, PartitionInputList: [input(day(0)), input(day(1))] }),
      ).toEqual({
        Errors: [],
      });
      const again = catalog.batchCreatePartition({
        ...table,
        PartitionInputList: [input(day(1), 'run-2'), input(day(2), 'run-2')],
      });
      expect(again).toEqual({
        Errors: [
          {
            PartitionValues: [day(1)],
            ErrorDetail: { ErrorCode: 'AlreadyExistsException', ErrorMessage: 'Partition already exists.' },
          },
        ],
      });
      const { Partitions } = catalog.getPartitions(table);
      expect(Partitions.map((p) => [p.Values[0], p.Parameters?.written_by])).toEqual([
        [day(0), 'run-1'],
        [day(1), 'run-1'], // not replaced by the failed create
        [day(2), 'run-2'],
      ]);
      expect(Partitions[0]).toEqual({
        Values: [day(0)],
        DatabaseName: 'lake',
        TableName: 'daily_sales',
        CatalogId: '000000000000',
        CreationTime: expect.any(String),
        StorageDescriptor: input(day(0)).StorageDescriptor,
        Parameters: { written_by: 'run-1' },
      });
    });

    it('updates the partitions that exist and answers EntityNotFoundException for the others', () => {
      const catalog = seeded();
      catalog.batchCreatePartition({ ...table, PartitionInputList: [input(day(0))] });
      const created = catalog.getPartitions(table).Partitions[0];
      const out = catalog.batchUpdatePartition({
        ...table,
        Entries: [
          { PartitionValueList: [day(0)], PartitionInput: input(day(0), 'run-2') },
          { PartitionValueList: [day(5)], PartitionInput: input(day(5), 'run-2') },
        ],
      });
      expect(out).toEqual({
        Errors: [
          {
            PartitionValueList: [day(5)],
            ErrorDetail: { ErrorCode: 'EntityNotFoundException', ErrorMessage: 'Partition not found.' },
          },
        ],
      });
      expect(catalog.getPartitions(table).Partitions).toEqual([
        {
          ...created,
          StorageDescriptor: input(day(0), 'run-2').StorageDescriptor,
          Parameters: { written_by: 'run-2' },
        },
      ]);
    });

    it('deletes the partitions that exist and answers EntityNotFoundException for the others', () => {
      const catalog = seeded();
      catalog.batchCreatePartition({ ...table, PartitionInputList: [input(day(0)), input(day(1))] });
      const out = catalog.batchDeletePartition({
        ...table,
        PartitionsToDelete: [{ Values: [day(0)] }, { Values: [day(9)] }],
      });
      expect(out.Errors).toEqual([
        {
          PartitionValues: [day(9)],
          ErrorDetail: { ErrorCode: 'EntityNotFoundException', ErrorMessage: 'Partition not found.' },
        },
      ]);
      expect(values(catalog)).toEqual([day(1)]);
    });

    it("keeps Glue's limits: 100 partitions created or updated, 25 deleted, per request (InvalidInputException, nothing changed)", () => {
      const catalog = seeded();
      const inputs = (n: number, from = 0) => Array.from({ length: n }, (_, i) => input(day(from + i)));
      const invalid = expect.objectContaining({ name: 'Glue.InvalidInputException' });
      expect(() => catalog.batchCreatePartition({ ...table, PartitionInputList: inputs(101) })).toThrow(
        invalid,
      );
      expect(values(catalog)).toEqual([]);
      expect(catalog.batchCreatePartition({ ...table, PartitionInputList: inputs(100) }).Errors).toEqual([]);
      const entries = (n: number) =>
        inputs(n).map((p) => ({
          PartitionValueList: p.Values,
          PartitionInput: { ...p, Parameters: { x: 'y' } },
        }));
      expect(() => catalog.batchUpdatePartition({ ...table, Entries: entries(101) })).toThrow(invalid);
      expect(catalog.getPartitions(table).Partitions.some((p) => p.Parameters?.x)).toBe(false);
      expect(catalog.batchUpdatePartition({ ...table, Entries: entries(100) }).Errors).toEqual([]);
      const toDelete = (n: number) => inputs(n).map((p) => ({ Values: p.Values }));
      expect(() => catalog.batchDeletePartition({ ...table, PartitionsToDelete: toDelete(26) })).toThrow(
        invalid,
      );
      expect(values(catalog)).toHaveLength(100);
      expect(catalog.batchDeletePartition({ ...table, PartitionsToDelete: toDelete(25) }).Errors).toEqual([]);
      expect(values(catalog)).toHaveLength(75);
    });

    it('fails like Glue: a missing table (EntityNotFoundException), values not one per partition key, an Iceberg table (InvalidInputException)', () => {
      const catalog = seeded();
      const missing = { DatabaseName: 'lake', TableName: 'nope' };
      const notFound = expect.objectContaining({ name: 'Glue.EntityNotFoundException' });
      expect(() => catalog.batchCreatePartition({ ...missing, PartitionInputList: [input(day(0))] })).toThrow(
        notFound,
      );
      expect(() => catalog.batchUpdatePartition({ ...missing, Entries: [] })).toThrow(notFound);
      expect(() => catalog.batchDeletePartition({ ...missing, PartitionsToDelete: [] })).toThrow(notFound);
      expect(() => catalog.getPartitions(missing)).toThrow(notFound);
      const invalid = expect.objectContaining({ name: 'Glue.InvalidInputException' });
      expect(() =>
        catalog.batchCreatePartition({
          ...table,
          PartitionInputList: [input(day(0)), { Values: [day(1), 'x'] }],
        }),
      ).toThrow(invalid);
      expect(() => catalog.batchDeletePartition({ ...table, PartitionsToDelete: [{ Values: [] }] })).toThrow(
        invalid,
      );
      // An Iceberg table's partitions are its data files': none is registered.
      expect(() =>
        catalog.batchCreatePartition({
          DatabaseName: 'lake',
          TableName: 'orders',
          PartitionInputList: [input(day(0))],
        }),
      ).toThrow(invalid);
      expect(values(catalog)).toEqual([]);
    });

    it('answers GetPartitions in pages, and filters them with an expression', () => {
      const catalog = seeded();
      catalog.batchCreatePartition({
        ...table,
        PartitionInputList: Array.from({ length: 10 }, (_, i) => input(day(9 - i))),
      });
      const pages: string[][] = [];
      let token: string | undefined;
      do {
        const page = catalog.getPartitions({ ...table, MaxResults: 4, NextToken: token });
        pages.push(page.Partitions.map((p) => p.Values[0]));
        token = page.NextToken;
      } while (token);
      expect(pages).toEqual([
        [day(0), day(1), day(2), day(3)],
        [day(4), day(5), day(6), day(7)],
        [day(8), day(9)],
      ]);
      expect(values(catalog, `sales_date = '${day(3)}'`)).toEqual([day(3)]);
      expect(values(catalog, `sales_date >= '${day(8)}'`)).toEqual([day(8), day(9)]);
      expect(values(catalog, `sales_date BETWEEN '${day(2)}' AND '${day(4)}'`)).toEqual([
        day(2),
        day(3),
        day(4),
      ]);
      expect(
        values(catalog, `sales_date IN ('${day(1)}', '${day(7)}') OR (sales_date > '${day(8)}')`),
      ).toEqual([day(1), day(7), day(9)]);
      expect(values(catalog, `sales_date NOT IN ('${day(0)}') AND sales_date < '${day(3)}'`)).toEqual([
        day(1),
        day(2),
      ]);
      for (const unsupported of [`sales_date LIKE '2026%'`, `store = 'a'`, `sales_date =`]) {
        expect(() => values(catalog, unsupported)).toThrow(
          expect.objectContaining({ name: 'Glue.InvalidInputException' }),
        );
      }
    });

    it('persists the partitions, and keeps them on a re-seed unless the PartitionKeys changed', () => {
      seeded().batchCreatePartition({ ...table, PartitionInputList: [input(day(0))] });
      expect(values(seeded())).toEqual([day(0)]); // unchanged template
      const described = editedDailySalesTemplate((t) => {
        t.Parameters = { classification: 'parquet', note: 'described' };
      });
      expect(values(seeded(described))).toEqual([day(0)]); // replaced table, same keys
      const repartitioned = editedDailySalesTemplate((t) => {
        t.PartitionKeys = [{ Name: 'sales_date', Type: 'string' }];
      });
      expect(values(seeded(repartitioned))).toEqual([]);
    });
  });
});
