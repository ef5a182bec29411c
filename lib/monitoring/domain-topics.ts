/**
 * Where the data products' SLO alerts go: a `page` and a `ticket` topic per owning domain, so the domain
 * that owns a product is the one woken up (and only it), while the platform's own alarms stay on the
 * platform's alarm topic. Each topic is made like that one (`createAlarmTopic`: customer-managed key,
 * TLS only, CloudWatch allowed to publish for this account's alarms) and also admits AWS Budgets, so a
 * domain's own budget can notify it. The owners' e-mail contacts subscribe to both topics of their domain.
 */
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import type { GoldModel } from '../../core/gold/models';
import { allowServiceToPublishEncrypted } from '../encryption';
import { allowServiceToPublish, createAlarmTopic, createTopicKey } from './alarm-topic';
import { SEVERITIES, type Severity } from './slo-metrics';

/** What routes an SLO alert: the topic of a domain for a severity. */
export interface SloTopics {
  /** Throws for a domain it has no topics for: an alert must never fall back to another domain's topic. */
  topicFor(domain: string, severity: Severity): sns.ITopic;
}

/** A domain and the addresses subscribed to its topics. */
export interface DomainRecipients {
  readonly domain: string;
  /** E-mail addresses (each must confirm its subscription). */
  readonly emails: readonly string[];
}

/** Properties of {@link DomainTopics}. */
export interface DomainTopicsProps {
  /** Shown in the topics' display names (what an e-mail's sender reads), with the domain and severity. */
  readonly namePrefix: string;
  /** A page and a ticket topic each. */
  readonly domains: readonly DomainRecipients[];
  /**
   * Encrypts every topic here.
   * @default - a key of their own, rotated yearly
   */
  readonly topicKey?: kms.Key;
  /** @default RemovalPolicy.RETAIN, like every key of the app */
  readonly removalPolicy?: RemovalPolicy;
}

/** Something a human can be e-mailed at (a contact may also be a chat channel). */
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
export const isEmail = (contact: string): boolean => EMAIL.test(contact);

/**
 * The domains of the products and their owners' e-mail contacts (sorted, without duplicates): datasets
 * by their contract's domain, gold models by their header's `domain` (a model of no domain is the
 * platform's: it has none here).
 */
export function domainRecipients(
  contracts: readonly DatasetContract[],
  models: readonly Pick<GoldModel, 'product'>[] = [],
): DomainRecipients[] {
  const byDomain = new Map<string, Set<string>>();
  const add = (domain: string, contact: string | undefined) => {
    const emails = byDomain.get(domain) ?? new Set<string>();
    if (contact && isEmail(contact)) emails.add(contact);
    byDomain.set(domain, emails);
  };
  for (const c of contracts) add(c.domain, c.owner?.contact);
  for (const m of models) if (m.product?.domain) add(m.product.domain, m.product.owner?.contact);
  return [...byDomain.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([domain, emails]) => ({ domain, emails: [...emails].sort() }));
}

/**
 * A page and a ticket topic per domain (`<domain>-page/AlarmTopic`, `<domain>-ticket/AlarmTopic`), all
 * encrypted with one key (`TopicKey`).
 */
export class DomainTopics extends Construct implements SloTopics {
  public readonly key: kms.Key;
  /** The topics, by domain then severity. */
  public readonly topics: Readonly<Record<string, Readonly<Record<Severity, sns.Topic>>>>;

  constructor(scope: Construct, id: string, props: DomainTopicsProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.key =
      props.topicKey ??
      createTopicKey(this, "medallion: encrypts the domains' SLO alert topics", removalPolicy);
    // Budgets encrypts what it publishes with the topics' key (createAlarmTopic admits CloudWatch).
    allowServiceToPublishEncrypted(this.key, 'budgets.amazonaws.com');
    const { account, partition } = Stack.of(this);
    const topics: Record<string, Record<Severity, sns.Topic>> = {};
    for (const d of props.domains) {
      if (topics[d.domain]) throw new Error(`domain '${d.domain}' is listed twice`);
      const bySeverity = {} as Record<Severity, sns.Topic>;
      for (const severity of SEVERITIES) {
        const { topic } = createAlarmTopic(new Construct(this, `${d.domain}-${severity}`), {
          namePrefix: `${props.namePrefix} ${d.domain} ${severity}`,
          topicKey: this.key,
        });
        // Only budgets of this account (the confused-deputy guard AWS documents for Budgets).
        allowServiceToPublish(topic, {
          sid: 'AllowBudgetsToPublish',
          service: 'budgets.amazonaws.com',
          sourceArn: `arn:${partition}:budgets::${account}:*`,
        });
        for (const email of d.emails) topic.addSubscription(new subscriptions.EmailSubscription(email));
        bySeverity[severity] = topic;
      }
      topics[d.domain] = bySeverity;
    }
    this.topics = topics;
  }

  public topicFor(domain: string, severity: Severity): sns.ITopic {
    const topic = this.topics[domain]?.[severity];
    if (!topic) {
      const known = Object.keys(this.topics).sort().join(', ') || 'none';
      throw new Error(`no ${severity} topic for domain '${domain}' (domains with topics: ${known})`);
    }
    return topic;
  }
}
