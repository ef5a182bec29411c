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
 */

import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Context,
  S3Event,
  S3EventRecord,
  SQSBatchResponse,
} from 'aws-lambda';
import { ENV } from '../../core/config/env';
import { decodeEventKey } from '../../core/lake/layout';
import { createS3Client } from '../../lambdas/aws/s3';
import { PROJECT_ROOT } from '../../lib/config';
import { Activity } from './activity';
import { type ApiCredentials, ingestEvent, LocalApiServer } from './api-gateway';
import {
  type FunctionLogEntry,
  FunctionLogs,
  type FunctionSpec,
  invokeAsync,
  type LogSink,
  lambdaContext,
  loadHandlerModule,
} from './lambda-runtime';
import { type DeadLetter, LocalQueue, type QueueMessage } from './local-queue';
import { toAwsS3EventRecord, toS3Event } from './s3-event-adapter';
import { type LocalS3Event, LocalS3Server, localS3Env, type S3rverEventRecord } from './s3-server';
import {
  type LocalWiring,
  loadLocalWiring,
  localFunctionEnv,
  routeMatches,
  type WiredFunction,
  type WiredRoute,
} from './template-wiring';

export type BucketRole = 'landing' | 'bronze' | 'silver' | 'quarantine';
export const BUCKET_ROLES: readonly BucketRole[] = ['landing', 'bronze', 'silver', 'quarantine'];

export const DEFAULT_STATE_DIR = '.medallion/local';
export const DEFAULT_CONTRACTS_DIR = 'samples/contracts';
export const DEFAULT_S3_PORT = 4566;
export const DEFAULT_API_PORT = 4567;

export interface LocalCloudOptions {
  /** Where buckets, scratch space and logs live; default `.medallion/local`. Not wiped here. */
  readonly stateDir?: string;
  /** Contracts the handlers load; default `samples/contracts`. */
  readonly contractsDir?: string;
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
  /** Where the derived wiring is cached; default `<stateDir>/cache`. */
  readonly wiringCacheDir?: string;
  /** Told how the wiring was obtained (synthesized or cached, and how long it took). */
  readonly onWiring?: (info: { fromCache: boolean; ms: number; synthMs: number }) => void;
}

export interface LandingFailure {
  readonly bucket: string;
  readonly key: string;
  readonly attempts: number;
  readonly error: string;
}

export interface LocalCloudEvents {
  /** An upload in the landing bucket was handled by the landing function. */
  landed: { bucket: string; key: string; attempts: number };
  /** The landing function failed on an upload, every retry included. */
  'landing-failed': LandingFailure;
  /** The transform function processed a bronze object (its message was deleted). */
  transformed: { bucket: string; key: string; messageId: string; receiveCount: number };
  /** A transform message failed a receive. */
  'transform-failed': { messageId: string; receiveCount: number; willRetry: boolean; keys: string[] };
  'dead-lettered': DeadLetter;
}

/** Where S3 notifications of a bucket go: a bucket notification configuration of the template. */
export interface NotificationRoute {
  readonly wired: WiredRoute;
  readonly deliver: (record: S3EventRecord) => void;
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const LAMBDAS_DIR = join(PROJECT_ROOT, 'lambdas');
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
  /** Local queues by logical id (those an event source mapping drains). */
  private readonly queues = new Map<string, LocalQueue>();
  /** Loaded handlers by function logical id. */
  private readonly handlers = new Map<string, Handler>();
  private routes: NotificationRoute[] = [];
  private client: S3Client | undefined;
  private stopped = false;

  private constructor(
    private readonly options: LocalCloudOptions,
    private readonly s3Server: LocalS3Server,
    private readonly apiServer: LocalApiServer | undefined,
    private readonly logs: FunctionLogs,
    private readonly logFile: WriteStream | undefined,
    private readonly savedEnv: Map<string, string | undefined>,
    /** The last error the transform logged per SQS message id (its partial batch response has no reason). */
    private readonly messageErrors: Map<string, string>,
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
      const prefix = options.bucketPrefix ?? 'medallion-local';
      for (const dir of ['s3', 'scratch', 'logs']) mkdirSync(join(stateDir, dir), { recursive: true });
      let wiring = options.wiring;
      if (wiring) options.onWiring?.({ fromCache: true, ms: 0, synthMs: wiring.synthMs });
      else {
        const loaded = loadLocalWiring({
          contractsDir,
          bucketPrefix: prefix,
          cacheDir: options.wiringCacheDir ?? join(stateDir, 'cache'),
        });
        wiring = loaded.wiring;
        options.onWiring?.({ fromCache: loaded.fromCache, ms: loaded.ms, synthMs: wiring.synthMs });
      }
      const buckets = Object.fromEntries(wiring.buckets.map((b) => [b.role, b.name])) as Record<
        BucketRole,
        string
      > &
        Record<string, string>;
      const missing = BUCKET_ROLES.filter((r) => !buckets[r]);
      if (missing.length > 0)
        throw new Error(`the template has no bucket tagged layer=${missing.join(', ')}: cannot run locally`);
      const used = usedFunctions(wiring);

      const s3Server = new LocalS3Server();
      const { endpoint } = await s3Server.start({
        port: options.s3Port ?? DEFAULT_S3_PORT,
        directory: join(stateDir, 's3'),
        buckets: Object.values(buckets),
      });
      cleanup.push(() => s3Server.stop());

      // One process holds every handler, so their variables are merged: a variable two functions set to
      // different values cannot be honoured, and is refused.
      const functionEnv: Record<string, string> = {};
      const setBy: Record<string, string> = {};
      for (const fn of used) {
        const local = localFunctionEnv(fn, {
          contractsDir,
          scratchDir: join(stateDir, 'scratch'),
          piiSalt: options.piiSalt ?? 'local-dev-salt',
          // The template sizes DuckDB for Lambda's memory: keep it, unless this machine is small.
          engineMemoryLimit:
            options.engineMemoryLimit ?? localEngineMemoryLimit(fn.env[ENV.ENGINE_MEMORY_LIMIT]),
        });
        for (const [name, value] of Object.entries(local)) {
          if (name in functionEnv && functionEnv[name] !== value) {
            throw new Error(
              `${name} is '${functionEnv[name]}' for ${setBy[name]} but '${value}' for ${fn.path}: one local process cannot run both`,
            );
          }
          functionEnv[name] = value;
          setBy[name] = fn.path;
        }
      }
      const env: Record<string, string> = {
        ...localS3Env(endpoint),
        ...(options.region ? { AWS_REGION: options.region } : {}),
        // Every SDK client would warn that future versions need Node 22: noise in local runs.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...functionEnv,
        ...(options.engineThreads ? { [ENV.ENGINE_THREADS]: String(options.engineThreads) } : {}),
        ...options.extraEnv,
      };
      const savedEnv = new Map<string, string | undefined>();
      for (const [name, value] of Object.entries(env)) {
        savedEnv.set(name, process.env[name]);
        process.env[name] = value;
      }
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
      const errors = new Map<string, string>();
      const logs = new FunctionLogs(sink, (entry) => rememberMessageError(errors, entry));

      let cloud: LocalCloud | undefined;
      const apiServer =
        options.apiPort === null || !wiring.apiFunction
          ? undefined
          : new LocalApiServer((event) => (cloud as LocalCloud).invokeApi(event), {
              auth: options.apiAuth
                ? { credentials: [apiCredentials(env)], region: env.AWS_REGION }
                : undefined,
            });
      cloud = new LocalCloud(options, s3Server, apiServer, logs, logFile, savedEnv, errors, {
        wiring,
        buckets,
        stateDir,
        contractsDir,
        env,
        s3: endpoint,
      });
      cloud.loadHandlers();
      cloud.wire();
      if (apiServer) {
        const api = await apiServer.start(options.apiPort ?? DEFAULT_API_PORT);
        cleanup.push(() => apiServer.stop());
        (cloud.endpoints as { api?: string }).api = api.endpoint;
      }
      logs.install();
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
    return [...this.queues.values()].flatMap((q) => q.deadLetters.map((d) => this.withLoggedError(d)));
  }

  /**
   * Sends S3's notification for an existing object again, as if it had just been created
   * (`ObjectCreated:Put`), to the routes that deliver to a queue (e.g. bronze -> the transform queue).
   * Returns how many messages were sent (0: no queue route matches the key).
   */
  async renotify(bucket: string, key: string): Promise<number> {
    const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const raw: S3rverEventRecord = {
      eventVersion: '2.0',
      eventSource: 'aws:s3',
      awsRegion: this.env.AWS_REGION,
      eventTime: new Date().toISOString(),
      eventName: 'ObjectCreated:Put',
      s3: {
        bucket: { name: bucket },
        object: { key, size: head.ContentLength ?? 0, eTag: head.ETag?.replace(/"/g, '') },
      },
    };
    return this.route({ record: raw, operation: 'PutObject', eTag: undefined }, 'queue');
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

  /** Resolves when no upload, message or API call is pending or being processed. */
  async whenIdle(): Promise<void> {
    do await this.activity.whenIdle();
    while (!this.activity.idle);
  }

  /** Closes the API, the queue and the S3 server, and restores the environment and the console. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.apiServer?.stop();
    for (const queue of this.queues.values()) queue.close();
    // Let invocations in flight finish (they would fail once S3 is gone), but do not hang on them.
    await Promise.race([this.activity.whenIdle(), new Promise((r) => setTimeout(r, 10_000).unref())]);
    this.client?.destroy();
    this.logs.uninstall();
    await this.s3Server.stop();
    if (this.logFile) await closeStream(this.logFile);
    restoreEnv(this.savedEnv);
    (globalThis as GlobalWithActive)[ACTIVE] = false;
  }

  private withLoggedError(d: DeadLetter): DeadLetter {
    const error = d.lastError ?? this.messageErrors.get(d.messageId);
    return error === undefined ? d : { ...d, lastError: error };
  }

  /** Lambda's view of a function: its local name (`<prefix>-<role>` style, from the construct path). */
  private function(fn: WiredFunction): FunctionSpec {
    return {
      name: `${this.options.bucketPrefix ?? 'medallion-local'}-${localFunctionName(fn)}`,
      region: this.env.AWS_REGION,
      accountId: this.options.accountId ?? '000000000000',
      ...(fn.memoryMb ? { memoryMb: fn.memoryMb } : {}),
      ...(fn.timeoutSeconds ? { timeoutMs: fn.timeoutSeconds * 1000 } : {}),
    };
  }

  private wiredFunction(logicalId: string): WiredFunction {
    const fn = this.wiring.functions[logicalId];
    if (!fn) throw new Error(`the template routes to ${logicalId}, which is not a function in it`);
    return fn;
  }

  /** Loads each handler module once (with the environment set), and checks the exports the template names. */
  private loadHandlers(): void {
    const signature = JSON.stringify(this.env);
    const modules = new Map<string, Record<string, unknown>>();
    for (const fn of usedFunctions(this.wiring)) {
      if (!fn.module) {
        throw new Error(
          `no local handler module is known for function ${fn.path}: add its entry to HANDLER_ENTRIES in local/template-wiring.ts`,
        );
      }
      let mod = modules.get(fn.module);
      if (!mod) {
        mod = loadHandlerModule<Record<string, unknown>>(
          join(PROJECT_ROOT, fn.module),
          LAMBDAS_DIR,
          signature,
        );
        modules.set(fn.module, mod);
      }
      const handler = mod[fn.export];
      if (typeof handler !== 'function')
        throw new Error(`${fn.module} exports no function '${fn.export}' (the handler of ${fn.path})`);
      this.handlers.set(fn.logicalId, handler as Handler);
    }
  }

  private handler(logicalId: string): Handler {
    return this.handlers.get(logicalId) as Handler;
  }

  private wire(): void {
    for (const q of Object.values(this.wiring.queues)) {
      if (!q.consumer) continue;
      const fn = this.wiredFunction(q.consumer.function);
      const spec = this.function(fn);
      const handler = this.handler(fn.logicalId);
      const queue = new LocalQueue({
        name: `${this.options.bucketPrefix ?? 'medallion-local'}-${q.logicalId.replace(/[0-9A-F]{8}$/, '')}`,
        region: spec.region,
        accountId: spec.accountId,
        batchSize: this.options.batchSize ?? q.consumer.batchSize,
        concurrency: transformConcurrency(this.options.transformConcurrency, q.consumer.maxConcurrency),
        maxReceiveCount: this.options.maxReceiveCount ?? q.maxReceiveCount ?? Number.POSITIVE_INFINITY,
        visibilityTimeoutMs: this.options.retryDelayMs ?? 50,
        activity: this.activity,
        consumer: (event) => {
          const context = lambdaContext(spec);
          return this.logs.invoke(
            spec.name,
            context.awsRequestId,
            () => handler(event, context) as Promise<SQSBatchResponse>,
          );
        },
        onDeleted: (m) => {
          for (const o of objectsIn(m)) {
            this.emit('transformed', { ...o, messageId: m.messageId, receiveCount: m.receiveCount });
          }
        },
        onFailed: (m, willRetry) =>
          this.emit('transform-failed', {
            messageId: m.messageId,
            receiveCount: m.receiveCount,
            willRetry,
            keys: objectsIn(m).map((o) => o.key),
          }),
        onDeadLettered: (dead) => this.emit('dead-lettered', this.withLoggedError(dead)),
      });
      this.queues.set(q.logicalId, queue);
    }

    this.routes = this.wiring.routes.map((wired) => {
      const target = wired.destination.logicalId;
      if (wired.destination.type === 'function') {
        const fn = this.wiredFunction(target);
        return { wired, deliver: (record: S3EventRecord) => this.invokeAsync(fn, record) };
      }
      const queue = this.queues.get(target);
      if (!queue)
        throw new Error(
          `the template routes ${wired.bucket} events to queue ${target}, which nothing drains`,
        );
      return {
        wired,
        deliver: (record: S3EventRecord) => void queue.send(JSON.stringify(toS3Event(record))),
      };
    });
    this.s3Server.onEvent((event) => this.route(event));
  }

  /**
   * S3's notification dispatch: every configuration of the bucket whose event names match, and whose
   * prefix and suffix rules both match the key, gets the record in S3's own format. Returns how many did.
   */
  private route(event: LocalS3Event, only?: 'function' | 'queue'): number {
    if (this.stopped) return 0;
    const raw = event.record;
    let delivered = 0;
    for (const route of this.routes) {
      if (raw.s3.bucket.name !== route.wired.bucket) continue;
      if (only && route.wired.destination.type !== only) continue;
      const record = toAwsS3EventRecord(raw, {
        operation: event.operation,
        eTag: event.eTag,
        region: this.env.AWS_REGION,
        configurationId: route.wired.id,
      });
      if (!routeMatches(route.wired, record.eventName, raw.s3.object.key)) continue;
      route.deliver(record);
      delivered++;
    }
    return delivered;
  }

  /** An asynchronous invocation of a function for one S3 record, retried as Lambda does. */
  private invokeAsync(fn: WiredFunction, record: S3EventRecord): void {
    const spec = this.function(fn);
    const handler = this.handler(fn.logicalId);
    const retries = this.options.landingRetries ?? fn.retryAttempts;
    const bucket = record.s3.bucket.name;
    const key = decodeEventKey(record.s3.object.key);
    void this.activity.track(async () => {
      await nextTurn(); // never inside the S3 request that caused the event
      try {
        const attempts = await invokeAsync(
          () => {
            const context = lambdaContext(spec);
            return this.logs.invoke(spec.name, context.awsRequestId, () =>
              handler(toS3Event(record), context),
            );
          },
          { retries, delayMs: this.options.retryDelayMs ?? 50 },
        );
        this.emit('landed', { bucket, key, attempts });
      } catch (e) {
        const failure = {
          bucket,
          key,
          attempts: retries + 1,
          error: e instanceof Error ? e.message : String(e),
        };
        this.failures.push(failure);
        this.emit('landing-failed', failure);
      }
    });
  }

  /**
   * A synchronous invocation of the API's function with a proxy event; a crash answers 502 like API
   * Gateway. Public so that another HTTP front (e.g. one with other auth settings) can share the function.
   */
  invokeApi(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    const id = this.wiring.apiFunction;
    if (!id) return Promise.reject(new Error('the template has no ingest API'));
    const fn = this.wiredFunction(id);
    const spec = this.function(fn);
    const handler = this.handler(id);
    return this.activity.track(async () => {
      const context = lambdaContext(spec);
      try {
        return (await this.logs.invoke(spec.name, context.awsRequestId, () =>
          handler(event, context),
        )) as APIGatewayProxyResult;
      } catch {
        return {
          statusCode: 502,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ message: 'Internal server error' }),
        };
      }
    });
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

/** The functions the local cloud runs: notification targets, queue consumers and the API's. */
function usedFunctions(wiring: LocalWiring): WiredFunction[] {
  const ids = new Set<string>();
  for (const r of wiring.routes) {
    if (r.destination.type === 'function') ids.add(r.destination.logicalId);
    else {
      const consumer = wiring.queues[r.destination.logicalId]?.consumer;
      if (consumer) ids.add(consumer.function);
    }
  }
  if (wiring.apiFunction) ids.add(wiring.apiFunction);
  return [...ids].map((id) => {
    const fn = wiring.functions[id];
    if (!fn) throw new Error(`the template routes to ${id}, which is not a function in it`);
    return fn;
  });
}

/**
 * The local name of a function, from its construct path: `BronzeToSilver/Landing/Function/Resource` ->
 * `landing`, `BronzeToSilver/Transform/...` -> `bronze-to-silver` (the handler's directory for the
 * transform, as the logs have always named it), `IngestApi/Handler/...` -> `ingest-api`.
 */
function localFunctionName(fn: WiredFunction): string {
  const owner = fn.path.replace(/\/Function\/Resource$/, '').replace(/\/Resource$/, '');
  if (/\/Transform$/.test(owner)) return 'bronze-to-silver';
  if (/\/Landing$/.test(owner)) return 'landing';
  if (/^IngestApi\/Handler$/.test(owner)) return 'landing';
  return owner
    .replace(/\//g, '-')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
}

/** The objects an S3-to-SQS message announces (decoded keys). */
function objectsIn(m: QueueMessage): { bucket: string; key: string }[] {
  try {
    const event = JSON.parse(m.body) as Partial<S3Event>;
    return (event.Records ?? []).map((r) => ({
      bucket: r.s3.bucket.name,
      key: decodeEventKey(r.s3.object.key),
    }));
  } catch {
    return [];
  }
}

/**
 * A failing message is only named in the partial batch response; the reason is in the function's log
 * (a JSON line with `messageId` and `error`, as `processBatch` writes it).
 */
function rememberMessageError(errors: Map<string, string>, entry: FunctionLogEntry): void {
  if (entry.level !== 'ERROR' || !entry.message.startsWith('{')) return;
  try {
    const parsed = JSON.parse(entry.message) as { messageId?: unknown; error?: unknown };
    if (typeof parsed.messageId === 'string' && typeof parsed.error === 'string') {
      errors.set(parsed.messageId, parsed.error);
    }
  } catch {
    // not a JSON entry
  }
}

/**
 * One batch at a time left the S3 server idle while DuckDB worked, and the reverse: on 2 cores, two batches
 * at once (the template allows 5) settle a burst of 250 files in ~21 s instead of ~31 s.
 */
function transformConcurrency(option: number | undefined, templateMax: number | undefined): number {
  if (option !== undefined) return option;
  return Math.max(1, Math.min(templateMax ?? 1, availableParallelism()));
}

function apiCredentials(env: Record<string, string>): ApiCredentials {
  return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY };
}

function restoreEnv(saved: Map<string, string | undefined>): void {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}

function closeStream(stream: WriteStream): Promise<void> {
  if (stream.closed || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => stream.end(() => resolve()));
}

/** The template's engine limit (e.g. `1804MB`), capped at a quarter of this machine's memory. */
export function localEngineMemoryLimit(templateValue: string | undefined, machineBytes = totalmem()): string {
  const capMb = Math.floor(machineBytes / 4 / 1024 ** 2);
  const mb = /^(\d+)MB$/i.exec(templateValue ?? '')?.[1];
  return `${Math.min(mb === undefined ? 512 : Number(mb), capMb)}MB`;
}
