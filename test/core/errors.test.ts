import {
  AthenaSqlError,
  ConfigError,
  ContractError,
  dispositionOf,
  FileRejection,
  GoldModelError,
  LandingError,
  MedallionConfigError,
  ObjectChangedError,
  PipelineUsageError,
  PortInUseError,
  QueryError,
  ReplayError,
} from '../../core/errors';

describe('core errors', () => {
  it.each([
    ['a contract that does not load', new ContractError('c.yaml', ['x: bad'])],
    ['a configuration mistake', new MedallionConfigError('bad')],
    ['a gold model mistake', new GoldModelError('bad')],
    ['a missing environment variable', new ConfigError('missing')],
    ['a file that cannot be read as its contract says', new FileRejection('empty', 'empty file')],
    ['a refused API request', new LandingError(400, 'bad body')],
    ['SQL only DuckDB understands', new AthenaSqlError('QUALIFY')],
    ['a CLI usage error', new PipelineUsageError('bad flag')],
    ['a query command error', new QueryError('no state')],
    ['a replay command error', new ReplayError('no state')],
    ['a port in use', new PortInUseError(4566, '127.0.0.1')],
  ])('%s is rejected, never retried', (_what, error) => {
    expect(error.disposition).toBe('reject');
    expect(dispositionOf(error)).toBe('reject');
    expect(error).toBeInstanceOf(Error);
  });

  it('an object that changed while it was read is retried', () => {
    expect(dispositionOf(new ObjectChangedError('s3://b/k changed'))).toBe('retry');
  });

  it('anything else (an SDK or engine failure) is retried', () => {
    expect(dispositionOf(new Error('socket hang up'))).toBe('retry');
    expect(dispositionOf('a string')).toBe('retry');
  });

  it('keeps the names and messages callers print', () => {
    expect(new ContractError('c.yaml', ['a: x', 'b: y']).message).toBe(
      'invalid data contract c.yaml:\n  - a: x\n  - b: y',
    );
    expect(new GoldModelError('m').name).toBe('GoldModelError');
    expect(new GoldModelError('m')).toBeInstanceOf(MedallionConfigError);
    expect(new PortInUseError(4567, '127.0.0.1', 'API').message).toBe(
      'port 4567 on 127.0.0.1 (API) is already in use',
    );
    expect(new FileRejection('header', 'h').code).toBe('header');
  });
});
