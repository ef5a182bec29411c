/**
 * The handlers' environment in the local cloud. Every function's variables come from the template, made
 * local (`localFunctionEnv`); one process holds every handler, so they are merged into one environment,
 * with the local S3 endpoint and the caller's overrides, and set in `process.env` (the handler modules
 * read it at load time) until the cloud stops.
 */
import { totalmem } from 'node:os';
import { ENV } from '../../core/config/env';
import { localS3Env } from './s3-server';
import { localFunctionEnv, type WiredFunction } from './template-wiring';

export interface HandlerEnvOptions {
  /** The local S3 server the handlers' clients talk to. */
  readonly s3Endpoint: string;
  readonly contractsDir: string;
  readonly scratchDir: string;
  readonly piiSalt: string;
  /** MEDALLION_ENGINE_MEMORY_LIMIT; default: the template's, capped by {@link localEngineMemoryLimit}. */
  readonly engineMemoryLimit?: string;
  /** MEDALLION_ENGINE_THREADS; default: the handler's. */
  readonly engineThreads?: number;
  /** AWS_REGION; default: the local S3 server's. */
  readonly region?: string;
  /** More variables (override all the others). */
  readonly extraEnv?: Record<string, string>;
}

/** The one environment the handlers of `functions` run with in this process. */
export function handlerEnv(
  functions: readonly WiredFunction[],
  options: HandlerEnvOptions,
): Record<string, string> {
  return {
    ...localS3Env(options.s3Endpoint),
    ...(options.region ? { AWS_REGION: options.region } : {}),
    // Every SDK client would warn that future versions need Node 22: noise in local runs.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...mergedFunctionEnv(functions, options),
    ...(options.engineThreads ? { [ENV.ENGINE_THREADS]: String(options.engineThreads) } : {}),
    ...options.extraEnv,
  };
}

/**
 * The functions' own variables, merged: a variable two functions set to different values cannot be
 * honoured by one process, and is refused.
 */
export function mergedFunctionEnv(
  functions: readonly WiredFunction[],
  options: Pick<HandlerEnvOptions, 'contractsDir' | 'scratchDir' | 'piiSalt' | 'engineMemoryLimit'>,
): Record<string, string> {
  const merged: Record<string, string> = {};
  const setBy: Record<string, string> = {};
  for (const fn of functions) {
    const local = localFunctionEnv(fn, {
      contractsDir: options.contractsDir,
      scratchDir: options.scratchDir,
      piiSalt: options.piiSalt,
      // The template sizes DuckDB for Lambda's memory: keep it, unless this machine is small.
      engineMemoryLimit: options.engineMemoryLimit ?? localEngineMemoryLimit(fn.env[ENV.ENGINE_MEMORY_LIMIT]),
    });
    for (const [name, value] of Object.entries(local)) {
      if (name in merged && merged[name] !== value) {
        throw new Error(
          `${name} is '${merged[name]}' for ${setBy[name]} but '${value}' for ${fn.path}: one local process cannot run both`,
        );
      }
      merged[name] = value;
      setBy[name] = fn.path;
    }
  }
  return merged;
}

/** The template's engine limit (e.g. `1804MB`), capped at a quarter of this machine's memory. */
export function localEngineMemoryLimit(templateValue: string | undefined, machineBytes = totalmem()): string {
  const capMb = Math.floor(machineBytes / 4 / 1024 ** 2);
  const mb = /^(\d+)MB$/i.exec(templateValue ?? '')?.[1];
  return `${Math.min(mb === undefined ? 512 : Number(mb), capMb)}MB`;
}

/** Sets `env` in `process.env`; returns the values it replaced, for {@link restoreEnv}. */
export function setProcessEnv(env: Readonly<Record<string, string>>): Map<string, string | undefined> {
  const saved = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(env)) {
    saved.set(name, process.env[name]);
    process.env[name] = value;
  }
  return saved;
}

/** Puts back what {@link setProcessEnv} replaced (unset variables are deleted again). */
export function restoreEnv(saved: ReadonlyMap<string, string | undefined>): void {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}
