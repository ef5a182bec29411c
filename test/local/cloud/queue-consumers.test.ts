import { availableParallelism } from 'node:os';
import { Activity } from '../../../local/cloud/activity';
import { FunctionLogs } from '../../../local/cloud/lambda-runtime';
import { LocalFunctions } from '../../../local/cloud/local-functions';
import type { DeadLetter } from '../../../local/cloud/local-queue';
import { objectCreatedEvent } from '../../../local/cloud/notification-router';
import {
  drainedQueues,
  MessageErrors,
  objectsIn,
  type TransformedObject,
  type TransformFailure,
  transformConcurrency,
} from '../../../local/cloud/queue-consumers';
import { toAwsS3EventRecord, toS3Event } from '../../../local/cloud/s3-event-adapter';
import { fixtureFunction, fixtureRoute, fixtureWiring } from './fixtures/wiring';

/** The SQS message body S3 sends for one object. */
const s3Message = (bucket: string, key: string) =>
  JSON.stringify(toS3Event(toAwsS3EventRecord(objectCreatedEvent(bucket, key, {}, 'us-east-1').record)));

describe('objectsIn', () => {
  it('reads the objects an S3 message announces, keys decoded', () => {
    expect(objectsIn({ body: s3Message('b', 'retail/orders/été 1+2.csv') })).toEqual([
      { bucket: 'b', key: 'retail/orders/été 1+2.csv' },
    ]);
  });

  it('finds none in a body that is not an S3 event', () => {
    expect(objectsIn({ body: 'not json' })).toEqual([]);
    expect(objectsIn({ body: '{}' })).toEqual([]);
  });
});

describe('transformConcurrency', () => {
  it('takes the option as given', () => {
    expect(transformConcurrency(7, 2)).toBe(7);
  });

  it("uses the template's maximum, at most one per core and at least one", () => {
    expect(transformConcurrency(undefined, 1000)).toBe(availableParallelism());
    expect(transformConcurrency(undefined, 1)).toBe(1);
    expect(transformConcurrency(undefined, undefined)).toBe(1);
  });
});

describe('MessageErrors', () => {
  const entry = (level: string, message: string) => ({ functionName: 'f', requestId: 'r', level, message });
  const dead = (messageId: string, lastError?: string): DeadLetter => ({
    messageId,
    body: '',
    receiveCount: 3,
    sentTimestamp: 0,
    deadLetteredAt: 0,
    ...(lastError ? { lastError } : {}),
  });

  it('explains a dead letter with the last error the function logged for its message', () => {
    const errors = new MessageErrors();
    errors.remember(entry('ERROR', JSON.stringify({ messageId: 'm1', error: 'first' })));
    errors.remember(entry('ERROR', JSON.stringify({ messageId: 'm1', error: 'last' })));
    expect(errors.explain(dead('m1')).lastError).toBe('last');
  });

  it("ignores lines that are not JSON errors naming a message, and keeps the queue's own error", () => {
    const errors = new MessageErrors();
    errors.remember(entry('INFO', JSON.stringify({ messageId: 'm1', error: 'info' })));
    errors.remember(entry('ERROR', 'plain text'));
    errors.remember(entry('ERROR', '{ torn'));
    errors.remember(entry('ERROR', JSON.stringify({ messageId: 'm1', error: 42 })));
    expect(errors.explain(dead('m1'))).toEqual(dead('m1'));
    errors.remember(entry('ERROR', JSON.stringify({ messageId: 'm2', error: 'logged' })));
    expect(errors.explain(dead('m2', 'batch crashed')).lastError).toBe('batch crashed');
  });
});

describe('drainedQueues', () => {
  const errors = new MessageErrors();
  const logs = new FunctionLogs(
    () => {},
    (e) => errors.remember(e),
  );
  beforeAll(() => logs.install());
  afterAll(() => logs.uninstall());

  it('drains each consumed queue with its function and reports objects, failed receives and dead letters', async () => {
    const wiring = fixtureWiring({
      functions: { Transform: fixtureFunction('Transform', 'batch') },
      queues: {
        TransformQueueA1B2C3D4: {
          logicalId: 'TransformQueueA1B2C3D4',
          maxReceiveCount: 2,
          consumer: { function: 'Transform', batchSize: 5, reportBatchItemFailures: true },
        },
        DeadLetterQueue: { logicalId: 'DeadLetterQueue' },
      },
      routes: [fixtureRoute('B/0', { type: 'queue', logicalId: 'TransformQueueA1B2C3D4' })],
    });
    const functions = new LocalFunctions(
      wiring,
      { bucketPrefix: 'test', region: 'eu-west-1', accountId: '123456789012' },
      logs,
    );
    functions.load({});
    const activity = new Activity();
    const transformed: TransformedObject[] = [];
    const failed: TransformFailure[] = [];
    const deadLettered: DeadLetter[] = [];
    const queues = drainedQueues(wiring, functions, {
      bucketPrefix: 'test',
      retryDelayMs: 1,
      activity,
      errors,
      onTransformed: (o) => transformed.push(o),
      onTransformFailed: (f) => failed.push(f),
      onDeadLettered: (d) => deadLettered.push(d),
    });
    expect([...queues.keys()]).toEqual(['TransformQueueA1B2C3D4']);
    const queue = queues.get('TransformQueueA1B2C3D4');
    expect(queue?.arn).toBe('arn:aws:sqs:eu-west-1:123456789012:test-TransformQueue');

    const good = queue?.send(s3Message('bronze', 'retail/orders/good.csv'));
    const bad = queue?.send(s3Message('bronze', 'retail/orders/bad.csv'));
    await activity.whenIdle();
    queue?.close();

    expect(transformed).toEqual([
      { bucket: 'bronze', key: 'retail/orders/good.csv', messageId: good, receiveCount: 1 },
    ]);
    expect(failed).toEqual([
      { messageId: bad, receiveCount: 1, willRetry: true, keys: ['retail/orders/bad.csv'] },
      { messageId: bad, receiveCount: 2, willRetry: false, keys: ['retail/orders/bad.csv'] },
    ]);
    expect(deadLettered).toEqual([
      expect.objectContaining({ messageId: bad, receiveCount: 2, lastError: `cannot read ${bad}` }),
    ]);
  });
});
