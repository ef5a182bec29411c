/**
 * `medallion pipeline` on the samples while the local S3 server answers ~5% of requests with S3's
 * transient errors (500 InternalError, 503 SlowDown; see local/cloud/s3-fault-injection.ts): every S3
 * client retries them (the SDK's standard strategy, 5 attempts), so the run comes out as one without
 * faults: exit 0, the same row counts, the same gold tables. Run as the CLI is, in a process of its own.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { FAULT_RATE_VARIABLE, FAULT_SEED_VARIABLE } from '../../local/cloud/s3-fault-injection';

const ROOT = resolve(__dirname, '..', '..');

/**
 * What a run of the samples without faults prints per dataset and in total (test/e2e/pipeline.test.ts
 * checks the same counts file by file), and of each gold table.
 */
const ROWS_WITHOUT_FAULTS = [
  /^retail\/customers\s+1\s+11\s+10\s+1\s+0$/,
  /^retail\/orders\s+2\s+54\s+44\s+8\s+2$/,
  /^retail\/products\s+1\s+12\s+12\s+0\s+0$/,
  /^total\s+4\s+77\s+66\s+9\s+2$/,
  /^customer_lifetime_value: 10 row\(s\)/,
  /^daily_sales: 26 row\(s\)/,
  /^category_sales: 5 row\(s\)/,
];

describe('medallion pipeline with transient S3 errors', () => {
  let dir: string;
  let run: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-e2e-faults-'));
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
    const args = [
      'bin/medallion.ts',
      'pipeline',
      '--state',
      join(dir, 'state'),
      '--port',
      '0',
      '--api-port',
      '0',
    ];
    const env = { ...process.env, [FAULT_RATE_VARIABLE]: '0.05', [FAULT_SEED_VARIABLE]: '20261201' };
    try {
      const { stdout, stderr } = await promisify(execFile)(tsx, args, { cwd: ROOT, env, encoding: 'utf8' });
      run = { code: 0, stdout, stderr };
    } catch (e) {
      const failed = e as { code?: number; stdout?: string; stderr?: string };
      run = { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  }, 150_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 and prints OK, having failed some requests', () => {
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('OK');
    const faults = /local S3 fault injection: (\d+) of (\d+) request\(s\) failed/.exec(run.stderr);
    expect(Number(faults?.[1])).toBeGreaterThan(0);
  });

  it('prints the row counts and gold tables of a run without faults, with nothing dead-lettered', () => {
    const lines = run.stdout.split('\n').map((l) => l.trimEnd());
    for (const expected of ROWS_WITHOUT_FAULTS) expect(lines.filter((l) => expected.test(l))).toHaveLength(1);
    expect(lines).toContain('landed 4/4 files');
    expect(lines).toContain('transformed 4/4');
    expect(lines).toContain('dead-lettered messages: none');
    expect(lines.filter((l) => /FAILED|transform failed/.test(l))).toEqual([]);
  });
});
