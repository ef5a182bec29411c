/**
 * cdk-nag AwsSolutions over the whole app: zero unacknowledged findings, every acknowledgement carries a
 * reason, and the acknowledgements are narrow enough that a new wildcard still fails synth.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { PROJECT_ROOT } from '../../lib/config';
import { createMedallionApp } from '../../lib/medallion-app';
import { testContext } from '../support/cdk';

interface Report {
  pluginReports: {
    pluginName: string;
    conclusion: string;
    violations: { ruleName: string }[];
    suppressedViolations?: {
      ruleName: string;
      acknowledgedId: string;
      reason: string;
      violatingConstructs: { constructPath: string }[];
    }[];
  }[];
}

// Created at load time: the describe blocks below build their apps while the file is collected.
const tmp = mkdtempSync(join(tmpdir(), 'medallion-nag-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let runs = 0;
function build(config: Record<string, unknown> = {}) {
  runs += 1;
  const outdir = join(tmp, `run-${runs}`);
  const built = createMedallionApp({ outdir, context: testContext({ medallion: config }) });
  const report = () =>
    (JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as Report).pluginReports.find(
      (r) => r.pluginName === 'AwsSolutions',
    );
  return { ...built, report };
}

/** Rule ids with the resource part of the IAM5 findings on prefixes reduced to `<prefix>`. */
const generalized = (rule: string) =>
  rule
    .replace(/<([A-Za-z]+?)[0-9A-F]{8}\.Arn>/, '<$1.Arn>')
    .replace(/^(AwsSolutions-IAM5\[Resource::<[A-Za-z]+\.Arn>\/).+\/\*\]$/, '$1<prefix>/*]');

describe('default configuration', () => {
  const { app, report } = build();

  test('synthesizes with zero unacknowledged findings', () => {
    expect(() => app.synth()).not.toThrow();
    const r = report();
    expect(r?.conclusion).toBe('success');
    expect(r?.violations).toEqual([]);
  });

  test('every acknowledgement names its rule and gives a reason', () => {
    const suppressed = report()?.suppressedViolations ?? [];
    expect(suppressed.length).toBeGreaterThan(0);
    for (const s of suppressed) {
      expect(s.acknowledgedId).toBe(`AwsSolutions::${s.ruleName}`);
      expect(s.reason.length).toBeGreaterThan(40);
    }
  });

  test('the acknowledged findings are exactly the reviewed ones', () => {
    const found = new Set((report()?.suppressedViolations ?? []).map((s) => generalized(s.ruleName)));
    expect([...found].sort()).toEqual(
      [
        'AwsSolutions-APIG2',
        'AwsSolutions-APIG3',
        'AwsSolutions-COG4',
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'AwsSolutions-IAM5[Resource::*]',
        // The gold workflow invokes the current-state planner (any version of it).
        'AwsSolutions-IAM5[Resource::<CurrentStatePlannerFunction.Arn>:*]',
        'AwsSolutions-IAM5[Resource::<GoldPlannerFunction.Arn>:*]',
        // ...and the gold retention function.
        'AwsSolutions-IAM5[Resource::<GoldRetentionJanitorFunction.Arn>:*]',
        // The gold workflow: the workgroup's results prefix, and each model's prefix in gold.
        'AwsSolutions-IAM5[Resource::<StorageAthenaResults.Arn>/<prefix>/*]',
        'AwsSolutions-IAM5[Resource::<StorageGold.Arn>/<prefix>/*]',
        'AwsSolutions-IAM5[Resource::<StorageBronze.Arn>/<prefix>/*]',
        'AwsSolutions-IAM5[Resource::<StorageLanding.Arn>/*]',
        'AwsSolutions-IAM5[Resource::<StorageQuarantine.Arn>/<prefix>/*]',
        'AwsSolutions-IAM5[Resource::<StorageSilver.Arn>/<prefix>/*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/medallion_dev/*]',
        // The reader roles (lib/lake-readers.ts): the platform's own for the domains that only read (its
        // buckets by reference), each domain's in its stack (the buckets imported by export name).
        'AwsSolutions-IAM5[Resource::Medallion-dev-AthenaResultsBucketArn/readers/retail/*]',
        'AwsSolutions-IAM5[Resource::Medallion-dev-GoldBucketArn/category_sales/*]',
        'AwsSolutions-IAM5[Resource::Medallion-dev-GoldBucketArn/customer_lifetime_value/*]',
        'AwsSolutions-IAM5[Resource::Medallion-dev-GoldBucketArn/daily_sales/*]',
        'AwsSolutions-IAM5[Resource::Medallion-dev-SilverBucketArn/_current/retail/*]',
        'AwsSolutions-IAM5[Resource::Medallion-dev-SilverBucketArn/_history/retail/*]',
        'AwsSolutions-IAM5[Resource::Medallion-dev-SilverBucketArn/retail/*]',
        'AwsSolutions-SMG4',
        'AwsSolutions-SQS3',
      ].sort(),
    );
  });

  test('IAM5 on Resource::* is acknowledged only for the seven functions (X-Ray) and the gold workflow', () => {
    const star = (report()?.suppressedViolations ?? []).filter(
      (s) => s.ruleName === 'AwsSolutions-IAM5[Resource::*]',
    );
    expect(star.flatMap((s) => s.violatingConstructs.map((c) => c.constructPath)).sort()).toEqual([
      'Medallion-dev/BronzeToSilver/Landing/Role/DefaultPolicy/Resource',
      'Medallion-dev/BronzeToSilver/Transform/Role/DefaultPolicy/Resource',
      'Medallion-dev/CurrentState/Planner/Role/DefaultPolicy/Resource',
      // X-Ray, log delivery, and PutMetricData limited to the Medallion namespace (a condition).
      'Medallion-dev/Gold/StateMachine/Role/DefaultPolicy/Resource',
      'Medallion-dev/GoldPlanner/Planner/Role/DefaultPolicy/Resource',
      'Medallion-dev/GoldRetention/Janitor/Role/DefaultPolicy/Resource',
      'Medallion-dev/IngestApi/Handler/Role/DefaultPolicy/Resource',
      'Medallion-dev/Reconciler/Function/Role/DefaultPolicy/Resource',
    ]);
  });

  test('the gold prefixes acknowledged are the models and the query results, and nothing else', () => {
    const ruleNames = (report()?.suppressedViolations ?? []).map((s) => s.ruleName);
    // The workflow writes them, the retention function deletes in them: the same prefixes.
    const gold = [
      ...new Set(
        ruleNames
          .filter((r) => /<StorageGold[0-9A-F]{8}\.Arn>/.test(r))
          .map((r) => r.replace(/^.*\.Arn>\//, '').replace(/\]$/, '')),
      ),
    ].sort();
    expect(gold).toEqual(['category_sales/*', 'customer_lifetime_value/*', 'daily_sales/*']);
    const results = ruleNames.filter((r) => r.includes('StorageAthenaResults'));
    // The workflow's results prefix, and the platform's reader role's (finance only reads, shared data).
    expect(results.map((r) => r.replace(/^.*\.Arn>\//, '')).sort()).toEqual([
      'medallion-dev/*]',
      'readers/finance/*]',
    ]);
    // Silver: only what the models ref (the two datasets), never the whole bucket.
    expect(ruleNames.filter((r) => /<StorageSilver[0-9A-F]{8}\.Arn>\/\*\]/.test(r))).toEqual([]);
  });
});

describe('the acknowledgements do not hide new findings', () => {
  test('a wildcard action or a whole-bucket grant on bronze fails synth', () => {
    const { app, stack } = build();
    const role = stack.pipeline.transformFunction.role;
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:Get*'],
        resources: [stack.storage.bronzeBucket.arnForObjects('retail/orders/*')],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [stack.storage.bronzeBucket.arnForObjects('*')],
      }),
    );
    let message = '';
    try {
      app.synth();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('AwsSolutions-IAM5[Action::s3:Get*]');
    expect(message).toMatch(/AwsSolutions-IAM5\[Resource::<StorageBronze[0-9A-F]{8}\.Arn>\/\*\]/);
  });
});

describe('other configurations pass too', () => {
  test('allowDestroy (auto-delete custom resources)', () => {
    const { app, report } = build({ environment: 'dev-test', allowDestroy: true });
    expect(() => app.synth()).not.toThrow();
    expect(report()?.violations).toEqual([]);
  });

  test('gold disabled: no gold workflow, no gold table', () => {
    const { app, stack, report } = build({ gold: { enabled: false }, freshnessSloMinutes: 60 });
    expect(() => app.synth()).not.toThrow();
    expect(report()?.violations).toEqual([]);
    expect(stack.gold).toBeUndefined();
    expect(stack.catalog.goldTables.size).toBe(0);
  });

  test('gold enabled without a model: the workflow only merges the current state', () => {
    mkdirSync(join(PROJECT_ROOT, '.medallion'), { recursive: true });
    const models = mkdtempSync(join(PROJECT_ROOT, '.medallion', 'no-models-'));
    try {
      const { app, stack, report } = build({ gold: { modelsDir: relative(PROJECT_ROOT, models) } });
      expect(() => app.synth()).not.toThrow();
      expect(report()?.violations).toEqual([]);
      expect(stack.goldModels).toBeUndefined();
      expect(stack.gold?.waves).toEqual([]);
      const def = JSON.stringify(Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine'));
      expect(def).toContain('current state: MERGE INTO');
      expect(def).not.toContain('retention: old versions');
    } finally {
      rmSync(models, { recursive: true, force: true });
    }
  });

  test('bronze Object Lock, alarm e-mail, smaller transform', () => {
    const { app, report } = build({
      environment: 'prod',
      bronzeObjectLock: true,
      alarmEmail: 'ops@example.com',
      transform: { memoryMb: 2048, timeoutSeconds: 300, maxConcurrency: 2, reservedConcurrency: 2 },
    });
    expect(() => app.synth()).not.toThrow();
    expect(report()?.violations).toEqual([]);
  });
});
