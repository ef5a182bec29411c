/**
 * Incremental gold planning: modes, the dates recomputed, Athena's 100-partition limit per write, the
 * Glue batches of the publication, the state after it, and the versions retention must keep.
 */
import {
  addDays,
  fullRefreshReason,
  type IncrementalModelSpec,
  type IncrementalState,
  MAX_PARTITIONS_PER_DELETE,
  modelHash,
  nextState,
  planFull,
  planIncremental,
  publishBatches,
  referencedVersions,
  widen,
  writtenPartitions,
} from '../../../core/gold/incremental-plan';
import { WINDOW_MARKER } from '../../../core/gold/models';
import { parseUnload } from '../../../core/gold/unload';

const LOCATION = 's3://gold/daily/v=run2/';
const spec: IncrementalModelSpec = {
  name: 'daily',
  sql: 'SELECT d, n FROM "db"."orders"',
  windowSql: `SELECT d, n FROM (SELECT * FROM "db"."orders" WHERE "dt" IN (${WINDOW_MARKER}))`,
  column: 'd',
  lookbackDays: 1,
  alignedTables: ['orders'],
  otherTables: [],
  outputColumns: ['n', 'd'],
  columns: [{ Name: 'n', Type: 'bigint' }],
};
const sources = { orders: { after: 'a', through: 'b' } };
const days = (from: string, n: number) => Array.from({ length: n }, (_, i) => addDays(from, i));
const state = (
  partitions: Record<string, string>,
  over: Partial<IncrementalState> = {},
): IncrementalState => ({
  modelHash: modelHash(spec),
  sources,
  partitions,
  updatedAt: '2026-03-01T00:00:00.000Z',
  ...over,
});

describe('dates', () => {
  test('addDays crosses months and years; widen keeps each day within the lookback, once, sorted', () => {
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(widen(['2026-01-05', '2026-01-06'], 1)).toEqual([
      '2026-01-04',
      '2026-01-05',
      '2026-01-06',
      '2026-01-07',
    ]);
    expect(() => addDays('2026-13-01', 1)).toThrow(/not a day/);
  });
});

describe('mode', () => {
  const now = new Date('2026-03-02T00:00:00Z');
  const hash = modelHash(spec);
  test('full when asked, on the first run, when the model changed or the state is older than 25 days', () => {
    expect(fullRefreshReason({ fullRefresh: true, state: state({}), hash, now })).toMatch(/requested/);
    expect(fullRefreshReason({ fullRefresh: false, state: undefined, hash, now })).toBe('first run');
    expect(
      fullRefreshReason({ fullRefresh: false, state: state({}, { modelHash: 'x' }), hash, now }),
    ).toMatch(/model changed/);
    const old = state({}, { updatedAt: '2026-02-01T00:00:00.000Z' });
    expect(fullRefreshReason({ fullRefresh: false, state: old, hash, now })).toMatch(/29 days ago/);
    expect(fullRefreshReason({ fullRefresh: false, state: state({}), hash, now })).toBeUndefined();
  });
  test('the hash follows the SQL, the columns and the lookback', () => {
    expect(modelHash({ ...spec, lookbackDays: 2 })).not.toBe(hash);
    expect(modelHash({ ...spec, sql: `${spec.sql} ` })).not.toBe(hash);
    expect(modelHash({ ...spec })).toBe(hash);
  });
});

describe('incremental plan', () => {
  test('recomputes the changed days within the lookback, reading the source window around them', () => {
    const plan = planIncremental({ spec, location: LOCATION, changedPartitions: ['2026-01-05'], sources });
    expect(plan.mode).toBe('incremental');
    expect(plan.dates).toEqual(['2026-01-04', '2026-01-05', '2026-01-06']);
    expect(plan.statements).toHaveLength(1);
    const unload = parseUnload(plan.statements[0]);
    expect(unload?.location).toBe(`${LOCATION}0/`);
    expect(unload?.partitionedBy).toEqual(['d']);
    expect(unload?.select).toContain(
      `"dt" IN ('2026-01-03', '2026-01-04', '2026-01-05', '2026-01-06', '2026-01-07')`,
    );
    expect(unload?.select).toContain(
      `WHERE "d" IN (DATE '2026-01-04', DATE '2026-01-05', DATE '2026-01-06')`,
    );
    // The date column is written last (a partitioned write needs it so).
    expect(unload?.select.split('\n')[0]).toBe('SELECT "n", "d"');
  });
  test('nothing changed: unchanged, no statement', () => {
    const plan = planIncremental({ spec, location: LOCATION, changedPartitions: [], sources });
    expect(plan).toMatchObject({ mode: 'unchanged', statements: [], dates: [] });
  });
  test('a year of changed days is written 100 partitions per statement, each under its own prefix', () => {
    const plan = planIncremental({
      spec,
      location: LOCATION,
      changedPartitions: days('2025-01-01', 365),
      sources,
    });
    expect(plan.dates).toHaveLength(367);
    expect(plan.statements).toHaveLength(4);
    const written = plan.statements.map((s) => {
      const u = parseUnload(s);
      return { location: u?.location, dates: u?.select.match(/DATE '[\d-]+'/g)?.length };
    });
    expect(written).toEqual([
      { location: `${LOCATION}0/`, dates: 100 },
      { location: `${LOCATION}1/`, dates: 100 },
      { location: `${LOCATION}2/`, dates: 100 },
      { location: `${LOCATION}3/`, dates: 67 },
    ]);
  });
});

describe('full plan', () => {
  test('covers every date with ranges of at most 100 candidates, open at both ends, no NULL date', () => {
    const plan = planFull({
      spec,
      location: LOCATION,
      sourcePartitions: days('2025-01-01', 365),
      sources,
      reason: 'first run',
    });
    expect(plan.mode).toBe('full');
    expect(plan.statements).toHaveLength(4);
    const selects = plan.statements.map((s) => parseUnload(s)?.select ?? '');
    expect(selects[0]).toMatch(/WHERE "d" IS NOT NULL AND "d" <= DATE '2025-04-09'$/);
    expect(selects[1]).toMatch(
      /WHERE "d" IS NOT NULL AND "d" > DATE '2025-04-09' AND "d" <= DATE '2025-07-18'$/,
    );
    expect(selects[3]).toMatch(/WHERE "d" IS NOT NULL AND "d" > DATE '2025-10-26'$/);
    // Each batch reads the source partitions within the lookback of its range only.
    const window = (s: string) => (/"dt" IN \(([^)]*)\)/.exec(s)?.[1] ?? '').split(', ');
    expect(window(selects[1])[0]).toBe("'2025-04-09'");
    expect(window(selects[1]).at(-1)).toBe("'2025-07-19'");
    const total = selects.reduce((n, s) => n + window(s).length, 0);
    expect(total).toBeLessThanOrEqual(365 + 2 * 3);
  });
  test('no source partition: nothing to write', () => {
    const plan = planFull({ spec, location: LOCATION, sourcePartitions: [], sources, reason: 'first run' });
    expect(plan.statements).toEqual([]);
  });
});

describe('publication', () => {
  const written = writtenPartitions(LOCATION, 'd', [
    '0/d=2026-01-04/',
    '0/d=2026-01-05/',
    '0/other/',
    '1/x=1/',
  ]);
  test('reads the dates written from the batch prefixes', () => {
    expect([...written]).toEqual([
      ['2026-01-04', `${LOCATION}0/d=2026-01-04/`],
      ['2026-01-05', `${LOCATION}0/d=2026-01-05/`],
    ]);
    expect(() => writtenPartitions(LOCATION, 'd', ['0/d=2026-01-04/', '1/d=2026-01-04/'])).toThrow(
      /two statements/,
    );
  });
  test('creates and updates what was written; deletes recomputed dates left without rows', () => {
    const before = state({ '2026-01-03': 'old3', '2026-01-04': 'old4', '2026-01-06': 'old6' });
    const plan = { mode: 'incremental' as const, dates: ['2026-01-04', '2026-01-05', '2026-01-06'] };
    const batches = publishBatches({ spec, plan, state: before, written });
    expect(batches).toHaveLength(2);
    expect(batches[0].create.map((p) => p.Values)).toEqual([['2026-01-04'], ['2026-01-05']]);
    expect(batches[0].update[0]).toMatchObject({
      PartitionValueList: ['2026-01-04'],
      PartitionInput: {
        StorageDescriptor: {
          Location: `${LOCATION}0/d=2026-01-04/`,
          Columns: [{ Name: 'n', Type: 'bigint' }],
        },
      },
    });
    expect(batches[1]).toEqual({ create: [], update: [], delete: [{ Values: ['2026-01-06'] }] });
    const after = nextState({
      spec,
      plan: { ...plan, sources },
      state: before,
      written,
      now: new Date('2026-03-02T00:00:00Z'),
    });
    expect(after.partitions).toEqual({
      '2026-01-03': 'old3',
      '2026-01-04': `${LOCATION}0/d=2026-01-04/`,
      '2026-01-05': `${LOCATION}0/d=2026-01-05/`,
    });
  });
  test('a full rebuild deletes every published date it did not write, 25 per call', () => {
    const before = state(
      Object.fromEntries(days('2025-01-01', 60).map((d) => [d, `s3://gold/daily/v=run1/0/d=${d}/`])),
    );
    const batches = publishBatches({ spec, plan: { mode: 'full', dates: [] }, state: before, written });
    const deletes = batches.flatMap((b) => b.delete);
    expect(deletes).toHaveLength(60);
    expect(Math.max(...batches.map((b) => b.delete.length))).toBe(MAX_PARTITIONS_PER_DELETE);
    const after = nextState({
      spec,
      plan: { mode: 'full', dates: [], sources },
      state: before,
      written,
      now: new Date(),
    });
    expect(Object.keys(after.partitions)).toEqual(['2026-01-04', '2026-01-05']);
    expect(referencedVersions(before)).toEqual(new Set(['run1']));
    expect(referencedVersions(after)).toEqual(new Set(['run2']));
  });
  test('an unchanged run publishes nothing', () => {
    expect(
      publishBatches({ spec, plan: { mode: 'unchanged', dates: [] }, state: state({}), written }),
    ).toEqual([]);
  });
});
