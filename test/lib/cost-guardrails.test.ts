/** The monthly cost budget: its notifications, and what AWS Budgets needs to publish to the alarm topic. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CostGuardrails, type CostGuardrailsProps } from '../../lib/cost-guardrails';
import { logicalId, testContext } from '../support/cdk';

const tmp = mkdtempSync(join(tmpdir(), 'medallion-budget-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let runs = 0;

/** A stack with an encrypted topic (as PipelineMonitoring makes it) and the budget, cdk-nag on. */
function build(props: Partial<CostGuardrailsProps> = {}, withTopic = true) {
  runs += 1;
  const outdir = join(tmp, `run-${runs}`);
  const app = new App({ outdir, context: testContext() });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'Budget', { env: { account: '111111111111', region: 'eu-west-1' } });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const topic = new sns.Topic(stack, 'Topic', { masterKey: key, enforceSSL: true });
  const guardrails = new CostGuardrails(stack, 'CostGuardrails', {
    monthlyBudgetUsd: 50,
    topic: withTopic ? topic : undefined,
    ...props,
  });
  const template = Template.fromStack(stack);
  // A plugin without any finding (not even an acknowledged one) is left out of the report.
  const nag = () =>
    (
      JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
        pluginReports: { pluginName: string; violations: unknown[] }[];
      }
    ).pluginReports.find((r) => r.pluginName === 'AwsSolutions');
  return { stack, guardrails, template, nag };
}

describe('CostGuardrails with the alarm topic', () => {
  const { template: t, nag } = build({ email: 'finance@example.com' });
  const topicId = logicalId(t, 'AWS::SNS::Topic', 'Topic');

  test('a monthly COST budget of the configured amount, in USD, for the whole account', () => {
    t.resourceCountIs('AWS::Budgets::Budget', 1);
    t.hasResourceProperties('AWS::Budgets::Budget', {
      Budget: {
        BudgetName: 'Budget-monthly',
        BudgetType: 'COST',
        TimeUnit: 'MONTHLY',
        BudgetLimit: { Amount: 50, Unit: 'USD' },
        FilterExpression: Match.absent(),
      },
    });
  });

  test('two notifications: 80% of the actual spend, 100% of the forecast, to the e-mail and the topic', () => {
    const subscribers = [
      { SubscriptionType: 'EMAIL', Address: 'finance@example.com' },
      { SubscriptionType: 'SNS', Address: { Ref: topicId } },
    ];
    t.hasResourceProperties('AWS::Budgets::Budget', {
      NotificationsWithSubscribers: [
        {
          Notification: {
            NotificationType: 'ACTUAL',
            ComparisonOperator: 'GREATER_THAN',
            Threshold: 80,
            ThresholdType: 'PERCENTAGE',
          },
          Subscribers: subscribers,
        },
        {
          Notification: {
            NotificationType: 'FORECASTED',
            ComparisonOperator: 'GREATER_THAN',
            Threshold: 100,
            ThresholdType: 'PERCENTAGE',
          },
          Subscribers: subscribers,
        },
      ],
    });
  });

  test("the topic's policy lets AWS Budgets of this account publish (and keeps refusing non-TLS)", () => {
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          {
            Sid: 'AllowBudgetsToPublish',
            Effect: 'Allow',
            Principal: { Service: 'budgets.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topicId },
            Condition: {
              StringEquals: { 'aws:SourceAccount': '111111111111' },
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':budgets::111111111111:*']],
                },
              },
            },
          },
        ]),
      },
    });
  });

  test("the topic's key lets AWS Budgets encrypt its notifications", () => {
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'budgets.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  test('cdk-nag finds nothing (synth would have thrown; the report lists no finding at all)', () => {
    expect(nag()?.violations ?? []).toEqual([]);
  });
});

describe('CostGuardrails options', () => {
  test('other thresholds, and costs filtered on cost allocation tags (all must match)', () => {
    const { template } = build({
      actualThresholdPercent: 50,
      forecastedThresholdPercent: 90,
      costFilterTags: { pipeline: 'medallion', environment: 'prod' },
      budgetName: 'medallion-prod',
    });
    const budget = Object.values(template.findResources('AWS::Budgets::Budget'))[0].Properties;
    expect(budget.Budget.BudgetName).toBe('medallion-prod');
    expect(budget.Budget.FilterExpression).toEqual({
      And: [
        { Tags: { Key: 'environment', Values: ['prod'], MatchOptions: ['EQUALS'] } },
        { Tags: { Key: 'pipeline', Values: ['medallion'], MatchOptions: ['EQUALS'] } },
      ],
    });
    expect(
      budget.NotificationsWithSubscribers.map(
        (n: { Notification: { Threshold: number } }) => n.Notification.Threshold,
      ),
    ).toEqual([50, 90]);
  });

  test('one tag is a plain tag expression; e-mail alone needs no topic policy', () => {
    const { template } = build(
      { email: 'ops@example.com', costFilterTags: { pipeline: 'medallion' } },
      false,
    );
    const budget = Object.values(template.findResources('AWS::Budgets::Budget'))[0].Properties;
    expect(budget.Budget.FilterExpression).toEqual({
      Tags: { Key: 'pipeline', Values: ['medallion'], MatchOptions: ['EQUALS'] },
    });
    expect(budget.NotificationsWithSubscribers[0].Subscribers).toEqual([
      { SubscriptionType: 'EMAIL', Address: 'ops@example.com' },
    ]);
    const statements = Object.values(template.findResources('AWS::SNS::TopicPolicy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    expect(
      statements.some(
        (s: { Principal?: { Service?: string } }) => s.Principal?.Service === 'budgets.amazonaws.com',
      ),
    ).toBe(false);
  });

  test('an imported topic gets a warning: its policy cannot be changed from here', () => {
    const app = new App({ context: testContext() });
    const stack = new Stack(app, 'Imported');
    new CostGuardrails(stack, 'CostGuardrails', {
      monthlyBudgetUsd: 10,
      topic: sns.Topic.fromTopicArn(stack, 'Topic', 'arn:aws:sns:eu-west-1:111111111111:alerts'),
    });
    Annotations.fromStack(stack).hasWarning(
      '/Imported/CostGuardrails',
      Match.stringLikeRegexp('budgets.amazonaws.com'),
    );
  });

  test('refuses a budget with nobody to notify, or not positive', () => {
    const app = new App({ context: testContext() });
    const stack = new Stack(app, 'Bad');
    expect(() => new CostGuardrails(stack, 'A', { monthlyBudgetUsd: 10 })).toThrow(
      /e-mail address or a topic/,
    );
    expect(() => new CostGuardrails(stack, 'B', { monthlyBudgetUsd: 0, email: 'a@example.com' })).toThrow(
      /positive/,
    );
  });
});
