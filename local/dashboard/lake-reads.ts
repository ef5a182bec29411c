/**
 * What the local dashboard reads from the lake itself, not from events: the silver manifests (one per
 * transformed bronze object, see `core/lake/manifest.ts`), a bronze object's original file name, and the
 * gold models' published versions (`<model>/_published.json`, each version being one gold run).
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parsePublishedRegistry } from '../../core/gold/retention';
import { goldPublishedRegistryKey, manifestKey, sourceId } from '../../core/lake/layout';
import type { Manifest } from '../../core/lake/manifest';
import { getJson, isNotFound, listDirectories, listObjects, recoverWhen } from '../../lambdas/aws/s3';
import type { GoldRunPublished, TransformedFile } from './activity';

/** Where silver keeps the manifests (`_manifests/<domain>/<dataset>/<source id>.json`). */
const MANIFESTS_PREFIX = '_manifests/';

/** `<domain>/<dataset>` of a bronze key (`<domain>/<dataset>/ingest_date=.../<sha256>.<ext>`). */
export function datasetOfBronzeKey(key: string): { domain: string; dataset: string } {
  const [domain = '', dataset = ''] = key.split('/');
  return { domain, dataset };
}

/** The manifest of a bronze object, or undefined when it has none (not transformed, or rolled back). */
export function readManifest(
  s3: S3Client,
  buckets: { bronze: string; silver: string },
  bronzeKey: string,
): Promise<Manifest | undefined> {
  const { domain, dataset } = datasetOfBronzeKey(bronzeKey);
  const key = manifestKey(domain, dataset, sourceId(buckets.bronze, bronzeKey));
  return getJson<Manifest>(s3, buckets.silver, key);
}

/**
 * The keys of the manifests written since `sinceMs`, newest first, `limit` at most: what the dashboard
 * shows of the state's past (a CloudWatch dashboard shows a day by default).
 */
export async function recentManifestKeys(
  s3: S3Client,
  silverBucket: string,
  sinceMs: number,
  limit: number,
): Promise<string[]> {
  const found: { key: string; at: number }[] = [];
  for await (const o of listObjects(s3, silverBucket, MANIFESTS_PREFIX)) {
    const at = o.LastModified?.getTime() ?? 0;
    if (o.Key?.endsWith('.json') && at >= sinceMs) found.push({ key: o.Key, at });
  }
  return found
    .sort((a, b) => b.at - a.at)
    .slice(0, limit)
    .map((f) => f.key);
}

/** A manifest read by key (undefined when it went away or cannot be read). */
export async function manifestAt(s3: S3Client, silverBucket: string, key: string) {
  try {
    return await getJson<Manifest>(s3, silverBucket, key);
  } catch {
    return undefined; // torn or foreign: not worth a dashboard error
  }
}

/** The transform's outcome as the dashboard and the lines show it. */
export function transformedFrom(
  m: Manifest,
  name: string,
  extra: { lagMs?: number; at?: number } = {},
): TransformedFile {
  return {
    kind: 'transformed',
    at: extra.at ?? (Date.parse(m.finishedAt) || Date.now()),
    domain: m.domain,
    dataset: m.dataset,
    name,
    bronzeKey: m.source.key,
    status: m.status,
    ...(m.reason === undefined ? {} : { reason: m.reason }),
    rows: m.rows,
    quarantinedByReason: m.quarantinedByReason ?? {},
    ...(extra.lagMs === undefined ? {} : { lagMs: extra.lagMs }),
    ...(m.source.bytes === undefined ? {} : { bytes: m.source.bytes }),
  };
}

/**
 * `<domain>/<dataset>/<original file name>` of a bronze object (its `original-name` metadata, the name
 * the producer uploaded or gave the API); the bronze key itself when the object has no such name.
 */
export async function bronzeDisplayName(s3: S3Client, bronzeBucket: string, key: string): Promise<string> {
  const { domain, dataset } = datasetOfBronzeKey(key);
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bronzeBucket, Key: key }));
    const original = head.Metadata?.['original-name'];
    if (original) return `${domain}/${dataset}/${safeDecode(original)}`;
  } catch {
    // gone or unreadable: the key still names it
  }
  return key;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The gold runs that published something, newest first: each version listed in a model's
 * `_published.json` is a run (its execution name) that published that model.
 */
export async function publishedGoldRuns(s3: S3Client, goldBucket: string): Promise<GoldRunPublished[]> {
  const models = await recoverWhen(listDirectories(s3, goldBucket, ''), isNotFound, [] as string[]);
  const runs = new Map<string, { models: string[]; at: number }>();
  for (const prefix of models) {
    const model = prefix.slice(0, -1);
    let registry: { published: readonly string[] } | undefined;
    try {
      const value = await getJson<unknown>(s3, goldBucket, goldPublishedRegistryKey(model));
      registry = value === undefined ? undefined : parsePublishedRegistry(value, model);
    } catch {
      continue; // being written, or not a registry: the next poll reads it
    }
    for (const version of registry?.published ?? []) {
      const run = runs.get(version) ?? { models: [], at: executionTime(version) };
      run.models.push(model);
      runs.set(version, run);
    }
  }
  return [...runs.entries()]
    .map(
      ([execution, r]): GoldRunPublished => ({
        kind: 'gold-run',
        at: r.at,
        execution,
        models: r.models.sort(),
      }),
    )
    .sort((a, b) => b.at - a.at || b.execution.localeCompare(a.execution));
}

/** When a local execution named `local-<compact UTC time>` started (0 when the name says nothing). */
export function executionTime(execution: string): number {
  const m = /(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(execution);
  if (!m) return 0;
  const [, y, mo, d, h, mi, s, ms] = m;
  return Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`) || 0;
}
