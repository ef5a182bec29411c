/**
 * `medallion check --against <git ref>`: in a real git repository holding the samples, a change that
 * breaks readers fails the check at its file and line unless the major version went up; additive changes
 * pass; an unknown ref is a usage error.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheck } from '../../../local/commands/check';

const PROJECT = join(__dirname, '..', '..', '..');
const SAMPLES = join(PROJECT, 'samples');

/** The environment of git here: no variable of a surrounding repository (a hook's GIT_DIR), a fixed author. */
function gitEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('GIT_')) delete env[name];
  return {
    ...env,
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
  };
}

describe('medallion check --against', () => {
  let repo: string;
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'commit.gpgsign=false', ...args], {
      cwd: repo,
      env: gitEnv(),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const contracts = () => join(repo, 'contracts');
  const models = () => join(repo, 'models');

  beforeEach(() => {
    repo = realpathSync(mkdtempSync(join(tmpdir(), 'medallion-against-')));
    cpSync(join(SAMPLES, 'contracts'), contracts(), { recursive: true });
    cpSync(join(SAMPLES, 'models'), models(), { recursive: true });
    git('init', '--quiet', '--initial-branch=main');
    git('add', '.');
    git('commit', '--quiet', '-m', 'the samples');
  });
  afterEach(() => rmSync(repo, { recursive: true, force: true }));

  /** Rewrites a file of the repository's working tree (`change` on its text) and returns its path. */
  const edit = (path: string, change: (text: string) => string) => {
    const file = join(repo, path);
    const before = readFileSync(file, 'utf8');
    const after = change(before);
    expect(after).not.toBe(before);
    writeFileSync(file, after);
    return file;
  };
  /** The 1-based line of the first line of `file` matching `pattern`. */
  const lineOf = (file: string, pattern: RegExp) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .findIndex((l) => pattern.test(l)) + 1;
  /** The check against `ref`: its exit code and every line it printed. */
  const check = async (ref = 'HEAD') => {
    const lines: string[] = [];
    const code = await runCheck({
      contractsDir: contracts(),
      modelsDir: models(),
      against: ref,
      out: (line) => lines.push(line),
    });
    return { code, lines };
  };
  /** The lines reporting problems (`<file>:<line>: <message>  fix: <fix>`). */
  const problemLines = (lines: readonly string[]) => lines.filter((l) => l.includes('  fix: '));
  /** orders.yaml without its `currency` column (which no sample model reads). */
  const withoutCurrency = (t: string) => t.replace(/ {2}- name: currency\n(?: {4}.*\n)+/, '');

  it('passes when nothing changed since the ref, saying what it compared', async () => {
    const { code, lines } = await check();
    expect(code).toBe(0);
    expect(lines).toEqual([
      expect.stringMatching(
        /^against HEAD \([0-9a-f]{12}\): 3 contracts and 3 models compared, 0 breaking changes without a new major, 0 accepted \(\d+ ms\)$/,
      ),
      expect.stringMatching(/^check: 3 contracts, 3 models OK in \d+ ms$/),
    ]);
  });

  it('fails on a dropped column, at the columns line of the new file, with the version to write', async () => {
    const file = edit('contracts/orders.yaml', withoutCurrency);
    const { code, lines } = await check();
    expect(code).toBe(1);
    expect(problemLines(lines)).toEqual([
      `${file}:${lineOf(file, /^columns:/)}: breaking change since HEAD: column 'currency' dropped; version 1.0.0 keeps major 1  fix: write version: 2.0.0 so readers know, or restore the column 'currency'`,
    ]);
    expect(lines.at(-1)).toMatch(/^check: 1 problem in 3 contracts, 3 models/);
  });

  it('passes the same drop once the major version went up, listing it as accepted', async () => {
    const file = edit('contracts/orders.yaml', (t) =>
      withoutCurrency(t).replace('version: 1.0.0', 'version: 2.0.0'),
    );
    const { code, lines } = await check();
    expect(code).toBe(0);
    expect(lines).toContain(
      `${file}:${lineOf(file, /^columns:/)}: accepted since HEAD: column 'currency' dropped (version 1.0.0 -> 2.0.0)`,
    );
    expect(lines.at(-2)).toMatch(/0 breaking changes without a new major, 1 accepted/);
  });

  it('fails on a retyped column at its type line, but lets a widening (int32 -> int64, more precision) pass', async () => {
    let file = edit('contracts/orders.yaml', (t) =>
      t.replace('type: int32', 'type: int64').replace('type: decimal(10,2)', 'type: decimal(12,2)'),
    );
    expect((await check()).code).toBe(0);
    file = edit('contracts/orders.yaml', (t) =>
      t.replace('type: int64', 'type: double').replace('type: decimal(12,2)', 'type: decimal(12,3)'),
    );
    const { code, lines } = await check();
    expect(code).toBe(1);
    expect(problemLines(lines)).toEqual([
      `${file}:${lineOf(file, /type: double/)}: breaking change since HEAD: column 'quantity' retyped from int32 to double; version 1.0.0 keeps major 1  fix: write version: 2.0.0 so readers know, or restore type int32 (widening int32 -> int64 or a decimal's precision does not break readers)`,
      `${file}:${lineOf(file, /type: decimal\(12,3\)/)}: breaking change since HEAD: column 'unit_price' retyped from decimal(10,2) to decimal(12,3); version 1.0.0 keeps major 1  fix: write version: 2.0.0 so readers know, or restore type decimal(10,2) (widening int32 -> int64 or a decimal's precision does not break readers)`,
    ]);
  });

  it('fails on a changed primary key, and on a version that went down', async () => {
    git('commit', '--quiet', '--allow-empty', '-m', 'nothing');
    const file = edit('contracts/orders.yaml', (t) =>
      t.replace('primaryKey: [order_id]', 'primaryKey: [order_id, product_id]').replace('1.0.0', '0.9.0'),
    );
    const { code, lines } = await check('HEAD~1');
    expect(code).toBe(1);
    expect(problemLines(lines)).toEqual([
      `${file}:${lineOf(file, /^version:/)}: version went down since HEAD~1: 1.0.0 -> 0.9.0  fix: write 1.0.0 or above (version: 1.0.0): a version only goes up`,
      `${file}:${lineOf(file, /^primaryKey:/)}: breaking change since HEAD~1: primary key changed from [order_id] to [order_id, product_id]; version 0.9.0 keeps major 0  fix: write version: 2.0.0 so readers know, or restore primaryKey: [order_id]`,
    ]);
  });

  it('fails on a pii treatment that hides values, and on a model column retyped or its incremental column changed', async () => {
    const contract = edit('contracts/customers.yaml', (t) =>
      t.replace(/^ {4}pii: hash$/m, '    pii: drop').replace(/^ {4}pii: mask$/m, '    pii: hash'),
    );
    const model = edit('models/daily_sales.sql', (t) =>
      t
        .replace('unique_customers bigint', 'unique_customers int')
        .replace('COUNT(DISTINCT customer_id) AS', 'CAST(COUNT(DISTINCT customer_id) AS int) AS')
        .replace(/^-- incremental:.*\n/m, ''),
    );
    const { code, lines } = await check();
    expect(code).toBe(1);
    expect(problemLines(lines).map((l) => l.replace(/;.*/, ''))).toEqual([
      `${contract}:${lineOf(contract, /pii: drop/)}: breaking change since HEAD: column 'email' now pii: drop (no longer written)`,
      `${contract}:${lineOf(contract, /^ {4}pii: hash/)}: breaking change since HEAD: column 'full_name' pii changed from mask to hash (its values change meaning)`,
      `${model}:${lineOf(model, /^-- columns:/)}: breaking change since HEAD: no longer incremental on sales_date (the gold table's partition key)`,
      `${model}:${lineOf(model, /unique_customers int/)}: breaking change since HEAD: column 'unique_customers' retyped from bigint to int`,
    ]);
  });

  it('fails on a model or a dataset removed (committed), at its path in the ref, line 1', async () => {
    unlinkSync(join(models(), 'category_sales.sql'));
    unlinkSync(join(contracts(), 'customers.yaml'));
    git('add', '--all');
    git('commit', '--quiet', '-m', 'remove a model and a dataset');
    const { code, lines } = await check('HEAD~1');
    expect(code).toBe(1);
    expect(problemLines(lines)).toEqual([
      `${join(contracts(), 'customers.yaml')}:1: breaking change since HEAD~1: dataset retail/customers removed (its readers lose its silver tables)  fix: a removal has no version to bump: restore it (git checkout HEAD~1 -- contracts/customers.yaml) until its readers have moved`,
      `${join(models(), 'category_sales.sql')}:1: breaking change since HEAD~1: gold model category_sales removed (its readers lose its table)  fix: a removal has no version to bump: restore it (git checkout HEAD~1 -- models/category_sales.sql) until its readers have moved`,
    ]);
  });

  it('passes additive changes: new columns and models, descriptions, owner, SLA, access, check rules, optional -> required', async () => {
    edit('contracts/orders.yaml', (t) =>
      t
        .replace(/^description: .*$/m, 'description: Order lines, reworded.')
        .replace('contact: retail-data@example.com', 'contact: orders@example.com')
        .replace('freshness: 2 hours', 'freshness: 1 hour')
        .replace('readers: [finance]', 'readers: [finance, crm]')
        .replace('max: 1000', 'max: 2000')
        .replace(/( {2}- name: status\n)/, '  - name: channel\n    type: string\n\n$1')
        .replace(/( {2}- name: status\n {4}type: string\n)/, '$1    required: true\n'),
    );
    edit('models/customer_lifetime_value.sql', (t) =>
      t
        .replace('lifetime_revenue decimal(18,2)', 'lifetime_revenue decimal(18,2), first_store string')
        .replace('AS lifetime_revenue\n', 'AS lifetime_revenue,\n  MIN(store_id) AS first_store\n'),
    );
    writeFileSync(
      join(models(), 'store_count.sql'),
      `-- columns: stores bigint\nSELECT COUNT(DISTINCT store_id) AS stores FROM {{ ref('orders') }}\n`,
    );
    const { code, lines } = await check();
    expect(lines.at(-1)).toMatch(/^check: 3 contracts, 4 models OK/);
    expect(code).toBe(0);
    expect(lines.at(-2)).toMatch(/0 breaking changes without a new major, 0 accepted/);
  });

  it('refuses an unknown ref as a usage error (exit 2) naming the ref', () => {
    const cli = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'bin/medallion.ts',
        'check',
        '--contracts',
        contracts(),
        '--against',
        'no-such-ref',
      ],
      { cwd: PROJECT, env: gitEnv(), encoding: 'utf8' },
    );
    expect(cli.status).toBe(2);
    expect(cli.stderr).toContain(`error: ${repo}: --against: unknown git ref 'no-such-ref'`);
    expect(cli.stdout).toBe('');
  });

  it('refuses a models directory outside the repository as a usage error', async () => {
    await expect(
      runCheck({
        contractsDir: contracts(),
        modelsDir: join(SAMPLES, 'models'),
        against: 'HEAD',
        out: () => {},
      }),
    ).rejects.toThrow(/the gold models directory is outside the git repository/);
  });
});
