/**
 * Current-state silver through the whole local pipeline: files with overlapping keys and out-of-order
 * versions, a delete, a late older version of the deleted key, then its re-opening. Each day is a run on
 * the state the previous one left (`keepState`); the gold workflow merges the current state before its model.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { runPipeline } from '../../local/commands/pipeline';
import { runQuery } from '../../local/commands/query';
import { replay } from '../../local/commands/replay';
import type { PipelineReport } from '../../local/report/pipeline-report';
import { freePort } from '../support/free-port';

const ROOT = resolve(__dirname, '..', '..');
const FIXTURES = join(__dirname, 'fixtures', 'current-state');
const contractsDir = join(FIXTURES, 'contracts');

describe('current-state silver end to end', () => {
  let dir: string;
  let state: string;
  let port: number;
  const reports: PipelineReport[] = [];
  const query = async (sql: string) => (await runQuery(sql, { stateDir: state, contractsDir })).rows;
  const run = async (day: string) => {
    const report = await runPipeline({
      contractsDir,
      modelsDir: join(FIXTURES, 'models'),
      dataDir: join(FIXTURES, day),
      stateDir: state,
      keepState: reports.length > 0,
      port,
      apiPort: 0,
      out: () => {},
    });
    reports.push(report);
    return report;
  };
  const accounts = () =>
    query(
      'SELECT account_id, owner, CAST(balance AS VARCHAR) AS balance, version, op, dt FROM accounts ORDER BY ALL',
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-current-'));
    state = join(dir, 'state');
    port = await freePort();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('day 1: one row per key, the latest version whatever the file order; the deleted key is gone', async () => {
    const report = await run('day1');
    expect(report.gold?.status).toBe('SUCCEEDED');
    expect(await accounts()).toEqual([
      { account_id: 'A1', owner: 'ann', balance: '150.00', version: 3, op: 'U', dt: '2026-01-05' },
      { account_id: 'A2', owner: 'bob', balance: '20.00', version: 2, op: 'U', dt: '2026-01-06' },
      { account_id: 'A4', owner: 'dan', balance: '40.00', version: 1, op: 'I', dt: '2026-01-08' },
    ]);
    expect(await query('SELECT count(*) = count(DISTINCT account_id) AS unique_keys FROM accounts')).toEqual([
      { unique_keys: true },
    ]);
    // History keeps every version, the delete included.
    expect(await query('SELECT count(*) AS n FROM accounts_history')).toEqual([{ n: 7 }]);
    expect(await query('SELECT account_id, version FROM accounts_deleted')).toEqual([
      { account_id: 'A3', version: 2 },
    ]);
    expect(report.gold?.currentState).toEqual({ 'bank/accounts': { keys: 3, versions: 7 } });
    expect(report.gold?.tables.account_totals.preview.join('\n')).toContain('210.00');
  }, 120_000);

  it('day 2: a late, older version of the deleted key does not bring it back; a newer version moves its key', async () => {
    const report = await run('day2');
    expect(report.gold?.status).toBe('SUCCEEDED');
    const rows = await accounts();
    expect(rows.map((r) => r.account_id)).toEqual(['A1', 'A2', 'A4']);
    expect(rows.find((r) => r.account_id === 'A4')).toMatchObject({
      balance: '45.00',
      version: 2,
      dt: '2026-01-09',
    });
    expect(await query('SELECT count(*) AS n FROM accounts_history')).toEqual([{ n: 9 }]);
  }, 120_000);

  it('day 3: a version newer than the delete re-opens the key', async () => {
    const report = await run('day3');
    expect(report.gold?.status).toBe('SUCCEEDED');
    expect((await accounts()).find((r) => r.account_id === 'A3')).toEqual({
      account_id: 'A3',
      owner: 'cid',
      balance: '5.00',
      version: 3,
      op: 'I',
      dt: '2026-01-10',
    });
    expect(report.gold?.currentState['bank/accounts']).toEqual({ keys: 4, versions: 10 });
  }, 120_000);

  it('replay: history rebuilt from bronze, then the next merge changes nothing (no duplicate, same versions)', async () => {
    const before = await accounts();
    const replayed = await replay({
      dataset: 'accounts',
      stateDir: state,
      contractsDir,
      port,
      out: () => {},
    });
    expect(replayed.transformed).toBe(4);
    // The replayed files were committed again: the next run merges them again, idempotently.
    const report = await run('day3');
    expect(report.gold?.status).toBe('SUCCEEDED');
    expect(await accounts()).toEqual(before);
    expect(report.gold?.currentState['bank/accounts']).toEqual({ keys: 4, versions: 10 });
  }, 120_000);

  it('replay under a stricter contract: the history and the current state drop the version it now quarantines', async () => {
    // The same contract with balances above 140 refused: A1's version 3 (150.00) is now quarantined. The
    // handlers read their contracts once, at load time, so the replay and the next run are their own
    // processes, as an operator runs them.
    const strict = join(FIXTURES, 'stricter-contracts');
    const versionsOfA1 = () =>
      query("SELECT version FROM accounts_history WHERE account_id = 'A1' ORDER BY version");
    expect(await versionsOfA1()).toEqual([{ version: 1 }, { version: 3 }]);
    const medallion = (...args: string[]) =>
      promisify(execFile)(join(ROOT, 'node_modules', '.bin', 'tsx'), ['bin/medallion.ts', ...args], {
        cwd: ROOT,
        encoding: 'utf8',
      });
    const common = ['--contracts', strict, '--state', state, '--port', String(port)];
    const replayed = await medallion('replay', '--dataset', 'accounts', ...common);
    expect(replayed.stdout).toContain(': 4 transformed, 0 dead-lettered');
    const run = await medallion(
      'pipeline',
      ...common,
      '--keep-state',
      '--api-port',
      '0',
      '--models',
      join(FIXTURES, 'models'),
      '--data',
      join(FIXTURES, 'day3'),
    );
    expect(run.stdout).toMatch(/SUCCEEDED/);
    expect(await versionsOfA1()).toEqual([{ version: 1 }]);
    // The current state takes the retracted version back too: A1 is at its latest remaining version.
    expect((await accounts()).find((r) => r.account_id === 'A1')).toMatchObject({
      version: 1,
      balance: '100.00',
    });
    expect(await query('SELECT count(*) AS n FROM accounts_history')).toEqual([{ n: 9 }]);
    expect(await query('SELECT count(*) AS n FROM accounts_arrivals')).toEqual([{ n: 9 }]);
  }, 180_000);
});
