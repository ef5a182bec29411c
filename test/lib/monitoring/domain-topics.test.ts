/**
 * The domains' SLO alert topics: a page and a ticket topic per domain, encrypted with a key CloudWatch and
 * Budgets may use, publishable by both for this account only, e-mailing the domain's owners.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { GoldModel } from '../../../core/gold/models';
import { DomainTopics, domainRecipients, isEmail } from '../../../lib/monitoring/domain-topics';
import { testContext } from '../../support/cdk';
import { itemsContract } from '../../support/items-contract';

const retailOrders = itemsContract(
  [],
  { owner: { team: 'retail-data', contact: 'retail-data@example.com' } },
  { domain: 'retail', dataset: 'orders' },
);
const retailStores = itemsContract([], { owner: '#retail-oncall' }, { domain: 'retail', dataset: 'stores' });
const financeLedger = itemsContract(
  [],
  { owner: 'finance@example.com' },
  { domain: 'finance', dataset: 'ledger' },
);
const model = (
  name: string,
  domain: string | undefined,
  contact: string,
): Pick<GoldModel, 'name' | 'product'> => ({
  name,
  product: {
    domain,
    owner: { contact },
    version: '1.0.0',
    sla: { freshness: 120, window: 43_200 },
    readers: [],
  },
});

describe('domainRecipients', () => {
  test("each domain of the products with its owners' e-mail addresses, sorted, without duplicates or channels", () => {
    expect(
      domainRecipients(
        [retailOrders, retailStores, financeLedger],
        [
          model('daily_sales', 'retail', 'crm-team@example.com'),
          model('ledger_totals', 'finance', 'finance@example.com'),
          model('platform_kpis', undefined, 'platform@example.com'),
        ],
      ),
    ).toEqual([
      { domain: 'finance', emails: ['finance@example.com'] },
      { domain: 'retail', emails: ['crm-team@example.com', 'retail-data@example.com'] },
    ]);
  });

  test('a contact is an e-mail address only when it looks like one', () => {
    expect(isEmail('team@example.com')).toBe(true);
    expect(isEmail('#retail-oncall')).toBe(false);
    expect(isEmail('team@localhost')).toBe(false);
  });
});

function synth() {
  const app = new App({ context: testContext() });
  const stack = new Stack(app, 'Topics', { env: { account: '111111111111', region: 'eu-west-1' } });
  const topics = new DomainTopics(stack, 'SloTopics', {
    namePrefix: 'Medallion-dev',
    domains: [
      { domain: 'retail', emails: ['crm-team@example.com', 'retail-data@example.com'] },
      { domain: 'finance', emails: ['finance@example.com'] },
    ],
  });
  return { stack, topics, t: Template.fromStack(stack) };
}

describe('DomainTopics', () => {
  const { stack, topics, t } = synth();
  const topicId = (domain: string, severity: string) =>
    stack.resolve(topics.topics[domain][severity as 'page'].topicArn).Ref as string;
  const ids = ['retail', 'finance'].flatMap((d) => ['page', 'ticket'].map((s) => topicId(d, s)));

  test('a page and a ticket topic per domain, all encrypted with one rotated key, named for the e-mail sender', () => {
    t.resourceCountIs('AWS::SNS::Topic', 4);
    t.resourceCountIs('AWS::KMS::Key', 1);
    const [keyId] = Object.keys(t.findResources('AWS::KMS::Key'));
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    for (const topic of Object.values(t.findResources('AWS::SNS::Topic')))
      expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    t.hasResourceProperties('AWS::SNS::Topic', {
      DisplayName: 'medallion alarms (Medallion-dev retail page)',
    });
    t.hasResourceProperties('AWS::SNS::Topic', {
      DisplayName: 'medallion alarms (Medallion-dev finance ticket)',
    });
    expect(new Set(ids).size).toBe(4);
  });

  test("each topic's policy: TLS only, CloudWatch alarms and budgets of this account may publish", () => {
    for (const id of ids) {
      t.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sns:Publish',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
            {
              Sid: 'AllowCloudWatchAlarmsToPublish',
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: 'sns:Publish',
              Resource: { Ref: id },
              Condition: {
                StringEquals: { 'aws:SourceAccount': '111111111111' },
                ArnLike: { 'aws:SourceArn': 'arn:aws:cloudwatch:eu-west-1:111111111111:alarm:*' },
              },
            },
            {
              Sid: 'AllowBudgetsToPublish',
              Effect: 'Allow',
              Principal: { Service: 'budgets.amazonaws.com' },
              Action: 'sns:Publish',
              Resource: { Ref: id },
              Condition: {
                StringEquals: { 'aws:SourceAccount': '111111111111' },
                ArnLike: { 'aws:SourceArn': 'arn:aws:budgets::111111111111:*' },
              },
            },
          ]),
        },
      });
    }
  });

  test('the key lets CloudWatch and Budgets encrypt what they publish, once each', () => {
    const [key] = Object.values(t.findResources('AWS::KMS::Key'));
    const statements = key.Properties.KeyPolicy.Statement as {
      Sid?: string;
      Principal?: { Service?: string };
      Action: string[];
      Resource: string;
    }[];
    for (const [service, sid] of [
      ['cloudwatch.amazonaws.com', 'AllowCloudwatchToPublishToEncryptedTopics'],
      ['budgets.amazonaws.com', 'AllowBudgetsToPublishToEncryptedTopics'],
    ]) {
      const found = statements.filter((s) => s.Principal?.Service === service);
      expect(found).toEqual([
        {
          Sid: sid,
          Effect: 'Allow',
          Principal: { Service: service },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Resource: '*',
        },
      ]);
    }
  });

  test("the owners' addresses subscribe to both topics of their domain and to no other", () => {
    const subscriptions = Object.values(t.findResources('AWS::SNS::Subscription')).map((s) => [
      s.Properties.Protocol,
      s.Properties.Endpoint,
      s.Properties.TopicArn.Ref,
    ]);
    expect(subscriptions.sort()).toEqual(
      [
        ['email', 'crm-team@example.com', topicId('retail', 'page')],
        ['email', 'crm-team@example.com', topicId('retail', 'ticket')],
        ['email', 'retail-data@example.com', topicId('retail', 'page')],
        ['email', 'retail-data@example.com', topicId('retail', 'ticket')],
        ['email', 'finance@example.com', topicId('finance', 'page')],
        ['email', 'finance@example.com', topicId('finance', 'ticket')],
      ].sort(),
    );
  });

  test('topicFor gives the domain its own topic, and throws for a domain without topics', () => {
    expect(topics.topicFor('finance', 'ticket')).toBe(topics.topics.finance.ticket);
    expect(topics.topicFor('retail', 'page')).toBe(topics.topics.retail.page);
    expect(() => topics.topicFor('marketing', 'page')).toThrow(
      "no page topic for domain 'marketing' (domains with topics: finance, retail)",
    );
  });

  test('a domain listed twice is refused', () => {
    const stack2 = new Stack(new App(), 'Twice');
    expect(
      () =>
        new DomainTopics(stack2, 'SloTopics', {
          namePrefix: 'x',
          domains: [
            { domain: 'retail', emails: [] },
            { domain: 'retail', emails: [] },
          ],
        }),
    ).toThrow("domain 'retail' is listed twice");
  });
});
