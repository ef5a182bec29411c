import { Annotations, Aws, Stack, Tags } from 'aws-cdk-lib';
import * as budgets from 'aws-cdk-lib/aws-budgets';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { allowServiceToPublishEncrypted } from './encryption';
import { allowServiceToPublish } from './monitoring/alarm-topic';

/** Properties of {@link CostGuardrails}. */
export interface CostGuardrailsProps {
  /** The monthly budget, in USD. */
  readonly monthlyBudgetUsd: number;
  /**
   * Notified directly by AWS Budgets (no subscription to confirm).
   * @default - no e-mail subscriber (then `topic` is required)
   */
  readonly email?: string;
  /**
   * Notified through SNS, e.g. the alarm topic. Its policy gets a statement letting AWS Budgets publish,
   * and, when it is encrypted with a key of this app, so does the key's policy.
   * @default - no topic subscriber (then `email` is required)
   */
  readonly topic?: sns.ITopic;
  /**
   * Notify when the actual spend of the month passes this percentage of the budget.
   * @default 80
   */
  readonly actualThresholdPercent?: number;
  /**
   * Notify when the month's forecast spend passes this percentage of the budget.
   * @default 100
   */
  readonly forecastedThresholdPercent?: number;
  /**
   * Count only the costs of resources carrying all these tags (e.g. `{ pipeline: 'medallion',
   * environment: 'prod' }`), so that several deployments in one account each have their own budget.
   * The tags must first be activated as cost allocation tags (Billing console, by the management
   * account); until then a filtered budget sees nothing.
   * @default - every cost of the account
   */
  readonly costFilterTags?: Record<string, string>;
  /**
   * Name of the budget (unique in the account).
   * @default - `<stack name>-monthly`
   */
  readonly budgetName?: string;
}

/**
 * A monthly AWS Budgets cost budget with two notifications: the actual spend passing 80% of the budget
 * (money already spent: time to look) and the forecast passing 100% (the month will end over budget
 * unless something changes), sent by e-mail and/or to an SNS topic.
 *
 * A budget only notifies: it stops nothing. It is evaluated a few times a day from billing data, which
 * lags usage by hours, so it complements the alarms on usage (Athena bytes scanned, Lambda duration).
 */
export class CostGuardrails extends Construct {
  public readonly budget: budgets.CfnBudget;

  constructor(scope: Construct, id: string, props: CostGuardrailsProps) {
    super(scope, id);
    if (!(props.monthlyBudgetUsd > 0)) throw new Error('monthlyBudgetUsd must be positive');
    if (!props.email && !props.topic)
      throw new Error('CostGuardrails needs an e-mail address or a topic to notify');
    const actual = props.actualThresholdPercent ?? 80;
    const forecasted = props.forecastedThresholdPercent ?? 100;
    Tags.of(this).add('layer', 'ops');

    const subscribers: budgets.CfnBudget.SubscriberProperty[] = [];
    if (props.email) subscribers.push({ subscriptionType: 'EMAIL', address: props.email });
    if (props.topic) {
      subscribers.push({ subscriptionType: 'SNS', address: props.topic.topicArn });
      this.allowBudgetsToPublish(props.topic);
    }
    const notify = (notificationType: 'ACTUAL' | 'FORECASTED', threshold: number) => ({
      notification: {
        notificationType,
        comparisonOperator: 'GREATER_THAN',
        threshold,
        thresholdType: 'PERCENTAGE',
      },
      subscribers,
    });

    this.budget = new budgets.CfnBudget(this, 'MonthlyCost', {
      budget: {
        budgetName: props.budgetName ?? `${Stack.of(this).stackName}-monthly`,
        budgetType: 'COST',
        timeUnit: 'MONTHLY',
        budgetLimit: { amount: props.monthlyBudgetUsd, unit: 'USD' },
        filterExpression: tagFilter(props.costFilterTags),
      },
      notificationsWithSubscribers: [notify('ACTUAL', actual), notify('FORECASTED', forecasted)],
    });
  }

  private allowBudgetsToPublish(topic: sns.ITopic): void {
    const { account } = Stack.of(this);
    // Only budgets of this account (the confused-deputy guard AWS documents for service principals).
    const result = allowServiceToPublish(topic, {
      sid: 'AllowBudgetsToPublish',
      service: 'budgets.amazonaws.com',
      sourceArn: `arn:${Aws.PARTITION}:budgets::${account}:*`,
    });
    if (!result.statementAdded) {
      Annotations.of(this).addWarning(
        'the topic is imported: allow budgets.amazonaws.com to sns:Publish in its policy, or budget notifications will fail',
      );
    }
    const key = topic.masterKey;
    if (key instanceof kms.Key) allowServiceToPublishEncrypted(key, 'budgets.amazonaws.com');
    else if (key) {
      Annotations.of(this).addWarning(
        "the topic's key is imported: allow budgets.amazonaws.com kms:GenerateDataKey* and kms:Decrypt in its policy",
      );
    }
  }
}

/** A Cost Explorer expression matching costs that carry every one of `tags`. */
function tagFilter(
  tags: Record<string, string> | undefined,
): budgets.CfnBudget.ExpressionProperty | undefined {
  const entries = Object.entries(tags ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return undefined;
  const one = ([key, value]: [string, string]): budgets.CfnBudget.ExpressionProperty => ({
    tags: { key, values: [value], matchOptions: ['EQUALS'] },
  });
  return entries.length === 1 ? one(entries[0]) : { and: entries.map(one) };
}
