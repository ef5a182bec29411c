/**
 * What the gold workflow's test states call, emulated locally: Glue CreateTable/DeleteTable of a staging
 * table (with its partitions, and the errors a Catch matches), and Athena GetQueryResults of a SELECT the
 * local Athena ran (Athena's shape: a header row, every value as text, NULL as an empty datum, pages).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createS3Client } from '../../../lambdas/aws/s3';
import { localS3Env } from '../../../local/cloud/s3-server';
import { LocalAthena } from '../../../local/gold/athena-on-duckdb';
import { LocalGlueCatalog } from '../../../local/gold/glue-catalog';
import { TemplateResolver } from '../../../local/gold/state-machine-definition';
import { NUMBERS_TEMPLATE } from './fixtures/numbers-template';

const STAGING_TEMPLATE = {
  ...NUMBERS_TEMPLATE,
  Resources: {
    ...NUMBERS_TEMPLATE.Resources,
    Staging: { Type: 'AWS::Glue::Database', Properties: { DatabaseInput: { Name: 'lake_staging' } } },
  },
};
const TABLE_INPUT = {
  Name: 'daily',
  TableType: 'EXTERNAL_TABLE',
  PartitionKeys: [{ Name: 'd', Type: 'date' }],
  StorageDescriptor: { Location: 's3://g/daily/v=1/', Columns: [{ Name: 'n', Type: 'bigint' }] },
};

describe('the test states, locally', () => {
  let dir: string;
  let catalog: LocalGlueCatalog;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-model-test-calls-'));
    catalog = new LocalGlueCatalog(join(dir, 'c.json'));
    catalog.seedFromTemplate(new TemplateResolver(STAGING_TEMPLATE, { buckets: { gold: 'g' } }));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a staging table, refuses it twice, deletes it with its partitions, then reports it absent', () => {
    expect(catalog.createTable({ DatabaseName: 'lake_staging', TableInput: TABLE_INPUT })).toEqual({});
    expect(() => catalog.createTable({ DatabaseName: 'lake_staging', TableInput: TABLE_INPUT })).toThrow(
      expect.objectContaining({ name: 'Glue.AlreadyExistsException' }),
    );
    expect(() => catalog.createTable({ DatabaseName: 'nowhere', TableInput: TABLE_INPUT })).toThrow(
      expect.objectContaining({ name: 'Glue.EntityNotFoundException' }),
    );
    expect(() =>
      catalog.createTable({
        DatabaseName: 'lake_staging',
        TableInput: { ...TABLE_INPUT, DatabaseName: 'x' },
      }),
    ).toThrow(expect.objectContaining({ name: 'Glue.InvalidInputException' }));
    catalog.batchCreatePartition({
      DatabaseName: 'lake_staging',
      TableName: 'daily',
      PartitionInputList: [
        { Values: ['2026-11-01'], StorageDescriptor: { Location: 's3://g/daily/v=1/0/d=2026-11-01/' } },
      ],
    });
    expect(catalog.partitions('lake_staging', 'daily')).toHaveLength(1);
    // Persisted, and left alone by a re-seed (the template does not declare it).
    const reopened = new LocalGlueCatalog(join(dir, 'c.json'));
    reopened.seedFromTemplate(new TemplateResolver(STAGING_TEMPLATE, { buckets: { gold: 'g' } }));
    expect(reopened.getTable({ DatabaseName: 'lake_staging', Name: 'daily' }).Table.PartitionKeys).toEqual([
      { Name: 'd', Type: 'date' },
    ]);
    expect(reopened.deleteTable({ DatabaseName: 'lake_staging', Name: 'daily' })).toEqual({});
    expect(reopened.tableNames('lake_staging')).toEqual([]);
    expect(() => reopened.deleteTable({ DatabaseName: 'lake_staging', Name: 'daily' })).toThrow(
      expect.objectContaining({ name: 'Glue.EntityNotFoundException' }),
    );
    // Created again, it starts with no partition.
    reopened.createTable({ DatabaseName: 'lake_staging', TableInput: TABLE_INPUT });
    expect(reopened.partitions('lake_staging', 'daily')).toEqual([]);
  });

  it("returns a SELECT's rows as GetQueryResults does, and refuses DuckDB-only SQL before it runs", async () => {
    // No table is read: the S3 client is never called.
    const s3 = createS3Client(localS3Env('http://127.0.0.1:9'));
    try {
      const athena = new LocalAthena({ s3, catalog, dir: join(dir, 'athena') });
      const { QueryExecution } = await athena.startQueryExecutionSync({
        QueryString:
          "SELECT n, CAST(n * 1.5 AS decimal(10,2)) AS half, CASE WHEN n = 2 THEN NULL ELSE 'x' END AS s FROM (VALUES (1), (2), (3)) t(n) ORDER BY n",
      });
      expect(QueryExecution).toMatchObject({ StatementType: 'DML', SubstatementType: 'SELECT' });
      const results = athena.getQueryResults({ QueryExecutionId: QueryExecution.QueryExecutionId });
      expect(results.ResultSet.ResultSetMetadata.ColumnInfo.map((c) => `${c.Name} ${c.Type}`)).toEqual([
        'n integer',
        'half decimal',
        's varchar',
      ]);
      expect(results.ResultSet.Rows).toEqual([
        { Data: [{ VarCharValue: 'n' }, { VarCharValue: 'half' }, { VarCharValue: 's' }] },
        { Data: [{ VarCharValue: '1' }, { VarCharValue: '1.50' }, { VarCharValue: 'x' }] },
        { Data: [{ VarCharValue: '2' }, { VarCharValue: '3.00' }, {}] },
        { Data: [{ VarCharValue: '3' }, { VarCharValue: '4.50' }, { VarCharValue: 'x' }] },
      ]);
      expect(results.NextToken).toBeUndefined();
      const page = athena.getQueryResults({
        QueryExecutionId: QueryExecution.QueryExecutionId,
        MaxResults: 2,
      });
      expect(page.ResultSet.Rows).toHaveLength(2);
      expect(
        athena
          .getQueryResults({
            QueryExecutionId: QueryExecution.QueryExecutionId,
            NextToken: page.NextToken,
          })
          .ResultSet.Rows.map((r) => r.Data[0].VarCharValue),
      ).toEqual(['2', '3']);
      expect(() => athena.getQueryResults({ QueryExecutionId: 'nope' })).toThrow(
        expect.objectContaining({ name: 'Athena.InvalidRequestException' }),
      );
      await expect(
        athena.startQueryExecutionSync({ QueryString: 'SELECT 1::bigint AS n' }),
      ).rejects.toMatchObject({ name: 'States.TaskFailed', reason: expect.stringContaining("'::' casts") });
    } finally {
      s3.destroy();
    }
  });
});
