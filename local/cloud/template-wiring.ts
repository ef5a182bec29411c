/**
 * The local cloud's wiring, derived from the synthesized CDK template instead of written a second time:
 *
 *  - buckets: every `AWS::S3::Bucket`, named locally `<prefix>-<role>`, the role being the bucket's
 *    `layer` tag (landing, bronze, silver, gold, quarantine, athena-results, ops);
 *  - routes: every `Custom::S3BucketNotifications` configuration (bucket, event names, prefix/suffix
 *    filter rules) with its destination, a Lambda function or an SQS queue;
 *  - queues: redrive policy (maxReceiveCount) and the event source mapping that drains each (function,
 *    batch size, partial batch responses, maximum concurrency);
 *  - functions: the handler module and export each runs, async-invocation retries, and the environment
 *    variables with `Ref`s to buckets resolved to local bucket names and the PII salt secret's ARN replaced
 *    by a local salt (see {@link localFunctionEnv});
 *  - the function behind the ingest API (the `AWS_PROXY` integration of an `AWS::ApiGateway::Method`).
 *
 * Which module a function runs: the template only says `index.<export>` (the bundle is esbuild's output)
 * and, with bundling skipped, its code asset names no entry. The export comes from the template's
 * `Handler`; the module comes from {@link HANDLER_ENTRIES}, keyed by the construct path of the
 * `MedallionFunction` (matched on the end of the path, so a test stack that nests `BronzeToSilverPipeline`
 * under another id maps the same way). It mirrors the `entry` props in lib/: a function added there needs
 * a line here, or the local cloud refuses to start when something routes to it.
 *
 * Synthesis is in-process, with cdk.json's context and asset bundling skipped, through
 * `createMedallionApp` (what `cdk synth` builds, cdk-nag included): ~10 s. So the wiring is cached as
 * JSON, keyed by a hash of lib/, core/, the contracts, cdk.json and this file.
 */

import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { ENV } from '../../core/config/env';
import { type GoldEngineName, PROJECT_ROOT } from '../../lib/config';
import { mergedTemplateOf } from './stack-templates';

/** Bump when the shape of {@link LocalWiring} or the derivation changes (also part of the cache key). */
export const WIRING_VERSION = 6;

/**
 * The handler module (relative to the repository root, without extension) of each `MedallionFunction`,
 * by the end of its construct path. Mirrors the `entry` props in lib/ingest-api.ts and
 * lib/bronze-to-silver-pipeline.ts.
 */
export const HANDLER_ENTRIES: readonly { readonly pathEndsWith: string; readonly module: string }[] = [
  { pathEndsWith: 'IngestApi/Handler', module: 'lambdas/landing/handler' },
  { pathEndsWith: '/Landing', module: 'lambdas/landing/handler' },
  { pathEndsWith: '/Transform', module: 'lambdas/bronze-to-silver/handler' },
  { pathEndsWith: 'CurrentState/Planner', module: 'lambdas/current-state/handler' },
  { pathEndsWith: 'GoldRetention/Janitor', module: 'lambdas/gold-retention/handler' },
  { pathEndsWith: 'GoldPlanner/Planner', module: 'lambdas/gold-planner/handler' },
];

export interface WiredBucket {
  readonly logicalId: string;
  readonly role: string;
  /** The local bucket name, `<prefix>-<role>`. */
  readonly name: string;
}

/** An environment variable value the local cloud fills in (see {@link localFunctionEnv}). */
export const LOCAL_PLACEHOLDERS = {
  piiSalt: '<local:pii-salt>',
} as const;

export interface WiredFunction {
  readonly logicalId: string;
  /** Construct path inside the stack, e.g. `BronzeToSilver/Transform/Function/Resource`. */
  readonly path: string;
  /** Repository-relative module without extension (from {@link HANDLER_ENTRIES}); absent if unknown. */
  readonly module?: string;
  /** The exported function (`index.s3Handler` -> `s3Handler`). */
  readonly export: string;
  readonly memoryMb?: number;
  readonly timeoutSeconds?: number;
  /** Retries of an asynchronous invocation (AWS::Lambda::EventInvokeConfig; Lambda's default is 2). */
  readonly retryAttempts: number;
  /** Environment variables, bucket `Ref`s resolved to local names. */
  readonly env: Record<string, string>;
  /** Variables whose value could not be resolved locally (they are left out of `env`). */
  readonly unresolved: string[];
}

export interface WiredQueue {
  readonly logicalId: string;
  readonly maxReceiveCount?: number;
  readonly deadLetterQueue?: string;
  /** The event source mapping draining it, if any. */
  readonly consumer?: {
    readonly function: string;
    readonly batchSize: number;
    readonly reportBatchItemFailures: boolean;
    readonly maxConcurrency?: number;
  };
}

export interface WiredRoute {
  /** `<bucket logical id>/<n>`: S3's configuration id. */
  readonly id: string;
  readonly bucketLogicalId: string;
  /** The local bucket name. */
  readonly bucket: string;
  /** S3 event name patterns, e.g. `s3:ObjectCreated:*`. */
  readonly events: string[];
  readonly prefix?: string;
  readonly suffix?: string;
  readonly destination: { readonly type: 'function' | 'queue'; readonly logicalId: string };
}

/** The scheduled reconciler: a function with the stranded-object settings, and the rule that runs it. */
export interface WiredReconciler {
  readonly function: string;
  /** The EventBridge schedule expression of its rule. */
  readonly schedule: string;
  readonly landingAfterMs: number;
  readonly bronzeAfterMs: number;
  readonly lookbackDays: number;
}

export interface LocalWiring {
  readonly version: number;
  /** The stack the wiring comes from. */
  readonly stack: string;
  readonly bucketPrefix: string;
  readonly buckets: WiredBucket[];
  readonly functions: Record<string, WiredFunction>;
  readonly queues: Record<string, WiredQueue>;
  readonly routes: WiredRoute[];
  /** The function behind the ingest API, if the stack has one. */
  readonly apiFunction?: string;
  /** The reconciler's schedule and settings, if the stack has one (the local cloud runs its core itself). */
  readonly reconciler?: WiredReconciler;
  /** How long synthesis took when this wiring was derived. */
  readonly synthMs: number;
}

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON
type Json = any;

export interface DeriveOptions {
  /** Local bucket names are `<prefix>-<role>`; default `medallion-local`. */
  readonly bucketPrefix?: string;
  /** Construct path (inside the stack) of each function's logical id, for {@link HANDLER_ENTRIES}. */
  readonly paths?: Record<string, string>;
  readonly stackName?: string;
  readonly synthMs?: number;
}

/** The wiring described by a synthesized template. */
export function deriveWiring(template: Json, options: DeriveOptions = {}): LocalWiring {
  const prefix = options.bucketPrefix ?? 'medallion-local';
  const resources: Record<string, Json> = template.Resources ?? {};
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

  const buckets: WiredBucket[] = [];
  const roles = new Set<string>();
  for (const [logicalId, r] of ofType('AWS::S3::Bucket')) {
    const tags: { Key: string; Value: string }[] = r.Properties?.Tags ?? [];
    let role =
      tags.find((t) => t.Key === 'layer')?.Value ?? logicalId.replace(/[0-9A-F]{8}$/, '').toLowerCase();
    if (roles.has(role)) role = `${role}-${logicalId.replace(/[0-9A-F]{8}$/, '').toLowerCase()}`;
    roles.add(role);
    buckets.push({ logicalId, role, name: `${prefix}-${role}` });
  }
  const bucketName = new Map(buckets.map((b) => [b.logicalId, b.name]));
  const refTo = (v: Json): string | undefined => (v && typeof v.Ref === 'string' ? v.Ref : undefined);
  const getAttOf = (v: Json): string | undefined =>
    v && Array.isArray(v['Fn::GetAtt']) ? String(v['Fn::GetAtt'][0]) : undefined;
  const fnRef = (v: Json): string | undefined =>
    refTo(v) ?? getAttOf(v) ?? (typeof v === 'string' ? v : undefined);

  const retries = new Map<string, number>();
  for (const [, r] of ofType('AWS::Lambda::EventInvokeConfig')) {
    const fn = fnRef(r.Properties?.FunctionName);
    if (fn && r.Properties.MaximumRetryAttempts !== undefined)
      retries.set(fn, r.Properties.MaximumRetryAttempts);
  }

  const functions: Record<string, WiredFunction> = {};
  for (const [logicalId, r] of ofType('AWS::Lambda::Function')) {
    const p = r.Properties ?? {};
    const path = options.paths?.[logicalId] ?? r.Metadata?.['aws:cdk:path'] ?? logicalId;
    const owner = path.replace(/\/Function\/Resource$/, '').replace(/\/Resource$/, '');
    const entry = HANDLER_ENTRIES.find((e) => owner.endsWith(e.pathEndsWith));
    const env: Record<string, string> = {};
    const unresolved: string[] = [];
    for (const [name, value] of Object.entries<Json>(p.Environment?.Variables ?? {})) {
      if (typeof value === 'string') env[name] = value;
      else if (refTo(value) && bucketName.has(refTo(value) as string))
        env[name] = bucketName.get(refTo(value) as string) as string;
      else if (
        name === ENV.PII_HASH_SALT_SECRET_ARN &&
        resources[refTo(value) ?? '']?.Type === 'AWS::SecretsManager::Secret'
      )
        env[ENV.PII_HASH_SALT] = LOCAL_PLACEHOLDERS.piiSalt;
      // A KMS key's id (Redshift's UNLOAD names the lake key): the local S3 server does not encrypt.
      else if (resources[refTo(value) ?? '']?.Type === 'AWS::KMS::Key')
        env[name] = `local-key-${refTo(value)}`;
      else unresolved.push(name);
    }
    functions[logicalId] = {
      logicalId,
      path,
      ...(entry ? { module: entry.module } : {}),
      export: String(p.Handler ?? 'index.handler').replace(/^.*\./, ''),
      ...(p.MemorySize ? { memoryMb: p.MemorySize } : {}),
      ...(p.Timeout ? { timeoutSeconds: p.Timeout } : {}),
      retryAttempts: retries.get(logicalId) ?? 2,
      env,
      unresolved,
    };
  }

  const queues: Record<string, WiredQueue> = {};
  const mappings = ofType('AWS::Lambda::EventSourceMapping');
  for (const [logicalId, r] of ofType('AWS::SQS::Queue')) {
    const redrive = r.Properties?.RedrivePolicy;
    const mapping = mappings.find(([, m]) => getAttOf(m.Properties?.EventSourceArn) === logicalId)?.[1];
    const fn = mapping && fnRef(mapping.Properties.FunctionName);
    queues[logicalId] = {
      logicalId,
      ...(redrive?.maxReceiveCount ? { maxReceiveCount: Number(redrive.maxReceiveCount) } : {}),
      ...(getAttOf(redrive?.deadLetterTargetArn)
        ? { deadLetterQueue: getAttOf(redrive.deadLetterTargetArn) }
        : {}),
      ...(fn
        ? {
            consumer: {
              function: fn,
              batchSize: mapping.Properties.BatchSize ?? 10,
              reportBatchItemFailures: (mapping.Properties.FunctionResponseTypes ?? []).includes(
                'ReportBatchItemFailures',
              ),
              ...(mapping.Properties.ScalingConfig?.MaximumConcurrency
                ? { maxConcurrency: mapping.Properties.ScalingConfig.MaximumConcurrency }
                : {}),
            },
          }
        : {}),
    };
  }

  const routes: WiredRoute[] = [];
  for (const [, r] of ofType('Custom::S3BucketNotifications')) {
    const bucketLogicalId = refTo(r.Properties?.BucketName);
    const bucket = bucketLogicalId && bucketName.get(bucketLogicalId);
    if (!bucketLogicalId || !bucket) continue; // a bucket imported from elsewhere: nothing local
    const config = r.Properties.NotificationConfiguration ?? {};
    const kinds: [string, 'function' | 'queue', string][] = [
      ['LambdaFunctionConfigurations', 'function', 'LambdaFunctionArn'],
      ['QueueConfigurations', 'queue', 'QueueArn'],
    ];
    for (const [kind, type, arnField] of kinds) {
      for (const c of config[kind] ?? []) {
        const target = getAttOf(c[arnField]) ?? refTo(c[arnField]);
        if (!target) continue;
        const rules: { Name: string; Value: string }[] = c.Filter?.Key?.FilterRules ?? [];
        const rule = (n: string) => rules.find((x) => x.Name.toLowerCase() === n)?.Value;
        const prefixRule = rule('prefix');
        const suffixRule = rule('suffix');
        routes.push({
          id: `${bucketLogicalId}/${routes.filter((x) => x.bucketLogicalId === bucketLogicalId).length}`,
          bucketLogicalId,
          bucket,
          events: c.Events ?? [],
          ...(prefixRule !== undefined ? { prefix: prefixRule } : {}),
          ...(suffixRule !== undefined ? { suffix: suffixRule } : {}),
          destination: { type, logicalId: target },
        });
      }
    }
  }
  // SNS and EventBridge destinations are not modelled locally: refuse rather than silently drop them.
  for (const [, r] of ofType('Custom::S3BucketNotifications')) {
    const c = r.Properties?.NotificationConfiguration ?? {};
    if ((c.TopicConfigurations ?? []).length > 0 || c.EventBridgeConfiguration)
      throw new Error(
        'the template sends S3 notifications to SNS or EventBridge: the local cloud cannot run them',
      );
  }

  let apiFunction: string | undefined;
  for (const [, r] of ofType('AWS::ApiGateway::Method')) {
    const integration = r.Properties?.Integration;
    if (integration?.Type !== 'AWS_PROXY') continue;
    const text = JSON.stringify(integration.Uri ?? '');
    const fn = Object.keys(functions).find((id) => text.includes(`"${id}"`));
    if (fn) {
      apiFunction = fn;
      break;
    }
  }

  const reconciler = reconcilerOf(functions, ofType('AWS::Events::Rule'), fnRef);

  return {
    version: WIRING_VERSION,
    stack: options.stackName ?? '',
    bucketPrefix: prefix,
    buckets,
    functions,
    queues,
    routes,
    ...(apiFunction ? { apiFunction } : {}),
    ...(reconciler ? { reconciler } : {}),
    synthMs: options.synthMs ?? 0,
  };
}

/** Whether S3 would send `eventName` (e.g. `ObjectCreated:Put`) for the object `key` on this route. */
/** The function that carries the reconciler's settings, and the schedule of the rule that targets it. */
function reconcilerOf(
  functions: Record<string, WiredFunction>,
  rules: [string, Json][],
  fnRef: (v: Json) => string | undefined,
): WiredReconciler | undefined {
  const fn = Object.values(functions).find((f) => f.env[ENV.STRANDED_LANDING_AFTER_MINUTES] !== undefined);
  if (!fn) return undefined;
  const rule = rules.find(([, r]) =>
    (r.Properties?.Targets ?? []).some((t: Json) => fnRef(t.Arn) === fn.logicalId),
  )?.[1];
  const schedule = rule?.Properties?.ScheduleExpression;
  if (typeof schedule !== 'string') return undefined;
  const minutes = (name: string) => Number(fn.env[name]) * 60_000;
  return {
    function: fn.logicalId,
    schedule,
    landingAfterMs: minutes(ENV.STRANDED_LANDING_AFTER_MINUTES),
    bronzeAfterMs: minutes(ENV.STRANDED_BRONZE_AFTER_MINUTES),
    lookbackDays: Number(fn.env[ENV.RECONCILE_LOOKBACK_DAYS] ?? 3),
  };
}

export function routeMatches(route: WiredRoute, eventName: string, key: string): boolean {
  const name = eventName.replace(/^s3:/, '');
  const eventOk = route.events.some((pattern) => {
    const p = pattern.replace(/^s3:/, '');
    return p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p;
  });
  // S3 applies the prefix and the suffix rule together (both must match), on the object key.
  return (
    eventOk &&
    (route.prefix === undefined || key.startsWith(route.prefix)) &&
    (route.suffix === undefined || key.endsWith(route.suffix))
  );
}

/** The wiring of a constructed stack: synthesizes its app (the construct tree gives the paths). */
export function wiringFromStack(
  stack: Stack,
  options: Omit<DeriveOptions, 'paths' | 'stackName'> = {},
): LocalWiring {
  return wiringFromStacks([stack], options);
}

/**
 * The wiring of stacks deployed together (the platform and the domains): synthesizes their app and
 * derives the wiring from their templates merged into one (see `mergeStackTemplates`: imports resolved).
 * The first stack names the wiring.
 */
export function wiringFromStacks(
  stacks: readonly Stack[],
  options: Omit<DeriveOptions, 'paths' | 'stackName'> & {
    /** Given the merged template the wiring is derived from (e.g. to cache it for the local alarms). */
    readonly onTemplate?: (template: Json) => void;
  } = {},
): LocalWiring {
  const t0 = Date.now();
  // biome-ignore lint/suspicious/noExplicitAny: the root is the App (or a Stage) the stacks are in
  const stage: any = stacks[0].node.root;
  const assembly = stage.synth();
  const template = mergedTemplateOf(assembly, stacks);
  options.onTemplate?.(template);
  const synthMs = options.synthMs ?? Date.now() - t0;
  const paths: Record<string, string> = {};
  for (const stack of stacks) {
    for (const c of stack.node.findAll()) {
      const cfn = c as { cfnResourceType?: string; logicalId?: string };
      if (cfn.cfnResourceType !== 'AWS::Lambda::Function') continue;
      const logicalId = stack.resolve(cfn.logicalId) as string;
      paths[logicalId] = c.node.path.slice(stack.node.path.length + 1);
    }
  }
  return deriveWiring(template, { ...options, paths, stackName: stacks[0].stackName, synthMs });
}

export interface LoadWiringOptions {
  /** The contracts the local cloud runs (they decide the bronze prefix filters). */
  readonly contractsDir: string;
  readonly bucketPrefix?: string;
  /** Where the derived wiring is cached (`wiring-<hash>.json`); none: always synthesize. */
  readonly cacheDir?: string;
  /**
   * The gold engine of the deployment (the gold planner writes statements for it).
   * @default 'athena'
   */
  readonly goldEngine?: GoldEngineName;
}

export interface LoadedWiring {
  readonly wiring: LocalWiring;
  readonly fromCache: boolean;
  /** Time spent here (hashing plus synthesis when not cached). */
  readonly ms: number;
  readonly cacheFile?: string;
}

/** The app's wiring for these contracts: from the cache when lib/, the contracts and cdk.json are unchanged. */
export function loadLocalWiring(options: LoadWiringOptions): LoadedWiring {
  const t0 = Date.now();
  const contractsDir = resolve(options.contractsDir);
  const bucketPrefix = options.bucketPrefix ?? 'medallion-local';
  const goldEngine = options.goldEngine ?? 'athena';
  const key = wiringKey(contractsDir, bucketPrefix, goldEngine);
  const cacheFile = options.cacheDir ? join(resolve(options.cacheDir), `wiring-${key}.json`) : undefined;
  if (cacheFile && existsSync(cacheFile)) {
    try {
      const wiring = JSON.parse(readFileSync(cacheFile, 'utf8')) as LocalWiring;
      if (wiring.version === WIRING_VERSION)
        return { wiring, fromCache: true, ms: Date.now() - t0, cacheFile };
    } catch {
      // a torn or foreign file: synthesize again
    }
  }
  let template: Json | undefined;
  const wiring = synthesizeWiring(
    contractsDir,
    bucketPrefix,
    (t) => {
      template = t;
    },
    goldEngine,
  );
  if (cacheFile) {
    mkdirSync(resolve(options.cacheDir as string), { recursive: true });
    // The template first: whoever finds the wiring cached finds its template too.
    writeAtomically(
      wiringTemplateFile(options.cacheDir as string, contractsDir, bucketPrefix, goldEngine),
      JSON.stringify(template),
    );
    writeAtomically(cacheFile, `${JSON.stringify(wiring, null, 2)}\n`);
  }
  return { wiring, fromCache: false, ms: Date.now() - t0, ...(cacheFile ? { cacheFile } : {}) };
}

/** Writes `file` through a temporary file and a rename: concurrent starts never read half a file. */
function writeAtomically(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, file);
}

/**
 * Where {@link loadLocalWiring} caches the merged template its wiring was derived from (the app with gold
 * disabled: every stack's buckets, functions, queues and alarms), beside the wiring: the local alarms
 * evaluate it without synthesizing again.
 */
export function wiringTemplateFile(
  cacheDir: string,
  contractsDir: string,
  bucketPrefix: string,
  goldEngine: GoldEngineName = 'athena',
): string {
  const key = wiringKey(resolve(contractsDir), bucketPrefix, goldEngine);
  return join(resolve(cacheDir), `wiring-template-${key}.json`);
}

/** Synthesizes the app (`createMedallionApp`, cdk.json's context, bundling skipped) for these contracts. */
export function synthesizeWiring(
  contractsDir: string,
  bucketPrefix = 'medallion-local',
  onTemplate?: (template: Json) => void,
  goldEngine: GoldEngineName = 'athena',
): LocalWiring {
  const t0 = Date.now();
  // Loaded here: aws-cdk-lib takes ~1 s to load, and a cached wiring never needs it.
  const { createMedallionApp } =
    require('../../lib/medallion-app') as typeof import('../../lib/medallion-app');
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const outdir = mkdtempSync(join(tmpdir(), 'medallion-synth-'));
  try {
    const { app, pipeline } = createMedallionApp({
      outdir,
      context: {
        ...cdkJson.context,
        'aws:cdk:bundling-stacks': [],
        // The wiring needs buckets, notifications and functions only; gold models may not fit other contracts.
        'medallion:config': {
          contractsDir,
          gold: { enabled: false, engine: goldEngine },
        },
      },
    });
    const wiring = wiringFromStacks(pipeline.stacks, { bucketPrefix, ...(onTemplate ? { onTemplate } : {}) });
    void app;
    return { ...wiring, synthMs: Date.now() - t0 };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Hash of what decides the template's wiring: lib/, core/, the contracts, cdk.json, this file. */
export function wiringKey(
  contractsDir: string,
  bucketPrefix: string,
  goldEngine: GoldEngineName = 'athena',
): string {
  const hash = createHash('sha256');
  hash.update(`v${WIRING_VERSION}\0${bucketPrefix}\0`);
  // Athena's keys stay those of before engines were a choice.
  if (goldEngine !== 'athena') hash.update(`gold-engine=${goldEngine}\0`);
  const add = (label: string, dir: string) => {
    for (const file of listFiles(dir)) {
      hash.update(`${label}/${relative(dir, file).split(sep).join('/')}\0`);
      hash.update(readFileSync(file));
      hash.update('\0');
    }
  };
  add('lib', join(PROJECT_ROOT, 'lib'));
  add('core', join(PROJECT_ROOT, 'core'));
  add('contracts', contractsDir);
  hash.update(readFileSync(join(PROJECT_ROOT, 'cdk.json')));
  hash.update(readFileSync(__filename));
  // How the stacks' templates are merged decides the wiring too.
  hash.update(readFileSync(join(__dirname, 'stack-templates.ts')));
  return hash.digest('hex').slice(0, 16);
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

export interface LocalEnvOptions {
  readonly contractsDir: string;
  readonly scratchDir: string;
  readonly piiSalt: string;
  /** Replaces the template's MEDALLION_ENGINE_MEMORY_LIMIT (sized for Lambda, not this machine). */
  readonly engineMemoryLimit?: string;
}

/**
 * A function's environment as it runs locally: the template's, with the Lambda paths (/var/task/contracts,
 * /tmp) replaced by local ones, the salt placeholder by the local salt, and NODE_OPTIONS dropped (the
 * process is already running). Fails on a variable the template sets with a value that has no local form.
 */
export function localFunctionEnv(fn: WiredFunction, local: LocalEnvOptions): Record<string, string> {
  if (fn.unresolved.length > 0) {
    throw new Error(
      `function ${fn.path}: no local value for ${fn.unresolved.join(', ')} (teach local/template-wiring.ts)`,
    );
  }
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(fn.env)) {
    if (name === 'NODE_OPTIONS') continue;
    if (name === ENV.CONTRACTS_DIR) env[name] = local.contractsDir;
    else if (name === ENV.SCRATCH_DIR) env[name] = local.scratchDir;
    else if (name === ENV.ENGINE_MEMORY_LIMIT && local.engineMemoryLimit) env[name] = local.engineMemoryLimit;
    else if (value === LOCAL_PLACEHOLDERS.piiSalt) env[name] = local.piiSalt;
    else env[name] = value;
  }
  return env;
}
