/**
 * Where s3rver keeps an object: `<bucket dir>/<key>._S3rver_object`, the key taken as a path as it is.
 * S3 allows any UTF-8 key up to 1,024 bytes, so `..` segments wrote outside the state directory, an empty
 * segment (`a//b`) collided with `a/b`, and a segment longer than the filesystem's 255-byte name limit
 * failed with ENAMETOOLONG. This patch of its FilesystemStore maps every key to a path inside its bucket's
 * directory, one to one, and leaves ordinary keys as they were (so tools that read the state directory,
 * and existing state, keep working):
 *
 *  - `&` starts an escape, so a literal `&` is written `&26`;
 *  - a segment that is empty, `.` or `..` is written `&`, `&2e`, `&2e&2e`;
 *  - a segment longer than {@link MAX_SEGMENT_BYTES} (after escaping) is cut into chunks at character
 *    boundaries, each but the last ending in `&-` (a directory level of its own).
 *
 * Listings are answered here too, whole, in place of s3rver's (see {@link listStoredObjects}): paths are
 * mapped back with the inverse, keys put in S3's order, and a walk that meets files being renamed or
 * deleted carries on. Installed once per process.
 */

import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type ListedKeys, type ListOptions, listingPage } from './s3rver-listing-page';

/**
 * Bytes of one path segment: the filesystem's 255 less the longest name s3rver and our atomic writes add
 * to it (`._S3rver_object.md5`, then `.<uuid>.partial`).
 */
export const MAX_SEGMENT_BYTES = 180;

const escapeAmpersands = (segment: string) => segment.replace(/&/g, '&26');

/** The path segments (joined with '/') of one key segment. */
function encodeSegment(segment: string): string {
  if (segment === '') return '&';
  if (segment === '.') return '&2e';
  if (segment === '..') return '&2e&2e';
  const escaped = escapeAmpersands(segment);
  if (Buffer.byteLength(escaped) <= MAX_SEGMENT_BYTES) return escaped;
  const chunks: string[] = [];
  let chunk = '';
  // Characters, not bytes, and never inside an escape: `&26` stays whole.
  for (const piece of escaped.match(/&26|[\s\S]/gu) ?? []) {
    if (Buffer.byteLength(chunk + piece) > MAX_SEGMENT_BYTES - 2) {
      chunks.push(`${chunk}&-`);
      chunk = '';
    }
    chunk += piece;
  }
  chunks.push(chunk);
  return chunks.join('/');
}

/** A key as a relative path inside its bucket's directory. */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeSegment).join('/');
}

/** The key of a relative path made by {@link encodeKeyPath}. */
export function decodeKeyPath(path: string): string {
  return path
    .replace(/&-\//g, '')
    .split('/')
    .map((segment) => (segment === '&' ? '' : segment.replace(/&2e/g, '.').replace(/&26/g, '&')))
    .join('/');
}

/**
 * Whether a listing may prune its walk by `prefix` as it is: every complete segment maps to itself and
 * the last, partial one is a plain prefix of its keys' first path segment.
 */
export function isPlainPrefix(prefix: string): boolean {
  const segments = prefix.split('/');
  const last = segments.pop() ?? '';
  return (
    segments.every((s) => s !== '' && encodeSegment(s) === s) &&
    !last.includes('&') &&
    last !== '.' &&
    last !== '..' &&
    Buffer.byteLength(last) <= MAX_SEGMENT_BYTES - 2
  );
}

export function mapS3rverKeysSafely(): void {
  const store = require('s3rver/lib/stores/filesystem') as {
    decodeKeyPath: (path: string) => string;
    prototype: Record<string | symbol, unknown>;
  };
  if (store.prototype[SAFE_KEYS]) return;
  const originalPath = store.prototype.getResourcePath as (
    bucket: string,
    key?: string,
    resource?: string,
  ) => string;
  // Objects' paths; a bucket's own resources (key '') stay where s3rver keeps them.
  store.prototype.getResourcePath = function (
    this: { rootDirectory: string },
    bucket: string,
    key = '',
    resource?: string,
  ): string {
    if (key === '') return originalPath.call(this, bucket, key, resource);
    const parts = encodeKeyPath(key).split('/');
    const name = `${parts.pop()}._S3rver_${resource}`;
    return join(this.rootDirectory, bucket, ...parts, name);
  };
  store.decodeKeyPath = decodeKeyPath;
  // In place of s3rver's listing and of any patch of it installed before (the nested common prefixes).
  store.prototype.listObjects = function (this: ListingStore, bucket: string, options: ListOptions) {
    return listStoredObjects(this, bucket, options);
  };
  store.prototype[SAFE_KEYS] = true;
}
const SAFE_KEYS = Symbol.for('medallion.s3rver-safe-keys');

/** The part of s3rver's FilesystemStore a listing uses. */
interface ListingStore {
  getBucketPath(bucket: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
}
type S3rverObjectModel = new (
  bucket: string,
  key: string,
  content: null,
  metadata: Record<string, string>,
) => { key: string };

/** The suffix of an object's file: its `.md5`, its metadata and temporary files end otherwise. */
const OBJECT_SUFFIX = '._S3rver_object';

const codeOf = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code;

/**
 * The keys stored in a bucket's directory that a listing from `prefix` after `startAfter` may show, in
 * no order. s3rver's walk did `readdirSync`, then `statSync` of each entry: a temporary file renamed into
 * place or a directory removed by a delete in between failed the whole listing with ENOENT (a 500), and
 * it blocked the server's event loop for the whole walk. This one reads each directory once,
 * asynchronously, and takes the entry types `readdir` reports: what vanishes between two reads is just
 * not listed. Like s3rver's, it does not read the directories whose keys all lie outside the prefix or
 * before the start, when it can tell from their paths.
 */
async function storedKeys(bucketPath: string, prefix: string, startAfter: string): Promise<string[]> {
  const prunesByPrefix = isPlainPrefix(prefix);
  const mayHoldListedKeys = (dir: string): boolean => {
    const under = `${dir}/`;
    if (prunesByPrefix && !under.startsWith(prefix) && !prefix.startsWith(under)) return false;
    // A directory without escapes holds keys starting `<dir>/`: all before the start when that is.
    return dir.includes('&') || startAfter.startsWith(under) || under > startAfter;
  };
  const keys: string[] = [];
  const visit = async (relativeDir: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(join(bucketPath, relativeDir), { withFileTypes: true });
    } catch (e) {
      // Removed since its parent was read, or (an entry of unknown type) not a directory.
      if (codeOf(e) === 'ENOENT' || codeOf(e) === 'ENOTDIR') return;
      throw e;
    }
    const below: Promise<void>[] = [];
    for (const entry of entries) {
      const path = relativeDir ? `${relativeDir}/${entry.name}` : entry.name;
      if (entry.name.endsWith(OBJECT_SUFFIX) && !entry.isDirectory()) {
        keys.push(decodeKeyPath(path.slice(0, -OBJECT_SUFFIX.length)));
      } else if (!entry.isFile() && mayHoldListedKeys(path)) {
        below.push(visit(path));
      }
    }
    await Promise.all(below);
  };
  await visit('');
  return keys;
}

const inKeyOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A ListObjectsV2 page, as S3 answers it: the stored keys in key order (s3rver listed them in the order
 * of its walk, where `c/7-copy` and `c/7/x` come before `c/7`, so pages skipped or repeated keys), folded
 * by the delimiter into common prefixes however deep their objects lie, cut at `maxKeys` keys (common
 * prefixes are not counted, as in s3rver). Only the page's objects are read for their metadata; one
 * deleted since the walk is left out and the page formed again without it (reading only the objects that
 * join it: under a stream of deletes, reading the whole page again would never end).
 */
async function listStoredObjects(
  store: ListingStore,
  bucket: string,
  options: ListOptions,
): Promise<ListedKeys<{ key: string }>> {
  const S3Object = require('s3rver/lib/models/object') as S3rverObjectModel;
  const stored = await storedKeys(
    store.getBucketPath(bucket),
    options.prefix ?? '',
    options.startAfter ?? '',
  );
  let ordered = stored.sort(inKeyOrder);
  const metadataOf = new Map<string, Record<string, string>>();
  for (;;) {
    const page = listingPage(
      ordered.map((key) => ({ key })),
      options,
    );
    const unread = page.objects.map(({ key }) => key).filter((key) => !metadataOf.has(key));
    const gone = new Set<string>();
    await Promise.all(
      unread.map(async (key) => {
        try {
          metadataOf.set(key, await store.getMetadata(bucket, key));
        } catch (e) {
          if (codeOf(e) !== 'ENOENT') throw e;
          gone.add(key);
        }
      }),
    );
    if (gone.size === 0) {
      return {
        ...page,
        objects: page.objects.map(({ key }) => new S3Object(bucket, key, null, metadataOf.get(key) ?? {})),
      };
    }
    ordered = ordered.filter((key) => !gone.has(key));
  }
}
