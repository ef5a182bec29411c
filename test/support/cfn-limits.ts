/**
 * CloudFormation's and IAM's documented limits, and how much of them a synthesized stack uses, for the
 * scale test and the README's headroom table.
 *
 * Policy sizes are measured as IAM does (JSON without white space) after replacing every intrinsic
 * function by a string as long as the longest value it can take here (a bucket ARN of a 63-character
 * name, an account id, the longest region), so a policy that passes here fits once deployed.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The limits (CloudFormation quotas page, IAM and STS quotas page, Step Functions and S3 quotas). */
export const LIMITS = {
  /** A template uploaded to S3 (the CDK CLI uploads every template over 50 KB). */
  templateBytes: 1_000_000,
  resources: 500,
  outputs: 200,
  parameters: 200,
  /** All inline policies of one role together. */
  roleInlinePolicyChars: 10_240,
  managedPolicyChars: 6_144,
  /** Managed policies attached to one role (default quota; 20 at most). */
  managedPoliciesPerRole: 10,
  bucketPolicyBytes: 20_480,
  keyPolicyBytes: 32_768,
  stateMachineDefinitionBytes: 1_048_576,
} as const;

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON
type Json = any;

/** The value of an intrinsic, as long as it can be here: see the module comment. */
const LONGEST = {
  bucketArn: `arn:aws-us-gov:s3:::${'b'.repeat(63)}`,
  arn: `arn:aws-us-gov:service:ap-southeast-2:123456789012:${'r'.repeat(80)}`,
  ref: 'x'.repeat(80),
  pseudo: {
    'AWS::Partition': 'aws-us-gov',
    'AWS::Region': 'ap-southeast-2',
    'AWS::AccountId': '1'.repeat(12),
  },
} as const;

/** A template's intrinsics replaced by their longest values (see {@link LONGEST}). */
export function resolveLongest(value: Json, resources: Record<string, Json>): Json {
  if (Array.isArray(value)) return value.map((v) => resolveLongest(v, resources));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const [k] = keys;
    const v = value[k];
    if (k === 'Ref') return (LONGEST.pseudo as Record<string, string>)[v] ?? LONGEST.ref;
    if (k === 'Fn::GetAtt')
      return resources[v[0]]?.Type === 'AWS::S3::Bucket' && v[1] === 'Arn' ? LONGEST.bucketArn : LONGEST.arn;
    if (k === 'Fn::ImportValue') return LONGEST.arn;
    if (k === 'Fn::Join') return resolveLongest(v[1], resources).join(v[0]);
    if (k === 'Fn::Sub') return String(Array.isArray(v) ? v[0] : v).replace(/\$\{[^}]+\}/g, LONGEST.arn);
    if (k === 'Fn::Select' || k === 'Fn::Split' || k === 'Fn::GetAZs') return LONGEST.ref;
  }
  return Object.fromEntries(keys.map((k) => [k, resolveLongest(value[k], resources)]));
}

/** IAM's measure of a policy document: its JSON without white space. */
export function policyChars(document: Json, resources: Record<string, Json>): number {
  return JSON.stringify(resolveLongest(document, resources)).length;
}

export interface StackUsage {
  readonly stack: string;
  readonly templateBytes: number;
  readonly resources: number;
  readonly outputs: number;
  readonly parameters: number;
  /** The role whose inline policies are the largest, and their size. */
  readonly largestRoleInline: { role: string; chars: number };
  readonly largestManagedPolicy: { policy: string; chars: number };
  readonly mostManagedPoliciesOnARole: number;
  readonly largestBucketPolicy: number;
  readonly largestKeyPolicy: number;
  readonly largestStateMachineDefinition: number;
}

/** What a stack's template (the file `cdk synth` wrote) uses of each limit. */
export function stackUsage(stack: string, templateFile: string): StackUsage {
  const text = readFileSync(templateFile, 'utf8');
  const template = JSON.parse(text);
  const resources: Record<string, Json> = template.Resources ?? {};
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const inline = new Map<string, number>();
  const attachedManaged = new Map<string, number>();
  const roleOf = (r: Json): string[] => (r ?? []).map((x: Json) => (typeof x === 'string' ? x : x.Ref));
  for (const [id, r] of ofType('AWS::IAM::Role')) {
    const own = (r.Properties.Policies ?? []).map((p: Json) => policyChars(p.PolicyDocument, resources));
    inline.set(
      id,
      own.reduce((a: number, b: number) => a + b, 0),
    );
    attachedManaged.set(id, (r.Properties.ManagedPolicyArns ?? []).length);
  }
  for (const [, r] of ofType('AWS::IAM::Policy')) {
    const chars = policyChars(r.Properties.PolicyDocument, resources);
    for (const role of roleOf(r.Properties.Roles)) inline.set(role, (inline.get(role) ?? 0) + chars);
  }
  let largestManaged = { policy: '-', chars: 0 };
  for (const [id, r] of ofType('AWS::IAM::ManagedPolicy')) {
    const chars = policyChars(r.Properties.PolicyDocument, resources);
    if (chars > largestManaged.chars) largestManaged = { policy: id, chars };
    for (const role of roleOf(r.Properties.Roles))
      attachedManaged.set(role, (attachedManaged.get(role) ?? 0) + 1);
  }
  const largestInline = [...inline.entries()].reduce(
    (a, [role, chars]) => (chars > a.chars ? { role, chars } : a),
    { role: '-', chars: 0 },
  );
  const maxOf = (type: string, field: (p: Json) => Json) =>
    Math.max(
      0,
      ...ofType(type).map(([, r]) => JSON.stringify(resolveLongest(field(r.Properties), resources)).length),
    );
  return {
    stack,
    templateBytes: Buffer.byteLength(text),
    resources: Object.keys(resources).length,
    outputs: Object.keys(template.Outputs ?? {}).length,
    parameters: Object.keys(template.Parameters ?? {}).length,
    largestRoleInline: largestInline,
    largestManagedPolicy: largestManaged,
    mostManagedPoliciesOnARole: Math.max(0, ...attachedManaged.values()),
    largestBucketPolicy: maxOf('AWS::S3::BucketPolicy', (p) => p.PolicyDocument),
    largestKeyPolicy: maxOf('AWS::KMS::Key', (p) => p.KeyPolicy),
    largestStateMachineDefinition: maxOf('AWS::StepFunctions::StateMachine', (p) => p.DefinitionString),
  };
}

/**
 * The nested stacks of a synthesized stack, whose templates its asset manifest (`<stack>.assets.json`, one
 * of its `dependencies`) lists: each named `<stack>/<construct id>` (the asset's display name) with its
 * template file, for {@link stackUsage}. Each has its own limits (a nested stack is a stack).
 */
export function nestedStacks(artifact: {
  readonly stackName: string;
  readonly dependencies: readonly object[];
}): { stack: string; templateFile: string }[] {
  const out: { stack: string; templateFile: string }[] = [];
  for (const dependency of artifact.dependencies) {
    const file = 'file' in dependency ? dependency.file : undefined;
    if (typeof file !== 'string' || !file.endsWith('.assets.json')) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as {
      files?: Record<string, { displayName?: string; source: { path?: string } }>;
    };
    for (const asset of Object.values(manifest.files ?? {})) {
      const path = asset.source.path;
      if (!path?.endsWith('.nested.template.json')) continue;
      const name = asset.displayName?.replace(/ Nested Stack Template$/, '') ?? path;
      out.push({ stack: `${artifact.stackName}/${name}`, templateFile: join(dirname(file), path) });
    }
  }
  return out;
}

/** Every limit a stack breaks (empty: within all). */
export function limitsBroken(u: StackUsage): string[] {
  const over: [boolean, string][] = [
    [u.templateBytes > LIMITS.templateBytes, `template ${u.templateBytes} bytes`],
    [u.resources > LIMITS.resources, `${u.resources} resources`],
    [u.outputs > LIMITS.outputs, `${u.outputs} outputs`],
    [u.parameters > LIMITS.parameters, `${u.parameters} parameters`],
    [
      u.largestRoleInline.chars > LIMITS.roleInlinePolicyChars,
      `role ${u.largestRoleInline.role} inline policies ${u.largestRoleInline.chars} characters`,
    ],
    [
      u.largestManagedPolicy.chars > LIMITS.managedPolicyChars,
      `managed policy ${u.largestManagedPolicy.policy} ${u.largestManagedPolicy.chars} characters`,
    ],
    [u.mostManagedPoliciesOnARole > LIMITS.managedPoliciesPerRole, 'too many managed policies on a role'],
    [u.largestBucketPolicy > LIMITS.bucketPolicyBytes, `bucket policy ${u.largestBucketPolicy} bytes`],
    [u.largestKeyPolicy > LIMITS.keyPolicyBytes, `key policy ${u.largestKeyPolicy} bytes`],
    [
      u.largestStateMachineDefinition > LIMITS.stateMachineDefinitionBytes,
      `state machine definition ${u.largestStateMachineDefinition} bytes`,
    ],
  ];
  return over.filter(([broken]) => broken).map(([, what]) => `${u.stack}: ${what}`);
}

/** A stack's use of each limit, as a share ("12%"), for the headroom table. */
export function headroomRow(u: StackUsage): string {
  const pct = (used: number, limit: number) => `${Math.round((used / limit) * 100)}%`;
  return [
    u.stack,
    `${Math.round(u.templateBytes / 1000)} KB (${pct(u.templateBytes, LIMITS.templateBytes)})`,
    `${u.resources} (${pct(u.resources, LIMITS.resources)})`,
    `${u.outputs} (${pct(u.outputs, LIMITS.outputs)})`,
    `${u.largestRoleInline.chars} (${pct(u.largestRoleInline.chars, LIMITS.roleInlinePolicyChars)})`,
    `${u.largestManagedPolicy.chars}`,
    `${u.largestStateMachineDefinition} (${pct(u.largestStateMachineDefinition, LIMITS.stateMachineDefinitionBytes)})`,
  ].join(' | ');
}
