/**
 * The Lambda functions the gold workflow invokes (the current-state planner, the gold retention, the gold planner), their
 * real handlers loaded in this process against a local S3 server: the `invokeFunction` of
 * `runGoldLocally` for tests that run gold without a local cloud.
 */
import { ENV } from '../../core/config/env';
import { localS3Env } from '../../local/cloud/s3-server';

type Handler = (event: unknown) => Promise<unknown>;

/** Logical id prefix (the construct path, as CDK derives ids) -> handler module. */
const FUNCTIONS: Record<string, string> = {
  CurrentStatePlanner: '../../lambdas/current-state/handler',
  GoldRetentionJanitor: '../../lambdas/gold-retention/handler',
  GoldPlannerFunction: '../../lambdas/gold-planner/handler',
};

export function workflowFunctions(options: {
  s3Endpoint: string;
  silverBucket: string;
  goldBucket: string;
  contractsDir: string;
}): (logicalId: string, payload: unknown) => Promise<unknown> {
  const env = {
    ...localS3Env(options.s3Endpoint),
    [ENV.SILVER_BUCKET]: options.silverBucket,
    [ENV.GOLD_BUCKET]: options.goldBucket,
    [ENV.CONTRACTS_DIR]: options.contractsDir,
  };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const handlers: Record<string, Handler> = {};
  try {
    jest.isolateModules(() => {
      for (const [prefix, module] of Object.entries(FUNCTIONS)) {
        handlers[prefix] = (require(module) as { handler: Handler }).handler;
      }
    });
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return (logicalId, payload) => {
    const prefix = Object.keys(handlers).find((p) => logicalId.startsWith(p));
    if (!prefix) throw new Error(`no local function ${logicalId}`);
    return handlers[prefix](payload);
  };
}
