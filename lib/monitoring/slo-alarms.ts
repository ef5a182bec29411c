/**
 * Multi-window, multi-burn-rate alerts on one SLO (Google SRE workbook, "Alerting on SLOs", 6th
 * iteration: https://sre.google/workbook/alerting-on-slos/). For each alert of `BURN_RATE_ALERTS`,
 * one metric alarm per window says whether the budget burns faster than the alert's rate over that window;
 * composite alarms AND each long window with its short one (the long one proves enough budget burnt, the
 * short one that it is still burning, so the alert clears soon after the burn stops) and only they notify:
 *
 *   <prefix>-slo-<product>-<sli>-page   = (1 h AND 5 min at 14.4x) OR (6 h AND 30 min at 6x) -> domain's page topic
 *   <prefix>-slo-<product>-<sli>-ticket = (3 days AND 6 h at 1x) [OR completeness: an hour's rows below
 *                                         their trailing baseline] -> domain's ticket topic
 *
 * How each window is evaluated (alarms slide: each evaluation covers the last period(s) up to now,
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation-window.html):
 * - ratio SLIs (quality: quarantined rows / rows read): one period as long as the window, summed, so the
 *   ratio is exactly that of the last 5 min, 30 min, 1 h, 6 h or 3 days. 3 days is a period of 259,200 s,
 *   allowed because periods of an hour or more may span up to 7 days (PutMetricAlarm `Period`:
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
 * - period SLIs (freshness: a 5-minute period is late, a publication bucket is empty): the window's
 *   periods, "M out of N" (`DatapointsToAlarm`), M the fewest bad periods whose share exceeds the
 *   threshold: an exact count of bad periods. CloudWatch cannot count one over a day of sub-hour periods,
 *   so the 3-day window counts bad hours instead of bad 5-minute periods (an hour is late when any
 *   transform in it was: a lone late file weighs up to 12 times its share). A publication bucket longer
 *   than a window covers the window with one bucket. `periodWindow` in `slo-metrics.ts` does both, and
 *   each alarm's description says when its window is approximate.
 * Metric math has no moving sum that would count 5-minute periods over hourly data points
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html).
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { Slo } from './slo-definitions';
import {
  type AlertTableRow,
  alertTable,
  badPeriodsToAlarm,
  burnThreshold,
  errorBudget,
  lateTransformPeriods,
  missingRowsRatio,
  percent,
  periodWindow,
  qualityErrorRatio,
  rowsReadPerHour,
  SEVERITIES,
  type Severity,
  unpublishedPeriods,
  windowLabel,
  windowText,
} from './slo-metrics';

/** The page and ticket topics of the SLO's owner. */
export type SloAlarmTopics = Readonly<Record<Severity, sns.ITopic>>;

/** The alarms of one SLO. */
export interface SloAlarmSet {
  /**
   * The per-window metric alarms (they notify nobody), by `<severity>-<window>` (e.g. `page-1h`); a
   * completeness SLO's baseline alarm is `ticket-baseline`.
   */
  readonly windows: Readonly<Record<string, cloudwatch.Alarm | cloudwatch.AnomalyDetectionAlarm>>;
  /** The composite alarms that notify, by severity. */
  readonly composites: Readonly<Record<Severity, cloudwatch.CompositeAlarm>>;
}

/** Properties of {@link addSloAlarms}. */
export interface SloAlarmsProps {
  /** Prefix of the alarm names (the platform stack's name, like every alarm of the lake). */
  readonly namePrefix: string;
  readonly slo: Slo;
  readonly topics: SloAlarmTopics;
}

/** CloudWatch's limit on an alarm description. */
const MAX_DESCRIPTION = 1024;

/** The SLO's name part: `<prefix>-slo-<product>-<sli>`. */
export const sloAlarmName = (namePrefix: string, slo: Pick<Slo, 'product' | 'sli'>): string =>
  `${namePrefix}-slo-${slo.product}-${slo.sli}`;

/**
 * Creates the window alarms (`<severity>-<window>`) and the composites (`page`, `ticket`) of `props.slo`
 * in `scope`; the composites send ALARM and OK to the topic of their severity.
 */
export function addSloAlarms(scope: Construct, props: SloAlarmsProps): SloAlarmSet {
  const { slo, namePrefix } = props;
  const name = sloAlarmName(namePrefix, slo);
  const table = alertTable(slo.objective, slo.windowMinutes);
  const windows: Record<string, cloudwatch.Alarm | cloudwatch.AnomalyDetectionAlarm> = {};
  const rules: Record<Severity, cloudwatch.IAlarmRule[]> = { page: [], ticket: [] };
  for (const alert of table) {
    const pair = [alert.longMinutes, alert.shortMinutes].map((minutes) => {
      const id = `${alert.severity}-${windowLabel(minutes)}`;
      const def = windowAlarm(slo, alert, minutes);
      const alarm = new cloudwatch.Alarm(scope, id, {
        alarmName: `${name}-${id}`,
        alarmDescription: checked(
          `${name}-${id}`,
          `${def.description} Part of ${name}-${alert.severity}, which notifies; this alarm alone notifies nobody.`,
        ),
        metric: def.metric,
        threshold: def.threshold,
        comparisonOperator: def.comparisonOperator,
        evaluationPeriods: def.evaluationPeriods,
        datapointsToAlarm: def.datapointsToAlarm,
        treatMissingData: def.treatMissingData,
      });
      windows[id] = alarm;
      return alarm;
    });
    rules[alert.severity].push(
      cloudwatch.AlarmRule.allOf(
        ...pair.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM)),
      ),
    );
  }
  if (slo.indicator.kind === 'missingRows') {
    const id = 'ticket-baseline';
    const def = baselineAlarm(slo.title, slo.indicator.dataset);
    const alarm = new cloudwatch.AnomalyDetectionAlarm(scope, id, {
      alarmName: `${name}-${id}`,
      alarmDescription: checked(
        `${name}-${id}`,
        `${def.description} Part of ${name}-ticket, which notifies; this alarm alone notifies nobody.`,
      ),
      ...def.props,
    });
    windows[id] = alarm;
    rules.ticket.push(cloudwatch.AlarmRule.fromAlarm(alarm, cloudwatch.AlarmState.ALARM));
  }
  const composites = {} as Record<Severity, cloudwatch.CompositeAlarm>;
  for (const severity of SEVERITIES) {
    const composite = new cloudwatch.CompositeAlarm(scope, severity, {
      compositeAlarmName: `${name}-${severity}`,
      alarmDescription: checked(`${name}-${severity}`, compositeDescription(slo, severity, table)),
      alarmRule: cloudwatch.AlarmRule.anyOf(...rules[severity]),
    });
    const action = new cloudwatchActions.SnsAction(props.topics[severity]);
    composite.addAlarmAction(action);
    composite.addOkAction(action);
    composites[severity] = composite;
  }
  return { windows, composites };
}

/** What one window alarm watches and when it breaches. */
interface WindowAlarm {
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly comparisonOperator: cloudwatch.ComparisonOperator;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: cloudwatch.TreatMissingData;
  readonly description: string;
}

function windowAlarm(slo: Slo, alert: AlertTableRow, windowMinutes: number): WindowAlarm {
  const t = burnThreshold(alert.burnRate, slo.objective);
  const rate = `burn rate ${alert.burnRate}x on a ${percent(slo.objective)} objective over ${windowText(slo.windowMinutes)}`;
  const ind = slo.indicator;
  if (ind.kind === 'quarantinedRows' || ind.kind === 'missingRows') {
    const quality = ind.kind === 'quarantinedRows';
    const period = Duration.minutes(windowMinutes);
    return {
      metric: quality ? qualityErrorRatio(ind.dataset, period) : missingRowsRatio(ind.dataset, period),
      threshold: t.errorRatio,
      comparisonOperator: t.reachable
        ? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        : cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      // No rows read (no rows stated): nothing burns.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description:
        `${slo.title} ${slo.sli}, ${alert.severity} window ${windowText(windowMinutes)}: ` +
        `${t.reachable ? 'more than' : 'all of'} ${percent(t.errorRatio)} of the rows ` +
        `${quality ? 'read' : 'its files stated'} in the last ${windowText(windowMinutes)} ` +
        `${quality ? 'quarantined' : 'missing from them'} (${rate}).`,
    };
  }
  const sliPeriod = ind.kind === 'lateTransforms' ? ind.periodMinutes : ind.freshnessMinutes;
  const w = periodWindow(windowMinutes, sliPeriod);
  const period = Duration.minutes(w.periodMinutes);
  const m = badPeriodsToAlarm(t.errorRatio, w.evaluationPeriods);
  const what =
    ind.kind === 'lateTransforms'
      ? `with a transform of ${slo.title} later than ${windowText(ind.freshnessMinutes)}`
      : `without a publication of ${slo.title}`;
  const periods = `period${w.evaluationPeriods === 1 ? '' : 's'} of ${windowText(w.periodMinutes)}`;
  const counted =
    w.evaluationPeriods === 1
      ? `the last ${periods}`
      : `${m} or more of the last ${w.evaluationPeriods} ${periods}`;
  const approx = w.exact
    ? ''
    : ` Approximated: CloudWatch counts ${windowText(w.periodMinutes)} periods over ${windowText(w.coveredMinutes)} for this ${windowText(windowMinutes)} window.`;
  return {
    metric:
      ind.kind === 'lateTransforms'
        ? lateTransformPeriods(ind.dataset, ind.freshnessMinutes, period)
        : unpublishedPeriods(ind.model, period),
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: w.evaluationPeriods,
    datapointsToAlarm: m,
    // No transform ended: nothing was late. No publication at all: every bucket was stale.
    treatMissingData:
      ind.kind === 'lateTransforms'
        ? cloudwatch.TreatMissingData.NOT_BREACHING
        : cloudwatch.TreatMissingData.BREACHING,
    description:
      `${slo.title} freshness, ${alert.severity} window ${windowText(windowMinutes)}: ${counted} ${what} ` +
      `(${t.reachable ? `share over ${percent(t.errorRatio)}` : 'all of them'}: ${rate}).${approx}`,
  };
}

/** Standard deviations of the baseline's band: wide, so a ticket means a real drop, not a quiet hour. */
export const BASELINE_BAND_STD_DEVS = 3;

/**
 * The completeness ticket's second cause: rows read in an hour below the band CloudWatch's anomaly
 * detection learnt from the dataset's trailing two weeks (its daily and weekly pattern included). A file
 * that never came states no count, so only a baseline sees it. The model needs history: CloudWatch says
 * "insufficient data" until it has some, and nothing fires.
 */
function baselineAlarm(
  title: string,
  dataset: string,
): { description: string; props: cloudwatch.AnomalyDetectionAlarmProps } {
  return {
    description:
      `${title} completeness, ticket: fewer rows read in the last hour than the trailing baseline expects ` +
      `(below its anomaly detection band of ${BASELINE_BAND_STD_DEVS} standard deviations): files may not have come.`,
    props: {
      metric: rowsReadPerHour(dataset),
      stdDevs: BASELINE_BAND_STD_DEVS,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_LOWER_THRESHOLD,
      evaluationPeriods: 1,
      // The series is FILLed: an hour without files is 0 rows, compared like any other.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    },
  };
}

/** What the SLO promises, what this alert means, and what to do. */
function compositeDescription(slo: Slo, severity: Severity, table: readonly AlertTableRow[]): string {
  const window = windowText(slo.windowMinutes);
  const ind = slo.indicator;
  const promise =
    ind.kind === 'quarantinedRows'
      ? `${percent(slo.objective)} of the rows read pass the contract over ${window}; error budget ${percent(errorBudget(slo.objective))} of the rows`
      : ind.kind === 'missingRows'
        ? `${percent(slo.objective)} of the rows its files state arrive over ${window}; error budget ${percent(errorBudget(slo.objective))} of them`
        : ind.kind === 'lateTransforms'
          ? `rows reach silver within ${windowText(ind.freshnessMinutes)} of landing in ${percent(slo.objective)} of the 5-min periods over ${window}; error budget ${percent(errorBudget(slo.objective))} of the periods`
          : `published at least every ${windowText(ind.freshnessMinutes)} in ${percent(slo.objective)} of the time over ${window}; error budget ${percent(errorBudget(slo.objective))} of it`;
  const alerts = table
    .filter((a) => a.severity === severity)
    .map(
      (a) =>
        `${a.burnRate}x over ${windowText(a.longMinutes)} and still over ${windowText(a.shortMinutes)} ` +
        `(${percent(a.budgetSpent)} of the budget gone in ${windowText(a.longMinutes)}, all of it in ` +
        `${Math.round(a.hoursToExhaustion)} h at that pace${a.reachable ? '' : '; unreachable at this objective: fires only when everything fails'})`,
    )
    .join(', or ');
  const baseline =
    ind.kind === 'missingRows' && severity === 'ticket'
      ? ', or fewer rows read in an hour than the trailing baseline expects (whole files missing)'
      : '';
  const urgency =
    severity === 'page' ? 'PAGE: act now.' : 'TICKET: the SLO will be missed unless fixed; not urgent.';
  const owner = slo.contact ? ` Owner: ${slo.contact}.` : '';
  return (
    `${slo.title} ${slo.sli} SLO: ${promise}. ${urgency} The budget burns at ${alerts}${baseline}. ` +
    `What to do: ${whatToDo(slo)}${owner} Budget left: the SLO widgets of the domain dashboard.`
  );
}

function whatToDo(slo: Slo): string {
  const ind = slo.indicator;
  switch (ind.kind) {
    case 'quarantinedRows':
      return (
        "read quarantinedByReason in the transform's log lines of the dataset and the rows in the " +
        'quarantine bucket; have the producer fix and re-send the rejected rows, or fix the contract if a rule is wrong.'
      );
    case 'missingRows':
      return (
        "compare the transform's log lines (rows, expectedRows) with what the producer sent; a file cut " +
        'short or rows lost upstream: have the producer send them again.'
      );
    case 'lateTransforms':
      return (
        "look at the transform queue's backlog and oldest message, the transform function's errors, " +
        'throttles and duration, and its dead letters (dashboard row Silver); a stalled transform shows here ' +
        'only once it ends.'
      );
    case 'unpublished':
      return (
        "open the gold workflow's recent executions: failed, not started, or the model's tests kept the " +
        'previous version; fix it and start the workflow again.'
      );
  }
}

function checked(alarmName: string, description: string): string {
  if (description.length > MAX_DESCRIPTION) {
    throw new Error(
      `the description of ${alarmName} is ${description.length} characters (max ${MAX_DESCRIPTION})`,
    );
  }
  return description;
}
