/**
 * SQS batch -> bronze objects -> transform, with per-message failure reporting (partial batch response):
 * one bad message is retried alone, and the others in its batch are not processed twice.
 */
import type { S3Event, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
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
        const lagMs = obj.eventTime ? now().getTime() - Date.parse(obj.eventTime) : undefined;
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
