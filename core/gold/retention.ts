/**
 * Retention of gold model versions. Each gold run writes every model to a new `<model>/v=<execution name>/`
 * prefix and points the model's table at it; nothing else ever removes a version. After a run published
 * its models, the version janitor keeps the newest K published versions of each (the one the table reads,
 * and K-1 before it for queries still reading them) and deletes every other version prefix: older published
 * ones and those of runs that failed before publishing.
 *
 * Which versions were published is not visible in the bucket (a failed run's prefix looks like any other),
 * so each model has a small registry, `<model>/_published.json` (`goldPublishedRegistryKey`), newest first.
 * The janitor writes it before deleting anything, so a deletion cut short is finished by the next run.
 */
import { goldModelPrefix, unsafeSegmentReason } from '../lake/layout';

/** `<model>/_published.json`: the versions of one model retention keeps, newest first. */
export interface PublishedRegistry {
  readonly published: readonly string[];
}

/** The version directories' marker: `<model>/v=<version>/`. */
const VERSION_MARKER = 'v=';

/**
 * A registry read from the bucket, checked: an unreadable one must stop retention rather than read as
 * empty, which would delete every version but the newest. `where` names the object in the message.
 */
export function parsePublishedRegistry(value: unknown, where: string): PublishedRegistry {
  const published = (value as { published?: unknown } | null | undefined)?.published;
  if (!Array.isArray(published) || !published.every((v) => typeof v === 'string' && v !== '')) {
    throw new Error(`${where}: not a published-versions registry ({ "published": ["<version>", ...] })`);
  }
  return { published: [...published] };
}

/**
 * The registry once `version` was published: `version` first (moved there, not repeated, when already
 * listed), then the versions before it, `keep` entries at most.
 */
export function recordPublished(
  registry: PublishedRegistry | undefined,
  version: string,
  keep: number,
): PublishedRegistry {
  if (!Number.isSafeInteger(keep) || keep < 1) {
    throw new RangeError(`versions kept must be a positive integer, got ${keep}`);
  }
  const earlier = (registry?.published ?? []).filter((v) => v !== version);
  return { published: [version, ...earlier].slice(0, keep) };
}

/**
 * The version of `model` a listed prefix holds: `<model>/v=<version>/` with `<version>` a safe path
 * segment; `undefined` for anything else (`_unpublished/`, other directories, another model's keys).
 */
export function versionOfPrefix(model: string, prefix: string): string | undefined {
  const head = `${goldModelPrefix(model)}${VERSION_MARKER}`;
  if (!prefix.startsWith(head) || !prefix.endsWith('/')) return undefined;
  const version = prefix.slice(head.length, -1);
  return unsafeSegmentReason(version) === undefined ? version : undefined;
}

/**
 * The version prefixes of `model` to delete: every `<model>/v=<version>/` among `versionPrefixes` whose
 * version the registry does not keep, so older published versions beyond K as well as those of runs that
 * never published. Anything that is not a version prefix of `model` is never returned. Sorted.
 *
 * An empty registry is refused: every version would go, including the one the table reads.
 */
export function versionsToDelete(p: {
  readonly model: string;
  readonly versionPrefixes: readonly string[];
  readonly registry: PublishedRegistry;
}): string[] {
  if (p.registry.published.length === 0) {
    throw new Error(`gold model ${p.model}: no published version recorded, refusing to delete its versions`);
  }
  const kept = new Set(p.registry.published);
  return [...new Set(p.versionPrefixes)]
    .filter((prefix) => {
      const version = versionOfPrefix(p.model, prefix);
      return version !== undefined && !kept.has(version);
    })
    .sort();
}
