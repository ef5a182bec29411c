import { ConfigError } from '../../../core/errors';
import { goldPublishedRegistryKey, goldVersionPrefix } from '../../../core/lake/layout';
import type { GoldRetentionEvent } from '../../../lambdas/gold-retention/handler';
import { withLocalS3 } from '../../support/local-s3';

const GOLD = 'gold';
const HANDLER = '../../../lambdas/gold-retention/handler';

type Handler = typeof import('../../../lambdas/gold-retention/handler');

describe('gold-retention handler', () => {
  const s3 = withLocalS3([GOLD]);
  const variables = { MEDALLION_GOLD_BUCKET: GOLD, MEDALLION_GOLD_VERSIONS_KEPT: '2' };
  let handler: Handler['handler'];

  // The handler reads its configuration and creates its client at module load: import it once the
  // server and the variables are ready.
  beforeAll(async () => {
    Object.assign(process.env, variables);
    ({ handler } = await import(HANDLER));
  });
  afterAll(() => {
    for (const name of Object.keys(variables)) delete process.env[name];
  });

  it('keeps the newest MEDALLION_GOLD_VERSIONS_KEPT versions of each model it is given', async () => {
    for (const version of ['exec-1', 'exec-2', 'exec-3']) {
      await s3.put(GOLD, `${goldVersionPrefix('daily', version)}part-0.parquet`, 'x');
      await handler({ executionName: version, models: ['daily'] });
    }

    expect(await s3.keys(GOLD, 'daily/')).toEqual([
      'daily/_published.json',
      'daily/v=exec-2/part-0.parquet',
      'daily/v=exec-3/part-0.parquet',
    ]);
  });

  it.each([
    [
      'execution name',
      '..',
      { executionName: '..', models: ['m'] },
      /execution name "\.\." is a relative path/,
    ],
    [
      'execution name',
      'a/b',
      { executionName: 'a/b', models: ['m'] },
      /execution name "a\/b" contains a path/,
    ],
    ['execution name', '', { executionName: '', models: ['m'] }, /execution name "" is empty/],
    [
      'model name',
      'a%2Fb',
      { executionName: 'run', models: ['ok', 'a%2Fb'] },
      /model name "a%2Fb" contains a percent/,
    ],
    ['model name', '.', { executionName: 'run', models: ['ok', '.'] }, /model name "\." is a relative path/],
  ])(
    'refuses the %s %j (not a safe path segment) before touching S3',
    async (_what, _name, event, message) => {
      await expect(handler(event)).rejects.toThrow(ConfigError);
      await expect(handler(event)).rejects.toThrow(message);
      expect(await s3.get(GOLD, goldPublishedRegistryKey('ok'))).toBeUndefined();
      expect(await s3.get(GOLD, goldPublishedRegistryKey('m'))).toBeUndefined();
    },
  );

  it('refuses an event without a list of model names', async () => {
    const event = { executionName: 'run', models: 'daily' } as unknown as GoldRetentionEvent;
    await expect(handler(event)).rejects.toThrow(ConfigError);
    const names = { executionName: 'run', models: [7] } as unknown as GoldRetentionEvent;
    await expect(handler(names)).rejects.toThrow('the model name must be a string');
  });

  it('keeps 3 versions when MEDALLION_GOLD_VERSIONS_KEPT is not set', async () => {
    delete process.env.MEDALLION_GOLD_VERSIONS_KEPT;
    let defaults: Handler | undefined;
    try {
      jest.isolateModules(() => {
        defaults = require(HANDLER);
      });
    } finally {
      process.env.MEDALLION_GOLD_VERSIONS_KEPT = variables.MEDALLION_GOLD_VERSIONS_KEPT;
    }
    for (const version of ['exec-1', 'exec-2', 'exec-3', 'exec-4']) {
      await s3.put(GOLD, `${goldVersionPrefix('weekly', version)}part-0.parquet`, 'x');
      await defaults?.handler({ executionName: version, models: ['weekly'] });
    }

    expect(await s3.keys(GOLD, 'weekly/v=')).toEqual([
      'weekly/v=exec-2/part-0.parquet',
      'weekly/v=exec-3/part-0.parquet',
      'weekly/v=exec-4/part-0.parquet',
    ]);
  });

  it.each(['0', '-1', 'three'])('fails to load when MEDALLION_GOLD_VERSIONS_KEPT is %s', (value) => {
    process.env.MEDALLION_GOLD_VERSIONS_KEPT = value;
    try {
      expect(() => jest.isolateModules(() => require(HANDLER))).toThrow(
        `MEDALLION_GOLD_VERSIONS_KEPT must be a positive integer, got '${value}'`,
      );
    } finally {
      process.env.MEDALLION_GOLD_VERSIONS_KEPT = variables.MEDALLION_GOLD_VERSIONS_KEPT;
    }
  });

  it('fails to load, naming the variable, when MEDALLION_GOLD_BUCKET is missing', () => {
    delete process.env.MEDALLION_GOLD_BUCKET;
    try {
      expect(() => jest.isolateModules(() => require(HANDLER))).toThrow(
        /missing environment variable\(s\): MEDALLION_GOLD_BUCKET$/,
      );
    } finally {
      process.env.MEDALLION_GOLD_BUCKET = GOLD;
    }
  });
});
