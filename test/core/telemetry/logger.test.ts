import { createLogger, type LogEntry } from '../../../core/telemetry/logger';

describe('createLogger', () => {
  it('writes one entry per call with the Powertools level spelling and the fields', () => {
    const entries: LogEntry[] = [];
    const log = createLogger({ sink: (e) => entries.push(e) });
    log.info('landed', { key: 'a/b.csv' });
    log.warn('quarantined');
    expect(entries).toEqual([
      { level: 'INFO', message: 'landed', key: 'a/b.csv' },
      { level: 'WARN', message: 'quarantined' },
    ]);
  });

  it('writes an error as its message and stack, and a non-Error as text', () => {
    const entries: LogEntry[] = [];
    const log = createLogger({ sink: (e) => entries.push(e) });
    log.error('failed', { error: new Error('boom'), requestId: 'r1' });
    log.error('failed', { error: 'plain' });
    expect(entries[0]).toMatchObject({ level: 'ERROR', message: 'failed', error: 'boom', requestId: 'r1' });
    expect(entries[0].stack).toContain('boom');
    expect(entries[1]).toEqual({ level: 'ERROR', message: 'failed', error: 'plain' });
  });

  it('child loggers add their fields to every entry', () => {
    const entries: LogEntry[] = [];
    const log = createLogger({ sink: (e) => entries.push(e), fields: { fn: 'landing' } }).child({
      requestId: 'r',
    });
    log.debug('x');
    expect(entries).toEqual([{ level: 'DEBUG', message: 'x', fn: 'landing', requestId: 'r' }]);
  });

  it('the default sink writes one JSON line on the console stream of the level', () => {
    const spies = {
      log: jest.spyOn(console, 'log').mockImplementation(() => {}),
      warn: jest.spyOn(console, 'warn').mockImplementation(() => {}),
      error: jest.spyOn(console, 'error').mockImplementation(() => {}),
    };
    try {
      const log = createLogger();
      log.info('i');
      log.warn('w');
      log.error('e');
      expect(JSON.parse(spies.log.mock.calls[0][0])).toEqual({ level: 'INFO', message: 'i' });
      expect(JSON.parse(spies.warn.mock.calls[0][0])).toEqual({ level: 'WARN', message: 'w' });
      expect(JSON.parse(spies.error.mock.calls[0][0])).toEqual({ level: 'ERROR', message: 'e' });
    } finally {
      for (const s of Object.values(spies)) s.mockRestore();
    }
  });
});
