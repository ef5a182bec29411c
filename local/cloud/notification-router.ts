/**
 * S3's notification dispatch, locally: each event of the local S3 server goes, in S3's own record format,
 * to every notification configuration of the template (a {@link WiredRoute}) that matches it, to a
 * function (asynchronous invocation) or into a queue (an SQS message whose body is the S3 event).
 */

import type { S3EventRecord } from 'aws-lambda';
import { unquoteETag } from '../../lambdas/aws/s3';
import type { LocalQueue } from './local-queue';
import { toAwsS3EventRecord, toS3Event } from './s3-event-adapter';
import type { LocalS3Event, S3rverEventRecord } from './s3-server';
import { routeMatches, type WiredRoute } from './template-wiring';

/** Where S3 notifications of a bucket go: a bucket notification configuration of the template. */
export interface NotificationRoute {
  readonly wired: WiredRoute;
  readonly deliver: (record: S3EventRecord) => void;
}

/** The destinations routes can name. */
export interface RouteTargets {
  /** Delivery to a function, resolved once per route (throws for a function the template lacks). */
  readonly function: (logicalId: string) => (record: S3EventRecord) => void;
  /** The queues an event source mapping drains, by logical id. */
  readonly queues: ReadonlyMap<string, LocalQueue>;
}

export class NotificationRouter {
  private readonly routes: NotificationRoute[];
  private closed = false;

  /** Resolves every route's destination now: a route to a queue that nothing drains is refused. */
  constructor(
    wired: readonly WiredRoute[],
    targets: RouteTargets,
    /** The region written into the records. */
    private readonly region: string,
  ) {
    this.routes = wired.map((route) => {
      const target = route.destination.logicalId;
      if (route.destination.type === 'function') return { wired: route, deliver: targets.function(target) };
      const queue = targets.queues.get(target);
      if (!queue)
        throw new Error(
          `the template routes ${route.bucket} events to queue ${target}, which nothing drains`,
        );
      return {
        wired: route,
        deliver: (record: S3EventRecord) => void queue.send(JSON.stringify(toS3Event(record))),
      };
    });
  }

  /**
   * S3's notification dispatch: every configuration of the bucket whose event names match, and whose
   * prefix and suffix rules both match the key, gets the record in S3's own format (`only`: only the
   * configurations with that kind of destination). Returns how many did; none once closed.
   */
  dispatch(event: LocalS3Event, only?: 'function' | 'queue'): number {
    if (this.closed) return 0;
    const raw = event.record;
    let delivered = 0;
    for (const route of this.routes) {
      if (raw.s3.bucket.name !== route.wired.bucket) continue;
      if (only && route.wired.destination.type !== only) continue;
      const record = toAwsS3EventRecord(raw, {
        operation: event.operation,
        eTag: event.eTag,
        region: this.region,
        configurationId: route.wired.id,
      });
      if (!routeMatches(route.wired, record.eventName, raw.s3.object.key)) continue;
      route.deliver(record);
      delivered++;
    }
    return delivered;
  }

  /** Drops every event from now on (the cloud is stopping). */
  close(): void {
    this.closed = true;
  }
}

/**
 * The event S3 would send for an existing object if it had just been created (`ObjectCreated:Put`), at
 * `eventTime` (default now; the reconciler gives the object's own time, which landing dates bronze by).
 */
export function objectCreatedEvent(
  bucket: string,
  key: string,
  head: { readonly ContentLength?: number; readonly ETag?: string },
  region: string,
  eventTime: Date = new Date(),
): LocalS3Event {
  const record: S3rverEventRecord = {
    eventVersion: '2.0',
    eventSource: 'aws:s3',
    awsRegion: region,
    eventTime: eventTime.toISOString(),
    eventName: 'ObjectCreated:Put',
    s3: {
      bucket: { name: bucket },
      object: { key, size: head.ContentLength ?? 0, eTag: unquoteETag(head.ETag) },
    },
  };
  return { record, operation: 'PutObject', eTag: undefined };
}
