import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalAthena } from '../../../local/gold/athena-on-duckdb';
import { LocalGlueCatalog } from '../../../local/gold/glue-catalog';
import { AthenaTaskFailed } from '../../../local/gold/service-errors';
import { TemplateResolver } from '../../../local/gold/state-machine-definition';
import { withLocalS3 } from '../../support/local-s3';
import { NUMBERS_TEMPLATE as TEMPLATE } from './fixtures/numbers-template';

describe('LocalAthena', () => {
  const s3 = withLocalS3(['g']);
  let dir: string;
  let athena: LocalAthena;
  let catalog: LocalGlueCatalog;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-athena-'));
    catalog = new LocalGlueCatalog(join(dir, 'c.json'));
    catalog.seedFromTemplate(new TemplateResolver(TEMPLATE, { buckets: { gold: 'g' } }));
    athena = new LocalAthena({ s3: s3.client, catalog, dir });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const unload = (select: string, to: string) =>
    athena.startQueryExecutionSync({
      QueryString: `UNLOAD (\n${select}\n) TO '${to}' WITH (format = 'PARQUET', compression = 'ZSTD')`,
      QueryExecutionContext: { Database: 'lake' },
      WorkGroup: 'wg',
    });

  it('reads an unpublished table as empty, and UNLOADs to S3 as one Parquet file', async () => {
    expect(await athena.readTable('lake', 'numbers')).toEqual([]);
    const out = await unload(
      'SELECT CAST(n AS bigint) AS n FROM (VALUES (1), (2), (3)) AS v(n)',
      's3://g/numbers/v=1/',
    );
    expect(out.QueryExecution.Status.State).toBe('SUCCEEDED');
    expect(await s3.keys('g')).toEqual(['numbers/v=1/part-0.parquet']);
    expect(athena.unloads.get('s3://g/numbers/v=1/')?.rows).toBe(3);
  });

  it('fails the task (States.TaskFailed) on DuckDB-only syntax, before anything runs', async () => {
    const failure = await unload('SELECT n::int AS n FROM "lake"."numbers"', 's3://g/numbers/v=2/').catch(
      (e) => e,
    );
    expect(failure).toBeInstanceOf(AthenaTaskFailed);
    expect(failure.name).toBe('States.TaskFailed');
    expect(failure.reason).toContain("DuckDB-only syntax, Athena would refuse it:\n  - '::' casts");
    expect(JSON.parse(failure.message).QueryExecution.Status.State).toBe('FAILED');
    expect(await s3.keys('g', 'numbers/v=2/')).toEqual([]);
  });

  it('runs queries of one wave at once over the same table: none reads a file another is still fetching', async () => {
    // A wave's queries fetch the same objects into the same cache: with files rewritten in place, this
    // failed 2 runs in 3 ("too small to be a Parquet file"). 16 files of 100,000 rows, 6 queries.
    await unload(
      `WITH d AS (SELECT n FROM (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) AS t(n)),
      r AS (SELECT a.n + 10 * b.n + 100 * c.n + 1000 * e.n + 10000 * f.n AS n FROM d a, d b, d c, d e, d f)
      SELECT CAST(n AS bigint) AS n, md5(CAST(n AS varchar)) AS pad FROM r`,
      's3://g/numbers/v=big/',
    );
    const { Table } = catalog.getTable({ DatabaseName: 'lake', Name: 'numbers' });
    catalog.updateTable({
      DatabaseName: 'lake',
      TableInput: {
        Name: Table.Name,
        TableType: Table.TableType,
        StorageDescriptor: { ...Table.StorageDescriptor, Location: 's3://g/numbers/v=big/' },
      },
    });
    // Queries starting a little apart: one is reading while another still fetches.
    const part = (await s3.get('g', 'numbers/v=big/part-0.parquet')) as Buffer;
    for (let i = 1; i < 16; i++) await s3.put('g', `numbers/v=big/part-${i}.parquet`, part);
    const counts = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i * 7));
        return athena.query('SELECT count(*) AS n FROM "lake"."numbers"', 'lake');
      }),
    );
    expect(counts).toEqual(Array.from({ length: 6 }, () => [{ n: '1600000' }]));
  });

  it('refuses, like Athena, to UNLOAD into a prefix that already holds objects', async () => {
    const failure = await unload('SELECT CAST(1 AS bigint) AS n', 's3://g/numbers/v=1/').catch((e) => e);
    expect(failure.reason).toMatch(/^HIVE_PATH_ALREADY_EXISTS/);
  });
});
