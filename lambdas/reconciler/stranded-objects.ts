/**
 * Finds the objects the event-driven route lost: uploads still in the landing bucket long after the
 * landing function should have moved them, and bronze objects with no committed manifest long after the
 * transform should have committed one. Events get lost when a process dies holding them (a local cloud
 * killed with `kill -9`), when a notification configuration is replaced during a deploy, or when a queue's
 * retention expires while its consumer is disabled.
 *
 * Cost follows new data, not history: bronze is read one `ingest_date=` day at a time over the lookback
 * window only, and which of those objects committed is read from the commit log written since the window
 * opened (one listing); only an object missing there (a whole file quarantined, which logs no commit, or a
 * real straggler) costs a manifest read.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import {
  commitLogPrefix,
  commitLogTimeKey,
  datasetPrefixes,
  failedReasonKey,
  isoDate,
  sourceId,
} from '../../core/lake/layout';
import { listObjects, objectExists } from '../aws/s3';
import { ManifestStore } from '../bronze-to-silver/manifest-store';

/** An object the event route lost, with what a re-driven event needs. */
export interface StrandedObject {
  readonly layer: 'landing' | 'bronze';
  readonly bucket: string;
  readonly key: string;
  readonly lastModified: Date;
  readonly size: number;
  readonly eTag?: string;
}

export interface StrandedScanSettings {
  /** A landing object older than this is stranded (the landing function's retries are over). */
  readonly landingAfterMs: number;
  /** A bronze object older than this with no manifest is stranded (its receives are over). */
  readonly bronzeAfterMs: number;
  /** Bronze `ingest_date` days read, today included (at most the commit log's retention). */
  readonly lookbackDays: number;
}

export interface StrandedScan {
  readonly landing: StrandedObject[];
  readonly bronze: StrandedObject[];
  /** Bronze objects with no manifest whose failure was recorded: dead-lettered (their own alarm), not lost. */
  readonly deadLettered: number;
  /** Objects looked at: every landing object, and the bronze objects of the lookback window. */
  readonly scanned: { readonly landing: number; readonly bronze: number };
}

export interface StrandedObjectFinderDeps {
  readonly s3: S3Client;
  readonly buckets: {
    readonly landing: string;
    readonly bronze: string;
    readonly silver: string;
    readonly quarantine: string;
  };
  readonly contracts: readonly DatasetContract[];
  /** Whether the bronze object `id` has a committed manifest; default: a readable one in silver. */
  readonly hasManifest?: (contract: DatasetContract, id: string) => Promise<boolean>;
}

const DAY_MS = 86_400_000;

export class StrandedObjectFinder {
  private readonly hasManifest: (contract: DatasetContract, id: string) => Promise<boolean>;

  constructor(private readonly deps: StrandedObjectFinderDeps) {
    const manifests = new ManifestStore(deps.s3, {
      silverBucket: deps.buckets.silver,
      quarantineBucket: deps.buckets.quarantine,
    });
    // An unreadable manifest reads as absent: the object is transformed again.
    this.hasManifest =
      deps.hasManifest ?? (async (c, id) => (await manifests.read(c, id)).manifest !== undefined);
  }

  /**
   * Every stranded object at `now`. `pending` names objects known to be on their way (a local queue's
   * restored messages): they are not stranded whatever their age.
   */
  async find(
    now: Date,
    settings: StrandedScanSettings,
    pending: (bucket: string, key: string) => boolean = () => false,
  ): Promise<StrandedScan> {
    const landing = await this.strandedLanding(now, settings, pending);
    let deadLettered = 0;
    let scannedBronze = 0;
    const bronze: StrandedObject[] = [];
    for (const contract of this.deps.contracts) {
      const found = await this.strandedBronze(contract, now, settings, pending);
      bronze.push(...found.stranded);
      deadLettered += found.deadLettered;
      scannedBronze += found.scanned;
    }
    return {
      landing: landing.stranded,
      bronze,
      deadLettered,
      scanned: { landing: landing.scanned, bronze: scannedBronze },
    };
  }

  private async strandedLanding(
    now: Date,
    settings: StrandedScanSettings,
    pending: (bucket: string, key: string) => boolean,
  ): Promise<{ stranded: StrandedObject[]; scanned: number }> {
    const bucket = this.deps.buckets.landing;
    const before = now.getTime() - settings.landingAfterMs;
    const stranded: StrandedObject[] = [];
    let scanned = 0;
    // The landing bucket holds only what is not landed yet (and expires), so it is listed whole.
    for await (const o of listObjects(this.deps.s3, bucket)) {
      scanned++;
      const found = strandedIf('landing', bucket, o, before);
      if (found && !pending(bucket, found.key)) stranded.push(found);
    }
    return { stranded, scanned };
  }

  private async strandedBronze(
    contract: DatasetContract,
    now: Date,
    settings: StrandedScanSettings,
    pending: (bucket: string, key: string) => boolean,
  ): Promise<{ stranded: StrandedObject[]; deadLettered: number; scanned: number }> {
    const { s3, buckets } = this.deps;
    const before = now.getTime() - settings.bronzeAfterMs;
    const firstDay = startOfDay(now.getTime() - (settings.lookbackDays - 1) * DAY_MS);
    const candidates: StrandedObject[] = [];
    let scanned = 0;
    for (let day = firstDay; day <= now.getTime(); day += DAY_MS) {
      const prefix = `${datasetPrefixes.data(contract)}ingest_date=${isoDate(new Date(day))}/`;
      for await (const o of listObjects(s3, buckets.bronze, prefix)) {
        scanned++;
        const found = strandedIf('bronze', buckets.bronze, o, before);
        if (found && !pending(buckets.bronze, found.key)) candidates.push(found);
      }
    }
    if (candidates.length === 0) return { stranded: [], deadLettered: 0, scanned };
    // A commit is logged after the object landed, so after the window opened.
    const committed = await this.committedSince(contract, new Date(firstDay));
    const stranded: StrandedObject[] = [];
    let deadLettered = 0;
    for (const c of candidates) {
      const id = sourceId(c.bucket, c.key);
      if (committed.has(id) || (await this.hasManifest(contract, id))) continue;
      if (
        await objectExists(s3, buckets.quarantine, failedReasonKey(contract.domain, contract.dataset, id))
      ) {
        deadLettered++;
        continue;
      }
      stranded.push(c);
    }
    return { stranded, deadLettered, scanned };
  }

  /** Source ids of the commit log entries written since `since` (`<time>-<source id>.json`). */
  private async committedSince(contract: DatasetContract, since: Date): Promise<Set<string>> {
    const ids = new Set<string>();
    const prefix = commitLogPrefix(contract.domain, contract.dataset);
    const startAfter = commitLogTimeKey(contract.domain, contract.dataset, since);
    for await (const o of listObjects(this.deps.s3, this.deps.buckets.silver, prefix, { startAfter })) {
      const id = /-([0-9a-f]+)\.json$/.exec(o.Key ?? '')?.[1];
      if (id) ids.add(id);
    }
    return ids;
  }
}

/** The object as stranded when it was last modified before `before`. */
function strandedIf(
  layer: StrandedObject['layer'],
  bucket: string,
  o: { Key?: string; LastModified?: Date; Size?: number; ETag?: string },
  before: number,
): StrandedObject | undefined {
  if (!o.Key || !o.LastModified || o.LastModified.getTime() > before) return undefined;
  return {
    layer,
    bucket,
    key: o.Key,
    lastModified: o.LastModified,
    size: o.Size ?? 0,
    ...(o.ETag ? { eTag: o.ETag.replace(/"/g, '') } : {}),
  };
}

function startOfDay(ms: number): number {
  return ms - (ms % DAY_MS);
}
