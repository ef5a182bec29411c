/**
 * S3 objects downloaded to local files, for an engine that cannot read s3:// (DuckDB against the local S3
 * server). Objects are kept under `<dir>/<bucket>/<key>` and remembered by ETag (in memory, and in
 * `<dir>-etags/<bucket>/<key>` for the next run): an object already cached with the ETag a listing gives
 * is not fetched again, in this run (every model reads the same silver) or the next (an incremental run
 * reads the current state the last run downloaded). `prune` drops what a run did not read, so the cache
 * holds one run's inputs, not every file ever read.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
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
  /** The local files this cache served (what `prune` keeps). */
  private readonly served = new Set<string>();
  /** Where each file's ETag is recorded (a tree of its own: no object key can collide with a record). */
  private readonly etagDir: string;

  constructor(
    private readonly s3: S3Client,
    /** Where the files are kept. */
    private readonly dir: string,
  ) {
    this.etagDir = `${dir}-etags`;
  }

  /** The local file of `<bucket>/<key>`. */
  path(bucket: string, key: string): string {
    return join(this.dir, bucket, ...key.split('/'));
  }

  /** The ETag the cached file of `<bucket>/<key>` was downloaded with (this run, or recorded by another). */
  private cachedETag(bucket: string, key: string, path: string): string | undefined {
    const cachedAs = `${bucket}/${key}`;
    const known = this.cachedETags.get(cachedAs);
    if (known !== undefined) return known;
    const record = join(this.etagDir, relative(this.dir, path));
    if (!existsSync(record) || !existsSync(path)) return undefined;
    const etag = readFileSync(record, 'utf8');
    this.cachedETags.set(cachedAs, etag);
    return etag;
  }

  /**
   * Deletes the cached files (and their ETag records) this cache did not serve: after a run, the cache
   * holds what that run read. Returns how many files it deleted.
   */
  prune(): number {
    let deleted = 0;
    const walk = (dir: string): void => {
      if (!existsSync(dir)) return;
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (!this.served.has(path)) {
          rmSync(path, { force: true });
          rmSync(join(this.etagDir, relative(this.dir, path)), { force: true });
          deleted += 1;
        }
      }
    };
    walk(this.dir);
    return deleted;
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
        if (o.etag === undefined || this.cachedETag(bucket, o.key, path) !== o.etag) {
          const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.key }));
          mkdirSync(dirname(path), { recursive: true });
          // The record goes first, so a file replaced below is never taken for the version it names.
          const record = join(this.etagDir, relative(this.dir, path));
          rmSync(record, { force: true });
          // Queries of one wave run at once and read the same objects: a file is replaced by a rename, never
          // rewritten in place, so a query never reads a file another one is still writing (a reader keeps
          // the complete version it opened).
          const partial = `${path}.${randomUUID()}.partial`;
          writeFileSync(partial, Buffer.from((await out.Body?.transformToByteArray()) ?? []));
          renameSync(partial, path);
          if (out.ETag) {
            this.cachedETags.set(cachedAs, out.ETag);
            mkdirSync(dirname(record), { recursive: true });
            const partialRecord = `${record}.${randomUUID()}.partial`;
            writeFileSync(partialRecord, out.ETag);
            renameSync(partialRecord, record);
          }
        }
        this.served.add(path);
        paths.push(path);
      }
    };
    await Promise.all(Array.from({ length: FETCH_CONCURRENCY }, worker));
    return paths.sort();
  }
}
