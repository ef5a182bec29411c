import { Activity } from '../../../local/cloud/activity';
import { asyncInvoker, type LandedObject, type LandingFailure } from '../../../local/cloud/async-invocation';
import { FunctionLogs } from '../../../local/cloud/lambda-runtime';
import { LocalFunctions } from '../../../local/cloud/local-functions';
import { objectCreatedEvent } from '../../../local/cloud/notification-router';
import { toAwsS3EventRecord } from '../../../local/cloud/s3-event-adapter';
import { fixtureFunction, fixtureRoute, fixtureWiring } from './fixtures/wiring';

const record = (key: string) =>
  toAwsS3EventRecord(objectCreatedEvent('landing', key, { ContentLength: 1 }, 'us-east-1').record);

describe('asyncInvoker', () => {
  const logs = new FunctionLogs(() => {});
  const fn = fixtureFunction('Landing', 'flaky');
  const functions = new LocalFunctions(
    fixtureWiring({
      functions: { Landing: fn },
      routes: [fixtureRoute('B/0', { type: 'function', logicalId: 'Landing' })],
    }),
    { bucketPrefix: 'test', region: 'us-east-1', accountId: '000000000000' },
    logs,
  );
  functions.load({});

  let activity: Activity;
  let landed: LandedObject[];
  let failed: LandingFailure[];
  const deliver = () =>
    asyncInvoker(fn, {
      functions,
      retries: 2,
      delayMs: 1,
      activity,
      onLanded: (o) => landed.push(o),
      onFailed: (f) => failed.push(f),
    });
  beforeEach(() => {
    activity = new Activity();
    landed = [];
    failed = [];
  });

  it('invokes after the caller returns (never inside the S3 request), counted until its outcome', async () => {
    deliver()(record('a/ok.csv'));
    expect(activity.idle).toBe(false);
    expect(landed).toEqual([]);
    await activity.whenIdle();
    expect(landed).toEqual([{ bucket: 'landing', key: 'a/ok.csv', attempts: 1 }]);
  });

  it('retries a failed invocation as Lambda does, and reports the attempts it took (key decoded)', async () => {
    deliver()(record('a/fail-2-times été.csv'));
    await activity.whenIdle();
    expect(landed).toEqual([{ bucket: 'landing', key: 'a/fail-2-times été.csv', attempts: 3 }]);
    expect(failed).toEqual([]);
  });

  it('reports the failure with the last error once every retry failed', async () => {
    deliver()(record('a/fail-5-times.csv'));
    await activity.whenIdle();
    expect(landed).toEqual([]);
    expect(failed).toEqual([
      {
        bucket: 'landing',
        key: 'a/fail-5-times.csv',
        attempts: 3,
        error: 'attempt 3 of a/fail-5-times.csv failed',
      },
    ]);
  });
});
