/**
 * Issue 13: a local run fails where AWS would alarm. The real CLI, as a child process, on a copy of the
 * sample `products` contract (quality.maxQuarantineRatio: the default 5%): with half of the rows breaking a
 * rule it prints `would alarm: QuarantineRatio-products 50% > 5%` (and, its SLO of 99% quality burning 50
 * times too fast, `would page: SLO retail/products ...`) and exits 1; with 2% of the rows broken, under
 * the alarm's 5% but twice its SLO's budget, `would open a ticket: ...` and exit 1; with clean rows, 0.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { PipelineReport } from '../../local/report/pipeline-report';

const ROOT = resolve(__dirname, '..', '..');
const HEADER = 'product_id;name;category;unit_cost;active;updated_at';

/** `n` products; the first `broken` have a category the contract does not allow (rule `allowed`). */
function products(n: number, broken: number): string {
  const rows = Array.from({ length: n }, (_, i) => {
    const id = `P${String(i + 1).padStart(3, '0')}`;
    const category = i < broken ? 'weapons' : 'toys';
    return `${id};Product ${i + 1};${category};1.50;true;2026-10-0${(i % 9) + 1}T08:00:00Z`;
  });
  return `${[HEADER, ...rows].join('\n')}\n`;
}

/** `medallion pipeline` on `data` (the products contract, no gold, free ports): exit code and output. */
function pipeline(
  dir: string,
  data: string,
): Promise<{ code: number | null; stdout: string; report: PipelineReport }> {
  const report = join(dir, `report-${Date.now()}.json`);
  // biome-ignore format: one flag a line reads best
  const args = [
    '--import', 'tsx', 'bin/medallion.ts', 'pipeline',
    '--contracts', join(dir, 'contracts'),
    '--data', data,
    '--state', join(dir, 'state'), // reused: the second run finds the synthesized templates in its cache
    '--port', '0',
    '--api-port', '0',
    '--no-gold',
    '--report', report,
  ];
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => {
      stdout += b;
    });
    child.stderr.on('data', (b) => {
      stderr += b;
    });
    child.on('error', fail);
    child.on('close', (code) => {
      try {
        done({ code, stdout, report: JSON.parse(readFileSync(report, 'utf8')) as PipelineReport });
      } catch (e) {
        fail(new Error(`no report (exit ${code}): ${(e as Error).message}\n${stdout}\n${stderr}`));
      }
    });
  });
}

describe('medallion pipeline: would alarm', () => {
  let dir: string;
  const data = (name: string, csv: string) => {
    const at = join(dir, name);
    mkdirSync(join(at, 'products'), { recursive: true });
    writeFileSync(join(at, 'products', 'products.csv'), csv);
    return at;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-would-alarm-'));
    mkdirSync(join(dir, 'contracts'));
    copyFileSync(
      join(ROOT, 'samples', 'contracts', 'products.yaml'),
      join(dir, 'contracts', 'products.yaml'),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 when no alarm would fire', async () => {
    const run = await pipeline(dir, data('clean', products(10, 0)));
    expect(run.stdout).toMatch(/^alarms: none would fire \(\d+ evaluated, \d+ not evaluated locally\)$/m);
    expect(run.stdout).not.toContain('would alarm:');
    expect(run.report.ok).toBe(true);
    expect(run.report.wouldAlarm).toEqual([]);
    expect(run.code).toBe(0);
    // The functions' metrics reached the alarms under the names the template's references resolve to.
    const states = Object.fromEntries((run.report.alarmStates ?? []).map((a) => [a.alarmId, a]));
    expect(states['ErrorRate-Transform'].line).toBe('ErrorRate-Transform 0% (alarms at > 5%)');
    expect(states['DurationNearTimeout-Transform'].line).toMatch(/^DurationNearTimeout-Transform \d+ ms /);
    expect(states['DeadLetters-TransformDeadLetters'].line).toBe(
      'DeadLetters-TransformDeadLetters 0 (alarms at > 0)',
    );
    expect(states['QuarantineRatio-products'].line).toBe('QuarantineRatio-products 0% (alarms at > 5%)');
  }, 240_000);

  it('exits 1 with a line per alarm AWS would raise: half of the rows quarantined', async () => {
    const run = await pipeline(dir, data('broken', products(10, 5)));
    expect(run.stdout).toContain('\nwould alarm: QuarantineRatio-products 50% > 5%\n');
    // The contract's SLO (quality 99%) burns its budget 50 times too fast: its page alarm would fire too.
    const page =
      'would page: SLO retail/products quality 50.0% of 10 row(s) (objective 99.0%): burn rate 50.00 (pages: the budget would be gone within hours)';
    expect(run.stdout).toContain(`\n${page}\n`);
    expect(run.report.wouldAlarm).toEqual(['QuarantineRatio-products 50% > 5%', page]);
    expect(run.report.ok).toBe(false);
    expect(run.stdout.trimEnd().split('\n')).toContain('FAILED');
    expect(run.code).toBe(1);
    // Every row is still accounted for: it is the alarm alone that fails the run.
    expect(run.report.files.map((f) => [f.conservation.ok, f.rows])).toEqual([
      [true, { in: 10, out: 5, quarantined: 5, duplicates: 0 }],
    ]);
  }, 240_000);

  it('exits 1 when only the SLO is broken: 2% of rows quarantined, under the 5% alarm, twice the 1% budget', async () => {
    const run = await pipeline(dir, data('slo', products(100, 2)));
    expect(run.report.alarmStates?.find((a) => a.alarmId === 'QuarantineRatio-products')?.state).toBe('OK');
    const ticket =
      'would open a ticket: SLO retail/products quality 98.0% of 100 row(s) (objective 99.0%): burn rate 2.00 (a ticket: the budget is spent faster than the window allows)';
    expect(run.report.wouldAlarm).toEqual([ticket]);
    expect(run.stdout).toContain('data products (SLIs of this run against their SLOs):\n');
    expect(run.stdout).toContain(`\n${ticket}\n`);
    expect(run.report.slos?.find((s) => s.sli === 'quality')).toMatchObject({
      burnRate: expect.closeTo(2, 9),
      alert: 'ticket',
    });
    expect(run.code).toBe(1);
  }, 240_000);
});

describe('medallion pipeline: a completeness SLO', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-completeness-'));
    mkdirSync(join(dir, 'contracts'));
    // The sample contract, its files now ending with a trailer that states their row count, and a
    // completeness objective of 99.9%.
    const yaml = readFileSync(join(ROOT, 'samples', 'contracts', 'products.yaml'), 'utf8')
      .replace('  quality: 99%\n', '  quality: 99%\n  completeness: 99.9%\n')
      .replace("    quote: '\"'\n", '    quote: \'"\'\n  trailer:\n    pattern: "^TRAILER;(\\\\d+)$"\n');
    expect(yaml).toContain('completeness: 99.9%');
    expect(yaml).toContain('trailer:');
    writeFileSync(join(dir, 'contracts', 'products.yaml'), yaml);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const data = (name: string, rows: number, stated: number) => {
    const at = join(dir, name);
    mkdirSync(join(at, 'products'), { recursive: true });
    writeFileSync(join(at, 'products', 'products.csv'), `${products(rows, 0)}TRAILER;${stated}\n`);
    return at;
  };

  it('pages and exits 1 when the files hold 98 of the 100 rows their trailers state (burn rate 20)', async () => {
    const run = await pipeline(dir, data('short', 98, 100));
    const page =
      'would page: SLO retail/products completeness 98.0% of the 100 row(s) its files stated (objective 99.9%): burn rate 20.00 (pages: the budget would be gone within hours)';
    expect(run.stdout).toContain(`\n${page}\n`);
    expect(run.report.wouldAlarm).toEqual([page]);
    // The trailer is no row: every row read passed (quality 100%), and 98 reached silver.
    expect(run.report.files.map((f) => f.rows)).toEqual([{ in: 98, out: 98, quarantined: 0, duplicates: 0 }]);
    expect(run.report.slos?.find((s) => s.sli === 'quality')).toMatchObject({ value: 1, alert: 'none' });
    expect(run.code).toBe(1);
  }, 240_000);

  it('exits 0 when every stated row came', async () => {
    const run = await pipeline(dir, data('whole', 50, 50));
    expect(run.report.slos?.find((s) => s.sli === 'completeness')).toMatchObject({ value: 1, alert: 'none' });
    expect(run.report.wouldAlarm).toEqual([]);
    expect(run.code).toBe(0);
  }, 240_000);
});
