/**
 * The stacks deployed together, as one template for the local cloud: resources merged, imports resolved,
 * nested stacks inlined.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, NestedStack, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { mergedTemplateOf, mergeStackTemplates } from '../../../local/cloud/stack-templates';

const platform = {
  Resources: {
    StorageSilver: { Type: 'AWS::S3::Bucket', Properties: {} },
    CDKMetadata: { Type: 'AWS::CDK::Metadata', Properties: { Analytics: 'a' } },
  },
  Outputs: {
    GlueDatabaseName: { Value: 'medallion_dev' },
    ExportsOutputRefStorageSilver: {
      Value: { Ref: 'StorageSilver' },
      Export: { Name: 'Medallion-dev:ExportsOutputRefStorageSilver' },
    },
  },
};

const table = (location: unknown) => ({
  Type: 'AWS::Glue::Table',
  Properties: { TableInput: { Name: 'orders_arrivals', StorageDescriptor: { Location: location } } },
});

const imported = {
  'Fn::Join': [
    '',
    ['s3://', { 'Fn::ImportValue': 'Medallion-dev:ExportsOutputRefStorageSilver' }, '/retail/orders/'],
  ],
};

describe('mergeStackTemplates', () => {
  it("holds every stack's resources, a domain's imports of platform exports replaced by the exported values", () => {
    const domain = {
      Resources: {
        DatasetTablesArrivalsorders: table(imported),
        CDKMetadata: { Type: 'AWS::CDK::Metadata', Properties: { Analytics: 'b' } },
      },
      Outputs: { GlueDatabaseName: { Value: 'shadowed' } },
    };
    const merged = mergeStackTemplates([
      { stackName: 'Medallion-dev', template: platform },
      { stackName: 'Medallion-dev-retail', template: domain },
    ]);
    expect(Object.keys(merged.Resources).sort()).toEqual([
      'CDKMetadata',
      'DatasetTablesArrivalsorders',
      'StorageSilver',
    ]);
    expect(merged.Resources.DatasetTablesArrivalsorders).toEqual(
      table({ 'Fn::Join': ['', ['s3://', { Ref: 'StorageSilver' }, '/retail/orders/']] }),
    );
    // The platform (first) keeps its output names.
    expect(merged.Outputs.GlueDatabaseName).toEqual({ Value: 'medallion_dev' });
    expect(merged.Outputs['Medallion-dev-retail:GlueDatabaseName']).toEqual({ Value: 'shadowed' });
  });

  it('refuses one logical id in two stacks, naming both', () => {
    expect(() =>
      mergeStackTemplates([
        { stackName: 'Medallion-dev', template: platform },
        { stackName: 'Medallion-dev-retail', template: { Resources: { StorageSilver: table('s3://x/') } } },
      ]),
    ).toThrow('stacks Medallion-dev and Medallion-dev-retail both declare the logical id StorageSilver');
  });

  it('refuses an import no stack exports', () => {
    expect(() =>
      mergeStackTemplates([
        { stackName: 'Medallion-dev-retail', template: { Resources: { T: table(imported) } } },
      ]),
    ).toThrow('no stack exports "Medallion-dev:ExportsOutputRefStorageSilver"');
  });
});

/** A nested stack's resource in its parent: its template is `<key>` in the assets bucket. */
const nestedStack = (key: string, parameters: Record<string, unknown>) => ({
  Type: 'AWS::CloudFormation::Stack',
  Properties: {
    Parameters: parameters,
    TemplateURL: {
      'Fn::Join': [
        '',
        ['https://s3.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, `/assets/${key}`],
      ],
    },
  },
});

const alarm = (name: string, actions: unknown) => ({
  Type: 'AWS::CloudWatch::CompositeAlarm',
  Properties: { AlarmName: name, AlarmActions: [actions] },
});

describe('mergeStackTemplates with nested stacks', () => {
  // A domain whose product's alarm is in a nested stack: the topic passed in, the alarm's ARN out.
  const domain = {
    Resources: {
      Topic: { Type: 'AWS::SNS::Topic', Properties: {} },
      SloOrders: nestedStack('abc.json', {
        referencetoTopicRef: { Ref: 'Topic' },
        referencetoSilverRef: { 'Fn::ImportValue': 'Medallion-dev:ExportsOutputRefStorageSilver' },
      }),
      Budgets: {
        Type: 'AWS::CloudWatch::Dashboard',
        Properties: {
          DashboardBody: {
            'Fn::Join': ['', ['{"alarms":["', { 'Fn::GetAtt': ['SloOrders', 'Outputs.PageArn'] }, '"]}']],
          },
        },
      },
    },
  };
  const orders = {
    Parameters: { referencetoTopicRef: { Type: 'String' }, referencetoSilverRef: { Type: 'String' } },
    Resources: {
      Page: alarm('Medallion-dev-slo-orders-quality-page', { Ref: 'referencetoTopicRef' }),
      Table: table({ 'Fn::Join': ['', ['s3://', { Ref: 'referencetoSilverRef' }, '/retail/orders/']] }),
    },
    Outputs: { PageArn: { Value: { 'Fn::GetAtt': ['Page', 'Arn'] } } },
  };

  it("inlines a nested stack's resources, its parameters bound to what the parent passes, imports resolved", () => {
    const merged = mergeStackTemplates([
      { stackName: 'Medallion-dev', template: platform },
      { stackName: 'Medallion-dev-retail', template: domain, nestedTemplates: { 'abc.json': orders } },
    ]);
    expect(Object.keys(merged.Resources).sort()).toEqual([
      'Budgets',
      'CDKMetadata',
      'Page',
      'StorageSilver',
      'Table',
      'Topic',
    ]);
    expect(merged.Resources.Page).toEqual(alarm('Medallion-dev-slo-orders-quality-page', { Ref: 'Topic' }));
    expect(merged.Resources.Table).toEqual(
      table({ 'Fn::Join': ['', ['s3://', { Ref: 'StorageSilver' }, '/retail/orders/']] }),
    );
  });

  it("replaces the parent's reads of a nested stack's outputs by the outputs' values", () => {
    const merged = mergeStackTemplates([
      { stackName: 'Medallion-dev', template: platform },
      { stackName: 'Medallion-dev-retail', template: domain, nestedTemplates: { 'abc.json': orders } },
    ]);
    expect(merged.Resources.Budgets.Properties.DashboardBody).toEqual({
      'Fn::Join': ['', ['{"alarms":["', { 'Fn::GetAtt': ['Page', 'Arn'] }, '"]}']],
    });
  });

  it("inlines a nested stack's own nested stacks, outputs read through both levels", () => {
    const middle = {
      Parameters: { referencetoTopicRef: { Type: 'String' } },
      Resources: { Inner: nestedStack('inner.json', { innerTopic: { Ref: 'referencetoTopicRef' } }) },
      Outputs: { PageArn: { Value: { 'Fn::GetAtt': ['Inner', 'Outputs.PageArn'] } } },
    };
    const inner = {
      Parameters: { innerTopic: { Type: 'String' }, severity: { Type: 'String', Default: 'page' } },
      Resources: {
        Page: {
          Type: 'AWS::CloudWatch::CompositeAlarm',
          Properties: { AlarmName: { Ref: 'severity' }, AlarmActions: [{ Ref: 'innerTopic' }] },
        },
      },
      Outputs: { PageArn: { Value: { 'Fn::GetAtt': ['Page', 'Arn'] } } },
    };
    const parent = {
      Resources: {
        Topic: { Type: 'AWS::SNS::Topic', Properties: {} },
        SloOrders: nestedStack('middle.json', { referencetoTopicRef: { Ref: 'Topic' } }),
      },
      Outputs: { PageArn: { Value: { 'Fn::GetAtt': ['SloOrders', 'Outputs.PageArn'] } } },
    };
    const merged = mergeStackTemplates([
      {
        stackName: 'Medallion-dev-retail',
        template: parent,
        nestedTemplates: { 'middle.json': middle, 'inner.json': inner },
      },
    ]);
    expect(Object.keys(merged.Resources).sort()).toEqual(['Page', 'Topic']);
    // A parameter the parent does not pass takes its default.
    expect(merged.Resources.Page).toEqual(alarm('page', { Ref: 'Topic' }));
    expect(merged.Outputs.PageArn).toEqual({ Value: { 'Fn::GetAtt': ['Page', 'Arn'] } });
  });

  it('keeps a nested stack whose template it was not given as a resource', () => {
    const merged = mergeStackTemplates([
      { stackName: 'Medallion-dev', template: platform },
      { stackName: 'Medallion-dev-retail', template: domain },
    ]);
    expect(merged.Resources.SloOrders.Type).toBe('AWS::CloudFormation::Stack');
  });

  it('refuses a parameter the parent passes no value for and that has no default, naming the nested stack', () => {
    const parent = { Resources: { SloOrders: nestedStack('abc.json', {}) } };
    expect(() =>
      mergeStackTemplates([
        { stackName: 'Medallion-dev-retail', template: parent, nestedTemplates: { 'abc.json': orders } },
      ]),
    ).toThrow(
      'nested stack Medallion-dev-retail/SloOrders: its parent passes no value for parameter referencetoTopicRef',
    );
  });

  it("refuses a nested stack's logical id its parent also uses, naming both", () => {
    const clash = { ...domain, Resources: { ...domain.Resources, Page: table('s3://x/') } };
    expect(() =>
      mergeStackTemplates([
        { stackName: 'Medallion-dev', template: platform },
        { stackName: 'Medallion-dev-retail', template: clash, nestedTemplates: { 'abc.json': orders } },
      ]),
    ).toThrow(
      'stacks Medallion-dev-retail/SloOrders and Medallion-dev-retail both declare the logical id Page',
    );
  });
});

describe('mergedTemplateOf', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'medallion-nested-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it("reads a CDK stack's nested templates from its asset manifest and inlines them", () => {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const parent = new Stack(app, 'Domain');
    const topic = new sns.Topic(parent, 'Page');
    const nested = new NestedStack(parent, 'SloOrders');
    const window = new cloudwatch.Alarm(nested, 'Window', {
      alarmName: 'orders-page-1h',
      metric: new cloudwatch.Metric({ namespace: 'Medallion', metricName: 'RowsIn' }),
      threshold: 1,
      evaluationPeriods: 1,
    });
    const page = new cloudwatch.CompositeAlarm(nested, 'Composite', {
      compositeAlarmName: 'orders-page',
      alarmRule: cloudwatch.AlarmRule.fromAlarm(window, cloudwatch.AlarmState.ALARM),
    });
    page.addAlarmAction(new cloudwatchActions.SnsAction(topic));
    new cloudwatch.Dashboard(parent, 'Budgets', {
      widgets: [[new cloudwatch.AlarmStatusWidget({ alarms: [page] })]],
    });
    const assembly = app.synth();
    // What CloudFormation would deploy: the alarms in the nested stack, read through its outputs.
    expect(JSON.stringify(assembly.getStackByName('Domain').template)).toContain('Outputs.');

    const merged = mergedTemplateOf(assembly, [parent]);
    const byType = (type: string) =>
      Object.entries<{ Type: string; Properties: Record<string, unknown> }>(merged.Resources).filter(
        ([, r]) => r.Type === type,
      );
    expect(byType('AWS::CloudFormation::Stack')).toEqual([]);
    const [[windowId]] = byType('AWS::CloudWatch::Alarm');
    const [[compositeId, composite]] = byType('AWS::CloudWatch::CompositeAlarm');
    const [[topicId]] = byType('AWS::SNS::Topic');
    expect(composite.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    expect(JSON.stringify(composite.Properties.AlarmRule)).toContain(
      JSON.stringify({ 'Fn::GetAtt': [windowId, 'Arn'] }),
    );
    const [[, dashboard]] = byType('AWS::CloudWatch::Dashboard');
    expect(JSON.stringify(dashboard.Properties.DashboardBody)).toContain(
      JSON.stringify({ 'Fn::GetAtt': [compositeId, 'Arn'] }),
    );
  });
});
