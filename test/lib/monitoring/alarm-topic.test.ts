/** The alarm topic: its key, its TLS-only policy, its subscription; in the composed stack, then alone. */
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { createAlarmTopic } from '../../../lib/monitoring/alarm-topic';
import { logicalId, testContext } from '../../support/cdk';
import { synthesizeComposedStack } from '../../support/cdk-composed-stack';

const { t, topicId } = synthesizeComposedStack();

describe('the alarm topic', () => {
  test('one topic, encrypted with a rotated customer-managed key, TLS only, e-mailing the configured address', () => {
    t.resourceCountIs('AWS::SNS::Topic', 1);
    const keyId = logicalId(t, 'AWS::KMS::Key', 'MonitoringTopicKey');
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    t.hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({
        EnableKeyRotation: true,
        Description: 'medallion: encrypts the alarm topic',
      }),
      // Like every key of the app (platform-stack.test: every stateful resource is retained).
      DeletionPolicy: 'Retain',
    });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          // The policy replaces SNS's default: without this statement no alarm could publish.
          Match.objectLike({
            Sid: 'AllowCloudWatchAlarmsToPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topicId },
            Condition: {
              StringEquals: { 'aws:SourceAccount': '111111111111' },
              ArnLike: {
                'aws:SourceArn': 'arn:aws:cloudwatch:eu-west-1:111111111111:alarm:*',
              },
            },
          }),
        ]),
      },
    });
    t.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: topicId },
    });
  });

  test("the key lets CloudWatch and AWS Budgets encrypt what they publish (an AWS managed key's policy cannot)", () => {
    const key = t.findResources('AWS::KMS::Key')[logicalId(t, 'AWS::KMS::Key', 'MonitoringTopicKey')];
    const statements = key.Properties.KeyPolicy.Statement as {
      Principal?: { Service?: string };
      Action: string[];
    }[];
    for (const service of ['cloudwatch.amazonaws.com', 'budgets.amazonaws.com']) {
      const s = statements.find((x) => x.Principal?.Service === service);
      expect(s?.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    }
  });
});

describe('createAlarmTopic alone', () => {
  function build(props: Partial<Parameters<typeof createAlarmTopic>[1]> = {}, withKey = false) {
    const app = new App({ context: testContext() });
    const stack = new Stack(app, 'Topic');
    const scope = new Construct(stack, 'Monitoring');
    const topicKey = withKey ? new kms.Key(stack, 'GivenKey', { enableKeyRotation: true }) : undefined;
    const created = createAlarmTopic(scope, { namePrefix: 'Topic', topicKey, ...props });
    return { created, topicKey, template: Template.fromStack(stack) };
  }

  test('the topic and its key are created in the given scope, under their fixed ids', () => {
    const { template } = build();
    expect(logicalId(template, 'AWS::SNS::Topic', 'MonitoringAlarmTopic')).toBeDefined();
    expect(logicalId(template, 'AWS::KMS::Key', 'MonitoringTopicKey')).toBeDefined();
    template.hasResourceProperties('AWS::SNS::Topic', { DisplayName: 'medallion alarms (Topic)' });
  });

  test('a given key encrypts the topic instead of a new one, and its policy admits CloudWatch', () => {
    const { created, topicKey, template } = build({}, true);
    expect(created.key).toBe(topicKey);
    template.resourceCountIs('AWS::KMS::Key', 1);
    const keyId = logicalId(template, 'AWS::KMS::Key', 'GivenKey');
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowCloudwatchToPublishToEncryptedTopics',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
          }),
        ]),
      },
    });
  });

  test('a destroyed key waits the shortest pending window, 7 days', () => {
    const { template } = build({ removalPolicy: RemovalPolicy.DESTROY });
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ PendingWindowInDays: 7 }),
    });
  });

  test('no e-mail, no subscription; the display name is cut at 100 characters', () => {
    const { template } = build({ namePrefix: 'x'.repeat(120) });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    const [topic] = Object.values(template.findResources('AWS::SNS::Topic'));
    expect(topic.Properties.DisplayName).toHaveLength(100);
    expect(topic.Properties.DisplayName).toMatch(/^medallion alarms \(x+$/);
  });
});
