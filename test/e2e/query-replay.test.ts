/** `medallion query` and `medallion replay` over the state a pipeline run leaves. */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../bin/medallion';
import { runPipeline } from '../../local/commands/pipeline';
import { formatResult, runQuery } from '../../local/commands/query';
import { replay } from '../../local/commands/replay';
import { freePort } from '../support/free-port';

describe('query and replay', () => {
  let dir: string;
  let state: string;
  /** In jest the handler modules load once per file, with their environment (which holds the S3 port):
   * the pipeline and every replay use the same port. */
  let port: number;
  const quiet = () => undefined;

  /** Every silver manifest of a dataset, as written (without the time it was written). */
  const manifests = (dataset: string) => {
    const base = join(state, 's3', 'medallion-local-silver', '_manifests', 'retail', dataset);
    return readdirSync(base)
      .filter((f) => f.endsWith('._S3rver_object'))
      .sort()
      .map((f) => {
        const m = JSON.parse(readFileSync(join(base, f), 'utf8')) as Record<string, unknown>;
        for (const k of Object.keys(m)) if (/At$|Ms$/.test(k)) delete m[k];
        return { file: f, rows: m.rows, outputs: m.outputs, status: m.status };
      });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-query-'));
    state = join(dir, 'state');
    port = await freePort();
    const report = await runPipeline({ stateDir: state, port, apiPort: 0, out: quiet, modelsDir: false });
    expect(report.ok).toBe(true);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('counts the silver orders arrivals like the pipeline report does', async () => {
    const result = await runQuery('SELECT count(*) AS n, count(DISTINCT dt) AS days FROM orders_arrivals', {
      stateDir: state,
    });
    expect(result.rows).toEqual([{ n: 44, days: 3 }]);
    expect(Object.keys(result.tables).sort()).toEqual([
      'customers_arrivals',
      'manifests',
      'orders_arrivals',
      'products_arrivals',
      'quarantine',
    ]);
  });

  it('prints table, json and csv', async () => {
    const result = await runQuery(
      "SELECT dt::VARCHAR AS dt, count(*) AS n FROM orders_arrivals WHERE dt <= DATE '2026-11-02' GROUP BY dt ORDER BY dt",
      { stateDir: state },
    );
    expect(formatResult(result, 'csv')).toBe('dt,n\n2026-11-01,12\n2026-11-02,9\n');
    expect(JSON.parse(formatResult(result, 'json'))).toEqual([
      { dt: '2026-11-01', n: 12 },
      { dt: '2026-11-02', n: 9 },
    ]);
    expect(formatResult(result, 'table').split('\n')).toEqual([
      'dt         |  n',
      '-----------+---',
      '2026-11-01 | 12',
      '2026-11-02 |  9',
      '(2 rows)',
      '',
    ]);
  });

  it('reads gold tables from a local catalog, and fails in one line on bad SQL', async () => {
    // A "gold" table: a copy of the orders objects at a catalogued location.
    const silver = join(state, 's3', 'medallion-local-silver', 'retail', 'orders');
    cpSync(silver, join(state, 's3', 'medallion-local-gold', 'daily', 'v1'), { recursive: true });
    writeFileSync(
      join(state, 'glue-catalog.json'),
      JSON.stringify({
        tables: { daily_sales: { StorageDescriptor: { Location: 's3://medallion-local-gold/daily/v1/' } } },
      }),
    );
    const result = await runQuery('SELECT count(*) AS n FROM daily_sales', { stateDir: state });
    expect(result.rows).toEqual([{ n: 44 }]);
    rmSync(join(state, 'glue-catalog.json'));
    await expect(runQuery('SELECT * FROM nope', { stateDir: state })).rejects.toThrow(
      /nope.*\(tables: customers_arrivals, manifests, orders_arrivals, products_arrivals, quarantine\)$/,
    );
  });

  it('replays a dataset: same manifests; --since filters by ingest date', async () => {
    const before = manifests('orders');
    expect(before).toHaveLength(2);
    const all = await replay({ dataset: 'orders', stateDir: state, port, out: quiet });
    expect(all.objects).toHaveLength(2);
    expect(all).toMatchObject({ transformed: 2, deadLettered: 0 });
    expect(manifests('orders')).toEqual(before);

    const today = all.objects[0].match(/ingest_date=(\d{4}-\d{2}-\d{2})/)?.[1] as string;
    const tomorrow = new Date(Date.parse(today) + 86_400_000).toISOString().slice(0, 10);
    expect(
      (await replay({ dataset: 'orders', since: today, stateDir: state, port, out: quiet })).objects,
    ).toHaveLength(2);
    expect(
      (await replay({ dataset: 'orders', since: tomorrow, stateDir: state, port, out: quiet })).objects,
    ).toEqual([]);
    expect(manifests('orders')).toEqual(before);
  });

  describe('on the command line', () => {
    let stdout: string[];
    let stderr: string[];
    beforeEach(() => {
      stdout = [];
      stderr = [];
      jest.spyOn(process.stdout, 'write').mockImplementation((c) => {
        stdout.push(String(c));
        return true;
      });
      jest.spyOn(process.stderr, 'write').mockImplementation((c) => {
        stderr.push(String(c));
        return true;
      });
    });
    afterEach(() => jest.restoreAllMocks());
    const cli = (...args: string[]) => main(['node', 'medallion', ...args]);

    it('query --format csv', async () => {
      expect(
        await cli('query', 'SELECT count(*) AS n FROM orders_arrivals', '--format', 'csv', '--state', state),
      ).toBe(0);
      expect(stdout.join('')).toBe('n\n44\n');
    });

    it('exits 2 with one line: unknown dataset, bad date, --queue-url, no state, bad SQL', async () => {
      const cases: [string[], RegExp][] = [
        [
          ['replay', '--dataset', 'invoices', '--state', state],
          /no data contract declares dataset 'invoices'/,
        ],
        [
          ['replay', '--dataset', 'orders', '--since', 'yesterday', '--state', state],
          /--since must be a date/,
        ],
        [
          ['replay', '--dataset', 'orders', '--queue-url', 'https://sqs.x/q', '--state', state],
          /--queue-url needs --bronze-bucket/,
        ],
        [['query', 'SELECT 1', '--state', join(dir, 'none')], /no local buckets in/],
        [['query', 'SELEC nonsense', '--state', state], /syntax error/i],
      ];
      for (const [args, message] of cases) {
        stderr = [];
        expect(await cli(...args)).toBe(2);
        const text = stderr.join('');
        expect(text.trimEnd().split('\n')).toHaveLength(1);
        expect(text).toMatch(message);
      }
    });

    it('a contract error is one line too', async () => {
      const contracts = join(dir, 'bad-contracts');
      mkdirSync(contracts);
      writeFileSync(join(contracts, 'orders.yaml'), 'domain: retail\ndataset: orders\n');
      expect(await cli('query', 'SELECT 1', '--state', state, '--contracts', contracts)).toBe(2);
      expect(stderr.join('')).toMatch(/^error: invalid data contract .*orders\.yaml/);
    });
  });
});
