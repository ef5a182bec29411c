/**
 * `medallion query` through the real CLI over the state a pipeline run leaves: the pipeline's records as
 * tables (`quarantine`, `manifests`), every table with exactly the columns its Glue table declares (no
 * gold `v` column), and `--athena` refusing SQL Athena would not run.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runPipeline } from '../../local/commands/pipeline';
import type { PipelineReport } from '../../local/report/pipeline-report';
import { freePort } from '../support/free-port';

const ROOT = resolve(__dirname, '..', '..');

/** An orders file with a quoted field spanning two lines, a bad quantity and a trailing delimiter. */
const MULTILINE_ORDERS = [
  'order_id,order_ts,updated_at,customer_id,store_id,product_id,quantity,unit_price,currency,status', // 1
  'O-4001,2026-11-04 10:00:00,2026-11-04T09:00:00Z,"C001', // 2
  'loyalty",S1,P001,1,9.99,EUR,placed', // 3
  'O-4002,2026-11-04 11:00:00,2026-11-04T10:00:00Z,C002,S1,P001,two,9.99,EUR,placed', // 4: quantity
  'O-4003,2026-11-04 12:00:00,2026-11-04T11:00:00Z,C003,S1,P001,1,9.99,EUR,placed,', // 5: a field too many
  'O-4004,2026-11-04 13:00:00,2026-11-04T12:00:00Z,C004,S1,P001,1,9.99,EUR,placed', // 6
  '',
].join('\n');

describe('medallion query: pipeline tables and declared columns', () => {
  let dir: string;
  let state: string;
  let report: PipelineReport;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-query-tables-'));
    state = join(dir, 'state');
    const data = join(dir, 'data');
    cpSync(join(ROOT, 'samples', 'data'), data, { recursive: true });
    writeFileSync(join(data, 'orders', 'orders-2026-11-04.csv'), MULTILINE_ORDERS);
    report = await runPipeline({
      stateDir: state,
      dataDir: data,
      port: await freePort(),
      apiPort: 0,
      out: () => {},
    });
    expect(report.gold?.ok).toBe(true);
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** `medallion query` in its own process: exit status, stdout, stderr. */
  const query = (sql: string, ...flags: string[]) => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'bin/medallion.ts', 'query', sql, '--state', state, ...flags],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      },
    );
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  };
  const json = (sql: string) => {
    const run = query(sql, '--format', 'json');
    expect(run).toMatchObject({ status: 0, stderr: '' });
    return JSON.parse(run.stdout) as Record<string, unknown>[];
  };

  it('quarantine: each quarantined row with its dataset, source file, physical line, rule and text', () => {
    const rows = json(
      "SELECT dataset, source_key, line, column_name, rule, value, text FROM quarantine WHERE text LIKE 'O-400%' ORDER BY line",
    );
    const source = report.files.find((f) => f.path === 'orders/orders-2026-11-04.csv')?.bronzeKey;
    expect(rows).toEqual([
      {
        dataset: 'orders',
        source_key: source,
        line: 4,
        column_name: 'quantity',
        rule: 'type',
        value: 'two',
        text: MULTILINE_ORDERS.split('\n')[3],
      },
      {
        dataset: 'orders',
        source_key: source,
        line: 5,
        column_name: null,
        rule: 'parse',
        value: null,
        text: MULTILINE_ORDERS.split('\n')[4],
      },
    ]);
    // Every quarantined row of the run, by dataset and rule, as the manifests count them.
    const byRule = json('SELECT dataset, rule, count(*) AS n FROM quarantine GROUP BY ALL ORDER BY ALL');
    const expected = new Map<string, number>();
    for (const f of report.files) {
      for (const [reason, n] of Object.entries(f.quarantinedByReason ?? {})) {
        const key = `${f.dataset}|${reason.split('|').pop()}`;
        expected.set(key, (expected.get(key) ?? 0) + n);
      }
    }
    expect(Object.fromEntries(byRule.map((r) => [`${r.dataset}|${r.rule}`, r.n]))).toEqual(
      Object.fromEntries(expected),
    );
  });

  it("lineage: each gold table's sources, the run that built it (an incremental one: its newest day), its version and domain; the report says it too", () => {
    const execution = report.gold?.executionName;
    expect(json('SELECT * FROM lineage ORDER BY ALL')).toEqual([
      {
        gold_table: 'category_sales',
        source: 'daily_sales',
        run: execution,
        version: '1.0.0',
        domain: 'retail',
      },
      {
        gold_table: 'customer_lifetime_value',
        source: 'orders',
        run: execution,
        version: '1.0.0',
        domain: 'retail',
      },
      // An incremental model publishes partitions, each naming the run that built it: its newest day's.
      { gold_table: 'daily_sales', source: 'orders', run: execution, version: '1.0.0', domain: 'retail' },
      { gold_table: 'daily_sales', source: 'products', run: execution, version: '1.0.0', domain: 'retail' },
    ]);
    expect(report.gold?.tables.daily_sales?.sources).toEqual(['orders', 'products']);
  });

  it('manifests: one row per processed file, with its rows in, out, quarantined and de-duplicated', () => {
    const rows = json(
      'SELECT dataset, source_key, status, rows_in, rows_out, rows_quarantined, rows_duplicates, rows_expected, finished_at >= started_at AS timed FROM manifests ORDER BY source_key',
    );
    const expected = report.files
      .map((f) => ({
        dataset: f.dataset,
        source_key: f.bronzeKey,
        status: 'ok',
        rows_in: f.rows?.in,
        rows_out: f.rows?.out,
        rows_quarantined: f.rows?.quarantined,
        rows_duplicates: f.rows?.duplicates,
        // The sample files state no row count (X-Expected-Rows, expected-rows, a trailer).
        rows_expected: null,
        timed: true,
      }))
      .sort((a, b) => String(a.source_key).localeCompare(String(b.source_key)));
    expect(rows).toEqual(expected);
    expect(rows).toHaveLength(5);
  });

  it('SELECT * shows exactly the columns the Glue table declares: no gold v column, the dt partition key kept', () => {
    const catalog = JSON.parse(readFileSync(join(state, 'gold', 'glue-catalog.json'), 'utf8')) as {
      databases: Record<
        string,
        {
          tables: Record<
            string,
            {
              table: {
                StorageDescriptor: { Columns: { Name: string }[] };
                PartitionKeys?: { Name: string }[];
              };
            }
          >;
        }
      >;
    };
    const declared = (name: string) => {
      const db = Object.values(catalog.databases).find((d) => name in d.tables);
      const t = db?.tables[name]?.table;
      return [...(t?.StorageDescriptor.Columns ?? []), ...(t?.PartitionKeys ?? [])].map((c) => c.Name);
    };
    const header = (sql: string) => {
      const run = query(sql, '--format', 'csv');
      expect(run).toMatchObject({ status: 0, stderr: '' });
      return run.stdout.split('\n')[0]?.split(',');
    };

    const gold = header('SELECT * FROM daily_sales LIMIT 1');
    expect(gold).not.toContain('v');
    expect(gold).toEqual(declared('daily_sales'));
    const arrivals = header('SELECT * FROM orders_arrivals LIMIT 1');
    expect(arrivals).toEqual(declared('orders_arrivals'));
    expect(arrivals).toContain('dt');
  });

  it('--athena refuses SQL Athena would not run (exit 2, where and what instead); without it the query runs', () => {
    const refused = query('SELECT 1::bigint AS n', '--athena');
    expect(refused.status).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(
      /^error: Athena would refuse this query \(--athena\): line 1, column 9: .*'::' casts.*CAST\(x AS type\)/,
    );

    expect(query('SELECT 1::bigint AS n', '--format', 'csv')).toMatchObject({ status: 0, stdout: 'n\n1\n' });
    expect(query('SELECT CAST(1 AS bigint) AS n', '--athena', '--format', 'csv')).toMatchObject({
      status: 0,
      stdout: 'n\n1\n',
    });
  });
});
