/**
 * `medallion smoke` as CI runs it on every commit: `npx tsx bin/medallion.ts smoke --local`, a real child
 * process on its own state directory and free ports, against the local cloud; and a broken outputs file,
 * refused with exit 2 and one line naming the file.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CHECKS } from '../../local/commands/smoke';
import { freePort } from '../support/free-port';

const ROOT = resolve(__dirname, '..', '..');
/** Point the suite's smoke at a deployment: its outputs file (and, if it holds several, the stack). */
const E2E_OUTPUTS_FILE = 'MEDALLION_E2E_OUTPUTS_FILE';
const E2E_STACK = 'MEDALLION_E2E_STACK';

/** Runs `npx tsx bin/medallion.ts <args>` in the repository; resolves with its exit code and output. */
function medallion(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    const child = spawn('npx', ['tsx', 'bin/medallion.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += String(c);
    });
    child.stderr.on('data', (c) => {
      stderr += String(c);
    });
    child.on('error', fail);
    child.on('exit', (code) => ok({ code, stdout, stderr }));
  });
}

describe('medallion smoke', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-smoke-e2e-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // The same test against a deployment (LocalStack through `cdklocal`, or a real account): its
  // `cdk deploy --outputs-file` file, the endpoints and credentials from the usual AWS variables.
  const deployed = process.env[E2E_OUTPUTS_FILE];

  it(`passes every check against ${deployed ? `the deployment of ${deployed}` : 'the local cloud'} and exits 0`, async () => {
    const [port, apiPort] = [await freePort(), await freePort()];
    const t0 = Date.now();
    const target = deployed
      ? [
          '--outputs-file',
          deployed,
          ...(process.env[E2E_STACK] ? ['--stack', process.env[E2E_STACK] as string] : []),
        ]
      : ['--local', '--state', join(dir, 'state'), '--port', String(port), '--api-port', String(apiPort)];
    const run = await medallion(['smoke', ...target]);
    console.log(`medallion smoke ${target[0]}: ${Date.now() - t0} ms\n${run.stdout}`);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = run.stdout.split('\n');
    if (!deployed) {
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^medallion smoke: local cloud \\(S3 http://127\\.0\\.0\\.1:${port}, API http://127\\.0\\.0\\.1:${apiPort}, `,
          ),
        ),
      );
    }
    const header = lines.findIndex((l) => /^check\s+result\s+time\s+detail$/.test(l));
    const rows = lines.slice(header + 2, header + 2 + Object.keys(CHECKS).length);
    expect(rows.map((r) => r.split(/\s{2,}/).slice(0, 2))).toEqual(
      Object.values(CHECKS).map((c) => [c, 'PASS']),
    );
    expect(lines[header + 2 + rows.length]).toMatch(/^PASS: 7\/7 checks passed in \d+\.\d s$/);
    expect(run.stdout).toContain('rows of this run in the current-state tables: orders 2/2, customers 1/1');
  }, 120_000);

  it('exits 2 with one line naming a broken outputs file and how to write it', async () => {
    const file = join(dir, 'out.json');
    writeFileSync(file, '{"Medallion-prod": {"RecordsUrl": ');
    const run = await medallion(['smoke', '--outputs-file', file, '--stack', 'Medallion-prod']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      new RegExp(
        `^error: outputs file ${file} is not JSON \\(.+\\): run \`npx cdk deploy --outputs-file ${file}\` \\(or pass the file it wrote\\)\\n$`,
      ),
    );
  }, 60_000);
});
