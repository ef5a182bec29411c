/**
 * The pipeline's AWS account, in one process: a local S3 server holding the four buckets, the landing and
 * bronze-to-silver Lambda handlers (the real modules, loaded after their environment is set), the wiring
 * between them, and the ingest API over HTTP. Everything binds to 127.0.0.1 only.
 *
 *   landing bucket  ObjectCreated  --------------------------------------------->  landing.s3Handler
 *   POST /datasets/{dataset}/records  (API Gateway proxy event)  ------------------>  landing.apiHandler
 *   bronze bucket   ObjectCreated (keys not under `_`)  ->  queue (SQS-like, DLQ)  ->  bronze-to-silver.handler
 *
 * None of this is written here: buckets, routes (bucket, event names, prefix AND suffix filters,
 * destination function or queue), queues (redrive, batch size), which handler module and export each
 * function runs, and the functions' environment all come from the synthesized CDK template
 * (`template-wiring.ts`, cached under `<stateDir>/cache`). The picture above is what the template says today.
 *
 * This file composes the parts, each in its own module: the handlers' environment (`function-env.ts`),
 * the handlers and one invocation of them (`local-functions.ts`), S3 notifications to functions and queues
 * (`notification-router.ts`), S3's retried invocation of a function (`async-invocation.ts`), the queues a
 * function drains (`queue-consumers.ts`), and the HTTP API (`api-gateway.ts`).
 */

import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { loadContracts } from '../../core/contracts/load-contracts';
import { createS3Client } from '../../lambdas/aws/s3';
import type { ReconcileReport } from '../../lambdas/reconciler/reconcile';
import type { GoldEngineName } from '../../lib/config';
import { DEFAULT_CONTRACTS_DIR, DEFAULT_STATE_DIR } from '../command-defaults';
import { CloudMetricsRecorder } from '../monitoring/cloud-metrics';
import { LocalMetrics } from '../monitoring/local-metrics';
import { Activity } from './activity';
import { type ApiCredentials, ingestEvent, LocalApiServer } from './api-gateway';
import { asyncInvoker, type LandedObject, type LandingFailure } from './async-invocation';
import { cacheDirOf } from './cache-dir';
import { handlerEnv, restoreEnv, setProcessEnv } from './function-env';
import { type FunctionLogEntry, FunctionLogs, type LogSink } from './lambda-runtime';
import { LocalFunctions, usedFunctions } from './local-functions';
import type { DeadLetter, LocalQueue } from './local-queue';
import { LocalReconciler } from './local-reconciler';
import { NotificationRouter, objectCreatedEvent } from './notification-router';
import {
  drainedQueues,
  MessageErrors,
  objectsIn,
  type TransformedObject,
  type TransformFailure,
} from './queue-consumers';
import { LocalS3Server } from './s3-server';
import { acquireStateLock, type StateLock } from './state-lock';
import { type LocalWiring, loadLocalWiring, wiringKey } from './template-wiring';

export type BucketRole = 'landing' | 'bronze' | 'silver' | 'quarantine';
export const BUCKET_ROLES: readonly BucketRole[] = ['landing', 'bronze', 'silver', 'quarantine'];

export const DEFAULT_S3_PORT = 4566;
export const DEFAULT_API_PORT = 4567;

export interface LocalCloudOptions {
  /** Where buckets, scratch space and logs live; default `.medallion/local`. Not wiped here. */
  readonly stateDir?: string;
  /** Contracts the handlers load; default `samples/contracts`. */
  readonly contractsDir?: string;
  /**
   * The gold engine of the deployment emulated (its gold planner writes statements for it).
   * @default 'athena'
   */
  readonly goldEngine?: GoldEngineName;
  /** S3 port on 127.0.0.1; default 4566, 0 for any free port. */
  readonly s3Port?: number;
  /** Ingest API port on 127.0.0.1; default 4567, 0 for any free port, null for no HTTP server. */
  readonly apiPort?: number | null;
  /**
   * Require AWS_IAM on the HTTP API as the deployed one does: requests must be SigV4-signed for
   * `execute-api` in the cloud's region with `apiCredentials` (the handlers' AWS credentials); default off.
   */
  readonly apiAuth?: boolean;
  /** Bucket names are `<prefix>-<role>`; default `medallion-local`. */
  readonly bucketPrefix?: string;
  /** AWS_REGION of the handlers and the region in event records; default us-east-1. */
  readonly region?: string;
  /** Account id in ARNs; default 000000000000. */
  readonly accountId?: string;
  /** MEDALLION_PII_HASH_SALT; default `local-dev-salt`. */
  readonly piiSalt?: string;
  /**
   * MEDALLION_ENGINE_MEMORY_LIMIT; default: the template's (sized for the Lambda function's memory), capped
   * at a quarter of this machine's memory.
   */
  readonly engineMemoryLimit?: string;
  /** MEDALLION_ENGINE_THREADS; default: the handler's (every core). */
  readonly engineThreads?: number;
  /** SQS redrive policy; default 3. */
  readonly maxReceiveCount?: number;
  /** SQS event source batch size; default 10. */
  readonly batchSize?: number;
  /**
   * Batches the transform works on at once. Default: the event source's maximum concurrency from the
   * template, at most one per core (the instances share this process, unlike Lambda's).
   */
  readonly transformConcurrency?: number;
  /** Retries of a failed S3-triggered landing invocation (Lambda async invocation); default 2. */
  readonly landingRetries?: number;
  /** Pause before a retry (and SQS visibility timeout); default 50 ms. */
  readonly retryDelayMs?: number;
  /** Handlers' console output: 'inherit', a line sink, or (default) `<stateDir>/logs/functions.log`. */
  readonly functionLogs?: LogSink | { file: string };
  /** More variables for the handlers (override the defaults). */
  readonly extraEnv?: Record<string, string>;
  /** The wiring to run; default: derived from the synthesized CDK app (see `template-wiring.ts`). */
  readonly wiring?: LocalWiring;
  /**
   * Look for stranded uploads and bronze objects at start-up (anything older than the cloud with no event
   * on its way) and on the template's reconciler schedule, and re-drive them; default true.
   */
  readonly reconcile?: boolean;
  /** Where the derived wiring is cached; default `<stateDir>/cache`. */
  readonly wiringCacheDir?: string;
  /** Told before the CDK app is synthesized (no cached wiring): seconds during which the process is busy. */
  readonly onSynthesizing?: () => void;
  /** Told how the wiring was obtained (synthesized or cached, and how long it took). */
  readonly onWiring?: (info: { fromCache: boolean; ms: number; synthMs: number }) => void;
  /**
   * Who holds the state directory, as another command refused it will be told.
   * @default `medallion <the command line's first argument>`
   */
  readonly command?: string;
}

export interface LocalCloudEvents {
  /** An upload in the landing bucket was handled by the landing function. */
  landed: LandedObject;
  /** The landing function failed on an upload, every retry included. */
  'landing-failed': LandingFailure;
  /** The transform function processed a bronze object (its message was deleted). */
  transformed: TransformedObject;
  /** A transform message failed a receive. */
  'transform-failed': TransformFailure;
  'dead-lettered': DeadLetter;
  /** A reconciliation ran (at start-up, then on schedule); `stranded` objects were re-driven. */
  reconciled: ReconcileReport & { readonly startup: boolean };
  /** A reconciliation failed (it is tried again on schedule, and at the next start). */
  'reconcile-failed': { readonly error: string };
}

/** What `start` sets up before the cloud exists; `stop` takes it down. */
interface Parts {
  readonly s3Server: LocalS3Server;
  readonly apiServer: LocalApiServer | undefined;
  readonly functions: LocalFunctions;
  readonly logs: FunctionLogs;
  readonly logFile: WriteStream | undefined;
  readonly savedEnv: Map<string, string | undefined>;
  readonly messageErrors: MessageErrors;
  /** This process's hold on the state directory (see `state-lock.ts`). */
  readonly stateLock: StateLock;
  /** Records the metrics of the run (see {@link LocalCloud.metrics}). */
  readonly metrics: CloudMetricsRecorder;
}

const ACTIVE: unique symbol = Symbol.for('medallion.local.activeCloud');
type GlobalWithActive = typeof globalThis & { [ACTIVE]?: boolean };

export class LocalCloud {
  /** Local bucket names by role: the four of the pipeline, and every other bucket of the template. */
  readonly buckets: Readonly<Record<BucketRole, string>> & Readonly<Record<string, string>>;
  /** What the local cloud runs, as derived from the template. */
  readonly wiring: LocalWiring;
  readonly stateDir: string;
  readonly contractsDir: string;
  /** The variables the handlers run with (S3 endpoint, buckets, contracts...). */
  readonly env: Readonly<Record<string, string>>;
  readonly endpoints: { readonly s3: string; readonly api?: string };

  private readonly activity = new Activity();
  private readonly failures: LandingFailure[] = [];
  private readonly listeners = new Map<keyof LocalCloudEvents, Set<(e: never) => void>>();
  private readonly logListeners = new Set<(entry: FunctionLogEntry) => void>();
  /** Local queues by logical id (those an event source mapping drains). */
  private readonly queues: Map<string, LocalQueue>;
  private readonly router: NotificationRouter;
  private reconciler: LocalReconciler | undefined;
  private startupReport: (ReconcileReport & { readonly startup: boolean }) | undefined;
  private reconcileError: string | undefined;
  private client: S3Client | undefined;
  private stopped = false;

  /** Wires the loaded functions: the queues they drain, and the S3 notifications to them. */
  private constructor(
    options: LocalCloudOptions,
    private readonly parts: Parts,
    setup: {
      wiring: LocalWiring;
      buckets: Record<BucketRole, string> & Record<string, string>;
      stateDir: string;
      contractsDir: string;
      env: Record<string, string>;
      s3: string;
    },
  ) {
    this.wiring = setup.wiring;
    this.buckets = setup.buckets;
    this.stateDir = setup.stateDir;
    this.contractsDir = setup.contractsDir;
    this.env = setup.env;
    this.endpoints = { s3: setup.s3 };
    const { functions } = parts;
    this.queues = drainedQueues(this.wiring, functions, {
      bucketPrefix: bucketPrefix(options),
      batchSize: options.batchSize,
      maxReceiveCount: options.maxReceiveCount,
      transformConcurrency: options.transformConcurrency,
      retryDelayMs: options.retryDelayMs,
      // Queued and in-flight messages survive a kill: the next start on this state finishes them.
      journalDir: join(setup.stateDir, 'queues'),
      // Restored messages wait until the cloud is up (logs captured, listeners attached): see `start`.
      startPaused: true,
      activity: this.activity,
      errors: parts.messageErrors,
      onTransformed: (o) => this.emit('transformed', o),
      onTransformFailed: (f) => this.emit('transform-failed', f),
      onDeadLettered: (d) => this.emit('dead-lettered', d),
    });
    this.router = new NotificationRouter(
      this.wiring.routes,
      {
        queues: this.queues,
        function: (logicalId) => {
          const fn = functions.get(logicalId);
          return asyncInvoker(fn, {
            functions,
            retries: options.landingRetries ?? fn.retryAttempts,
            delayMs: options.retryDelayMs ?? 50,
            activity: this.activity,
            onLanded: (o) => this.emit('landed', o),
            onFailed: (f) => {
              this.failures.push(f);
              parts.metrics.asyncInvocationsFailed(logicalId);
              this.emit('landing-failed', f);
            },
          });
        },
      },
      this.env.AWS_REGION,
    );
    parts.s3Server.onEvent((event) => this.router.dispatch(event));
    // Failure queues' depths from the start (restored dead letters included), then at each change.
    for (const r of this.wiring.routes)
      if (r.destination.type === 'function') parts.metrics.asyncInvocationsFailed(r.destination.logicalId, 0);
    this.recordDeadLetterDepths();
    this.on('dead-lettered', () => this.recordDeadLetterDepths());
  }

  /** Starts the servers, sets the handlers' environment, loads them and wires the events. */
  static async start(options: LocalCloudOptions = {}): Promise<LocalCloud> {
    const g = globalThis as GlobalWithActive;
    if (g[ACTIVE])
      throw new Error('a local cloud is already running in this process (the environment is global)');
    g[ACTIVE] = true;
    const cleanup: (() => Promise<void> | void)[] = [
      () => {
        g[ACTIVE] = false;
      },
    ];
    const undo = async () => {
      for (const step of cleanup.reverse()) await step();
    };
    try {
      const stateDir = resolve(options.stateDir ?? DEFAULT_STATE_DIR);
      const contractsDir = resolve(options.contractsDir ?? DEFAULT_CONTRACTS_DIR);
      for (const dir of ['s3', 'scratch', 'logs']) mkdirSync(join(stateDir, dir), { recursive: true });
      // Before anything reads the state (the queue journal above all): one cloud per state directory.
      const stateLock = await acquireStateLock(
        stateDir,
        options.command ?? `medallion ${process.argv[2] ?? ''}`.trim(),
      );
      cleanup.push(() => stateLock.release());
      const wiring = wiringFor(options, contractsDir, stateDir);
      const buckets = bucketsOf(wiring);
      const used = usedFunctions(wiring);

      const s3Server = new LocalS3Server();
      const { endpoint } = await s3Server.start({
        port: options.s3Port ?? DEFAULT_S3_PORT,
        directory: join(stateDir, 's3'),
        buckets: Object.values(buckets),
      });
      cleanup.push(() => s3Server.stop());

      const env = handlerEnv(used, {
        s3Endpoint: endpoint,
        contractsDir,
        scratchDir: join(stateDir, 'scratch'),
        piiSalt: options.piiSalt ?? 'local-dev-salt',
        engineMemoryLimit: options.engineMemoryLimit,
        engineThreads: options.engineThreads,
        region: options.region,
        extraEnv: options.extraEnv,
      });
      const savedEnv = setProcessEnv(env);
      cleanup.push(() => restoreEnv(savedEnv));

      let logFile: WriteStream | undefined;
      let sink: LogSink;
      const logOption = options.functionLogs ?? { file: join(stateDir, 'logs', 'functions.log') };
      if (typeof logOption === 'object') {
        const stream = createWriteStream(logOption.file, { flags: 'a' });
        logFile = stream;
        sink = (line) => stream.write(`${line}\n`);
        cleanup.push(() => closeStream(stream));
      } else sink = logOption;
      const messageErrors = new MessageErrors();
      const metrics = new CloudMetricsRecorder(new LocalMetrics(), { bucketPrefix: bucketPrefix(options) });
      let cloud: LocalCloud | undefined;
      const logs = new FunctionLogs(sink, (entry) => {
        messageErrors.remember(entry);
        metrics.metrics.recordLogLine(entry.message);
        for (const listener of cloud?.logListeners ?? []) listener(entry);
      });
      const functions = new LocalFunctions(
        wiring,
        {
          bucketPrefix: bucketPrefix(options),
          region: env.AWS_REGION,
          accountId: options.accountId ?? '000000000000',
        },
        logs,
        (outcome) => metrics.invocation(outcome),
      );
      functions.load(env);

      const apiServer =
        options.apiPort === null || !wiring.apiFunction
          ? undefined
          : new LocalApiServer((event) => (cloud as LocalCloud).invokeApi(event), {
              auth: options.apiAuth
                ? { credentials: [apiCredentials(env)], region: env.AWS_REGION }
                : undefined,
            });
      cloud = new LocalCloud(
        options,
        { s3Server, apiServer, functions, logs, logFile, savedEnv, messageErrors, stateLock, metrics },
        { wiring, buckets, stateDir, contractsDir, env, s3: endpoint },
      );
      if (apiServer) {
        const api = await apiServer.start(options.apiPort ?? DEFAULT_API_PORT);
        cleanup.push(() => apiServer.stop());
        (cloud.endpoints as { api?: string }).api = api.endpoint;
      }
      logs.install();
      // Queued work restored from the journal is on its way; the rest of what the state holds is checked.
      if (options.reconcile ?? true) await cloud.startReconciler();
      // Delivery starts on a later turn, after the caller's listeners are attached.
      for (const queue of cloud.queues.values()) queue.resume();
      return cloud;
    } catch (e) {
      await undo();
      throw e;
    }
  }

  /** The credentials a caller signs API requests with when `apiAuth` is on. */
  get apiCredentials(): ApiCredentials {
    return apiCredentials(this.env);
  }

  /** An S3 client for the local buckets (closed by `stop`). */
  get s3(): S3Client {
    this.client ??= createS3Client(this.env);
    return this.client;
  }

  /** Messages the transform gave up on, with the last error it logged for each. */
  get deadLetters(): readonly DeadLetter[] {
    return [...this.queues.values()].flatMap((q) =>
      q.deadLetters.map((d) => this.parts.messageErrors.explain(d)),
    );
  }

  /**
   * Sends S3's notification for an existing object again, as if it had just been created
   * (`ObjectCreated:Put`), to the routes that deliver to a queue (e.g. bronze -> the transform queue).
   * Returns how many messages were sent (0: no queue route matches the key).
   */
  async renotify(bucket: string, key: string): Promise<number> {
    const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return this.router.dispatch(objectCreatedEvent(bucket, key, head, this.env.AWS_REGION), 'queue');
  }

  /** Runs the start-up reconciliation and schedules the next ones (see local-reconciler.ts). */
  private async startReconciler(): Promise<void> {
    this.reconciler = new LocalReconciler({
      s3: this.s3,
      buckets: this.buckets,
      contracts: loadContracts(this.contractsDir),
      router: this.router,
      region: this.env.AWS_REGION,
      wired: this.wiring.reconciler,
      queuedKeys: () => this.queuedKeys(),
      track: (work) => this.activity.track(work),
      onReconciled: (report) => {
        if (report.startup) this.startupReport = report;
        // The scheduled runs only: the start-up one finds what a stopped local process lost (events live
        // in memory here), which is no AWS alarm.
        else this.parts.metrics.stranded(report.stranded);
        this.reconcileError = undefined;
        this.emit('reconciled', report);
      },
      onFailed: (error) => {
        this.reconcileError = error;
        this.emit('reconcile-failed', { error });
      },
    });
    await this.reconciler.start();
  }

  /** What the start-up reconciliation found and re-drove (undefined when it did not run or failed). */
  get startupReconciliation(): (ReconcileReport & { readonly startup: boolean }) | undefined {
    return this.startupReport;
  }

  /** Why the last reconciliation failed, until one succeeds (a failed start-up one is retried every 5 s). */
  get reconciliationError(): string | undefined {
    return this.reconcileError;
  }

  /** `<bucket>/<key>` of every object a queue holds a message for (queued, in flight or dead-lettered). */
  private queuedKeys(): Set<string> {
    const keys = new Set<string>();
    for (const queue of this.queues.values())
      for (const body of queue.pendingBodies())
        for (const o of objectsIn({ body })) keys.add(`${o.bucket}/${o.key}`);
    return keys;
  }

  /** Each queue a function drains: messages it holds (queued, waiting or in flight) and its dead letters. */
  get queueDepths(): { readonly name: string; readonly depth: number; readonly deadLetters: number }[] {
    return [...this.queues.values()].map((q) => ({
      name: q.name,
      depth: q.depth,
      deadLetters: q.deadLetters.length,
    }));
  }

  /**
   * The run's metrics, as CloudWatch would hold them: the handlers' EMF lines, and the service metrics the
   * local cloud can measure (see local/monitoring/cloud-metrics.ts). Evaluate the template's alarms on
   * them with `evaluateAlarms` (local/monitoring/alarm-evaluation.ts).
   */
  get metrics(): LocalMetrics {
    return this.parts.metrics.metrics;
  }

  /** Each dead-letter queue's depth, now: the dead letters of the queue it serves. */
  private recordDeadLetterDepths(): void {
    for (const [id, queue] of this.queues) {
      const deadLetterQueue = this.wiring.queues[id]?.deadLetterQueue;
      if (deadLetterQueue) this.parts.metrics.deadLetterDepth(deadLetterQueue, queue.deadLetters.length);
    }
  }

  /** Uploads the landing function failed on, retries included. */
  get landingFailures(): readonly LandingFailure[] {
    return this.failures;
  }

  on<E extends keyof LocalCloudEvents>(event: E, listener: (e: LocalCloudEvents[E]) => void): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener as (e: never) => void);
    this.listeners.set(event, set);
    return () => set.delete(listener as (e: never) => void);
  }

  /**
   * Told every line a function writes to its log (one console call, during its invocation; a listener must
   * not throw). Its EMF documents are the metrics CloudWatch would get.
   */
  onFunctionLog(listener: (entry: FunctionLogEntry) => void): () => void {
    this.logListeners.add(listener);
    return () => this.logListeners.delete(listener);
  }

  /**
   * `POST /datasets/{dataset}/records` through the landing function, as API Gateway would invoke it.
   * Headers are passed as given (e.g. `Content-Type`, `X-File-Name`, `Idempotency-Key`).
   */
  api(
    dataset: string,
    body: string | Buffer,
    headers: Record<string, string> = {},
  ): Promise<APIGatewayProxyResult> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    return this.invokeApi(ingestEvent(dataset, bytes, headers));
  }

  /**
   * A synchronous invocation of the API's function with a proxy event; a crash answers 502 like API
   * Gateway. Public so that another HTTP front (e.g. one with other auth settings) can share the function.
   */
  invokeApi(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    const id = this.wiring.apiFunction;
    if (!id) return Promise.reject(new Error('the template has no ingest API'));
    const fn = this.parts.functions.get(id);
    return this.activity.track(async () => {
      try {
        return (await this.parts.functions.invoke(fn, event)) as APIGatewayProxyResult;
      } catch {
        return {
          statusCode: 502,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ message: 'Internal server error' }),
        };
      }
    });
  }

  /**
   * A synchronous invocation of a template function by logical id, as Step Functions' `lambda:invoke`
   * would make it (the gold workflow's current-state planner). A handler error is thrown as it came.
   */
  invokeFunction(logicalId: string, payload: unknown): Promise<unknown> {
    const fn = this.parts.functions.get(logicalId);
    return this.parts.functions.invoke(fn, payload);
  }

  /** Resolves when no upload, message or API call is pending or being processed. */
  async whenIdle(): Promise<void> {
    do await this.activity.whenIdle();
    while (!this.activity.idle);
  }

  /** Closes the API, the queue and the S3 server, and restores the environment and the console. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.reconciler?.stop();
    this.router.close();
    await this.parts.apiServer?.stop();
    for (const queue of this.queues.values()) queue.close();
    // Let invocations in flight finish (they would fail once S3 is gone), but do not hang on them.
    await Promise.race([this.activity.whenIdle(), new Promise((r) => setTimeout(r, 10_000).unref())]);
    this.client?.destroy();
    this.parts.logs.uninstall();
    await this.parts.s3Server.stop();
    if (this.parts.logFile) await closeStream(this.parts.logFile);
    restoreEnv(this.parts.savedEnv);
    this.parts.stateLock.release();
    (globalThis as GlobalWithActive)[ACTIVE] = false;
  }

  private emit<E extends keyof LocalCloudEvents>(event: E, payload: LocalCloudEvents[E]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as (e: LocalCloudEvents[E]) => void)(payload);
      } catch (e) {
        console.error(`local cloud '${event}' listener failed: ${(e as Error).message}`);
      }
    }
  }
}

function bucketPrefix(options: LocalCloudOptions): string {
  return options.bucketPrefix ?? 'medallion-local';
}

/** The wiring given, or the one derived from the template (cached under `<stateDir>/cache`). */
function wiringFor(options: LocalCloudOptions, contractsDir: string, stateDir: string): LocalWiring {
  if (options.wiring) {
    options.onWiring?.({ fromCache: true, ms: 0, synthMs: options.wiring.synthMs });
    return options.wiring;
  }
  const cacheDir = options.wiringCacheDir ?? cacheDirOf(stateDir);
  // The file loadLocalWiring reads (hashing takes ~10 ms): without it, it synthesizes.
  const goldEngine = options.goldEngine ?? 'athena';
  const cached = () =>
    existsSync(join(cacheDir, `wiring-${wiringKey(contractsDir, bucketPrefix(options), goldEngine)}.json`));
  if (options.onSynthesizing && !cached()) options.onSynthesizing();
  const loaded = loadLocalWiring({ contractsDir, bucketPrefix: bucketPrefix(options), cacheDir, goldEngine });
  options.onWiring?.({ fromCache: loaded.fromCache, ms: loaded.ms, synthMs: loaded.wiring.synthMs });
  return loaded.wiring;
}

/** Local bucket names by role (the `layer` tag); the pipeline's four roles must be there. */
function bucketsOf(wiring: LocalWiring): Record<BucketRole, string> & Record<string, string> {
  const buckets = Object.fromEntries(wiring.buckets.map((b) => [b.role, b.name])) as Record<
    BucketRole,
    string
  > &
    Record<string, string>;
  const missing = BUCKET_ROLES.filter((r) => !buckets[r]);
  if (missing.length > 0)
    throw new Error(`the template has no bucket tagged layer=${missing.join(', ')}: cannot run locally`);
  return buckets;
}

function apiCredentials(env: Record<string, string>): ApiCredentials {
  return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY };
}

function closeStream(stream: WriteStream): Promise<void> {
  if (stream.closed || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => stream.end(() => resolve()));
}
