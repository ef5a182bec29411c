import { commitLogKey } from '../../../core/lake/layout';
import {
  type CommitEntry,
  DEFAULT_PLAN_SETTINGS,
  planIncrementalMerge,
  planRebuild,
  rebuildSource,
} from '../../../core/silver/current-state-plan';
import { itemsContract } from '../../support/items-contract';

const contract = itemsContract();
const NOW = new Date('2026-12-06T12:00:00Z');
const at = (minutesAgo: number) => new Date(NOW.getTime() - minutesAgo * 60_000);

function commit(minutesAgo: number, id: string, partitions: string[]) {
  const entry: CommitEntry = {
    sourceId: id,
    bronzeKey: `shop/items/ingest_date=2026-12-06/${id}.csv`,
    partitions,
    rows: 1,
    committedAt: at(minutesAgo).toISOString(),
  };
  return { key: commitLogKey('shop', 'items', at(minutesAgo), id), entry };
}

describe('planIncrementalMerge', () => {
  it('merges nothing and keeps the watermark where it was when no commit is new', () => {
    const plan = planIncrementalMerge({ contract, ddl: [], entries: [], listedAll: true, now: NOW });
    expect(plan).toMatchObject({ statements: [], commits: 0, more: false });
    expect(plan.next.after).toBe('_commits/shop/items/');
  });

  it('reads exactly the committed files and partitions, and trails the present by the overlap', () => {
    const entries = [commit(30, 'a', ['2026-12-01']), commit(1, 'b', ['2026-12-01', '2026-12-05'])];
    const plan = planIncrementalMerge({ contract, ddl: [], entries, listedAll: true, now: NOW });
    expect(plan).toMatchObject({ commits: 2, partitions: 2, more: false });
    // The history append, the current-state merge, then the maintenance of both where they wrote.
    expect(plan.statements).toHaveLength(6);
    expect(plan.statements[0]).toMatch(
      /^MERGE INTO "items_history" AS t\nUSING \(\nSELECT .*\nFROM "items_arrivals"/s,
    );
    expect(plan.statements[1]).toMatch(/^MERGE INTO "items" AS t/);
    expect(plan.statements.slice(2)).toEqual([
      `OPTIMIZE "items_history" REWRITE DATA USING BIN_PACK WHERE "dt" IN ('2026-12-01', '2026-12-05')`,
      'VACUUM "items_history"',
      `OPTIMIZE "items" REWRITE DATA USING BIN_PACK WHERE "dt" IN ('2026-12-01', '2026-12-05')`,
      'VACUUM "items"',
    ]);
    for (const merge of plan.statements.slice(0, 2)) {
      expect(merge).toContain(`"dt" IN ('2026-12-01', '2026-12-05')`);
      expect(merge).toContain('shop/items/ingest_date=2026-12-06/a.csv');
    }
    // The history's partitions are recorded, as runs (what a rebuild of the current state reads).
    expect(plan.next.historyPartitions).toEqual([
      ['2026-12-01', '2026-12-01'],
      ['2026-12-05', '2026-12-05'],
    ]);
    // The commit 1 minute old lies inside the 5-minute overlap: the next plan reads it again.
    expect(plan.next.after).toBe('_commits/shop/items/20261206T115500000Z');
    expect(plan.next.after > entries[0].key && plan.next.after < entries[1].key).toBe(true);
  });

  it('takes back what re-run objects retracted, after every merge and before the maintenance', () => {
    const rerun = commit(20, 'b', ['2026-12-02']);
    const entries = [commit(30, 'a', ['2026-12-01']), { ...rerun, entry: { ...rerun.entry, rerun: true } }];
    const plan = planIncrementalMerge({ contract, ddl: [], entries, listedAll: true, now: NOW });
    const [append, merge, retraction, ...maintenance] = plan.statements;
    expect([append, merge]).toEqual([
      expect.stringMatching(/^MERGE INTO "items_history"/),
      expect.stringMatching(/^MERGE INTO "items" AS t/),
    ]);
    expect(retraction).toMatch(/^MERGE INTO "items" AS t\nUSING \(\nSELECT .*_gone/s);
    // Only the re-run object's versions are looked for.
    expect(retraction).toContain('ingest_date=2026-12-06/b.csv');
    expect(retraction).not.toContain('ingest_date=2026-12-06/a.csv');
    expect(maintenance[0]).toMatch(/^OPTIMIZE/);
    // Without a re-run, no retraction.
    const plain = planIncrementalMerge({
      contract,
      ddl: [],
      entries: entries.slice(0, 1),
      listedAll: true,
      now: NOW,
    });
    expect(plain.statements.filter((x) => x.includes('_gone'))).toEqual([]);
  });

  it('stops at the filter budget, says there is more, and resumes right after the last commit taken', () => {
    const entries = Array.from({ length: 50 }, (_, i) =>
      commit(60 - i, `c${String(i).padStart(2, '0')}`, ['2026-12-01']),
    );
    const plan = planIncrementalMerge({
      contract,
      ddl: [],
      entries,
      listedAll: true,
      now: NOW,
      settings: { ...DEFAULT_PLAN_SETTINGS, maxFilterBytes: 2000 },
    });
    expect(plan.more).toBe(true);
    expect(plan.commits).toBeGreaterThan(0);
    expect(plan.commits).toBeLessThan(50);
    expect(plan.next.after).toBe(entries[plan.commits - 1].key);
  });

  it('splits a commit spanning more partitions than one MERGE may write (Athena: 100) into several MERGEs', () => {
    const days = Array.from({ length: 120 }, (_, i) =>
      new Date(Date.UTC(2025, 0, 1 + i)).toISOString().slice(0, 10),
    );
    const plan = planIncrementalMerge({
      contract,
      ddl: [],
      entries: [commit(60, 'backfill', days), commit(59, 'one', [days[119]])],
      listedAll: true,
      now: NOW,
    });
    expect(plan).toMatchObject({ commits: 2, partitions: 120, more: false });
    const merges = plan.statements.filter((st) => st.startsWith('MERGE INTO "items" '));
    expect(merges).toHaveLength(3);
    expect(plan.statements.filter((st) => st.startsWith('MERGE INTO "items_history"'))).toHaveLength(3);
    expect(plan.statements.filter((st) => st.startsWith('OPTIMIZE'))).toHaveLength(6);
    expect(plan.next.historyPartitions).toEqual([[days[0], days[119]]]);
    const dtLists = merges.map((st) => (/"dt" IN \(([^)]*)\)/.exec(st)?.[1] ?? '').split(', '));
    expect(dtLists.map((l) => l.length)).toEqual([50, 50, 20]);
    expect(dtLists.flat()).toEqual(days.map((d) => `'${d}'`));
    // The other commit is read only where it wrote.
    expect(merges.map((st) => st.includes('/one.csv'))).toEqual([false, false, true]);
  });

  it('says there is more when the listing was cut, even if every listed commit fits', () => {
    const plan = planIncrementalMerge({
      contract,
      ddl: [],
      entries: [commit(60, 'a', ['2026-12-01'])],
      listedAll: false,
      now: NOW,
    });
    expect(plan).toMatchObject({ more: true, commits: 1 });
  });

  it('never moves the watermark back before where the plan started', () => {
    const watermark = { after: '_commits/shop/items/20261206T115900000Z', updatedAt: NOW.toISOString() };
    const plan = planIncrementalMerge({
      contract,
      ddl: [],
      watermark,
      entries: [commit(0, 'z', ['2026-12-06'])],
      listedAll: true,
      now: NOW,
    });
    expect(plan.next.after).toBe(watermark.after);
  });
});

describe('planRebuild', () => {
  const days = Array.from({ length: 70 }, (_, i) =>
    new Date(Date.UTC(2026, 0, 1 + i)).toISOString().slice(0, 10),
  );
  const settings = {
    ...DEFAULT_PLAN_SETTINGS,
    rebuildPartitionsPerMerge: 10,
    rebuildMergesPerPlan: 3,
  };

  it('reads the arrivals without a history table, a watermark, or a trusted commit log; the history when only the current state is missing', () => {
    const w = {
      after: 'x',
      historyPartitions: [['2026-01-01', '2026-01-31'] as const],
      updatedAt: NOW.toISOString(),
    };
    const both = { history: true, current: true };
    expect(rebuildSource({ history: false, current: true }, w, NOW)).toBe('arrivals');
    expect(rebuildSource(both, undefined, NOW)).toBe('arrivals');
    expect(rebuildSource({ history: true, current: false }, w, NOW)).toBe('history');
    // Without the history's partitions on record, only the arrivals can say which partitions exist.
    expect(
      rebuildSource({ history: true, current: false }, { ...w, historyPartitions: undefined }, NOW),
    ).toBe('arrivals');
    // A rebuild under way goes on from what it reads.
    expect(rebuildSource(both, { ...w, rebuiltThrough: '2026-01-01' }, NOW)).toBe('arrivals');
    expect(rebuildSource(both, { ...w, rebuiltThrough: '2026-01-01', rebuildFrom: 'history' }, NOW)).toBe(
      'history',
    );
    expect(rebuildSource(both, w, NOW)).toBeUndefined();
    // The log expires after COMMIT_LOG_RETENTION_DAYS (30): a watermark 24 days old is trusted, 26 days not.
    const daysLater = (d: number) => new Date(NOW.getTime() + d * 86_400_000);
    expect(rebuildSource(both, w, daysLater(24))).toBeUndefined();
    expect(rebuildSource(both, w, daysLater(26))).toBe('arrivals');
  });

  it('from the history: merges the current state only, and keeps the history untouched', () => {
    const plan = planRebuild({
      contract,
      ddl: [],
      from: 'history',
      partitions: days.slice(0, 5),
      now: NOW,
      settings,
    });
    expect(plan.statements.map((st) => st.split('\n')[0])).toEqual([
      'MERGE INTO "items" AS t',
      `OPTIMIZE "items" REWRITE DATA USING BIN_PACK WHERE "dt" IN (${days
        .slice(0, 5)
        .map((d) => `'${d}'`)
        .join(', ')})`,
      'VACUUM "items"',
    ]);
    expect(plan.statements[0]).toContain('FROM "items_history"');
  });

  it('merges every history partition in bounded plans, DDL first, then resumes the commit log from its start', () => {
    const ddl = ['CREATE TABLE IF NOT EXISTS `items` ...'];
    const first = planRebuild({ contract, ddl, from: 'arrivals', partitions: days, now: NOW, settings });
    expect(first).toMatchObject({ mode: 'rebuild', partitions: 30, more: true });
    expect(first.statements[0]).toBe(ddl[0]);
    // DDL, 3 x (history append + merge) of 10 partitions, then OPTIMIZE (30 partitions, one statement)
    // and VACUUM of each table.
    expect(first.statements).toHaveLength(11);
    expect(first.statements.slice(7).map((st) => st.split(' ').slice(0, 2).join(' '))).toEqual([
      'OPTIMIZE "items_history"',
      'VACUUM "items_history"',
      'OPTIMIZE "items"',
      'VACUUM "items"',
    ]);
    expect(first.statements[1]).toContain("'2026-01-01'");
    expect(first.statements[1]).toContain('MERGE INTO "items_history"');
    expect(first.next).toMatchObject({
      after: '_commits/shop/items/20261206T115500000Z',
      rebuiltThrough: '2026-01-30',
      rebuildFrom: 'arrivals',
      historyPartitions: [['2026-01-01', '2026-01-30']],
    });

    const later = new Date(NOW.getTime() + 3600_000);
    const second = planRebuild({
      contract,
      ddl: [],
      watermark: first.next,
      from: 'arrivals',
      partitions: days,
      now: later,
      settings,
    });
    expect(second).toMatchObject({ partitions: 30, more: true });
    expect(second.statements[0]).toContain("'2026-01-31'");
    const third = planRebuild({
      contract,
      ddl: [],
      watermark: second.next,
      from: 'arrivals',
      partitions: days,
      now: later,
      settings,
    });
    expect(third).toMatchObject({ partitions: 10, more: false });
    // Done: back to the commit log, from where the rebuild started (commits made meanwhile are merged).
    expect(third.next).toEqual({
      after: first.next.after,
      // Gold models may read the commits up to there: no newer commit was given, so the rebuild's start.
      mergedThrough: first.next.after,
      historyPartitions: [[days[0], days[69]]],
      updatedAt: later.toISOString(),
    });
  });

  it('only creates the tables when the history is empty', () => {
    const plan = planRebuild({
      contract,
      ddl: ['CREATE ...'],
      from: 'arrivals',
      partitions: [],
      now: NOW,
      settings,
    });
    expect(plan).toMatchObject({ statements: ['CREATE ...'], partitions: 0, more: false });
  });
});

describe('mergedThrough (what incremental gold models may read)', () => {
  it('after an incremental merge: the newest commit merged, never going back', () => {
    const older = commit(10, 'a', ['2026-01-01']);
    const newer = commit(1, 'b', ['2026-01-01']);
    const watermark = {
      after: commit(20, 'x', []).key,
      mergedThrough: older.key,
      updatedAt: NOW.toISOString(),
    };
    const merged = planIncrementalMerge({
      contract,
      watermark,
      ddl: [],
      entries: [newer],
      listedAll: true,
      now: NOW,
    });
    expect(merged.next.mergedThrough).toBe(newer.key);
    const none = planIncrementalMerge({
      contract,
      watermark,
      ddl: [],
      entries: [],
      listedAll: true,
      now: NOW,
    });
    expect(none.next.mergedThrough).toBe(older.key);
  });
  it('after a rebuild: the newest commit when it started', () => {
    const newest = commit(1, 'b', ['2026-01-01']).key;
    const plan = planRebuild({
      contract,
      ddl: [],
      from: 'arrivals',
      partitions: ['2026-01-01'],
      newestCommit: newest,
      now: NOW,
    });
    expect(plan.next.mergedThrough).toBe(newest);
  });
});
