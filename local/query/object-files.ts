/**
 * The local buckets as files: s3rver keeps each object as `<state>/s3/<bucket>/<key path>._S3rver_object`
 * (the key mapped to a path by `s3rver-key-paths.ts`, ordinary keys as they are), next to
 * `._S3rver_metadata.json` and `.md5` siblings. `medallion query` reads these files directly, so the local
 * cloud need not run (DuckDB's httpfs is not built in: reading through the S3 API would mean downloading
 * first anyway).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { encodeKeyPath } from '../cloud/s3rver-key-paths';

/** The suffix of the file holding an object's bytes. */
export const OBJECT_SUFFIX = '._S3rver_object';

/** The file of the object at an `s3://bucket/key` URI (undefined for any other URI). */
export function objectFileOfUri(s3Dir: string, uri: string): string | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  return m ? objectFile(s3Dir, m[1], m[2]) : undefined;
}

/** The file of an object. */
export function objectFile(s3Dir: string, bucket: string, key: string): string {
  return join(s3Dir, bucket, `${encodeKeyPath(key)}${OBJECT_SUFFIX}`);
}

/** The directory of an `s3://bucket/prefix/` location (undefined for any other URI). */
export function locationDir(s3Dir: string, location: string): string | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  return m ? join(s3Dir, m[1], m[2].replace(/\/+$/, '')) : undefined;
}

/** A glob of every object under a directory, at any depth. */
export function objectsGlob(dir: string): string {
  return `${dir}/**/*${OBJECT_SUFFIX}`;
}

/** Whether a directory holds an object, at any depth. */
export function hasObjects(dir: string): boolean {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return false;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(OBJECT_SUFFIX)) return true;
    if (entry.isDirectory() && hasObjects(join(dir, entry.name))) return true;
  }
  return false;
}

/**
 * The object files under a directory, sorted; only what Athena reads as data: none below a file or
 * directory whose name starts with `_` or `.`.
 */
export function dataObjectFiles(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('_') || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...dataObjectFiles(path));
    else if (entry.isFile() && entry.name.endsWith(OBJECT_SUFFIX)) out.push(path);
  }
  return out.sort();
}
