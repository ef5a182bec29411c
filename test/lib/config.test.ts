import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { MedallionConfigError } from '../../core/errors';
import {
  contractsDirectory,
  goldModelsDirectory,
  PROJECT_ROOT,
  parseMedallionConfig,
  readMedallionConfig,
  scheduleIntervalMinutes,
} from '../../lib/config';
import { createMedallionApp } from '../../lib/medallion-app';
import { testContext } from '../support/cdk';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'medallion-config-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const configOf = (context: Record<string, unknown>) => readMedallionConfig(new App({ context }).node);

describe('defaults', () => {
  const c = parseMedallionConfig({});

  test('an empty configuration is a retained, unlocked dev deployment', () => {
    expect(c).toMatchObject({
      environment: 'dev',
      allowDestroy: false,
      bronzeObjectLock: false,
      contractsDir: 'samples/contracts',
      maxBodyBytes: 4 * 1024 * 1024,
      monthlyBudgetUsd: 50,
      freshnessSloMinutes: 120,
    });
    expect(c.gold).toEqual({
      modelsDir: 'samples/models',
      schedule: 'rate(1 hour)',
      enabled: true,
      versionsKept: 3,
      // Athena unless chosen; Redshift's defaults: the smallest workgroup, capped at 16 RPU-hours a day.
      engine: 'athena',
      redshift: { baseCapacity: 4, usageLimitRpuHours: 16, costAlarmRpuHoursPerDay: 12 },
    });
    expect(c.alarmEmail).toBeUndefined();
  });

  test('retention and transform defaults', () => {
    expect(c.retention).toEqual({
      landingDays: 14,
      quarantineDays: 90,
      athenaResultsDays: 30,
      silverArrivalsDays: 30,
      noncurrentVersionDays: 30,
      bronzeInfrequentAccessDays: 30,
      bronzeGlacierIrDays: 90,
      bronzeObjectLockDays: 365,
      accessLogsDays: 365,
      logDays: 90,
    });
    expect(c.transform).toEqual({ memoryMb: 3008, timeoutSeconds: 900, maxConcurrency: 5 });
    expect(c.api).toEqual({ throttleRateLimit: 50, throttleBurstLimit: 100 });
  });

  test('a partial nested object keeps the other defaults', () => {
    const p = parseMedallionConfig({ transform: { memoryMb: 4096 } });
    expect(p.transform).toEqual({ memoryMb: 4096, timeoutSeconds: 900, maxConcurrency: 5 });
  });

  test('the functions run on arm64 (Graviton, cheaper per GB-second) unless x86_64 is asked for', () => {
    expect(c.lambdaArchitecture).toBe('arm64');
    expect(parseMedallionConfig({ lambdaArchitecture: 'x86_64' }).lambdaArchitecture).toBe('x86_64');
  });

  test('contractsDir is resolved against the repository root', () => {
    expect(contractsDirectory(c)).toBe(join(PROJECT_ROOT, 'samples', 'contracts'));
    expect(contractsDirectory({ contractsDir: '/abs/contracts' })).toBe('/abs/contracts');
    expect(goldModelsDirectory(c)).toBe(join(PROJECT_ROOT, 'samples', 'models'));
    const abs = parseMedallionConfig({ gold: { modelsDir: '/abs/models' } });
    expect(goldModelsDirectory(abs)).toBe('/abs/models');
  });
});

describe('gold schedule', () => {
  test.each([
    ['rate(1 hour)', 60],
    ['rate(15 minutes)', 15],
    ['rate(2 hours)', 120],
    ['rate(1 day)', 1440],
    ['cron(0 * * * ? *)', 60],
    ['cron(*/10 * * * ? *)', 10],
    ['cron(15 0/3 * * ? *)', 180],
    ['cron(30 2 * * ? *)', 1440],
    ['cron(0 8 ? * MON-FRI *)', undefined],
    ['cron(0 8,12 * * ? *)', undefined],
  ])('%s: every %s minutes', (expression, minutes) => {
    expect(scheduleIntervalMinutes(expression)).toBe(minutes);
    expect(
      parseMedallionConfig({ gold: { schedule: expression }, freshnessSloMinutes: 1441 }).gold.schedule,
    ).toBe(expression);
  });
});

describe('reading from context', () => {
  test('cdk.json object, then medallion:config merged over it key by key', () => {
    const c = configOf({
      medallion: { environment: 'staging', transform: { memoryMb: 2048, maxConcurrency: 3 } },
      'medallion:config': JSON.stringify({ transform: { memoryMb: 4096 }, alarmEmail: 'ops@example.com' }),
    });
    expect(c.environment).toBe('staging');
    expect(c.alarmEmail).toBe('ops@example.com');
    expect(c.transform).toEqual({ memoryMb: 4096, timeoutSeconds: 900, maxConcurrency: 3 });
  });

  test('medallion:config may name a JSON file', () => {
    const file = join(tmp, 'prod.json');
    writeFileSync(
      file,
      JSON.stringify({ environment: 'prod', monthlyBudgetUsd: 500, alarmEmail: 'ops@example.com' }),
    );
    expect(configOf({ 'medallion:config': file })).toMatchObject({
      environment: 'prod',
      monthlyBudgetUsd: 500,
    });
  });

  test('a missing file or invalid JSON is reported with its source', () => {
    expect(() => configOf({ 'medallion:config': join(tmp, 'nope.json') })).toThrow(
      /medallion:config.*no such file/,
    );
    expect(() => configOf({ 'medallion:config': '{not json' })).toThrow(/medallion:config.*not valid JSON/);
    expect(() => configOf({ medallion: 42 })).toThrow(MedallionConfigError);
  });
});

describe('invalid configurations fail with every problem named', () => {
  const problems = (raw: unknown) => {
    try {
      parseMedallionConfig(raw, 'test');
    } catch (e) {
      expect(e).toBeInstanceOf(MedallionConfigError);
      return (e as Error).message;
    }
    throw new Error('expected the configuration to be refused');
  };

  test('several fields at once', () => {
    const message = problems({
      environment: 'Prod!',
      alarmEmail: 'not-an-email',
      transform: { timeoutSeconds: 901, maxConcurrency: 1 },
      maxBodyBytes: 6 * 1024 * 1024,
      unknownKey: true,
    });
    expect(message).toMatch(/^invalid medallion configuration \(test\):/);
    for (const field of [
      'environment:',
      'alarmEmail:',
      'transform.timeoutSeconds:',
      'transform.maxConcurrency:',
      'maxBodyBytes:',
      'unknownKey',
    ]) {
      expect(message).toContain(field);
    }
  });

  test('an alarm e-mail is required outside development environments: otherwise no alarm reaches anyone', () => {
    expect(problems({ environment: 'prod' })).toContain("alarmEmail: is required for environment 'prod'");
    expect(parseMedallionConfig({ environment: 'prod', alarmEmail: 'ops@example.com' }).alarmEmail).toBe(
      'ops@example.com',
    );
    for (const environment of ['dev', 'test-1', 'sandbox', 'ci']) {
      expect(parseMedallionConfig({ environment }).alarmEmail).toBeUndefined();
    }
  });

  test('reserved concurrency is opt-in, and never below the event source maximum concurrency', () => {
    expect(parseMedallionConfig({}).transform.reservedConcurrency).toBeUndefined();
    expect(parseMedallionConfig({ transform: { reservedConcurrency: 8 } }).transform).toMatchObject({
      maxConcurrency: 5,
      reservedConcurrency: 8,
    });
    expect(problems({ transform: { maxConcurrency: 5, reservedConcurrency: 3 } })).toContain(
      'transform.reservedConcurrency: must be at least maxConcurrency',
    );
  });

  test('Glacier IR must come 30 days after STANDARD_IA, which S3 refuses before 30 days', () => {
    expect(problems({ retention: { bronzeInfrequentAccessDays: 60, bronzeGlacierIrDays: 70 } })).toContain(
      'retention.bronzeGlacierIrDays: must be at least 30 days after bronzeInfrequentAccessDays (60)',
    );
    expect(problems({ retention: { bronzeInfrequentAccessDays: 10 } })).toContain(
      'retention.bronzeInfrequentAccessDays',
    );
  });

  test('the gold schedule must be an EventBridge expression', () => {
    for (const schedule of [
      'hourly',
      'rate(1 hours)',
      'rate(2 hour)',
      'rate(0 minutes)',
      'cron(0 * * * ?)',
    ]) {
      expect(problems({ gold: { schedule } })).toContain(
        'gold.schedule: must be an EventBridge schedule expression',
      );
    }
    expect(problems({ gold: { modelsDir: '', unknown: 1 } })).toMatch(/gold\.modelsDir[\s\S]*gold/);
  });

  test('the freshness SLO must exceed the gold schedule interval (when gold is enabled)', () => {
    expect(problems({ freshnessSloMinutes: 60 })).toContain(
      "freshnessSloMinutes: must be more than the gold schedule's interval (rate(1 hour): every 60 minutes), or the Freshness alarm fires between two runs: set it to at least 120",
    );
    expect(problems({ gold: { schedule: 'rate(3 hours)' } })).toContain('set it to at least 360');
    expect(
      parseMedallionConfig({ gold: { schedule: 'rate(3 hours)' }, freshnessSloMinutes: 300 })
        .freshnessSloMinutes,
    ).toBe(300);
    expect(
      parseMedallionConfig({ gold: { enabled: false }, freshnessSloMinutes: 60 }).freshnessSloMinutes,
    ).toBe(60);
    expect(
      parseMedallionConfig({ gold: { schedule: 'rate(30 minutes)' }, freshnessSloMinutes: 60 }).gold.enabled,
    ).toBe(true);
  });

  test('silver arrivals are kept at least as long as the commit log that names them (30 days)', () => {
    expect(problems({ retention: { silverArrivalsDays: 10 } })).toContain(
      'retention.silverArrivalsDays: must be at least 30: the current-state merge reads the arrivals committed up to 25 days back (the commit log is kept 30 days)',
    );
    expect(problems({ retention: { silverArrivalsDays: 30.5 } })).toContain('retention.silverArrivalsDays');
    expect(parseMedallionConfig({ retention: { silverArrivalsDays: 30 } }).retention.silverArrivalsDays).toBe(
      30,
    );
    expect(
      parseMedallionConfig({ retention: { silverArrivalsDays: 400 } }).retention.silverArrivalsDays,
    ).toBe(400);
  });

  test('the Lambda architecture is arm64 or x86_64, as Lambda names them', () => {
    expect(problems({ lambdaArchitecture: 'x64' })).toMatch(/lambdaArchitecture: .*"arm64".*"x86_64"/);
  });

  test('log retention must be a CloudWatch Logs value', () => {
    expect(problems({ retention: { logDays: 45 } })).toMatch(/retention\.logDays: must be one of .*30, 60/);
  });

  test('allowDestroy is for development environments only, and not with Object Lock', () => {
    expect(problems({ environment: 'prod', allowDestroy: true })).toContain(
      'allowDestroy: is for development only',
    );
    expect(problems({ allowDestroy: true, bronzeObjectLock: true })).toContain(
      'bronzeObjectLock: cannot be combined with allowDestroy',
    );
    expect(parseMedallionConfig({ environment: 'dev-alice', allowDestroy: true }).allowDestroy).toBe(true);
  });

  test('a bad configuration fails the app before any resource is built', () => {
    expect(() =>
      createMedallionApp({ context: testContext({ 'medallion:config': '{"transform":{"memoryMb":64}}' }) }),
    ).toThrow(
      /invalid medallion configuration \(context 'medallion:config'\):\n {2}- transform\.memoryMb: Too small/,
    );
  });
});
