/**
 * S3 objects downloaded to local files, for an engine that cannot read s3:// (DuckDB against the local S3
 * server). Objects are kept under `<dir>/<bucket>/<key>` and remembered by ETag: an object already cached
 * with the ETag a listing gives is not fetched again (every model of a gold run reads the same silver).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** An object as a listing names it; without an ETag it is always fetched. */
export interface ListedObject {
  readonly key: string;
  readonly etag?: string;
}

/** Objects downloaded at once into the cache (the local S3 server answers each in its own request). */
const FETCH_CONCURRENCY = 4;

export class ObjectCache {
  /** ETag of each object in the download cache, by `<bucket>/<key>`. */
  private readonly cachedETags = new Map<string, string>();

  constructor(
    private readonly s3: S3Client,
    /** Where the files are kept. */
    private readonly dir: string,
  ) {}

  /** The local file of `<bucket>/<key>`. */
  path(bucket: string, key: string): string {
    return join(this.dir, bucket, ...key.split('/'));
  }

  /**
   * Downloads the objects of `bucket` that are not cached with their listed ETag; the local paths of all
   * of them, sorted.
   */
  async fetch(bucket: string, objects: readonly ListedObject[]): Promise<string[]> {
    const paths: string[] = [];
    const queue = [...objects];
    const worker = async (): Promise<void> => {
      for (let o = queue.shift(); o; o = queue.shift()) {
        const path = this.path(bucket, o.key);
        const cachedAs = `${bucket}/${o.key}`;
        if (o.etag === undefined || this.cachedETags.get(cachedAs) !== o.etag) {
          const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.key }));
          mkdirSync(dirname(path), { recursive: true });
          // Queries of one wave run at once and read the same objects: a file is replaced by a rename, never
          // rewritten in place, so a query never reads a file another one is still writing (a reader keeps
          // the complete version it opened).
          const partial = `${path}.${randomUUID()}.partial`;
          writeFileSync(partial, Buffer.from((await out.Body?.transformToByteArray()) ?? []));
          renameSync(partial, path);
          if (out.ETag) this.cachedETags.set(cachedAs, out.ETag);
        }
        paths.push(path);
      }
    };
    await Promise.all(Array.from({ length: FETCH_CONCURRENCY }, worker));
    return paths.sort();
  }
}
