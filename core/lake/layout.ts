/**
 * Every S3 key the pipeline reads or writes is built here, so the layout of each bucket lives in one place.
 *
 *   landing     <domain>/<dataset>/<any name>                       (producers' uploads)
 *   bronze      <domain>/<dataset>/ingest_date=YYYY-MM-DD/<sha256>.<ext>
 *   silver      <domain>/<dataset>/dt=<partition>/part-<source id>.parquet    (arrivals: what each transform wrote)
 *               _manifests/<domain>/<dataset>/<source id>.json
 *               _commits/<domain>/<dataset>/<committed at>-<source id>.json  (what each commit added, by time)
 *               _history/<domain>/<dataset>/                     (history: Iceberg table <dataset>_history)
 *               _current/<domain>/<dataset>/                     (current state: Iceberg table <dataset>)
 *               _deleted/<domain>/<dataset>/                     (deleted keys: Iceberg table <dataset>_deleted)
 *               _state/current/<domain>/<dataset>.json           (how far the current state has merged)
 *   quarantine  rows/<domain>/<dataset>/<source id>.ndjson          (rejected rows)
 *               files/<domain>/<dataset>/<source id>/<name>          (rejected whole files, with .reason.json)
 *               unknown/<original key>                               (uploads for no known dataset)
 *               failed/<domain>/<dataset>/<source id>.reason.json    (why a message was dead-lettered)
 *   gold        <model>/v=<execution name>/<files>                   (one version of a model per run)
 *               <model>/_published.json                              (the versions kept, newest first)
 */
import { createHash } from 'node:crypto';
import type { DatasetContract } from '../contracts/dataset-contract';

/**
 * S3 event notifications URL-encode object keys, with '+' for a space. Decode exactly that way:
 * `decodeURIComponent` alone would leave '+' and turn an encoded '%2B' into '+', then into ' '.
 */
export function decodeEventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

/** The reverse of `decodeEventKey`: how S3 writes a key into an event. */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Why a name was refused; `undefined` when it is safe to use as one path segment. */
export function unsafeSegmentReason(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 255) return 'is longer than 255 characters';
  if (name === '.' || name === '..') return 'is a relative path segment';
  if (/[/\\]/.test(name)) return 'contains a path separator';
  if (/%/.test(name)) return 'contains a percent-encoded sequence';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains a control character';
  return undefined;
}

export type SourceFormat = 'csv' | 'ndjson' | 'json';

/** File extension of a bronze object: the format, plus .gz when the bytes are gzip. */
export function bronzeExtension(format: SourceFormat, gzip: boolean): string {
  return gzip ? `${format}.gz` : format;
}

export function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Bronze is content-addressed: the same bytes delivered twice on a day get the same key. */
export function bronzeKey(p: {
  domain: string;
  dataset: string;
  receivedAt: Date;
  sha256: string;
  extension: string;
}): string {
  return `${p.domain}/${p.dataset}/ingest_date=${isoDate(p.receivedAt)}/${p.sha256}.${p.extension}`;
}

/** Marker recording that content with this hash already landed (value: the bronze key). */
export function bronzeContentIndexKey(domain: string, dataset: string, sha256: string): string {
  return `_index/sha256/${domain}/${dataset}/${sha256}`;
}

/** Marker recording the bronze key a client's Idempotency-Key resolved to. */
export function idempotencyIndexKey(domain: string, dataset: string, idempotencyKey: string): string {
  const h = createHash('sha256').update(idempotencyKey).digest('hex');
  return `_index/idempotency/${domain}/${dataset}/${h}`;
}

/** Keys under `_` (indexes, manifests) are pipeline bookkeeping, never data. */
export function isBookkeepingKey(key: string): boolean {
  return key.startsWith('_');
}

/**
 * A stable id for a bronze object. It depends on the bucket and key only (bronze keys are
 * content-addressed and never rewritten), so a redelivered, duplicated or out-of-order event for the same
 * object maps onto the same silver files and overwrites them instead of adding copies.
 */
export function sourceId(bucket: string, key: string): string {
  return createHash('sha256').update(`${bucket}\u0000${key}`).digest('hex').slice(0, 32);
}

export function silverPartitionPrefix(domain: string, dataset: string, partition: string): string {
  return `${domain}/${dataset}/dt=${partition}/`;
}

export function silverFileKey(domain: string, dataset: string, partition: string, id: string): string {
  return `${silverPartitionPrefix(domain, dataset, partition)}part-${id}.parquet`;
}

export function manifestKey(domain: string, dataset: string, id: string): string {
  return `_manifests/${domain}/${dataset}/${id}.json`;
}

/** Where every dataset's commit log lives in the silver bucket. */
export const COMMIT_LOG_ROOT = '_commits/';

/**
 * Days a commit log entry is kept (the silver bucket's lifecycle expires older ones). A current state whose
 * watermark is older than that, less a margin, is rebuilt from the history instead of read from the log.
 */
export const COMMIT_LOG_RETENTION_DAYS = 30;

/** Prefix of the commit log of one dataset: one entry per commit, in time order. */
export function commitLogPrefix(domain: string, dataset: string): string {
  return `${COMMIT_LOG_ROOT}${domain}/${dataset}/`;
}

/**
 * One commit log entry: `<prefix><UTC time, compact ISO>-<source id>.json`, so that listing the prefix
 * (after a key) returns commits in time order.
 */
export function commitLogKey(domain: string, dataset: string, at: Date, id: string): string {
  return `${commitLogPrefix(domain, dataset)}${compactTime(at)}-${id}.json`;
}

/** The smallest commit log key at or after `at` (a `StartAfter` bound). */
export function commitLogTimeKey(domain: string, dataset: string, at: Date): string {
  return `${commitLogPrefix(domain, dataset)}${compactTime(at)}`;
}

/** `2026-12-06T09:30:00.123Z` as `20261206T093000123Z`: sorts as the time does. */
function compactTime(at: Date): string {
  return at.toISOString().replace(/[-:.]/g, '');
}

/** Location of the history (Iceberg) table of a dataset, in the silver bucket. */
export function historyPrefix(domain: string, dataset: string): string {
  return `_history/${domain}/${dataset}/`;
}

/** Location of the current-state (Iceberg) table of a dataset, in the silver bucket. */
export function currentStatePrefix(domain: string, dataset: string): string {
  return `_current/${domain}/${dataset}/`;
}

/** Location of the deleted-keys (Iceberg) table of a dataset with `deletes`, in the silver bucket. */
export function deletedKeysPrefix(domain: string, dataset: string): string {
  return `_deleted/${domain}/${dataset}/`;
}

/** How far the current state of a dataset has merged the commit log (in the silver bucket). */
export function currentStateWatermarkKey(domain: string, dataset: string): string {
  return `_state/current/${domain}/${dataset}.json`;
}

export function quarantineRowsKey(domain: string, dataset: string, id: string): string {
  return `rows/${domain}/${dataset}/${id}.ndjson`;
}

export function quarantineFileKey(domain: string, dataset: string, id: string, name: string): string {
  return `files/${domain}/${dataset}/${id}/${name}`;
}

/** Prefix of the dead-letter reasons of one dataset (for grants). */
export function failedReasonPrefix(domain: string, dataset: string): string {
  return `failed/${domain}/${dataset}/`;
}

/**
 * Why the transform of a bronze object failed on its last receive, written just before SQS moves the
 * message to the dead-letter queue (the queue keeps the message, not the error).
 */
export function failedReasonKey(domain: string, dataset: string, id: string): string {
  return `${failedReasonPrefix(domain, dataset)}${id}.reason.json`;
}

export function quarantineUnknownKey(originalKey: string): string {
  return `unknown/${originalKey}`;
}

/** Hive partition value of a date: `YYYY-MM-DD` for day granularity, `YYYY-MM` for month. */
export function partitionValue(isoDay: string, granularity: 'day' | 'month'): string {
  return granularity === 'day' ? isoDay : isoDay.slice(0, 7);
}
/** The Hive partition column of every silver table. */
export const PARTITION_KEY = 'dt';

/** The key prefix of a model in the gold bucket; each run writes a new version below it. */
export function goldModelPrefix(name: string): string {
  return `${name}/`;
}

/**
 * The placeholder location of a gold table that has never been published, `<model>/_unpublished/`: no
 * object is ever written there, so the table reads as empty until its first version.
 */
export function goldUnpublishedPrefix(name: string): string {
  return `${goldModelPrefix(name)}_unpublished/`;
}

/** The key prefix of one published version of a gold model: `<model>/v=<version>/`. */
export function goldVersionPrefix(name: string, version: string): string {
  return `${goldModelPrefix(name)}v=${version}/`;
}

/**
 * The state of an incremental gold model, `<model>/_incremental.json`: its partitions' locations and how
 * far it consumed its sources' commit logs (core/gold/incremental-plan.ts).
 */
export function goldIncrementalStateKey(name: string): string {
  return `${goldModelPrefix(name)}_incremental.json`;
}

/**
 * The registry of a gold model's published versions, `<model>/_published.json`: the versions retention
 * keeps, newest first (core/gold/retention.ts). Outside every `v=` prefix, so no version ever holds it.
 */
export function goldPublishedRegistryKey(name: string): string {
  return `${goldModelPrefix(name)}_published.json`;
}

/** A stand-in for the variable part of a key (an id), cut off to leave the prefix. */
const PART = '\u0000';

/** The prefix of a key built with `PART` as its variable part (or its last segment, when hashed). */
function prefixOf(key: string): string {
  const at = key.indexOf(PART);
  return at >= 0 ? key.slice(0, at) : key.slice(0, key.lastIndexOf('/') + 1);
}

/** What names a dataset in the layout. */
export type DatasetRef = Pick<DatasetContract, 'domain' | 'dataset' | 'id'>;

/** Key prefixes of one dataset, per bucket. */
export const datasetPrefixes = {
  /** `<domain>/<dataset>/`: the dataset's data, in landing, bronze and silver alike. */
  data: (c: DatasetRef) => `${c.id}/`,
  bronzeContentIndex: (c: DatasetRef) => bronzeContentIndexKey(c.domain, c.dataset, ''),
  bronzeIdempotencyIndex: (c: DatasetRef) => prefixOf(idempotencyIndexKey(c.domain, c.dataset, PART)),
  silverManifests: (c: DatasetRef) => prefixOf(manifestKey(c.domain, c.dataset, PART)),
  silverCommitLog: (c: DatasetRef) => commitLogPrefix(c.domain, c.dataset),
  history: (c: DatasetRef) => historyPrefix(c.domain, c.dataset),
  currentState: (c: DatasetRef) => currentStatePrefix(c.domain, c.dataset),
  deletedKeys: (c: DatasetRef) => deletedKeysPrefix(c.domain, c.dataset),

  quarantineRows: (c: DatasetRef) => prefixOf(quarantineRowsKey(c.domain, c.dataset, PART)),
  quarantineFiles: (c: DatasetRef) => prefixOf(quarantineFileKey(c.domain, c.dataset, PART, 'f')),
};

/** A dataset-prefix function of {@link datasetPrefixes} (or any `(domain, dataset) -> prefix`). */
type DatasetPrefix = (c: DatasetRef) => string;

/**
 * The prefix holding that kind of key for every dataset of a domain: the dataset prefix cut where the
 * dataset name starts (`<domain>/<dataset>/` -> `<domain>/`, `_manifests/<domain>/<dataset>/` ->
 * `_manifests/<domain>/`). Domains and datasets are identifiers (no '/'), so a domain prefix never holds
 * another domain's keys.
 */
export function domainPrefix(prefixOfDataset: DatasetPrefix, domain: string): string {
  const key = prefixOfDataset({ domain, dataset: PART, id: `${domain}/${PART}` });
  // A prefix built with `prefixOf` is already cut at the dataset.
  const at = key.indexOf(PART);
  const prefix = at < 0 ? key : key.slice(0, at);
  if (!prefix.endsWith(`${domain}/`))
    throw new Error(`the dataset prefix ${JSON.stringify(key)} does not end with its domain`);
  return prefix;
}

/** Every dataset prefix of `kind` for these domains (see {@link domainPrefix}), one per domain. */
export function domainPrefixes(prefixOfDataset: DatasetPrefix, domains: readonly string[]): string[] {
  return domains.map((d) => domainPrefix(prefixOfDataset, d));
}

/** The domains of these contracts, sorted, each once. */
export function lakeDomains(contracts: readonly Pick<DatasetContract, 'domain'>[]): string[] {
  return [...new Set(contracts.map((c) => c.domain))].sort();
}

/** Where uploads that no contract claims are moved, in the quarantine bucket. */
export const QUARANTINE_UNKNOWN_PREFIX = quarantineUnknownKey('');
