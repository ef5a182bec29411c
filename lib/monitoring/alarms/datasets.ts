/** The alarms of a dataset, against its data contract: rows quarantined, and whole files rejected. */
import type { DatasetContract } from '../../../core/contracts/dataset-contract';
import { datasetPrefixes } from '../../../core/lake/layout';
import * as metrics from '../pipeline-metrics';
import { GT, MISSING_IS_FINE, type PipelineAlarms, pct } from './pipeline-alarms';

/** The id of a dataset's quarantine-ratio alarm (`QuarantineRatio-<dataset>`). */
export const quarantineRatioAlarmId = (dataset: string): string => `QuarantineRatio-${dataset}`;

/** The ids of a dataset's alarms. */
export const datasetAlarmIds = (c: Pick<DatasetContract, 'dataset'>): string[] => [
  quarantineRatioAlarmId(c.dataset),
  filesRejectedAlarmId(c.dataset),
];

/** The id of a dataset's rejected-files alarm (`FilesRejected-<dataset>`). */
export const filesRejectedAlarmId = (dataset: string): string => `FilesRejected-${dataset}`;

/**
 * `QuarantineRatio-<dataset>`, at the contract's `quality.maxQuarantineRatio`, and `FilesRejected-<dataset>`.
 */
export function addDatasetAlarms(alarms: PipelineAlarms, c: DatasetContract): void {
  const owner = c.owner ? ` (owner: ${c.owner.contact})` : '';
  const ratio = c.quality.maxQuarantineRatio;
  alarms.add(quarantineRatioAlarmId(c.dataset), {
    metric: metrics.quarantineRatio(c.dataset),
    threshold: ratio,
    comparisonOperator: GT,
    treatMissingData: MISSING_IS_FINE,
    description:
      `More than ${pct(ratio)} of the rows of ${c.id} read in the last 5 minutes were quarantined ` +
      "(the contract's quality.maxQuarantineRatio). The valid rows reached silver; the rejected ones are " +
      `in the quarantine bucket under ${datasetPrefixes.quarantineRows(c)}, with the rule each broke. ` +
      "What to do: read quarantinedByReason in the transform's log line for the file, tell the " +
      `producer${owner} and have only the corrected rows re-sent (the valid ones are already in ` +
      'silver), or correct the contract if the rule is wrong.',
  });
  alarms.add(filesRejectedAlarmId(c.dataset), {
    metric: metrics.filesQuarantined(c.dataset),
    threshold: 0,
    comparisonOperator: GT,
    treatMissingData: MISSING_IS_FINE,
    description:
      `A whole file of ${c.id} was rejected in the last 5 minutes (unreadable, empty, over the size ` +
      'limit, or with columns the contract rejects): none of its rows reached silver. It is in the ' +
      `quarantine bucket under ${datasetPrefixes.quarantineFiles(c)} with a .reason.json next to it. ` +
      `What to do: read the reason, have the producer${owner} send a corrected file, or fix the ` +
      'contract: the bronze original is kept, and a re-run of the transform on it (its S3 event sent ' +
      'to the transform queue again) replaces what an earlier run wrote.',
  });
}
