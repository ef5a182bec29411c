/**
 * The manifests of one silver bucket: the commit record of each bronze object (read at the start of a run,
 * written last), and the deletion of outputs a re-run no longer produces.
 *
 * A manifest is written conditionally: created only if absent (`If-None-Match: *`), or replacing only the
 * object the run read (`If-Match: <its ETag>`), so of two attempts that commit one source at once exactly
 * one wins and the other learns it. A manifest that cannot be read (not JSON, or not a manifest: a write
 * cut short, an edit by hand) is taken as absent, never as a reason to fail: the file is transformed
 * again and the new manifest replaces the broken one (`If-Match` of its ETag).
 */

import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { errorMessage } from '../../core/errors';
import { commitLogKey, manifestKey } from '../../core/lake/layout';
import type { Manifest } from '../../core/lake/manifest';
import type { CommitEntry } from '../../core/silver/current-state-plan';
import { isPreconditionFailed, putJson, readObjectTextAndETag, recoverWhen } from '../aws/s3';

/** What one attempt produced: a manifest before its timings and engine are stamped on. */
export type ManifestOutcome = Omit<Manifest, 'startedAt' | 'finishedAt' | 'durationsMs' | 'engine'>;

/** The dataset a manifest belongs to. */
export type DatasetRef = Pick<DatasetContract, 'domain' | 'dataset'>;

/** What a manifest key holds. */
export interface StoredManifest {
  /** The manifest key (in the silver bucket). */
  readonly key: string;
  /** The committed manifest; `undefined` when there is none, or none that can be read. */
  readonly manifest: Manifest | undefined;
  /** The ETag of the object under the key, readable or not; `undefined` when there is no object. */
  readonly etag: string | undefined;
  /** Why the object there is not a manifest (it then counts as absent). */
  readonly problem?: string;
}

export interface ManifestBuckets {
  readonly silverBucket: string;
  readonly quarantineBucket: string;
}

export class ManifestStore {
  constructor(
    private readonly s3: S3Client,
    private readonly buckets: ManifestBuckets,
  ) {}

  /**
   * What is stored under source `id`'s manifest key: the committed manifest, or none (never written, or
   * unreadable, then with the problem), with the ETag of the object either way.
   */
  async read(contract: DatasetRef, id: string, signal?: AbortSignal): Promise<StoredManifest> {
    const key = manifestKey(contract.domain, contract.dataset, id);
    const stored = await readObjectTextAndETag(this.s3, this.buckets.silverBucket, key, signal);
    if (!stored) return { key, manifest: undefined, etag: undefined };
    const parsed = parseManifest(stored.text);
    return typeof parsed === 'string'
      ? { key, manifest: undefined, etag: stored.etag, problem: parsed }
      : { key, manifest: parsed, etag: stored.etag };
  }

  /**
   * Commits `manifest` as source `id`'s: replacing the object of ETag `replacing` (what `read` found, a
   * readable manifest or not), or, with none, only if no manifest exists. False, with nothing written,
   * when that condition failed: another attempt committed in the meantime.
   */
  write(
    contract: DatasetRef,
    id: string,
    manifest: Manifest,
    replacing: string | undefined,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const condition = replacing === undefined ? { IfNoneMatch: '*' } : { IfMatch: replacing };
    const put = putJson(
      this.s3,
      this.buckets.silverBucket,
      manifestKey(contract.domain, contract.dataset, id),
      manifest,
      signal,
      condition,
    ).then(() => true);
    return recoverWhen(put, isPreconditionFailed, false);
  }

  /**
   * Appends the commit to the dataset's commit log, after its manifest: the current-state merge reads the
   * log after its watermark to find the history files added since it last ran. Files that wrote no silver
   * rows add no entry. The key names the time of this write, so a retried commit gets an entry of its own.
   */
  async logCommit(
    contract: DatasetRef,
    id: string,
    manifest: Manifest,
    at: Date,
    signal?: AbortSignal,
    previous?: Manifest,
  ) {
    // A re-run names the partitions its previous run wrote and this one no longer does too: the history
    // drops the rows it held there (see core/silver/history-append.ts).
    const partitions = new Set([...manifest.outputs, ...(previous?.outputs ?? [])].map((o) => o.partition));
    if (partitions.size === 0) return;
    const entry: CommitEntry = {
      sourceId: id,
      bronzeKey: manifest.source.key,
      partitions: [...partitions].sort(),
      rows: manifest.rows.out,
      committedAt: at.toISOString(),
      ...(previous ? { rerun: true } : {}),
    };
    await putJson(
      this.s3,
      this.buckets.silverBucket,
      commitLogKey(contract.domain, contract.dataset, at, id),
      entry,
      signal,
    );
  }

  /** A re-run that produced fewer partitions (or a file now quarantined) must not leave old files readable. */
  async deleteStale(
    previous: Manifest | undefined,
    current: Manifest,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (!previous) return;
    const keep = new Set(current.outputs.map((o) => o.key));
    const stale = previous.outputs.filter((o) => !keep.has(o.key));
    if (previous.quarantine?.rows !== undefined && current.quarantine?.key !== previous.quarantine.key) {
      stale.push({ key: previous.quarantine.key, partition: '', rows: 0, bytes: 0, sha256: '' });
    }
    for (const o of stale) {
      const bucket = o.partition === '' ? this.buckets.quarantineBucket : this.buckets.silverBucket;
      await this.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.key }), { abortSignal: signal });
    }
  }
}

/**
 * `text` as a manifest, or why it is not one: not JSON, or JSON without the fields readers rely on (what
 * it counts, the files it lists). Timings and the engine are informational and not checked.
 */
export function parseManifest(text: string): Manifest | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return `not JSON (${errorMessage(e)})`;
  }
  const problem = manifestShapeProblem(value);
  return problem === undefined ? (value as Manifest) : `not a manifest: ${problem}`;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** The first field of `v` that is missing or of the wrong type, or `undefined` when it is a manifest. */
function manifestShapeProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'not an object';
  if (v.manifestVersion !== 1) return 'manifestVersion is not 1';
  if (v.status !== 'ok' && v.status !== 'quarantined') return "status is not 'ok' or 'quarantined'";
  if (typeof v.domain !== 'string' || typeof v.dataset !== 'string') return 'no domain or dataset';
  // Optional: manifests written before it was recorded have none.
  if (v.contractHash !== undefined && typeof v.contractHash !== 'string')
    return 'contractHash is not a string';
  if (!isObject(v.source) || typeof v.source.bucket !== 'string' || typeof v.source.key !== 'string') {
    return 'no source bucket and key';
  }
  const rows = v.rows;
  if (!isObject(rows) || !['in', 'out', 'quarantined', 'duplicates'].every((k) => isCount(rows[k]))) {
    return 'rows is not { in, out, quarantined, duplicates }';
  }
  if (!isObject(v.quarantinedByReason) || !Object.values(v.quarantinedByReason).every(isCount)) {
    return 'quarantinedByReason is not a map of counts';
  }
  const outputIsValid = (o: unknown) =>
    isObject(o) &&
    typeof o.key === 'string' &&
    typeof o.partition === 'string' &&
    isCount(o.rows) &&
    isCount(o.bytes) &&
    typeof o.sha256 === 'string';
  if (!Array.isArray(v.outputs) || !v.outputs.every(outputIsValid)) return 'outputs is not a list of files';
  const q = v.quarantine;
  if (
    q !== undefined &&
    !(
      isObject(q) &&
      typeof q.bucket === 'string' &&
      typeof q.key === 'string' &&
      (q.rows === undefined || isCount(q.rows))
    )
  ) {
    return 'quarantine is not { bucket, key, rows? }';
  }
  return undefined;
}
