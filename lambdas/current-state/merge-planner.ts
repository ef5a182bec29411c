/**
 * The current-state merge of one dataset, as the gold workflow drives it: `plan` reads the dataset's
 * watermark and the commit log after it and returns the MERGE statements to run; once they succeeded,
 * `commit` stores the plan's next watermark. Planning is pure (core/silver/current-state-plan.ts); this
 * is its S3 side.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import {
  commitLogPrefix,
  currentStatePrefix,
  currentStateWatermarkKey,
  deletedKeysPrefix,
  historyPrefix,
} from '../../core/lake/layout';
import { type CatalogTable, currentStateDdl } from '../../core/silver/current-state-ddl';
import {
  DEFAULT_PLAN_SETTINGS,
  listingStart,
  type MergePlan,
  type PlanSettings,
  planIncrementalMerge,
  planRebuild,
  rebuildSource,
  trailingKey,
  type Watermark,
} from '../../core/silver/current-state-plan';
import { expandPartitions } from '../../core/silver/partition-runs';
import { currentTableName, historyTableName } from '../../core/silver/tables';
import { getJson, listObjects, putJson } from '../aws/s3';
import { listArrivalPartitions, listCommitKeys, readCommitEntries } from '../aws/silver-listing';

export interface MergePlannerDeps {
  readonly s3: S3Client;
  readonly silverBucket: string;
  readonly now?: () => Date;
  readonly settings?: PlanSettings;
  /** Commit log entries one plan lists at most (their bodies are read, `readConcurrency` at a time). */
  readonly maxEntries?: number;
  readonly readConcurrency?: number;
}

export class MergePlanner {
  constructor(private readonly deps: MergePlannerDeps) {}

  /**
   * The next plan of `contract`'s dataset, given its Iceberg tables as the catalog holds them now (`tables`:
   * GetTables' `TableList`, those of this dataset; an absent table is created).
   */
  async plan(contract: DatasetContract, tables: readonly CatalogTable[]): Promise<MergePlan> {
    const { s3, silverBucket } = this.deps;
    const watermark = await getJson<Watermark>(
      s3,
      silverBucket,
      currentStateWatermarkKey(contract.domain, contract.dataset),
    );
    const location = (prefix: string) => `s3://${silverBucket}/${prefix.replace(/\/$/, '')}`;
    const ddl = currentStateDdl(
      contract,
      {
        history: location(historyPrefix(contract.domain, contract.dataset)),
        current: location(currentStatePrefix(contract.domain, contract.dataset)),
        deleted: location(deletedKeysPrefix(contract.domain, contract.dataset)),
      },
      tables,
    );
    const now = (this.deps.now ?? (() => new Date()))();
    const exists = (name: string) => tables.some((t) => t.Name === name);
    const from = rebuildSource(
      {
        history: exists(historyTableName(contract.dataset)),
        current: exists(currentTableName(contract.dataset)),
      },
      watermark,
      now,
      this.deps.settings,
    );
    if (from !== undefined) {
      const partitions =
        from === 'arrivals'
          ? await listArrivalPartitions(s3, silverBucket, contract)
          : expandPartitions(watermark?.historyPartitions ?? [], contract.partition.granularity);
      // The newest commit when the rebuild starts: its history is among the partitions merged.
      const newestCommit =
        watermark?.rebuiltThrough === undefined
          ? (
              await listCommitKeys(s3, silverBucket, commitLogPrefix(contract.domain, contract.dataset), {
                after: trailingKey(contract, now, this.deps.settings ?? DEFAULT_PLAN_SETTINGS),
                through: `${commitLogPrefix(contract.domain, contract.dataset)}\uffff`,
              })
            ).at(-1)
          : undefined;
      return planRebuild({
        contract,
        watermark,
        ddl,
        from,
        partitions,
        newestCommit,
        now,
        settings: this.deps.settings,
      });
    }
    const maxEntries = this.deps.maxEntries ?? 2000;
    const keys: string[] = [];
    let listedAll = true;
    for await (const o of listObjects(s3, silverBucket, commitLogPrefix(contract.domain, contract.dataset), {
      startAfter: listingStart(contract, watermark),
    })) {
      if (!o.Key) continue;
      if (keys.length === maxEntries) {
        listedAll = false;
        break;
      }
      keys.push(o.Key);
    }
    const entries = await readCommitEntries(s3, silverBucket, keys, this.deps.readConcurrency ?? 16);
    return planIncrementalMerge({
      contract,
      watermark,
      ddl,
      entries,
      listedAll,
      now,
      settings: this.deps.settings,
    });
  }

  /** Stores the watermark of a plan whose statements all succeeded. */
  async commit(contract: DatasetContract, next: Watermark): Promise<void> {
    await putJson(
      this.deps.s3,
      this.deps.silverBucket,
      currentStateWatermarkKey(contract.domain, contract.dataset),
      next,
    );
  }
}
