/**
 * The current-state planner Lambda's real handler, loaded in this process against a local S3 server: the
 * `invokeFunction` of `runGoldLocally` for tests that run gold without a local cloud.
 */
import { ENV } from '../../core/config/env';
import { localS3Env } from '../../local/cloud/s3-server';

export function localPlanner(options: {
  s3Endpoint: string;
  silverBucket: string;
  contractsDir: string;
}): (logicalId: string, payload: unknown) => Promise<unknown> {
  const env = {
    ...localS3Env(options.s3Endpoint),
    [ENV.SILVER_BUCKET]: options.silverBucket,
    [ENV.CONTRACTS_DIR]: options.contractsDir,
  };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  let handler: (event: unknown) => Promise<unknown>;
  try {
    jest.isolateModules(() => {
      ({ handler } = require('../../lambdas/current-state/handler') as {
        handler: (event: unknown) => Promise<unknown>;
      });
    });
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return (logicalId, payload) => {
    if (!logicalId.startsWith('CurrentStatePlanner')) throw new Error(`no local function ${logicalId}`);
    return handler(payload);
  };
}
