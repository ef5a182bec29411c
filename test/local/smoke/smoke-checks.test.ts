/** `medallion smoke`'s runner and table: checks in order, skips after a failure, the exit code, the table. */
import {
  formatSmokeTable,
  runChecks,
  type SmokeCheck,
  type SmokeCheckResult,
  smokeExitCode,
  verdict,
} from '../../../local/commands/smoke';

const pass = (name: string, detail = 'ok', needs?: string[]): SmokeCheck => ({
  name,
  needs,
  run: async () => detail,
});
const fail = (name: string, message: string, needs?: string[]): SmokeCheck => ({
  name,
  needs,
  run: async () => {
    throw new Error(message);
  },
});

describe('runChecks', () => {
  it('runs the checks in order, one at a time, and reports each as it ends', async () => {
    const order: string[] = [];
    const reported: string[] = [];
    const check = (name: string): SmokeCheck => ({
      name,
      run: async () => {
        order.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, 5));
        order.push(`end ${name}`);
        return name;
      },
    });
    const results = await runChecks([check('a'), check('b')], (r) => reported.push(r.check));
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b']);
    expect(reported).toEqual(['a', 'b']);
    expect(results.map((r) => [r.check, r.ok, r.detail])).toEqual([
      ['a', true, 'a'],
      ['b', true, 'b'],
    ]);
    expect(results[0].ms).toBeGreaterThanOrEqual(4);
  });

  it("keeps the first line of a failure's message, skips what needs it and runs the rest", async () => {
    const results = await runChecks([
      fail('upload', 'HTTP 403: denied\nat stack line'),
      pass('silver', 'committed', ['upload']),
      pass('policy', 'allowed'),
    ]);
    expect(results).toEqual([
      { check: 'upload', ok: false, detail: 'HTTP 403: denied', ms: expect.any(Number) },
      { check: 'silver', ok: false, skipped: true, detail: 'skipped: needs upload', ms: 0 },
      { check: 'policy', ok: true, detail: 'allowed', ms: expect.any(Number) },
    ]);
  });

  it('skips a check whose prerequisite was itself skipped', async () => {
    const results = await runChecks([fail('a', 'no'), pass('b', 'x', ['a']), pass('c', 'y', ['b'])]);
    expect(results.map((r) => r.detail)).toEqual(['no', 'skipped: needs a', 'skipped: needs b']);
  });
});

describe('smokeExitCode', () => {
  const result = (ok: boolean, skipped?: boolean): SmokeCheckResult => ({
    check: 'x',
    ok,
    detail: '',
    ms: 0,
    ...(skipped ? { skipped } : {}),
  });

  it('is 0 when every check passed', () => {
    expect(smokeExitCode([result(true), result(true)])).toBe(0);
  });

  it('is 1 when a check failed or was skipped', () => {
    expect(smokeExitCode([result(true), result(false)])).toBe(1);
    expect(smokeExitCode([result(true), result(false, true)])).toBe(1);
  });

  it('is 1 when no check ran', () => {
    expect(smokeExitCode([])).toBe(1);
  });
});

describe('formatSmokeTable', () => {
  it('prints one aligned row per check and the verdict', () => {
    const lines = formatSmokeTable(
      [
        { check: 'S3 door', ok: true, detail: 's3://landing/retail/orders/smoke-1.csv (2 rows)', ms: 40 },
        { check: 'silver via S3 door', ok: false, detail: 'orders: 1/2 rows in silver', ms: 12_345 },
        {
          check: 'gold workflow',
          ok: false,
          skipped: true,
          detail: 'skipped: needs silver via S3 door',
          ms: 0,
        },
      ],
      13_000,
    );
    expect(lines).toEqual([
      'check               result      time  detail',
      '------------------  ------  --------  ------',
      'S3 door             PASS       0.0 s  s3://landing/retail/orders/smoke-1.csv (2 rows)',
      'silver via S3 door  FAIL      12.3 s  orders: 1/2 rows in silver',
      'gold workflow       SKIP           -  skipped: needs silver via S3 door',
      'FAIL: 1/3 checks passed; 2 did not (1 skipped) in 13.0 s',
    ]);
  });

  it('says PASS with the count when every check passed', () => {
    const results = [
      { check: 'gold workflow', ok: true, detail: 'SUCCEEDED', ms: 3 },
      { check: 'alarm topic policy', ok: true, detail: 'allowed', ms: 3 },
    ];
    expect(formatSmokeTable(results, 1_500).at(-1)).toBe('PASS: 2/2 checks passed in 1.5 s');
    expect(verdict(results, 1_500)).toBe('PASS: 2/2 checks passed in 1.5 s');
  });
});
