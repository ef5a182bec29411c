/**
 * The reconciler: a Lambda run on a schedule (EventBridge) that finds uploads left in the landing bucket
 * and bronze objects never committed, re-drives them through their normal route (the landing function,
 * the transform queue) and publishes the `Stranded` metric. See `lambdas/reconciler/`.
 */
import { Duration, Tags } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../core/config/env';
import { failedReasonKey, manifestKey } from '../core/lake/layout';
import { grantLakeKeyViaS3, grantListBucket } from './lake-access';
import type { LogSettings } from './log-settings';
import { type FunctionSettings, MedallionFunction } from './medallion-function';
import { acknowledgePrefixScopedObjectArns } from './nag';

/** Properties of {@link Reconciler}. */
export interface ReconcilerProps extends LogSettings, FunctionSettings {
  /** The data contracts directory (every function bundles it). */
  readonly contractsDir: string;
  readonly landingBucket: s3.IBucket;
  readonly bronzeBucket: s3.IBucket;
  readonly silverBucket: s3.IBucket;
  readonly quarantineBucket: s3.IBucket;
  /** The lake key (encrypts the buckets). */
  readonly key: kms.IKey;
  /** Where stranded uploads are re-driven: invoked asynchronously with the upload's S3 event. */
  readonly landingFunction: lambda.IFunction;
  /** Where stranded bronze objects are re-driven: the S3 event message their notification would be. */
  readonly transformQueue: sqs.IQueue;
  /** An upload older than this is stranded: the landing function's retry window, plus a margin. */
  readonly landingStrandedAfter: Duration;
  /** A bronze object older than this with no manifest is stranded: its receives' window, plus a margin. */
  readonly bronzeStrandedAfter: Duration;
  /**
   * When it runs.
   * @default events.Schedule.rate(Duration.minutes(15))
   */
  readonly schedule?: events.Schedule;
  /**
   * Bronze `ingest_date` days read, today included.
   * @default 3
   */
  readonly lookbackDays?: number;
}

/** The reconciler function, its schedule, and only the access it needs. */
export class Reconciler extends Construct {
  public readonly function: lambda.Function;
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    const lookbackDays = props.lookbackDays ?? 3;
    const fn = new MedallionFunction(this, 'Function', {
      architecture: props.architecture,
      entry: 'lambdas/reconciler/handler.ts',
      handler: 'handler',
      description: 'medallion: re-drives uploads and bronze objects the event route lost (Stranded metric)',
      contractsDir: props.contractsDir,
      memorySize: 512,
      timeout: Duration.minutes(5),
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      environment: {
        [ENV.LANDING_BUCKET]: props.landingBucket.bucketName,
        [ENV.BRONZE_BUCKET]: props.bronzeBucket.bucketName,
        [ENV.SILVER_BUCKET]: props.silverBucket.bucketName,
        [ENV.QUARANTINE_BUCKET]: props.quarantineBucket.bucketName,
        [ENV.TRANSFORM_QUEUE_URL]: props.transformQueue.queueUrl,
        [ENV.LANDING_FUNCTION_NAME]: props.landingFunction.functionName,
        [ENV.STRANDED_LANDING_AFTER_MINUTES]: String(Math.ceil(props.landingStrandedAfter.toMinutes())),
        [ENV.STRANDED_BRONZE_AFTER_MINUTES]: String(Math.ceil(props.bronzeStrandedAfter.toMinutes())),
        [ENV.RECONCILE_LOOKBACK_DAYS]: String(lookbackDays),
      },
    });
    this.function = fn.function;
    Tags.of(this).add('layer', 'silver');

    // Listing: every upload in landing, the lookback days of bronze, the commit logs in silver.
    for (const bucket of [
      props.landingBucket,
      props.bronzeBucket,
      props.silverBucket,
      props.quarantineBucket,
    ])
      grantListBucket(fn.function, bucket);
    // Reading: the manifests (is it committed?) and the dead-letter reasons (was it given up on?), of
    // every dataset: two fixed prefixes, so the policy does not grow with the number of datasets.
    const manifests = props.silverBucket.arnForObjects(`${rootOf(manifestKey('d', 'x', 'id'))}*`);
    const reasons = props.quarantineBucket.arnForObjects(`${rootOf(failedReasonKey('d', 'x', 'id'))}*`);
    fn.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [manifests, reasons] }),
    );
    grantLakeKeyViaS3(fn.function, props.key);
    props.transformQueue.grantSendMessages(fn.function);
    // The function itself, not `grantInvoke`'s `<arn>:*` too: the reconciler invokes the unqualified name.
    fn.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [props.landingFunction.functionArn],
      }),
    );
    acknowledgePrefixScopedObjectArns(this);

    this.rule = new events.Rule(this, 'Schedule', {
      description: 'medallion: looks for stranded uploads and bronze objects',
      schedule: props.schedule ?? events.Schedule.rate(Duration.minutes(15)),
      targets: [new targets.LambdaFunction(fn.function, { retryAttempts: 2 })],
    });
  }
}

/** The first segment of a key, with its slash: `_manifests/` of `_manifests/<domain>/...`. */
function rootOf(key: string): string {
  return key.slice(0, key.indexOf('/') + 1);
}
