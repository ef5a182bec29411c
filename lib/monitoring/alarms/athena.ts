/** The cost alarm of an Athena workgroup: bytes scanned per day (what Athena bills). */
import { type Size, SizeRoundingBehavior } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as metrics from '../pipeline-metrics';
import { GT, MISSING_IS_FINE, type PipelineAlarms } from './pipeline-alarms';

/** `AthenaBytesScanned`: the workgroup's queries scanned more than `perDay` in a day. */
export function addAthenaBytesScannedAlarm(
  alarms: PipelineAlarms,
  workGroup: string,
  perDay: Size,
): cloudwatch.Alarm {
  const bytes = perDay.toBytes();
  const gib = Math.round(perDay.toGibibytes({ rounding: SizeRoundingBehavior.NONE }) * 10) / 10;
  const usd = (bytes / 1e12) * 5;
  return alarms.add('AthenaBytesScanned', {
    metric: metrics.athenaProcessedBytes(workGroup),
    threshold: bytes,
    comparisonOperator: GT,
    treatMissingData: MISSING_IS_FINE,
    description:
      `Athena queries of workgroup ${workGroup} scanned more than ${gib} GiB in a day ` +
      `(about ${usd.toFixed(2)} USD at 5 USD per TB). What to do: find the expensive queries (Athena ` +
      'console, Recent queries, sort by data scanned), make sure they filter on the partition column ' +
      '(dt) and select only the columns they need; consider a per-query scan limit on the workgroup.',
  });
}
