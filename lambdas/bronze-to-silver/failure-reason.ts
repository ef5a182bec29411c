/**
 * Why a bronze object keeps failing, written on the last receive before SQS dead-letters its message (the
 * dead-letter queue keeps the message, not the error).
 */

import type { S3Client } from '@aws-sdk/client-s3';
import { errorMessage } from '../../core/errors';
import { failedReasonKey, sourceId } from '../../core/lake/layout';
import type { FailureReason } from '../../core/lake/manifest';
import type { Logger } from '../../core/telemetry/logger';
import { putJson } from '../aws/s3';
import type { BronzeObject } from './bronze-object';
import type { DatasetRef } from './manifest-store';

export interface FailureReasonDeps {
  readonly s3: S3Client;
  readonly quarantineBucket: string;
  readonly now: () => Date;
  readonly logger: Logger;
}

/**
 * Writes the reason under `failed/` in the quarantine bucket and returns its key. `contract` is the one
 * owning `obj.key`, if any. Best effort: never throws (a failed write is logged and gives `undefined`).
 */
export async function recordFailureReason(
  deps: FailureReasonDeps,
  obj: BronzeObject,
  contract: DatasetRef | undefined,
  error: unknown,
  attempts: number,
): Promise<string | undefined> {
  // A key no contract owns still gets a reason, under the first two segments of its key.
  const [domain = 'unknown', dataset = 'unknown'] = contract
    ? [contract.domain, contract.dataset]
    : obj.key.split('/');
  const key = failedReasonKey(domain, dataset, sourceId(obj.bucket, obj.key));
  const reason: FailureReason = {
    error: errorMessage(error),
    attempts,
    sourceBucket: obj.bucket,
    sourceKey: obj.key,
    failedAt: deps.now().toISOString(),
  };
  try {
    await putJson(deps.s3, deps.quarantineBucket, key, reason);
    return key;
  } catch (e) {
    deps.logger.error('could not record why the message is dead-lettered', {
      key: obj.key,
      reasonKey: key,
      error: errorMessage(e),
    });
    return undefined;
  }
}
