import type { S3Event, S3EventRecord, SQSEvent } from 'aws-lambda';
import { LocalQueue } from '../../../local/cloud/local-queue';
import { NotificationRouter, objectCreatedEvent } from '../../../local/cloud/notification-router';
import type { LocalS3Event, S3Operation } from '../../../local/cloud/s3-server';
import { fixtureRoute } from './fixtures/wiring';

/** An event of the local S3 server for one object of bucket `bucket`. */
function s3Event(key: string, operation: S3Operation = 'PutObject', bucket = 'b'): LocalS3Event {
  return {
    record: {
      eventVersion: '2.0',
      eventSource: 'aws:s3',
      awsRegion: '',
      eventTime: '2026-11-01T00:00:00.000Z',
      eventName: operation === 'DeleteObject' ? 'ObjectRemoved:Delete' : 'ObjectCreated:Put',
      s3: { bucket: { name: bucket }, object: { key, size: 3, eTag: '"abc"' } },
    },
    operation,
    eTag: undefined,
  };
}

describe('NotificationRouter', () => {
  const invoked: { fn: string; record: S3EventRecord }[] = [];
  const batches: SQSEvent[] = [];
  let queue: LocalQueue;
  let router: NotificationRouter;

  beforeEach(() => {
    invoked.length = 0;
    batches.length = 0;
    queue = new LocalQueue({
      name: 'q',
      consumer: async (event) => {
        batches.push(event);
        return { batchItemFailures: [] };
      },
    });
    router = new NotificationRouter(
      [
        fixtureRoute('B/0', { type: 'function', logicalId: 'Csv' }, { suffix: '.csv' }),
        fixtureRoute('B/1', { type: 'queue', logicalId: 'Q' }, { prefix: 'retail/orders/' }),
        fixtureRoute('B/2', { type: 'function', logicalId: 'Removed' }, { events: ['s3:ObjectRemoved:*'] }),
        fixtureRoute('Other/0', { type: 'function', logicalId: 'Other' }, { bucket: 'other' }),
      ],
      {
        function: (fn) => (record) => invoked.push({ fn, record }),
        queues: new Map([['Q', queue]]),
      },
      'eu-west-1',
    );
  });
  afterEach(() => queue.close());

  it('delivers to every route of the bucket whose events, prefix and suffix all match, in S3 format', async () => {
    expect(router.dispatch(s3Event('retail/orders/été 1.csv'))).toBe(2);
    expect(invoked.map((i) => i.fn)).toEqual(['Csv']);
    expect(invoked[0].record).toMatchObject({
      eventVersion: '2.1',
      eventName: 'ObjectCreated:Put',
      awsRegion: 'eu-west-1',
      s3: {
        configurationId: 'B/0',
        bucket: { name: 'b', arn: 'arn:aws:s3:::b' },
        object: { key: 'retail/orders/%C3%A9t%C3%A9+1.csv', size: 3, eTag: 'abc' },
      },
    });
    // The queue's message body is the S3 event, with the queue route's own configuration id.
    await queue.whenIdle();
    const body = JSON.parse(batches[0].Records[0].body) as S3Event;
    expect(body.Records).toHaveLength(1);
    expect(body.Records[0].s3).toMatchObject({
      configurationId: 'B/1',
      object: { key: 'retail/orders/%C3%A9t%C3%A9+1.csv' },
    });
  });

  it('delivers nothing for an object no route of its bucket accepts', () => {
    expect(router.dispatch(s3Event('retail/customers/a.json'))).toBe(0);
    expect(router.dispatch(s3Event('retail/orders/a.csv', 'PutObject', 'elsewhere'))).toBe(0);
    expect(invoked).toEqual([]);
  });

  it('tells created from removed objects by the event name', () => {
    expect(router.dispatch(s3Event('a.csv', 'DeleteObject'))).toBe(1);
    expect(invoked.map((i) => [i.fn, i.record.eventName])).toEqual([['Removed', 'ObjectRemoved:Delete']]);
  });

  it('delivers only to the kind of destination asked for', async () => {
    expect(router.dispatch(s3Event('retail/orders/a.csv'), 'queue')).toBe(1);
    expect(invoked).toEqual([]);
    await queue.whenIdle();
    expect(batches).toHaveLength(1);
  });

  it('drops every event once closed', () => {
    router.close();
    expect(router.dispatch(s3Event('retail/orders/a.csv'))).toBe(0);
    expect(invoked).toEqual([]);
  });

  it('refuses a route to a queue that nothing drains', () => {
    expect(
      () =>
        new NotificationRouter(
          [fixtureRoute('B/0', { type: 'queue', logicalId: 'Orphan' })],
          { function: () => () => {}, queues: new Map() },
          'us-east-1',
        ),
    ).toThrow('the template routes b events to queue Orphan, which nothing drains');
  });
});

describe('objectCreatedEvent', () => {
  it('is the event of a Put of the existing object, with its size and unquoted ETag', () => {
    const event = objectCreatedEvent('b', 'k/x.csv', { ContentLength: 12, ETag: '"e1"' }, 'eu-west-1');
    expect(event).toMatchObject({
      operation: 'PutObject',
      record: {
        eventName: 'ObjectCreated:Put',
        awsRegion: 'eu-west-1',
        s3: { bucket: { name: 'b' }, object: { key: 'k/x.csv', size: 12, eTag: 'e1' } },
      },
    });
  });
});
