import { ENV, positiveInt, readEnv } from '../../../core/config/env';
import { ConfigError } from '../../../core/errors';

describe('readEnv', () => {
  it('reads every named variable', () => {
    expect(
      readEnv(
        { bronze: { name: ENV.BRONZE_BUCKET }, silver: { name: ENV.SILVER_BUCKET } },
        { [ENV.BRONZE_BUCKET]: 'b', [ENV.SILVER_BUCKET]: 's' },
      ),
    ).toEqual({ bronze: 'b', silver: 's' });
  });

  it('fails once, listing every missing or empty variable', () => {
    expect(() =>
      readEnv(
        { a: { name: ENV.BRONZE_BUCKET }, b: { name: ENV.SILVER_BUCKET }, c: { name: ENV.LANDING_BUCKET } },
        { [ENV.SILVER_BUCKET]: '' },
      ),
    ).toThrow(
      new ConfigError(
        'missing environment variable(s): MEDALLION_BRONZE_BUCKET, MEDALLION_SILVER_BUCKET, MEDALLION_LANDING_BUCKET',
      ),
    );
  });

  it('uses a default for an unset optional variable', () => {
    expect(readEnv({ threads: { name: ENV.ENGINE_THREADS, default: '2' } }, {})).toEqual({ threads: '2' });
  });
});

describe('positiveInt', () => {
  it('parses a positive integer', () => {
    expect(positiveInt(ENV.ENGINE_THREADS, '4')).toBe(4);
  });

  it.each(['0', '-1', '1.5', 'four', ''])('rejects %p, naming the variable', (value) => {
    expect(() => positiveInt(ENV.ENGINE_THREADS, value)).toThrow(
      `MEDALLION_ENGINE_THREADS must be a positive integer, got '${value}'`,
    );
  });
});
