/** `medallion check` as a whole: the samples pass in under 2 s, and usage problems stop it first. */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkProject, isUsageProblem } from '../../../local/check/check';
import { formatCheck, summaryLine } from '../../../local/check/report';

const SAMPLES = join(__dirname, '..', '..', '..', 'samples');

describe('medallion check', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-check-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('checks the sample contracts and models in under 2 s, and says so in one line', async () => {
    await checkProject({ contractsDir: join(SAMPLES, 'contracts') }); // DuckDB and the parsers loaded once
    // The best of three: on a shared 2-core machine one run can wait seconds for a core.
    const runs: { ms: number; result: Awaited<ReturnType<typeof checkProject>> }[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const result = await checkProject({
        contractsDir: join(SAMPLES, 'contracts'),
        modelsDir: join(SAMPLES, 'models'),
        insideProject: true,
      });
      runs.push({ ms: Date.now() - t0, result });
    }
    const best = Math.min(...runs.map((r) => r.ms));
    const { result } = runs[0];
    expect(result.problems).toEqual([]);
    expect(best).toBeLessThan(2000);
    expect(formatCheck(result)).toEqual([`check: 3 contracts, 3 models OK in ${result.ms} ms`]);
    console.log(`check of the samples, in process: ${runs.map((r) => r.ms).join(', ')} ms`);
  });

  it('reports directories that do not exist or hold no contract as usage problems, before anything else', async () => {
    const missing = join(dir, 'nope');
    const found = await checkProject({ contractsDir: missing, modelsDir: join(dir, 'models') });
    expect(found.problems.every(isUsageProblem)).toBe(true);
    expect(found.problems.map((p) => [p.file, p.message])).toEqual([
      [missing, 'the contracts directory does not exist'],
      [join(dir, 'models'), 'the gold models directory does not exist'],
    ]);
    mkdirSync(join(dir, 'empty'));
    expect((await checkProject({ contractsDir: join(dir, 'empty') })).problems).toEqual([
      expect.objectContaining({
        message: 'no data contract (*.yaml, *.yml, *.json) in the contracts directory',
      }),
    ]);
  });

  it('refuses, for a local gold run, a contracts or models directory outside the project', async () => {
    cpSync(join(SAMPLES, 'contracts'), join(dir, 'contracts'), { recursive: true });
    cpSync(join(SAMPLES, 'models'), join(dir, 'models'), { recursive: true });
    const options = { contractsDir: join(dir, 'contracts'), modelsDir: join(dir, 'models') };
    expect((await checkProject(options)).problems).toEqual([]);
    const found = await checkProject({ ...options, insideProject: true });
    expect(found.problems.map((p) => [p.file, p.message, p.fix])).toEqual([
      [
        join(dir, 'contracts'),
        expect.stringMatching(
          /^the contracts directory must be inside the project \(.*\) for the local gold run/,
        ),
        expect.stringContaining('--no-gold'),
      ],
      [
        join(dir, 'models'),
        expect.stringMatching(/^the models directory must be inside the project/),
        expect.any(String),
      ],
    ]);
    // Without models (no gold), the contracts may be anywhere.
    expect(
      (await checkProject({ contractsDir: join(dir, 'contracts'), insideProject: true })).problems,
    ).toEqual([]);
  });

  it('counts the problems in its last line', () => {
    const problem = { file: 'a.sql', line: 3, message: 'm', fix: 'f' };
    expect(summaryLine({ problems: [problem, problem], contracts: 1, models: 2, ms: 5 })).toBe(
      'check: 2 problems in 1 contract, 2 models (5 ms)',
    );
    expect(
      formatCheck({ problems: [{ ...problem, detail: ['^'] }], contracts: 1, models: 1, ms: 5 }),
    ).toEqual(['a.sql:3: m  fix: f', '    ^', 'check: 1 problem in 1 contract, 1 model (5 ms)']);
  });
});
