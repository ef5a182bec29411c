/**
 * An Athena workgroup on the lake, as every one of medallion's is: its settings enforced (clients cannot
 * move the results, drop their encryption or lift the cutoff), results under one prefix of the results
 * bucket, encrypted with the lake key, in this account's bucket only, metrics published, the engine kept
 * current, and deletable with the stack even once someone has saved a query in it.
 */
import * as athena from 'aws-cdk-lib/aws-athena';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

export interface LakeWorkGroupProps {
  readonly name: string;
  readonly description: string;
  readonly resultsBucket: s3.IBucket;
  /** Where its results go in `resultsBucket`, ending with '/'. */
  readonly resultsPrefix: string;
  readonly key: kms.IKey;
  /** The account that must own the results bucket. */
  readonly account: string;
  /** Bytes a query may scan before Athena cancels it. */
  readonly bytesScannedCutoffPerQuery: number;
}

export function lakeWorkGroup(scope: Construct, id: string, props: LakeWorkGroupProps): athena.CfnWorkGroup {
  return new athena.CfnWorkGroup(scope, id, {
    name: props.name,
    description: props.description,
    state: 'ENABLED',
    // The workgroup holds settings and saved queries only (results stay in the bucket): without this,
    // deleting the stack fails as soon as someone has saved a query.
    recursiveDeleteOption: true,
    workGroupConfiguration: {
      // Clients cannot override the output location, the encryption or the cutoff.
      enforceWorkGroupConfiguration: true,
      bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery,
      publishCloudWatchMetricsEnabled: true,
      requesterPaysEnabled: false,
      engineVersion: { selectedEngineVersion: 'AUTO' },
      resultConfiguration: {
        outputLocation: `s3://${props.resultsBucket.bucketName}/${props.resultsPrefix}`,
        // Results are never written to a bucket of another account that took over the name.
        expectedBucketOwner: props.account,
        encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: props.key.keyArn },
      },
    },
  });
}
