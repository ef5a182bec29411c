import { Duration, RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { COMMIT_LOG_RETENTION_DAYS, COMMIT_LOG_ROOT } from '../core/lake/layout';

/** Properties of {@link LakeStorage}. */
export interface LakeStorageProps {
  /**
   * Uploads left in landing expire after this. The landing function moves an upload out within seconds;
   * whatever stays failed to land and waits for an operator (see the landing failure queue).
   * @default Duration.days(14)
   */
  readonly landingExpiration?: Duration;
  /**
   * Rejected rows and files expire after this.
   * @default Duration.days(90)
   */
  readonly quarantineExpiration?: Duration;
  /**
   * Athena query results expire after this (they are re-computable).
   * @default Duration.days(30)
   */
  readonly athenaResultsExpiration?: Duration;
  /**
   * The silver key prefixes of the arrivals: a domain's (`<domain>/`, what the platform passes: one rule
   * per domain) or a dataset's (`<domain>/<dataset>/`), each ending with '/', so `retail/` never matches
   * `retail_eu/`: each gets a lifecycle rule of its own that expires its files after {@link silverArrivalsExpiration}. S3 allows 1,000 lifecycle
   * rules per bucket, a few of which silver uses for itself: synth fails beyond that.
   * @default [] - arrivals never expire
   */
  readonly silverArrivalPrefixes?: readonly string[];
  /**
   * Arrivals (the Parquet files the transform writes, under {@link silverArrivalPrefixes}) expire after
   * this. At least `COMMIT_LOG_RETENTION_DAYS` (30): the current-state merge reads the arrivals that the
   * commit log names, as far back as the log goes.
   * @default Duration.days(COMMIT_LOG_RETENTION_DAYS) (30 days)
   */
  readonly silverArrivalsExpiration?: Duration;
  /**
   * Overwritten or deleted object versions stay recoverable this long, in every bucket.
   * @default Duration.days(30)
   */
  readonly noncurrentVersionExpiration?: Duration;
  /**
   * Bronze objects move to STANDARD_IA after this (S3 refuses less than 30 days).
   * @default Duration.days(30)
   */
  readonly bronzeInfrequentAccessAfter?: Duration;
  /**
   * Bronze objects move to GLACIER_IR after this (at least 30 days after the STANDARD_IA transition).
   * @default Duration.days(90)
   */
  readonly bronzeGlacierInstantRetrievalAfter?: Duration;
  /**
   * S3 server access logs expire after this.
   * @default Duration.days(365)
   */
  readonly accessLogsExpiration?: Duration;
  /**
   * Object Lock default retention (governance mode) on bronze: bronze is the system of record, so its
   * bytes can then be neither overwritten nor deleted before the period ends (except by a principal with
   * s3:BypassGovernanceRetention). Object Lock can only be turned on when the bucket is created.
   * @default - no Object Lock
   */
  readonly bronzeObjectLockRetention?: Duration;
  /**
   * Development only: buckets (with their objects) and the key are destroyed with the stack.
   * @default false - everything is retained when the stack is deleted
   */
  readonly allowDestroy?: boolean;
}

/** S3's limit on the lifecycle rules of one bucket. */
const MAX_LIFECYCLE_RULES = 1000;
/** `<domain>/<dataset>/`, both contract identifiers (lower-case letters, digits and '_'). */
/** `<domain>/` or `<domain>/<dataset>/`: contract identifiers, each ending with '/'. */
const ARRIVAL_PREFIX = /^[a-z][a-z0-9_]{0,62}\/([a-z][a-z0-9_]{0,62}\/)?$/;

/**
 * The lake's buckets: landing, bronze, silver, gold, quarantine, athena-results, and access-logs for the
 * S3 server access logs of all the others.
 *
 * Every bucket blocks public access, refuses non-TLS requests, disables ACLs (bucket owner enforced) and
 * is versioned. The data buckets are encrypted with one customer-managed KMS key (rotated yearly, with S3
 * Bucket Keys to keep KMS request costs down); the access-logs bucket uses S3-managed keys because S3
 * server access logging cannot deliver to a bucket encrypted with a customer-managed key.
 */
export class LakeStorage extends Construct {
  /** Producers' uploads: `<domain>/<dataset>/<any name>`. */
  public readonly landingBucket: s3.Bucket;
  /** Immutable, content-addressed copies of what producers sent. */
  public readonly bronzeBucket: s3.Bucket;
  /** Typed, validated Parquet, and the transform's manifests. */
  public readonly silverBucket: s3.Bucket;
  /** Business tables (built by the gold slice). */
  public readonly goldBucket: s3.Bucket;
  /** Rejected rows and files, with their reasons. */
  public readonly quarantineBucket: s3.Bucket;
  /** Athena query results. */
  public readonly athenaResultsBucket: s3.Bucket;
  /** S3 server access logs of every other bucket, one prefix per bucket. */
  public readonly accessLogsBucket: s3.Bucket;
  /** The key that encrypts every data bucket. */
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: LakeStorageProps = {}) {
    super(scope, id);
    // With ACLs disabled (bucket owner enforced) the log delivery must be granted by bucket policy.
    // Set here, before any bucket exists, so the construct works whatever the app's cdk.json says.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);

    const allowDestroy = props.allowDestroy ?? false;
    const removalPolicy = allowDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const noncurrent = props.noncurrentVersionExpiration ?? Duration.days(30);

    this.key = new kms.Key(this, 'Key', {
      description: 'medallion: encrypts the data lake buckets',
      enableKeyRotation: true,
      removalPolicy,
      pendingWindow: allowDestroy ? Duration.days(7) : undefined,
    });

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      ...secureDefaults(removalPolicy, allowDestroy),
      // S3 server access logging cannot write to a bucket encrypted with a customer-managed KMS key.
      encryption: s3.BucketEncryption.S3_MANAGED,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: props.accessLogsExpiration ?? Duration.days(365),
          noncurrentVersionExpiration: noncurrent,
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });
    // It has no access log of its own (logging it into itself would log its own log deliveries forever);
    // cdk-nag's S1 recognizes a log destination bucket as such.
    Tags.of(this.accessLogsBucket).add('layer', 'ops');

    // Every data bucket's rules end with the housekeeping of old versions and abandoned uploads.
    const withHousekeeping = (rules: s3.LifecycleRule[]): s3.LifecycleRule[] => [
      ...rules,
      {
        id: 'housekeeping',
        noncurrentVersionExpiration: noncurrent,
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      },
    ];
    const dataBucket = (
      id: string,
      layer: string,
      rules: s3.LifecycleRule[],
      extra: Partial<s3.BucketProps> = {},
    ): s3.Bucket => {
      const bucket = new s3.Bucket(this, id, {
        ...secureDefaults(removalPolicy, allowDestroy),
        encryption: s3.BucketEncryption.KMS,
        encryptionKey: this.key,
        bucketKeyEnabled: true,
        serverAccessLogsBucket: this.accessLogsBucket,
        serverAccessLogsPrefix: `${layer}/`,
        // Date-partitioned log keys, so Athena can prune the audit trail by day.
        targetObjectKeyFormat: s3.TargetObjectKeyFormat.partitionedPrefix(s3.PartitionDateSource.EVENT_TIME),
        lifecycleRules: withHousekeeping(rules),
        ...extra,
      });
      Tags.of(bucket).add('layer', layer);
      return bucket;
    };
    const expire = (id: string, after: Duration): s3.LifecycleRule => ({ id, expiration: after });
    // Buckets whose current versions never expire: once the noncurrent versions of a deleted object are
    // gone, only a delete marker remains; this removes it (rules with `expiration` do that by themselves).
    const dropDeleteMarkers: s3.LifecycleRule = {
      id: 'remove-expired-delete-markers',
      expiredObjectDeleteMarker: true,
    };

    this.landingBucket = dataBucket('Landing', 'landing', [
      expire('expire-unlanded-uploads', props.landingExpiration ?? Duration.days(14)),
    ]);

    const ia = props.bronzeInfrequentAccessAfter ?? Duration.days(30);
    const glacierIr = props.bronzeGlacierInstantRetrievalAfter ?? Duration.days(90);
    this.bronzeBucket = dataBucket(
      'Bronze',
      'bronze',
      [
        {
          id: 'tier-down',
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: ia },
            { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: glacierIr },
          ],
        },
        dropDeleteMarkers,
      ],
      props.bronzeObjectLockRetention
        ? {
            objectLockEnabled: true,
            objectLockDefaultRetention: s3.ObjectLockRetention.governance(props.bronzeObjectLockRetention),
          }
        : {},
    );
    const arrivals = arrivalRules(
      props.silverArrivalPrefixes ?? [],
      props.silverArrivalsExpiration ?? Duration.days(COMMIT_LOG_RETENTION_DAYS),
    );
    const silverRules: s3.LifecycleRule[] = [
      dropDeleteMarkers,
      // The commit log the current-state merge reads after its watermark: only recent entries matter (an
      // older watermark makes the planner rebuild from the arrivals instead).
      { ...expire('expire-commit-log', Duration.days(COMMIT_LOG_RETENTION_DAYS)), prefix: COMMIT_LOG_ROOT },
      ...arrivals,
    ];
    // S3 refuses the whole lifecycle configuration beyond its limit: fail synth instead of the deploy.
    const total = withHousekeeping(silverRules).length;
    if (total > MAX_LIFECYCLE_RULES) {
      const fixed = total - arrivals.length;
      throw new Error(
        `${arrivals.length} datasets need ${total} lifecycle rules on the silver bucket (one per dataset ` +
          `expires its arrivals, plus ${fixed} of the bucket's own), over S3's limit of ` +
          `${MAX_LIFECYCLE_RULES} per bucket: deploy at most ${MAX_LIFECYCLE_RULES - fixed} datasets per stack`,
      );
    }
    this.silverBucket = dataBucket('Silver', 'silver', silverRules);
    this.goldBucket = dataBucket('Gold', 'gold', [dropDeleteMarkers]);
    this.quarantineBucket = dataBucket('Quarantine', 'quarantine', [
      expire('expire-quarantine', props.quarantineExpiration ?? Duration.days(90)),
    ]);
    this.athenaResultsBucket = dataBucket('AthenaResults', 'athena-results', [
      expire('expire-query-results', props.athenaResultsExpiration ?? Duration.days(30)),
    ]);
  }

  /** Every bucket holding pipeline data (all but the access logs). */
  public get dataBuckets(): s3.Bucket[] {
    return [
      this.landingBucket,
      this.bronzeBucket,
      this.silverBucket,
      this.goldBucket,
      this.quarantineBucket,
      this.athenaResultsBucket,
    ];
  }
}

/**
 * One rule per arrivals prefix (a domain's or a dataset's) expiring its files: a lifecycle filter takes one prefix, and the whole
 * bucket is not an option (the Iceberg tables and the bookkeeping under `_` must stay). Fails synth on
 * what S3 would refuse at deploy or what would expire arrivals the merge still reads.
 */
function arrivalRules(prefixes: readonly string[], after: Duration): s3.LifecycleRule[] {
  const problems: string[] = [];
  const unique = [...new Set(prefixes)];
  for (const p of unique) {
    if (!ARRIVAL_PREFIX.test(p)) {
      problems.push(
        `arrival prefix '${p}' must be '<domain>/' or '<domain>/<dataset>/' (contract identifiers, ending with '/')`,
      );
    }
  }
  if (after.toDays() < COMMIT_LOG_RETENTION_DAYS) {
    problems.push(
      `silverArrivalsExpiration must be at least ${COMMIT_LOG_RETENTION_DAYS} days (the commit log's ` +
        'retention): the current-state merge reads the arrivals the commit log names',
    );
  }
  if (problems.length > 0) throw new Error(`invalid silver arrivals:\n  - ${problems.join('\n  - ')}`);
  // Named after the dataset (`expire-arrivals-retail-orders`): identifiers hold no '-', so ids never collide.
  return unique.map((prefix) => ({
    id: `expire-arrivals-${prefix.slice(0, -1).replace('/', '-')}`,
    prefix,
    expiration: after,
  }));
}

/** What every bucket of the lake gets, whatever it holds. */
function secureDefaults(removalPolicy: RemovalPolicy, allowDestroy: boolean): Partial<s3.BucketProps> {
  return {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: true,
    removalPolicy,
    autoDeleteObjects: allowDestroy,
  };
}
