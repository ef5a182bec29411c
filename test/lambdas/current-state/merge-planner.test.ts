import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { commitLogKey, currentStateWatermarkKey } from '../../../core/lake/layout';
import type { CommitEntry } from '../../../core/silver/current-state-plan';
import { currentStateColumns } from '../../../core/silver/tables';
import { athenaTypeOf } from '../../../core/sql/types';
import { MergePlanner } from '../../../lambdas/current-state/merge-planner';
import { itemsContract } from '../../support/items-contract';
import { withLocalS3 } from '../../support/local-s3';

const SILVER = 'silver';
const contract = itemsContract();

describe('MergePlanner against the local S3 server', () => {
  const s3 = withLocalS3([SILVER]);
  let now = new Date('2026-12-06T09:00:00Z');
  const planner = () =>
    new MergePlanner({ s3: s3.client, silverBucket: SILVER, now: () => now, maxEntries: 700 });

  async function commit(at: Date, id: string, dt: string) {
    const entry: CommitEntry = {
      sourceId: id,
      bronzeKey: `shop/items/ingest_date=2026-12-06/${id}.csv`,
      partitions: [dt],
      rows: 1,
      committedAt: at.toISOString(),
    };
    await s3.put(SILVER, commitLogKey('shop', 'items', at, id), JSON.stringify(entry));
  }

  /** The tables as Athena created them: the contract's columns. */
  const table = (Name: string) => ({
    Name,
    StorageDescriptor: {
      Columns: currentStateColumns(contract).map((c) => ({ Name: c.name, Type: athenaTypeOf(c.type) })),
    },
  });
  const TABLES = [table('items_history'), table('items')];

  it('first creates the tables and rebuilds from the (empty) arrivals', async () => {
    const plan = await planner().plan(contract, []);
    expect(plan).toMatchObject({ mode: 'rebuild', commits: 0, partitions: 0, more: false });
    expect(plan.statements).toHaveLength(2);
    expect(plan.statements[0]).toMatch(/^CREATE TABLE IF NOT EXISTS `items_history` \(/);
    expect(plan.statements[0]).toContain("LOCATION 's3://silver/_history/shop/items'");
    expect(plan.statements[1]).toMatch(/^CREATE TABLE IF NOT EXISTS `items` \(/);
    expect(plan.statements[1]).toContain("LOCATION 's3://silver/_current/shop/items'");
    await planner().commit(contract, plan.next);
  });

  it('rebuilds from the arrival partitions it finds when the history is missing, and records them', async () => {
    await s3.put(SILVER, 'shop/items/dt=2026-11-02/part-x.parquet', 'x');
    await s3.put(SILVER, 'shop/items/dt=2026-11-01/part-y.parquet', 'y');
    const plan = await planner().plan(contract, [table('items')]);
    expect(plan).toMatchObject({ mode: 'rebuild', partitions: 2, more: false });
    expect(plan.statements[1]).toMatch(/^MERGE INTO "items_history"/);
    expect(plan.statements[1]).toContain(`"dt" IN ('2026-11-01', '2026-11-02')`);
    expect(plan.next.historyPartitions).toEqual([['2026-11-01', '2026-11-02']]);
    await planner().commit(contract, plan.next);
  });

  it('rebuilds a missing current state from the history partitions on record, not from the arrivals', async () => {
    // An arrival whose files expired would not be listed: the record names the history's partitions.
    await s3.client.send(
      new DeleteObjectCommand({ Bucket: SILVER, Key: 'shop/items/dt=2026-11-01/part-y.parquet' }),
    );
    const plan = await planner().plan(contract, [table('items_history')]);
    expect(plan).toMatchObject({ mode: 'rebuild', partitions: 2, more: false });
    expect(plan.statements.some((st) => st.startsWith('MERGE INTO "items_history"'))).toBe(false);
    const merge = plan.statements.find((st) => st.startsWith('MERGE INTO "items"')) ?? '';
    expect(merge).toContain(`"dt" IN ('2026-11-01', '2026-11-02')`);
    expect(merge).toContain('FROM "items_history"');
  });

  it('plans the commits after the stored watermark only, and stores the next one on commit', async () => {
    await commit(new Date('2026-12-06T10:00:00Z'), 'a', '2026-12-01');
    await commit(new Date('2026-12-06T11:00:00Z'), 'b', '2026-12-02');
    now = new Date('2026-12-06T12:00:00Z');
    const first = await planner().plan(contract, TABLES);
    expect(first).toMatchObject({ mode: 'incremental', commits: 2, partitions: 2, more: false });
    await planner().commit(contract, first.next);
    expect(JSON.parse(String(await s3.get(SILVER, currentStateWatermarkKey('shop', 'items'))))).toEqual(
      first.next,
    );

    now = new Date('2026-12-06T13:00:00Z');
    await commit(new Date('2026-12-06T12:30:00Z'), 'c', '2026-12-03');
    const second = await planner().plan(contract, TABLES);
    expect(second.commits).toBe(1);
    expect(second.statements[0]).toContain('/c.csv');
    expect(second.statements[0]).not.toContain('/a.csv');
    // The history's partitions on record grow with what was appended.
    expect(second.next.historyPartitions).toEqual([
      ['2026-11-01', '2026-11-02'],
      ['2026-12-01', '2026-12-03'],
    ]);
    await planner().commit(contract, second.next);
  });

  it('reads a commit log longer than one listing page (1,000 keys) in bounded plans until caught up', async () => {
    const base = new Date('2026-12-07T00:00:00Z').getTime();
    for (let i = 0; i < 1200; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          commit(new Date(base + (i + j) * 1000), `bulk${i + j}`, '2026-12-07'),
        ),
      );
    }
    now = new Date(base + 3 * 3600_000);
    let merged = 0;
    let plans = 0;
    for (;;) {
      const plan = await planner().plan(contract, TABLES);
      merged += plan.commits;
      plans += 1;
      await planner().commit(contract, plan.next);
      if (!plan.more) break;
    }
    expect(merged).toBe(1200);
    // 700 listed and 500 left; a plan takes what fits its filter budget (each commit counted once per MERGE
    // its partitions may spread over).
    expect(plans).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
