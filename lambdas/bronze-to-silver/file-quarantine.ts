/**
 * A file rejected as a whole (`FileRejection`): copied byte for byte to the quarantine bucket with its
 * reason next to it, and recorded by a manifest with no outputs. Retrying cannot fix it, so it counts as done.
 */

import type { S3Client } from '@aws-sdk/client-s3';
import type { FileRejection } from '../../core/errors';
import { quarantineFileKey } from '../../core/lake/layout';
import type { Logger } from '../../core/telemetry/logger';
import { type CopyOptions, copyObject, sourceForCopy } from '../aws/copy-object';
import { putJson } from '../aws/s3';
import type { Attempt } from './attempt';
import type { BronzeObject } from './bronze-object';
import type { DatasetRef, ManifestOutcome } from './manifest-store';

export interface FileQuarantineDeps {
  readonly s3: S3Client;
  readonly quarantineBucket: string;
  readonly now: () => Date;
  readonly logger: Logger;
  /** How the file is copied (in parts above CopyObject's 5 GiB); tests lower the threshold. */
  readonly copy?: CopyOptions;
}

export async function quarantineWholeFile(
  deps: FileQuarantineDeps,
  obj: BronzeObject,
  contract: DatasetRef,
  id: string,
  err: FileRejection,
  attempt: Attempt,
): Promise<ManifestOutcome> {
  const { s3, quarantineBucket } = deps;
  const name = obj.key.split('/').pop() as string;
  const key = quarantineFileKey(contract.domain, contract.dataset, id, name);
  attempt.check();
  // The size picks the kind of copy; its ETag keeps the parts of a multipart copy to one version.
  const source = await sourceForCopy(s3, obj, attempt.signal);
  attempt.check();
  attempt.writing(quarantineBucket, key);
  await copyObject(
    s3,
    {
      source: { bucket: obj.bucket, key: obj.key },
      target: { bucket: quarantineBucket, key },
      sourceSize: source.size,
      ifMatch: source.eTag,
      metadata: { reason: err.code, 'source-key': encodeURIComponent(obj.key) },
    },
    { ...deps.copy, abortSignal: attempt.signal },
  );
  attempt.check();
  attempt.writing(quarantineBucket, `${key}.reason.json`);
  await putJson(
    s3,
    quarantineBucket,
    `${key}.reason.json`,
    {
      reason: err.message,
      reasonCode: err.code,
      sourceBucket: obj.bucket,
      sourceKey: obj.key,
      quarantinedAt: deps.now().toISOString(),
    },
    attempt.signal,
  );
  deps.logger.warn('file quarantined', { key: obj.key, reason: err.message });
  return {
    manifestVersion: 1,
    status: 'quarantined',
    reason: err.message,
    reasonCode: err.code,
    domain: contract.domain,
    dataset: contract.dataset,
    source: {
      bucket: obj.bucket,
      key: obj.key,
      versionId: attempt.read?.versionId ?? obj.versionId,
      eTag: attempt.read?.eTag ?? obj.eTag,
    },
    rows: { in: 0, out: 0, quarantined: 0, duplicates: 0 },
    quarantinedByReason: {},
    outputs: [],
    quarantine: { bucket: quarantineBucket, key },
  };
}
