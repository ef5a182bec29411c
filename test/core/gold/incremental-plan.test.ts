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
  runOfLocation,
  widen,
  withPending,
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
  /** Why this run (at LOCATION) rebuilds fully given the stored state, if it does. */
  const reason = (s: IncrementalState | undefined, fullRefresh = false) =>
    fullRefreshReason({ fullRefresh, state: s, hash, now, location: LOCATION });
  test('full when asked, on the first run, when the model changed or the state is older than 25 days', () => {
    expect(reason(state({}), true)).toMatch(/requested/);
    expect(reason(undefined)).toBe('first run');
    expect(reason(state({}, { modelHash: 'x' }))).toMatch(/model changed/);
    expect(reason(state({}, { updatedAt: '2026-02-01T00:00:00.000Z' }))).toMatch(/29 days ago/);
    expect(reason(state({}))).toBeUndefined();
  });
  test('full after another run stopped while publishing (its pending mark), before any other stored reason', () => {
    const run1 = 's3://gold/daily/v=run1/';
    const stopped = (locations: string[], over: Partial<IncrementalState> = {}) =>
      state({}, { pending: { locations, dates: ['2026-01-04'] }, ...over });
    expect(reason(stopped([run1]))).toBe(`a previous run stopped while publishing (${run1})`);
    expect(reason(stopped([run1, LOCATION]))).toBe(`a previous run stopped while publishing (${run1})`);
    expect(reason(stopped([run1], { modelHash: 'x' }))).toBe(
      `a previous run stopped while publishing (${run1})`,
    );
    expect(reason(stopped([run1]), true)).toBe('full refresh requested');
    // This run's own mark (only a run planned again could see it) is not a stopped run.
    expect(reason(stopped([LOCATION]))).toBeUndefined();
    // A state holding only a mark (a first run that stopped, planned again) has no successful run behind it.
    const markOnly: IncrementalState = {
      modelHash: '',
      sources: {},
      partitions: {},
      updatedAt: now.toISOString(),
      pending: { locations: [LOCATION], dates: [] },
    };
    expect(reason(markOnly)).toBe('first run');
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
    const unload = parseUnload(plan.statements[0] as string);
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
      const u = parseUnload(s as string);
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
    const selects = plan.statements.map((s) => parseUnload(s as string)?.select ?? '');
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
        // Lineage: the run whose version holds the partition.
        Parameters: { 'medallion.run': runOfLocation(LOCATION) },
      },
    });
    expect(runOfLocation(LOCATION)).toEqual(expect.stringMatching(/^[^/]+$/));
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
  test('a run that stops while publishing is recorded first, rebuilt fully next, and its version kept until then', () => {
    const now = new Date('2026-03-02T00:00:00Z');
    const before = state({ '2026-01-03': 's3://gold/daily/v=run1/0/d=2026-01-03/' });
    const plan = { mode: 'full' as const, dates: [] };
    const batches = publishBatches({ spec, plan, state: before, written });
    // Before run2's first Glue call: run2 and every date it touches are pending, the rest of the state kept.
    const pending = withPending({ state: before, location: LOCATION, batches, now }) as IncrementalState;
    expect(pending).toEqual({
      ...before,
      pending: { locations: [LOCATION], dates: ['2026-01-03', '2026-01-04', '2026-01-05'] },
    });
    expect(withPending({ state: pending, location: LOCATION, batches, now })).toBeUndefined(); // a retry
    expect(referencedVersions(pending)).toEqual(new Set(['run1', 'run2']));
    // run2 stopped. run3 plans: a full rebuild, whatever the run asked for.
    const run3 = 's3://gold/daily/v=run3/';
    expect(
      fullRefreshReason({ fullRefresh: false, state: pending, hash: modelHash(spec), now, location: run3 }),
    ).toBe(`a previous run stopped while publishing (${LOCATION})`);
    // run3 writes only 2026-01-05: the dates run2 may have registered and run3 did not write are deleted.
    const written3 = new Map([['2026-01-05', `${run3}0/d=2026-01-05/`]]);
    const batches3 = publishBatches({ spec, plan, state: pending, written: written3 });
    expect(batches3.flatMap((b) => b.delete.map((d) => d.Values[0]))).toEqual(['2026-01-03', '2026-01-04']);
    // run3 stops too: both runs stay pending, their dates together.
    const both = withPending({ state: pending, location: run3, batches: batches3, now }) as IncrementalState;
    expect(both.pending).toEqual({
      locations: [LOCATION, run3],
      dates: ['2026-01-03', '2026-01-04', '2026-01-05'],
    });
    expect(referencedVersions(both)).toEqual(new Set(['run1', 'run2', 'run3']));
    // run4's commit clears it: retention may now delete run1 to run3.
    const run4 = 's3://gold/daily/v=run4/';
    const after = nextState({
      spec,
      plan: { ...plan, sources },
      state: both,
      written: new Map([['2026-01-05', `${run4}0/d=2026-01-05/`]]),
      now,
    });
    expect(after.pending).toBeUndefined();
    expect(referencedVersions(after)).toEqual(new Set(['run4']));
  });
  test('a first run that stops while publishing leaves a state that only says so', () => {
    const now = new Date('2026-03-02T00:00:00Z');
    const batches = publishBatches({ spec, plan: { mode: 'full', dates: [] }, state: undefined, written });
    const pending = withPending({ state: undefined, location: LOCATION, batches, now }) as IncrementalState;
    expect(pending).toMatchObject({ sources: {}, partitions: {}, pending: { locations: [LOCATION] } });
    const run3 = 's3://gold/daily/v=run3/';
    expect(
      fullRefreshReason({ fullRefresh: false, state: pending, hash: modelHash(spec), now, location: run3 }),
    ).toBe(`a previous run stopped while publishing (${LOCATION})`);
    const after = nextState({
      spec,
      plan: { mode: 'full', dates: [], sources },
      state: pending,
      written,
      now,
    });
    expect(after).toEqual({
      modelHash: modelHash(spec),
      sources,
      partitions: Object.fromEntries(written),
      updatedAt: now.toISOString(),
    });
  });
  test('an unchanged run publishes nothing', () => {
    expect(
      publishBatches({ spec, plan: { mode: 'unchanged', dates: [] }, state: state({}), written }),
    ).toEqual([]);
  });
});
