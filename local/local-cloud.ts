/**
 * The pipeline's AWS account, in one process: a local S3 server holding the four buckets, the landing and
 * bronze-to-silver Lambda handlers (the real modules, loaded after their environment is set), the wiring
 * between them, and the ingest API over HTTP. Everything binds to 127.0.0.1 only.
 *
 *   landing bucket  ObjectCreated  --------------------------------------------->  landing.s3Handler
 *   POST /datasets/{dataset}/records  (API Gateway proxy event)  ------------------>  landing.apiHandler
 *   bronze bucket   ObjectCreated (keys not under `_`)  ->  queue (SQS-like, DLQ)  ->  bronze-to-silver.handler
 *
 * The wiring is a list of routes (`NotificationRoute`), so that it can later be derived from the
 * synthesized CDK template instead of being written here.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Context,
  S3Event,
  S3EventRecord,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { ENV } from '../lambdas/shared/env';
import { decodeEventKey, isBookkeepingKey } from '../lambdas/shared/object-keys';
import { createS3Client } from '../lambdas/shared/s3-client';
import { Activity } from './activity';
import { ingestEvent, LocalApiServer } from './api-gateway';
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
import { type LocalS3Event, LocalS3Server, localS3Env } from './s3-server';

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
  /** Bucket names are `<prefix>-<role>`; default `medallion-local`. */
  readonly bucketPrefix?: string;
  /** AWS_REGION of the handlers and the region in event records; default us-east-1. */
  readonly region?: string;
  /** Account id in ARNs; default 000000000000. */
  readonly accountId?: string;
  /** MEDALLION_PII_HASH_SALT; default `local-dev-salt`. */
  readonly piiSalt?: string;
  /** MEDALLION_ENGINE_MEMORY_LIMIT; default 512MB. */
  readonly engineMemoryLimit?: string;
  /** MEDALLION_ENGINE_THREADS; default: the handler's (every core). */
  readonly engineThreads?: number;
  /** SQS redrive policy; default 3. */
  readonly maxReceiveCount?: number;
  /** SQS event source batch size; default 10. */
  readonly batchSize?: number;
  /** Retries of a failed S3-triggered landing invocation (Lambda async invocation); default 2. */
  readonly landingRetries?: number;
  /** Pause before a retry (and SQS visibility timeout); default 50 ms. */
  readonly retryDelayMs?: number;
  /** Handlers' console output: 'inherit', a line sink, or (default) `<stateDir>/logs/functions.log`. */
  readonly functionLogs?: LogSink | { file: string };
  /** More variables for the handlers (override the defaults). */
  readonly extraEnv?: Record<string, string>;
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

/** Where S3 notifications of a bucket go: the local form of a bucket notification configuration. */
export interface NotificationRoute {
  readonly id: string;
  readonly bucket: string;
  /** Event name prefix, e.g. `ObjectCreated:`. */
  readonly events: string;
  /** Decoded-key filter (S3 only has prefix/suffix filters; a function is more general). */
  readonly accept?: (key: string) => boolean;
  readonly deliver: (record: S3EventRecord) => void;
}

type LandingModule = {
  apiHandler(event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult>;
  s3Handler(event: S3Event, context: Context): Promise<void>;
};
type TransformModule = {
  handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse>;
};

const LAMBDAS_DIR = resolve(__dirname, '..', 'lambdas');
const ACTIVE: unique symbol = Symbol.for('medallion.local.activeCloud');
type GlobalWithActive = typeof globalThis & { [ACTIVE]?: boolean };

export class LocalCloud {
  readonly buckets: Readonly<Record<BucketRole, string>>;
  readonly stateDir: string;
  readonly contractsDir: string;
  /** The variables the handlers run with (S3 endpoint, buckets, contracts...). */
  readonly env: Readonly<Record<string, string>>;
  readonly endpoints: { readonly s3: string; readonly api?: string };

  private readonly activity = new Activity();
  private readonly failures: LandingFailure[] = [];
  private readonly listeners = new Map<keyof LocalCloudEvents, Set<(e: never) => void>>();
  private queue!: LocalQueue;
  private landing!: LandingModule;
  private transform!: TransformModule;
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
      buckets: Record<BucketRole, string>;
      stateDir: string;
      contractsDir: string;
      env: Record<string, string>;
      s3: string;
    },
  ) {
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
      const buckets = Object.fromEntries(BUCKET_ROLES.map((r) => [r, `${prefix}-${r}`])) as Record<
        BucketRole,
        string
      >;
      for (const dir of ['s3', 'scratch', 'logs']) mkdirSync(join(stateDir, dir), { recursive: true });

      const s3Server = new LocalS3Server();
      const { endpoint } = await s3Server.start({
        port: options.s3Port ?? DEFAULT_S3_PORT,
        directory: join(stateDir, 's3'),
        buckets: Object.values(buckets),
      });
      cleanup.push(() => s3Server.stop());

      const env: Record<string, string> = {
        ...localS3Env(endpoint),
        ...(options.region ? { AWS_REGION: options.region } : {}),
        // Every SDK client would warn that future versions need Node 22: noise in local runs.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        [ENV.LANDING_BUCKET]: buckets.landing,
        [ENV.BRONZE_BUCKET]: buckets.bronze,
        [ENV.SILVER_BUCKET]: buckets.silver,
        [ENV.QUARANTINE_BUCKET]: buckets.quarantine,
        [ENV.CONTRACTS_DIR]: contractsDir,
        [ENV.PII_HASH_SALT]: options.piiSalt ?? 'local-dev-salt',
        [ENV.SCRATCH_DIR]: join(stateDir, 'scratch'),
        [ENV.ENGINE_MEMORY_LIMIT]: options.engineMemoryLimit ?? '512MB',
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
        options.apiPort === null
          ? undefined
          : new LocalApiServer((event) => (cloud as LocalCloud).invokeApi(event));
      cloud = new LocalCloud(options, s3Server, apiServer, logs, logFile, savedEnv, errors, {
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

  /** An S3 client for the local buckets (closed by `stop`). */
  get s3(): S3Client {
    this.client ??= createS3Client(this.env);
    return this.client;
  }

  /** Messages the transform gave up on, with the last error it logged for each. */
  get deadLetters(): readonly DeadLetter[] {
    return this.queue.deadLetters.map((d) => this.withLoggedError(d));
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
    this.queue.close();
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

  private function(name: string): FunctionSpec {
    return {
      name: `${this.options.bucketPrefix ?? 'medallion-local'}-${name}`,
      region: this.env.AWS_REGION,
      accountId: this.options.accountId ?? '000000000000',
    };
  }

  private loadHandlers(): void {
    const signature = JSON.stringify(this.env);
    this.landing = loadHandlerModule<LandingModule>(
      join(LAMBDAS_DIR, 'landing', 'handler'),
      LAMBDAS_DIR,
      signature,
    );
    this.transform = loadHandlerModule<TransformModule>(
      join(LAMBDAS_DIR, 'bronze-to-silver', 'handler'),
      LAMBDAS_DIR,
      signature,
    );
  }

  private wire(): void {
    const transformFn = this.function('bronze-to-silver');
    this.queue = new LocalQueue({
      name: `${this.options.bucketPrefix ?? 'medallion-local'}-bronze-events`,
      region: transformFn.region,
      accountId: transformFn.accountId,
      batchSize: this.options.batchSize ?? 10,
      maxReceiveCount: this.options.maxReceiveCount ?? 3,
      visibilityTimeoutMs: this.options.retryDelayMs ?? 50,
      activity: this.activity,
      consumer: (event) => {
        const context = lambdaContext(transformFn);
        return this.logs.invoke(transformFn.name, context.awsRequestId, () =>
          this.transform.handler(event, context),
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

    this.routes = [
      {
        id: 'landing-uploads',
        bucket: this.buckets.landing,
        events: 'ObjectCreated:',
        deliver: (record) => this.invokeLanding(record),
      },
      {
        id: 'bronze-to-silver-queue',
        bucket: this.buckets.bronze,
        events: 'ObjectCreated:',
        accept: (key) => !isBookkeepingKey(key),
        deliver: (record) => void this.queue.send(JSON.stringify(toS3Event(record))),
      },
    ];
    this.s3Server.onEvent((event) => this.route(event));
  }

  /** S3's notification dispatch: every matching route gets the record in S3's own format. */
  private route(event: LocalS3Event): void {
    if (this.stopped) return;
    const raw = event.record;
    for (const route of this.routes) {
      if (raw.s3.bucket.name !== route.bucket) continue;
      const record = toAwsS3EventRecord(raw, {
        operation: event.operation,
        eTag: event.eTag,
        region: this.env.AWS_REGION,
        configurationId: route.id,
      });
      if (!record.eventName.startsWith(route.events)) continue;
      if (route.accept && !route.accept(raw.s3.object.key)) continue;
      route.deliver(record);
    }
  }

  /** An asynchronous invocation of the landing function for one upload, retried as Lambda does. */
  private invokeLanding(record: S3EventRecord): void {
    const fn = this.function('landing');
    const bucket = record.s3.bucket.name;
    const key = decodeEventKey(record.s3.object.key);
    void this.activity.track(async () => {
      await nextTurn(); // never inside the S3 request that caused the event
      try {
        const attempts = await invokeAsync(
          () => {
            const context = lambdaContext(fn);
            return this.logs.invoke(fn.name, context.awsRequestId, () =>
              this.landing.s3Handler(toS3Event(record), context),
            );
          },
          { retries: this.options.landingRetries ?? 2, delayMs: this.options.retryDelayMs ?? 50 },
        );
        this.emit('landed', { bucket, key, attempts });
      } catch (e) {
        const failure = {
          bucket,
          key,
          attempts: (this.options.landingRetries ?? 2) + 1,
          error: e instanceof Error ? e.message : String(e),
        };
        this.failures.push(failure);
        this.emit('landing-failed', failure);
      }
    });
  }

  /** A synchronous invocation of the landing function's API door; a crash answers 502 like API Gateway. */
  private invokeApi(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    const fn = this.function('landing');
    return this.activity.track(async () => {
      const context = lambdaContext(fn);
      try {
        return await this.logs.invoke(fn.name, context.awsRequestId, () =>
          this.landing.apiHandler(event, context),
        );
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
