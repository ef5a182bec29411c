/**
 * The CLI's output through real pipes: `query ... | wc -c` receives every byte, in every format (it used to
 * receive the first 128 KiB, exit 0), and a reader that stops early (`| head`) ends the run quietly.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
// 100,000 rows: 1.5 MB of CSV, far beyond a pipe's buffer.
const SQL = "SELECT range AS n, 'row ' || range AS label FROM range(100000)";

describe('medallion query through a pipe', () => {
  let dir: string;
  let state: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-pipes-'));
    state = join(dir, 'state');
    mkdirSync(join(state, 's3'), { recursive: true }); // an empty lake: the query reads no table
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs a shell pipeline in the repository; its status, stdout and stderr. */
  const sh = (script: string) => {
    const run = spawnSync('bash', ['-o', 'pipefail', '-c', script], { cwd: ROOT, encoding: 'utf8' });
    return { status: run.status, stdout: run.stdout.trim(), stderr: run.stderr };
  };
  const query = (format: string) =>
    `npx tsx bin/medallion.ts query "${SQL}" --format ${format} --state ${JSON.stringify(state)}`;

  // The cut was the process's (it exited before stdout drained), whatever the format (json and table were
  // cut alike): one format shows it.
  it.each(['csv'])(
    '%s: a pipe receives exactly what a file does',
    (format) => {
      const file = join(dir, `out.${format}`);
      expect(sh(`${query(format)} > ${JSON.stringify(file)}`)).toMatchObject({ status: 0, stderr: '' });
      const piped = sh(`${query(format)} | wc -c`);
      expect(piped).toMatchObject({ status: 0, stderr: '' });
      expect(Number(piped.stdout)).toBe(statSync(file).size);
      expect(statSync(file).size).toBeGreaterThan(1_000_000);
    },
    60_000,
  );

  it('| head: the first lines, exit 0, nothing on stderr (no EPIPE crash)', () => {
    const run = sh(`${query('csv')} | head -3`);
    expect(run).toEqual({ status: 0, stdout: 'n,label\n0,row 0\n1,row 1', stderr: '' });
  }, 60_000);
});
