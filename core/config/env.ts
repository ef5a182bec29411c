import { ConfigError } from '../errors';

/**
 * Environment variables shared by the CDK constructs (which set them) and the handlers (which read them).
 * Handlers read their configuration once at start-up with `readEnv`, so a missing variable fails loudly
 * on the first invocation instead of half-way through a file.
 */
export const ENV = {
  LANDING_BUCKET: 'MEDALLION_LANDING_BUCKET',
  BRONZE_BUCKET: 'MEDALLION_BRONZE_BUCKET',
  SILVER_BUCKET: 'MEDALLION_SILVER_BUCKET',
  GOLD_BUCKET: 'MEDALLION_GOLD_BUCKET',
  QUARANTINE_BUCKET: 'MEDALLION_QUARANTINE_BUCKET',
  /** Directory holding the dataset contracts (bundled next to the handler). */
  CONTRACTS_DIR: 'MEDALLION_CONTRACTS_DIR',
  /** Largest API request body accepted, in bytes. */
  MAX_BODY_BYTES: 'MEDALLION_MAX_BODY_BYTES',
  /** Largest decompressed size of one bronze object the transform will read, in bytes. */
  MAX_DECOMPRESSED_BYTES: 'MEDALLION_MAX_DECOMPRESSED_BYTES',
  /** Secret salt for PII hashing, given directly (local runs and tests). */
  PII_HASH_SALT: 'MEDALLION_PII_HASH_SALT',
  /** ARN of the Secrets Manager secret holding the PII salt (AWS: the value never appears in configuration). */
  PII_HASH_SALT_SECRET_ARN: 'MEDALLION_PII_HASH_SALT_SECRET_ARN',
  /** Scratch directory for spooled objects and DuckDB spill files (Lambda: /tmp). */
  SCRATCH_DIR: 'MEDALLION_SCRATCH_DIR',
  /** Memory DuckDB may use, e.g. "160MB" (the rest of the Lambda's memory is Node's). */
  ENGINE_MEMORY_LIMIT: 'MEDALLION_ENGINE_MEMORY_LIMIT',
  /** Threads DuckDB may use. */
  ENGINE_THREADS: 'MEDALLION_ENGINE_THREADS',
  /** The transform queue's maxReceiveCount: on that receive a failing message's reason is recorded. */
  MAX_RECEIVE_COUNT: 'MEDALLION_MAX_RECEIVE_COUNT',
  /** Published versions of each gold model kept (the newest, including the one the table reads). */
  GOLD_VERSIONS_KEPT: 'MEDALLION_GOLD_VERSIONS_KEPT',
  /** URL of the transform queue (the reconciler re-drives stranded bronze objects onto it). */
  TRANSFORM_QUEUE_URL: 'MEDALLION_TRANSFORM_QUEUE_URL',
  /** Name of the landing function (the reconciler re-invokes it for stranded uploads). */
  LANDING_FUNCTION_NAME: 'MEDALLION_LANDING_FUNCTION_NAME',
  /** Minutes after which an upload still in the landing bucket is stranded. */
  STRANDED_LANDING_AFTER_MINUTES: 'MEDALLION_STRANDED_LANDING_AFTER_MINUTES',
  /** Minutes after which a bronze object with no committed manifest is stranded. */
  STRANDED_BRONZE_AFTER_MINUTES: 'MEDALLION_STRANDED_BRONZE_AFTER_MINUTES',
  /** Bronze `ingest_date` days the reconciler reads, today included. */
  RECONCILE_LOOKBACK_DAYS: 'MEDALLION_RECONCILE_LOOKBACK_DAYS',
  /** The gold engine the planner writes statements for: `athena` (default) or `redshift`. */
  GOLD_ENGINE: 'MEDALLION_GOLD_ENGINE',
  /** Redshift: the KMS key id its UNLOADs encrypt gold with (the lake key). */
  GOLD_UNLOAD_KEY_ID: 'MEDALLION_GOLD_UNLOAD_KEY_ID',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];
type Spec = { readonly name: EnvName; readonly default?: string };

/**
 * Reads the named variables, failing with one message that lists every missing one.
 * Variables with a default are optional.
 */
export function readEnv<K extends string>(
  specs: Record<K, Spec>,
  env: NodeJS.ProcessEnv = process.env,
): Record<K, string> {
  const out = {} as Record<K, string>;
  const missing: string[] = [];
  for (const key of Object.keys(specs) as K[]) {
    const spec = specs[key];
    const value = env[spec.name] ?? spec.default;
    if (value === undefined || value === '') missing.push(spec.name);
    else out[key] = value;
  }
  if (missing.length > 0) throw new ConfigError(`missing environment variable(s): ${missing.join(', ')}`);
  return out;
}

/** Parses a positive integer setting, naming the variable when it is not one. */
export function positiveInt(name: EnvName, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new ConfigError(`${name} must be a positive integer, got '${value}'`);
  return n;
}
