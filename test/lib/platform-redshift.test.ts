/**
 * The platform with `gold.engine: redshift`: the warehouse is built and wired to the gold workflow, the
 * planner writes Redshift transactions, cdk-nag is clean, and a model Redshift would read differently
 * fails synth.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { ENV } from '../../core/config/env';
import { PROJECT_ROOT } from '../../lib/config';
import { createMedallionApp } from '../../lib/medallion-app';
import { definitionOf, logicalId, testContext } from '../support/cdk';

const tmp = mkdtempSync(join(tmpdir(), 'medallion-platform-redshift-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const outdir = join(tmp, 'app');
const { stack, app } = createMedallionApp({
  outdir,
  context: testContext({
    medallion: {
      account: '111111111111',
      region: 'eu-west-1',
      gold: { engine: 'redshift', redshift: { baseCapacity: 8, usageLimitRpuHours: 24 } },
    },
  }),
});
const t = Template.fromStack(stack);
app.synth();

describe('gold on Redshift Serverless', () => {
  test('the warehouse follows gold.redshift: capacity, usage limit, cost alarm to the alarm topic', () => {
    t.resourceCountIs('AWS::RedshiftServerless::Workgroup', 1);
    t.hasResourceProperties('AWS::RedshiftServerless::Workgroup', {
      BaseCapacity: 8,
      PubliclyAccessible: false,
      EnhancedVpcRouting: true,
    });
    const alarm = Object.values(t.findResources('AWS::CloudWatch::Alarm')).find((a) =>
      String(a.Properties.AlarmName).endsWith('-RedshiftRpuHours'),
    );
    expect(alarm?.Properties.AlarmActions).toEqual([
      { Ref: logicalId(t, 'AWS::SNS::Topic', 'MonitoringAlarmTopic') },
    ]);
    t.hasOutput('RedshiftWorkgroupName', { Value: 'medallion-dev-gold' });
  });

  test('the gold workflow runs the models through the Data API, on the workgroup, with the admin secret', () => {
    const def = JSON.stringify(definitionOf(t));
    for (const action of [
      'batchExecuteStatement',
      'executeStatement',
      'describeStatement',
      'cancelStatement',
    ]) {
      expect(def).toContain(`states:::aws-sdk:redshiftdata:${action}`);
    }
    expect(def).not.toContain('"UNLOAD (\\n');
    expect(def).toContain('CREATE EXTERNAL SCHEMA IF NOT EXISTS \\"medallion_dev\\"');
    // The admin secret's ARN, read from GetNamespace at deploy time (a GetAtt of the custom resource).
    const secrets = new Set(def.match(/"SecretArn":"[^"]*"/g));
    expect([...secrets]).toEqual([
      `"SecretArn":"arn:aws:placeholder:::${logicalId(t, 'Custom::AWS', 'RedshiftAdminSecret')}.namespace.adminPasswordSecretArn"`,
    ]);
  });

  test('the gold planner writes Redshift transactions, encrypting its UNLOADs with the lake key', () => {
    const planner = Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('GoldPlannerFunction'),
    )?.[1];
    expect(planner?.Properties.Environment.Variables).toMatchObject({
      [ENV.GOLD_ENGINE]: 'redshift',
      [ENV.GOLD_UNLOAD_KEY_ID]: { Ref: logicalId(t, 'AWS::KMS::Key', 'StorageKey') },
    });
  });

  test('cdk-nag finds nothing unacknowledged in the whole app', () => {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; violations: unknown[] }[];
    };
    expect(report.pluginReports.find((r) => r.pluginName === 'AwsSolutions')?.violations).toEqual([]);
  });

  test('an Athena deployment has no warehouse and the planner no engine variable', () => {
    const athena = createMedallionApp({ context: testContext() });
    const at = Template.fromStack(athena.stack);
    at.resourceCountIs('AWS::RedshiftServerless::Workgroup', 0);
    const planner = Object.entries(at.findResources('AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('GoldPlannerFunction'),
    )?.[1];
    expect(planner?.Properties.Environment.Variables).not.toHaveProperty(ENV.GOLD_ENGINE);
  });

  test('a model Redshift would read differently fails synth, naming the file, the line and the fix', () => {
    mkdirSync(join(PROJECT_ROOT, '.medallion'), { recursive: true });
    const models = mkdtempSync(join(PROJECT_ROOT, '.medallion', 'redshift-models-'));
    try {
      cpSync(join(PROJECT_ROOT, 'samples', 'models'), models, { recursive: true });
      const file = join(models, 'category_sales.sql');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/double precision/g, 'double'));
      expect(() =>
        createMedallionApp({
          context: testContext({
            medallion: { gold: { engine: 'redshift', modelsDir: relative(PROJECT_ROOT, models) } },
          }),
        }),
      ).toThrow(/gold model category_sales\.sql: .*line (19|20): .*double.*double precision/s);
    } finally {
      rmSync(models, { recursive: true, force: true });
    }
  });
});
