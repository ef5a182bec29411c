/**
 * Runs the gold workflow offline: THE synthesized state machine (the definition `cdk synth` produces, see
 * `state-machine-definition.ts`) executed by aws-local-stepfunctions, and THE model SQL (the UNLOAD
 * statements the definition assembles at run time) executed by DuckDB against the local S3 server.
 *
 * Task states are overridden by state name (inside the Parallel waves too), chosen by their `Resource`:
 *   athena:startQueryExecution.sync  -> {@link LocalAthena} (UNLOAD -> DuckDB COPY -> local S3)
 *   aws-sdk:glue:getTable(s)/updateTable -> {@link LocalGlueCatalog} (JSON in `<stateDir>/gold/`)
 *   aws-sdk:glue:createTable/deleteTable -> {@link LocalGlueCatalog} (the tested models' staging tables)
 *   aws-sdk:athena:getQueryResults     -> {@link LocalAthena} (the rows of a SELECT it ran)
 *   sns:publish                       -> collected in the report's `alarms`
 *   aws-sdk:cloudwatch:putMetricData  -> collected in the report's `metrics`
 *   lambda:invoke                     -> `invokeFunction` (the local cloud runs the real handler)
 *   aws-sdk:sfn:listExecutions        -> {@link LocalExecutionRegistry} (the running local executions)
 * Any other task fails the run before it starts. Retry intervals are overridden to 0 (the retries
 * themselves run as defined). The execution's context carries `Execution.Name` (the version of every model
 * written by the run) and `Execution.Id`.
 *
 *   const report = await runGoldLocally({ s3Endpoint: cloud.endpoints.s3, stateDir, buckets: cloud.buckets });
 *   report.ok; report.models.daily_sales.location; report.published; report.alarms
 */
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { lineageSources } from '../../core/gold/lineage';
import { goldVersionPrefix } from '../../core/lake/layout';
import { sqlIdent } from '../../core/sql/quote';
import { createS3Client } from '../../lambdas/aws/s3';
import { localS3Env } from '../cloud/s3-server';
import { LocalRedshiftData } from '../redshift/redshift-data-api';
import { LocalAthena, type StartQueryExecutionInput } from './athena-on-duckdb';
import { LocalExecutionRegistry } from './execution-registry';
import { LocalGlueCatalog, parseS3Uri, type TableInput, type TableVersion } from './glue-catalog';
import {
  type AslDefinition,
  type CfnTemplate,
  goldDefinition,
  type LocalBuckets,
  synthesizeTemplate,
  TemplateResolver,
} from './state-machine-definition';

/** What an execution of the gold workflow may be started with. */
export interface GoldExecutionInput {
  /** Rebuild every partition of the incremental models (default: only those whose inputs changed). */
  readonly fullRefresh?: boolean;
}

export interface RunGoldOptions {
  /** The local S3 server (`http://127.0.0.1:<port>`). */
  readonly s3Endpoint: string;
  /** Where the catalog (`gold/glue-catalog.json`) and DuckDB's cache and scratch (`gold/athena/`) live. */
  readonly stateDir: string;
  /**
   * Local bucket names by layer (`silver`, `gold`, `athena-results`...): the local cloud's `buckets` fit.
   * Missing layers are `medallion-local-<layer>`. The gold and athena-results buckets are created if absent.
   */
  readonly buckets?: LocalBuckets;
  /** The synthesized stack template; default: synthesize `lib/medallion-app.ts` in-process. */
  readonly template?: CfnTemplate;
  /** When synthesizing: merged into the `medallion` configuration (e.g. `{ gold: { modelsDir } }`). */
  readonly config?: Record<string, unknown>;
  /** The execution's name, hence the version `v=<name>` of every model; default `local-<UTC timestamp>`. */
  readonly executionName?: string;
  /** Progress lines; default: none. */
  readonly out?: (line: string) => void;
  /**
   * Runs a template function (by logical id) on `payload` and returns its result, for `lambda:invoke`
   * tasks (the local cloud's `invokeFunction`). Without it, a definition that invokes a function fails
   * before it starts.
   */
  readonly invokeFunction?: (logicalId: string, payload: unknown) => Promise<unknown>;
  /**
   * The execution's input, as `StartExecution` would pass it: `{ fullRefresh: true }` rebuilds every
   * partition of the incremental models. Default `{}` (what the schedule sends has no `fullRefresh`).
   */
  readonly executionInput?: GoldExecutionInput;
}

export interface GoldModelRun {
  /** The version this run wrote: `s3://<gold>/<model>/v=<execution>/`. */
  readonly location: string;
  /** Rows written (undefined when the model's write did not succeed). */
  readonly rows?: number;
  /** Bytes of the tables its query read (see `UnloadResult.bytesRead`); undefined when it did not run. */
  readonly bytesRead?: number;
  readonly files: string[];
  /** UNLOADs submitted for this version: 1, plus one per retry (0 when the model did not run). */
  readonly attempts: number;
  /** How long its UNLOADs took (the model's own work, without the workflow around it). */
  readonly queryMs?: number;
  /** Whether the catalog now points at `location` (incremental: whether the run committed its partitions). */
  readonly published: boolean;
  /** An incremental model's plan: full, incremental or unchanged, why, and the dates it recomputed. */
  readonly plan?: { readonly mode: string; readonly reason: string; readonly dates: readonly string[] };
}

export interface GoldAlarm {
  readonly topicArn: string;
  readonly subject?: string;
  /** The message as the state machine built it (an object for the gold alarms). */
  readonly message: unknown;
}

/**
 * One step of the execution, as Step Functions' history would show it (the local runner's events):
 * states entered, failed, retried and caught, with the error of a failure.
 */
export interface GoldHistoryEvent {
  readonly type: 'StateEntered' | 'StateFailed' | 'StateRetried' | 'StateCaught' | 'ExecutionFailed';
  /** The state's name (none for `ExecutionFailed`). */
  readonly state?: string;
  readonly error?: string;
  /** The error's cause (for a failed Athena query: the query execution, as JSON, with its reason). */
  readonly cause?: string;
}

export interface GoldRunReport {
  readonly ok: boolean;
  readonly status: 'SUCCEEDED' | 'FAILED';
  /** Set when the run did nothing because other executions were running (single flight): their names. */
  readonly skipped?: { readonly running: string[] };
  readonly executionName: string;
  readonly executionArn: string;
  /** Why the execution failed. */
  readonly error?: { error: string; cause: string };
  readonly database: string;
  /** Per model (wave order): what this run wrote and whether it was published. */
  readonly models: Record<string, GoldModelRun>;
  /** Per gold table: the location the catalog publishes now (this run's or an earlier one). */
  readonly published: Record<string, string | undefined>;
  /** Per gold table: every location it was given, oldest first (the template's placeholder first). */
  readonly versions: Record<string, TableVersion[]>;
  /** Per gold table: the tables its model reads, as its catalog entry records them (its lineage). */
  readonly sources: Record<string, string[]>;
  readonly alarms: GoldAlarm[];
  readonly metrics: { Namespace: string; MetricData: unknown[] }[];
  /**
   * Milliseconds spent in each state, by name, summed over its entries (a state entered by several Map
   * iterations or Parallel branches at once counts each): where a run's time goes.
   */
  readonly stateMs: Record<string, number>;
  /** The execution's steps in order (branches of a Parallel interleave): which path it took. */
  readonly history: GoldHistoryEvent[];
  readonly timingsMs: { synth: number; run: number; total: number };
}

type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
type TaskHandler = (input: JsonValue) => Promise<JsonValue>;

/** aws-local-stepfunctions needs Node 22's `Promise.withResolvers`: provided here on Node 20. */
export function polyfillWithResolvers(): void {
  const P = Promise as unknown as { withResolvers?: () => unknown };
  if (typeof P.withResolvers === 'function') return;
  P.withResolvers = () => {
    let resolve!: (v: unknown) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

/** Every state of a definition, branches and Map iterators included: [name, state]. */
export function allStates(definition: Pick<AslDefinition, 'States'>): [string, Record<string, unknown>][] {
  const out: [string, Record<string, unknown>][] = [];
  for (const [name, state] of Object.entries(definition.States)) {
    out.push([name, state]);
    for (const branch of (state.Branches as AslDefinition[] | undefined) ?? [])
      out.push(...allStates(branch));
    const inner = (state.ItemProcessor ?? state.Iterator) as AslDefinition | undefined;
    if (inner) out.push(...allStates(inner));
  }
  return out;
}

/** The state a skipped execution ends in (lib/gold/single-flight.ts). */
const SKIPPED_STATE = 'skipped: another run in progress';

/** A name Step Functions accepts for an execution, from the time: `local-20261101T120000123Z`. */
export function defaultExecutionName(now = new Date()): string {
  return `local-${now.toISOString().replace(/[-:.]/g, '')}`;
}

export async function runGoldLocally(options: RunGoldOptions): Promise<GoldRunReport> {
  const t0 = Date.now();
  const out = options.out ?? (() => {});
  let synthMs = 0;
  let template = options.template;
  if (!template) {
    const synth = synthesizeTemplate({ config: options.config });
    template = synth.template;
    synthMs = synth.ms;
    out(`gold: synthesized the app in ${synthMs} ms`);
  }
  const resolver = new TemplateResolver(template, { buckets: options.buckets });
  const definition = goldDefinition(resolver);
  const goldBucket = resolver.bucketOf('gold');
  const workGroup = workGroupOutput(resolver);

  const s3 = createS3Client(localS3Env(options.s3Endpoint));
  // Ends this run's entry in the list of running executions (single flight), however the run ends.
  let endExecution: () => void = () => {};
  let redshift: LocalRedshiftData | undefined;
  try {
    for (const b of [goldBucket, workGroup ? parseS3Uri(workGroup).bucket : undefined]) {
      if (b) await ensureBucket(s3, b);
    }
    const catalog = new LocalGlueCatalog(`${options.stateDir}/gold/glue-catalog.json`, resolver.accountId);
    catalog.seedFromTemplate(resolver);
    const athena = new LocalAthena({
      s3,
      catalog,
      dir: `${options.stateDir}/gold/athena`,
      outputLocation: workGroup,
    });

    const executionName = options.executionName ?? defaultExecutionName();
    const stateMachineName = 'medallion-local-gold';
    const executionArn = `arn:aws:states:${resolver.region}:${resolver.accountId}:execution:${stateMachineName}:${executionName}`;
    const alarms: GoldAlarm[] = [];
    const metrics: { Namespace: string; MetricData: unknown[] }[] = [];

    // Tasks still running (a Parallel's other branches go on after one failed): awaited before returning.
    const inFlight = new Set<Promise<unknown>>();
    const track =
      (handler: (input: JsonValue) => unknown): TaskHandler =>
      (input) => {
        // Plain JSON values of this realm, as an SDK integration returns (see `cloneJson` in glue-catalog).
        const p = (async () => {
          const result = await handler(input);
          return (result === undefined ? null : JSON.parse(JSON.stringify(result))) as JsonValue;
        })();
        inFlight.add(p);
        p.then(
          () => inFlight.delete(p),
          () => inFlight.delete(p),
        );
        return p;
      };

    // Redshift Serverless, locally: PostgreSQL (PGlite) behind the Data API, when the workflow calls it.
    const usesRedshift = allStates(definition).some(([, st]) =>
      String(st.Resource ?? '').includes(':states:::aws-sdk:redshiftdata:'),
    );
    redshift = usesRedshift
      ? new LocalRedshiftData({ s3, catalog, dir: `${options.stateDir}/gold/redshift` })
      : undefined;
    const executions = new LocalExecutionRegistry(`${options.stateDir}/gold/executions`);
    let othersRunning: string[] = [];
    const handlers: Record<string, TaskHandler> = {};
    const retryIntervalOverrides: Record<string, number> = {};
    const models: { name: string; location: string }[] = [];
    const plans = new Map<string, NonNullable<GoldModelRun['plan']>>();
    const waitTimeOverrides: Record<string, number> = {};
    for (const [name, state] of allStates(definition)) {
      const params = state.Parameters as Record<string, unknown> | undefined;
      // A poll loop's Wait (Redshift's statements) takes no time here: the status check after it waits
      // instead, as long as the Wait would have, or until the statement ended (see `pollWaitMs`).
      if (state.Type === 'Wait') waitTimeOverrides[name] = 0;
      if (state.Type === 'Pass' && typeof params?.model === 'string') {
        models.push({
          name: params.model,
          location: `s3://${goldBucket}/${goldVersionPrefix(params.model, executionName)}`,
        });
      }
      if (state.Type !== 'Task') continue;
      retryIntervalOverrides[name] = 0;
      const resource = String(state.Resource).replace(/^arn:[^:]+:states:::/, '');
      switch (resource) {
        case 'athena:startQueryExecution.sync':
          handlers[name] = track((i) =>
            athena.startQueryExecutionSync(i as unknown as StartQueryExecutionInput),
          );
          break;
        case 'aws-sdk:glue:getTable':
          handlers[name] = track((i) => catalog.getTable(i as { DatabaseName: string; Name: string }));
          break;
        case 'aws-sdk:sfn:listExecutions':
          handlers[name] = track(() => {
            const running = executions.running();
            othersRunning = running.map((e) => e.Name).filter((n) => n !== executionName);
            return { Executions: running };
          });
          break;
        case 'aws-sdk:glue:getTables':
          handlers[name] = track((i) =>
            catalog.getTables(i as { DatabaseName: string; Expression?: string }),
          );
          break;
        case 'aws-sdk:glue:updateTable':
          handlers[name] = track((i) =>
            catalog.updateTable(i as unknown as { DatabaseName: string; TableInput: TableInput }),
          );
          break;
        case 'aws-sdk:glue:batchCreatePartition':
          handlers[name] = track((i) =>
            catalog.batchCreatePartition(
              i as unknown as Parameters<LocalGlueCatalog['batchCreatePartition']>[0],
            ),
          );
          break;
        case 'aws-sdk:glue:batchUpdatePartition':
          handlers[name] = track((i) =>
            catalog.batchUpdatePartition(
              i as unknown as Parameters<LocalGlueCatalog['batchUpdatePartition']>[0],
            ),
          );
          break;
        case 'aws-sdk:glue:batchDeletePartition':
          handlers[name] = track((i) =>
            catalog.batchDeletePartition(
              i as unknown as Parameters<LocalGlueCatalog['batchDeletePartition']>[0],
            ),
          );
          break;
        case 'aws-sdk:glue:getPartitions':
          handlers[name] = track((i) =>
            catalog.getPartitions(i as unknown as Parameters<LocalGlueCatalog['getPartitions']>[0]),
          );
          break;
        case 'aws-sdk:glue:createTable':
          handlers[name] = track((i) =>
            catalog.createTable(i as unknown as Parameters<LocalGlueCatalog['createTable']>[0]),
          );
          break;
        case 'aws-sdk:glue:deleteTable':
          handlers[name] = track((i) => catalog.deleteTable(i as { DatabaseName: string; Name: string }));
          break;
        case 'aws-sdk:redshiftdata:describeStatement': {
          const data = redshift as LocalRedshiftData;
          const waits = pollWaitMs(definition, name);
          const polls = new Map<string, number>();
          handlers[name] = track(async (i) => {
            const id = (i as { Id: string }).Id;
            const n = polls.get(id) ?? 0;
            polls.set(id, n + 1);
            await data.settled(id, waits(n));
            return data.describeStatement(i as { Id: string });
          });
          break;
        }
        case 'aws-sdk:redshiftdata:executeStatement':
        case 'aws-sdk:redshiftdata:batchExecuteStatement':
        case 'aws-sdk:redshiftdata:cancelStatement':
        case 'aws-sdk:redshiftdata:getStatementResult': {
          const data = redshift as LocalRedshiftData;
          const action = resource.split(':').at(-1) as RedshiftDataAction;
          handlers[name] = track((i) => (data[action] as (input: unknown) => unknown)(i));
          break;
        }
        case 'aws-sdk:athena:getQueryResults':
          handlers[name] = track((i) => athena.getQueryResults(i as { QueryExecutionId: string }));
          break;
        case 'sns:publish':
          handlers[name] = track((i) => {
            const p = i as { TopicArn: string; Subject?: string; Message: unknown };
            alarms.push({ topicArn: p.TopicArn, subject: p.Subject, message: p.Message });
            out(`gold: ALARM ${p.Subject ?? ''}`);
            return { MessageId: `local-${alarms.length}` };
          });
          break;
        case 'aws-sdk:cloudwatch:putMetricData':
          handlers[name] = track((i) => {
            metrics.push(i as unknown as { Namespace: string; MetricData: unknown[] });
            return {};
          });
          break;
        case 'lambda:invoke': {
          const invoke = options.invokeFunction;
          if (!invoke) {
            throw new Error(
              `gold: the state '${name}' invokes a Lambda function: pass invokeFunction (the local cloud's) to run it`,
            );
          }
          handlers[name] = track(async (i) => {
            const p = i as { FunctionName: string; Payload?: unknown };
            // Locally a function's ARN ends with its logical id (see TemplateResolver).
            const logicalId = String(p.FunctionName).split(':').at(-1) as string;
            const result = await invoke(logicalId, p.Payload ?? {});
            recordPlan(plans, p.Payload, result);
            return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: result ?? null };
          });
          break;
        }
        default:
          throw new Error(
            `gold: the state '${name}' calls ${String(state.Resource)}, which has no local emulation`,
          );
      }
    }

    polyfillWithResolvers();
    const { StateMachine } = require('aws-local-stepfunctions') as typeof import('aws-local-stepfunctions');
    const machine = new StateMachine(definition as never);
    const tRun = Date.now();
    const stateMachineArn = `arn:aws:states:${resolver.region}:${resolver.accountId}:stateMachine:${stateMachineName}`;
    endExecution = executions.begin({
      ExecutionArn: executionArn,
      StateMachineArn: stateMachineArn,
      Name: executionName,
      StartDate: new Date(tRun).toISOString(),
    });
    out(`gold: execution ${executionName}: ${models.map((m) => m.name).join(', ')}`);
    const executionInput = options.executionInput ?? {};
    // Copies: the runner changes its input object in place, and `$$.Execution.Input` must stay as started.
    const execution = machine.run(structuredClone(executionInput) as never, {
      overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides, waitTimeOverrides },
      context: {
        Execution: {
          Id: executionArn,
          Name: executionName,
          StartTime: new Date(tRun).toISOString(),
          Input: structuredClone(executionInput) as never,
          RoleArn: `arn:aws:iam::${resolver.accountId}:role/medallion-local-gold`,
        },
        StateMachine: { Id: stateMachineArn, Name: stateMachineName },
      },
    });
    const history: GoldHistoryEvent[] = [];
    const stateMs: Record<string, number> = {};
    const recorded = recordHistory(execution.eventLogs, history, stateMs);
    let error: { error: string; cause: string } | undefined;
    try {
      await execution.result;
    } catch (e) {
      const err = e as Error & { cause?: unknown };
      const inner = err.cause as { name?: string; message?: string } | undefined;
      error = { error: inner?.name ?? err.name, cause: inner?.message ?? err.message };
    }
    // Let branches that outlived a failed one finish, so nothing writes after this returns.
    do {
      await Promise.allSettled([...inFlight]);
      await new Promise((r) => setTimeout(r, 20));
    } while (inFlight.size > 0);
    await recorded;
    const runMs = Date.now() - tRun;

    const unloads = engineUnloads(athena, redshift);
    const report: GoldRunReport = {
      ok: error === undefined,
      status: error === undefined ? 'SUCCEEDED' : 'FAILED',
      executionName,
      executionArn,
      ...(error ? { error } : {}),
      ...(history.some((e) => e.type === 'StateEntered' && e.state === SKIPPED_STATE)
        ? { skipped: { running: othersRunning } }
        : {}),
      database: databaseOf(resolver),
      models: Object.fromEntries(
        models.map((m) => {
          const plan = plans.get(m.name);
          if (plan) return [m.name, incrementalRun(m, plan, unloads, history)];
          const unload = unloads.under(m.location)[0];
          const published = catalog.location(databaseOf(resolver), m.name) === m.location;
          return [
            m.name,
            {
              location: m.location,
              rows: unload?.rows,
              bytesRead: unload?.bytesRead,
              ...(unload ? { queryMs: unload.ms } : {}),
              files: unload?.files ?? [],
              attempts: unloads.attempts(m.location),
              published,
            },
          ];
        }),
      ),
      published: Object.fromEntries(
        models.map((m) => [m.name, catalog.location(databaseOf(resolver), m.name)]),
      ),
      versions: Object.fromEntries(
        models.map((m) => [m.name, catalog.versions(databaseOf(resolver), m.name)]),
      ),
      sources: Object.fromEntries(
        models.map((m) => {
          try {
            const table = catalog.getTable({ DatabaseName: databaseOf(resolver), Name: m.name }).Table;
            return [m.name, lineageSources(table.Parameters as Record<string, string> | undefined)];
          } catch {
            return [m.name, []];
          }
        }),
      ),
      alarms,
      metrics,
      history,
      stateMs,
      timingsMs: { synth: synthMs, run: runMs, total: Date.now() - t0 },
    };
    for (const [name, m] of Object.entries(report.models)) {
      out(`gold: ${name.padEnd(28)} ${m.published ? 'published' : 'NOT published'} ${m.rows ?? '-'} row(s)`);
    }
    if (report.skipped) out(`gold: skipped, run ${report.skipped.running.join(', ')} in progress`);
    out(`gold: ${report.status} in ${runMs} ms${error ? ` (${error.error})` : ''}`);
    // The download cache keeps what a complete run read (the next run reads much the same), nothing older.
    if (report.ok && !report.skipped) athena.pruneCache();
    return report;
  } finally {
    endExecution();
    await redshift?.close();
    s3.destroy();
  }
}

/** Keeps the plan an incremental model's planner returned (`{ action: 'plan', model: { name } }`). */
function recordPlan(
  plans: Map<string, NonNullable<GoldModelRun['plan']>>,
  payload: unknown,
  result: unknown,
): void {
  const call = payload as { action?: unknown; model?: { name?: unknown } } | undefined;
  const plan = result as { mode?: unknown; reason?: unknown; dates?: unknown } | undefined;
  if (call?.action !== 'plan' || typeof call.model?.name !== 'string' || typeof plan?.mode !== 'string')
    return;
  plans.set(call.model.name, {
    mode: plan.mode,
    reason: String(plan.reason ?? ''),
    dates: Array.isArray(plan.dates) ? plan.dates.map(String) : [],
  });
}

/**
 * An incremental model's run: its UNLOADs (one per batch, under the version), and whether it committed
 * (its commit state was entered and nothing of it failed afterwards: no alarm).
 */
function incrementalRun(
  m: { name: string; location: string },
  plan: NonNullable<GoldModelRun['plan']>,
  engine: EngineUnloads,
  history: readonly GoldHistoryEvent[],
): GoldModelRun {
  const unloads = engine.under(m.location);
  const attempts = engine.attempts(m.location);
  const ofModel = (e: GoldHistoryEvent) => e.state?.startsWith(`${m.name}: `) === true;
  const committed = history.some((e) => e.type === 'StateEntered' && e.state === `${m.name}: commit`);
  const alarmed = history.some((e) => e.type === 'StateEntered' && e.state === `${m.name}: alarm`);
  return {
    location: m.location,
    rows:
      unloads.length === 0
        ? plan.mode === 'unchanged'
          ? 0
          : undefined
        : unloads.reduce((n, u) => n + u.rows, 0),
    bytesRead: unloads.reduce((n, u) => n + u.bytesRead, 0),
    queryMs: unloads.reduce((n, u) => n + u.ms, 0),
    files: unloads.flatMap((u) => u.files),
    attempts,
    published: committed && !alarmed && !history.some((e, i) => unhandledFailure(history, i) && ofModel(e)),
    plan,
  };
}

/** What either engine unloaded under a version (Redshift reads no catalog bytes it counts: 0). */
interface EngineUnloads {
  under(location: string): { rows: number; bytesRead: number; ms: number; files: string[] }[];
  /** UNLOADs submitted under the location (Athena counts retries; a Redshift statement counts once). */
  attempts(location: string): number;
}

function engineUnloads(athena: LocalAthena, redshift: LocalRedshiftData | undefined): EngineUnloads {
  const redshiftUnder = (location: string) =>
    [...(redshift?.unloads.values() ?? [])]
      .filter((u) => u.location.startsWith(location))
      .sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
  return {
    under: (location) => [
      ...athena.unloadsUnder(location),
      ...redshiftUnder(location).map((u) => ({ rows: u.rows, bytesRead: 0, ms: u.ms, files: u.files })),
    ],
    attempts: (location) =>
      [...athena.submissions].filter(([l]) => l.startsWith(location)).reduce((n, [, c]) => n + c, 0) +
      redshiftUnder(location).length,
  };
}

/**
 * How long the status check `<name> status` of a Redshift poll loop waits for its statement, by poll: as
 * long as the Wait before it would have (`<name> wait`, or `<name> wait longer` once the polls reach the
 * `<name> timed out?` choice's `NumericLessThan`), read from the definition.
 */
function pollWaitMs(definition: AslDefinition, statusState: string): (poll: number) => number {
  const base = statusState.replace(/ status$/, '');
  const states = new Map(allStates(definition));
  const seconds = (state: string) => Number(states.get(state)?.Seconds ?? 0);
  const choices = (states.get(`${base} timed out?`)?.Choices ?? []) as { NumericLessThan?: number }[];
  const quick =
    choices.find((c) => c.NumericLessThan !== undefined)?.NumericLessThan ?? Number.POSITIVE_INFINITY;
  const [short, long] = [seconds(`${base} wait`), seconds(`${base} wait longer`) || seconds(`${base} wait`)];
  return (poll) => 1000 * (poll < quick ? short : long);
}

type RedshiftDataAction =
  | 'executeStatement'
  | 'batchExecuteStatement'
  | 'describeStatement'
  | 'cancelStatement'
  | 'getStatementResult';

/**
 * Whether `history[i]` is a state's failure that was neither retried nor caught (the state's next event
 * is not StateRetried/StateCaught): a caught one (a staging table absent on the first run) is a path.
 */
function unhandledFailure(history: readonly GoldHistoryEvent[], i: number): boolean {
  const failed = history[i];
  if (failed.type !== 'StateFailed') return false;
  const next = history.slice(i + 1).find((e) => e.state === failed.state);
  return next?.type !== 'StateRetried' && next?.type !== 'StateCaught';
}

/** The runner's event log as {@link GoldHistoryEvent}s; resolves when the execution's log closes. */
async function recordHistory(
  events: AsyncIterable<{
    type: string;
    timestamp?: number;
    state?: { name: string };
    Error?: string;
    Cause?: unknown;
  }>,
  into: GoldHistoryEvent[],
  stateMs: Record<string, number>,
): Promise<void> {
  // Entries of each state not exited yet (Map iterations and Parallel branches enter a state several times).
  const entered = new Map<string, number[]>();
  const kept = new Set<string>([
    'StateEntered',
    'StateFailed',
    'StateRetried',
    'StateCaught',
    'ExecutionFailed',
  ]);
  for await (const e of events) {
    const name = e.state?.name;
    if (name !== undefined && e.timestamp !== undefined) {
      if (e.type === 'StateEntered') entered.set(name, [...(entered.get(name) ?? []), e.timestamp]);
      else if (e.type === 'StateExited' || e.type === 'StateFailed') {
        const [start, ...rest] = entered.get(name) ?? [];
        entered.set(name, rest);
        if (start !== undefined) stateMs[name] = (stateMs[name] ?? 0) + (e.timestamp - start);
      }
    }
    if (!kept.has(e.type)) continue;
    into.push({
      type: e.type as GoldHistoryEvent['type'],
      ...(e.state ? { state: e.state.name } : {}),
      ...(e.Error ? { error: e.Error } : {}),
      ...(e.Cause ? { cause: typeof e.Cause === 'string' ? e.Cause : JSON.stringify(e.Cause) } : {}),
    });
  }
}

/**
 * The rows of every gold table as published now (what a reader would see), read with the same local
 * Athena the run uses (e.g. `tables: Object.keys(report.models)`).
 */
export async function readGoldTables(
  options: GoldTablesOptions,
): Promise<Record<string, Record<string, unknown>[]>> {
  return withLocalAthena(options, async (athena) => {
    const out: Record<string, Record<string, unknown>[]> = {};
    for (const t of options.tables) out[t] = await athena.readTable(options.database, t);
    return out;
  });
}

interface GoldTablesOptions {
  readonly s3Endpoint: string;
  readonly stateDir: string;
  readonly database: string;
  readonly tables: string[];
}

/** A local Athena over the run's catalog (what a reader sees now), closed after `work`. */
async function withLocalAthena<T>(
  options: { readonly s3Endpoint: string; readonly stateDir: string },
  work: (athena: LocalAthena) => Promise<T>,
): Promise<T> {
  const s3 = createS3Client(localS3Env(options.s3Endpoint));
  try {
    const catalog = new LocalGlueCatalog(`${options.stateDir}/gold/glue-catalog.json`);
    return await work(new LocalAthena({ s3, catalog, dir: `${options.stateDir}/gold/athena` }));
  } finally {
    s3.destroy();
  }
}

/**
 * Per gold table: its row count and its first `limit` rows in a stable order, without reading every row
 * (a summary of a large table should not cost a full scan into JavaScript objects).
 */
/** The row count of each table (as published now), one query each. */
export async function countTables(options: GoldTablesOptions): Promise<Record<string, number>> {
  return withLocalAthena(options, async (athena) => {
    const out: Record<string, number> = {};
    for (const t of options.tables) {
      const [counted] = await athena.query(
        `SELECT count(*) AS n FROM ${sqlIdent(options.database)}.${sqlIdent(t)}`,
        options.database,
      );
      out[t] = Number(counted?.n ?? 0);
    }
    return out;
  });
}

export async function previewGoldTables(
  options: GoldTablesOptions & { readonly limit: number },
): Promise<Record<string, { count: number; rows: Record<string, unknown>[] }>> {
  return withLocalAthena(options, async (athena) => {
    const out: Record<string, { count: number; rows: Record<string, unknown>[] }> = {};
    for (const t of options.tables) {
      const table = `${sqlIdent(options.database)}.${sqlIdent(t)}`;
      const [counted] = await athena.query(`SELECT count(*) AS n FROM ${table}`, options.database);
      const rows = await athena.query(
        `SELECT * FROM ${table} ORDER BY ALL LIMIT ${Math.max(0, Math.floor(options.limit))}`,
        options.database,
      );
      out[t] = { count: Number(counted?.n ?? 0), rows };
    }
    return out;
  });
}

/** Rows as an aligned text table (for the CLI); `total` is the table's row count when `rows` is a sample. */
export function formatRows(rows: Record<string, unknown>[], limit = 20, total = rows.length): string[] {
  if (rows.length === 0) return ['  (no rows)'];
  const columns = Object.keys(rows[0]);
  const shown = rows.slice(0, limit).map((r) => columns.map((c) => (r[c] === null ? 'NULL' : String(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...shown.map((r) => r[i].length)));
  const line = (cells: string[]) => `  ${cells.map((v, i) => v.padEnd(widths[i])).join('  ')}`.trimEnd();
  const lines = [line(columns), ...shown.map(line)];
  if (total > limit) lines.push(`  ... ${total - limit} more row(s)`);
  return lines;
}

function databaseOf(resolver: TemplateResolver): string {
  for (const r of Object.values(resolver.template.Resources)) {
    if (r.Type === 'AWS::Glue::Database')
      return (resolver.resolve(r.Properties?.DatabaseInput) as { Name: string }).Name;
  }
  throw new Error('the template declares no Glue database');
}

/** The Athena workgroup's result location, if the template has a workgroup with one. */
function workGroupOutput(resolver: TemplateResolver): string | undefined {
  for (const r of Object.values(resolver.template.Resources)) {
    if (r.Type !== 'AWS::Athena::WorkGroup') continue;
    const config = resolver.resolve(r.Properties?.WorkGroupConfiguration) as {
      ResultConfiguration?: { OutputLocation?: string };
    };
    const location = config?.ResultConfiguration?.OutputLocation;
    if (location) return location.endsWith('/') ? location : `${location}/`;
  }
  return undefined;
}

async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    const name = (e as Error).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw e;
  }
}
