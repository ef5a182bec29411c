import { createHash } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { Activity } from '../../../local/cloud/activity';
import { type DeadLetter, LocalQueue, type QueueConsumer } from '../../../local/cloud/local-queue';

/** A consumer that records what it got and fails the bodies `fail` says to fail. */
function recorder(fail: (r: SQSRecord) => boolean = () => false) {
  const batches: SQSRecord[][] = [];
  const consumer: QueueConsumer = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    batches.push(event.Records);
    await new Promise((r) => setTimeout(r, 1));
    return {
      batchItemFailures: event.Records.filter(fail).map((r) => ({ itemIdentifier: r.messageId })),
    };
  };
  return { batches, consumer, deliveries: () => batches.flat() };
}

describe('LocalQueue', () => {
  it('delivers what was sent together in batches of up to 10, as SQS records', async () => {
    const { batches, consumer } = recorder();
    const queue = new LocalQueue({
      name: 'events',
      consumer,
      region: 'eu-west-1',
      accountId: '123456789012',
    });
    const ids = Array.from({ length: 25 }, (_, i) => queue.send(JSON.stringify({ n: i })));
    await queue.whenIdle();

    expect(batches.map((b) => b.length)).toEqual([10, 10, 5]);
    const records = batches.flat();
    expect(records.map((r) => r.messageId)).toEqual(ids);
    const first = records[0];
    expect(first).toMatchObject({
      body: '{"n":0}',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:events',
      awsRegion: 'eu-west-1',
      messageAttributes: {},
      md5OfBody: createHash('md5').update('{"n":0}').digest('hex'),
    });
    expect(first.attributes.ApproximateReceiveCount).toBe('1');
    expect(Number(first.attributes.SentTimestamp)).toBeLessThanOrEqual(Date.now());
    expect(first.receiptHandle).toEqual(expect.any(String));
    expect(queue.deadLetters).toEqual([]);
    expect(queue.depth).toBe(0);
  });

  it('honours a smaller batch size and hands over one batch at a time by default', async () => {
    let running = 0;
    let most = 0;
    const sizes: number[] = [];
    const queue = new LocalQueue({
      name: 'q',
      batchSize: 3,
      consumer: async (event) => {
        running++;
        most = Math.max(most, running);
        sizes.push(event.Records.length);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return { batchItemFailures: [] };
      },
    });
    for (let i = 0; i < 7; i++) queue.send(String(i));
    await queue.whenIdle();
    expect(sizes).toEqual([3, 3, 1]);
    expect(most).toBe(1);
  });

  it('redelivers only the messages reported in batchItemFailures, with a higher receive count', async () => {
    const failedOnce = new Set<string>();
    const { consumer, deliveries } = recorder((r) => {
      if (r.body !== 'flaky' || failedOnce.has(r.messageId)) return false;
      failedOnce.add(r.messageId);
      return true;
    });
    const deleted: string[] = [];
    const queue = new LocalQueue({ name: 'q', consumer, onDeleted: (m) => deleted.push(m.body) });
    queue.send('ok-1');
    queue.send('flaky');
    queue.send('ok-2');
    await queue.whenIdle();

    const received = deliveries().map((r) => [r.body, r.attributes.ApproximateReceiveCount]);
    expect(received).toEqual([
      ['ok-1', '1'],
      ['flaky', '1'],
      ['ok-2', '1'],
      ['flaky', '2'],
    ]);
    const flaky = deliveries().filter((r) => r.body === 'flaky');
    expect(flaky[0].messageId).toBe(flaky[1].messageId);
    expect(flaky[0].receiptHandle).not.toBe(flaky[1].receiptHandle);
    expect(flaky[1].attributes.ApproximateFirstReceiveTimestamp).toBe(
      flaky[0].attributes.ApproximateFirstReceiveTimestamp,
    );
    expect(deleted.sort()).toEqual(['flaky', 'ok-1', 'ok-2']);
    expect(queue.deadLetters).toEqual([]);
  });

  it('dead-letters a message after maxReceiveCount failed receives', async () => {
    const { consumer, deliveries } = recorder((r) => r.body === 'poison');
    const dead: DeadLetter[] = [];
    const failed: [string, boolean][] = [];
    const queue = new LocalQueue({
      name: 'q',
      consumer,
      maxReceiveCount: 3,
      onDeadLettered: (d) => dead.push(d),
      onFailed: (m, willRetry) => failed.push([m.body, willRetry]),
    });
    const id = queue.send('poison');
    queue.send('fine');
    await queue.whenIdle();

    expect(
      deliveries()
        .filter((r) => r.body === 'poison')
        .map((r) => r.attributes.ApproximateReceiveCount),
    ).toEqual(['1', '2', '3']);
    expect(deliveries().filter((r) => r.body === 'fine')).toHaveLength(1);
    expect(failed).toEqual([
      ['poison', true],
      ['poison', true],
      ['poison', false],
    ]);
    expect(queue.deadLetters).toEqual([
      expect.objectContaining({ messageId: id, body: 'poison', receiveCount: 3 }),
    ]);
    expect(dead).toEqual(queue.deadLetters);
  });

  it('fails the whole batch when the consumer throws, and keeps the error', async () => {
    let calls = 0;
    const queue = new LocalQueue({
      name: 'q',
      maxReceiveCount: 2,
      consumer: async () => {
        calls++;
        throw new Error('engine out of memory');
      },
    });
    queue.send('a');
    queue.send('b');
    await queue.whenIdle();
    expect(calls).toBe(2);
    expect(queue.deadLetters.map((d) => [d.body, d.receiveCount, d.lastError])).toEqual([
      ['a', 2, 'engine out of memory'],
      ['b', 2, 'engine out of memory'],
    ]);
  });

  it('treats a response naming an unknown message as a failure of the whole batch, as Lambda does', async () => {
    let calls = 0;
    const queue = new LocalQueue({
      name: 'q',
      maxReceiveCount: 2,
      consumer: async () => {
        calls++;
        return calls === 1 ? { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] } : undefined;
      },
    });
    queue.send('a');
    queue.send('b');
    await queue.whenIdle();
    expect(calls).toBe(2);
    expect(queue.deadLetters).toEqual([]);
  });

  it('counts its messages in a shared activity until they are dealt with', async () => {
    const activity = new Activity();
    let release: () => void = () => undefined;
    const queue = new LocalQueue({
      name: 'q',
      activity,
      consumer: () => new Promise((resolve) => (release = () => resolve(undefined))),
    });
    queue.send('x');
    expect(activity.idle).toBe(false);
    let idle = false;
    void activity.whenIdle().then(() => (idle = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(idle).toBe(false);
    release();
    await activity.whenIdle();
    expect(activity.idle).toBe(true);
  });

  it('drops what is still queued when closed, and refuses new messages', async () => {
    const queue = new LocalQueue({ name: 'q', consumer: async () => undefined, batchWindowMs: 1000 });
    queue.send('a');
    expect(queue.close()).toBe(1);
    await queue.whenIdle();
    expect(() => queue.send('b')).toThrow('closed');
  });
});
