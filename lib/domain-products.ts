/**
 * One domain's data products in AWS: its page and ticket topics (the owners' contacts subscribed), the
 * SLO burn-rate alarms of its datasets and gold models routed to them, a dashboard of their error budgets,
 * and the domain's reader role (silver and gold it may read; bronze and quarantine only where a contract's
 * `access` says so). Built in the domain's stack, so each grows with its own domain.
 *
 * Each product's SLO alarms live in a nested stack of their own (`ProductSloStack`), and the budgets
 * dashboards in one more (`SloBudgetsStack`): ~8 alarms per SLO and ~3 KB of widgets per product would
 * push a domain of a few dozen products past CloudFormation's 500 resources and 1 MB, while a nested stack
 * costs the domain's stack one resource, and a product's named alarms never change stacks.
 */
import { type RemovalPolicy, Tags } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { DatasetContract } from '../core/contracts/dataset-contract';
import type { GoldModel } from '../core/gold/models';
import { LakeReaders, type LakeReadersProps } from './lake-readers';
import type { DataProductSloSet } from './monitoring/data-product-slos';
import { DomainTopics, domainRecipients } from './monitoring/domain-topics';
import { ProductSloStack, type SloProduct, sloProductTitle } from './monitoring/product-slo-stack';
import { SloBudgetsStack } from './monitoring/slo-budgets-stack';
import { dataProductSlos } from './monitoring/slo-definitions';

/** The platform's lake, as the domain's reader role reads it (`LakeReaders`' lake properties). */
export type DomainLake = Pick<
  LakeReadersProps,
  | 'silverBucket'
  | 'goldBucket'
  | 'bronzeBucket'
  | 'quarantineBucket'
  | 'athenaResultsBucket'
  | 'key'
  | 'databaseName'
  | 'workGroupNamePrefix'
>;

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
  /**
   * Share of periods that must be fresh, for every freshness SLO of the domain.
   * @default FRESHNESS_OBJECTIVE (0.99)
   */
  readonly freshnessObjective?: number;
}

/** See the module comment. */
export class DomainProducts extends Construct {
  public readonly topics: DomainTopics;
  /**
   * Every SLO of the domain's products and their alarms, all products together (the alarms are in the
   * products' nested stacks, {@link sloStacks}); its widgets are the budgets dashboards'.
   */
  public readonly slos: DataProductSloSet;
  /** The nested stack of each product with an SLO, by `<domain>/<dataset>` or `gold/<model>`. */
  public readonly sloStacks: ReadonlyMap<string, ProductSloStack>;
  /** The nested stack of the budgets dashboards (none when no product of the domain states an SLA). */
  public readonly budgetsStack?: SloBudgetsStack;
  public readonly readers: LakeReaders;
  /** The error budgets, one page per 99 widgets, in {@link budgetsStack} (none without an SLA). */
  public readonly dashboards: readonly cloudwatch.Dashboard[];

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
    // Also refuses two products whose alarm names would clash, before any stack is made.
    const withSlos = new Set(
      dataProductSlos({ contracts, models, freshnessObjective: props.freshnessObjective }).map(
        (s) => s.title,
      ),
    );
    const products: SloProduct[] = [
      ...contracts.map((contract) => ({ contract })),
      ...models.map((model) => ({ model })),
    ];
    const stacks = new Map<string, ProductSloStack>();
    for (const product of products) {
      const title = sloProductTitle(product);
      if (!withSlos.has(title)) continue;
      stacks.set(
        title,
        new ProductSloStack(this, `Slo-${title.replace(/\//g, '.')}`, {
          product,
          alarmNamePrefix: props.namePrefix,
          topics: this.topics,
          platformTopic: props.platformTopic,
          freshnessObjective: props.freshnessObjective,
        }),
      );
    }
    this.sloStacks = stacks;
    const sets = [...stacks.values()].map((s) => s.slos);
    const slos = sets.flatMap((s) => s.slos);
    const compositeAlarms = Object.assign({}, ...sets.map((s) => s.compositeAlarms));
    if (slos.length > 0) {
      this.budgetsStack = new SloBudgetsStack(this, 'SloBudgets', {
        domain,
        dashboardNamePrefix: props.namePrefix,
        slos,
        alerts: Object.values(compositeAlarms),
        after: [...stacks.values()],
      });
    }
    this.dashboards = this.budgetsStack?.dashboards ?? [];
    this.slos = {
      slos,
      alarms: Object.assign({}, ...sets.map((s) => s.alarms)),
      compositeAlarms,
      widgets: this.budgetsStack?.widgets ?? [],
    };
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
  }
}
