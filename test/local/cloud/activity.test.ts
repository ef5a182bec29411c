import { Activity } from '../../../local/cloud/activity';

/** Whether `promise` has settled once the microtasks queued so far have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('Activity', () => {
  it('is idle with nothing pending at first, and whenIdle resolves at once', async () => {
    const activity = new Activity();
    expect(activity.idle).toBe(true);
    expect(activity.pending).toBe(0);
    expect(await settled(activity.whenIdle())).toBe(true);
  });

  it('counts each begun piece of work until its end is called', () => {
    const activity = new Activity();
    const endA = activity.begin();
    const endB = activity.begin();
    expect(activity.pending).toBe(2);
    expect(activity.idle).toBe(false);
    endA();
    expect(activity.pending).toBe(1);
    endB();
    expect(activity.pending).toBe(0);
    expect(activity.idle).toBe(true);
  });

  it('ignores an end called twice: the other work stays counted', () => {
    const activity = new Activity();
    const endA = activity.begin();
    activity.begin();
    endA();
    endA();
    expect(activity.pending).toBe(1);
  });

  it('resolves every waiter when the last piece of work ends, not before', async () => {
    const activity = new Activity();
    const endA = activity.begin();
    const endB = activity.begin();
    const first = activity.whenIdle();
    const second = activity.whenIdle();
    endA();
    expect(await settled(first)).toBe(false);
    endB();
    expect(await settled(first)).toBe(true);
    expect(await settled(second)).toBe(true);
  });

  it('makes a waiter registered after going idle wait for the next idle moment', async () => {
    const activity = new Activity();
    activity.begin()();
    const end = activity.begin();
    const waiter = activity.whenIdle();
    expect(await settled(waiter)).toBe(false);
    end();
    expect(await settled(waiter)).toBe(true);
  });

  it('tracks work from the call until it settles, and passes its result through', async () => {
    const activity = new Activity();
    let finish: (v: string) => void = () => undefined;
    const result = activity.track(() => new Promise<string>((resolve) => (finish = resolve)));
    expect(activity.pending).toBe(1);
    const idle = activity.whenIdle();
    expect(await settled(idle)).toBe(false);
    finish('done');
    expect(await result).toBe('done');
    expect(activity.pending).toBe(0);
    expect(await settled(idle)).toBe(true);
  });

  it('stops counting tracked work that rejects, and passes the rejection through', async () => {
    const activity = new Activity();
    await expect(activity.track(async () => Promise.reject(new Error('failed later')))).rejects.toThrow(
      'failed later',
    );
    expect(activity.idle).toBe(true);
  });

  it('turns work that throws before returning a promise into a rejection, and stops counting it', async () => {
    const activity = new Activity();
    const result = activity.track(() => {
      throw new Error('failed at once');
    });
    expect(activity.idle).toBe(true);
    await expect(result).rejects.toThrow('failed at once');
  });

  it('counts work tracked while other work runs, and wakes waiters only when both are over', async () => {
    const activity = new Activity();
    let finishOuter: () => void = () => undefined;
    let finishInner: () => void = () => undefined;
    const outer = activity.track(async () => {
      await new Promise<void>((resolve) => (finishOuter = resolve));
    });
    const inner = activity.track(() => new Promise<void>((resolve) => (finishInner = resolve)));
    const idle = activity.whenIdle();
    finishOuter();
    await outer;
    expect(activity.pending).toBe(1);
    expect(await settled(idle)).toBe(false);
    finishInner();
    await inner;
    expect(await settled(idle)).toBe(true);
  });
});
