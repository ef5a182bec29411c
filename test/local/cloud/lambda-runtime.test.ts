import { Activity } from '../../../local/cloud/activity';
import { FunctionLogs, invokeAsync, lambdaContext } from '../../../local/cloud/lambda-runtime';

describe('lambdaContext', () => {
  it('describes the function like Lambda does', () => {
    const c = lambdaContext(
      { name: 'fn', region: 'eu-west-1', accountId: '123456789012', timeoutMs: 60_000 },
      'req-1',
    );
    expect(c).toMatchObject({
      functionName: 'fn',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:fn',
      awsRequestId: 'req-1',
      logGroupName: '/aws/lambda/fn',
    });
    expect(c.getRemainingTimeInMillis()).toBeGreaterThan(59_000);
  });
});

describe('invokeAsync', () => {
  it('retries a failing invocation, then gives up with the last error', async () => {
    const attempts: number[] = [];
    await expect(
      invokeAsync(
        async (n) => {
          attempts.push(n);
          throw new Error(`boom ${n}`);
        },
        { retries: 2, delayMs: 1 },
      ),
    ).rejects.toThrow('boom 3');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('resolves with the number of attempts it took', async () => {
    let n = 0;
    const attempts = await invokeAsync(
      async () => {
        if (++n < 2) throw new Error('transient');
      },
      { retries: 2, delayMs: 1 },
    );
    expect(attempts).toBe(2);
  });
});

describe('FunctionLogs', () => {
  it("routes a handler's console output, including from later promises, to the sink in Lambda's format", async () => {
    const lines: string[] = [];
    const logs = new FunctionLogs((l) => lines.push(l));
    logs.install();
    try {
      await logs.invoke('my-fn', 'req-9', async () => {
        console.log('hello %s', 'world');
        await new Promise((r) => setTimeout(r, 1));
        console.error({ level: 'error' });
      });
    } finally {
      logs.uninstall();
    }
    expect(lines[0]).toMatch(/\tmy-fn\tSTART RequestId: req-9 Version: \$LATEST$/);
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z\tmy-fn\treq-9\tINFO\thello world$/);
    expect(lines[2]).toMatch(/\tmy-fn\treq-9\tERROR\t\{ level: 'error' \}$/);
    expect(lines[3]).toMatch(/\tmy-fn\tEND RequestId: req-9$/);
    expect(lines[4]).toMatch(/\tmy-fn\tREPORT RequestId: req-9\tDuration: \d+ ms$/);
  });

  it('leaves output outside invocations alone, and restores the console', () => {
    const original = console.log;
    const logs = new FunctionLogs(() => {
      throw new Error('must not be called');
    });
    logs.install();
    expect(console.log).not.toBe(original);
    logs.uninstall();
    expect(console.log).toBe(original);
  });
});

describe('Activity', () => {
  it('is idle once all tracked work settled, failed work included', async () => {
    const activity = new Activity();
    const ok = activity.track(() => new Promise((r) => setTimeout(r, 5)));
    const failed = activity.track(() => Promise.reject(new Error('x')));
    expect(activity.pending).toBe(2);
    await expect(failed).rejects.toThrow('x');
    await ok;
    await activity.whenIdle();
    expect(activity.idle).toBe(true);
  });
});
