import { join } from 'node:path';
import type { FileReport, PipelineReport } from '../../../local/report/pipeline-report';
import { alignTable, formatSummary } from '../../../local/report/summary';

function file(overrides: Partial<FileReport> & Pick<FileReport, 'path' | 'door'>): FileReport {
  return {
    domain: 'retail',
    dataset: 'orders',
    bytes: 100,
    sha256: 'f'.repeat(64),
    landing: 'landed',
    status: 'ok',
    rows: { in: 0, out: 0, quarantined: 0, duplicates: 0 },
    quarantinedByReason: {},
    partitions: {},
    conservation: { ok: true, problems: [] },
    ...overrides,
  };
}

function report(overrides: Partial<PipelineReport>): PipelineReport {
  return {
    ok: true,
    startedAt: '2026-11-01T00:00:00.000Z',
    finishedAt: '2026-11-01T00:00:03.433Z',
    contractsDir: '/repo/samples/contracts',
    dataDir: '/repo/samples/data',
    stateDir: '/repo/.medallion/local',
    endpoints: { s3: 'http://127.0.0.1:4566', api: 'http://127.0.0.1:4567' },
    buckets: {},
    files: [],
    datasets: [],
    totals: { files: 0, rows: { in: 0, out: 0, quarantined: 0, duplicates: 0 } },
    deadLetters: [],
    landingFailures: [],
    silverObjects: [],
    timingsMs: { start: 1234, ingest: 400, transform: 2000, report: 149, total: 3433 },
    functionLogs: join(process.cwd(), '.medallion', 'local', 'logs', 'functions.log'),
    ...overrides,
  };
}

describe('formatSummary', () => {
  it('prints a successful run: datasets, quarantine reasons and partitions sorted, one line per file, OK', () => {
    const lines = formatSummary(
      report({
        files: [
          file({
            path: 'customers/customers.ndjson',
            door: 'api',
            dataset: 'customers',
            rows: { in: 11, out: 10, quarantined: 1, duplicates: 0 },
          }),
          file({
            path: 'orders/a.csv',
            door: 's3',
            landing: 'already-landed',
            rows: { in: 44, out: 34, quarantined: 8, duplicates: 2 },
          }),
          file({
            path: 'orders/b.csv.gz',
            door: 's3',
            rows: { in: 10, out: 10, quarantined: 0, duplicates: 0 },
          }),
        ],
        datasets: [
          {
            domain: 'retail',
            dataset: 'customers',
            files: 1,
            rows: { in: 11, out: 10, quarantined: 1, duplicates: 0 },
            quarantinedByReason: { 'signup_date|type': 1 },
            partitions: { '2024-07': 4, '2024-03': 6 },
          },
          {
            domain: 'retail',
            dataset: 'orders',
            files: 2,
            rows: { in: 54, out: 44, quarantined: 8, duplicates: 2 },
            quarantinedByReason: { 'quantity|type': 6, 'order_id|regex': 2 },
            partitions: { '2026-11-02': 20, '2026-11-01': 24 },
          },
        ],
        totals: { files: 3, rows: { in: 65, out: 54, quarantined: 9, duplicates: 2 } },
      }),
    );
    expect(lines).toEqual([
      '',
      'dataset           files  rows in  out  quarantined  duplicates',
      'retail/customers      1       11   10            1           0',
      'retail/orders         2       54   44            8           2',
      'total                 3       65   54            9           2',
      '',
      'quarantined rows by reason (column|rule):',
      '  retail/customers: signup_date|type 1',
      '  retail/orders: order_id|regex 2, quantity|type 6',
      '',
      'silver partitions (rows):',
      '  retail/customers: dt=2024-03 (6), dt=2024-07 (4)',
      '  retail/orders: dt=2026-11-01 (24), dt=2026-11-02 (20)',
      '',
      'conservation per file (in = out + quarantined + duplicates, from silver _manifests/):',
      '  ok  customers/customers.ndjson  via api  11 = 10 + 1 + 0',
      '  ok  orders/a.csv                via s3   44 = 34 + 8 + 2  already in bronze',
      '  ok  orders/b.csv.gz             via s3   10 = 10 + 0 + 0',
      '',
      'dead-lettered messages: none',
      'wall time 3.4 s (start 1.2 s, ingest 0.4 s, transform 2.0 s, report 0.1 s)',
      'OK',
    ]);
  });

  it('prints a failed run: why each file failed, dead letters, landing failures, the function logs and gold', () => {
    const lines = formatSummary(
      report({
        ok: false,
        files: [
          file({ path: 'orders/a.csv', door: 's3', status: 'quarantined', reason: 'not a CSV: no header' }),
          file({
            path: 'orders/b.json',
            door: 'api',
            landing: 'failed',
            status: 'missing',
            conservation: { ok: false, problems: ['the file did not land'] },
          }),
          file({
            path: 'orders/c.csv',
            door: 's3',
            rows: { in: 20, out: 15, quarantined: 3, duplicates: 2 },
            conservation: {
              ok: false,
              problems: ['silver files hold 14 rows, the manifest says 15 out', 'missing from silver: k'],
            },
          }),
        ],
        datasets: [
          {
            domain: 'retail',
            dataset: 'orders',
            files: 3,
            rows: { in: 20, out: 15, quarantined: 3, duplicates: 2 },
            quarantinedByReason: {},
            partitions: {},
          },
        ],
        totals: { files: 3, rows: { in: 20, out: 15, quarantined: 3, duplicates: 2 } },
        deadLetters: [
          {
            messageId: 'm-1',
            receiveCount: 3,
            keys: ['retail/orders/ingest_date=2026-11-01/x.csv'],
            lastError: 'boom',
          },
          { messageId: 'm-2', receiveCount: 3, keys: [] },
        ],
        landingFailures: [{ path: 'orders/b.json', error: 'HTTP 413: too large' }],
        gold: {
          ok: false,
          status: 'FAILED',
          error: 'States.TaskFailed: bad SQL',
          alarmSubjects: ['medallion gold: model bad_ref failed'],
          executionName: 'local-1',
          tables: {
            daily_sales: {
              location: 's3://gold/daily_sales/v=local-1/',
              rows: 2,
              bytesRead: 123_456,
              preview: ['  a  b', '  1  2'],
            },
            never_published: { rows: 0, preview: [] },
            bad_ref: {
              location: 's3://gold/bad_ref/_unpublished/',
              publishedNow: false,
              rows: 0,
              preview: [],
            },
            stopped: { location: 's3://gold/stopped/v=local-0/', publishedNow: false, rows: 3, preview: [] },
          },
          currentState: {
            'retail/orders': { keys: 14, versions: 15 },
            'retail/customers': { keys: 3, versions: 3 },
          },
          alarms: 1,
          failures: [
            {
              model: 'bad_ref',
              error: 'States.TaskFailed',
              message: "line 2:16: mismatched input '::'",
              file: 'models/bad_ref.sql',
              line: 5,
            },
          ],
        },
        timingsMs: { start: 1000, ingest: 2000, transform: 3000, gold: 4000, report: 500, total: 10500 },
      }),
    );
    expect(lines).toEqual([
      '',
      'dataset        files  rows in  out  quarantined  duplicates',
      'retail/orders      3       20   15            3           2',
      'total              3       20   15            3           2',
      '',
      'quarantined rows by reason (column|rule):',
      '  retail/orders: none',
      '',
      'silver partitions (rows):',
      '  retail/orders: none',
      '',
      'conservation per file (in = out + quarantined + duplicates, from silver _manifests/):',
      '  ok    orders/a.csv   via s3   0 = 0 + 0 + 0    FILE QUARANTINED: not a CSV: no header',
      '  FAIL  orders/b.json  via api  -                the file did not land',
      '  FAIL  orders/c.csv   via s3   20 = 15 + 3 + 2  silver files hold 14 rows, the manifest says 15 out; missing from silver: k',
      '',
      'dead-lettered messages: 2',
      '  retail/orders/ingest_date=2026-11-01/x.csv after 3 receives: boom',
      '  m-2 after 3 receives',
      'landing failures: 1',
      '  orders/b.json: HTTP 413: too large',
      `function logs: ${join('.medallion', 'local', 'logs', 'functions.log')}`,
      '',
      'gold (execution local-1): FAILED - States.TaskFailed: bad SQL',
      'current state (one row per key; every version stays in <dataset>_history):',
      '  retail/orders     14 key(s), 15 version(s) in history',
      '  retail/customers  3 key(s), 3 version(s) in history',
      'daily_sales: 2 row(s), 120.6 KiB read, published at s3://gold/daily_sales/v=local-1/',
      '  a  b',
      '  1  2',
      'never_published: 0 row(s), published at (never)',
      'bad_ref: 0 row(s), not published: it failed (below); no earlier version',
      "stopped: 3 row(s), not published: skipped: a gold model it reads did not publish in this run; s3://gold/stopped/v=local-0/ (an earlier run's version) stays published",
      `gold model bad_ref failed at ${join('models', 'bad_ref.sql')}:5 (States.TaskFailed):`,
      "    line 2:16: mismatched input '::'",
      'alarms raised: 1',
      'wall time 10.5 s (start 1.0 s, ingest 2.0 s, transform 3.0 s, gold 4.0 s, report 0.5 s)',
      'FAILED',
    ]);
  });

  it('names the function logs of a failed run by their full path when outside the working directory', () => {
    const files = [file({ path: 'orders/a.csv', door: 's3' })];
    const lines = formatSummary(report({ ok: false, files, functionLogs: '/elsewhere/functions.log' }));
    expect(lines).toContain('function logs: /elsewhere/functions.log');
  });
});

describe('alignTable', () => {
  it('pads every column to its widest cell, numbers right-aligned after the first column', () => {
    expect(
      alignTable([
        ['name', 'n'],
        ['a', '100'],
      ]),
    ).toEqual(['name    n', 'a     100']);
  });

  it('left-aligns every column when not numeric, without trailing spaces', () => {
    expect(
      alignTable(
        [
          ['ok', 'a', ''],
          ['FAIL', 'bbb', 'note'],
        ],
        false,
      ),
    ).toEqual(['ok    a', 'FAIL  bbb  note']);
  });
});
