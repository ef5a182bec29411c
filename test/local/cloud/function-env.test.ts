import {
  handlerEnv,
  localEngineMemoryLimit,
  mergedFunctionEnv,
  restoreEnv,
  setProcessEnv,
} from '../../../local/cloud/function-env';
import { localS3Env } from '../../../local/cloud/s3-server';
import { LOCAL_PLACEHOLDERS } from '../../../local/cloud/template-wiring';
import { fixtureFunction } from './fixtures/wiring';

const LOCAL = { contractsDir: '/contracts', scratchDir: '/scratch', piiSalt: 'salt' };

const landing = fixtureFunction('Landing', 'echo', {
  path: 'P/Landing/Function/Resource',
  env: {
    MEDALLION_BRONZE_BUCKET: 'test-bronze',
    MEDALLION_CONTRACTS_DIR: '/var/task/contracts',
    NODE_OPTIONS: '--enable-source-maps',
  },
});
const transform = fixtureFunction('Transform', 'batch', {
  path: 'P/Transform/Function/Resource',
  env: {
    MEDALLION_BRONZE_BUCKET: 'test-bronze',
    MEDALLION_SCRATCH_DIR: '/tmp',
    MEDALLION_PII_HASH_SALT: LOCAL_PLACEHOLDERS.piiSalt,
    MEDALLION_ENGINE_MEMORY_LIMIT: '1804MB',
  },
});

describe('mergedFunctionEnv', () => {
  it("merges every function's variables, made local, into one environment", () => {
    expect(mergedFunctionEnv([landing, transform], { ...LOCAL, engineMemoryLimit: '300MB' })).toEqual({
      MEDALLION_BRONZE_BUCKET: 'test-bronze',
      MEDALLION_CONTRACTS_DIR: '/contracts',
      MEDALLION_SCRATCH_DIR: '/scratch',
      MEDALLION_PII_HASH_SALT: 'salt',
      MEDALLION_ENGINE_MEMORY_LIMIT: '300MB',
    });
  });

  it("keeps the template's engine limit by default, capped for this machine", () => {
    expect(mergedFunctionEnv([transform], LOCAL).MEDALLION_ENGINE_MEMORY_LIMIT).toBe(
      localEngineMemoryLimit('1804MB'),
    );
  });

  it('refuses a variable two functions set to different values', () => {
    const other = fixtureFunction('Other', 'echo', {
      path: 'P/Other/Function/Resource',
      env: { MEDALLION_BRONZE_BUCKET: 'elsewhere' },
    });
    expect(() => mergedFunctionEnv([landing, other], LOCAL)).toThrow(
      "MEDALLION_BRONZE_BUCKET is 'test-bronze' for P/Landing/Function/Resource but 'elsewhere' for P/Other/Function/Resource: one local process cannot run both",
    );
  });
});

describe('handlerEnv', () => {
  const s3Endpoint = 'http://127.0.0.1:4566';

  it('points the handlers at the local S3 server, with their own variables', () => {
    expect(handlerEnv([landing], { ...LOCAL, s3Endpoint })).toEqual({
      ...localS3Env(s3Endpoint),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      MEDALLION_BRONZE_BUCKET: 'test-bronze',
      MEDALLION_CONTRACTS_DIR: '/contracts',
    });
  });

  it('takes the region and engine threads asked for, and extra variables over everything', () => {
    const env = handlerEnv([landing], {
      ...LOCAL,
      s3Endpoint,
      region: 'eu-west-1',
      engineThreads: 2,
      extraEnv: { MEDALLION_BRONZE_BUCKET: 'override', EXTRA: 'x' },
    });
    expect(env).toMatchObject({
      AWS_REGION: 'eu-west-1',
      MEDALLION_ENGINE_THREADS: '2',
      MEDALLION_BRONZE_BUCKET: 'override',
      EXTRA: 'x',
    });
  });
});

describe('setProcessEnv / restoreEnv', () => {
  it('sets the variables, then puts back the old values and removes the new ones', () => {
    process.env.MEDALLION_TEST_KEPT = 'before';
    delete process.env.MEDALLION_TEST_NEW;
    const saved = setProcessEnv({ MEDALLION_TEST_KEPT: 'during', MEDALLION_TEST_NEW: 'during' });
    expect(process.env.MEDALLION_TEST_KEPT).toBe('during');
    expect(process.env.MEDALLION_TEST_NEW).toBe('during');
    restoreEnv(saved);
    expect(process.env.MEDALLION_TEST_KEPT).toBe('before');
    expect(process.env).not.toHaveProperty('MEDALLION_TEST_NEW');
    delete process.env.MEDALLION_TEST_KEPT;
  });
});

describe('localEngineMemoryLimit', () => {
  const GiB = 1024 ** 3;
  it("keeps the template's engine limit (sized for Lambda) when the machine has room for it", () => {
    expect(localEngineMemoryLimit('1804MB', 24 * GiB)).toBe('1804MB');
  });
  it('caps it at a quarter of a small machine', () => {
    expect(localEngineMemoryLimit('1804MB', 4 * GiB)).toBe('1024MB');
  });
  it('falls back to 512MB when the template gives no value in MB', () => {
    expect(localEngineMemoryLimit(undefined, 24 * GiB)).toBe('512MB');
  });
});
