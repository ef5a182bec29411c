/** The alarms of the gold layer: its freshness SLO, and failed runs of the gold workflow. */
import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { METRIC_NAMES, METRICS_NAMESPACE } from '../../../core/telemetry/metrics';
import * as metrics from '../pipeline-metrics';
import { GT, MISSING_IS_FINE, type PipelineAlarms } from './pipeline-alarms';

/** `Freshness`: no gold publication within the SLO, missing data breaching. */
export function addFreshnessAlarm(alarms: PipelineAlarms, slo: Duration): cloudwatch.Alarm {
  const { period, evaluationPeriods } = metrics.freshnessWindow(slo);
  return alarms.add('Freshness', {
    metric: metrics.goldPublished(period),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods,
    datapointsToAlarm: evaluationPeriods,
    // No publication at all is the failure this alarm exists for.
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    description:
      `No gold publication (metric ${METRICS_NAMESPACE}/${METRIC_NAMES.GoldPublished}) in the last ` +
      `${slo.toMinutes()} minutes, the freshness SLO: consumers may be reading stale gold tables. Missing ` +
      'data counts as breaching, so it also fires when nothing publishes at all (e.g. before the gold ' +
      "workflow is deployed, or when it is not scheduled). What to do: check the gold workflow's recent " +
      'executions (failed? never started?), then upstream: transform errors and dead letters, and ' +
      'whether files landed at all (dashboard rows Ingest and Silver).',
  });
}

/** `GoldWorkflowFailures`: failed or timed-out executions of the gold workflow. */
export function addGoldWorkflowAlarm(
  alarms: PipelineAlarms,
  stateMachine: sfn.IStateMachine,
): cloudwatch.Alarm {
  return alarms.add('GoldWorkflowFailures', {
    metric: metrics.stateMachineFailures(stateMachine),
    threshold: 0,
    comparisonOperator: GT,
    treatMissingData: MISSING_IS_FINE,
    description:
      'Executions of the gold workflow failed or timed out in the last 5 minutes: the gold tables were ' +
      'not (fully) refreshed, and the freshness alarm will follow if the next run fails too. What to ' +
      'do: open the failed execution in the Step Functions console, find the failed state and its error ' +
      '(Athena query, Glue, permissions), fix it, then start the workflow again.',
  });
}
