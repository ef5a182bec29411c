/**
 * s3rver writes an object straight into its final file and answers before the bytes are flushed (it
 * resolves on its checksum stream, not on the file), and writes the `.md5` and metadata files in place: a
 * reader, or a `kill -9`, can meet a half-written object or an ETag of other bytes. S3 makes an object
 * visible whole or not at all. This patch of its FilesystemStore writes every file of an object to a
 * temporary name and renames it into place (a rename is atomic on one filesystem), in an order that a
 * crash cannot turn into a wrong ETag: the `.md5` goes first (s3rver recomputes a missing one from the
 * bytes), then the metadata, then the object, then the new `.md5`. A temporary name never ends in
 * `._S3rver_object`, so listings never show one. Its DeleteObject also removes the key's directories
 * once empty, and failed (500) when a concurrent write had just put a file there or another delete had
 * removed one: the cleanup is best effort here, and a write whose directory vanished makes it again.
 * Installed once per process.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

type Resource = 'object' | 'object.md5' | 'metadata.json';
interface FilesystemStore {
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string, resource: Resource): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void>;
  getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
}
interface S3rverObject {
  bucket: string;
  key: string;
  content: Buffer | NodeJS.ReadableStream;
  metadata: Record<string, string>;
}

const partialOf = (path: string) => `${path}.${randomUUID()}.partial`;

const codeOf = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code;

/** A write stream on `path`, opened: its directory is made again if a concurrent delete removed it. */
async function openForWriting(path: string): Promise<NodeJS.WritableStream> {
  for (let attempt = 1; ; attempt++) {
    await mkdir(dirname(path), { recursive: true });
    const stream = createWriteStream(path);
    try {
      await new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve());
        stream.once('error', reject);
      });
      return stream;
    } catch (e) {
      if (codeOf(e) !== 'ENOENT' || attempt >= 5) throw e;
    }
  }
}

/** Writes `data` to `path` through a temporary file and a rename. */
async function writeAtomically(path: string, data: string): Promise<void> {
  const partial = partialOf(path);
  await writeFile(partial, data);
  await rename(partial, path);
}

/** Puts an object's files in the crash-safe order (see the module comment); `written` is its new bytes. */
async function commitObject(
  store: FilesystemStore,
  bucket: string,
  key: string,
  written: string,
  metadata: Record<string, string> | undefined,
  md5: string,
): Promise<void> {
  const objectPath = store.getResourcePath(bucket, key, 'object');
  const md5Path = store.getResourcePath(bucket, key, 'object.md5');
  await rm(md5Path, { force: true });
  if (metadata) await store.putMetadata(bucket, key, metadata);
  await rename(written, objectPath);
  await writeAtomically(md5Path, md5);
}

export function makeS3rverWritesAtomic(): void {
  const store = require('s3rver/lib/stores/filesystem') as { prototype: Record<string | symbol, unknown> };
  const proto = store.prototype;
  if (proto[ATOMIC]) return;
  const originalPutMetadata = proto.putMetadata as FilesystemStore['putMetadata'];

  // The metadata (and a given md5) through temporary files: the original's filtering of what is kept.
  proto.putMetadata = async function (
    this: FilesystemStore,
    bucket: string,
    key: string,
    metadata: Record<string, string>,
    md5?: string,
  ): Promise<void> {
    const metadataPath = this.getResourcePath(bucket, key, 'metadata.json');
    const md5Path = this.getResourcePath(bucket, key, 'object.md5');
    // The original writes in place: let it write beside the real files, then rename them into place.
    const scratch = `${randomUUID()}.partial`;
    const scratchStore = Object.create(this) as FilesystemStore;
    scratchStore.getResourcePath = (b: string, k: string, r: Resource) =>
      `${this.getResourcePath(b, k, r)}.${scratch}`;
    await originalPutMetadata.call(scratchStore, bucket, key, metadata, md5);
    if (md5) await rename(`${md5Path}.${scratch}`, md5Path);
    await rename(`${metadataPath}.${scratch}`, metadataPath);
  };

  proto.putObject = async function (this: FilesystemStore, object: S3rverObject) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const partial = partialOf(objectPath);
    const hash = createHash('md5');
    let size = 0;
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(
        source,
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        }),
        await openForWriting(partial),
      );
      const md5 = hash.digest('hex');
      await commitObject(this, object.bucket, object.key, partial, object.metadata, md5);
      return { size, md5 };
    } finally {
      await rm(partial, { force: true });
    }
  };

  proto.copyObject = async function (
    this: FilesystemStore,
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata?: Record<string, string>,
  ) {
    const src = this.getResourcePath(srcBucket, srcKey, 'object');
    const dest = this.getResourcePath(destBucket, destKey, 'object');
    if (src === dest) {
      if (replacementMetadata) await this.putMetadata(destBucket, destKey, replacementMetadata);
      return this.getMetadata(destBucket, destKey);
    }
    const md5 = JSON.parse((await this.getMetadata(srcBucket, srcKey)).etag) as string;
    const metadata =
      replacementMetadata ??
      (JSON.parse(
        await readFile(this.getResourcePath(srcBucket, srcKey, 'metadata.json'), 'utf8').catch(() => '{}'),
      ) as Record<string, string>);
    await mkdir(dirname(dest), { recursive: true });
    const partial = partialOf(dest);
    try {
      await copyFile(src, partial);
      await commitObject(this, destBucket, destKey, partial, metadata, md5);
    } finally {
      await rm(partial, { force: true });
    }
    return this.getMetadata(destBucket, destKey);
  };
  proto.deleteObject = async function (this: FilesystemStore, bucket: string, key: string) {
    for (const resource of ['object', 'object.md5', 'metadata.json'] as const) {
      await unlink(this.getResourcePath(bucket, key, resource)).catch((e: unknown) => {
        if (codeOf(e) !== 'ENOENT') throw e;
      });
    }
    // The key's directories, deepest first, while empty: a concurrent write may fill one, another delete
    // may remove one, and neither is an error.
    const bucketPath = this.getBucketPath(bucket);
    const parts = relative(bucketPath, dirname(this.getResourcePath(bucket, key, 'object')))
      .split(sep)
      .filter((p) => p !== '');
    for (; parts.length > 0; parts.pop()) {
      const dir = join(bucketPath, ...parts);
      try {
        if ((await readdir(dir)).length > 0) return;
        await rmdir(dir);
      } catch (e) {
        if (['ENOENT', 'ENOTEMPTY', 'EEXIST'].includes(codeOf(e) ?? '')) return;
        throw e;
      }
    }
  };
  proto[ATOMIC] = true;
}
const ATOMIC = Symbol.for('medallion.s3rver-atomic-writes');
