/** The alarm of the reconciler: objects the event route lost. */
import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRIC_NAMES, METRICS_NAMESPACE } from '../../../core/telemetry/metrics';
import * as metrics from '../pipeline-metrics';
import { GT, type PipelineAlarms } from './pipeline-alarms';

/**
 * `Stranded`: a reconciler run found uploads or bronze objects that the event route lost, or no run
 * reported for a whole period (`period`: twice the reconciler's interval, so that one late run is not it).
 */
export function addStrandedAlarm(alarms: PipelineAlarms, period: Duration): cloudwatch.Alarm {
  return alarms.add('Stranded', {
    metric: metrics.stranded(period),
    threshold: 0,
    comparisonOperator: GT,
    // Every run reports, 0 when clean: silence means the reconciler itself fails (or is not deployed yet).
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    description:
      `The reconciler found objects the event route lost (metric ${METRICS_NAMESPACE}/${METRIC_NAMES.Stranded}): ` +
      "uploads still in the landing bucket after the landing function's retry window, or bronze objects with " +
      'no committed manifest after their receives. It re-drove each through its normal route, so the alarm ' +
      "returns to OK on the next run if they went through. What to do if it stays: read the reconciler's log " +
      '("reconciled" lines list the keys), then the landing and transform logs for those keys; a lost ' +
      'notification configuration (after a deploy) or a disabled queue consumer strands every new object. ' +
      'With no data it means the reconciler did not report: read its errors (permissions, timeout).',
  });
}
