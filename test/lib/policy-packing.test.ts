/**
 * Policy packing (lib/policy-packing.ts): statements sized as IAM counts them with every ARN at its longest
 * (checked against the scale test's independent measure, test/support/cfn-limits.ts), split to fit, packed
 * into an inline policy then managed policies, and refused past IAM's quota of managed policies.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  attachPacked,
  bucketArn,
  IAM_POLICY_LIMITS,
  objectsArn,
  type StatementSpec,
  splitStatement,
  stackArn,
  statementChars,
} from '../../lib/policy-packing';
import { testContext } from '../support/cdk';
import { policyChars } from '../support/cfn-limits';
import { evaluate, roleIdentityStatements } from '../support/iam-access';

/** An environment-agnostic stack (every ARN part a token), a bucket and a role. */
function parts() {
  const stack = new Stack(new App({ context: testContext() }), 'Pack');
  const bucket = new s3.Bucket(stack, 'Lake');
  const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
  return { stack, bucket, role };
}

const tables = (stack: Stack, n: number) =>
  Array.from({ length: n }, (_, i) =>
    stackArn(stack, {
      service: 'glue',
      resource: 'table',
      resourceName: `medallion_prod/dataset_${i}_arrivals`,
    }),
  );

describe('statementChars', () => {
  test('is at least what the pessimistic measure of the synthesized statement gives', () => {
    const { stack, bucket, role } = parts();
    const spec: StatementSpec = {
      sid: 'Read',
      actions: ['s3:GetObject', 'glue:GetTable'],
      resources: [objectsArn(bucket, 'retail/orders/'), bucketArn(bucket), ...tables(stack, 3)],
      condition: { operator: 'StringLike', key: 's3:prefix', values: ['retail/orders/*'] },
    };
    attachPacked(role, 'Reads', [spec]);
    const t = Template.fromStack(stack);
    const [policy] = Object.values(t.findResources('AWS::IAM::Policy'));
    const measured = policyChars(policy.Properties.PolicyDocument, t.toJSON().Resources);
    const estimated = statementChars(spec) + '{"Version":"2012-10-17","Statement":[]}'.length;
    expect(estimated).toBeGreaterThanOrEqual(measured);
    // And not wildly more: the sizes are the longest values, not a guess.
    expect(estimated - measured).toBeLessThan(200);
  });
});

describe('splitStatement', () => {
  test('a statement that fits stays whole', () => {
    const { stack } = parts();
    const spec: StatementSpec = { sid: 'Glue', actions: ['glue:GetTable'], resources: tables(stack, 3) };
    expect(splitStatement(spec, 6000)).toEqual([spec]);
  });

  test('splits over the resources, every part within the size, sids numbered, nothing lost', () => {
    const { stack } = parts();
    const resources = tables(stack, 200);
    const split = splitStatement({ sid: 'Glue', actions: ['glue:GetTable'], resources }, 3000);
    expect(split.length).toBeGreaterThan(1);
    expect(split.map((s) => s.sid)).toEqual(split.map((_, i) => (i === 0 ? 'Glue' : `Glue${i + 1}`)));
    for (const s of split) expect(statementChars(s)).toBeLessThanOrEqual(3000);
    expect(split.flatMap((s) => s.resources)).toEqual(resources);
  });

  test('splits a one-resource statement over its condition values', () => {
    const { bucket } = parts();
    const values = Array.from({ length: 300 }, (_, i) => `_current/domain/dataset_${i}/*`);
    const split = splitStatement(
      {
        sid: 'List',
        actions: ['s3:ListBucket'],
        resources: [bucketArn(bucket)],
        condition: { operator: 'StringLike', key: 's3:prefix', values },
      },
      2000,
    );
    expect(split.length).toBeGreaterThan(1);
    for (const s of split) {
      expect(statementChars(s)).toBeLessThanOrEqual(2000);
      expect(s.resources).toHaveLength(1);
    }
    expect(split.flatMap((s) => s.condition?.values)).toEqual(values);
  });

  test('refuses a resource that fits no statement', () => {
    const { bucket } = parts();
    const spec: StatementSpec = {
      sid: 'Read',
      actions: ['s3:GetObject'],
      resources: [objectsArn(bucket, `${'a'.repeat(300)}/`), objectsArn(bucket, 'b/')],
    };
    expect(() => splitStatement(spec, 300)).toThrow(
      'statement Read: one resource or value is over 300 characters',
    );
  });
});

describe('attachPacked', () => {
  test('fills the inline policy first, then managed policies, each within IAM limits by the pessimistic measure', () => {
    const { stack, role } = parts();
    const resources = tables(stack, 250);
    attachPacked(role, 'Reads', [{ sid: 'Glue', actions: ['glue:GetTable'], resources }]);
    const t = Template.fromStack(stack);
    const all = t.toJSON().Resources;
    const inline = Object.values(t.findResources('AWS::IAM::Policy'));
    const managed = Object.values(t.findResources('AWS::IAM::ManagedPolicy'));
    expect(inline).toHaveLength(1);
    expect(policyChars(inline[0].Properties.PolicyDocument, all)).toBeLessThanOrEqual(8000);
    expect(managed.length).toBeGreaterThan(1);
    for (const p of managed) {
      expect(policyChars(p.Properties.PolicyDocument, all)).toBeLessThanOrEqual(
        IAM_POLICY_LIMITS.managedPolicyChars,
      );
    }
    // Every table is still allowed, through whichever policy holds it.
    const roleId = stack.getLogicalId(role.node.defaultChild as iam.CfnRole);
    const statements = roleIdentityStatements(t, roleId);
    const last =
      'arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/medallion_prod/dataset_249_arrivals';
    expect(evaluate(statements, { action: 'glue:GetTable', resource: last })).toBe('Allow');
  });

  test("refuses statements that need more managed policies than IAM's default quota", () => {
    const { stack, role } = parts();
    expect(() =>
      attachPacked(role, 'Reads', [
        { sid: 'Glue', actions: ['glue:GetTable'], resources: tables(stack, 900) },
      ]),
    ).toThrow(
      /Pack\/Reader: its statements need 1\d managed policies, over IAM's default quota of 10 per role/,
    );
  });
});
