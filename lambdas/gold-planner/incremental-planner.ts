/**
 * An incremental gold model's run, as the gold workflow drives it: `plan` decides what to recompute and
 * returns the UNLOAD statements; once they succeeded, `publish` returns the Glue partition calls of one
 * batch; `commit` stores the model's state. The decisions are pure (core/gold/incremental-plan.ts); this
 * is their S3 side: the model's state in the gold bucket, the sources' commit logs, watermarks and history
 * partitions in the silver bucket, and what the run's UNLOADs wrote.
 *
 * Before the first Glue call (batch 0), `publish` marks the run `pending` in the model's state, so a run
 * that stops before its commit makes the next plan rebuild fully and retention keep its version; `commit`
 * stores the next state without the mark. Publishing batch 0 again (a retry) leaves the state as it is.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import type { ContractRegistry } from '../../core/contracts/load-contracts';
import { ConfigError } from '../../core/errors';
import {
  fullRefreshReason,
  type IncrementalModelSpec,
  type IncrementalPlan,
  type IncrementalState,
  modelHash,
  nextState,
  type PlanDialect,
  type PublishBatch,
  planFull,
  planIncremental,
  publishBatches,
  type SourcePosition,
  withPending,
  writtenPartitions,
} from '../../core/gold/incremental-plan';
import { commitLogPrefix, currentStateWatermarkKey, goldIncrementalStateKey } from '../../core/lake/layout';
import type { Watermark } from '../../core/silver/current-state-plan';
import { expandPartitions, type PartitionRun } from '../../core/silver/partition-runs';
import { currentTableName, datasetTableNames } from '../../core/silver/tables';
import { getJson, listObjects, putJson } from '../aws/s3';
import { listArrivalPartitions, listCommitKeys, readCommitEntries } from '../aws/silver-listing';

export interface IncrementalPlannerDeps {
  readonly s3: S3Client;
  readonly silverBucket: string;
  readonly goldBucket: string;
  readonly contracts: ContractRegistry;
  /**
   * The engine the plans' writes are for.
   * @default Athena
   */
  readonly dialect?: PlanDialect;
  readonly now?: () => Date;
}

/** The plan's parts `publish` and `commit` need (the statements stay behind). */
export type PlanSummary = Pick<IncrementalPlan, 'mode' | 'dates' | 'sources'>;

/** One batch of the publication, and whether another follows. */
export interface PublishStep extends PublishBatch {
  readonly batch: number;
  /** The batch to ask for next. */
  readonly next: number;
  readonly more: boolean;
}

export class IncrementalPlanner {
  constructor(private readonly deps: IncrementalPlannerDeps) {}

  /** What this run of the model recomputes (`location`: the run's version, `s3://<gold>/<model>/v=<run>/`). */
  async plan(spec: IncrementalModelSpec, location: string, fullRefresh: boolean): Promise<IncrementalPlan> {
    const now = this.now();
    const state = await this.state(spec.name);
    const bounds = await this.sourceBounds(spec);
    const reason = fullRefreshReason({ fullRefresh, state, hash: modelHash(spec), now, location });
    // The commit log keys listed per source: what the stored positions record as seen.
    const listed = new Map<string, string[]>();
    if (reason === undefined) {
      const changed = new Set<string>();
      const changedOthers: string[] = [];
      for (const [dataset, { contract, position, aligned }] of bounds) {
        const previous = state?.sources[dataset];
        if (previous === undefined) {
          // A source the last run did not read (the model gained a ref): its model hash changed too.
          return this.full(spec, location, bounds, listed, `source ${dataset} is new to the model`);
        }
        const keys = await this.commitKeys(contract, previous.after, position.through);
        listed.set(dataset, keys);
        const seen = new Set(previous.seen ?? []);
        const fresh = keys.filter((k) => !seen.has(k));
        const entries = await readCommitEntries(this.deps.s3, this.deps.silverBucket, fresh);
        if (entries.length > 0 && !aligned) changedOthers.push(dataset);
        for (const { entry } of entries) for (const p of entry.partitions) changed.add(p);
      }
      if (changedOthers.length > 0) {
        return this.full(
          spec,
          location,
          bounds,
          listed,
          `${changedOthers.join(', ')} changed (not aligned with the date)`,
        );
      }
      return planIncremental({
        spec,
        location,
        changedPartitions: [...changed].sort(),
        sources: positions(bounds, listed),
        dialect: this.deps.dialect,
      });
    }
    return this.full(spec, location, bounds, listed, reason);
  }

  /**
   * Batch `batch` (from 0) of the publication of a plan whose statements succeeded; on batch 0, first marks
   * the run pending in the model's state (see the module comment).
   */
  async publish(
    spec: IncrementalModelSpec,
    location: string,
    plan: PlanSummary,
    batch: number,
  ): Promise<PublishStep> {
    const { state, batches } = await this.batches(spec, location, plan);
    if (batch === 0 && batches.length > 0) {
      // Before the first Glue call: a run that stops from here on leaves a mark the next plan sees.
      const marked = withPending({ state, location, batches, now: this.now() });
      if (marked)
        await putJson(this.deps.s3, this.deps.goldBucket, goldIncrementalStateKey(spec.name), marked);
    }
    return stepOf(batches, batch);
  }

  /**
   * Batch `batch` of the same partition calls as {@link publish}, for staging the run's partitions in a
   * table the model's tests read before anything is published: nothing is switched yet, so no pending
   * mark is written (a run whose tests fail leaves the model's state as it was).
   */
  async stage(
    spec: IncrementalModelSpec,
    location: string,
    plan: PlanSummary,
    batch: number,
  ): Promise<PublishStep> {
    return stepOf((await this.batches(spec, location, plan)).batches, batch);
  }

  /** The model's state and the Glue partition calls, in batches, publishing what `location` holds. */
  private async batches(spec: IncrementalModelSpec, location: string, plan: PlanSummary) {
    const state = await this.state(spec.name);
    return {
      state,
      batches: publishBatches({ spec, plan, state, written: await this.written(spec, location) }),
    };
  }

  /** Stores the model's state once every partition of the plan was published (its pending mark cleared). */
  async commit(spec: IncrementalModelSpec, location: string, plan: PlanSummary): Promise<IncrementalState> {
    const state = nextState({
      spec,
      plan,
      state: await this.state(spec.name),
      written: await this.written(spec, location),
      now: this.now(),
    });
    await putJson(this.deps.s3, this.deps.goldBucket, goldIncrementalStateKey(spec.name), state);
    return state;
  }

  private async full(
    spec: IncrementalModelSpec,
    location: string,
    bounds: Map<string, SourceBound>,
    listed: Map<string, string[]>,
    reason: string,
  ): Promise<IncrementalPlan> {
    const partitions = new Set<string>();
    for (const { contract, aligned, historyPartitions } of bounds.values()) {
      if (!aligned) continue;
      // The history's partitions as the merge recorded them (arrivals expire); before the first merge
      // recorded them, the arrivals' directories.
      const values = historyPartitions
        ? expandPartitions(historyPartitions, contract.partition.granularity)
        : await listArrivalPartitions(this.deps.s3, this.deps.silverBucket, contract);
      for (const p of values) partitions.add(p);
    }
    // The commits a full run covers are seen: the next run starts after them (each source listed once).
    for (const [dataset, b] of bounds) {
      if (!listed.has(dataset))
        listed.set(dataset, await this.commitKeys(b.contract, b.position.after, b.position.through));
    }
    return planFull({
      spec,
      location,
      sourcePartitions: [...partitions],
      sources: positions(bounds, listed),
      reason,
      dialect: this.deps.dialect,
    });
  }

  /**
   * Per source dataset: how far its commit log is safe to consume, the current state's watermark (the
   * commits up to it are merged into the current state the model reads).
   */
  private async sourceBounds(spec: IncrementalModelSpec): Promise<Map<string, SourceBound>> {
    const bounds = new Map<string, SourceBound>();
    const aligned = new Set(spec.alignedTables.map((t) => this.datasetOf(t).dataset));
    for (const table of [...spec.alignedTables, ...spec.otherTables]) {
      const contract = this.datasetOf(table);
      if (bounds.has(contract.dataset)) continue;
      const watermark = await getJson<Watermark>(
        this.deps.s3,
        this.deps.silverBucket,
        currentStateWatermarkKey(contract.domain, contract.dataset),
      );
      const start = commitLogPrefix(contract.domain, contract.dataset);
      bounds.set(contract.dataset, {
        contract,
        position: {
          after: watermark?.after ?? start,
          through: watermark?.mergedThrough ?? watermark?.after ?? start,
        },
        aligned: aligned.has(contract.dataset),
        historyPartitions: watermark?.historyPartitions,
      });
    }
    return bounds;
  }

  /** The commit log keys of `contract`'s dataset in (`after`, `through`]. */
  private commitKeys(contract: DatasetContract, after: string, through: string): Promise<string[]> {
    return listCommitKeys(
      this.deps.s3,
      this.deps.silverBucket,
      commitLogPrefix(contract.domain, contract.dataset),
      {
        after,
        through,
      },
    );
  }

  private datasetOf(table: string): DatasetContract {
    const contract = this.deps.contracts.all.find((c) => datasetTableNames(c).includes(table));
    if (!contract) {
      throw new ConfigError(
        `gold planner: no data contract owns the table '${table}' (known: ${this.deps.contracts.all.map((c) => currentTableName(c.dataset)).join(', ')})`,
      );
    }
    return contract;
  }

  private async state(model: string): Promise<IncrementalState | undefined> {
    return getJson<IncrementalState>(this.deps.s3, this.deps.goldBucket, goldIncrementalStateKey(model));
  }

  /** What the run's UNLOADs wrote: date -> location, from the prefixes under its version. */
  private async written(spec: IncrementalModelSpec, location: string): Promise<Map<string, string>> {
    const prefix = location.replace(`s3://${this.deps.goldBucket}/`, '');
    if (prefix === location) throw new ConfigError(`gold planner: ${location} is not in the gold bucket`);
    // Listed key by key (a run writes a few files per partition): the directories of the partitions.
    const relative = new Set<string>();
    for await (const o of listObjects(this.deps.s3, this.deps.goldBucket, prefix)) {
      const rest = o.Key?.slice(prefix.length) ?? '';
      const dir = /^[^/]+\/[^/]+\//.exec(rest);
      if (dir) relative.add(dir[0]);
    }
    return writtenPartitions(location, spec.column, [...relative]);
  }

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }
}

interface SourceBound {
  readonly contract: DatasetContract;
  /** How far the current state merged the dataset's commit log. */
  readonly position: { readonly after: string; readonly through: string };
  /** Whether the model's date follows this dataset's `dt`. */
  readonly aligned: boolean;
  /** The history's partitions, as the current-state merge recorded them. */
  readonly historyPartitions?: readonly PartitionRun[];
}

/**
 * The positions to store: how far each source was consumed, and the keys listed after its new `after`
 * (the next run lists them again and skips them).
 */
function positions(
  bounds: Map<string, SourceBound>,
  listed: Map<string, string[]>,
): Record<string, SourcePosition> {
  return Object.fromEntries(
    [...bounds].map(([dataset, { position }]) => [
      dataset,
      { ...position, seen: (listed.get(dataset) ?? []).filter((k) => k > position.after) },
    ]),
  );
}

/** Batch `batch` of `batches` as the workflow reads it: the calls, and whether another batch follows. */
function stepOf(batches: ReturnType<typeof publishBatches>, batch: number): PublishStep {
  const step = batches[batch] ?? { create: [], update: [], delete: [] };
  return { ...step, batch, next: batch + 1, more: batch + 1 < batches.length };
}
