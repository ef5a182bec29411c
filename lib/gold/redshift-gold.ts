/**
 * Gold on Redshift Serverless, as the platform builds it when the configuration says `gold.engine:
 * redshift`: the warehouse (`RedshiftServerlessGold`) and the engine the gold workflow runs its models
 * with (`RedshiftEngine`), wired to each other.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { goldModelPrefix } from '../../core/lake/layout';
import type { MedallionConfig } from '../config';
import type { LogSettings } from '../log-settings';
import { RedshiftEngine } from './redshift-engine';
import { RedshiftServerlessGold } from './redshift-serverless';

/** What {@link createRedshiftGold} needs from the platform. */
export interface RedshiftGoldProps extends LogSettings {
  /** `gold.redshift` of the configuration. */
  readonly settings: MedallionConfig['gold']['redshift'];
  readonly silverBucket: s3.IBucket;
  readonly goldBucket: s3.IBucket;
  readonly key: kms.IKey;
  /** The Glue database of the silver and gold tables. */
  readonly database: string;
  /** The silver tables' key prefixes the models read. */
  readonly silverPrefixes: string[];
  /** The gold models' names (their prefixes are written by UNLOAD). */
  readonly models: string[];
  /** Where the cost alarm goes. */
  readonly alarmTopic: sns.ITopic;
  /** The namespace's fate when the stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
  /** How long one statement may run (the Athena engine's query timeout). @default Duration.hours(1) */
  readonly queryTimeout?: Duration;
}

/** The warehouse and the gold engine on it. */
export function createRedshiftGold(
  scope: Construct,
  props: RedshiftGoldProps,
): { warehouse: RedshiftServerlessGold; engine: RedshiftEngine } {
  const warehouse = new RedshiftServerlessGold(scope, 'Redshift', {
    silverBucket: props.silverBucket,
    goldBucket: props.goldBucket,
    key: props.key,
    database: props.database,
    silverPrefixes: props.silverPrefixes,
    goldPrefixes: props.models.map(goldModelPrefix),
    baseCapacity: props.settings.baseCapacity,
    maxCapacity: props.settings.maxCapacity,
    usageLimitRpuHours: props.settings.usageLimitRpuHours,
    costAlarmRpuHoursPerDay: props.settings.costAlarmRpuHoursPerDay,
    alarmAction: new actions.SnsAction(props.alarmTopic),
    removalPolicy: props.removalPolicy,
    logRetention: props.logRetention,
    logRemovalPolicy: props.logRemovalPolicy,
  });
  const engine = new RedshiftEngine({
    workgroupName: warehouse.workgroupName,
    workgroupArn: warehouse.workgroup.attrWorkgroupWorkgroupArn,
    database: warehouse.dbName,
    adminSecret: warehouse.adminSecretArn,
    adminSecretKey: warehouse.namespaceKey,
    glueDatabase: props.database,
    unloadKey: props.key,
    spectrumRole: warehouse.spectrumRole,
    queryTimeout: props.queryTimeout ?? Duration.hours(1),
  });
  return { warehouse, engine };
}
