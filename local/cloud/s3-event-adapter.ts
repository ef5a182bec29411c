/**
 * Turns s3rver's event records into the records real S3 sends, so handlers see the same events offline.
 *
 * s3rver's records (see /work/shared/offline-stack.md) differ from S3's:
 *  - the object key is the raw key; S3 URL-encodes it, with '+' for a space (`encodeEventKey`);
 *  - the bucket ARN is `arn:aws:s3: : :<bucket>`; S3's is `arn:aws:s3:::<bucket>`;
 *  - `eventVersion` is 2.0; S3 sends 2.1;
 *  - a completed multipart upload reports `ObjectCreated:Post` (S3: `ObjectCreated:CompleteMultipartUpload`;
 *    `Post` is only for browser form uploads), and copies carry no ETag;
 *  - the sequencer is the time in milliseconds, so two events in the same millisecond tie.
 * Filtering by event name, prefix and suffix is the router's job (`notification-router.ts`), not this
 * module's.
 */
import type { S3Event, S3EventRecord } from 'aws-lambda';
import { encodeEventKey } from '../../core/lake/layout';
import type { S3Operation, S3rverEventRecord } from './s3-server';

export interface AdaptOptions {
  /** Region written into the record; default: the record's, else us-east-1. */
  readonly region?: string;
  /** The operation that produced the record, when known (`LocalS3Server.onEvent` knows it). */
  readonly operation?: S3Operation;
  /** ETag of the object when the record has none (copies). */
  readonly eTag?: string;
  /** Name of the notification configuration that matched (S3's `configurationId`). */
  readonly configurationId?: string;
  /** Sequencer source; default: `nextSequencer`. */
  readonly sequencer?: () => string;
}

const OPERATION_EVENTS: Partial<Record<S3Operation, string>> = {
  PutObject: 'ObjectCreated:Put',
  CopyObject: 'ObjectCreated:Copy',
  CompleteMultipartUpload: 'ObjectCreated:CompleteMultipartUpload',
  PostObject: 'ObjectCreated:Post',
  DeleteObject: 'ObjectRemoved:Delete',
};

/** The real S3 event name of an s3rver record. */
export function normalizeEventName(eventName: string, operation?: S3Operation): string {
  const fromOperation = operation && OPERATION_EVENTS[operation];
  if (fromOperation) return fromOperation;
  // Without the operation, 'Post' is a multipart completion: nothing here uploads with browser forms.
  if (eventName === 'ObjectCreated:Post') return 'ObjectCreated:CompleteMultipartUpload';
  return eventName;
}

/** An S3 event record exactly as S3 (eventVersion 2.1) would send it for this s3rver record. */
export function toAwsS3EventRecord(raw: S3rverEventRecord, options: AdaptOptions = {}): S3EventRecord {
  const bucket = raw.s3.bucket.name;
  const eventName = normalizeEventName(raw.eventName, options.operation);
  const object: S3EventRecord['s3']['object'] = {
    key: encodeEventKey(raw.s3.object.key),
    sequencer: (options.sequencer ?? nextSequencer)(),
  } as S3EventRecord['s3']['object'];
  // S3 reports size and ETag for created objects only.
  if (eventName.startsWith('ObjectCreated:')) {
    object.size = raw.s3.object.size ?? 0;
    const eTag = raw.s3.object.eTag ?? options.eTag;
    if (eTag !== undefined) object.eTag = eTag.replace(/"/g, '');
  }
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: options.region ?? (raw.awsRegion || 'us-east-1'),
    eventTime: raw.eventTime,
    eventName,
    userIdentity: { principalId: raw.userIdentity?.principalId ?? 'AWS:LOCAL' },
    requestParameters: { sourceIPAddress: ipv4(raw.requestParameters?.sourceIPAddress ?? '127.0.0.1') },
    responseElements: {
      'x-amz-request-id': raw.responseElements?.['x-amz-request-id'] ?? '',
      'x-amz-id-2': raw.responseElements?.['x-amz-id-2'] ?? '',
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: options.configurationId ?? raw.s3.configurationId ?? 'local',
      bucket: {
        name: bucket,
        ownerIdentity: { principalId: raw.s3.bucket.ownerIdentity?.principalId ?? 'LOCAL' },
        arn: `arn:aws:s3:::${bucket}`,
      },
      object,
    },
  };
}

/** An S3 event (what S3 hands to Lambda, or puts in an SQS message body): one record per notification. */
export function toS3Event(...records: S3EventRecord[]): S3Event {
  return { Records: records };
}

let lastSequencer = 0n;

/**
 * Strictly increasing sequencers: fixed-width upper-case hex like S3's (e.g. `0055AED6DCD90281E5`),
 * starting from the time so that they also increase across runs.
 */
export function nextSequencer(): string {
  const fromClock = BigInt(Date.now()) << 16n;
  lastSequencer = fromClock > lastSequencer ? fromClock : lastSequencer + 1n;
  return lastSequencer.toString(16).toUpperCase().padStart(18, '0');
}

/** Koa reports IPv4 clients as IPv4-mapped IPv6 (`::ffff:127.0.0.1`); S3 writes the IPv4 address. */
function ipv4(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
