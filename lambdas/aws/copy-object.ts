/**
 * Server-side copies of any size S3 holds. CopyObject copies at most 5 GiB in one request; a larger source
 * is copied as a multipart upload whose parts are byte ranges of it (UploadPartCopy), which reaches S3's
 * 5 TB maximum. Either way no bytes pass through the Lambda, and the copy means the same: the same
 * conditions, the metadata replaced, no tags. A multipart copy that fails is aborted, so no parts are left
 * behind (the buckets' lifecycle rule reclaims what an abort that itself fails leaves).
 */
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { ObjectChangedError } from '../../core/errors';
import { copySource, isNotFound, isPreconditionFailed, objectExists, recoverWhen } from './s3';

const MIB = 1024 * 1024;

/** The largest object CopyObject copies in one request: 5 GiB. */
export const COPY_OBJECT_MAX_BYTES = 5 * 1024 * MIB;
/** The most parts one multipart upload holds. */
export const MAX_PARTS = 10_000;
/** The part size of a multipart copy unless the source needs larger parts to fit in {@link MAX_PARTS}. */
export const DEFAULT_PART_SIZE_BYTES = 512 * MIB;
/** Parts being copied at once. */
export const DEFAULT_PART_CONCURRENCY = 4;

/** An object, by bucket and key. */
export interface ObjectRef {
  readonly bucket: string;
  readonly key: string;
}

/** What to copy where, on which conditions. */
export interface CopyRequest {
  readonly source: ObjectRef;
  readonly target: ObjectRef;
  /** The source's size in bytes (from a HEAD, the bytes read, or the S3 event): it picks the kind of copy. */
  readonly sourceSize: number;
  /**
   * Copy only the bytes of this ETag (`x-amz-copy-source-if-match`, on every part of a multipart copy, so
   * the parts all come from one version). Without it, a source replaced mid-copy could mix two versions.
   */
  readonly ifMatch?: string;
  /** `'*'`: create the target only; one already there is kept and the copy answers `'exists'`. */
  readonly ifNoneMatch?: '*';
  /** The target's user metadata, in place of the source's (CopyObject's `MetadataDirective: REPLACE`). */
  readonly metadata?: Record<string, string>;
  /** The target's Content-Type (S3's default when absent). */
  readonly contentType?: string;
}

/** How a copy is made; the handlers use the defaults, tests lower them to copy megabytes in parts. */
export interface CopyOptions {
  /** Sources larger than this are copied in parts; default (and at most) {@link COPY_OBJECT_MAX_BYTES}. */
  readonly multipartThresholdBytes?: number;
  /**
   * The size of each part but the last, rounded up to a MiB and raised as needed to fit the source in
   * {@link MAX_PARTS} parts; default {@link DEFAULT_PART_SIZE_BYTES}. S3 refuses parts under 5 MiB.
   */
  readonly partSizeBytes?: number;
  /** Parts copied at once; default {@link DEFAULT_PART_CONCURRENCY}. */
  readonly concurrency?: number;
  /** Cancels the copy's requests (a multipart copy is still aborted). */
  readonly abortSignal?: AbortSignal;
}

/** `'copied'`, or `'exists'` when `ifNoneMatch` kept a target that was already there. */
export type CopyOutcome = 'copied' | 'exists';

/**
 * Copies `request.source` to `request.target` server-side: one CopyObject up to the threshold, a
 * multipart copy above it. Throws `ObjectChangedError` when the source no longer holds the `ifMatch`
 * bytes; any other failure is thrown as S3 answered it.
 */
export async function copyObject(
  s3: S3Client,
  request: CopyRequest,
  options: CopyOptions = {},
): Promise<CopyOutcome> {
  const threshold = Math.min(options.multipartThresholdBytes ?? COPY_OBJECT_MAX_BYTES, COPY_OBJECT_MAX_BYTES);
  if (request.sourceSize <= threshold) return singleCopy(s3, request, options.abortSignal);
  return multipartCopy(s3, request, {
    partSize: partSizeFor(request.sourceSize, options.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES),
    concurrency: Math.max(1, options.concurrency ?? DEFAULT_PART_CONCURRENCY),
    signal: options.abortSignal,
  });
}

/** The part size for a source of `size` bytes: at least `wanted`, large enough for {@link MAX_PARTS}, in MiB. */
export function partSizeFor(size: number, wanted: number): number {
  const bytes = Math.max(wanted, Math.ceil(size / MAX_PARTS));
  return Math.ceil(bytes / MIB) * MIB;
}

/** The size and ETag a copy of an object needs (HeadObject: `s3:GetObject`); a missing object throws 404. */
export async function sourceForCopy(
  s3: S3Client,
  object: ObjectRef,
  abortSignal?: AbortSignal,
): Promise<{ size: number; eTag: string | undefined }> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: object.bucket, Key: object.key }), {
    abortSignal,
  });
  return { size: head.ContentLength ?? 0, eTag: head.ETag };
}

async function singleCopy(s3: S3Client, request: CopyRequest, signal?: AbortSignal): Promise<CopyOutcome> {
  const { source, target } = request;
  try {
    await s3.send(
      new CopyObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        CopySource: copySource(source.bucket, source.key),
        // Tags are not copied: copying them (S3's default) needs s3:GetObjectTagging and s3:PutObjectTagging.
        TaggingDirective: 'REPLACE',
        CopySourceIfMatch: request.ifMatch,
        IfNoneMatch: request.ifNoneMatch,
        MetadataDirective: 'REPLACE',
        Metadata: request.metadata,
        ContentType: request.contentType,
      }),
      { abortSignal: signal },
    );
    return 'copied';
  } catch (e) {
    if (!isPreconditionFailed(e)) throw e;
    // Both conditions answer 412: either the target is already there (an earlier attempt copied it), or
    // the source is no longer the bytes of `ifMatch`.
    if (request.ifNoneMatch && (await objectExists(s3, target.bucket, target.key))) return 'exists';
    throw sourceChanged(request);
  }
}

type MultipartSettings = { partSize: number; concurrency: number; signal: AbortSignal | undefined };

/**
 * CreateMultipartUpload (the metadata and Content-Type: what REPLACE sets; no tags), the parts, then
 * CompleteMultipartUpload with `If-None-Match`. A 412 on a part is the source's condition, on the
 * completion the target's: no lookup is needed to tell them apart.
 */
async function multipartCopy(
  s3: S3Client,
  request: CopyRequest,
  settings: MultipartSettings,
): Promise<CopyOutcome> {
  const { target } = request;
  const created = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: target.bucket,
      Key: target.key,
      Metadata: request.metadata,
      ContentType: request.contentType,
    }),
    { abortSignal: settings.signal },
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error(`s3://${target.bucket}/${target.key}: S3 returned no upload id`);
  let parts: CompletedPart[];
  try {
    parts = await copyParts(s3, request, uploadId, settings);
  } catch (e) {
    await abortUpload(s3, target, uploadId);
    throw isPreconditionFailed(e) ? sourceChanged(request) : e;
  }
  try {
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: target.bucket,
        Key: target.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
        IfNoneMatch: request.ifNoneMatch,
      }),
      { abortSignal: settings.signal },
    );
    return 'copied';
  } catch (e) {
    await abortUpload(s3, target, uploadId);
    if (isPreconditionFailed(e)) return 'exists';
    throw e;
  }
}

/**
 * Every part, `concurrency` at a time, in part order. After a failure no new part starts, and the ones
 * in flight are waited for: a part that finished after the abort would be left behind.
 */
async function copyParts(
  s3: S3Client,
  request: CopyRequest,
  uploadId: string,
  { partSize, concurrency, signal }: MultipartSettings,
): Promise<CompletedPart[]> {
  const { source, target, sourceSize } = request;
  const count = Math.ceil(sourceSize / partSize);
  const parts = new Array<CompletedPart>(count);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const copyNext = async (): Promise<void> => {
    while (failure === undefined && next < count) {
      const index = next++;
      const first = index * partSize;
      const last = Math.min(sourceSize, first + partSize) - 1;
      try {
        const out = await s3.send(
          new UploadPartCopyCommand({
            Bucket: target.bucket,
            Key: target.key,
            UploadId: uploadId,
            PartNumber: index + 1,
            CopySource: copySource(source.bucket, source.key),
            CopySourceRange: `bytes=${first}-${last}`,
            CopySourceIfMatch: request.ifMatch,
          }),
          { abortSignal: signal },
        );
        const eTag = out.CopyPartResult?.ETag;
        if (!eTag) throw new Error(`part ${index + 1} of s3://${target.bucket}/${target.key}: no ETag`);
        parts[index] = { PartNumber: index + 1, ETag: eTag };
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, copyNext));
  if (failure) throw failure.error;
  return parts;
}

/**
 * Takes the upload's parts back. Not tied to the caller's signal (a deadline must not leave parts
 * behind); an upload already gone is fine. A failure here is not thrown over the copy's own error: the
 * buckets' AbortIncompleteMultipartUpload lifecycle rule reclaims the parts.
 */
async function abortUpload(s3: S3Client, target: ObjectRef, uploadId: string): Promise<void> {
  const abort = s3.send(
    new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId }),
  );
  await recoverWhen(abort, isNotFound, undefined).catch(() => undefined);
}

function sourceChanged({ source, ifMatch }: CopyRequest): ObjectChangedError {
  return new ObjectChangedError(
    `s3://${source.bucket}/${source.key} changed since it was read (no longer ETag ${ifMatch}); retry`,
  );
}
