/**
 * The offline IAM evaluator the template tests use (test/support/iam-access.ts): wildcards, NotAction and
 * NotResource, conditions, explicit deny, and collecting a role's statements from a synthesized template.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { testContext } from '../support/cdk';
import {
  allowsAll,
  evaluate,
  type PolicyStatementJson,
  renderToken,
  roleIdentityStatements,
  wildcardMatch,
} from '../support/iam-access';

const BUCKET = 'arn:aws:s3:::lake';

describe('wildcardMatch', () => {
  test("'*' matches any run of characters, '/' included; '?' exactly one", () => {
    expect(wildcardMatch(`${BUCKET}/retail/*`, `${BUCKET}/retail/orders/dt=1/x.parquet`)).toBe(true);
    expect(wildcardMatch(`${BUCKET}/retail/*`, `${BUCKET}/retail/`)).toBe(true);
    expect(wildcardMatch(`${BUCKET}/retail/*`, `${BUCKET}/retail_eu/x`)).toBe(false);
    expect(wildcardMatch('a?c', 'abc')).toBe(true);
    expect(wildcardMatch('a?c', 'ac')).toBe(false);
    expect(wildcardMatch('a?c', 'abbc')).toBe(false);
  });

  test('other characters are literal (regular expression characters included)', () => {
    expect(wildcardMatch('a.b', 'axb')).toBe(false);
    expect(wildcardMatch('<Bucket.Arn>/(x)+', '<Bucket.Arn>/(x)+')).toBe(true);
    expect(wildcardMatch('Abc', 'abc')).toBe(false);
    expect(wildcardMatch('Abc', 'abc', true)).toBe(true);
  });
});

describe('evaluate', () => {
  const read: PolicyStatementJson = {
    Effect: 'Allow',
    Action: 's3:GetObject',
    Resource: `${BUCKET}/retail/*`,
  };

  test('allows a matching action on a matching resource, implicitly denies anything else', () => {
    expect(evaluate([read], { action: 's3:GetObject', resource: `${BUCKET}/retail/orders/x` })).toBe('Allow');
    expect(evaluate([read], { action: 's3:GetObject', resource: `${BUCKET}/finance/x` })).toBe(
      'ImplicitDeny',
    );
    expect(evaluate([read], { action: 's3:PutObject', resource: `${BUCKET}/retail/x` })).toBe('ImplicitDeny');
    expect(evaluate([], { action: 's3:GetObject', resource: `${BUCKET}/retail/x` })).toBe('ImplicitDeny');
  });

  test('actions match case-insensitively and by wildcard; resources are case-sensitive', () => {
    const statements: PolicyStatementJson[] = [
      { Effect: 'Allow', Action: ['S3:Get*'], Resource: [`${BUCKET}/r/*`] },
    ];
    expect(evaluate(statements, { action: 's3:getobjectversion', resource: `${BUCKET}/r/x` })).toBe('Allow');
    expect(evaluate(statements, { action: 's3:GetObject', resource: `${BUCKET}/R/x` })).toBe('ImplicitDeny');
  });

  test('NotAction and NotResource allow everything but what they name', () => {
    const statements: PolicyStatementJson[] = [
      { Effect: 'Allow', NotAction: 's3:Delete*', NotResource: `${BUCKET}/private/*` },
    ];
    expect(evaluate(statements, { action: 's3:PutObject', resource: `${BUCKET}/public/x` })).toBe('Allow');
    expect(evaluate(statements, { action: 's3:DeleteObject', resource: `${BUCKET}/public/x` })).toBe(
      'ImplicitDeny',
    );
    expect(evaluate(statements, { action: 's3:PutObject', resource: `${BUCKET}/private/x` })).toBe(
      'ImplicitDeny',
    );
  });

  test('an explicit Deny wins over any Allow', () => {
    const deny: PolicyStatementJson = {
      Effect: 'Deny',
      Action: 's3:*',
      Resource: `${BUCKET}/retail/secret/*`,
    };
    expect(evaluate([read, deny], { action: 's3:GetObject', resource: `${BUCKET}/retail/secret/x` })).toBe(
      'ExplicitDeny',
    );
    expect(evaluate([read, deny], { action: 's3:GetObject', resource: `${BUCKET}/retail/open/x` })).toBe(
      'Allow',
    );
  });

  test('ListBucket with a StringLike s3:prefix condition: allowed under the prefixes only, denied without a prefix', () => {
    const list: PolicyStatementJson = {
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: BUCKET,
      Condition: { StringLike: { 's3:prefix': ['retail/orders/*', '_current/retail/orders/*'] } },
    };
    const listing = (prefix?: string) =>
      evaluate([list], {
        action: 's3:ListBucket',
        resource: BUCKET,
        context: prefix === undefined ? {} : { 's3:prefix': prefix },
      });
    expect(listing('retail/orders/')).toBe('Allow');
    expect(listing('_current/retail/orders/metadata/')).toBe('Allow');
    expect(listing('retail/')).toBe('ImplicitDeny');
    expect(listing('retail/orders')).toBe('ImplicitDeny');
    expect(listing('')).toBe('ImplicitDeny');
    expect(listing()).toBe('ImplicitDeny');
  });

  test('StringEquals needs the key; StringNotEquals holds without it; keys compare case-insensitively', () => {
    const via: PolicyStatementJson = {
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
    };
    const decrypt = (context: Record<string, string>) =>
      evaluate([via], { action: 'kms:Decrypt', resource: 'k', context });
    expect(decrypt({ 'kms:viaservice': 's3.eu-west-1.amazonaws.com' })).toBe('Allow');
    expect(decrypt({ 'kms:ViaService': 's3.us-east-1.amazonaws.com' })).toBe('ImplicitDeny');
    expect(decrypt({})).toBe('ImplicitDeny');
    const not: PolicyStatementJson = { ...via, Condition: { StringNotEquals: { 'aws:SourceVpc': 'vpc-1' } } };
    expect(evaluate([not], { action: 'kms:Decrypt', resource: 'k' })).toBe('Allow');
    expect(
      evaluate([not], { action: 'kms:Decrypt', resource: 'k', context: { 'aws:SourceVpc': 'vpc-1' } }),
    ).toBe('ImplicitDeny');
  });

  test('an operator it does not model throws instead of guessing', () => {
    const statement: PolicyStatementJson = {
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: '*',
      Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
    };
    expect(() => evaluate([statement], { action: 's3:GetObject', resource: 'x' })).toThrow(
      'condition operator IpAddress is not supported by the test evaluator',
    );
  });

  test('allowsAll: an action on several resources is allowed only when each one is', () => {
    const glue: PolicyStatementJson = {
      Effect: 'Allow',
      Action: 'glue:GetTable',
      Resource: ['arn:aws:glue:r:1:catalog', 'arn:aws:glue:r:1:database/db', 'arn:aws:glue:r:1:table/db/t'],
    };
    const arns = (table: string) => [
      'arn:aws:glue:r:1:catalog',
      'arn:aws:glue:r:1:database/db',
      `arn:aws:glue:r:1:table/db/${table}`,
    ];
    expect(allowsAll([glue], 'glue:GetTable', arns('t'))).toBe(true);
    expect(allowsAll([glue], 'glue:GetTable', arns('u'))).toBe(false);
  });
});

describe('template statements', () => {
  test('tokens render as <LogicalId.Attr> and <LogicalId>, in joins too', () => {
    expect(renderToken({ 'Fn::GetAtt': ['Bucket12', 'Arn'] })).toBe('<Bucket12.Arn>');
    expect(renderToken({ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Bucket12', 'Arn'] }, '/retail/*']] })).toBe(
      '<Bucket12.Arn>/retail/*',
    );
    expect(renderToken({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':glue']] })).toBe(
      'arn:<AWS::Partition>:glue',
    );
  });

  test("roleIdentityStatements collects the role's default policy and an attached managed policy, not another role's", () => {
    const stack = new Stack(new App({ context: testContext() }), 'Iam');
    const bucket = new s3.Bucket(stack, 'Lake');
    const assumedBy = new iam.AccountRootPrincipal();
    const reader = new iam.Role(stack, 'Reader', { assumedBy });
    const other = new iam.Role(stack, 'Other', { assumedBy });
    reader.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects('a/*')] }),
    );
    other.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects('b/*')] }),
    );
    new iam.ManagedPolicy(stack, 'Extra', {
      roles: [reader],
      statements: [new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] })],
    });
    const t = Template.fromStack(stack);
    const roleId = stack.getLogicalId(reader.node.defaultChild as iam.CfnRole);
    const bucketArn = `<${stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket)}.Arn>`;
    const statements = roleIdentityStatements(t, roleId);
    expect(statements).toHaveLength(2);
    expect(evaluate(statements, { action: 's3:GetObject', resource: `${bucketArn}/a/x` })).toBe('Allow');
    expect(evaluate(statements, { action: 's3:GetObject', resource: `${bucketArn}/b/x` })).toBe(
      'ImplicitDeny',
    );
    expect(evaluate(statements, { action: 's3:ListBucket', resource: bucketArn })).toBe('Allow');
    expect(() => roleIdentityStatements(t, 'Nope')).toThrow('no role Nope in the template');
  });
});
