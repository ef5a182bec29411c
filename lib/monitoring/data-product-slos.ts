import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import type { GoldModel } from '../../core/gold/models';
import type { SloTopics } from './domain-topics';
import { addSloAlarms, type SloAlarmTopics } from './slo-alarms';
import { dataProductSlos, type PlatformGoldSlo, type Slo } from './slo-definitions';
import { sloWidgets } from './slo-widgets';

/** Properties of {@link DataProductSlos}. */
export interface DataProductSlosProps {
  /** Prefix of the alarm names (`<prefix>-slo-<product>-<sli>-<page|ticket>`): the platform stack's name. */
  readonly alarmNamePrefix: string;
  /** The contracts of one domain (or all): quality, completeness and freshness SLOs from their `sla`. */
  readonly contracts: readonly DatasetContract[];
  /**
   * Gold models (of the same domain, or all): a freshness SLO each whose header declares one.
   * @default - none
   */
  readonly models?: readonly Pick<GoldModel, 'name' | 'product'>[];
  /**
   * The domains' page and ticket topics (`DomainTopics`): a product's alerts go to its domain's.
   * @default - none: an SLO of a domain throws (for a construct holding only the platform's own SLOs)
   */
  readonly topics?: SloTopics;
  /**
   * Where the alerts of the platform's own SLOs go (the gold layer, gold models of no domain), page and
   * ticket alike: the platform's alarm topic.
   * @default - such SLOs throw
   */
  readonly platformTopic?: sns.ITopic;
  /**
   * Share of periods that must be fresh, for every freshness SLO (contracts state a target, not an objective).
   * @default FRESHNESS_OBJECTIVE (0.99)
   */
  readonly freshnessObjective?: number;
  /**
   * An SLO on the gold layer as a whole (`GoldPublished`), routed to `platformTopic`.
   * @default - none
   */
  readonly platformGold?: PlatformGoldSlo;
}

/** SLOs and their alarms, as {@link DataProductSlos} builds them (or several of them together). */
export interface DataProductSloSet {
  /** Every SLO found in the contracts and models. */
  readonly slos: readonly Slo[];
  /** The per-window metric alarms (they notify nobody), by `<product>-<sli>-<severity>-<window>`. */
  readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  /** The alerts that notify, by `<product>-<sli>-<severity>`. */
  readonly compositeAlarms: Readonly<Record<string, cloudwatch.CompositeAlarm>>;
  /** Dashboard widgets: the alerts' status, then the budget left per product. */
  readonly widgets: readonly cloudwatch.IWidget[];
}

/**
 * The data products' SLOs as alerts and dashboard widgets: per product and SLI, multi-window burn-rate
 * alarms whose page and ticket composites go to the owning domain's topics (`slo-alarms.ts`), and the
 * budget left per product (`slo-widgets.ts`) for the domain's dashboard to show.
 */
export class DataProductSlos extends Construct implements DataProductSloSet {
  /** Every SLO found in the contracts and models. */
  public readonly slos: readonly Slo[];
  /** The per-window metric alarms (they notify nobody), by `<product>-<sli>-<severity>-<window>`. */
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  /** The alerts that notify, by `<product>-<sli>-<severity>`. */
  public readonly compositeAlarms: Readonly<Record<string, cloudwatch.CompositeAlarm>>;
  /** Dashboard widgets: the alerts' status, then the budget left per product. */
  public readonly widgets: readonly cloudwatch.IWidget[];

  constructor(scope: Construct, id: string, props: DataProductSlosProps) {
    super(scope, id);
    this.slos = dataProductSlos({
      contracts: props.contracts,
      models: props.models,
      freshnessObjective: props.freshnessObjective,
      platformGold: props.platformGold,
    });
    const alarms: Record<string, cloudwatch.Alarm> = {};
    const composites: Record<string, cloudwatch.CompositeAlarm> = {};
    for (const slo of this.slos) {
      const key = `${slo.product}-${slo.sli}`;
      const set = addSloAlarms(new Construct(this, key), {
        namePrefix: props.alarmNamePrefix,
        slo,
        topics: this.topicsOf(slo, props),
      });
      for (const [window, alarm] of Object.entries(set.windows)) alarms[`${key}-${window}`] = alarm;
      for (const [severity, alarm] of Object.entries(set.composites))
        composites[`${key}-${severity}`] = alarm;
    }
    this.alarms = alarms;
    this.compositeAlarms = composites;
    this.widgets = sloWidgets(this.slos, { alarms: Object.values(composites) });
  }

  /** The domain's topics, or the platform's for the platform's own SLOs. */
  private topicsOf(slo: Slo, props: DataProductSlosProps): SloAlarmTopics {
    if (slo.domain !== undefined) {
      const topics = props.topics;
      if (!topics)
        throw new Error(`${slo.title} belongs to domain '${slo.domain}': give DataProductSlos its topics`);
      return { page: topics.topicFor(slo.domain, 'page'), ticket: topics.topicFor(slo.domain, 'ticket') };
    }
    if (!props.platformTopic) {
      throw new Error(
        `${slo.title} belongs to no domain: give DataProductSlos a platformTopic for its alerts`,
      );
    }
    return { page: props.platformTopic, ticket: props.platformTopic };
  }
}
