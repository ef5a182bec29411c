import { Timer } from '../../../lambdas/bronze-to-silver/timer';

describe('Timer', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-11-01T10:00:00.000Z') }));
  afterEach(() => jest.useRealTimers());

  it('records each lap as the time since the previous lap, the first since the start', () => {
    const timer = new Timer();
    jest.advanceTimersByTime(120);
    timer.lap('spool');
    jest.advanceTimersByTime(30);
    timer.lap('validate');
    jest.advanceTimersByTime(5);
    timer.lap('write');

    expect(timer.laps).toEqual({ spool: 120, validate: 30, write: 5 });
  });

  it('gives the total since the start, laps or not', () => {
    const timer = new Timer();
    jest.advanceTimersByTime(40);
    timer.lap('spool');
    jest.advanceTimersByTime(60);

    expect(timer.total()).toBe(100);
  });

  it('keeps the last duration when a lap name repeats', () => {
    const timer = new Timer();
    jest.advanceTimersByTime(10);
    timer.lap('upload');
    jest.advanceTimersByTime(25);
    timer.lap('upload');

    expect(timer.laps).toEqual({ upload: 25 });
  });
});
