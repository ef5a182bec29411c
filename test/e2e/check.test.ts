/**
 * `medallion check` through the real command line (a child process per run): exit codes, `<file>:<line>:
 * <message>  fix: <...>` lines; and `pipeline`, `local` and `cdk synth` refusing to start on what it finds.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(__dirname, '..', '..');
const SAMPLES = join(ROOT, 'samples');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs `node --import tsx <script> <args>` from the project root. */
async function node(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const t0 = Date.now();
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', script, ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 120_000 },
    );
    return { code: 0, stdout, stderr, ms: Date.now() - t0 };
  } catch (e) {
    const failed = e as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw e;
    return {
      code: failed.code,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
      ms: Date.now() - t0,
    };
  }
}
const medallion = (...args: string[]) => node('bin/medallion.ts', args);

describe('medallion check (the command line)', () => {
  let dir: string;
  let contracts: string;
  let models: string;
  let orders: string;
  let daily: string;
  let lifetime: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-e2e-check-'));
    contracts = join(dir, 'contracts');
    models = join(dir, 'models');
    cpSync(join(SAMPLES, 'contracts'), contracts, { recursive: true });
    cpSync(join(SAMPLES, 'models'), models, { recursive: true });
    orders = join(contracts, 'orders.yaml');
    daily = join(models, 'daily_sales.sql');
    lifetime = join(models, 'customer_lifetime_value.sql');
    const replace = (file: string, from: string, to: string) => {
      const text = readFileSync(file, 'utf8');
      expect(text).toContain(from);
      writeFileSync(
        file,
        text.replace(from, () => to),
      );
    };
    // JavaScript accepts a lookahead, RE2 (DuckDB, which validates rows) does not.
    replace(orders, "regex: '^O-\\d+$'", "regex: '^(?=O-)O-\\d+$'");
    replace(lifetime, "ref('orders')", "ref('order')");
    replace(daily, 'COUNT(DISTINCT order_id) AS orders', 'COUNT(DISTINCT order_id)::bigint AS orders');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const lineOf = (file: string, text: string) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .findIndex((l) => l.includes(text)) + 1;

  it('exits 0 on the samples with one summary line', async () => {
    const run = await medallion('check');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^check: 3 contracts, 3 models OK in \d+ ms\n$/);
    console.log(
      `node --import tsx bin/medallion.ts check on the samples: ${run.ms} ms wall (${run.stdout.trim()})`,
    );
  });

  it('exits 1 with every problem at its file and line, and what to do', async () => {
    const run = await medallion('check', '--contracts', contracts, '--models', models);
    expect(run.code).toBe(1);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      `${orders}:${lineOf(orders, 'regex:')}: columns[0].checks.regex: DuckDB (RE2, which validates the rows) refuses '^(?=O-)O-\\d+$': invalid perl operator: (?=; every file of orders would be quarantined  fix: RE2 has no lookahead or lookbehind: match the whole value with a plain pattern (character classes, alternatives), or split the rule`,
      `${lifetime}:${lineOf(lifetime, "ref('order')")}: ref('order') is neither a gold model nor a silver table  fix: did you mean 'orders'?`,
      `${daily}:${lineOf(daily, '::bigint')}: DuckDB-only syntax, Athena refuses it: '::' casts (column 27)  fix: use CAST(x AS type)`,
      expect.stringMatching(/^check: 3 problems in 3 contracts, 3 models \(\d+ ms\)$/),
    ]);
  });

  it('exits 2 with one line when a directory does not exist (a usage error)', async () => {
    const run = await medallion('check', '--contracts', join(dir, 'nope'));
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `error: ${join(dir, 'nope')}: the contracts directory does not exist  fix: give the directory of the data contracts: --contracts <dir>\n`,
    );
  });

  it('makes `pipeline` refuse to start (exit 2, nothing created) with the same lines', async () => {
    const state = join(dir, 'state');
    const run = await medallion(
      'pipeline',
      '--contracts',
      contracts,
      '--no-gold',
      '--state',
      state,
      '--port',
      '0',
      '--api-port',
      '0',
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      new RegExp(
        `^error: ${escapeRegExp(orders)}:\\d+: columns\\[0\\]\\.checks\\.regex: DuckDB \\(RE2.*  fix: RE2 has no lookahead.*\\n$`,
      ),
    );
    expect(existsSync(state)).toBe(false);
  });

  it('makes `pipeline` with gold refuse models outside the project before landing anything', async () => {
    const clean = join(dir, 'clean');
    cpSync(join(SAMPLES, 'contracts'), join(clean, 'contracts'), { recursive: true });
    cpSync(join(SAMPLES, 'models'), join(clean, 'models'), { recursive: true });
    const state = join(dir, 'state-gold');
    const run = await medallion(
      'pipeline',
      '--contracts',
      join(clean, 'contracts'),
      '--models',
      join(clean, 'models'),
      '--state',
      state,
      '--port',
      '0',
      '--api-port',
      '0',
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^error: medallion check found 2 problems, nothing ran: .*contracts directory must be inside the project.*models directory must be inside the project/,
    );
    expect(existsSync(state)).toBe(false);
  });

  it('makes `local` refuse to start (exit 2) on a contract the check refuses', async () => {
    const state = join(dir, 'state-local');
    const run = await medallion(
      'local',
      '--contracts',
      contracts,
      '--state',
      state,
      '--port',
      '0',
      '--api-port',
      '0',
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: .*orders\.yaml:\d+: columns\[0\]\.checks\.regex: DuckDB \(RE2/);
    expect(existsSync(state)).toBe(false);
  });

  it('makes `cdk synth` (bin/app.ts) print the problems and exit 1 without synthesizing', async () => {
    const out = join(dir, 'cdk.out');
    const run = await node('bin/app.ts', [], {
      CDK_OUTDIR: out,
      CDK_CONTEXT_JSON: JSON.stringify({ 'medallion:config': { contractsDir: contracts } }),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `${orders}:${lineOf(orders, 'regex:')}: columns[0].checks.regex: DuckDB (RE2`,
    );
    expect(run.stderr).toMatch(/check: 1 problem in 3 contracts, 3 models/);
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
  }, 120_000);
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
