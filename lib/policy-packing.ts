/**
 * Role policies that stay within IAM's size limits however many resources they name.
 *
 * A role's statements are sized as IAM counts them once deployed (JSON without white space), every ARN at
 * its longest (partition `aws-us-gov`, region `ap-southeast-2`, a 12-digit account, a 63-character bucket
 * name), split into statements that fit a managed policy, and packed into one inline policy and then managed
 * policies. CDK's own overflow splitting is not relied on: it sizes statements by estimate after merging
 * them and can pack more into a managed policy than IAM accepts.
 *
 * IAM quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): a role's inline
 * policies together 10,240 characters, a managed policy 6,144, 10 managed policies per role by default.
 */
import type { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';

/** IAM's quotas on a role's policies. */
export const IAM_POLICY_LIMITS = {
  roleInlineChars: 10_240,
  managedPolicyChars: 6_144,
  managedPoliciesPerRole: 10,
} as const;

/** A resource ARN and the most characters it can take once deployed. */
export interface SizedArn {
  readonly arn: string;
  readonly chars: number;
}

const LONGEST = { partition: 'aws-us-gov', region: 'ap-southeast-2', account: '0'.repeat(12) } as const;
/** `arn:aws-us-gov:s3:::` and the longest bucket name S3 allows. */
const BUCKET_ARN_CHARS = `arn:${LONGEST.partition}:s3:::`.length + 63;
/** A KMS key id is a UUID. */
const KEY_ID_CHARS = 36;

/** The bucket itself. */
export function bucketArn(bucket: s3.IBucket): SizedArn {
  return { arn: bucket.bucketArn, chars: BUCKET_ARN_CHARS };
}

/** The objects under `prefix` of the bucket: `<bucket ARN>/<prefix>*`. */
export function objectsArn(bucket: s3.IBucket, prefix: string): SizedArn {
  return { arn: bucket.arnForObjects(`${prefix}*`), chars: BUCKET_ARN_CHARS + 1 + prefix.length + 1 };
}

/** A KMS key. */
export function keyArn(key: kms.IKey): SizedArn {
  const head = `arn:${LONGEST.partition}:kms:${LONGEST.region}:${LONGEST.account}:key/`;
  return { arn: key.keyArn, chars: head.length + KEY_ID_CHARS };
}

/** An ARN of the stack's partition, region and account: `arn:<p>:<service>:<r>:<a>:<resource>[/<name>]`. */
export function stackArn(
  stack: Stack,
  parts: { service: string; resource: string; resourceName?: string },
): SizedArn {
  const name = parts.resourceName === undefined ? '' : `/${parts.resourceName}`;
  const longest = `arn:${LONGEST.partition}:${parts.service}:${LONGEST.region}:${LONGEST.account}:${parts.resource}${name}`;
  return { arn: stack.formatArn(parts), chars: longest.length };
}

/** One condition whose values a statement may be split over (`StringLike` `s3:prefix` of a ListBucket). */
export interface SplittableCondition {
  readonly operator: string;
  readonly key: string;
  readonly values: readonly string[];
}

/** An Allow statement to pack. */
export interface StatementSpec {
  readonly sid: string;
  readonly actions: readonly string[];
  readonly resources: readonly SizedArn[];
  readonly condition?: SplittableCondition;
}

/**
 * The characters of the statement as IAM counts them, its ARNs at their longest. Condition values are
 * literal strings, or tokens whose placeholder (`${Token[AWS.Region.6]}`) is longer than any value.
 */
export function statementChars(spec: StatementSpec): number {
  return JSON.stringify({
    Sid: spec.sid,
    Effect: 'Allow',
    Action: spec.actions,
    Resource: spec.resources.map((r) => 'x'.repeat(r.chars)),
    ...(spec.condition
      ? { Condition: { [spec.condition.operator]: { [spec.condition.key]: spec.condition.values } } }
      : {}),
  }).length;
}

/** `{"Version":"2012-10-17","Statement":[...]}` around the statements, with their commas. */
const DOCUMENT_CHARS = '{"Version":"2012-10-17","Statement":[]}'.length;

/**
 * The statement split into statements of at most `maxChars` each, over its resources or, when it has one
 * resource, over its condition's values; the first keeps the sid, the others get `<sid>2`, `<sid>3`... (sids
 * are unique within a policy). Throws when a single resource or value cannot fit.
 */
export function splitStatement(spec: StatementSpec, maxChars: number): StatementSpec[] {
  if (statementChars(spec) <= maxChars) return [spec];
  const overValues = spec.resources.length <= 1 && spec.condition !== undefined;
  const items: readonly (SizedArn | string)[] = overValues
    ? (spec.condition as SplittableCondition).values
    : spec.resources;
  const build = (part: (SizedArn | string)[], i: number): StatementSpec => {
    const sid = i === 0 ? spec.sid : `${spec.sid}${i + 1}`;
    return overValues
      ? { ...spec, sid, condition: { ...(spec.condition as SplittableCondition), values: part as string[] } }
      : { ...spec, sid, resources: part as SizedArn[] };
  };
  const out: StatementSpec[] = [];
  let part: (SizedArn | string)[] = [];
  for (const item of items) {
    // Sized with the longest sid the split can give, so renumbering never pushes a part over.
    if (part.length > 0 && statementChars(build([...part, item], items.length)) > maxChars) {
      out.push(build(part, out.length));
      part = [];
    }
    part.push(item);
  }
  if (part.length > 0) out.push(build(part, out.length));
  const tooLarge = out.find((s) => statementChars(s) > maxChars);
  if (tooLarge)
    throw new Error(`statement ${spec.sid}: one resource or value is over ${maxChars} characters`);
  return out;
}

/** Options of {@link attachPacked}. */
export interface PackOptions {
  /**
   * Characters of the role's inline policies left to these statements (the rest of IAM's 10,240 stays free
   * for grants that land in the role's default policy).
   * @default 8000
   */
  readonly inlineChars?: number;
  /**
   * Characters of each managed policy (IAM: 6,144).
   * @default 6000
   */
  readonly managedChars?: number;
}

/**
 * Attaches the statements to `role`: split to fit a managed policy, then packed in order, each into the
 * first policy with room: the inline policy `<id>` (an `iam.Policy` under the role), then managed policies
 * `<id>2`, `<id>3`... Throws when they need more managed policies than IAM's default quota per role.
 */
export function attachPacked(
  role: iam.Role,
  id: string,
  specs: readonly StatementSpec[],
  options: PackOptions = {},
): void {
  const inlineChars = options.inlineChars ?? 8000;
  const managedChars = options.managedChars ?? 6000;
  const statements = specs.flatMap((s) => splitStatement(s, managedChars - DOCUMENT_CHARS));
  const budgets = [inlineChars];
  const contents: StatementSpec[][] = [[]];
  const used = [DOCUMENT_CHARS];
  for (const statement of statements) {
    const chars = statementChars(statement) + 1;
    let at = used.findIndex((u, i) => u + chars <= budgets[i]);
    if (at < 0) {
      budgets.push(managedChars);
      contents.push([]);
      used.push(DOCUMENT_CHARS);
      at = contents.length - 1;
    }
    contents[at].push(statement);
    used[at] += chars;
  }
  const managed = contents.length - 1;
  if (managed > IAM_POLICY_LIMITS.managedPoliciesPerRole) {
    throw new Error(
      `${role.node.path}: its statements need ${managed} managed policies, over IAM's default quota of ` +
        `${IAM_POLICY_LIMITS.managedPoliciesPerRole} per role`,
    );
  }
  const document = (part: StatementSpec[]) =>
    new iam.PolicyDocument({
      statements: part.map(
        (s) =>
          new iam.PolicyStatement({
            sid: s.sid,
            actions: [...s.actions],
            resources: s.resources.map((r) => r.arn),
            conditions: s.condition
              ? { [s.condition.operator]: { [s.condition.key]: s.condition.values } }
              : undefined,
          }),
      ),
    });
  contents.forEach((part, i) => {
    if (part.length === 0) return;
    if (i === 0) new iam.Policy(role, id, { roles: [role], document: document(part) });
    else new iam.ManagedPolicy(role, `${id}${i + 1}`, { roles: [role], document: document(part) });
  });
}
