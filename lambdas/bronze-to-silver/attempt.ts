/**
 * One attempt at transforming a bronze object, and taking back what it wrote when it fails.
 *
 * S3 makes each object atomic but not a set of them, and one bronze file becomes several partition
 * objects, so an attempt that fails half-way deletes the silver and quarantine objects it wrote that no
 * committed manifest lists (readers never see a partial file set). Objects a manifest lists were
 * overwritten with the same bytes: bronze is immutable and the transform deterministic.
 */

import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { errorMessage } from '../../core/errors';
import type { Manifest } from '../../core/lake/manifest';
import type { Logger } from '../../core/telemetry/logger';

export interface RollbackDeps {
  readonly s3: S3Client;
  readonly silverBucket: string;
  readonly logger: Logger;
  /** The manifest committed now, read when the rollback starts. */
  readonly readCommitted: () => Promise<Manifest | undefined>;
}

/** The objects one attempt wrote (or tried to write), so a failed attempt can take them back. */
export class Attempt {
  readonly written: { bucket: string; key: string }[] = [];
  /** The version and ETag of the bronze object this attempt read, once it has. */
  read: { versionId?: string; eTag?: string } | undefined;

  constructor(readonly signal: AbortSignal | undefined) {}

  /** Called between steps: once the deadline fired, nothing more starts. */
  check(): void {
    this.signal?.throwIfAborted();
  }

  /** Recorded before the write is sent: a write whose answer is lost may still have landed. */
  writing(bucket: string, key: string): void {
    this.written.push({ bucket, key });
  }

  /**
   * Deletes what this attempt wrote, except the objects a committed manifest lists: `previous` (read at the
   * start), and the one there now (a concurrent run may have committed, or this attempt's own manifest may
   * have landed although its answer was lost). Best effort: what it cannot delete, the retry overwrites.
   * `sourceKey` and `cause` are for the log.
   */
  async rollBack(
    deps: RollbackDeps,
    sourceKey: string,
    previous: Manifest | undefined,
    cause: unknown,
  ): Promise<void> {
    if (this.written.length === 0) return;
    const { s3, logger } = deps;
    let committed: Manifest | undefined;
    try {
      committed = await deps.readCommitted();
    } catch (e) {
      // Without knowing what is committed, deleting could remove listed outputs: leave it to the retry.
      logger.warn('rollback skipped: the manifest cannot be read', {
        key: sourceKey,
        error: errorMessage(e),
      });
      return;
    }
    const listed = new Set([
      ...listedObjects(previous, deps.silverBucket),
      ...listedObjects(committed, deps.silverBucket),
    ]);
    const deleted: string[] = [];
    const seen = new Set<string>();
    for (const w of this.written) {
      const ref = `${w.bucket}/${w.key}`;
      if (listed.has(ref) || seen.has(ref)) continue;
      seen.add(ref);
      try {
        await s3.send(new DeleteObjectCommand({ Bucket: w.bucket, Key: w.key }));
        deleted.push(ref);
      } catch (e) {
        logger.warn('rollback could not delete an object; the retry overwrites it', {
          object: ref,
          error: errorMessage(e),
        });
      }
    }
    logger.warn('failed attempt rolled back', { key: sourceKey, deleted, error: errorMessage(cause) });
  }
}

/** The silver and quarantine objects a manifest lists, as '<bucket>/<key>'. */
export function listedObjects(m: Manifest | undefined, silverBucket: string): string[] {
  if (!m) return [];
  const listed = m.outputs.map((o) => `${silverBucket}/${o.key}`);
  if (m.quarantine) {
    listed.push(`${m.quarantine.bucket}/${m.quarantine.key}`);
    // A file quarantined whole has its reason next to it.
    if (m.status === 'quarantined') listed.push(`${m.quarantine.bucket}/${m.quarantine.key}.reason.json`);
  }
  return listed;
}
