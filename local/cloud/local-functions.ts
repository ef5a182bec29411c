/**
 * The template's functions as the local cloud runs them: which ones it needs (notification targets, queue
 * consumers, the API's), their handlers (the real modules, loaded once the environment is set), the name
 * Lambda gives each, and one invocation with its `Context`, logged as Lambda logs it.
 */
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { PROJECT_ROOT } from '../../lib/config';
import { type FunctionLogs, type FunctionSpec, lambdaContext, loadHandlerModule } from './lambda-runtime';
import type { LocalWiring, WiredFunction } from './template-wiring';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** How one invocation ended, as Lambda's metrics count it (an error is a handler that threw). */
export interface InvocationOutcome {
  readonly logicalId: string;
  /** When it ended (epoch ms). */
  readonly at: number;
  readonly durationMs: number;
  readonly failed: boolean;
}

/** What names a function locally, and the ARNs of its context. */
export interface FunctionNaming {
  /** Function names are `<prefix>-<local name>`. */
  readonly bucketPrefix: string;
  readonly region: string;
  readonly accountId: string;
}

const LAMBDAS_DIR = join(PROJECT_ROOT, 'lambdas');

export class LocalFunctions {
  /** Loaded handlers by function logical id. */
  private readonly handlers = new Map<string, Handler>();

  constructor(
    private readonly wiring: LocalWiring,
    private readonly naming: FunctionNaming,
    private readonly logs: FunctionLogs,
    /** Told how each invocation ended (the local cloud's Lambda metrics); must not throw. */
    private readonly onInvoked?: (outcome: InvocationOutcome) => void,
  ) {}

  /**
   * Loads each handler module once (with `environment` already set in `process.env`, which the modules
   * read at load time), and checks the exports the template names.
   */
  load(environment: Readonly<Record<string, string>>): void {
    const signature = JSON.stringify(environment);
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

  /** The function of a logical id the template routes to. */
  get(logicalId: string): WiredFunction {
    return wiredFunction(this.wiring, logicalId);
  }

  /** Lambda's view of a function: its local name (`<prefix>-<role>` style, from the construct path). */
  spec(fn: WiredFunction): FunctionSpec {
    return {
      name: `${this.naming.bucketPrefix}-${localFunctionName(fn)}`,
      region: this.naming.region,
      accountId: this.naming.accountId,
      ...(fn.memoryMb ? { memoryMb: fn.memoryMb } : {}),
      ...(fn.timeoutSeconds ? { timeoutMs: fn.timeoutSeconds * 1000 } : {}),
    };
  }

  /** One invocation of a loaded function with a fresh `Context`, its output in the function's log. */
  invoke(fn: WiredFunction, event: unknown): Promise<unknown> {
    const handler = this.handlers.get(fn.logicalId);
    if (!handler) return Promise.reject(new Error(`the handler of ${fn.path} is not loaded`));
    const spec = this.spec(fn);
    const context = lambdaContext(spec);
    const started = performance.now();
    const invocation = this.logs.invoke(spec.name, context.awsRequestId, () => handler(event, context));
    const report = this.onInvoked;
    if (!report) return invocation;
    const ended = (failed: boolean) =>
      report({ logicalId: fn.logicalId, at: Date.now(), durationMs: performance.now() - started, failed });
    return invocation.then(
      (result) => {
        ended(false);
        return result;
      },
      (e: unknown) => {
        ended(true);
        throw e;
      },
    );
  }
}

/**
 * The functions the local cloud runs: notification targets, queue consumers, the API's, and every other
 * function with a known handler module (those the gold workflow invokes).
 */
export function usedFunctions(wiring: LocalWiring): WiredFunction[] {
  const ids = new Set<string>();
  for (const [id, fn] of Object.entries(wiring.functions)) if (fn.module) ids.add(id);
  for (const r of wiring.routes) {
    if (r.destination.type === 'function') ids.add(r.destination.logicalId);
    else {
      const consumer = wiring.queues[r.destination.logicalId]?.consumer;
      if (consumer) ids.add(consumer.function);
    }
  }
  if (wiring.apiFunction) ids.add(wiring.apiFunction);
  return [...ids].map((id) => wiredFunction(wiring, id));
}

function wiredFunction(wiring: LocalWiring, logicalId: string): WiredFunction {
  const fn = wiring.functions[logicalId];
  if (!fn) throw new Error(`the template routes to ${logicalId}, which is not a function in it`);
  return fn;
}

/**
 * The local name of a function, from its construct path: `BronzeToSilver/Landing/Function/Resource` ->
 * `landing`, `BronzeToSilver/Transform/...` -> `bronze-to-silver` (the handler's directory for the
 * transform, as the logs have always named it), `IngestApi/Handler/...` -> `landing` (it runs the landing
 * module); any other path -> its segments in kebab case (`Ops/Compactor` -> `ops-compactor`).
 */
export function localFunctionName(fn: WiredFunction): string {
  const owner = fn.path.replace(/\/Function\/Resource$/, '').replace(/\/Resource$/, '');
  if (/\/Transform$/.test(owner)) return 'bronze-to-silver';
  if (/\/Landing$/.test(owner)) return 'landing';
  if (/^IngestApi\/Handler$/.test(owner)) return 'landing';
  return owner
    .replace(/\//g, '-')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
}
