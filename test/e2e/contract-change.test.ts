/**
 * A contract changes under a kept state: the next `pipeline` (and `local`) warns that silver was built
 * under another version of it and names the replay that rebuilds it; that replay, run verbatim, rebuilds
 * silver and the gold read from it, after which nothing is warned.
 *
 * The handlers read their contracts once, at load time, so each command is its own process, as an operator
 * runs them. The changed contracts are a copy inside the project (the gold workflow is synthesized from
 * project paths), under the git-ignored `.medallion/`; the state is in a temporary directory.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startLocal } from '../../local/commands/local';
import { runQuery } from '../../local/commands/query';

const ROOT = resolve(__dirname, '..', '..');
const run = promisify(execFile);

/** What a command printed and how it exited (a failure is an answer too, not an exception). */
interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function outcome(command: Promise<{ stdout: string; stderr: string }>): Promise<Outcome> {
  try {
    return { code: 0, ...(await command) };
  } catch (e) {
    const failed = e as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const options = { cwd: ROOT, encoding: 'utf8' as const, maxBuffer: 64 * 1024 * 1024 };
/** `medallion <args>`, as `npx tsx bin/medallion.ts` runs it. */
const medallion = (...args: string[]) =>
  outcome(run(join(ROOT, 'node_modules', '.bin', 'tsx'), ['bin/medallion.ts', ...args], options));
/** A command line as a user types it in the project's directory. */
const shell = (command: string) => outcome(run('sh', ['-c', command], options));

const WARNING = /^warning: silver of .*$/gm;

/**
 * The pipeline ran through: every file transformed, gold (when run) succeeded. Not its exit code: a run
 * whose quarantine ratio would alarm (the sample customers' is) is reported as failed, by design.
 */
function expectRanThrough(run: Outcome, gold: boolean): void {
  expect(run.stderr).toBe('');
  expect([0, 1]).toContain(run.code);
  expect(run.stdout).toContain('dead-lettered messages: none');
  expect(run.stdout).not.toMatch(/^ {2}(?!ok ).*\d+ = \d+ \+/m); // every conservation line is ok
  if (gold) expect(run.stdout).toMatch(/^gold \(execution \S+\): SUCCEEDED$/m);
}

describe('a contract change under a kept state', () => {
  let dir: string;
  let state: string;
  let contracts: string;
  const query = async (sql: string) =>
    (await runQuery(sql, { stateDir: state, contractsDir: contracts })).rows;
  /** Orders counted by the gold model daily_sales, and orders of the silver current state it reads. */
  const orders = async () => ({
    gold: Number((await query('SELECT sum(orders) AS n FROM daily_sales'))[0].n),
    silver: Number(
      (await query("SELECT count(*) AS n FROM orders WHERE status IS NULL OR status <> 'cancelled'"))[0].n,
    ),
    returned: Number(
      (await query("SELECT count(*) AS n FROM orders_arrivals WHERE status = 'returned'"))[0].n,
    ),
  });
  const pipeline = (...extra: string[]) =>
    medallion(
      'pipeline',
      '--contracts',
      contracts,
      '--models',
      'samples/models',
      '--state',
      state,
      '--port',
      '0',
      '--api-port',
      '0',
      ...extra,
    );

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-contract-change-'));
    state = join(dir, 'state');
    mkdirSync(join(ROOT, '.medallion'), { recursive: true });
    contracts = mkdtempSync(join(ROOT, '.medallion', 'contract-change-'));
    cpSync(join(ROOT, 'samples', 'contracts'), contracts, { recursive: true });
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(contracts, { recursive: true, force: true });
  });

  let before: Awaited<ReturnType<typeof orders>>;
  let warning: string;

  it('a first run under the contracts as they are warns of nothing', async () => {
    const first = await pipeline();
    expectRanThrough(first, true);
    expect(first.stdout).not.toMatch(WARNING);
    before = await orders();
    // The sample orders contract quarantines the order whose status is 'returned'.
    expect(before.returned).toBe(0);
    expect(before.gold).toBe(before.silver);
  }, 240_000);

  it('after a rule changed, the next run warns naming the dataset and the replay, and records it', async () => {
    const file = join(contracts, 'orders.yaml');
    const text = readFileSync(file, 'utf8');
    const accepting = text.replace(
      'allowed: [placed, shipped, delivered, cancelled]',
      'allowed: [placed, shipped, delivered, cancelled, returned]',
    );
    expect(accepting).not.toBe(text);
    writeFileSync(file, accepting);

    const report = join(dir, 'report.json');
    const second = await pipeline('--keep-state', '--report', report);
    expectRanThrough(second, true);
    expect(second.stdout).toContain('nothing new to transform');
    const warnings = second.stdout.match(WARNING) ?? [];
    const contractsArg = relative(ROOT, contracts);
    expect(warnings).toEqual([
      `warning: silver of retail.orders was built under another version of its contract (${join(contractsArg, 'orders.yaml')} changed): ` +
        `run 'npm run replay -- --dataset orders --contracts ${contractsArg} --state ${state} --models samples/models' ` +
        'to rebuild silver and the gold models that read it',
    ]);
    warning = warnings[0] as string;
    const recorded = JSON.parse(readFileSync(report, 'utf8')) as { contractDrift: Record<string, unknown>[] };
    expect(recorded.contractDrift).toEqual([
      expect.objectContaining({ dataset: 'retail/orders', stale: 2, manifestsRead: 2, warning }),
    ]);
    // Silver and gold still hold what the old contract made of the files.
    expect(await orders()).toEqual(before);
  }, 240_000);

  it('`local` warns of it too, when it starts', async () => {
    const lines: string[] = [];
    await startLocal({
      stateDir: state,
      contractsDir: contracts,
      port: 0,
      apiPort: 0,
      dashboardPort: null,
      out: (line) => lines.push(line),
      until: async () => {},
    });
    // `local` runs no gold: its replay rebuilds what replay does by default (no models for these contracts).
    expect(lines.filter((l) => l.startsWith('warning:'))).toEqual([
      expect.stringMatching(
        /^warning: silver of retail\.orders was built under another version of its contract \(.*orders\.yaml changed\): run 'npm run replay -- --dataset orders --contracts \S+ --state \S+' to rebuild its silver$/,
      ),
    ]);
  }, 120_000);

  it('the replay it names, run verbatim, rebuilds silver and gold; the next run warns of nothing', async () => {
    const command = /run '([^']+)' to rebuild/.exec(warning)?.[1] as string;
    const replayed = await shell(command);
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toContain(
      'replayed 2 bronze object(s) of retail/orders: 2 transformed, 0 dead-lettered',
    );
    expect(replayed.stdout).toContain(
      'rebuilding gold in full, every model of samples/models (reading retail/orders: category_sales, customer_lifetime_value, daily_sales)',
    );
    expect(replayed.stdout).toMatch(/^gold SUCCEEDED \(execution /m);
    expect(replayed.stdout).toMatch(/^ {2}daily_sales: rebuilt, \d+ row\(s\), reads retail\/orders$/m);

    // The order the new rule accepts reached silver, and the gold model reading it counts it.
    const after = await orders();
    expect(after.returned).toBe(1);
    expect(after.silver).toBe(before.silver + 1);
    expect(after.gold).toBe(after.silver);

    const next = await pipeline('--keep-state', '--no-gold');
    expectRanThrough(next, false);
    expect(next.stdout).not.toMatch(WARNING);
  }, 300_000);
});
