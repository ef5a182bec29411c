/**
 * Error budgets and burn rates, as SRE practice defines them (Google's SRE workbook, "Alerting on SLOs"):
 * an objective of 99% over a window leaves 1% of its events as the error budget; the burn rate is how fast
 * a period consumes it (1 = exactly the whole budget by the window's end). Paging and ticketing follow the
 * workbook's multi-window, multi-burn-rate policy: the numbers the CloudWatch SLO alarms
 * (`lib/monitoring/slo-alarms.ts`) use and the local pipeline judges a run by.
 */

/** Where an SLO alert goes: `page` wakes someone up, `ticket` is handled in working hours. */
export type Severity = 'page' | 'ticket';
export const SEVERITIES: readonly Severity[] = ['page', 'ticket'];

/** One alert of the policy: the burn rate over a long window, confirmed by the same rate over a short one. */
export interface BurnRateAlert {
  readonly severity: Severity;
  /** The long window: how much budget must have burnt before anyone is told. */
  readonly longMinutes: number;
  /** The short window (1/12 of the long): the burn is still happening, so the alert resets soon after it stops. */
  readonly shortMinutes: number;
  /** The burn rate both windows must exceed. */
  readonly burnRate: number;
}

/**
 * The multi-window, multi-burn-rate policy of the SRE workbook (table 5-8), for a 30-day SLO window:
 * page at 14.4x over 1 h and 5 min (2% of the budget in an hour) or 6x over 6 h and 30 min (5% in six
 * hours); ticket at 1x over 3 days and 6 h (10% in three days).
 */
export const BURN_RATE_ALERTS: readonly BurnRateAlert[] = [
  { severity: 'page', longMinutes: 60, shortMinutes: 5, burnRate: 14.4 },
  { severity: 'page', longMinutes: 6 * 60, shortMinutes: 30, burnRate: 6 },
  { severity: 'ticket', longMinutes: 3 * 24 * 60, shortMinutes: 6 * 60, burnRate: 1 },
];

/** Binary floating point shows `1 - 0.99` as 0.010000000000000009: results are rounded to 12 digits. */
export const tidy = (x: number): number => Number(x.toPrecision(12));

function checkObjective(objective: number): void {
  if (!(objective > 0 && objective < 1))
    throw new Error(`an objective is a ratio in (0, 1), got ${objective}`);
}

/** The error budget of an objective: the share of events (rows, periods) allowed to be bad. */
export function errorBudget(objective: number): number {
  checkObjective(objective);
  return tidy(1 - objective);
}

/** How many times faster than sustainable an error ratio spends the budget of `objective`. */
export function burnRate(errorRatio: number, objective: number): number {
  if (!(errorRatio >= 0 && errorRatio <= 1))
    throw new Error(`an error ratio is in [0, 1], got ${errorRatio}`);
  return tidy(errorRatio / errorBudget(objective));
}

/** What a burn rate (over both windows of each pair) calls for: the most severe alert it reaches. */
export type BudgetAlert = Severity | 'none';

export function budgetAlert(rate: number): BudgetAlert {
  for (const a of BURN_RATE_ALERTS) if (rate >= a.burnRate) return a.severity;
  return 'none';
}
