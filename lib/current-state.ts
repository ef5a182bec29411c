/**
 * The current-state planner: the Lambda the gold workflow asks, per dataset, which arrivals to append to
 * the dataset's history and merge into its current-state table (`plan`), and tells when the merge
 * succeeded (`commit`). See `lambdas/current-state/handler.ts`; the merges themselves run on Athena, in
 * the workflow.
 */
import { Duration, Tags } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV } from '../core/config/env';
import type { DatasetContract } from '../core/contracts/dataset-contract';
import { currentStateWatermarkKey, datasetPrefixes, domainPrefixes, lakeDomains } from '../core/lake/layout';
import { grantLakeKeyViaS3, grantListBucket, grantObjects } from './lake-access';
import type { LogSettings } from './log-settings';
import { type FunctionSettings, MedallionFunction } from './medallion-function';
import { acknowledgePrefixScopedObjectArns } from './nag';

/** Properties of {@link CurrentStatePlanner}. */
export interface CurrentStatePlannerProps extends LogSettings, FunctionSettings {
  /** The contracts: the datasets whose current state is maintained. */
  readonly contracts: DatasetContract[];
  /** The data contracts directory (bundled with the function). */
  readonly contractsDir: string;
  /** The silver bucket: the commit logs are read there, the watermarks kept there. */
  readonly silverBucket: s3.IBucket;
  /** The lake key (encrypts silver). */
  readonly key: kms.IKey;
}

/**
 * A small Lambda that reads each dataset's commit log after its watermark (s3:ListBucket, GetObject on
 * `_commits/<domain>/<dataset>/`) and reads and writes the watermark
 * (`_state/current/<domain>/<dataset>.json`). It never reads data: the MERGE runs on Athena.
 */
export class CurrentStatePlanner extends Construct {
  public readonly function: lambda.IFunction;
  public readonly medallionFunction: MedallionFunction;

  constructor(scope: Construct, id: string, props: CurrentStatePlannerProps) {
    super(scope, id);
    this.medallionFunction = new MedallionFunction(this, 'Planner', {
      architecture: props.architecture,
      entry: 'lambdas/current-state/handler.ts',
      handler: 'handler',
      description: 'medallion: plans the current-state merge of a dataset from its commit log',
      contractsDir: props.contractsDir,
      memorySize: 512,
      timeout: Duration.minutes(2),
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      environment: { [ENV.SILVER_BUCKET]: props.silverBucket.bucketName },
    });
    this.function = this.medallionFunction.function;
    Tags.of(this).add('layer', 'silver');
    // Per domain: the policy grows with domains, not datasets.
    const domains = lakeDomains(props.contracts);

    grantObjects(
      this.function,
      props.silverBucket,
      ['s3:GetObject'],
      domainPrefixes(datasetPrefixes.silverCommitLog, domains),
    );
    // The datasets' watermarks, one object each: a 404 (with ListBucket) means "never merged yet".
    grantObjects(
      this.function,
      props.silverBucket,
      ['s3:GetObject', 's3:PutObject'],
      domainPrefixes((c) => currentStateWatermarkKey(c.domain, c.dataset), domains),
    );
    grantListBucket(this.function, props.silverBucket);
    grantLakeKeyViaS3(this.function, props.key);
    acknowledgePrefixScopedObjectArns(this);
  }
}
