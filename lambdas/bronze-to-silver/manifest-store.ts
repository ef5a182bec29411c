/**
 * The manifests of one silver bucket: the commit record of each bronze object (read at the start of a run,
 * written last), and the deletion of outputs a re-run no longer produces.
 */

import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { commitLogKey, manifestKey } from '../../core/lake/layout';
import type { Manifest } from '../../core/lake/manifest';
import type { CommitEntry } from '../../core/silver/current-state-plan';
import { getJson, putJson } from '../aws/s3';

/** What one attempt produced: a manifest before its timings and engine are stamped on. */
export type ManifestOutcome = Omit<Manifest, 'startedAt' | 'finishedAt' | 'durationsMs' | 'engine'>;

/** The dataset a manifest belongs to. */
export type DatasetRef = Pick<DatasetContract, 'domain' | 'dataset'>;

export interface ManifestBuckets {
  readonly silverBucket: string;
  readonly quarantineBucket: string;
}

export class ManifestStore {
  constructor(
    private readonly s3: S3Client,
    private readonly buckets: ManifestBuckets,
  ) {}

  /** The committed manifest of source `id`, or `undefined` when none was written yet. */
  read(contract: DatasetRef, id: string, signal?: AbortSignal): Promise<Manifest | undefined> {
    return getJson<Manifest>(
      this.s3,
      this.buckets.silverBucket,
      manifestKey(contract.domain, contract.dataset, id),
      signal,
    );
  }

  write(contract: DatasetRef, id: string, manifest: Manifest, signal?: AbortSignal): Promise<void> {
    return putJson(
      this.s3,
      this.buckets.silverBucket,
      manifestKey(contract.domain, contract.dataset, id),
      manifest,
      signal,
    );
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
