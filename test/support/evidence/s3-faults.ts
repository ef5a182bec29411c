/**
 * A real S3 client (the SDK's, against the real local server) with faults injected, for the evidence
 * suite: count the calls, fail the Nth write, lose a write's answer after the server applied it, delay
 * writes, or act just before a call is sent.
 *
 *   const faults = faultyS3Client(s3.env, { failWrite: 3 });            // the 3rd write fails, unsent
 *   const faults = faultyS3Client(s3.env, { failWrite: 3, failMode: 'after' }); // applied, answer lost
 *   const faults = faultyS3Client(s3.env, { delayWriteMs: (c) => (c.write === 2 ? 60_000 : 0) });
 *   ... new BronzeToSilver({ s3: faults.client, ... }) ...; faults.calls, faults.writes()
 *
 * Faults are injected by a middleware in the `initialize` step, outside the SDK's retry loop: an injected
 * failure is what the caller sees after the SDK gave up, and a delayed write is not retried. A delay
 * honours the call's abort signal (`send(cmd, { abortSignal })`), as a real slow request would.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../../lambdas/aws/s3';

/** Calls that create or change an object. */
const WRITES = new Set([
  'PutObjectCommand',
  'CopyObjectCommand',
  'CreateMultipartUploadCommand',
  'UploadPartCommand',
  'CompleteMultipartUploadCommand',
]);
const DELETES = new Set(['DeleteObjectCommand', 'DeleteObjectsCommand', 'AbortMultipartUploadCommand']);

export type S3CallKind = 'write' | 'delete' | 'other';

export interface S3Call {
  /** The SDK command's name without 'Command', e.g. 'PutObject'. */
  readonly command: string;
  readonly kind: S3CallKind;
  readonly bucket?: string;
  readonly key?: string;
  /** 1-based position among the writes of this client (writes only). */
  readonly write?: number;
  /** 'injected': failed by the plan; 'aborted': stopped by the caller's abort signal. */
  outcome?: 'ok' | 'failed' | 'injected' | 'aborted';
}

export interface S3FaultPlan {
  /** The writes that fail: by 1-based position among the writes, or chosen by a predicate. */
  readonly failWrite?: number | ((call: S3Call) => boolean);
  /**
   * 'before' (default): the write is never sent. 'after': the server applies it, then the answer is
   * replaced by the error (a lost acknowledgement: the caller cannot tell it landed).
   */
  readonly failMode?: 'before' | 'after';
  /** Milliseconds to hold a write before sending it; the call's abort signal cuts the wait short. */
  readonly delayWriteMs?: number | ((call: S3Call) => number);
  /** Runs before each call is sent, e.g. to change an object under a running transform. */
  readonly beforeCall?: (call: S3Call) => void | Promise<void>;
}

export interface FaultyS3 {
  readonly client: S3Client;
  /** Every call, in the order it was made. */
  readonly calls: readonly S3Call[];
  /** The writes made (attempted) so far. */
  writes(): S3Call[];
  /** Failures the plan injected so far. */
  readonly injected: number;
  destroy(): void;
}

/** The error an injected fault throws (never retried by the SDK: it is raised outside the retry loop). */
export class InjectedS3Fault extends Error {
  readonly $metadata = { httpStatusCode: 500 };

  constructor(readonly call: S3Call) {
    super(`injected S3 fault: ${call.command} s3://${call.bucket}/${call.key} (write ${call.write}) failed`);
    this.name = 'InjectedS3Fault';
  }
}

/** The smithy context key under which the SDK passes the call's `abortSignal` to middleware. */
const SMITHY_CONTEXT = '__smithy_context';

export function faultyS3Client(env: Record<string, string>, plan: S3FaultPlan = {}): FaultyS3 {
  const client = createS3Client(env);
  const calls: S3Call[] = [];
  let writes = 0;
  let injected = 0;

  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Bucket?: string; Key?: string };
      const name = String((context as { commandName?: string }).commandName ?? 'Unknown');
      const kind: S3CallKind = WRITES.has(name) ? 'write' : DELETES.has(name) ? 'delete' : 'other';
      const call: S3Call = {
        command: name.replace(/Command$/, ''),
        kind,
        bucket: input.Bucket,
        key: input.Key,
        ...(kind === 'write' ? { write: ++writes } : {}),
      };
      calls.push(call);
      await plan.beforeCall?.(call);
      const signal = (context as Record<string, { abortSignal?: AbortSignal } | undefined>)[SMITHY_CONTEXT]
        ?.abortSignal;
      try {
        if (kind === 'write') {
          const delay =
            typeof plan.delayWriteMs === 'function' ? plan.delayWriteMs(call) : (plan.delayWriteMs ?? 0);
          if (delay > 0) await abortableSleep(delay, signal);
        }
        const fails =
          kind === 'write' &&
          (typeof plan.failWrite === 'function' ? plan.failWrite(call) : plan.failWrite === call.write);
        if (fails && (plan.failMode ?? 'before') === 'before') throw new InjectedS3Fault(call);
        const out = await next(args);
        if (fails) throw new InjectedS3Fault(call);
        call.outcome = 'ok';
        return out;
      } catch (e) {
        if (e instanceof InjectedS3Fault) {
          injected++;
          call.outcome = 'injected';
        } else {
          call.outcome = signal?.aborted ? 'aborted' : 'failed';
        }
        throw e;
      }
    },
    { step: 'initialize', name: 'evidenceFaultInjection', priority: 'high' },
  );

  return {
    client,
    calls,
    writes: () => calls.filter((c) => c.kind === 'write'),
    get injected() {
      return injected;
    },
    destroy: () => client.destroy(),
  };
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(Object.assign(new Error('the request was aborted'), { name: 'AbortError' }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
