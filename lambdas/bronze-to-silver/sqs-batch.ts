/**
 * SQS batch -> bronze objects -> transform, with per-message failure reporting (partial batch response):
 * one bad message is retried alone, and the others in its batch are not processed twice.
 */
import type { S3Event, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { METRIC_DIMENSIONS, METRIC_NAMES, METRICS_NAMESPACE, metricsDocument } from '../shared/metrics';
import { decodeEventKey, isBookkeepingKey } from '../shared/object-keys';
import type { BronzeObject, Manifest } from './transform';

export interface ObjectProcessor {
  process(obj: BronzeObject): Promise<Manifest>;
}

/** The bronze objects an SQS message announces: S3 ObjectCreated records; test events carry none. */
export function objectsInMessage(record: SQSRecord): BronzeObject[] {
  let body: Partial<S3Event> & { Event?: string };
  try {
    body = JSON.parse(record.body) as Partial<S3Event> & { Event?: string };
  } catch {
    throw new Error(`message ${record.messageId} is not JSON`);
  }
  if (body.Event === 's3:TestEvent') return [];
  if (!Array.isArray(body.Records)) throw new Error(`message ${record.messageId} carries no S3 records`);
  return body.Records.filter((r) => r.eventName?.startsWith('ObjectCreated:'))
    .map((r) => ({
      bucket: r.s3.bucket.name,
      key: decodeEventKey(r.s3.object.key),
      versionId: r.s3.object.versionId,
      eTag: r.s3.object.eTag,
      eventTime: r.eventTime,
    }))
    .filter((o) => !isBookkeepingKey(o.key));
}

export async function processBatch(
  processor: ObjectProcessor,
  event: SQSEvent,
  now: () => Date = () => new Date(),
): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  // One message at a time: the engine already uses every core for one file.
  for (const record of event.Records) {
    try {
      for (const obj of objectsInMessage(record)) {
        const m = await processor.process(obj);
        const finished = now().getTime();
        const lagMs = obj.eventTime ? finished - Date.parse(obj.eventTime) : undefined;
        // The same line carries the object's metrics (EMF): one log line per object, as before.
        console.log(
          JSON.stringify({
            level: 'INFO',
            message: 'bronze object transformed',
            key: obj.key,
            dataset: m.dataset,
            status: m.status,
            rows: m.rows,
            quarantinedByReason: m.quarantinedByReason,
            durationMs: m.durationsMs.total,
            lagMs,
            ...transformMetrics(m, lagMs, finished),
          }),
        );
      }
    } catch (err) {
      console.error(
        JSON.stringify({
          level: 'ERROR',
          message: 'message failed; SQS will retry it, then dead-letter it',
          messageId: record.messageId,
          receiveCount: record.attributes?.ApproximateReceiveCount,
          error: err instanceof Error ? err.message : String(err),
        }),
      );
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}

/** The metrics of one transformed object, by dataset (see `lambdas/shared/metrics.ts`). */
function transformMetrics(
  m: Manifest,
  lagMs: number | undefined,
  timestamp: number,
): Record<string, unknown> {
  const N = METRIC_NAMES;
  return metricsDocument(
    METRICS_NAMESPACE,
    { [METRIC_DIMENSIONS.Dataset]: m.dataset },
    [
      { name: N.RowsIn, value: m.rows.in, unit: 'Count' },
      { name: N.RowsOut, value: m.rows.out, unit: 'Count' },
      { name: N.RowsQuarantined, value: m.rows.quarantined, unit: 'Count' },
      { name: N.DuplicatesRemoved, value: m.rows.duplicates, unit: 'Count' },
      { name: N.FilesQuarantined, value: m.status === 'quarantined' ? 1 : 0, unit: 'Count' },
      // Left out when the event carried no time (NaN is dropped by metricsDocument).
      {
        name: N.TransformLagSeconds,
        value: lagMs === undefined ? Number.NaN : lagMs / 1000,
        unit: 'Seconds',
      },
    ],
    timestamp,
  );
}
