/**
 * Error budgets and burn rates, as SRE practice defines them (Google's SRE workbook, "Alerting on SLOs"):
 * an objective of 99% over a window leaves 1% of its events as the error budget; the burn rate is how fast
 * a period consumes it (1 = exactly the whole budget by the window's end). Paging and ticketing follow the
 * workbook's multi-window, multi-burn-rate thresholds: the same numbers the CloudWatch alarms use and the
 * local pipeline judges a run by.
 */

/** The share of events an objective lets fail: 1 - objective. */
export function errorBudget(objective: number): number {
  if (!(objective > 0 && objective < 1)) throw new Error(`an objective must lie in (0, 1), got ${objective}`);
  return 1 - objective;
}

/** How fast an error ratio consumes the budget of `objective` (0 when no event failed). */
export function burnRate(errorRatio: number, objective: number): number {
  return errorRatio / errorBudget(objective);
}

/** What a burn rate calls for over the windows it was measured on. */
export type BudgetAlert = 'page' | 'ticket' | 'none';

/**
 * The workbook's thresholds for a 30-day window: a burn of 14.4 consumes 2% of the budget in an hour (page),
 * 6 consumes 5% in 6 hours (page), 1 consumes 10% in 3 days (ticket). Each alert fires only while its
 * short window (1/12 of the long one) burns as fast, so it stops soon after the problem does.
 */
export const BURN_RATE_ALERTS = [
  { severity: 'page', burnRate: 14.4, longWindowMinutes: 60, shortWindowMinutes: 5 },
  { severity: 'page', burnRate: 6, longWindowMinutes: 360, shortWindowMinutes: 30 },
  { severity: 'ticket', burnRate: 1, longWindowMinutes: 4320, shortWindowMinutes: 360 },
] as const;

/** The alert a burn rate (over both windows of each pair) calls for: the most severe one reached. */
export function budgetAlert(rate: number): BudgetAlert {
  for (const a of BURN_RATE_ALERTS) if (rate >= a.burnRate) return a.severity;
  return 'none';
}
