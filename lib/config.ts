/**
 * The one typed configuration of a medallion deployment, read from CDK context and validated at synth.
 *
 * Where it comes from (later sources win, objects are merged key by key):
 *   1. the context key `medallion` (an object in cdk.json, or a JSON string);
 *   2. the context key `medallion:config`: a JSON object, a JSON string, or the path of a JSON file
 *      (relative to the working directory), e.g. `npx cdk synth -c medallion:config=config/prod.json`.
 * Every field has a safe default, so an empty configuration synthesizes a retained, locked-down `dev`.
 *
 * A bad value fails synth with every problem listed, e.g.
 *   invalid medallion configuration (context 'medallion:config' = config/prod.json):
 *     - transform.timeoutSeconds: Too big: expected number to be <=900
 */

import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { z } from 'zod';
import { MedallionConfigError } from '../core/errors';
import { COMMIT_LOG_RETENTION_DAYS } from '../core/lake/layout';
import { DEFAULT_PLAN_SETTINGS } from '../core/silver/current-state-plan';

/** The repository root: relative paths in the configuration (contractsDir) are resolved against it. */
export const PROJECT_ROOT = resolve(__dirname, '..');

/** Context keys read by `readMedallionConfig`. */
export const CONFIG_CONTEXT_KEY = 'medallion';
export const CONFIG_OVERRIDE_CONTEXT_KEY = 'medallion:config';

/** Largest raw body the API can pass to Lambda: API Gateway base64-encodes it (binary media types) and
 * Lambda refuses a synchronous request over 6 MB, so ~4.5 MB of body is the real ceiling. */
export const MAX_API_BODY_BYTES = 4_500_000;

const positiveInt = () => z.number().int().positive();

/** The retention periods CloudWatch Logs accepts, in days (infinite retention is not offered). */
const LOG_RETENTION_DAYS = Object.values(logs.RetentionDays).filter(
  (d): d is number => typeof d === 'number' && d !== logs.RetentionDays.INFINITE,
);

/** How far back the current-state merge reads arrivals (an older watermark rebuilds instead), in days. */
const MERGE_LOOKBACK_DAYS = Math.floor(DEFAULT_PLAN_SETTINGS.watermarkMaxAgeMs / 86_400_000);

const retentionSchema = z
  .object({
    /** Uploads are moved out of landing within seconds; what is left failed to land (see the failure
     * queue). Long enough for an operator to replay it, short enough not to keep a second copy of data. */
    landingDays: positiveInt().default(14),
    quarantineDays: positiveInt().default(90),
    athenaResultsDays: positiveInt().default(30),
    /**
     * The silver arrivals (the Parquet files each transform writes, the `<dataset>_arrivals` tables) expire
     * after this; the gold workflow has appended them to the `<dataset>_history` tables by then. With gold
     * disabled nothing appends them, so they never expire.
     */
    silverArrivalsDays: positiveInt()
      .min(COMMIT_LOG_RETENTION_DAYS, {
        message: `must be at least ${COMMIT_LOG_RETENTION_DAYS}: the current-state merge reads the arrivals committed up to ${MERGE_LOOKBACK_DAYS} days back (the commit log is kept ${COMMIT_LOG_RETENTION_DAYS} days)`,
      })
      .default(COMMIT_LOG_RETENTION_DAYS),
    /** Overwritten and deleted objects stay recoverable this long in every versioned bucket. */
    noncurrentVersionDays: positiveInt().default(30),
    /** S3 refuses a transition to STANDARD_IA before 30 days. */
    bronzeInfrequentAccessDays: positiveInt().min(30).default(30),
    /** S3 requires 30 days in STANDARD_IA before the next transition (checked below). */
    bronzeGlacierIrDays: positiveInt().default(90),
    /** Governance-mode retention of bronze objects when `bronzeObjectLock` is on. */
    bronzeObjectLockDays: positiveInt().default(365),
    /** S3 server access logs (the audit trail of every data bucket). */
    accessLogsDays: positiveInt().default(365),
    /** CloudWatch log groups of the functions and the API (one of CloudWatch Logs' retention values). */
    logDays: positiveInt()
      .refine((d) => LOG_RETENTION_DAYS.includes(d), {
        message: `must be one of CloudWatch Logs' retention values: ${LOG_RETENTION_DAYS.join(', ')}`,
      })
      .default(90),
  })
  .strict();

const transformSchema = z
  .object({
    /** 3008 MB gives ~2 vCPUs: DuckDB parses and writes in parallel. */
    memoryMb: z.number().int().min(512).max(10240).default(3008),
    /** Lambda's maximum; the queue's visibility timeout is derived from it (6x). */
    timeoutSeconds: z.number().int().min(30).max(900).default(900),
    /**
     * Caps concurrent transforms (and so S3 and DuckDB load): the SQS event source's maximum concurrency
     * (at least 2, SQS's minimum). It reserves nothing, so it deploys on accounts whose concurrency quota
     * is 10 or 50 (Lambda refuses a reservation that leaves fewer than 100 unreserved).
     */
    maxConcurrency: z.number().int().min(2).max(1000).default(5),
    /**
     * Opt-in: reserve this many concurrent executions for the transform (a guarantee against other
     * functions of the account; it also caps it). At least `maxConcurrency`, or SQS would hand messages to
     * a throttled function and each throttle would count as a receive.
     */
    reservedConcurrency: z.number().int().min(2).max(1000).optional(),
  })
  .strict()
  .refine((t) => t.reservedConcurrency === undefined || t.reservedConcurrency >= t.maxConcurrency, {
    path: ['reservedConcurrency'],
    message: 'must be at least maxConcurrency: SQS would hand messages to a throttled function',
  });

const apiSchema = z
  .object({
    /** Steady-state requests per second accepted by the stage. */
    throttleRateLimit: z.number().positive().max(10_000).default(50),
    throttleBurstLimit: z.number().int().positive().max(5_000).default(100),
  })
  .strict();

/** `rate(1 hour)`, `rate(15 minutes)`: EventBridge wants the singular for 1 and the plural otherwise. */
const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
/** `cron(minutes hours day-of-month month day-of-week year)`: six fields. */
const CRON = /^cron\(\S+( \S+){5}\)$/;

/**
 * The interval between two runs of an EventBridge schedule expression, in minutes, when it is regular
 * and simple enough to tell: any `rate(...)`, and, on every day, `cron` expressions that run every N
 * minutes (minutes `0/N` or star-slash-N, hours `*`), hourly (a fixed minute), every N hours (hours `0/N`
 * or star-slash-N) or daily (fixed minute and hour). Undefined for the others (weekdays only, lists...).
 */
export function scheduleIntervalMinutes(expression: string): number | undefined {
  const rate = RATE.exec(expression);
  if (rate)
    return Number(rate[1]) * { minute: 1, hour: 60, day: 1440 }[rate[2].replace(/s$/, '') as 'minute'];
  if (!CRON.test(expression)) return undefined;
  const [minute, hour, dayOfMonth, month, dayOfWeek] = expression.slice(5, -1).split(' ');
  const every = (field: string) => /^(?:\*|0)\/(\d+)$/.exec(field);
  const fixed = (field: string) => /^\d+$/.test(field);
  const anyDay = ['*', '?'].includes(dayOfMonth) && ['*', '?'].includes(dayOfWeek) && month === '*';
  if (!anyDay) return undefined;
  const everyMinutes = every(minute);
  if (everyMinutes && hour === '*') return Number(everyMinutes[1]);
  if (!fixed(minute)) return undefined;
  if (hour === '*') return 60;
  const everyHours = every(hour);
  if (everyHours) return Number(everyHours[1]) * 60;
  return fixed(hour) ? 1440 : undefined;
}

function validRate(expression: string): boolean {
  const rate = RATE.exec(expression);
  if (!rate) return false;
  const n = Number(rate[1]);
  return n > 0 && (n === 1) === !rate[2].endsWith('s');
}

/** Environments for development only: they may be destroyed, and may run without an alarm e-mail. */
const DEVELOPMENT_ENVIRONMENT = /^(dev|test|sandbox|ci)/;

/** An EventBridge schedule expression, checked at synth. */
function scheduleExpression() {
  return z.string().refine((s) => CRON.test(s) || validRate(s), {
    message:
      "must be an EventBridge schedule expression: 'rate(<n> minute|minutes|hour|hours|day|days)' (singular for 1) or 'cron(<6 fields>)'",
  });
}

const reconcilerSchema = z
  .object({
    /** When the reconciler looks for stranded uploads and bronze objects (EventBridge expression, UTC). */
    schedule: scheduleExpression().default('rate(15 minutes)'),
    /**
     * Bronze `ingest_date` days it reads, today included: an object stranded longer ago than that is not
     * found (replay it). At most the commit log's retention, which tells it what was committed.
     */
    lookbackDays: z.number().int().min(1).max(COMMIT_LOG_RETENTION_DAYS).default(3),
  })
  .strict();

/** The gold engines a deployment can choose. */
export const GOLD_ENGINES = ['athena', 'redshift'] as const;
export type GoldEngineName = (typeof GOLD_ENGINES)[number];

const redshiftSchema = z
  .object({
    /** Base capacity of the workgroup, in RPUs (8 to 512 in steps of 8, or 4 where the region offers it). */
    baseCapacity: z.number().int().min(4).max(512).default(4),
    /**
     * Upper bound of the workgroup's scaling, in RPUs.
     * @default - Redshift's (no bound)
     */
    maxCapacity: z.number().int().min(4).max(5632).optional(),
    /** Daily usage limit (RPU-hours): past it Redshift emits a metric (the breach action is `emit-metric`). */
    usageLimitRpuHours: z.number().int().min(1).default(16),
    /** The cost alarm fires when a day's compute exceeds this many RPU-hours. */
    costAlarmRpuHoursPerDay: z.number().positive().default(12),
  })
  .strict();

const goldSchema = z
  .object({
    /** The gold models (`<name>.sql`, see `loadGoldModels`), relative to the repository root. */
    modelsDir: z.string().min(1).default('samples/models'),
    /** When the gold workflow runs: an EventBridge `rate(...)` or `cron(...)` expression (UTC). */
    schedule: scheduleExpression().default('rate(1 hour)'),
    /** Build the gold workflow and tables (when the models directory holds models). */
    enabled: z.boolean().default(true),
    /** Published versions kept per gold table (the current one included); older ones are deleted. */
    versionsKept: z.number().int().min(1).max(100).default(3),
    /**
     * The engine that runs the models: `athena` (serverless, paid per TB scanned), or `redshift`
     * (Redshift Serverless: a workgroup in its own VPC, paid per RPU-hour; each model is also a table of
     * its `gold` schema for BI tools). Gold is published to the gold bucket and the Glue catalog either way.
     * The README's "Athena or Redshift Serverless for gold" compares them.
     */
    engine: z.enum(GOLD_ENGINES).default('athena'),
    /** Redshift Serverless settings (used when `engine` is `redshift`). */
    redshift: redshiftSchema.default(redshiftSchema.parse({})),
  })
  .strict();

export const medallionConfigSchema = z
  .object({
    /** Names the deployment: the stack is `Medallion-<environment>` and every resource is tagged with it. */
    environment: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{0,19}$/,
        "must be lower-case letters, digits and '-', starting with a letter (max 20)",
      )
      .default('dev'),
    /**
     * Pins the deployment to one AWS account and region: synth targets them whatever the credentials, so
     * a deploy with the wrong profile fails instead of creating a second lake. Default: the CLI's
     * (`CDK_DEFAULT_ACCOUNT`/`CDK_DEFAULT_REGION`, which the CLI derives from the profile or `AWS_REGION`).
     */
    account: z
      .string()
      .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
      .optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1')
      .optional(),
    /** Who the alarms e-mail (used by the monitoring slice). */
    alarmEmail: z.email().optional(),
    /** Monthly AWS budget of the deployment, in USD (used by the budgets slice). */
    monthlyBudgetUsd: z.number().positive().default(50),
    /**
     * Count only this deployment's costs in the budget (tags `pipeline=medallion` and
     * `environment=<environment>`) instead of the whole account's. Activate both tags as cost allocation
     * tags first (Billing console, management account): until then a filtered budget sees nothing, so this
     * is opt-in.
     */
    budgetFilterByTags: z.boolean().default(false),
    /**
     * Gold must have been published within this many minutes (the `Freshness` alarm): more than the gold
     * schedule's interval (checked below), plus the time a run takes.
     */
    freshnessSloMinutes: z.number().int().positive().default(120),
    retention: retentionSchema.default(retentionSchema.parse({})),
    transform: transformSchema.default(transformSchema.parse({})),
    api: apiSchema.default(apiSchema.parse({})),
    /** Largest API request body, in bytes (larger files go through the landing bucket). */
    maxBodyBytes: z
      .number()
      .int()
      .positive()
      .max(MAX_API_BODY_BYTES)
      .default(4 * 1024 * 1024),
    /** The data contracts shipped with the functions, relative to the repository root. */
    contractsDir: z.string().min(1).default('samples/contracts'),
    /**
     * The CPU of the Lambda functions. `arm64` (Graviton) by default: ~20% cheaper per GB-second than
     * `x86_64` for the same memory, and DuckDB ships a linux-arm64 binding (synth checks the bundle has the
     * binding for the chosen CPU). `x86_64` if a native dependency has no arm64 build.
     */
    lambdaArchitecture: z.enum(['arm64', 'x86_64']).default('arm64'),
    /**
     * The PII hashing salt of an earlier deployment, to keep every hash the same when the stack is created
     * again (the salt secret is retained when a stack is deleted; its name is the `PiiSaltSecretName`
     * output). Without it the stack generates a new salt, so every `pii: hash` value changes.
     */
    piiSalt: z
      .object({
        /** The retained secret's name (Secrets Manager names: letters, digits and /_+=.@-). */
        secretName: z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'must be a Secrets Manager secret name'),
        /**
         * The KMS key that encrypts it (the earlier deployment's lake key, retained too): the transform is
         * allowed to decrypt with it through Secrets Manager. Omit for the AWS managed key.
         */
        keyArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, 'must be a KMS key ARN')
          .optional(),
      })
      .strict()
      .optional(),
    /** The gold layer: SQL models, run by the gold workflow on a schedule. */
    gold: goldSchema.default(goldSchema.parse({})),
    /** Finds and re-drives uploads and bronze objects the event route lost (the `Stranded` alarm). */
    reconciler: reconcilerSchema.default(reconcilerSchema.parse({})),
    /** Dev only: buckets and logs are destroyed with the stack (objects included) instead of retained. */
    allowDestroy: z.boolean().default(false),
    /** Object Lock (governance mode) on bronze: bronze bytes cannot be overwritten or deleted early. */
    bronzeObjectLock: z.boolean().default(false),
  })
  .strict()
  .superRefine((c, ctx) => {
    const r = c.retention;
    if (r.bronzeGlacierIrDays < r.bronzeInfrequentAccessDays + 30) {
      ctx.addIssue({
        code: 'custom',
        path: ['retention', 'bronzeGlacierIrDays'],
        message: `must be at least 30 days after bronzeInfrequentAccessDays (${r.bronzeInfrequentAccessDays}): S3 keeps objects 30 days in STANDARD_IA before the next transition`,
      });
    }
    const interval = c.gold.enabled ? scheduleIntervalMinutes(c.gold.schedule) : undefined;
    if (interval !== undefined && c.freshnessSloMinutes <= interval) {
      ctx.addIssue({
        code: 'custom',
        path: ['freshnessSloMinutes'],
        message: `must be more than the gold schedule's interval (${c.gold.schedule}: every ${interval} minutes), or the Freshness alarm fires between two runs: set it to at least ${2 * interval}, or schedule gold more often`,
      });
    }
    if (!c.alarmEmail && !DEVELOPMENT_ENVIRONMENT.test(c.environment)) {
      ctx.addIssue({
        code: 'custom',
        path: ['alarmEmail'],
        message: `is required for environment '${c.environment}': without it the alarm topic has no subscriber and every alarm reaches no one (only dev*, test*, sandbox* and ci* environments may omit it)`,
      });
    }
    if (c.allowDestroy && !DEVELOPMENT_ENVIRONMENT.test(c.environment)) {
      ctx.addIssue({
        code: 'custom',
        path: ['allowDestroy'],
        message: `is for development only: environment '${c.environment}' must start with dev, test, sandbox or ci`,
      });
    }
    if (c.allowDestroy && c.bronzeObjectLock) {
      ctx.addIssue({
        code: 'custom',
        path: ['bronzeObjectLock'],
        message:
          'cannot be combined with allowDestroy: locked bronze objects cannot be deleted with the stack',
      });
    }
  });

export type MedallionConfig = z.output<typeof medallionConfigSchema>;
export type MedallionConfigInput = z.input<typeof medallionConfigSchema>;

/** Validates a configuration object; `source` names where it came from in the error. */
export function parseMedallionConfig(raw: unknown, source = 'configuration'): MedallionConfig {
  const result = medallionConfigSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`,
  );
  throw new MedallionConfigError(
    `invalid medallion configuration (${source}):\n  - ${problems.join('\n  - ')}`,
  );
}

/** Reads, merges and validates the configuration from a construct's context (normally the App's). */
export function readMedallionConfig(node: Node): MedallionConfig {
  const sources: string[] = [];
  let merged: Record<string, unknown> = {};
  for (const key of [CONFIG_CONTEXT_KEY, CONFIG_OVERRIDE_CONTEXT_KEY]) {
    const value = node.tryGetContext(key);
    if (value === undefined || value === null || value === '') continue;
    const { object, source } = contextObject(key, value);
    sources.push(source);
    merged = deepMerge(merged, object);
  }
  return parseMedallionConfig(merged, sources.join(' + ') || 'defaults only');
}

/** A context value as an object: already one (cdk.json), a JSON string, or a JSON file's path. */
function contextObject(key: string, value: unknown): { object: Record<string, unknown>; source: string } {
  if (isPlainObject(value)) return { object: value, source: `context '${key}'` };
  if (typeof value !== 'string') {
    throw new MedallionConfigError(`context '${key}' must be an object, a JSON string or a JSON file path`);
  }
  const text = value.trim();
  const fromFile = !text.startsWith('{');
  const source = fromFile ? `context '${key}' = ${text}` : `context '${key}'`;
  let json = text;
  if (fromFile) {
    const file = isAbsolute(text) ? text : join(process.cwd(), text);
    if (!existsSync(file)) throw new MedallionConfigError(`${source}: no such file ${file}`);
    json = readFileSync(file, 'utf8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (e) {
    throw new MedallionConfigError(`${source} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(parsed)) throw new MedallionConfigError(`${source} must be a JSON object`);
  // `$schema` points editors at schema/medallion-config.schema.json; it is not configuration.
  const { $schema: _editorSchema, ...object } = parsed;
  return { object, source };
}

/** The JSON Schema of a configuration file (input side: defaults optional), `$schema` allowed for editors. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(medallionConfigSchema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, unknown>;
  } & Record<string, unknown>;
  return {
    ...schema,
    title: 'medallion configuration',
    description:
      'The configuration of a medallion deployment (cdk.json context key `medallion`, or a file given with -c medallion:config=<file>). Validated at synth with lib/config.ts, which also checks rules this schema cannot express.',
    properties: { $schema: { type: 'string' }, ...schema.properties },
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/** The gold models directory as an absolute path. */
export function goldModelsDirectory(config: Pick<MedallionConfig, 'gold'>): string {
  const dir = config.gold.modelsDir;
  return isAbsolute(dir) ? dir : join(PROJECT_ROOT, dir);
}

/** The contracts directory as an absolute path. */
export function contractsDirectory(config: Pick<MedallionConfig, 'contractsDir'>): string {
  return isAbsolute(config.contractsDir) ? config.contractsDir : join(PROJECT_ROOT, config.contractsDir);
}
