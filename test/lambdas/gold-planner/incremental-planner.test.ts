/**
 * The gold planner's S3 side against the local S3 server: the model's first run is full; then only the
 * commits the current state merged since are read (each once, even when listed again in the overlap); a
 * change in a source the date does not follow rebuilds fully; the publication is read from what the
 * statements wrote; the commit stores the state retention reads; a run that stops while publishing leaves
 * a pending mark that makes the next run rebuild fully, until that run's commit clears it.
 */

import { ContractRegistry } from '../../../core/contracts/load-contracts';
import { type IncrementalModelSpec, referencedVersions } from '../../../core/gold/incremental-plan';
import { WINDOW_MARKER } from '../../../core/gold/models';
import { commitLogKey, currentStateWatermarkKey, goldIncrementalStateKey } from '../../../core/lake/layout';
import type { CommitEntry } from '../../../core/silver/current-state-plan';
import { IncrementalPlanner } from '../../../lambdas/gold-planner/incremental-planner';
import { itemsContract } from '../../support/items-contract';
import { withLocalS3 } from '../../support/local-s3';

const SILVER = 'silver';
const GOLD = 'gold';
const items = itemsContract();
const tags = itemsContract([], {}, { domain: 'shop', dataset: 'tags' });
const spec: IncrementalModelSpec = {
  name: 'daily',
  sql: 'SELECT d, n FROM "db"."items", "db"."tags"',
  windowSql: `SELECT d, n FROM (SELECT * FROM "db"."items" WHERE "dt" IN (${WINDOW_MARKER})), "db"."tags"`,
  column: 'd',
  lookbackDays: 1,
  alignedTables: ['items'],
  otherTables: ['tags'],
  outputColumns: ['n', 'd'],
  columns: [{ Name: 'n', Type: 'bigint' }],
};

describe('IncrementalPlanner against the local S3 server', () => {
  const s3 = withLocalS3([SILVER, GOLD]);
  let now = new Date('2026-12-06T09:00:00Z');
  const planner = () =>
    new IncrementalPlanner({
      s3: s3.client,
      silverBucket: SILVER,
      goldBucket: GOLD,
      contracts: new ContractRegistry([items, tags]),
      now: () => now,
    });

  async function commit(dataset: string, at: Date, id: string, dt: string): Promise<string> {
    const entry: CommitEntry = {
      sourceId: id,
      bronzeKey: `shop/${dataset}/${id}.csv`,
      partitions: [dt],
      rows: 1,
      committedAt: at.toISOString(),
    };
    const key = commitLogKey('shop', dataset, at, id);
    await s3.put(SILVER, key, JSON.stringify(entry));
    await s3.put(SILVER, `shop/${dataset}/dt=${dt}/${id}.parquet`, 'x');
    return key;
  }
  /** The current state merged through `through`, trailing `after` (what the current-state stage stores). */
  const merged = (dataset: string, after: string, through: string) =>
    s3.put(
      SILVER,
      currentStateWatermarkKey('shop', dataset),
      JSON.stringify({ after, mergedThrough: through, updatedAt: now.toISOString() }),
    );
  /** What a statement wrote: one file per day under the run's batch prefix. */
  const write = (version: string, days: string[]) =>
    Promise.all(days.map((d) => s3.put(GOLD, `daily/v=${version}/0/d=${d}/part-0.parquet`, 'p')));
  const location = (version: string) => `s3://${GOLD}/daily/v=${version}/`;

  /** Plans, "runs" the statements (writes `days`), publishes every batch and commits. */
  async function run(version: string, days: string[], fullRefresh = false) {
    const plan = await planner().plan(spec, location(version), fullRefresh);
    await write(version, days);
    const batches = [];
    for (let b = 0, more = true; more; b++) {
      const step = await planner().publish(spec, location(version), plan, b);
      batches.push(step);
      more = step.more;
    }
    const state = await planner().commit(spec, location(version), plan);
    return { plan, batches, state };
  }

  it('the first run is full: every day of the aligned source, widened by the lookback', async () => {
    const a = await commit('items', new Date('2026-12-06T08:00:00Z'), 'a', '2026-01-05');
    const t = await commit('tags', new Date('2026-12-06T08:00:00Z'), 't', '2026-01-01');
    await merged('items', commitLogKey('shop', 'items', new Date('2026-12-06T07:55:00Z'), ''), a);
    await merged('tags', commitLogKey('shop', 'tags', new Date('2026-12-06T07:55:00Z'), ''), t);
    const { plan, batches, state } = await run('r1', ['2026-01-05']);
    expect(plan).toMatchObject({ mode: 'full', reason: 'first run' });
    expect(plan.statements).toHaveLength(1);
    expect(plan.statements[0]).toContain(`"dt" IN ('2026-01-05')`);
    expect(batches).toHaveLength(1);
    expect(batches[0].create.map((p) => p.StorageDescriptor.Location)).toEqual([
      `${location('r1')}0/d=2026-01-05/`,
    ]);
    expect(state.partitions).toEqual({ '2026-01-05': `${location('r1')}0/d=2026-01-05/` });
    expect(state.sources.items.seen).toEqual([a]);
    const stored = JSON.parse(String(await s3.get(GOLD, goldIncrementalStateKey('daily'))));
    expect(stored).toEqual(state);
  });

  it('then reads only new merged commits, once: an entry listed again in the overlap is skipped', async () => {
    now = new Date('2026-12-06T10:00:00Z');
    const b = await commit('items', new Date('2026-12-06T09:58:00Z'), 'b', '2026-01-09');
    // A commit not merged yet (after mergedThrough) waits for the next run.
    await commit('items', new Date('2026-12-06T09:59:00Z'), 'c', '2026-02-01');
    await merged('items', commitLogKey('shop', 'items', new Date('2026-12-06T07:55:00Z'), ''), b);
    const { plan, batches, state } = await run('r2', ['2026-01-08', '2026-01-09']);
    expect(plan).toMatchObject({ mode: 'incremental', dates: ['2026-01-08', '2026-01-09', '2026-01-10'] });
    // 2026-01-10 had no row: it was never published, so there is nothing to delete.
    expect(batches.flatMap((x) => x.delete)).toEqual([]);
    expect(Object.keys(state.partitions)).toEqual(['2026-01-05', '2026-01-08', '2026-01-09']);
  });

  it('a recomputed day left without rows is deleted; nothing new is unchanged', async () => {
    now = new Date('2026-12-06T11:00:00Z');
    const d = await commit('items', new Date('2026-12-06T10:59:00Z'), 'd', '2026-01-09');
    await merged('items', commitLogKey('shop', 'items', new Date('2026-12-06T10:54:00Z'), ''), d);
    // c (2026-02-01) is merged now too: the plan covers both.
    const { plan, batches, state } = await run('r3', ['2026-01-10', '2026-01-31', '2026-02-01']);
    expect(plan.dates).toEqual([
      '2026-01-08',
      '2026-01-09',
      '2026-01-10',
      '2026-01-31',
      '2026-02-01',
      '2026-02-02',
    ]);
    expect(batches.flatMap((x) => x.delete)).toEqual([
      { Values: ['2026-01-08'] },
      { Values: ['2026-01-09'] },
    ]);
    expect(Object.keys(state.partitions)).toEqual(['2026-01-05', '2026-01-10', '2026-01-31', '2026-02-01']);
    const again = await planner().plan(spec, location('r4'), false);
    expect(again).toMatchObject({ mode: 'unchanged', statements: [] });
  });

  it('a change in a source the date does not follow rebuilds fully, and so does a full refresh', async () => {
    now = new Date('2026-12-06T12:00:00Z');
    const t2 = await commit('tags', new Date('2026-12-06T11:59:00Z'), 't2', '2026-01-01');
    await merged('tags', commitLogKey('shop', 'tags', new Date('2026-12-06T11:54:00Z'), ''), t2);
    const plan = await planner().plan(spec, location('r5'), false);
    expect(plan).toMatchObject({ mode: 'full', reason: 'tags changed (not aligned with the date)' });
    expect((await planner().plan(spec, location('r5'), true)).reason).toBe('full refresh requested');
  });

  it('a full run that stops after its first publication batch makes the next run rebuild, and keeps its version until then', async () => {
    now = new Date('2026-12-06T13:00:00Z');
    const stateKey = goldIncrementalStateKey('daily');
    const committed = JSON.parse(String(await s3.get(GOLD, stateKey)));
    // r6: a full refresh that writes and publishes batch 0, then stops (no commit).
    const plan = await planner().plan(spec, location('r6'), true);
    await write('r6', ['2026-01-05', '2026-01-20']);
    // Staging (for the model's tests) lists the same calls and marks nothing: a run whose tests fail
    // leaves the state as it was.
    const staged = await planner().stage(spec, location('r6'), plan, 0);
    expect(JSON.parse(String(await s3.get(GOLD, stateKey)))).toEqual(committed);
    const first = await planner().publish(spec, location('r6'), plan, 0);
    expect(first).toMatchObject({ batch: 0, more: true });
    expect(staged).toEqual(first);
    const pending = JSON.parse(String(await s3.get(GOLD, stateKey)));
    expect(pending).toEqual({
      ...committed,
      pending: {
        locations: [location('r6')],
        dates: ['2026-01-05', '2026-01-10', '2026-01-20', '2026-01-31', '2026-02-01'],
      },
    });
    expect(referencedVersions(pending)).toContain('r6');
    // Batch 0 invoked again (a retry) returns the same calls and leaves the state as it is.
    expect(await planner().publish(spec, location('r6'), plan, 0)).toEqual(first);
    expect(JSON.parse(String(await s3.get(GOLD, stateKey)))).toEqual(pending);
    // r7 asked for nothing: it rebuilds anyway, and deletes the pending run's dates it does not write.
    const { plan: next, batches, state } = await run('r7', ['2026-01-05']);
    expect(next).toMatchObject({
      mode: 'full',
      reason: `a previous run stopped while publishing (${location('r6')})`,
    });
    expect(batches.flatMap((x) => x.delete.map((d) => d.Values[0]))).toEqual([
      '2026-01-10',
      '2026-01-20',
      '2026-01-31',
      '2026-02-01',
    ]);
    expect(state.pending).toBeUndefined();
    expect(JSON.parse(String(await s3.get(GOLD, stateKey)))).toEqual(state);
    expect(referencedVersions(state)).toEqual(new Set(['r7']));
    expect((await planner().plan(spec, location('r8'), false)).mode).toBe('unchanged');
  });
});
