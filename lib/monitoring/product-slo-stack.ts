/**
 * One data product's SLO alarms in a nested stack of its domain's stack. A product's alarms have fixed
 * names (`<prefix>-slo-<product>-<sli>-...`), so they must never move from one stack to another: a named
 * resource moved between stacks in one deployment fails ("already exists") or is deleted by the old
 * stack's cleanup. One nested stack per product keeps them put whatever else changes (another product
 * added or removed, another SLI added to this one), costs the domain's stack one resource per product
 * instead of ~8 per SLO, and keeps each template small whatever the size of the domain.
 *
 * The alerts reach the domain's topics, which stay in the domain's stack: CDK passes their ARNs as the
 * nested stack's parameters, the only reference between the two (the budgets dashboard, `SloBudgetsStack`,
 * names the alerts instead), so CloudFormation creates the topics, then the product's stack.
 */
import { type CfnResource, NestedStack } from 'aws-cdk-lib';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import type { GoldModel } from '../../core/gold/models';
import { DataProductSlos } from './data-product-slos';
import type { SloTopics } from './domain-topics';
import { nestedStackLogicalId } from './nested-stack-id';

/** A data product: a dataset (its contract) or a gold model. */
export type SloProduct =
  | { readonly contract: DatasetContract }
  | { readonly model: Pick<GoldModel, 'name' | 'product'> };

/** How people name a product, unique in the lake: `<domain>/<dataset>` or `gold/<model>`. */
export function sloProductTitle(product: SloProduct): string {
  return 'contract' in product ? product.contract.id : `gold/${product.model.name}`;
}

/** The logical id of a product's SLO stack: `Slo<dataset or model><hash of its title>`. */
export function productSloStackLogicalId(product: SloProduct): string {
  const name = 'contract' in product ? product.contract.dataset : product.model.name;
  return nestedStackLogicalId('Slo', name, sloProductTitle(product));
}

/** Properties of {@link ProductSloStack}. */
export interface ProductSloStackProps {
  /** The product whose SLOs (its contract's `sla`, its model header's `sla`) this stack alarms on. */
  readonly product: SloProduct;
  /** Prefix of the alarm names (`<prefix>-slo-<product>-<sli>-<page|ticket>`): the platform stack's name. */
  readonly alarmNamePrefix: string;
  /** The domains' page and ticket topics: the product's alerts go to its domain's. */
  readonly topics: SloTopics;
  /**
   * Where the alerts of a product of no domain go (a gold model without `domain`).
   * @default - such a product throws
   */
  readonly platformTopic?: sns.ITopic;
  /**
   * Share of periods that must be fresh, for every freshness SLO.
   * @default FRESHNESS_OBJECTIVE (0.99)
   */
  readonly freshnessObjective?: number;
}

/** See the module comment. */
export class ProductSloStack extends NestedStack {
  /** `<domain>/<dataset>` or `gold/<model>`. */
  public readonly title: string;
  /** The product's SLOs and their alarms. */
  public readonly slos: DataProductSlos;

  constructor(scope: Construct, id: string, props: ProductSloStackProps) {
    const title = sloProductTitle(props.product);
    super(scope, id, { description: `medallion: the SLO alarms of ${title}` });
    this.title = title;
    (this.nestedStackResource as CfnResource).overrideLogicalId(productSloStackLogicalId(props.product));
    const { product } = props;
    this.slos = new DataProductSlos(this, 'Slos', {
      alarmNamePrefix: props.alarmNamePrefix,
      contracts: 'contract' in product ? [product.contract] : [],
      models: 'model' in product ? [product.model] : [],
      topics: props.topics,
      platformTopic: props.platformTopic,
      freshnessObjective: props.freshnessObjective,
    });
    if (this.slos.slos.length === 0) throw new Error(`${title} states no SLO: it needs no SLO stack`);
  }
}
