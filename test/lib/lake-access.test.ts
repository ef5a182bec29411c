import { App, Stack, type StackProps } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { grantLakeKeyViaS3, grantListBucket, grantObjects } from '../../lib/lake-access';
import { identityStatements, logicalId, type Statement, testContext } from '../support/cdk';

/** A stack holding one role, one bucket and one key, for `grant` to use; the role's statements after. */
function grants(
  grant: (parts: { role: iam.Role; bucket: s3.Bucket; key: kms.Key }) => void,
  props: StackProps = {},
): { statements: Statement[]; bucket: string; key: string } {
  const stack = new Stack(new App({ context: testContext() }), 'Lake', props);
  const role = new iam.Role(stack, 'Fn', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  const bucket = new s3.Bucket(stack, 'Bronze');
  const key = new kms.Key(stack, 'LakeKey', { enableKeyRotation: true });
  grant({ role, bucket, key });
  const template = Template.fromStack(stack);
  return {
    statements: identityStatements(template).map((s) => s.statement),
    bucket: logicalId(template, 'AWS::S3::Bucket', 'Bronze'),
    key: logicalId(template, 'AWS::KMS::Key', 'LakeKey'),
  };
}

/** The ARN of `<bucket>/<pattern>` as CloudFormation spells it. */
const objects = (bucket: string, pattern: string) => ({
  'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, `/${pattern}`]],
});

describe('grantObjects', () => {
  it('allows the actions on <bucket>/<prefix>* for every prefix, in one statement', () => {
    const { statements, bucket } = grants(({ role, bucket }) =>
      grantObjects(role, bucket, ['s3:GetObject', 's3:PutObject'], ['retail/orders/', '_index/retail/']),
    );
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject'],
        // In any order: cdk.json's minimizePolicies sorts the resources.
        Resource: expect.arrayContaining([
          objects(bucket, 'retail/orders/*'),
          objects(bucket, '_index/retail/*'),
        ]),
      },
    ]);
    expect(statements[0].Resource).toHaveLength(2);
  });

  it('allows the whole bucket for the empty prefix, and names a repeated prefix once', () => {
    const whole = grants(({ role, bucket }) => grantObjects(role, bucket, ['s3:DeleteObject'], ['']));
    expect(whole.statements).toEqual([
      { Effect: 'Allow', Action: 's3:DeleteObject', Resource: objects(whole.bucket, '*') },
    ]);
    const repeated = grants(({ role, bucket }) => grantObjects(role, bucket, ['s3:GetObject'], ['a/', 'a/']));
    expect(repeated.statements).toEqual([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: objects(repeated.bucket, 'a/*') },
    ]);
  });

  it('gives each call with other actions its own statement', () => {
    const { statements, bucket } = grants(({ role, bucket }) => {
      grantObjects(role, bucket, ['s3:GetObject'], ['in/']);
      grantObjects(role, bucket, ['s3:PutObject'], ['out/']);
    });
    expect(statements).toEqual([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: objects(bucket, 'in/*') },
      { Effect: 'Allow', Action: 's3:PutObject', Resource: objects(bucket, 'out/*') },
    ]);
  });

  it("refuses a prefix that does not end with '/', naming every prefix given, and grants nothing", () => {
    let thrown: unknown;
    const { statements } = grants(({ role, bucket }) => {
      try {
        grantObjects(role, bucket, ['s3:GetObject'], ['retail/', 'retail/orders']);
      } catch (e) {
        thrown = e;
      }
    });
    expect(thrown).toEqual(new Error("object prefixes must end with '/': retail/, retail/orders"));
    expect(statements).toEqual([]);
  });
});

describe('grantListBucket', () => {
  it('allows s3:ListBucket on the bucket itself, not on its objects', () => {
    const { statements, bucket } = grants(({ role, bucket }) => grantListBucket(role, bucket));
    expect(statements).toEqual([
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [bucket, 'Arn'] } },
    ]);
  });
});

describe('grantLakeKeyViaS3', () => {
  it("allows Decrypt and GenerateDataKey on the key through S3 of the stack's region only", () => {
    const { statements, key } = grants(({ role, key }) => grantLakeKeyViaS3(role, key), {
      env: { account: '111111111111', region: 'eu-west-1' },
    });
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::GetAtt': [key, 'Arn'] },
        Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
      },
    ]);
  });

  it('names the region of the deployment when the stack is region-agnostic', () => {
    const { statements } = grants(({ role, key }) => grantLakeKeyViaS3(role, key));
    expect(statements[0].Condition).toEqual({
      StringEquals: {
        'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
      },
    });
  });
});
