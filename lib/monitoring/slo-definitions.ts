/**
 * The SLOs the data products declare, read from their contracts (datasets) and model headers (gold), in
 * the one shape the alarms and the widgets take: which product, which SLI and how it is measured, the
 * objective, the SLO window, and whom it concerns (the owning domain and its contact).
 *
 * - quality (datasets, `sla.quality`): good rows / rows read; bad = quarantined (RowsQuarantined / RowsIn).
 * - freshness (datasets, `sla.freshness`): share of 5-minute periods in which a transform ended later than
 *   the freshness target after its bronze object landed (TransformLagSeconds' maximum); objective
 *   {@link FRESHNESS_OBJECTIVE} of the periods.
 * - freshness (gold models, `-- sla: freshness`): share of freshness-long periods in which the model was
 *   not published (`Medallion/ModelPublished`, dimension `Model`); the platform's gold layer likewise on
 *   `GoldPublished`.
 * - completeness (datasets, `sla.completeness`): rows read / rows the producers stated their files hold
 *   (a trailer, X-Expected-Rows, upload metadata `expected-rows`); bad = RowsMissing / RowsExpected.
 *   Its ticket also fires when a day's rows fall below their trailing baseline (CloudWatch anomaly
 *   detection on rows read per hour): whole files that never came state no count.
 */
import type { DataProductOwner } from '../../core/contracts/data-product';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import type { GoldModel } from '../../core/gold/models';
import { SLI_PERIOD_MINUTES } from './slo-metrics';

/**
 * The freshness SLIs' objective: the share of periods that must be fresh. Contracts state a freshness
 * target (how late is late) but no objective for it; 99% of 5-minute periods leaves ~7 h 12 min of late
 * periods per 30 days. Overridden by `DataProductSlos`' `freshnessObjective`.
 */
export const FRESHNESS_OBJECTIVE = 0.99;

/** The SLO window when a product states none (the contracts' default too): 30 days. */
export const DEFAULT_SLO_WINDOW_MINUTES = 30 * 24 * 60;

export type SliName = 'quality' | 'freshness' | 'completeness';

/** How an SLI is measured. */
export type SloIndicator =
  /** Ratio of events: rows quarantined / rows read, per window. */
  | { readonly kind: 'quarantinedRows'; readonly dataset: string }
  /** Ratio of events: rows missing / rows stated (by the files' producers), per window. */
  | { readonly kind: 'missingRows'; readonly dataset: string }
  /** Per period of {@link SLI_PERIOD_MINUTES}: a transform ended later than the target. */
  | {
      readonly kind: 'lateTransforms';
      readonly dataset: string;
      readonly freshnessMinutes: number;
      readonly periodMinutes: number;
    }
  /** Per period of the target: nothing published (one model, or the whole gold layer when `model` is unset). */
  | { readonly kind: 'unpublished'; readonly model?: string; readonly freshnessMinutes: number };

/** One SLO of one data product. */
export interface Slo {
  /** The product's name in alarm names and metrics: the dataset, the gold model, or `platform-gold`. */
  readonly product: string;
  /** How people name it: `<domain>/<dataset>`, `gold/<model>`, `gold`. */
  readonly title: string;
  /** The domain whose topics its alerts go to; unset for the platform's own (gold layer, models of no domain). */
  readonly domain?: string;
  /** How to reach the owner, as the product declares it. */
  readonly contact?: string;
  readonly sli: SliName;
  /** Share of good events (rows, periods) the product promises over the window. */
  readonly objective: number;
  /** The SLO window (and the error budget's), in minutes. */
  readonly windowMinutes: number;
  readonly indicator: SloIndicator;
}

/** The platform's gold layer as a product: published at least every `freshnessMinutes`. */
export interface PlatformGoldSlo {
  readonly freshnessMinutes: number;
  /** @default DEFAULT_SLO_WINDOW_MINUTES */
  readonly windowMinutes?: number;
}

/** The product name of the platform's gold layer (a '-' no dataset or model name can contain). */
export const PLATFORM_GOLD_PRODUCT = 'platform-gold';

export interface DataProductSloInput {
  readonly contracts: readonly DatasetContract[];
  readonly models?: readonly Pick<GoldModel, 'name' | 'product'>[];
  /** @default FRESHNESS_OBJECTIVE */
  readonly freshnessObjective?: number;
  /** @default - no SLO on the gold layer as a whole */
  readonly platformGold?: PlatformGoldSlo;
}

/**
 * Every SLO the contracts and models declare: quality, completeness and freshness per dataset, freshness
 * per model.
 */
export function dataProductSlos(input: DataProductSloInput): Slo[] {
  const freshnessObjective = input.freshnessObjective ?? FRESHNESS_OBJECTIVE;
  const slos: Slo[] = [];
  for (const c of input.contracts) {
    const sla = c.sla;
    if (!sla) continue;
    const base = { product: c.dataset, title: c.id, domain: c.domain, contact: contactOf(c.owner) };
    if (sla.quality !== undefined) {
      slos.push({
        ...base,
        sli: 'quality',
        objective: sla.quality,
        windowMinutes: sla.window,
        indicator: { kind: 'quarantinedRows', dataset: c.dataset },
      });
    }
    if (sla.completeness !== undefined) {
      slos.push({
        ...base,
        sli: 'completeness',
        objective: sla.completeness,
        windowMinutes: sla.window,
        indicator: { kind: 'missingRows', dataset: c.dataset },
      });
    }
    if (sla.freshness !== undefined) {
      slos.push({
        ...base,
        sli: 'freshness',
        objective: freshnessObjective,
        windowMinutes: sla.window,
        indicator: {
          kind: 'lateTransforms',
          dataset: c.dataset,
          freshnessMinutes: sla.freshness,
          periodMinutes: SLI_PERIOD_MINUTES,
        },
      });
    }
  }
  for (const m of input.models ?? []) {
    const freshness = m.product?.sla?.freshness;
    if (freshness === undefined) continue;
    slos.push({
      product: m.name,
      title: `gold/${m.name}`,
      domain: m.product?.domain,
      contact: contactOf(m.product?.owner),
      sli: 'freshness',
      objective: freshnessObjective,
      windowMinutes: m.product?.sla?.window ?? DEFAULT_SLO_WINDOW_MINUTES,
      indicator: { kind: 'unpublished', model: m.name, freshnessMinutes: freshness },
    });
  }
  if (input.platformGold) {
    slos.push({
      product: PLATFORM_GOLD_PRODUCT,
      title: 'gold',
      sli: 'freshness',
      objective: freshnessObjective,
      windowMinutes: input.platformGold.windowMinutes ?? DEFAULT_SLO_WINDOW_MINUTES,
      indicator: { kind: 'unpublished', freshnessMinutes: input.platformGold.freshnessMinutes },
    });
  }
  const names = new Set<string>();
  for (const s of slos) {
    const key = `${s.product}-${s.sli}`;
    if (names.has(key)) throw new Error(`two products are named '${s.product}': SLO alarm names would clash`);
    names.add(key);
  }
  return slos;
}

function contactOf(owner: DataProductOwner | undefined): string | undefined {
  return owner?.contact;
}
