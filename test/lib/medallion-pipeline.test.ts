/**
 * The pipeline as a platform stack plus one stack per domain: what each holds, how they reference each
 * other, and that another CDK app composes it from props (its own contracts directory, no context).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnResource, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { PROJECT_ROOT } from '../../lib/config';
// The package entry (package.json `main`), as another app imports it.
import { MedallionPipeline, parseMedallionConfig } from '../../lib/index';
import { createMedallionApp } from '../../lib/medallion-app';
import { testContext } from '../support/cdk';

describe('the app: a platform stack and one stack per domain', () => {
  const { app, stack, domainStacks, pipeline } = createMedallionApp({ context: testContext() });
  const assembly = app.synth();
  const template = (name: string) => Template.fromJSON(assembly.getStackByName(name).template);
  const platform = template(stack.stackName);

  test('the sample contracts are one domain: Medallion-dev and Medallion-dev-retail', () => {
    expect(pipeline.stacks.map((s) => s.stackName)).toEqual(['Medallion-dev', 'Medallion-dev-retail']);
    expect(domainStacks.map((d) => d.domain)).toEqual(['retail']);
    // `cdk deploy --all` deploys the platform first.
    expect(domainStacks[0].dependencies).toContain(stack);
  });

  test("the domain holds its datasets' arrivals tables in the platform's database, and their alarms", () => {
    const retail = template('Medallion-dev-retail');
    const tables = Object.values(retail.findResources('AWS::Glue::Table')).map((r) => r.Properties);
    expect(tables.map((t) => t.TableInput.Name).sort()).toEqual([
      'customers_arrivals',
      'orders_arrivals',
      'products_arrivals',
    ]);
    for (const t of tables) expect(t.DatabaseName).toBe('medallion_dev');
    const alarms = Object.values(retail.findResources('AWS::CloudWatch::Alarm')).map(
      (r) => r.Properties.AlarmName,
    );
    // The data products' SLO alarms are in their products' nested stacks (the next test), not here.
    expect(alarms.sort()).toEqual([
      'Medallion-dev-FilesRejected-customers',
      'Medallion-dev-FilesRejected-orders',
      'Medallion-dev-FilesRejected-products',
      'Medallion-dev-QuarantineRatio-customers',
      'Medallion-dev-QuarantineRatio-orders',
      'Medallion-dev-QuarantineRatio-products',
    ]);
    retail.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 0);
    // Each dataset alarm (ALARM and OK) goes to the platform's topic, imported from its stack.
    for (const r of Object.values(retail.findResources('AWS::CloudWatch::Alarm'))) {
      expect(JSON.stringify(r.Properties.AlarmActions)).toContain('Fn::ImportValue');
      expect(r.Properties.OKActions).toEqual(r.Properties.AlarmActions);
    }
    retail.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'Medallion-dev-retail' });
  });

  test("the domain's data products: page and ticket topics, SLO alarms in nested stacks routed there, its reader role", () => {
    const retail = template('Medallion-dev-retail');
    const topics = Object.entries(retail.findResources('AWS::SNS::Topic'));
    expect(topics).toHaveLength(2);
    const products = domainStacks[0].products;
    if (!products) throw new Error('the retail stack has no products');
    const topicId = (severity: 'page' | 'ticket') =>
      domainStacks[0].resolve(products.topics.topics.retail[severity].topicArn).Ref as string;
    expect(topics.map(([id]) => id).sort()).toEqual([topicId('page'), topicId('ticket')].sort());
    // The SLO alarms (test/lib/monitoring/slo-alarms.test.ts), each product's in its own nested stack: ten
    // SLOs (quality and freshness of the three datasets, orders' completeness, freshness of the three
    // models), each six windows and two composites, completeness one window more (its baseline).
    const nested = [...products.sloStacks.values()].map((s) => ({
      logicalId: domainStacks[0].resolve((s.nestedStackResource as CfnResource).logicalId) as string,
      template: Template.fromJSON(JSON.parse(readFileSync(join(assembly.directory, s.templateFile), 'utf8'))),
    }));
    const names = (type: string) =>
      nested.flatMap(({ template: t }) =>
        Object.values(t.findResources(type)).map((r) => r.Properties.AlarmName as string),
      );
    expect(names('AWS::CloudWatch::Alarm').filter((a) => a.includes('-slo-'))).toHaveLength(10 * 6 + 1);
    expect(names('AWS::CloudWatch::Alarm').filter((a) => !a.includes('-slo-'))).toEqual([]);
    expect(names('AWS::CloudWatch::CompositeAlarm')).toHaveLength(10 * 2);
    const parent = retail.toJSON().Resources;
    for (const { logicalId, template: t } of nested) {
      expect(parent[logicalId].Type).toBe('AWS::CloudFormation::Stack');
      for (const c of Object.values(t.findResources('AWS::CloudWatch::CompositeAlarm'))) {
        // Never the platform's topic: each page or ticket goes to the domain's own of its severity, passed
        // in as a parameter of the nested stack.
        expect(c.Properties.OKActions).toEqual(c.Properties.AlarmActions);
        expect(c.Properties.AlarmActions).toHaveLength(1);
        const severity = String(c.Properties.AlarmName).endsWith('-page') ? 'page' : 'ticket';
        expect(parent[logicalId].Properties.Parameters[c.Properties.AlarmActions[0].Ref]).toEqual({
          Ref: topicId(severity),
        });
      }
    }
    // The owners' e-mail addresses subscribe to both of the domain's topics.
    const emails = Object.values(retail.findResources('AWS::SNS::Subscription')).map(
      (s) => s.Properties.Endpoint,
    );
    expect([...new Set(emails)].sort()).toEqual([
      'crm-team@example.com',
      'merchandising@example.com',
      'retail-data@example.com',
    ]);
    const roles = Object.values(retail.findResources('AWS::IAM::Role')).map((r) => r.Properties.RoleName);
    expect(roles).toContain('Medallion-dev-reader-retail');
    // The budgets dashboard, in a nested stack of its own.
    const budgets = products.budgetsStack;
    if (!budgets) throw new Error('the retail stack has no budgets dashboard');
    Template.fromJSON(
      JSON.parse(readFileSync(join(assembly.directory, budgets.templateFile), 'utf8')),
    ).hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'Medallion-dev-retail-slos' });
    // finance owns no dataset but reads orders and daily_sales (their access): its role is the platform's.
    const platformRoles = Object.values(platform.findResources('AWS::IAM::Role')).map(
      (r) => r.Properties.RoleName,
    );
    expect(platformRoles).toContain('Medallion-dev-reader-finance');
  });

  test('the platform declares no dataset table or dataset alarm', () => {
    const names = Object.values(platform.findResources('AWS::Glue::Table')).map(
      (r) => r.Properties.TableInput.Name,
    );
    expect(names.filter((n: string) => n.endsWith('_arrivals'))).toEqual([]);
    const alarms = Object.values(platform.findResources('AWS::CloudWatch::Alarm')).map(
      (r) => r.Properties.AlarmName as string,
    );
    expect(alarms.filter((a) => /QuarantineRatio|FilesRejected/.test(a))).toEqual([]);
  });

  test('the platform notifies and grants per domain: one bronze filter and one prefix for retail', () => {
    const notifications = Object.values(platform.findResources('Custom::S3BucketNotifications'));
    const prefixes = notifications.flatMap((n) =>
      (n.Properties.NotificationConfiguration.QueueConfigurations ?? []).map(
        (q: { Filter: { Key: { FilterRules: { Value: string }[] } } }) => q.Filter.Key.FilterRules[0].Value,
      ),
    );
    expect(prefixes).toEqual(['retail/']);
  });
});

describe('MedallionPipeline in another CDK app', () => {
  test("package.json's entry is lib/index.ts, which exports the pipeline and its stacks", () => {
    const pkg = require('../../package.json') as { main: string; types: string };
    expect([pkg.main, pkg.types]).toEqual(['lib/index.ts', 'lib/index.ts']);
    const entry = require(join(PROJECT_ROOT, pkg.main)) as Record<string, unknown>;
    for (const name of ['MedallionPipeline', 'PlatformStack', 'DomainStack', 'parseMedallionConfig'])
      expect(typeof entry[name]).toBe('function');
  });

  // A consumer's own contracts, outside this repository.
  const dir = mkdtempSync(join(tmpdir(), 'medallion-consumer-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('composes from props alone: two domains, stacks named after the given name, cdk-nag clean', () => {
    const contracts = join(dir, 'contracts');
    cpSync(join(PROJECT_ROOT, 'samples', 'contracts', 'orders.yaml'), join(contracts, 'orders.yaml'));
    writeFileSync(
      join(contracts, 'invoices.yaml'),
      [
        'domain: finance',
        'dataset: invoices',
        'source:\n  format: ndjson',
        'columns:\n  - name: invoice_id\n    type: string\n    required: true\n  - name: issued_at\n    type: timestamp\n    required: true',
        'primaryKey: [invoice_id]',
        'latestBy: issued_at',
        'partition:\n  column: issued_at\n  granularity: month',
        '',
      ].join('\n'),
    );
    // No cdk.json, no `medallion:config` context: a plain App with the bundling skipped.
    const app = new App({ outdir: join(dir, 'cdk.out'), context: { 'aws:cdk:bundling-stacks': [] } });
    const pipeline = new MedallionPipeline(app, 'Lake', {
      config: parseMedallionConfig({
        environment: 'analytics',
        alarmEmail: 'data-platform@example.com',
        contractsDir: contracts,
        gold: { enabled: false },
      }),
      stackName: 'DataLake',
      env: { account: '222222222222', region: 'eu-central-1' },
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const assembly = app.synth();
    expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual([
      'DataLake',
      'DataLake-finance',
      'DataLake-retail',
    ]);
    expect(pipeline.platform.contracts.map((c) => c.id).sort()).toEqual([
      'finance/invoices',
      'retail/orders',
    ]);
    const finance = Template.fromJSON(assembly.getStackByName('DataLake-finance').template);
    finance.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: 'medallion_analytics',
      TableInput: { Name: 'invoices_arrivals' },
    });
    expect(assembly.getStackByName('DataLake').environment).toMatchObject({
      account: '222222222222',
      region: 'eu-central-1',
    });
  });
});
