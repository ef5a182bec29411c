/**
 * AWS event shapes as the services send them, for handler tests: one definition instead of one per file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Event, S3EventRecord, SQSRecord } from 'aws-lambda';
import { encodeEventKey } from '../../core/lake/layout';

export interface S3RecordOptions {
  readonly eventName?: string;
  readonly eventTime?: string;
  /** The key exactly as it appears in the event; by default the key URL-encoded as S3 does ('+' for space). */
  readonly encodedKey?: string;
  readonly size?: number;
  readonly eTag?: string;
  readonly versionId?: string;
  readonly configurationId?: string;
}

/** An ObjectCreated record as S3 writes it into a notification. */
export function s3Record(bucket: string, key: string, p: S3RecordOptions = {}): S3EventRecord {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: p.eventTime ?? '2026-11-01T10:00:00.000Z',
    eventName: p.eventName ?? 'ObjectCreated:Put',
    userIdentity: { principalId: 'producer' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': 'S3REQUEST', 'x-amz-id-2': 'id2' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: p.configurationId ?? 'medallion',
      bucket: { name: bucket, ownerIdentity: { principalId: 'owner' }, arn: `arn:aws:s3:::${bucket}` },
      object: {
        key: p.encodedKey ?? encodeEventKey(key),
        size: p.size ?? 1,
        eTag: p.eTag ?? 'etag-1',
        ...(p.versionId ? { versionId: p.versionId } : {}),
        sequencer: '0',
      },
    },
  };
}

export const s3Event = (...records: S3EventRecord[]): S3Event => ({ Records: records });

/** An SQS message carrying `body` (an S3 notification, or any text), as SQS hands it to Lambda. */
export function sqsRecord(messageId: string, body: unknown): SQSRecord {
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1793527200000',
      SenderId: 's3.amazonaws.com',
      ApproximateFirstReceiveTimestamp: '1793527200000',
    },
    messageAttributes: {},
    md5OfBody: 'md5',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:bronze-created',
    awsRegion: 'us-east-1',
  };
}

/** Small contracts (an `id` key and a `day` partition) for tests that only need datasets to exist. */
export function writeMinimalContracts(
  dir: string,
  datasets: { domain: string; dataset: string; format: string; file?: string }[],
): void {
  for (const d of datasets) {
    writeFileSync(
      join(dir, d.file ?? `${d.dataset}.yaml`),
      `domain: ${d.domain}
dataset: ${d.dataset}
source:
  format: ${d.format}
columns:
  - name: id
    type: string
    required: true
  - name: day
    type: date
    required: true
primaryKey: [id]
partition:
  column: day
`,
    );
  }
}
