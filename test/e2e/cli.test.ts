/** The command line: exit codes and one-line errors, without running a whole pipeline. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../../bin/medallion';
import { contractSchemaText } from '../../bin/write-contract-schema';

const SAMPLES = resolve(__dirname, '..', '..', 'samples');

describe('bin/medallion.ts', () => {
  let dir: string;
  let stderr: string[];
  let stdout: string[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-cli-'));
    stderr = [];
    stdout = [];
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr.push(String(chunk));
      return true;
    });
    jest.spyOn(console, 'log').mockImplementation((...args) => void stdout.push(args.join(' ')));
  });

  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => main(['node', 'medallion', ...args]);
  const oneLine = () => {
    const text = stderr.join('');
    expect(text.trimEnd().split('\n')).toHaveLength(1);
    return text;
  };

  it('writes the contract schema exactly as bin/write-contract-schema.ts does', async () => {
    const out = join(dir, 'schema.json');
    expect(await cli('contract-schema', '--out', out)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(contractSchemaText());
    expect(stdout).toEqual([`wrote ${out}`]);
  });

  it('exits 2 with one line for a data directory no contract declares', async () => {
    mkdirSync(join(dir, 'data', 'invoices'), { recursive: true });
    writeFileSync(join(dir, 'data', 'invoices', 'a.csv'), 'x\n1\n');
    const code = await cli('pipeline', '--data', join(dir, 'data'), '--state', join(dir, 'state'));
    expect(code).toBe(2);
    expect(oneLine()).toMatch(
      /^error: .*invoices: no data contract declares dataset 'invoices' \(known: customers, orders, products\)\n$/,
    );
  });

  it('exits 2 with one line for an invalid contract', async () => {
    mkdirSync(join(dir, 'contracts'));
    writeFileSync(join(dir, 'contracts', 'orders.yaml'), 'domain: retail\ndataset: orders\n');
    const code = await cli('pipeline', '--contracts', join(dir, 'contracts'), '--state', join(dir, 'state'));
    expect(code).toBe(2);
    // Found by the check `pipeline` runs first (`medallion check`), each problem at its file and line.
    expect(oneLine()).toMatch(
      /^error: medallion check found 4 problems, nothing ran: .*orders\.yaml:1: source: 'source' is missing {2}fix: /,
    );
  });

  it('exits 2 with one line when the port is taken', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      const code = await cli(
        'pipeline',
        '--data',
        join(SAMPLES, 'data'),
        '--state',
        join(dir, 'state'),
        '--port',
        String(port),
      );
      expect(code).toBe(2);
      expect(oneLine()).toBe(
        `error: port ${port} on 127.0.0.1 (S3) is already in use: is another local pipeline running? choose another with --port\n`,
      );
    } finally {
      busy.close();
    }
  });

  it('refuses to wipe a directory it did not create', async () => {
    writeFileSync(join(dir, 'precious.txt'), 'keep me');
    const code = await cli('pipeline', '--state', dir, '--port', '0', '--api-port', '0');
    expect(code).toBe(2);
    expect(oneLine()).toMatch(/is not a medallion state directory: refusing to use it\n$/);
    expect(readFileSync(join(dir, 'precious.txt'), 'utf8')).toBe('keep me');
  });

  it('exits 1 with one line naming the log on an unexpected failure, its stack in <state>/logs', async () => {
    // A silver object that is not Parquet (what a half-written file was): the data, not the command's
    // input, fails the query.
    const state = join(dir, 'state');
    const partition = join(state, 's3', 'medallion-local-silver', 'retail', 'orders', 'dt=2026-11-01');
    mkdirSync(partition, { recursive: true });
    writeFileSync(join(partition, 'part-x.parquet._S3rver_object'), 'PAR1 cut short');
    const code = await cli('query', 'SELECT 1', '--state', state, '--contracts', join(SAMPLES, 'contracts'));
    expect(code).toBe(1);
    const log = join(state, 'logs', 'medallion-errors.log');
    expect(oneLine()).toMatch(
      new RegExp(
        `^error: .*No magic bytes.* \\(stack in ${log.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)\n$`,
      ),
    );
    const logged = readFileSync(log, 'utf8');
    expect(logged).toContain('medallion query SELECT 1 --state');
    // The error whole, as the engine gave it (stderr has it on one line).
    expect(logged).toMatch(/No magic bytes[\s\S]*\nLINE 1: /);
  });

  it("--version prints package.json's version and exits 0", async () => {
    const out: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const { version } = require('../../package.json') as { version: string };
    for (const flag of ['--version', '-V']) {
      out.length = 0;
      expect(await cli(flag)).toBe(0);
      expect(out.join('')).toBe(`${version}\n`);
    }
  });

  it('exits 2 on a bad option', async () => {
    expect(await cli('pipeline', '--port', 'http')).toBe(2);
    expect(oneLine()).toMatch(/^error: option '--port <n>' argument 'http' is invalid/);
  });
});
