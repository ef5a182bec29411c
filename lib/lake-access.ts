/**
 * Least-privilege access to the lake: object actions on the key prefixes a function really uses, derived
 * from the key layout of `core/lake/layout.ts` so the grants follow the layout when it changes.
 *
 * The L2 `bucket.grantRead/grantWrite` helpers are not used: they grant wildcard actions (`s3:GetObject*`,
 * `s3:List*`, `s3:Abort*`, `kms:GenerateDataKey*`) on whole buckets.
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';

/** Allows object-level `actions` on `<bucket>/<prefix>*` for each prefix, in one statement. */
export function grantObjects(
  grantee: iam.IGrantable,
  bucket: s3.IBucket,
  actions: string[],
  prefixes: string[],
): void {
  if (prefixes.some((p) => p !== '' && !p.endsWith('/'))) {
    throw new Error(`object prefixes must end with '/': ${prefixes.join(', ')}`);
  }
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions,
      resources: [...new Set(prefixes)].map((p) => bucket.arnForObjects(`${p}*`)),
    }),
  );
}

/**
 * Allows s3:ListBucket. Besides listing, it decides what S3 answers for a missing key: 404 (NoSuchKey)
 * with it, 403 (AccessDenied) without; the handlers rely on the 404 to tell "not there yet" from failure.
 */
export function grantListBucket(grantee: iam.IGrantable, bucket: s3.IBucket): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }),
  );
}

/**
 * Allows the lake key for S3's use only (kms:ViaService): Decrypt to read, GenerateDataKey to write
 * (including multipart uploads and server-side copies).
 */
export function grantLakeKeyViaS3(grantee: iam.IGrantable, key: kms.IKey): void {
  grantee.grantPrincipal.addToPrincipalPolicy(lakeKeyViaS3Statement(key));
}

/** The statement of {@link grantLakeKeyViaS3}, for policies that are assembled before a principal exists. */
export function lakeKeyViaS3Statement(key: kms.IKey): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
    resources: [key.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(key).region}.amazonaws.com` } },
  });
}

/** The ARNs of the objects under each prefix of `bucket` (`<bucket>/<prefix>*`). */
export function objectArns(bucket: s3.IBucket, prefixes: readonly string[]): string[] {
  return prefixes.map((p) => bucket.arnForObjects(`${p}*`));
}
