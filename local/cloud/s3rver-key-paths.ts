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
 * Listings map paths back with the inverse. A prefix whose mapping is not a plain prefix of its keys'
 * paths (it ends inside an escaped or cut segment) is listed from its bucket and filtered. Installed once
 * per process.
 */

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
  // Objects' paths; a bucket's own resources (key '') stay where s3rver keeps them. The static
  // `encodeKeyPath` stays as it is: listings use it on prefixes, which they only prune by when plain.
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
  const original = store.prototype.listObjects as (
    bucket: string,
    options: ListOptions,
  ) => Promise<ListedKeys<{ key: string }>>;
  store.prototype.listObjects = async function (this: unknown, bucket: string, options: ListOptions) {
    const prefix = options.prefix ?? '';
    const startAfter = options.startAfter ?? '';
    if (isPlainPrefix(prefix) && isPlainPrefix(startAfter)) return original.call(this, bucket, options);
    // The walk prunes directories by the prefix and the start as paths: list the bucket, then filter.
    const all = await original.call(this, bucket, {
      ...options,
      prefix: '',
      startAfter: '',
      maxKeys: Number.POSITIVE_INFINITY,
      delimiter: '',
    });
    const ordered = [...all.objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return listingPage(ordered, options);
  };
  store.prototype[SAFE_KEYS] = true;
}
const SAFE_KEYS = Symbol.for('medallion.s3rver-safe-keys');
