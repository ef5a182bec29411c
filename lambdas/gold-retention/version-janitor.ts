/**
 * Bounds the versions of the gold models once a gold run published them: records the run's version in
 * each model's registry, then deletes the version prefixes the registry no longer keeps (older published
 * versions and those of failed runs). Which ones is pure (core/gold/retention.ts); this is its S3 side.
 *
 * An incremental model's older versions stay while one of its partitions still reads them (its state,
 * `<model>/_incremental.json`, names each partition's location): a version is rewritten partition by
 * partition, so storage stays bounded by the data plus the versions kept.
 *
 * The registry is written before anything is deleted: a deletion cut short (a timeout, an S3 error) leaves
 * prefixes the next run still finds and deletes. Running again for the same execution changes nothing.
 */
import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { type IncrementalState, referencedVersions } from '../../core/gold/incremental-plan';
import {
  type PublishedRegistry,
  parsePublishedRegistry,
  recordPublished,
  versionOfPrefix,
  versionsToDelete,
} from '../../core/gold/retention';
import { goldIncrementalStateKey, goldModelPrefix, goldPublishedRegistryKey } from '../../core/lake/layout';
import { getJson, listDirectories, listObjects, putJson } from '../aws/s3';

/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000;
/** Keys named in the error when a batch was not fully deleted; the rest are counted. */
const KEYS_NAMED = 10;

export interface VersionJanitorDeps {
  readonly s3: S3Client;
  readonly goldBucket: string;
  /** Published versions kept per model (K >= 1), the newest, including the one the table reads. */
  readonly versionsKept: number;
  /** MaxKeys of the version-directory listing: S3's 1,000 unless a test wants pages sooner. */
  readonly listPageSize?: number;
}

/** A version prefix deleted, with the number of objects it held. */
export interface DeletedVersion {
  readonly prefix: string;
  readonly objects: number;
}

/** What retention did to one model. */
export interface ModelRetention {
  readonly model: string;
  /** The registry as written: the versions kept, newest first. */
  readonly published: readonly string[];
  /** The version prefixes left in place, sorted. */
  readonly kept: readonly string[];
  /** The version prefixes deleted by this call, sorted (none when run again). */
  readonly deleted: readonly DeletedVersion[];
}

export interface RetentionReport {
  readonly executionName: string;
  readonly versionsKept: number;
  readonly models: readonly ModelRetention[];
}

export class VersionJanitor {
  constructor(private readonly deps: VersionJanitorDeps) {}

  /** Retention of every model `executionName` published (names already checked as path segments). */
  async run(executionName: string, models: readonly string[]): Promise<RetentionReport> {
    const report: ModelRetention[] = [];
    // One model at a time: a run has few models, and an error then names the model it stopped at.
    for (const model of new Set(models)) report.push(await this.retain(model, executionName));
    return { executionName, versionsKept: this.deps.versionsKept, models: report };
  }

  /** Records `version` as `model`'s newest published version, then deletes the versions not kept. */
  async retain(model: string, version: string): Promise<ModelRetention> {
    const { s3, goldBucket, versionsKept } = this.deps;
    const registryKey = goldPublishedRegistryKey(model);
    const stored = await getJson<unknown>(s3, goldBucket, registryKey);
    const previous: PublishedRegistry | undefined =
      stored === undefined ? undefined : parsePublishedRegistry(stored, `s3://${goldBucket}/${registryKey}`);
    const registry = recordPublished(previous, version, versionsKept);
    await putJson(s3, goldBucket, registryKey, registry);

    const versionPrefixes = (
      await listDirectories(s3, goldBucket, goldModelPrefix(model), this.deps.listPageSize)
    ).filter((prefix) => versionOfPrefix(model, prefix) !== undefined);
    // An incremental model's partitions each read the version that last rewrote them: those stay.
    const state = await getJson<IncrementalState>(s3, goldBucket, goldIncrementalStateKey(model));
    const referenced = referencedVersions(state);
    const doomed = versionsToDelete({ model, versionPrefixes, registry }).filter(
      (prefix) => !referenced.has(versionOfPrefix(model, prefix) as string),
    );
    const deleted: DeletedVersion[] = [];
    for (const prefix of doomed) deleted.push({ prefix, objects: await this.deleteAll(prefix) });
    const gone = new Set(doomed);
    return {
      model,
      published: registry.published,
      kept: versionPrefixes.filter((prefix) => !gone.has(prefix)).sort(),
      deleted,
    };
  }

  /** Deletes every object under `prefix`, in DeleteObjects batches as the listing goes; the count. */
  private async deleteAll(prefix: string): Promise<number> {
    const { s3, goldBucket } = this.deps;
    let deleted = 0;
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await this.deleteBatch(batch);
      deleted += batch.length;
      batch = [];
    };
    // The listing resumes after the last key it returned (StartAfter), so deleting behind it is safe.
    for await (const object of listObjects(s3, goldBucket, prefix)) {
      if (!object.Key) continue;
      batch.push(object.Key);
      if (batch.length === DELETE_BATCH) await flush();
    }
    await flush();
    return deleted;
  }

  /**
   * One DeleteObjects request. S3 answers 200 even when some keys were not deleted, listing them under
   * `Errors`: those fail the call, naming the keys (a key already gone is not an error).
   */
  private async deleteBatch(keys: readonly string[]): Promise<void> {
    const { s3, goldBucket } = this.deps;
    const out = await s3.send(
      new DeleteObjectsCommand({
        Bucket: goldBucket,
        Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
      }),
    );
    const errors = out.Errors ?? [];
    if (errors.length === 0) return;
    const named = errors
      .slice(0, KEYS_NAMED)
      .map((e) => `${e.Key} (${e.Code ?? 'error'}${e.Message ? `: ${e.Message}` : ''})`);
    const more = errors.length > KEYS_NAMED ? `, and ${errors.length - KEYS_NAMED} more` : '';
    throw new Error(
      `gold retention: ${errors.length} of ${keys.length} object(s) in s3://${goldBucket} were not deleted: ${named.join(', ')}${more}`,
    );
  }
}
