/**
 * One domain's data products in AWS: its page and ticket topics (the owners' contacts subscribed), the
 * SLO burn-rate alarms of its datasets and gold models routed to them, a dashboard of their error budgets,
 * and the domain's reader role (silver and gold it may read; bronze and quarantine only where a contract's
 * `access` says so). Built in the domain's stack, so each grows with its own domain.
 */
import { type RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { DatasetContract } from '../core/contracts/dataset-contract';
import type { GoldModel } from '../core/gold/models';
import { LakeReaders } from './lake-readers';
import { DataProductSlos } from './monitoring/data-product-slos';
import { DomainTopics, domainRecipients } from './monitoring/domain-topics';

/** The platform's lake, as the domain's reader role reads it. */
export interface DomainLake {
  readonly silverBucket: s3.IBucket;
  readonly goldBucket: s3.IBucket;
  readonly bronzeBucket: s3.IBucket;
  readonly quarantineBucket: s3.IBucket;
  readonly athenaResultsBucket: s3.IBucket;
  readonly key: kms.IKey;
  readonly databaseName: string;
  /** The readers' workgroups are `<prefix>-<domain>`. */
  readonly workGroupNamePrefix: string;
}

/** The platform's lake as another stack imports it: ARNs (import values) and names. */
export interface DomainLakeExports {
  readonly silverBucketArn: string;
  readonly goldBucketArn: string;
  readonly bronzeBucketArn: string;
  readonly quarantineBucketArn: string;
  readonly athenaResultsBucketArn: string;
  readonly keyArn: string;
  readonly databaseName: string;
  readonly workGroupNamePrefix: string;
}

/** The lake in `scope`, from another stack's exports. */
export function importLake(scope: Construct, exports: DomainLakeExports): DomainLake {
  const bucket = (id: string, bucketArn: string) => s3.Bucket.fromBucketAttributes(scope, id, { bucketArn });
  return {
    silverBucket: bucket('Silver', exports.silverBucketArn),
    goldBucket: bucket('Gold', exports.goldBucketArn),
    bronzeBucket: bucket('Bronze', exports.bronzeBucketArn),
    quarantineBucket: bucket('Quarantine', exports.quarantineBucketArn),
    athenaResultsBucket: bucket('AthenaResults', exports.athenaResultsBucketArn),
    key: kms.Key.fromKeyArn(scope, 'LakeKey', exports.keyArn),
    databaseName: exports.databaseName,
    workGroupNamePrefix: exports.workGroupNamePrefix,
  };
}

/** Properties of {@link DomainProducts}. */
export interface DomainProductsProps {
  readonly domain: string;
  /** Every contract of the lake (a domain may read another's dataset its `access` shares). */
  readonly contracts: readonly DatasetContract[];
  /** Every gold model (likewise). @default - none */
  readonly models?: readonly GoldModel[];
  /** The platform's lake: in this stack, or imported from the platform's exports. */
  readonly lake: DomainLake | DomainLakeExports;
  /** Prefix of the alarm and topic names: the platform stack's name. */
  readonly namePrefix: string;
  /** The platform's alarm topic (for products without a domain: none here). */
  readonly platformTopic: sns.ITopic;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** See the module comment. */
export class DomainProducts extends Construct {
  public readonly topics: DomainTopics;
  public readonly slos: DataProductSlos;
  public readonly readers: LakeReaders;
  /** The error budgets, one page per 99 widgets (none when no product of the domain states an SLA). */
  public readonly dashboards: cloudwatch.Dashboard[];

  constructor(scope: Construct, id: string, props: DomainProductsProps) {
    super(scope, id);
    const { domain } = props;
    const contracts = props.contracts.filter((c) => c.domain === domain);
    const models = (props.models ?? []).filter((m) => m.product?.domain === domain);
    this.topics = new DomainTopics(this, 'Topics', {
      namePrefix: props.namePrefix,
      domains: domainRecipients(contracts, models).filter((r) => r.domain === domain),
      removalPolicy: props.removalPolicy,
    });
    this.slos = new DataProductSlos(this, 'Slos', {
      alarmNamePrefix: props.namePrefix,
      contracts,
      models,
      topics: this.topics,
      platformTopic: props.platformTopic,
    });
    const lake = 'silverBucket' in props.lake ? props.lake : importLake(this, props.lake);
    this.readers = new LakeReaders(this, 'Readers', {
      ...lake,
      contracts: props.contracts,
      goldModels: props.models ?? [],
      domains: [domain],
      // Named after the platform, like the roles of the domains that only read (in its stack).
      namePrefix: props.namePrefix,
    });
    Tags.of(this.readers).add('layer', 'access');
    // CloudWatch takes at most 100 widgets a dashboard (the first holds the alarms' status).
    const widgets = [...this.slos.widgets];
    this.dashboards = [];
    for (let page = 0; page * 99 < widgets.length; page++) {
      this.dashboards.push(
        new cloudwatch.Dashboard(this, `Budgets${page + 1}`, {
          dashboardName: `${props.namePrefix}-${domain.replace(/_/g, '-')}-slos${page === 0 ? '' : `-${page + 1}`}`,
          widgets: [widgets.slice(page * 99, (page + 1) * 99)],
        }),
      );
    }
  }
}
