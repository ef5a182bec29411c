/**
 * cdk-nag acknowledgements, kept next to the resources they are about.
 *
 * cdk-nag 3 is a CDK validation plugin: an acknowledgement is `Validations.of(scope).acknowledge(...)`
 * with the rule id qualified by the plugin's name, and it covers `scope` and everything below it. Each
 * finding of a multi-finding rule (IAM4, IAM5) is acknowledged on its own: `AwsSolutions-IAM5[Resource::…]`.
 */
import { Aspects, type IAspect, Stack, Validations } from 'aws-cdk-lib';
import { CfnManagedPolicy, CfnPolicy } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/** Acknowledges an AwsSolutions rule (e.g. `S1`, or `IAM5[Resource::*]`) on `scope` and its children. */
export function acknowledge(scope: IConstruct, rule: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-${rule}`, reason });
}

/**
 * Acknowledges IAM5 for S3 object ARNs scoped to a fixed key prefix (`<bucket ARN>/retail/orders/*`) in
 * the inline policies under `scope`, and for nothing else: a bare `*`, a wildcard action, or a wildcard
 * anywhere but the end of a prefixed object ARN still fails synth. Object permissions cannot be
 * narrower than a prefix when the keys are content-addressed or dated.
 *
 * It runs as an aspect, when the policies are complete, because grants keep adding statements to a role
 * until synthesis.
 */
export function acknowledgePrefixScopedObjectArns(scope: IConstruct): void {
  Aspects.of(scope).add(new PrefixScopedObjectArns());
}

/** The finding id cdk-nag gives a wildcard resource: `Fn::GetAtt` as `<Id.Attr>`, `Ref` as `<Id>`. */
export function flattenReference(ref: unknown): string {
  if (typeof ref === 'string') return ref.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (ref && typeof ref === 'object') {
    const o = ref as Record<string, unknown>;
    if (Array.isArray(o['Fn::Join'])) {
      const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
      return items.map(flattenReference).join(delimiter);
    }
    if (Array.isArray(o['Fn::GetAtt'])) {
      const [id, attr] = o['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenReference(id)}.${flattenReference(attr)}>`;
    }
    if ('Ref' in o) return `<${flattenReference(o.Ref)}>`;
    // An explicitly named export of another stack: cdk-nag names it by its export name.
    if (typeof o['Fn::ImportValue'] === 'string') return o['Fn::ImportValue'] as string;
    if ('Fn::Sub' in o) return flattenReference(o['Fn::Sub']);
  }
  return JSON.stringify(ref);
}

/**
 * `<Bucket.Arn>/some/prefix/*` with no other wildcard; or the same on a bucket ARN another stack exports
 * under a name ending in `BucketArn` (the platform's lake, read by the domains' reader roles).
 */
const PREFIXED_OBJECT_ARN = /^(?:<[A-Za-z0-9]+\.Arn>|[A-Za-z][A-Za-z0-9-]*BucketArn)\/[^*]+\/\*$/;

class PrefixScopedObjectArns implements IAspect {
  visit(node: IConstruct): void {
    // A role's statements overflow into managed policies (OverflowPolicyN) once its inline policy is full.
    if (!(node instanceof CfnPolicy) && !(node instanceof CfnManagedPolicy)) return;
    const doc = Stack.of(node).resolve(node.policyDocument) as {
      Statement?: { Effect: string; Action: string | string[]; Resource: unknown }[];
    };
    for (const statement of doc.Statement ?? []) {
      if (statement.Effect !== 'Allow') continue;
      const actions = ([] as string[]).concat(statement.Action);
      if (!actions.every((a) => a.startsWith('s3:') && !a.includes('*'))) continue;
      for (const resource of ([] as unknown[]).concat(statement.Resource)) {
        const flat = flattenReference(resource);
        if (!PREFIXED_OBJECT_ARN.test(flat)) continue;
        acknowledge(
          node,
          `IAM5[Resource::${flat}]`,
          'Object-level S3 actions on one fixed key prefix of a lake bucket (a dataset, or its index or ' +
            'manifest prefix): object keys below it are content-addressed or dated, so a prefix is the ' +
            'narrowest scope there is.',
        );
      }
    }
  }
}
