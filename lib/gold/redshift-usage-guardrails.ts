/**
 * What caps and watches the gold workgroup's compute: a usage limit on its RPU-hours and a daily cost alarm.
 *
 * Usage limits: CloudFormation has AWS::Redshift::UsageLimit for provisioned clusters only, and no
 * AWS::RedshiftServerless::UsageLimit (none in the template reference nor among aws-cdk-lib's L1s), so the
 * limit is made with the API (CreateUsageLimit) through an AwsCustomResource.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as redshiftserverless from 'aws-cdk-lib/aws-redshiftserverless';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import type { AwsCall } from './redshift-custom-resources';

/** How often a usage limit's RPU-hours are counted (CreateUsageLimit's `period`). */
export type UsageLimitPeriod = 'daily' | 'weekly' | 'monthly';
/** What Redshift Serverless does once a usage limit is reached (CreateUsageLimit's `breachAction`). */
export type UsageLimitBreachAction = 'log' | 'emit-metric' | 'deactivate';

/** The guardrails' settings a user of the gold construct may change. */
export interface RedshiftUsageGuardrailSettings {
  /**
   * The usage limit on compute: RPU-hours per `usageLimitPeriod`.
   * @default 16 - about 4 hours a day at the default 4 RPUs
   */
  readonly usageLimitRpuHours?: number;
  /** @default 'daily' */
  readonly usageLimitPeriod?: UsageLimitPeriod;
  /**
   * What happens when the limit is reached: `log` (a system table row), `emit-metric` (a CloudWatch
   * metric), or `deactivate` (user queries are turned off until the period ends: the gold runs fail).
   * @default 'emit-metric'
   */
  readonly usageLimitBreachAction?: UsageLimitBreachAction;
  /**
   * The cost alarm fires when the workgroup uses more than this many RPU-hours in a day.
   * @default 12 - three quarters of the default daily usage limit
   */
  readonly costAlarmRpuHoursPerDay?: number;
  /**
   * Receives the cost alarm's ALARM and OK transitions (e.g. the platform's alarm topic).
   * @default - no action
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

/** Properties of {@link createUsageGuardrails}. */
export interface RedshiftUsageGuardrailsProps extends RedshiftUsageGuardrailSettings {
  /** The workgroup the limit applies to and the alarm watches (by its name). */
  readonly workgroup: redshiftserverless.CfnWorkgroup;
  /** Makes the custom resource that manages the usage limit. */
  readonly awsCall: AwsCall;
}

/** What {@link createUsageGuardrails} made. */
export interface RedshiftUsageGuardrails {
  /** RPU-hours per day over the threshold. */
  readonly costAlarm: cloudwatch.Alarm;
}

/** A usage limit as CreateUsageLimit takes it (the limit's custom resource spreads it into the call). */
interface UsageLimit {
  readonly amount: number;
  readonly period: UsageLimitPeriod;
  readonly breachAction: UsageLimitBreachAction;
}

const usageLimitOf = (settings: RedshiftUsageGuardrailSettings): UsageLimit => ({
  amount: settings.usageLimitRpuHours ?? 16,
  period: settings.usageLimitPeriod ?? 'daily',
  breachAction: settings.usageLimitBreachAction ?? 'emit-metric',
});
const alarmRpuHoursOf = (settings: RedshiftUsageGuardrailSettings) => settings.costAlarmRpuHoursPerDay ?? 12;

/** What is wrong with `settings` (empty when nothing is), defaults applied. */
export function usageGuardrailProblems(settings: RedshiftUsageGuardrailSettings): string[] {
  const problems: string[] = [];
  const { amount } = usageLimitOf(settings);
  if (!Number.isInteger(amount) || amount < 1) {
    problems.push(`usageLimitRpuHours ${amount} must be a whole number of RPU-hours, at least 1`);
  }
  if (!(alarmRpuHoursOf(settings) > 0)) problems.push('costAlarmRpuHoursPerDay must be positive');
  return problems;
}

/**
 * Creates the usage limit (`UsageLimit-<period>`) and the cost alarm (`ComputeRpuHours`) directly in
 * `scope`, so their logical ids stay those of the gold construct's.
 */
export function createUsageGuardrails(
  scope: Construct,
  props: RedshiftUsageGuardrailsProps,
): RedshiftUsageGuardrails {
  const limit = usageLimitOf(props);
  createUsageLimit(props.awsCall, props.workgroup, limit);
  const costAlarm = createCostAlarm(scope, props.workgroup.workgroupName, alarmRpuHoursOf(props), limit);
  if (props.alarmAction) {
    costAlarm.addAlarmAction(props.alarmAction);
    costAlarm.addOkAction(props.alarmAction);
  }
  return { costAlarm };
}

function createUsageLimit(awsCall: AwsCall, workgroup: redshiftserverless.CfnWorkgroup, limit: UsageLimit) {
  const call = (action: string, parameters: Record<string, unknown>) => ({
    service: 'redshift-serverless',
    action,
    parameters,
  });
  const id = cr.PhysicalResourceId.fromResponse('usageLimit.usageLimitId');
  const current = cr.PhysicalResourceIdReference;
  const { amount, period, breachAction } = limit;
  // UpdateUsageLimit cannot change the period: a new period is a new resource (its id names it).
  awsCall(
    `UsageLimit-${period}`,
    {
      onCreate: {
        ...call('CreateUsageLimit', {
          resourceArn: workgroup.attrWorkgroupWorkgroupArn,
          usageType: 'serverless-compute',
          ...limit,
        }),
        physicalResourceId: id,
      },
      onUpdate: {
        ...call('UpdateUsageLimit', { usageLimitId: new current(), amount, breachAction }),
        physicalResourceId: id,
      },
      onDelete: {
        ...call('DeleteUsageLimit', { usageLimitId: new current() }),
        ignoreErrorCodesMatching: 'ResourceNotFoundException',
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['Create', 'Update', 'Delete'].map((a) => `redshift-serverless:${a}UsageLimit`),
          resources: ['*'],
        }),
      ]),
    },
    'redshift-serverless:Create/Update/DeleteUsageLimit support no resource-level permissions (Service ' +
      'Authorization Reference lists no resource type): the resource must be *.',
  );
}

function createCostAlarm(
  scope: Construct,
  workgroupName: string,
  rpuHours: number,
  limit: UsageLimit,
): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, 'ComputeRpuHours', {
    alarmName: `${workgroupName}-RedshiftRpuHours`,
    alarmDescription:
      `Redshift Serverless workgroup ${workgroupName} used more than ${rpuHours} RPU-hours in a day ` +
      `(its usage limit: ${limit.amount} per ${limit.period} period). What to do: find the expensive statements (SYS_QUERY_HISTORY, ` +
      'sort by elapsed_time; SYS_SERVERLESS_USAGE for charged_seconds per minute), make the models filter ' +
      'on partition columns and read only the columns they need, check that the gold schedule did not ' +
      'start running more often, and lower maxCapacity if scaling up is the cause.',
    metric: new cloudwatch.Metric({
      namespace: 'AWS/Redshift-Serverless',
      metricName: 'ComputeSeconds',
      dimensionsMap: { Workgroup: workgroupName },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.days(1),
    }),
    threshold: rpuHours * 3600,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}
