/**
 * `medallion local`: runs until Ctrl-C, prints its endpoints, holds its state directory against other
 * commands; a busy port is one line and exit 2.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../../bin/medallion';

const ROOT = resolve(__dirname, '..', '..');

describe('medallion local', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-local-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('serves S3 and the API until SIGINT, then exits 0', async () => {
    const t0 = Date.now();
    const child = spawn(
      join(ROOT, 'node_modules', '.bin', 'tsx'),
      ['bin/medallion.ts', 'local', '--port', '0', '--api-port', '0', '--state', join(dir, 'state')],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr += String(c);
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const s3 = await new Promise<string>((ok, fail) => {
      child.stdout.on('data', (c) => {
        stdout += String(c);
        const m = /S3\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (m && /aws --endpoint-url/.test(stdout)) ok(m[1]);
      });
      void exited.then((code) => fail(new Error(`exited ${code}: ${stderr}`)));
    });
    console.log(`medallion local up in ${Date.now() - t0} ms`);
    expect(stdout).toMatch(/ingest API\s+http:\/\/127\.0\.0\.1:\d+\/datasets\/\{dataset\}\/records/);
    expect(stdout).toContain('AWS_ACCESS_KEY_ID=S3RVER');
    const list = await fetch(`${s3}/`);
    expect(list.status).toBe(200);
    expect(await list.text()).toContain('medallion-local-landing');
    // Another command on the same state is refused (it would load the queue journal a second time, or
    // wipe the buckets under the running cloud), naming the process that holds it.
    const stderr2: string[] = [];
    jest.spyOn(process.stderr, 'write').mockImplementation((c) => {
      stderr2.push(String(c));
      return true;
    });
    try {
      const state = join(dir, 'state');
      for (const args of [
        ['pipeline', '--state', state, '--port', '0', '--api-port', '0'],
        ['replay', '--dataset', 'orders', '--state', state],
      ]) {
        stderr2.length = 0;
        expect(await main(['node', 'medallion', ...args])).toBe(2);
        // (The pid is tsx's node process, the child's child.)
        expect(stderr2.join('')).toMatch(
          /^error: the state directory .* is in use by `medallion local` \(pid \d+, since .*\): stop it first, or give this command another --state\n$/,
        );
      }
    } finally {
      jest.restoreAllMocks();
    }
    expect(list.status).toBe(200); // still serving
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stdout).toContain('stopping the local cloud');
  }, 90_000);

  it('exits 2 with one line when the S3 port is in use', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const { port } = busy.address() as { port: number };
    const stderr: string[] = [];
    jest.spyOn(process.stderr, 'write').mockImplementation((c) => {
      stderr.push(String(c));
      return true;
    });
    try {
      const code = await main([
        'node',
        'medallion',
        'local',
        '--port',
        String(port),
        '--state',
        join(dir, 's'),
      ]);
      expect(code).toBe(2);
      expect(stderr.join('').trimEnd().split('\n')).toHaveLength(1);
      expect(stderr.join('')).toMatch(new RegExp(`^error: port ${port} .* in use.*--port`));
    } finally {
      jest.restoreAllMocks();
      await new Promise((r) => busy.close(r));
    }
  });
});
