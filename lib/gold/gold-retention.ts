/**
 * Bounded gold storage: the Lambda the gold workflow calls once every model of a run is published. It
 * records the run's version in each model's registry (`<model>/_published.json`) and deletes every
 * version prefix (`<model>/v=<x>/`) that is not among the `versionsKept` newest published ones: older
 * versions and the files of runs that failed. See `lambdas/gold-retention/`.
 */
import { Duration, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV } from '../../core/config/env';
import { goldIncrementalStateKey, goldModelPrefix, goldPublishedRegistryKey } from '../../core/lake/layout';
import { grantLakeKeyViaS3, grantListBucket, grantObjects } from '../lake-access';
import type { LogSettings } from '../log-settings';
import { type FunctionSettings, MedallionFunction } from '../medallion-function';
import { acknowledgePrefixScopedObjectArns } from '../nag';

/** Properties of {@link GoldRetention}. */
export interface GoldRetentionProps extends LogSettings, FunctionSettings {
  /** The data contracts directory (every function bundles it). */
  readonly contractsDir: string;
  readonly goldBucket: s3.IBucket;
  /** The lake key (encrypts gold). */
  readonly key: kms.IKey;
  /** The models whose versions it may delete. */
  readonly models: string[];
  /**
   * Published versions kept per model (the current one included), for rollback.
   * @default 3
   */
  readonly versionsKept?: number;
}

/** The retention Lambda, allowed to list the gold bucket and to delete versions of the models only. */
export class GoldRetention extends Construct {
  public readonly function: lambda.IFunction;

  constructor(scope: Construct, id: string, props: GoldRetentionProps) {
    super(scope, id);
    const kept = props.versionsKept ?? 3;
    if (!Number.isInteger(kept) || kept < 1)
      throw new Error(`GoldRetention: versionsKept must be at least 1 (got ${kept})`);
    const fn = new MedallionFunction(this, 'Janitor', {
      architecture: props.architecture,
      entry: 'lambdas/gold-retention/handler.ts',
      handler: 'handler',
      description:
        'medallion: deletes gold versions beyond the newest published ones, and those of failed runs',
      contractsDir: props.contractsDir,
      memorySize: 512,
      // Deleting a large old version is a few DeleteObjects calls per 1,000 objects.
      timeout: Duration.minutes(5),
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      environment: {
        [ENV.GOLD_BUCKET]: props.goldBucket.bucketName,
        [ENV.GOLD_VERSIONS_KEPT]: String(kept),
      },
    });
    this.function = fn.function;
    Tags.of(this).add('layer', 'gold');
    if (props.models.length > 0) {
      // The versions it deletes (and reads the keys of), under each model's own prefix.
      grantObjects(this.function, props.goldBucket, ['s3:DeleteObject'], props.models.map(goldModelPrefix));
      this.function.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: props.models.map((m) => props.goldBucket.arnForObjects(goldPublishedRegistryKey(m))),
        }),
      );
      // An incremental model's state names the versions its partitions still read (kept).
      this.function.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: props.models.map((m) => props.goldBucket.arnForObjects(goldIncrementalStateKey(m))),
        }),
      );
    }
    grantListBucket(this.function, props.goldBucket);
    grantLakeKeyViaS3(this.function, props.key);
    acknowledgePrefixScopedObjectArns(this);
  }
}
