/**
 * The Redshift Serverless gold construct's Spectrum role (createSpectrumRole): who may assume it, its exact
 * permissions, that its cdk-nag acknowledgements hide no new wildcard, and the prefixes it refuses.
 */
import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type {
  RedshiftServerlessGold,
  RedshiftServerlessGoldProps,
} from '../../../lib/gold/redshift-serverless';
import type { LakeStorage } from '../../../lib/lake-storage';
import { roleStatements } from '../../support/cdk';
import { allow, build, only } from '../../support/cdk-redshift-gold';

describe('the Spectrum role, defaults', () => {
  const { stack, storage, t } = build();
  const ref = (token: unknown) => stack.resolve(token);

  test('the Spectrum role can be assumed by the Redshift Serverless and Redshift service principals only', () => {
    const trust = only(t, 'AWS::IAM::Role', 'RedshiftSpectrumRole').Properties.AssumeRolePolicyDocument;
    const services = ['redshift-serverless.amazonaws.com', 'redshift.amazonaws.com'];
    expect(trust.Statement).toEqual([
      { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: services } },
    ]);
  });

  test('the Spectrum role reads one catalog database and the silver prefixes, writes the gold prefixes, uses the key via S3', () => {
    const glue = `arn:${Aws.PARTITION}:glue:${Aws.REGION}:${Aws.ACCOUNT_ID}`;
    const silver = storage.silverBucket;
    const goldBucket = storage.goldBucket;
    const glueRead = ['BatchGetPartition', 'GetDatabase', 'GetDatabases', 'GetPartition', 'GetPartitions'];
    const under = (...prefixes: string[]) => ({ StringLike: { 's3:prefix': prefixes } });
    expect(roleStatements(t, 'RedshiftSpectrumRole')).toEqual(
      ref([
        allow(
          [...glueRead, 'GetTable', 'GetTables'].map((a) => `glue:${a}`),
          [`${glue}:catalog`, `${glue}:database/medallion_dev`, `${glue}:table/medallion_dev/*`],
          'ReadTheCatalogDatabase',
        ),
        allow(
          ['s3:GetObject'],
          [silver.arnForObjects('retail/customers/*'), silver.arnForObjects('retail/orders/*')],
          'ReadSilverPrefixes',
        ),
        allow(
          ['s3:ListBucket'],
          [silver.bucketArn],
          'ListSilverPrefixes',
          under('retail/orders/*', 'retail/customers/*'),
        ),
        allow(
          ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:PutObject'],
          [goldBucket.arnForObjects('daily_sales/*')],
          'UnloadToGoldPrefixes',
        ),
        allow(['s3:ListBucket'], [goldBucket.bucketArn], 'ListGoldPrefixes', under('daily_sales/*')),
        allow(['s3:GetBucketLocation'], [goldBucket.bucketArn, silver.bucketArn], 'LocateTheBuckets'),
        allow(['kms:Decrypt', 'kms:GenerateDataKey'], [storage.key.keyArn], 'UseTheLakeKeyThroughS3', {
          StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.${Aws.URL_SUFFIX}` },
        }),
      ]),
    );
  });
});

describe('the Spectrum role refuses what IAM cannot scope', () => {
  test('the acknowledgements hide no new wildcard: the whole silver bucket on the Spectrum role fails synth', () => {
    const change = (gold: RedshiftServerlessGold, storage: LakeStorage) =>
      gold.spectrumRole.addToPolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [storage.silverBucket.arnForObjects('*')],
        }),
      );
    expect(() => build({ change })).toThrow(
      /AwsSolutions-IAM5\[Resource::<StorageSilver[0-9A-F]{8}\.Arn>\/\*\]/,
    );
  });

  test.each([
    [{ silverPrefixes: ['retail'] }, "silverPrefixes: 'retail' must be a key prefix ending with '/'"],
    [{ goldPrefixes: [] }, 'goldPrefixes must name at least one prefix'],
  ] as [Partial<RedshiftServerlessGoldProps>, string][])('%j fails synth', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
