import { createHash, randomBytes } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectTaggingCommand,
  ListMultipartUploadsCommand,
  PutObjectTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ObjectChangedError } from '../../../core/errors';
import {
  COPY_OBJECT_MAX_BYTES,
  type CopyOptions,
  type CopyRequest,
  copyObject,
  MAX_PARTS,
  partSizeFor,
  sourceForCopy,
} from '../../../lambdas/aws/copy-object';
import { isNotFound } from '../../../lambdas/aws/s3';
import { withLocalS3 } from '../../support/local-s3';

const MIB = 1024 * 1024;
const SRC = 'src';
const DEST = 'dest';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** 1 MiB threshold, 5 MiB parts: a 12 MiB source is copied in 3 parts. */
const IN_PARTS: CopyOptions = { multipartThresholdBytes: MIB, partSizeBytes: 5 * MIB };
const MODES: [string, CopyOptions][] = [
  ['in parts', IN_PARTS],
  ['in one request', {}],
];

interface Sent {
  command: string;
  input: Record<string, unknown>;
  headers: Record<string, string>;
}

/** Runs `work` while recording every request the client sends (its command, input and headers). */
async function recording<T>(
  client: S3Client,
  work: (sent: Sent[]) => Promise<T>,
  onSent?: (sent: Sent) => Promise<void>,
): Promise<{ result: T; sent: Sent[] }> {
  const sent: Sent[] = [];
  const name = `record-${Math.random()}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const entry: Sent = {
        command: context.commandName ?? '?',
        input: args.input as Record<string, unknown>,
        headers: (args.request as { headers?: Record<string, string> }).headers ?? {},
      };
      sent.push(entry);
      const out = await next(args);
      await onSent?.(entry);
      return out;
    },
    { step: 'finalizeRequest', name },
  );
  try {
    return { result: await work(sent), sent };
  } finally {
    client.middlewareStack.remove(name);
  }
}

describe('copyObject against a local S3 server', () => {
  const s3 = withLocalS3([SRC, DEST]);
  const openUploads = async (bucket = DEST) =>
    (await s3.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
  /** A fresh 12 MiB source under `key`, with the request copying it to the same key in DEST. */
  const source = async (key: string, size = 12 * MIB) => {
    const bytes = randomBytes(size);
    await s3.put(SRC, key, bytes, { ContentType: 'text/plain', Metadata: { from: 'upload' } });
    const { eTag } = await sourceForCopy(s3.client, { bucket: SRC, key });
    const request: CopyRequest = {
      source: { bucket: SRC, key },
      target: { bucket: DEST, key },
      sourceSize: size,
      ifMatch: eTag,
    };
    return { bytes, request };
  };

  it('copies a source above the threshold as a multipart upload of byte ranges, byte for byte', async () => {
    const { bytes, request } = await source('parts/a b+c (é).csv');

    const { result, sent } = await recording(s3.client, () => copyObject(s3.client, request, IN_PARTS));

    expect(result).toBe('copied');
    expect(sha256((await s3.get(DEST, request.target.key)) ?? Buffer.alloc(0))).toBe(sha256(bytes));
    expect(sent.map((s) => s.command)).toEqual([
      'CreateMultipartUploadCommand',
      'UploadPartCopyCommand',
      'UploadPartCopyCommand',
      'UploadPartCopyCommand',
      'CompleteMultipartUploadCommand',
    ]);
    const parts = sent.filter((s) => s.command === 'UploadPartCopyCommand');
    expect(parts.map((p) => p.input.CopySourceRange)).toEqual([
      `bytes=0-${5 * MIB - 1}`,
      `bytes=${5 * MIB}-${10 * MIB - 1}`,
      `bytes=${10 * MIB}-${12 * MIB - 1}`,
    ]);
    // Every part is pinned to the bytes of the ETag given, so all come from one version.
    for (const p of parts) expect(p.headers['x-amz-copy-source-if-match']).toBe(request.ifMatch);
    expect(await openUploads()).toEqual([]);
  });

  it('copies a source at or below the threshold with one CopyObject', async () => {
    const { bytes, request } = await source('single/a.csv', 2 * MIB);

    const { result, sent } = await recording(s3.client, () =>
      copyObject(s3.client, request, { ...IN_PARTS, multipartThresholdBytes: 2 * MIB }),
    );

    expect(result).toBe('copied');
    expect(sent.map((s) => s.command)).toEqual(['CopyObjectCommand']);
    expect(sent[0].headers['x-amz-tagging-directive']).toBe('REPLACE');
    expect(sent[0].headers['x-amz-metadata-directive']).toBe('REPLACE');
    expect((await s3.get(DEST, request.target.key))?.equals(bytes)).toBe(true);
  });

  it.each(MODES)(
    '%s: sets the metadata and content type given, not the source’s, and copies no tags',
    async (_, options) => {
      const { request } = await source(`meta/${options.multipartThresholdBytes ?? 'single'}.csv`);
      await s3.client.send(
        new PutObjectTaggingCommand({
          Bucket: SRC,
          Key: request.source.key,
          Tagging: { TagSet: [{ Key: 'owner', Value: 'team-a' }] },
        }),
      );

      const { sent } = await recording(s3.client, () =>
        copyObject(
          s3.client,
          { ...request, metadata: { reason: 'bad', 'received-at': 'then' }, contentType: 'text/csv' },
          options,
        ),
      );

      const head = await s3.head(DEST, request.target.key);
      expect(head?.Metadata).toEqual({ reason: 'bad', 'received-at': 'then' });
      expect(head?.ContentType).toBe('text/csv');
      const tags = await s3.client.send(
        new GetObjectTaggingCommand({ Bucket: DEST, Key: request.target.key }),
      );
      expect(tags.TagSet ?? []).toEqual([]);
      for (const s of sent) expect(s.headers['x-amz-tagging']).toBeUndefined();
    },
  );

  it.each(MODES)(
    '%s: keeps a target that exists (ifNoneMatch) and answers exists, leaving no upload open',
    async (_, options) => {
      const { request } = await source(`exists/${options.multipartThresholdBytes ?? 'single'}.csv`);
      await s3.put(DEST, request.target.key, 'already here');

      const result = await copyObject(s3.client, { ...request, ifNoneMatch: '*' }, options);

      expect(result).toBe('exists');
      expect((await s3.get(DEST, request.target.key))?.toString()).toBe('already here');
      expect(await openUploads()).toEqual([]);
    },
  );

  it.each(MODES)(
    '%s: throws ObjectChangedError when the source changed since its ETag was read, writing nothing',
    async (_, options) => {
      const { request } = await source(`changed/${options.multipartThresholdBytes ?? 'single'}.csv`);
      await s3.put(SRC, request.source.key, randomBytes(12 * MIB));

      const copy = copyObject(s3.client, { ...request, ifNoneMatch: '*' }, options);

      await expect(copy).rejects.toBeInstanceOf(ObjectChangedError);
      await expect(copy).rejects.toThrow(`s3://${SRC}/${request.source.key} changed since it was read`);
      expect(await s3.head(DEST, request.target.key)).toBeUndefined();
      expect(await openUploads()).toEqual([]);
    },
  );

  it('aborts the upload when the source is replaced between two parts: no part is left behind', async () => {
    const { request } = await source('mid-copy/a.csv');
    let replaced = false;

    const { result, sent } = await recording(
      s3.client,
      () => copyObject(s3.client, request, { ...IN_PARTS, concurrency: 1 }).then(String, (e: unknown) => e),
      async (entry) => {
        if (entry.command !== 'UploadPartCopyCommand' || replaced) return;
        replaced = true;
        await s3.put(SRC, request.source.key, randomBytes(12 * MIB));
      },
    );

    expect(result).toBeInstanceOf(ObjectChangedError);
    expect(sent.map((s) => s.command)).toEqual([
      'CreateMultipartUploadCommand',
      'UploadPartCopyCommand',
      'PutObjectCommand',
      'UploadPartCopyCommand',
      'AbortMultipartUploadCommand',
    ]);
    expect(await s3.head(DEST, request.target.key)).toBeUndefined();
    expect(await openUploads()).toEqual([]);
  });

  it('throws what S3 answered for another failure (a source gone) and aborts the upload', async () => {
    const { request } = await source('gone/a.csv');
    await s3.client.send(new DeleteObjectCommand({ Bucket: SRC, Key: request.source.key }));

    const failure = await copyObject(s3.client, request, IN_PARTS).then(String, (e: unknown) => e);

    expect(isNotFound(failure)).toBe(true);
    expect(await openUploads()).toEqual([]);
  });

  it('copies at most `concurrency` parts at once', async () => {
    const { bytes, request } = await source('concurrency/a.csv', 30 * MIB);
    let inFlight = 0;
    let most = 0;
    const name = 'count-in-flight';
    s3.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'UploadPartCopyCommand') return next(args);
        most = Math.max(most, ++inFlight);
        try {
          return await next(args);
        } finally {
          inFlight--;
        }
      },
      { step: 'finalizeRequest', name },
    );
    try {
      await copyObject(s3.client, request, { ...IN_PARTS, concurrency: 2 });
    } finally {
      s3.client.middlewareStack.remove(name);
    }
    expect(most).toBe(2);
    expect(sha256((await s3.get(DEST, request.target.key)) ?? Buffer.alloc(0))).toBe(sha256(bytes));
  });
});

describe('partSizeFor', () => {
  it('keeps the part size asked for while the source fits in 10,000 parts', () => {
    expect(partSizeFor(6 * 1024 * MIB, 512 * MIB)).toBe(512 * MIB);
  });

  it('grows the parts, in whole MiB, so that 10,000 reach the 5 TB maximum', () => {
    const fiveTB = 5 * 1024 ** 4;
    const size = partSizeFor(fiveTB, 512 * MIB);
    expect(size % MIB).toBe(0);
    expect(Math.ceil(fiveTB / size)).toBeLessThanOrEqual(MAX_PARTS);
    expect(size).toBeLessThanOrEqual(COPY_OBJECT_MAX_BYTES);
  });

  it('rounds a part size up to a whole MiB', () => {
    expect(partSizeFor(10 * MIB, 5 * MIB + 1)).toBe(6 * MIB);
  });
});
