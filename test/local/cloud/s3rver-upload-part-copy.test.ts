import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  UploadPartCopyCommand,
  type UploadPartCopyCommandInput,
} from '@aws-sdk/client-s3';
import { copySource, isNotFound, isPreconditionFailed } from '../../../lambdas/aws/s3';
import { withLocalS3 } from '../../support/local-s3';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/** What the request failed with: S3's code and HTTP status, and its message. */
async function failure(p: Promise<unknown>): Promise<{ code?: string; status?: number; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name?: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { code: err.name, status: err.$metadata?.httpStatusCode, message: err.message };
  }
  throw new Error('the request succeeded');
}

describe('the local S3 server: UploadPartCopy, AbortMultipartUpload, ListMultipartUploads', () => {
  const s3 = withLocalS3(['src', 'dest']);
  const createUpload = async (key: string) =>
    (await s3.client.send(new CreateMultipartUploadCommand({ Bucket: 'dest', Key: key }))).UploadId as string;
  const copyPart = (key: string, uploadId: string, extra: Partial<UploadPartCopyCommandInput> = {}) =>
    s3.client.send(
      new UploadPartCopyCommand({
        Bucket: 'dest',
        Key: key,
        UploadId: uploadId,
        PartNumber: 1,
        CopySource: copySource('src', 'data/a+b (é).bin'),
        ...extra,
      }),
    );
  const openUploads = async (Prefix?: string) =>
    (await s3.client.send(new ListMultipartUploadsCommand({ Bucket: 'dest', Prefix }))).Uploads ?? [];
  const source = randomBytes(300_000);
  let sourceETag: string;
  beforeAll(async () => {
    await s3.put('src', 'data/a+b (é).bin', source);
    sourceETag = (await s3.head('src', 'data/a+b (é).bin'))?.ETag as string;
  });

  it('copies byte ranges of the source as parts, answering each with its ETag, and completes them into the source', async () => {
    const uploadId = await createUpload('whole/copy.bin');
    const ranges = [
      [0, 99_999],
      [100_000, 199_999],
      [200_000, 299_999],
    ];
    const parts = await Promise.all(
      ranges.map(async ([first, last], i) => {
        const out = await copyPart('whole/copy.bin', uploadId, {
          PartNumber: i + 1,
          CopySourceRange: `bytes=${first}-${last}`,
          CopySourceIfMatch: sourceETag,
        });
        expect(out.CopyPartResult?.ETag).toBe(`"${md5(source.subarray(first, last + 1))}"`);
        return { PartNumber: i + 1, ETag: out.CopyPartResult?.ETag };
      }),
    );
    await s3.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'dest',
        Key: 'whole/copy.bin',
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    expect((await s3.get('dest', 'whole/copy.bin'))?.equals(source)).toBe(true);
    expect(await openUploads()).toEqual([]);
  });

  it('copies the whole source as a part when no range is given', async () => {
    const uploadId = await createUpload('norange/copy.bin');
    const out = await copyPart('norange/copy.bin', uploadId);
    expect(out.CopyPartResult?.ETag).toBe(`"${md5(source)}"`);
    await s3.client.send(
      new AbortMultipartUploadCommand({ Bucket: 'dest', Key: 'norange/copy.bin', UploadId: uploadId }),
    );
  });

  it('answers x-amz-copy-source-if-match with 412 for another ETag, and if-none-match with 412 for this one', async () => {
    const uploadId = await createUpload('cond/copy.bin');
    const stale = await failure(
      copyPart('cond/copy.bin', uploadId, { CopySourceIfMatch: `"${md5(Buffer.from('x'))}"` }),
    );
    expect(stale).toMatchObject({ code: 'PreconditionFailed', status: 412 });
    const same = await failure(copyPart('cond/copy.bin', uploadId, { CopySourceIfNoneMatch: sourceETag }));
    expect(same).toMatchObject({ code: 'PreconditionFailed', status: 412 });
    await expect(
      copyPart('cond/copy.bin', uploadId, { CopySourceIfMatch: sourceETag }),
    ).resolves.toBeDefined();
  });

  it.each([
    ['malformed', '0-99', 'must be of the form bytes=first-last'],
    ['reversed', 'bytes=99-0', 'Range specified is not valid for source object of size: 300000'],
    ['past the end', 'bytes=0-300000', 'Range specified is not valid for source object of size: 300000'],
  ])('refuses a %s range with 400 InvalidArgument, as S3 does', async (_, range, message) => {
    const uploadId = await createUpload('range/copy.bin');
    const refused = await failure(copyPart('range/copy.bin', uploadId, { CopySourceRange: range }));
    expect(refused).toMatchObject({ code: 'InvalidArgument', status: 400 });
    expect(refused.message).toContain(message);
  });

  it('answers 404: NoSuchUpload for an unknown upload, NoSuchKey for a missing source, NoSuchBucket', async () => {
    expect(await failure(copyPart('x/copy.bin', 'feedfacefeedface'))).toMatchObject({
      code: 'NoSuchUpload',
      status: 404,
    });
    const uploadId = await createUpload('x/copy.bin');
    // An upload of another key is not this key's upload.
    expect(await failure(copyPart('y/copy.bin', uploadId))).toMatchObject({ code: 'NoSuchUpload' });
    const missing = await failure(copyPart('x/copy.bin', uploadId, { CopySource: 'src/data/none.bin' }));
    expect(missing).toMatchObject({ code: 'NoSuchKey', status: 404 });
    const noBucket = await failure(copyPart('x/copy.bin', uploadId, { CopySource: 'nobucket/a.bin' }));
    expect(noBucket).toMatchObject({ code: 'NoSuchBucket', status: 404 });
    const badPart = await failure(copyPart('x/copy.bin', uploadId, { PartNumber: 10_001 }));
    expect(badPart).toMatchObject({ code: 'InvalidArgument', status: 400 });
  });

  it('lists open uploads by key (with a prefix), and an abort removes the upload and its parts', async () => {
    const first = await createUpload('list/a.bin');
    const second = await createUpload('list/b.bin');
    await createUpload('other/c.bin');
    await copyPart('list/a.bin', first);

    const listed = await openUploads('list/');
    expect(listed.map((u) => [u.Key, u.UploadId])).toEqual([
      ['list/a.bin', first],
      ['list/b.bin', second],
    ]);
    expect(listed[0].Initiated).toBeInstanceOf(Date);

    await s3.client.send(
      new AbortMultipartUploadCommand({ Bucket: 'dest', Key: 'list/a.bin', UploadId: first }),
    );
    expect((await openUploads('list/')).map((u) => u.UploadId)).toEqual([second]);
    expect(existsSync(join(s3.directory, 'dest', '._S3rver_uploads', first))).toBe(false);
    // Aborted: its parts can no longer be copied, it can no longer be aborted or completed.
    expect(await failure(copyPart('list/a.bin', first))).toMatchObject({ code: 'NoSuchUpload' });
    const again = s3.client.send(
      new AbortMultipartUploadCommand({ Bucket: 'dest', Key: 'list/a.bin', UploadId: first }),
    );
    expect(isNotFound(await again.catch((e: unknown) => e))).toBe(true);
    const complete = await failure(
      s3.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'dest',
          Key: 'list/a.bin',
          UploadId: first,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: `"${md5(source)}"` }] },
        }),
      ),
    );
    expect(complete).toMatchObject({ code: 'NoSuchUpload', status: 404 });
  });

  it('answers a CompleteMultipartUpload with If-None-Match: * with 412 when the key exists, keeping the object', async () => {
    await s3.put('dest', 'kept/copy.bin', 'already here');
    const uploadId = await createUpload('kept/copy.bin');
    const part = await copyPart('kept/copy.bin', uploadId);
    const refused = s3.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'dest',
        Key: 'kept/copy.bin',
        UploadId: uploadId,
        IfNoneMatch: '*',
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.CopyPartResult?.ETag }] },
      }),
    );
    expect(isPreconditionFailed(await refused.catch((e: unknown) => e))).toBe(true);
    expect((await s3.get('dest', 'kept/copy.bin'))?.toString()).toBe('already here');
  });

  it("answers CopyObject's x-amz-copy-source-if-match with 412 for another ETag (s3rver ignored it)", async () => {
    const copy = (CopySourceIfMatch: string) =>
      s3.client.send(
        new CopyObjectCommand({
          Bucket: 'dest',
          Key: 'copyobject/a.bin',
          CopySource: copySource('src', 'data/a+b (é).bin'),
          CopySourceIfMatch,
        }),
      );
    expect(await failure(copy(`"${md5(Buffer.from('x'))}"`))).toMatchObject({
      code: 'PreconditionFailed',
      status: 412,
    });
    expect(await s3.head('dest', 'copyobject/a.bin')).toBeUndefined();
    await copy(sourceETag);
    expect((await s3.head('dest', 'copyobject/a.bin'))?.ETag).toBe(sourceETag);
  });
});
