/**
 * The data products' SLIs for a local run, and what AWS's SLO alarms would do with them (the burn-rate
 * thresholds of `core/slo/error-budget.ts`, the ones the CloudWatch alarms use).
 *
 * From what the run recorded, as CloudWatch would have it:
 *   - quality, per dataset with `sla.quality`: RowsQuarantined / RowsIn over the run (the transform's EMF
 *     metrics); its burn rate against the objective's budget;
 *   - freshness, per dataset with `sla.freshness`: the largest TransformLagSeconds of the run (a bronze
 *     object's arrival to the end of its transform) against the objective; per gold model with `-- sla:
 *     freshness`: published by this run, or how long ago its published version was written;
 *   - completeness, per dataset with `sla.completeness`: RowsMissing / RowsExpected over the run (the
 *     files whose producer stated a row count: a trailer, X-Expected-Rows, upload metadata
 *     `expected-rows`); the trailing-baseline half of its ticket is AWS's alone (anomaly detection
 *     learns from two weeks of history; a local run has none);
 *
 * The run stands for the alarms' windows: a burn rate of 14.4 or more would page (the 1-hour window), 1 or
 * more would open a ticket, and either means the budget is being spent faster than the window allows: the
 * pipeline exits 1, as AWS would alert. A stale product burns its freshness budget at once: it would page.
 */
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import type { GoldModel } from '../../core/gold/models';
import { type BudgetAlert, budgetAlert, burnRate } from '../../core/slo/error-budget';
import { METRIC_DIMENSIONS, METRIC_NAMES, METRICS_NAMESPACE } from '../../core/telemetry/metrics';
import type { GoldSummary } from '../report/pipeline-report';
import type { MetricSource } from './local-metrics';

/** One SLI of one product, with the objective it is judged by and what it calls for. */
export interface ProductSli {
  /** `<domain>/<dataset>` or `gold/<model>`. */
  readonly product: string;
  readonly sli: 'quality' | 'freshness' | 'completeness';
  /**
   * The measured value: a good-event ratio (quality, completeness), minutes (freshness); undefined: no
   * data this run.
   */
  readonly value?: number;
  /** The objective: a ratio (quality, completeness), minutes (freshness). */
  readonly objective: number;
  /** Quality, completeness: how fast the run burns the budget (1 = the whole budget over the window). */
  readonly burnRate?: number;
  readonly alert: BudgetAlert;
  /** One line for the summary. */
  readonly line: string;
}

export interface ProductSliInputs {
  readonly contracts: readonly DatasetContract[];
  readonly models?: readonly GoldModel[];
  readonly metrics: MetricSource;
  readonly gold?: Pick<GoldSummary, 'tables'>;
  /** @default Date.now() */
  readonly now?: number;
}

/** Every SLI the products' SLAs ask for, judged on the run. */
export function productSlis(inputs: ProductSliInputs): ProductSli[] {
  const out: ProductSli[] = [];
  const sum = (name: string, dataset: string, pick: (v: number[]) => number) =>
    pick(
      inputs.metrics
        .query({ namespace: METRICS_NAMESPACE, name, dimensions: { [METRIC_DIMENSIONS.Dataset]: dataset } })
        .map((d) => d.value),
    );
  const total = (v: number[]) => v.reduce((a, b) => a + b, 0);
  const max = (v: number[]) => (v.length === 0 ? Number.NaN : Math.max(...v));
  for (const c of inputs.contracts) {
    const product = c.id;
    if (c.sla?.quality !== undefined) {
      const rowsIn = sum(METRIC_NAMES.RowsIn, c.dataset, total);
      const bad = sum(METRIC_NAMES.RowsQuarantined, c.dataset, total);
      out.push(rowRatio(product, 'quality', c.sla.quality, rowsIn, bad, 'of {n} row(s)', 'no rows this run'));
    }
    if (c.sla?.completeness !== undefined) {
      const stated = sum(METRIC_NAMES.RowsExpected, c.dataset, total);
      const missing = sum(METRIC_NAMES.RowsMissing, c.dataset, total);
      out.push(
        rowRatio(
          product,
          'completeness',
          c.sla.completeness,
          stated,
          missing,
          'of the {n} row(s) its files stated',
          'no file stated a row count this run (its trailing baseline is AWS anomaly detection, trained on two weeks of history)',
        ),
      );
    }
    if (c.sla?.freshness !== undefined) {
      const objective = c.sla.freshness;
      const lagMinutes = sum(METRIC_NAMES.TransformLagSeconds, c.dataset, max) / 60;
      out.push(
        freshness(product, Number.isNaN(lagMinutes) ? undefined : lagMinutes, objective, 'arrival to silver'),
      );
    }
  }
  const now = inputs.now ?? Date.now();
  for (const m of inputs.models ?? []) {
    const objective = m.product?.sla?.freshness;
    if (objective === undefined) continue;
    const table = inputs.gold?.tables[m.name];
    const age = table?.publishedNow ? 0 : publishedMinutesAgo(table?.location, now);
    out.push(freshness(`gold/${m.name}`, age, objective, 'since published', table?.location === undefined));
  }
  return out;
}

/** A row-ratio SLI (quality, completeness): `bad` of `all` rows against the objective's budget. */
function rowRatio(
  product: string,
  sli: 'quality' | 'completeness',
  objective: number,
  all: number,
  bad: number,
  ofWhat: string,
  none: string,
): ProductSli {
  if (all === 0) return { product, sli, objective, alert: 'none', line: `${product} ${sli}: ${none}` };
  const good = 1 - Math.min(bad, all) / all;
  const rate = burnRate(1 - good, objective);
  const alert = budgetAlert(rate);
  return {
    product,
    sli,
    value: good,
    objective,
    burnRate: rate,
    alert,
    line:
      `${product} ${sli} ${percent(good)} ${ofWhat.replace('{n}', String(all))} (objective ${percent(objective)}): ` +
      `burn rate ${rate.toFixed(2)}${verdict(alert)}`,
  };
}

/** The lines AWS's alerts would bring: `would page: ...` / `would open a ticket: ...`. */
export function sloAlertLines(slis: readonly ProductSli[]): string[] {
  return slis
    .filter((s) => s.alert !== 'none')
    .map((s) => `${s.alert === 'page' ? 'would page' : 'would open a ticket'}: SLO ${s.line}`);
}

function freshness(
  product: string,
  minutes: number | undefined,
  objective: number,
  what: string,
  never = false,
): ProductSli {
  const stale = never || (minutes !== undefined && minutes > objective);
  const alert: BudgetAlert = stale ? 'page' : 'none';
  const value = never ? 'never published' : minutes === undefined ? 'no data this run' : duration(minutes);
  return {
    product,
    sli: 'freshness',
    ...(minutes === undefined ? {} : { value: minutes }),
    objective,
    alert,
    line: `${product} freshness ${value} ${what} (objective ${duration(objective)})${stale ? ': stale, its budget burns at once' : verdict('none')}`,
  };
}

/** Minutes since a local version (`.../v=local-20261107T120000123Z/`) was written; undefined otherwise. */
function publishedMinutesAgo(location: string | undefined, now: number): number | undefined {
  const m = /v=local-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z\//.exec(location ?? '');
  if (!m) return undefined;
  const at = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7]);
  return (now - at) / 60_000;
}

const verdict = (alert: BudgetAlert) =>
  alert === 'page'
    ? ' (pages: the budget would be gone within hours)'
    : alert === 'ticket'
      ? ' (a ticket: the budget is spent faster than the window allows)'
      : ', ok';

const percent = (r: number) => `${(r * 100).toFixed(r > 0.999 && r < 1 ? 2 : 1)}%`;

function duration(minutes: number): string {
  if (minutes < 1) return `${Math.round(minutes * 60)} s`;
  if (minutes < 120) return `${Math.round(minutes)} min`;
  if (minutes < 2880) return `${Math.round(minutes / 60)} h`;
  return `${Math.round(minutes / 1440)} days`;
}
