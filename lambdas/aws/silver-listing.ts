/**
 * Listings of the silver bucket that planners share: a dataset's arrival partitions, and its commit log
 * entries between two keys.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { datasetPrefixes, PARTITION_KEY } from '../../core/lake/layout';
import type { CommitEntry } from '../../core/silver/current-state-plan';
import { getJson, listDirectories, listObjects, mapLimited } from './s3';

/** A dataset's arrival partition values (`dt=<value>/` directories under its prefix), sorted. */
export async function listArrivalPartitions(
  s3: S3Client,
  silverBucket: string,
  contract: DatasetContract,
): Promise<string[]> {
  const prefix = datasetPrefixes.data(contract);
  const marker = `${PARTITION_KEY}=`;
  return (await listDirectories(s3, silverBucket, prefix))
    .map((d) => d.slice(prefix.length, -1))
    .filter((name) => name.startsWith(marker))
    .map((name) => name.slice(marker.length))
    .sort();
}

/** The commit log keys of a dataset after `after` and at most `through` (commit log or time keys), in order. */
export async function listCommitKeys(
  s3: S3Client,
  silverBucket: string,
  prefix: string,
  range: { readonly after: string; readonly through: string },
): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listObjects(s3, silverBucket, prefix, { startAfter: range.after })) {
    if (!o.Key) continue;
    if (o.Key > range.through) break;
    keys.push(o.Key);
  }
  return keys;
}

/** The commit log entries at `keys`, read `concurrency` at a time, in the keys' order. */
export function readCommitEntries(
  s3: S3Client,
  silverBucket: string,
  keys: readonly string[],
  concurrency = 16,
): Promise<{ key: string; entry: CommitEntry }[]> {
  return mapLimited(keys, concurrency, async (key) => {
    const entry = await getJson<CommitEntry>(s3, silverBucket, key);
    if (!entry) throw new Error(`commit log entry s3://${silverBucket}/${key} vanished while planning`);
    return { key, entry };
  });
}
