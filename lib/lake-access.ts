/**
 * Least-privilege access to the lake: object actions on the key prefixes a function really uses, derived
 * from the key layout of `lambdas/shared/object-keys.ts` so the grants follow the layout when it changes.
 *
 * The L2 `bucket.grantRead/grantWrite` helpers are not used: they grant wildcard actions (`s3:GetObject*`,
 * `s3:List*`, `s3:Abort*`, `kms:GenerateDataKey*`) on whole buckets.
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { ContractError, ContractRegistry, type DatasetContract } from '../lambdas/shared/dataset-contract';
import {
  bronzeContentIndexKey,
  idempotencyIndexKey,
  manifestKey,
  quarantineFileKey,
  quarantineRowsKey,
  quarantineUnknownKey,
} from '../lambdas/shared/object-keys';
import { MedallionConfigError } from './config';

/** A stand-in for the variable part of a key (an id), cut off to leave the prefix. */
const PART = '\u0000';

/** The prefix of a key built with `PART` as its variable part (or its last segment, when hashed). */
function prefixOf(key: string): string {
  const at = key.indexOf(PART);
  return at >= 0 ? key.slice(0, at) : key.slice(0, key.lastIndexOf('/') + 1);
}

/** Key prefixes of one dataset, per bucket. */
export const datasetPrefixes = {
  /** `<domain>/<dataset>/`: the dataset's data, in landing, bronze and silver alike. */
  data: (c: DatasetContract) => `${c.id}/`,
  bronzeContentIndex: (c: DatasetContract) => bronzeContentIndexKey(c.domain, c.dataset, ''),
  bronzeIdempotencyIndex: (c: DatasetContract) => prefixOf(idempotencyIndexKey(c.domain, c.dataset, PART)),
  silverManifests: (c: DatasetContract) => prefixOf(manifestKey(c.domain, c.dataset, PART)),
  quarantineRows: (c: DatasetContract) => prefixOf(quarantineRowsKey(c.domain, c.dataset, PART)),
  quarantineFiles: (c: DatasetContract) => prefixOf(quarantineFileKey(c.domain, c.dataset, PART, 'f')),
};

/** Where uploads that no contract claims are moved, in the quarantine bucket. */
export const QUARANTINE_UNKNOWN_PREFIX = quarantineUnknownKey('');

/**
 * Loads and validates the contracts at synth: a bad contract fails `cdk synth` with the file and the
 * field, instead of failing the functions' first invocation after a deploy.
 */
export function loadContracts(dir: string): DatasetContract[] {
  let registry: ContractRegistry;
  try {
    registry = ContractRegistry.fromDirectory(dir);
  } catch (e) {
    if (e instanceof ContractError) throw new MedallionConfigError(`medallion: ${e.message}`);
    throw new MedallionConfigError(
      `medallion: cannot read the data contracts in ${dir}: ${(e as Error).message}`,
    );
  }
  if (registry.all.length === 0) {
    throw new MedallionConfigError(
      `medallion: no data contract (*.yaml, *.yml, *.json) in ${dir}: nothing could be ingested`,
    );
  }
  return registry.all.sort((a, b) => a.id.localeCompare(b.id));
}

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
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(key).region}.amazonaws.com` } },
    }),
  );
}
