/**
 * How S3 invokes a function for a notification: asynchronously (never inside the S3 request that caused
 * the event), retried as Lambda retries an asynchronous invocation, the outcome reported per object.
 */

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { S3EventRecord } from 'aws-lambda';
import { errorMessage } from '../../core/errors';
import { decodeEventKey } from '../../core/lake/layout';
import type { Activity } from './activity';
import { invokeAsync } from './lambda-runtime';
import type { LocalFunctions } from './local-functions';
import { toS3Event } from './s3-event-adapter';
import type { WiredFunction } from './template-wiring';

/** An upload the function handled (the landing function, for the landing bucket). */
export interface LandedObject {
  readonly bucket: string;
  readonly key: string;
  readonly attempts: number;
}

/** An upload the function failed on, every retry included. */
export interface LandingFailure {
  readonly bucket: string;
  readonly key: string;
  readonly attempts: number;
  readonly error: string;
}

export interface AsyncInvocationOptions {
  /** The loaded functions (`fn` among them). */
  readonly functions: LocalFunctions;
  /** Retries after a failed attempt (Lambda's are the function's `retryAttempts`). */
  readonly retries: number;
  /** Pause before a retry (times the attempts made), standing in for Lambda's minutes. */
  readonly delayMs: number;
  /** Counts the invocation, retries included, until its outcome is reported. */
  readonly activity: Activity;
  readonly onLanded: (o: LandedObject) => void;
  readonly onFailed: (f: LandingFailure) => void;
}

type Delivery = (record: S3EventRecord) => void;

/** Delivery of S3 records to `fn`: one asynchronous invocation per record, retried as Lambda does. */
export function asyncInvoker(fn: WiredFunction, options: AsyncInvocationOptions): Delivery {
  const { functions } = options;
  return (record) => {
    const bucket = record.s3.bucket.name;
    const key = decodeEventKey(record.s3.object.key);
    void options.activity.track(async () => {
      await nextTurn(); // never inside the S3 request that caused the event
      try {
        const attempts = await invokeAsync(() => functions.invoke(fn, toS3Event(record)), {
          retries: options.retries,
          delayMs: options.delayMs,
        });
        options.onLanded({ bucket, key, attempts });
      } catch (e) {
        options.onFailed({
          bucket,
          key,
          attempts: options.retries + 1,
          error: errorMessage(e),
        });
      }
    });
  };
}
