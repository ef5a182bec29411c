/**
 * The configuration-drift checker (evidence scenario 26): what must hold of every synthesized PlatformStack,
 * checked on the CloudFormation template itself (what would be deployed) plus cdk-nag's report.
 *
 *   const synth = synthesizeForDrift();                 // or with a mutation, to prove a check can fail
 *   expect(checkConfigDrift(synth)).toEqual([]);
 *
 * Checks, each finding naming its check, the resource's logical id and what is wrong:
 *   bucket-public-access    every bucket blocks public ACLs and policies (all four settings true)
 *   bucket-encryption       every bucket has default encryption; data buckets use KMS
 *   bucket-versioning       every bucket has versioning Enabled
 *   bucket-tls-only         every bucket's policy denies s3:* to everyone when aws:SecureTransport is false
 *   data-bucket-wildcard    no Allow statement touching a data bucket (landing, bronze, silver, gold,
 *                           quarantine) has a wildcard action (`*`, `s3:*`, `s3:Get*`...) or NotAction
 *   data-buckets-present    the five data buckets exist (a check over nothing proves nothing)
 *   cdk-nag                 every AwsSolutions finding that is not acknowledged in code
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMedallionApp, type MedallionApp } from '../../../lib/medallion-app';
import { testContext } from '../cdk';

export const DATA_LAYERS = ['landing', 'bronze', 'silver', 'gold', 'quarantine'] as const;

export interface DriftFinding {
  readonly check: string;
  /** Logical id of the resource (for cdk-nag: the construct path). */
  readonly resource: string;
  readonly detail: string;
}

type Resource = { Type: string; Properties?: Record<string, unknown> };
export interface DriftTemplate {
  Resources: Record<string, Resource>;
}

export interface SynthesizedForDrift {
  readonly template: DriftTemplate;
  /** cdk-nag AwsSolutions findings not acknowledged in code: `<rule> <construct path>`. */
  readonly nagViolations: string[];
  /** How many findings were acknowledged (each with a reason, see test/lib/nag.test.ts). */
  readonly nagAcknowledged: number;
}

interface NagReport {
  pluginReports: {
    pluginName: string;
    violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
    suppressedViolations?: unknown[];
  }[];
}

/**
 * Builds the app exactly as `cdk synth` does (cdk.json's context, cdk-nag on; asset bundling skipped),
 * applies `mutate` (tests use it to introduce drift), and synthesizes. A cdk-nag finding fails synth:
 * the template and the validation report are still written, and both are returned.
 */
export function synthesizeForDrift(
  mutate?: (built: MedallionApp) => void,
  config: Record<string, unknown> = {},
): SynthesizedForDrift {
  const outdir = mkdtempSync(join(tmpdir(), 'medallion-drift-'));
  try {
    const built = createMedallionApp({ outdir, context: testContext({ medallion: config }) });
    mutate?.(built);
    let synthError: unknown;
    // A failing validation makes aws-cdk-lib set `process.exitCode = 1` (as the `cdk synth` process must);
    // here it would fail the whole jest run after every test passed, so it is put back.
    const exitCode = process.exitCode;
    try {
      built.app.synth();
    } catch (e) {
      synthError = e;
    } finally {
      process.exitCode = exitCode;
    }
    const templateFile = join(outdir, built.stack.templateFile);
    let template: DriftTemplate;
    let report: NagReport;
    try {
      template = JSON.parse(readFileSync(templateFile, 'utf8')) as DriftTemplate;
      report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as NagReport;
    } catch (e) {
      // Synth failed before writing its output: that failure is the finding to show.
      throw synthError ?? e;
    }
    const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions');
    if (!nag) throw new Error('the validation report has no AwsSolutions (cdk-nag) section');
    const nagViolations = nag.violations.flatMap((v) =>
      v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`),
    );
    if (synthError && nagViolations.length === 0) throw synthError;
    return { template, nagViolations, nagAcknowledged: nag.suppressedViolations?.length ?? 0 };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

export function checkConfigDrift(synth: SynthesizedForDrift): DriftFinding[] {
  const { template } = synth;
  const findings: DriftFinding[] = [];
  const add = (check: string, resource: string, detail: string) => findings.push({ check, resource, detail });
  const resources = Object.entries(template.Resources);
  const buckets = resources.filter(([, r]) => r.Type === 'AWS::S3::Bucket');

  const dataBuckets = new Map<string, string>();
  for (const [id, r] of buckets) {
    const layer = tagValue(r.Properties?.Tags, 'layer');
    if (layer && (DATA_LAYERS as readonly string[]).includes(layer)) dataBuckets.set(id, layer);
  }
  const missing = DATA_LAYERS.filter((l) => ![...dataBuckets.values()].includes(l));
  if (missing.length > 0) add('data-buckets-present', '-', `no bucket tagged layer=${missing.join(', ')}`);

  for (const [id, r] of buckets) {
    const p = r.Properties ?? {};
    const pab = (p.PublicAccessBlockConfiguration ?? {}) as Record<string, unknown>;
    const open = ['BlockPublicAcls', 'BlockPublicPolicy', 'IgnorePublicAcls', 'RestrictPublicBuckets'].filter(
      (k) => pab[k] !== true,
    );
    if (open.length > 0) add('bucket-public-access', id, `not true: ${open.join(', ')}`);

    const sse = (p.BucketEncryption as { ServerSideEncryptionConfiguration?: unknown[] } | undefined)
      ?.ServerSideEncryptionConfiguration?.[0] as
      | { ServerSideEncryptionByDefault?: { SSEAlgorithm?: string } }
      | undefined;
    const algorithm = sse?.ServerSideEncryptionByDefault?.SSEAlgorithm;
    if (!algorithm) add('bucket-encryption', id, 'no default encryption');
    else if (dataBuckets.has(id) && !algorithm.startsWith('aws:kms')) {
      add('bucket-encryption', id, `data bucket encrypted with ${algorithm}, not the lake's KMS key`);
    }

    const versioning = (p.VersioningConfiguration as { Status?: string } | undefined)?.Status;
    if (versioning !== 'Enabled')
      add('bucket-versioning', id, `versioning ${versioning ?? 'not configured'}`);

    if (!deniesInsecureTransport(template, id)) {
      add(
        'bucket-tls-only',
        id,
        'no bucket policy denies s3:* to everyone when aws:SecureTransport is false',
      );
    }
  }

  for (const { resource, statement, bucketPolicyOf } of allowStatements(template)) {
    const touched = bucketPolicyOf
      ? dataBuckets.has(bucketPolicyOf)
        ? [bucketPolicyOf]
        : []
      : touchedDataBuckets(statement, dataBuckets);
    if (touched.length === 0) continue;
    const actions = asArray(statement.Action);
    const wild = actions.filter((a) => typeof a === 'string' && /[*?]/.test(a));
    const layers = touched.map((b) => dataBuckets.get(b)).join(', ');
    if (statement.NotAction !== undefined) {
      add('data-bucket-wildcard', resource, `NotAction grants every other action on ${layers}`);
    }
    if (wild.length > 0) add('data-bucket-wildcard', resource, `${wild.join(', ')} on ${layers}`);
  }

  for (const v of synth.nagViolations) add('cdk-nag', v.split(' ')[1] ?? '-', v.split(' ')[0]);
  return findings;
}

interface PolicyStatement {
  Effect?: string;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** Every Allow statement of every policy in the template: identity policies (inline too) and bucket policies. */
function allowStatements(
  template: DriftTemplate,
): { resource: string; statement: PolicyStatement; bucketPolicyOf?: string }[] {
  const out: { resource: string; statement: PolicyStatement; bucketPolicyOf?: string }[] = [];
  const add = (resource: string, doc: unknown, bucketPolicyOf?: string) => {
    for (const statement of (doc as { Statement?: PolicyStatement[] } | undefined)?.Statement ?? []) {
      if (statement.Effect === 'Allow') out.push({ resource, statement, bucketPolicyOf });
    }
  };
  for (const [id, r] of Object.entries(template.Resources)) {
    const p = r.Properties ?? {};
    if (r.Type === 'AWS::S3::BucketPolicy') add(id, p.PolicyDocument, refOf(p.Bucket));
    else if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') add(id, p.PolicyDocument);
    for (const inline of (p.Policies as { PolicyDocument?: unknown }[] | undefined) ?? []) {
      add(id, inline.PolicyDocument);
    }
  }
  return out;
}

/** Data buckets (logical ids) a statement's resources name, or all of them for an s3 wildcard resource. */
function touchedDataBuckets(statement: PolicyStatement, dataBuckets: Map<string, string>): string[] {
  const resources = [...asArray(statement.Resource), ...asArray(statement.NotResource)];
  const text = JSON.stringify(resources);
  const named = [...dataBuckets.keys()].filter(
    (id) => text.includes(`{"Ref":"${id}"}`) || text.includes(`"Fn::GetAtt":["${id}",`),
  );
  const actions = asArray(statement.Action ?? statement.NotAction).map(String);
  const s3ish = statement.NotAction !== undefined || actions.some((a) => a === '*' || a.startsWith('s3:'));
  const anyBucket = resources.some(
    (r) => r === '*' || (typeof r === 'string' && /^arn:[^:]*:s3:::\*/.test(r)),
  );
  return anyBucket && s3ish ? [...dataBuckets.keys()] : named;
}

/** Whether a bucket policy of `bucketId` denies every S3 action, to everyone, over plain HTTP. */
function deniesInsecureTransport(template: DriftTemplate, bucketId: string): boolean {
  return Object.values(template.Resources).some((r) => {
    if (r.Type !== 'AWS::S3::BucketPolicy' || refOf(r.Properties?.Bucket) !== bucketId) return false;
    const statements =
      (r.Properties?.PolicyDocument as { Statement?: PolicyStatement[] } | undefined)?.Statement ?? [];
    return statements.some((s) => {
      const everyone = s.Principal === '*' || (s.Principal as { AWS?: unknown } | undefined)?.AWS === '*';
      const insecure = String(s.Condition?.Bool?.['aws:SecureTransport']) === 'false';
      const resources = JSON.stringify(asArray(s.Resource));
      const bucketAndObjects =
        resources.includes(`{"Fn::GetAtt":["${bucketId}","Arn"]}`) && resources.includes('"/*"');
      return (
        s.Effect === 'Deny' && everyone && insecure && bucketAndObjects && asArray(s.Action).includes('s3:*')
      );
    });
  });
}

function refOf(value: unknown): string | undefined {
  const ref = (value as { Ref?: unknown } | undefined)?.Ref;
  return typeof ref === 'string' ? ref : undefined;
}

function tagValue(tags: unknown, key: string): string | undefined {
  if (!Array.isArray(tags)) return undefined;
  const tag = tags.find((t) => (t as { Key?: string }).Key === key) as { Value?: unknown } | undefined;
  return typeof tag?.Value === 'string' ? tag.Value : undefined;
}

const asArray = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
