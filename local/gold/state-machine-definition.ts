/**
 * The gold workflow's state machine as the cloud would run it, for the local runner: the definition of
 * the synthesized template (`lib/medallion-app.ts`, the app `cdk synth` builds), its CloudFormation
 * tokens resolved to local names (buckets, database, workgroup, topic ARN).
 *
 * Synthesizing in-process (asset bundling skipped with the context `aws:cdk:bundling-stacks: []`, cdk-nag
 * still applied) takes ~2.5-3 s warm, ~8-11 s on a cold file cache (measured on the 2-core dev box);
 * callers that already hold a template pass it instead.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';
import { mergedTemplateOf } from '../cloud/stack-templates';

/** A CloudFormation template, as far as this module reads it. */
export interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  Outputs?: Record<string, unknown>;
}

/**
 * Local names of the buckets, by their `layer` tag (`landing`, `bronze`, `silver`, `gold`, `quarantine`,
 * `athena-results`, `ops`). A bucket not given here is named `<bucketPrefix>-<layer>`.
 */
export type LocalBuckets = Partial<Record<string, string>>;

export interface ResolveOptions {
  readonly buckets?: LocalBuckets;
  /** Default `medallion-local` (the local cloud's bucket prefix). */
  readonly bucketPrefix?: string;
  /** Default `us-east-1`. */
  readonly region?: string;
  /** Default `000000000000`. */
  readonly accountId?: string;
}

/** A template whose tokens can be resolved to local values. */
export class TemplateResolver {
  readonly region: string;
  readonly accountId: string;
  private readonly refs = new Map<string, string>();

  constructor(
    readonly template: CfnTemplate,
    options: ResolveOptions = {},
  ) {
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '000000000000';
    const prefix = options.bucketPrefix ?? 'medallion-local';
    for (const [id, r] of Object.entries(template.Resources)) {
      const p = r.Properties ?? {};
      switch (r.Type) {
        case 'AWS::S3::Bucket': {
          const layer = tagValue(p.Tags, 'layer') ?? id;
          this.refs.set(id, options.buckets?.[layer] ?? `${prefix}-${layer}`);
          break;
        }
        case 'AWS::SNS::Topic':
          this.refs.set(id, `arn:aws:sns:${this.region}:${this.accountId}:${(p.TopicName as string) ?? id}`);
          break;
        case 'AWS::Glue::Database':
          this.refs.set(id, (p.DatabaseInput as { Name: string }).Name);
          break;
        case 'AWS::Athena::WorkGroup':
          this.refs.set(id, p.Name as string);
          break;
        default:
          break;
      }
    }
  }

  /** The local bucket name of a layer (`gold`, `silver`, `athena-results`...), from the template. */
  bucketOf(layer: string): string {
    for (const [id, r] of Object.entries(this.template.Resources)) {
      if (r.Type === 'AWS::S3::Bucket' && tagValue(r.Properties?.Tags, 'layer') === layer) {
        return this.refs.get(id) as string;
      }
    }
    throw new Error(`the template has no bucket tagged layer=${layer}`);
  }

  /** `value` with every `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub` (simple form) replaced. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [k] = keys;
      if (k === 'Ref') return this.ref(o.Ref as string);
      if (k === 'Fn::GetAtt') return this.getAtt(o[k] as [string, string]);
      if (k === 'Fn::Join') {
        const [sep, parts] = o[k] as [string, unknown[]];
        return (this.resolve(parts) as unknown[]).map(String).join(sep);
      }
      if (k === 'Fn::Sub' && typeof o[k] === 'string') {
        return (o[k] as string).replace(/\$\{([^}]+)\}/g, (_m, name: string) =>
          name.includes('.') ? this.getAtt(name.split('.') as [string, string]) : this.ref(name),
        );
      }
      if (k.startsWith('Fn::')) throw new Error(`unsupported CloudFormation function ${k}`);
    }
    return Object.fromEntries(keys.map((k) => [k, this.resolve(o[k])]));
  }

  private ref(name: string): string {
    switch (name) {
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::Region':
        return this.region;
      case 'AWS::AccountId':
        return this.accountId;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return 'medallion-local';
      default: {
        const v = this.refs.get(name);
        if (v !== undefined) return v;
        if (!this.template.Resources[name])
          throw new Error(`Ref of an unknown resource or parameter ${name}`);
        return `local-${name}`;
      }
    }
  }

  private getAtt([id, attribute]: [string, string]): string {
    const r = this.template.Resources[id];
    if (!r) throw new Error(`Fn::GetAtt of an unknown resource ${id}`);
    if (attribute === 'Arn' || attribute.endsWith('Arn')) {
      const service = r.Type.split('::')[1]?.toLowerCase() ?? 'unknown';
      return `arn:aws:${service}:${this.region}:${this.accountId}:${id}`;
    }
    return `local-${id}-${attribute}`;
  }
}

function tagValue(tags: unknown, key: string): string | undefined {
  if (!Array.isArray(tags)) return undefined;
  const tag = tags.find((t) => (t as { Key?: string }).Key === key) as { Value?: unknown } | undefined;
  return typeof tag?.Value === 'string' ? tag.Value : undefined;
}

/** An ASL definition (JSONPath). */
export interface AslDefinition {
  StartAt: string;
  States: Record<string, Record<string, unknown>>;
  Comment?: string;
  QueryLanguage?: string;
  TimeoutSeconds?: number;
}

/** The logical id of the gold state machine: the one whose definition runs Athena UNLOADs. */
export function goldStateMachineId(template: CfnTemplate): string {
  const ids = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')
    .filter(([id, r]) => id.startsWith('Gold') || JSON.stringify(r.Properties).includes('athena:startQuery'))
    .map(([id]) => id);
  if (ids.length !== 1) {
    throw new Error(
      `expected one gold state machine in the template, found ${ids.length}: ${ids.join(', ')}`,
    );
  }
  return ids[0];
}

/** The gold state machine's ASL, its tokens resolved with `resolver`. */
export function goldDefinition(resolver: TemplateResolver): AslDefinition {
  const r = resolver.template.Resources[goldStateMachineId(resolver.template)];
  const body = r.Properties?.DefinitionString ?? r.Properties?.Definition;
  const resolved = resolver.resolve(body);
  return (typeof resolved === 'string' ? JSON.parse(resolved) : resolved) as AslDefinition;
}

export interface SynthOptions {
  /** Merged into the `medallion` context key (e.g. `{ gold: { modelsDir } }`). */
  readonly config?: Record<string, unknown>;
  /** More context (cdk.json's context and `aws:cdk:bundling-stacks: []` are set already). */
  readonly context?: Record<string, unknown>;
}

/**
 * Builds the app of `lib/medallion-app.ts` in-process, asset bundling skipped, and returns its stacks'
 * templates merged into one (`mergeStackTemplates`) (synthesized into a temporary directory, removed afterwards) and how long it took.
 */
export function synthesizeTemplate(options: SynthOptions = {}): { template: CfnTemplate; ms: number } {
  const t0 = Date.now();
  // Loaded lazily: aws-cdk-lib costs seconds to load, and callers holding a template never need it.
  const { createMedallionApp } =
    require('../../lib/medallion-app') as typeof import('../../lib/medallion-app');
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const base = cdkJson.context ?? {};
  const medallion = { ...((base.medallion as object) ?? {}), ...(options.config ?? {}) };
  const outdir = mkdtempSync(join(tmpdir(), 'medallion-gold-synth-'));
  try {
    const { app, pipeline } = createMedallionApp({
      outdir,
      context: { ...base, 'aws:cdk:bundling-stacks': [], ...options.context, medallion },
    });
    const assembly = app.synth();
    // The platform's and every domain's resources (the domains declare the datasets' tables).
    const template = mergedTemplateOf(assembly, pipeline.stacks) as CfnTemplate;
    return { template, ms: Date.now() - t0 };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
