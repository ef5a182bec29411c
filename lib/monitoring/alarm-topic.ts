/**
 * The alarm topic: where every alarm of the pipeline (and the budget) sends its notifications. It is
 * encrypted with a customer-managed key whose policy admits CloudWatch, accepts TLS only, and e-mails
 * the configured address.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { allowServiceToPublishEncrypted } from '../encryption';

/** The settings of the alarm topic (also properties of `PipelineMonitoring`). */
export interface AlarmTopicSettings {
  /**
   * Subscribed to the alarm topic (the address must confirm the subscription).
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * The customer-managed key encrypting the alarm topic. CloudWatch (and AWS Budgets) can only publish
   * to an encrypted topic whose key policy allows them, which an AWS managed key's policy does not; the
   * lake's key would work but would then admit those services on the key of the data itself.
   * @default - a key of its own, rotated yearly
   */
  readonly topicKey?: kms.Key;
  /**
   * What happens to the generated topic key when the stack is deleted. It only encrypts notifications in
   * flight, so destroying it loses nothing; retained by default like every key of the app.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Properties of {@link createAlarmTopic}. */
export interface AlarmTopicProps extends AlarmTopicSettings {
  /** Shown in the topic's display name (what an e-mail's sender reads). */
  readonly namePrefix: string;
}

/** The alarm topic and the key encrypting it. */
export interface AlarmTopic {
  readonly topic: sns.Topic;
  readonly key: kms.Key;
}

/** An alarm topic's key (`TopicKey`, rotated): kept with the topic, or gone within 7 days of it. */
export function createTopicKey(scope: Construct, description: string, removalPolicy: RemovalPolicy): kms.Key {
  return new kms.Key(scope, 'TopicKey', {
    description,
    enableKeyRotation: true,
    removalPolicy,
    pendingWindow: removalPolicy === RemovalPolicy.DESTROY ? Duration.days(7) : undefined,
  });
}

/**
 * Creates the topic (`AlarmTopic`) and, unless one is given, its key (`TopicKey`) directly in `scope`:
 * the monitoring construct owns them, so their logical ids stay under it.
 */
export function createAlarmTopic(scope: Construct, props: AlarmTopicProps): AlarmTopic {
  const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
  const key = props.topicKey ?? createTopicKey(scope, 'medallion: encrypts the alarm topic', removalPolicy);
  // CloudWatch encrypts what it publishes with the topic's key: it must be allowed in the key policy.
  allowServiceToPublishEncrypted(key, 'cloudwatch.amazonaws.com');
  const topic = new sns.Topic(scope, 'AlarmTopic', {
    displayName: `medallion alarms (${props.namePrefix})`.slice(0, 100),
    masterKey: key,
    enforceSSL: true,
  });
  // The topic has a policy (TLS only, Budgets), which replaces SNS's default one: CloudWatch must be allowed
  // to publish in it, for this account's alarms only (the confused-deputy conditions AWS documents), or
  // every alarm action fails and shows only in the alarm's history.
  const { account, region, partition } = Stack.of(scope);
  allowServiceToPublish(topic, {
    sid: 'AllowCloudWatchAlarmsToPublish',
    service: 'cloudwatch.amazonaws.com',
    sourceArn: `arn:${partition}:cloudwatch:${region}:${account}:alarm:*`,
  });
  if (props.alarmEmail) {
    topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
  }
  return { topic, key };
}

/**
 * Lets an AWS service publish to `topic` on behalf of this account only: the service principal, with the
 * confused-deputy conditions AWS documents for it (`aws:SourceAccount` and `aws:SourceArn`). Returns
 * whether the statement was added (not for an imported topic).
 */
export function allowServiceToPublish(
  topic: sns.ITopic,
  grant: { readonly sid: string; readonly service: string; readonly sourceArn: string },
): iam.AddToResourcePolicyResult {
  return topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: grant.sid,
      principals: [new iam.ServicePrincipal(grant.service)],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Stack.of(topic).account },
        ArnLike: { 'aws:SourceArn': grant.sourceArn },
      },
    }),
  );
}
