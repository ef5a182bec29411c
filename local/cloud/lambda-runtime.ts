/**
 * What the Lambda service provides around a handler, in process: loading the handler module with its
 * environment, a `Context` per invocation, async-invocation retries, and per-function logs.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { format } from 'node:util';
import type { Context } from 'aws-lambda';

export interface FunctionSpec {
  readonly name: string;
  readonly region: string;
  readonly accountId: string;
  readonly memoryMb?: number;
  readonly timeoutMs?: number;
}

/** The `Context` Lambda passes to a handler. */
export function lambdaContext(fn: FunctionSpec, requestId: string = randomUUID()): Context {
  const deadline = Date.now() + (fn.timeoutMs ?? 900_000);
  const unsupported = () => {
    throw new Error('callback-style completion is not supported by the local runtime');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${fn.region}:${fn.accountId}:function:${fn.name}`,
    memoryLimitInMB: String(fn.memoryMb ?? 1024),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: `local/[$LATEST]${randomUUID().replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/** Where function output goes: the process's console as is, or a line sink (e.g. a log file). */
export type LogSink = 'inherit' | ((line: string) => void);

type Invocation = { functionName: string; requestId: string };
const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;
type ConsoleMethod = (typeof CONSOLE_METHODS)[number];
const LEVELS: Record<ConsoleMethod, string> = {
  log: 'INFO',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  debug: 'DEBUG',
};

/** One console call made by a handler during an invocation. */
export interface FunctionLogEntry {
  readonly functionName: string;
  readonly requestId: string;
  readonly level: string;
  readonly message: string;
}

/**
 * Runs invocations in an async context naming the function and request, so that what a handler writes
 * to the console (synchronously or from any promise it started) is routed to the sink in Lambda's log
 * format, `<time>\t<function>\t<request id>\t<LEVEL>\t<message>`, with START/END/REPORT lines around
 * each invocation, and shown to `observer`. Output made outside invocations goes to the console as usual;
 * with 'inherit', so does the handlers' output.
 */
export class FunctionLogs {
  private readonly invocations = new AsyncLocalStorage<Invocation>();
  private saved: Partial<Record<ConsoleMethod, (...args: unknown[]) => void>> | undefined;

  constructor(
    private readonly sink: LogSink,
    private readonly observer?: (entry: FunctionLogEntry) => void,
  ) {}

  /** Starts watching the console (restored by `uninstall`). */
  install(): void {
    if (this.saved) return;
    const sink = this.sink;
    const saved: Partial<Record<ConsoleMethod, (...args: unknown[]) => void>> = {};
    for (const method of CONSOLE_METHODS) {
      const original = console[method];
      saved[method] = original;
      console[method] = (...args: unknown[]) => {
        const inv = this.invocations.getStore();
        if (!inv || sink === 'inherit') original.apply(console, args);
        if (!inv) return;
        const message = format(...args);
        if (sink !== 'inherit') {
          sink(
            `${new Date().toISOString()}\t${inv.functionName}\t${inv.requestId}\t${LEVELS[method]}\t${message}`,
          );
        }
        try {
          this.observer?.({ ...inv, level: LEVELS[method], message });
        } catch {
          // an observer must not break the handler
        }
      };
    }
    this.saved = saved;
  }

  uninstall(): void {
    if (!this.saved) return;
    for (const method of CONSOLE_METHODS) {
      const original = this.saved[method];
      if (original) console[method] = original;
    }
    this.saved = undefined;
  }

  /** Runs one invocation of `functionName`. */
  async invoke<T>(functionName: string, requestId: string, work: () => Promise<T>): Promise<T> {
    const sink = this.sink === 'inherit' ? undefined : this.sink;
    const started = Date.now();
    sink?.(
      `${new Date(started).toISOString()}\t${functionName}\tSTART RequestId: ${requestId} Version: $LATEST`,
    );
    try {
      return await this.invocations.run({ functionName, requestId }, work);
    } catch (e) {
      sink?.(`${new Date().toISOString()}\t${functionName}\t${requestId}\tERROR\tInvoke Error ${format(e)}`);
      throw e;
    } finally {
      const now = new Date();
      sink?.(`${now.toISOString()}\t${functionName}\tEND RequestId: ${requestId}`);
      sink?.(
        `${now.toISOString()}\t${functionName}\tREPORT RequestId: ${requestId}\tDuration: ${now.getTime() - started} ms`,
      );
    }
  }
}

/**
 * Lambda retries a failed asynchronous invocation (S3 notifications are one) twice; `retries` and a
 * short `delayMs` stand in for its one- and two-minute waits. Resolves with the attempts made; rejects
 * with the last error once every attempt failed.
 */
export async function invokeAsync(
  attempt: (n: number) => Promise<unknown>,
  options: { retries: number; delayMs: number },
): Promise<number> {
  for (let n = 1; ; n++) {
    try {
      await attempt(n);
      return n;
    } catch (e) {
      if (n > options.retries) throw e;
      await new Promise((resolve) => setTimeout(resolve, options.delayMs * n));
    }
  }
}

const LOADED: unique symbol = Symbol.for('medallion.local.handlerEnvironments');
type GlobalWithRegistry = typeof globalThis & { [LOADED]?: WeakMap<object, string> };

/**
 * Loads a handler module that reads its configuration from `process.env` at load time, after the
 * caller has set that environment. Modules under `reloadDir` are first dropped from Node's module cache,
 * so a second local cloud in the same process gets modules configured for it. Where the cache cannot be
 * dropped (under Jest, whose registry `jest.resetModules()` resets) and the module was loaded for another
 * environment, this fails instead of silently running against the wrong buckets or endpoint.
 */
export function loadHandlerModule<T extends object>(file: string, reloadDir: string, environment: string): T {
  for (const id of Object.keys(require.cache)) {
    if (id.startsWith(reloadDir)) delete require.cache[id];
  }
  const mod = require(file) as T;
  const g = globalThis as GlobalWithRegistry;
  g[LOADED] ??= new WeakMap();
  const loadedFor = g[LOADED].get(mod);
  if (loadedFor !== undefined && loadedFor !== environment) {
    throw new Error(
      `${file} is already loaded in this process with another environment, and it reads its configuration ` +
        'once, at load time: run one local cloud per process (or reset the module registry before the next)',
    );
  }
  g[LOADED].set(mod, environment);
  return mod;
}
