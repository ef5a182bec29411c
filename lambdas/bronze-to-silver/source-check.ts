/** Whether the bronze object is still the version a run read. */

import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ObjectChangedError } from '../../core/errors';
import { unquoteETag } from '../aws/s3';
import type { BronzeObject } from './bronze-object';

/**
 * Guards the race where a slow run read an older version of the key and would commit after a run that
 * read the newer one: just before uploading, the object must still be the one that was read.
 * Throws `ObjectChangedError` (retried) when its ETag moved; with no ETag read, there is nothing to compare.
 */
export async function checkSourceUnchanged(
  s3: S3Client,
  obj: Pick<BronzeObject, 'bucket' | 'key'>,
  readETag: string | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (readETag === undefined) return;
  const head = await s3.send(new HeadObjectCommand({ Bucket: obj.bucket, Key: obj.key }), {
    abortSignal: signal,
  });
  const now = unquoteETag(head.ETag);
  if (now !== readETag) {
    throw new ObjectChangedError(
      `source changed while transforming; retry (s3://${obj.bucket}/${obj.key}: read ETag ${readETag}, now ${now})`,
    );
  }
}
