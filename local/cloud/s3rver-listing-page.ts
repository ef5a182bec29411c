/**
 * One page of a ListObjectsV2 answer, as S3 forms it, from keys in order: those under the prefix and
 * after the start, each key holding the delimiter after the prefix folded into its common prefix, at most
 * `maxKeys` keys (as in s3rver, common prefixes are not counted). Shared by the listing patches of s3rver.
 */
export type ListOptions = { delimiter?: string; prefix?: string; startAfter?: string; maxKeys?: number };
export type ListedKeys<T extends { key: string }> = {
  objects: T[];
  commonPrefixes: string[];
  isTruncated: boolean;
};

export function listingPage<T extends { key: string }>(
  ordered: readonly T[],
  options: ListOptions,
): ListedKeys<T> {
  const { delimiter = '', prefix = '', startAfter = '', maxKeys = Number.POSITIVE_INFINITY } = options;
  const objects: T[] = [];
  const commonPrefixes = new Set<string>();
  let isTruncated = false;
  for (const object of ordered) {
    if (!object.key.startsWith(prefix) || object.key <= startAfter) continue;
    const at = delimiter ? object.key.indexOf(delimiter, prefix.length) : -1;
    if (at >= 0) {
      const common = object.key.slice(0, at + delimiter.length);
      if (common > startAfter) commonPrefixes.add(common);
    } else if (objects.length < maxKeys) objects.push(object);
    else {
      isTruncated = true;
      break;
    }
  }
  return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
}
