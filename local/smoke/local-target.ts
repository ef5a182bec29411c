/**
 * The local smoke target: the local cloud on its own state directory and free ports, its API requiring
 * SigV4 as the deployed one does, and the stack outputs derived from the synthesized template (names
 * resolved to the local buckets and endpoints), written as `cdk deploy --outputs-file` writes them and
 * read back like a deployment's. The doors are the deployed target's (real HTTP to the local S3 server and
 * the local API); gold runs the synthesized state machine (`runGoldLocally`, DuckDB as Athena); the query
 * runs on the local tables (`runQuery`); the alarm topic's policy is the template's, resolved, judged by
 * the same function as the deployed topic's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PipelineUsageError } from '../../core/errors';
import { PROJECT_ROOT } from '../../lib/config';
import type { LogSink } from '../cloud/lambda-runtime';
import type { LocalCloud } from '../cloud/local-cloud';
import { DEFAULT_CONTRACTS_DIR, DEFAULT_MODELS_DIR } from '../command-defaults';
import { prepareState } from '../commands/inputs';
import { startCloud } from '../commands/local';
import { runQuery } from '../commands/query';
import { runGoldLocally } from '../gold/run-gold';
import { type CfnTemplate, TemplateResolver } from '../gold/state-machine-definition';
import { displayPath } from '../report/display-path';
import { type LocalApp, loadLocalApp } from './local-app';
import { readStackOutputs, writeStackOutputs } from './stack-outputs';
import type { SmokeTarget } from './target';

/** The gold models run with the sample contracts. */
/** The local runner's state machine (run-gold.ts names it so). */
const LOCAL_STATE_MACHINE = 'medallion-local-gold';
const LOCAL_ACCOUNT = '000000000000';

export interface LocalTargetOptions {
  /** Default `samples/contracts`. */
  readonly contractsDir?: string;
  /** Gold models; default `samples/models` with the sample contracts, required with others. */
  readonly modelsDir?: string;
  /** Default: a new temporary directory, removed afterwards unless a check failed. */
  readonly stateDir?: string;
  /** S3 and API ports on 127.0.0.1; default 0 (any free port). */
  readonly port?: number;
  readonly apiPort?: number;
  /** Handlers' logs; default `<state>/logs/functions.log`. */
  readonly functionLogs?: LogSink;
  readonly out: (line: string) => void;
}

/** Starts the local cloud and derives its outputs; `close` stops it. */
export async function startLocalTarget(options: LocalTargetOptions): Promise<SmokeTarget> {
  const contractsDir = resolve(options.contractsDir ?? DEFAULT_CONTRACTS_DIR);
  const modelsDir = modelsDirFor(contractsDir, options.modelsDir);
  const temporary = options.stateDir === undefined;
  const stateDir = temporary
    ? mkdtempSync(join(tmpdir(), 'medallion-smoke-'))
    : resolve(options.stateDir as string);
  prepareState(stateDir, false);
  // The app depends on the code, contracts and models, not on the state: one cache for every run.
  const cacheDir = join(PROJECT_ROOT, '.medallion', 'cache');
  let cloud: LocalCloud | undefined;
  try {
    const app = loadLocalApp({ contractsDir, modelsDir, cacheDir });
    options.out(
      app.fromCache
        ? `app from the cache (${displayPath(cacheDir)})`
        : `synthesized the app in ${(app.ms / 1000).toFixed(1)} s (cached in ${displayPath(cacheDir)})`,
    );
    cloud = await startCloud({
      stateDir,
      contractsDir,
      s3Port: options.port ?? 0,
      apiPort: options.apiPort ?? 0,
      apiAuth: true,
      wiring: app.wiring,
      functionLogs: options.functionLogs ?? { file: join(stateDir, 'logs', 'functions.log') },
    });
    return localTarget(cloud, app, { stateDir, contractsDir, temporary });
  } catch (e) {
    await cloud?.stop();
    if (temporary) rmSync(stateDir, { recursive: true, force: true });
    throw e;
  }
}

function modelsDirFor(contractsDir: string, option: string | undefined): string {
  if (option !== undefined) return resolve(option);
  if (contractsDir === resolve(PROJECT_ROOT, DEFAULT_CONTRACTS_DIR))
    return resolve(PROJECT_ROOT, DEFAULT_MODELS_DIR);
  throw new PipelineUsageError(
    `the local smoke runs gold: pass --models DIR, the gold models for the contracts in ${displayPath(contractsDir)}`,
  );
}

function localTarget(
  cloud: LocalCloud,
  app: LocalApp,
  where: { stateDir: string; contractsDir: string; temporary: boolean },
): SmokeTarget {
  const { stateDir, contractsDir } = where;
  const region = cloud.env.AWS_REGION;
  const resolver = new TemplateResolver(app.template, {
    buckets: cloud.buckets,
    region,
    accountId: LOCAL_ACCOUNT,
  });
  const file = join(stateDir, 'smoke-outputs.json');
  writeStackOutputs(file, app.stackName, localOutputs(app.template, resolver, cloud));
  const { outputs } = readStackOutputs(file, app.stackName);
  return {
    description: `local cloud (S3 ${cloud.endpoints.s3}, API ${cloud.endpoints.api}, state ${displayPath(stateDir)})`,
    outputs,
    s3: cloud.s3,
    pollMs: 100,
    apiSigning: async () => ({ credentials: cloud.apiCredentials, region }),
    runGold: async (executionName) => {
      const run = await runGoldLocally({
        s3Endpoint: cloud.endpoints.s3,
        stateDir,
        buckets: cloud.buckets,
        template: app.template,
        executionName,
        invokeFunction: (id, payload) => cloud.invokeFunction(id, payload),
      });
      if (run.skipped)
        throw new Error(`skipped: another run in progress (${run.skipped.running.join(', ')})`);
      if (!run.ok) {
        // The first failed state says more than the execution's error (often "see the alarm topic").
        const first = run.history.find((e) => e.type === 'StateFailed');
        const where = first
          ? `; first failed state '${first.state}': ${first.error}: ${reasonOf(first.cause)}`
          : '';
        throw new Error(`${run.status}: ${run.error?.error}: ${run.error?.cause}${where}`.slice(0, 1000));
      }
      const tables = Object.keys(run.published);
      return `${executionName} ${run.status} in ${(run.timingsMs.total / 1000).toFixed(1)} s, published ${tables.join(', ') || 'no model'}`;
    },
    query: async (sql) => (await runQuery(sql, { stateDir, contractsDir })).rows,
    alarmTopicPolicy: async () => ({
      policy: topicPolicyOf(app.template, resolver, outputs.AlarmTopicArn),
      topic: { topicArn: outputs.AlarmTopicArn, account: LOCAL_ACCOUNT, region },
    }),
    close: async (failed) => {
      await cloud.stop();
      if (!where.temporary) return undefined;
      if (failed)
        return `state kept in ${stateDir} (the functions' logs: ${join(stateDir, 'logs', 'functions.log')})`;
      rmSync(stateDir, { recursive: true, force: true });
      return undefined;
    },
  };
}

/** The template's outputs resolved to the local cloud's names, the API and state machine its own. */
function localOutputs(
  template: CfnTemplate,
  resolver: TemplateResolver,
  cloud: LocalCloud,
): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    try {
      const value = resolver.resolve((output as { Value?: unknown }).Value);
      // `local-<logical id>` stands for what the local cloud does not run (a queue URL, a dashboard...).
      if (typeof value === 'string' && !/(^|[/:])local-/.test(value)) outputs[name] = value;
    } catch {
      // a value the resolver cannot express locally (none the smoke needs)
    }
  }
  if (cloud.endpoints.api) outputs.RecordsUrl = `${cloud.endpoints.api}/datasets/{dataset}/records`;
  else delete outputs.RecordsUrl;
  outputs.GoldStateMachineArn = `arn:aws:states:${resolver.region}:${resolver.accountId}:stateMachine:${LOCAL_STATE_MACHINE}`;
  return outputs;
}

/** The resolved document of the topic policy attached to the topic whose ARN is `topicArn`. */
function topicPolicyOf(template: CfnTemplate, resolver: TemplateResolver, topicArn: string): unknown {
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== 'AWS::SNS::TopicPolicy') continue;
    const topics = resolver.resolve(r.Properties?.Topics) as unknown[];
    if (Array.isArray(topics) && topics.includes(topicArn))
      return resolver.resolve(r.Properties?.PolicyDocument);
  }
  return undefined;
}

/** A failed Athena task's cause is its query execution (JSON): its state change reason says why. */
function reasonOf(cause: string | undefined): string {
  try {
    const parsed = JSON.parse(cause ?? '') as {
      QueryExecution?: { Status?: { StateChangeReason?: string } };
    };
    return parsed.QueryExecution?.Status?.StateChangeReason ?? String(cause);
  } catch {
    return String(cause ?? '');
  }
}
