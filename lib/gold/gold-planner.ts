/**
 * The gold planner: the Lambda the gold workflow calls for each incremental model, to plan its run (what
 * changed in its sources since the last run), to list the Glue partition calls that publish what the run
 * wrote, and to store the model's state (`<model>/_incremental.json`). See `lambdas/gold-planner/`.
 * It never reads data: the statements run on Athena.
 */
import { Duration, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV } from '../../core/config/env';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import {
  currentStateWatermarkKey,
  type DatasetRef,
  datasetPrefixes,
  domainPrefixes,
  goldIncrementalStateKey,
  lakeDomains,
} from '../../core/lake/layout';
import type { GoldEngineName } from '../config';
import { grantLakeKeyViaS3, grantListBucket, grantObjects } from '../lake-access';
import type { LogSettings } from '../log-settings';
import { type FunctionSettings, MedallionFunction } from '../medallion-function';
import { acknowledgePrefixScopedObjectArns } from '../nag';

/** Properties of {@link GoldPlanner}. */
export interface GoldPlannerProps extends LogSettings, FunctionSettings {
  /** The data contracts directory (bundled: the planner maps tables to datasets). */
  readonly contractsDir: string;
  /** The datasets whose commit logs and watermarks the incremental models read. */
  readonly contracts: DatasetContract[];
  readonly silverBucket: s3.IBucket;
  readonly goldBucket: s3.IBucket;
  /** The lake key (encrypts silver and gold). */
  readonly key: kms.IKey;
  /** The incremental models: the planner reads and writes their state, and lists their versions. */
  readonly models: string[];
  /**
   * The engine the planner writes statements for (Redshift: its UNLOADs encrypt with the lake key).
   * @default 'athena'
   */
  readonly engine?: GoldEngineName;
}

/** The planner Lambda: reads commit logs, watermarks and arrival partitions; writes model states only. */
export class GoldPlanner extends Construct {
  public readonly function: lambda.IFunction;

  constructor(scope: Construct, id: string, props: GoldPlannerProps) {
    super(scope, id);
    const fn = new MedallionFunction(this, 'Planner', {
      architecture: props.architecture,
      entry: 'lambdas/gold-planner/handler.ts',
      handler: 'handler',
      description:
        'medallion: plans the runs of incremental gold models and the publication of their partitions',
      contractsDir: props.contractsDir,
      memorySize: 512,
      timeout: Duration.minutes(2),
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      environment: {
        [ENV.SILVER_BUCKET]: props.silverBucket.bucketName,
        [ENV.GOLD_BUCKET]: props.goldBucket.bucketName,
        ...(props.engine === 'redshift'
          ? { [ENV.GOLD_ENGINE]: 'redshift', [ENV.GOLD_UNLOAD_KEY_ID]: props.key.keyId }
          : {}),
      },
    });
    this.function = fn.function;
    Tags.of(this).add('layer', 'gold');

    // The sources' commit logs (read) and current-state watermarks (read): what changed, and what is merged.
    grantObjects(
      this.function,
      props.silverBucket,
      ['s3:GetObject'],
      [
        datasetPrefixes.silverCommitLog,
        (c: DatasetRef) => currentStateWatermarkKey(c.domain, c.dataset),
      ].flatMap((p) => domainPrefixes(p, lakeDomains(props.contracts))),
    );
    if (props.models.length > 0) {
      // Each model's state, one object each: a 404 (with ListBucket) means "never run yet".
      this.function.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: props.models.map((m) => props.goldBucket.arnForObjects(goldIncrementalStateKey(m))),
        }),
      );
    }
    // Listing: arrival partitions (silver, before a dataset's watermark records its history's) and the
    // partitions a run wrote (gold, under the models' prefixes).
    grantListBucket(this.function, props.silverBucket);
    grantListBucket(this.function, props.goldBucket);
    grantLakeKeyViaS3(this.function, props.key);
    acknowledgePrefixScopedObjectArns(this);
  }
}
