/**
 * Incremental gold against an oracle: 20 random arrivals (seeded) of new sales, re-sent versions, sales
 * moved to a neighbouring day and older versions arriving late land one after the other on one lake; after
 * each, the incremental model's gold table must equal the full rebuild computed independently (latest
 * version per sale, in JavaScript), fingerprint for fingerprint. Each run must recompute only dates next to
 * the arrival's days; a final `fullRefresh` run must change nothing, nor must a replay of the dataset
 * (history rebuilt without duplicates, gold days recomputed). A full rebuild that stops after switching its
 * partitions, before its commit, is rebuilt by the next run instead of being lost to retention.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rng } from '../../bench/generate-orders';
import { addDays, type IncrementalState, widen } from '../../core/gold/incremental-plan';
import { IncrementalPlanner } from '../../lambdas/gold-planner/incremental-planner';
import { runPipeline } from '../../local/commands/pipeline';
import { runQuery } from '../../local/commands/query';
import { replay } from '../../local/commands/replay';
import type { PipelineReport } from '../../local/report/pipeline-report';
import { freePort } from '../support/free-port';

const FIXTURES = join(__dirname, 'fixtures', 'incremental-gold');
const contractsDir = join(FIXTURES, 'contracts');
const modelsDir = join(FIXTURES, 'models');
const ARRIVALS = 20;

interface Sale {
  sale_id: string;
  order_ts: string;
  updated_at: string;
  store: string;
  /** In cents. */
  amount: number;
  status: string;
}

/** The arrivals: each a list of versions; `latest` is what a full rebuild sees after each. */
function arrivals(seed: number): Sale[][] {
  const random = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
  const latest = new Map<string, Sale>();
  let clock = Date.parse('2026-02-01T00:00:00Z');
  const tick = () => {
    clock += 1000 + Math.floor(random() * 60_000);
    return new Date(clock).toISOString();
  };
  const ts = (day: string) =>
    `${day}T${String(Math.floor(random() * 24)).padStart(2, '0')}:${String(Math.floor(random() * 60)).padStart(2, '0')}:00Z`;
  const out: Sale[][] = [];
  let next = 1;
  for (let i = 0; i < ARRIVALS; i++) {
    const file: Sale[] = [];
    for (let n = 2 + Math.floor(random() * 5); n > 0; n--) {
      const sale: Sale = {
        sale_id: `S${next++}`,
        order_ts: ts(addDays('2026-01-01', Math.floor(random() * 15))),
        updated_at: tick(),
        store: pick(['north', 'south', 'east']),
        amount: 100 + Math.floor(random() * 50_000),
        status: 'placed',
      };
      file.push(sale);
    }
    const known = [...latest.values()];
    for (let n = Math.floor(random() * 4); n > 0 && known.length > 0; n--) {
      const prev = pick(known);
      const change = random();
      const version: Sale = { ...prev, updated_at: tick() };
      if (change < 0.3) version.status = 'cancelled';
      else if (change < 0.6) version.amount = prev.amount + 100;
      else if (change < 0.8)
        version.order_ts = ts(addDays(prev.order_ts.slice(0, 10), random() < 0.5 ? -1 : 1));
      else version.status = 'shipped';
      if (!file.some((s) => s.sale_id === version.sale_id)) file.push(version);
    }
    if (known.length > 0 && random() < 0.5) {
      // An older version arriving late: it must not win, wherever it lies.
      const prev = pick(known);
      if (!file.some((s) => s.sale_id === prev.sale_id)) {
        file.push({
          ...prev,
          updated_at: new Date(Date.parse(prev.updated_at) - 500).toISOString(),
          order_ts: ts(addDays(prev.order_ts.slice(0, 10), 3)),
          amount: 1,
        });
      }
    }
    for (const s of file) {
      const cur = latest.get(s.sale_id);
      if (!cur || s.updated_at > cur.updated_at) latest.set(s.sale_id, s);
    }
    out.push(file);
  }
  return out;
}

/** The full rebuild of `daily_totals` from the latest versions: rows as strings, sorted. */
function oracle(latest: Iterable<Sale>): string[] {
  const groups = new Map<string, { sales: number; cents: number }>();
  for (const s of latest) {
    if (s.status === 'cancelled') continue;
    const key = `${s.order_ts.slice(0, 10)}|${s.store}`;
    const g = groups.get(key) ?? { sales: 0, cents: 0 };
    g.sales += 1;
    g.cents += s.amount;
    groups.set(key, g);
  }
  return [...groups].map(([k, g]) => `${k}|${g.sales}|${(g.cents / 100).toFixed(2)}`).sort();
}

const fingerprint = (rows: string[]) => createHash('sha256').update(rows.join('\n')).digest('hex');
const csv = (sales: Sale[]) =>
  [
    'sale_id,order_ts,updated_at,store,amount,status',
    ...sales.map(
      (s) =>
        `${s.sale_id},${s.order_ts},${s.updated_at},${s.store},${(s.amount / 100).toFixed(2)},${s.status}`,
    ),
  ].join('\n');

describe('incremental gold equals a full rebuild', () => {
  let dir: string;
  let state: string;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-incremental-'));
    state = join(dir, 'state');
    port = await freePort();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (dataDir: string, keepState: boolean, fullRefresh = false): Promise<PipelineReport> =>
    runPipeline({
      contractsDir,
      modelsDir,
      dataDir,
      stateDir: state,
      keepState,
      fullRefresh,
      port,
      apiPort: 0,
      out: () => {},
    });
  const gold = async () =>
    (
      await runQuery(
        "SELECT strftime(sales_date, '%Y-%m-%d') || '|' || store || '|' || CAST(sales AS VARCHAR) || '|' || CAST(amount AS VARCHAR) AS r FROM daily_totals",
        { stateDir: state, contractsDir },
      )
    ).rows
      .map((r) => String(r.r))
      .sort();

  test(`after each of ${ARRIVALS} random arrivals, the gold table's fingerprint is the full rebuild's`, async () => {
    const latest = new Map<string, Sale>();
    const modes: string[] = [];
    for (const [i, file] of arrivals(20261206).entries()) {
      const dataDir = join(dir, 'arrivals', String(i));
      mkdirSync(join(dataDir, 'sales'), { recursive: true });
      writeFileSync(join(dataDir, 'sales', `arrival-${String(i).padStart(2, '0')}.csv`), `${csv(file)}\n`);
      const report = await run(dataDir, i > 0);
      expect(report.gold?.status).toBe('SUCCEEDED');
      for (const s of file) {
        const cur = latest.get(s.sale_id);
        if (!cur || s.updated_at > cur.updated_at) latest.set(s.sale_id, s);
      }
      const plan = report.gold?.tables.daily_totals?.plan;
      modes.push(plan?.mode ?? '?');
      if (i > 0) {
        // Only the days next to the arrival's days are recomputed (lookback 1 day on each side, twice).
        const days = new Set(file.map((s) => s.order_ts.slice(0, 10)));
        expect({ arrival: i, mode: plan?.mode, bounded: (plan?.dates ?? Infinity) <= days.size * 3 }).toEqual(
          {
            arrival: i,
            mode: 'incremental',
            bounded: true,
          },
        );
      }
      expect({ arrival: i, fingerprint: fingerprint(await gold()) }).toEqual({
        arrival: i,
        fingerprint: fingerprint(oracle(latest.values())),
      });
    }
    expect(modes[0]).toBe('full');
    // A full rebuild on the same lake (the last file again: bronze holds it already) publishes the same rows.
    const rebuilt = await run(join(dir, 'arrivals', String(ARRIVALS - 1)), true, true);
    expect(rebuilt.gold?.tables.daily_totals?.plan?.mode).toBe('full');
    expect(fingerprint(await gold())).toBe(fingerprint(oracle(latest.values())));

    // Replay rebuilds the history from bronze; the next run re-merges the current state and recomputes the
    // replayed days' gold partitions: same rows, no duplicate version.
    const replayed = await replay({ dataset: 'sales', stateDir: state, contractsDir, port, out: () => {} });
    expect(replayed.transformed).toBe(ARRIVALS);
    const after = await run(join(dir, 'arrivals', String(ARRIVALS - 1)), true);
    expect(after.gold?.tables.daily_totals?.plan?.mode).toBe('incremental');
    expect(fingerprint(await gold())).toBe(fingerprint(oracle(latest.values())));
    const versions = arrivals(20261206).reduce((n, file) => n + file.length, 0);
    const history = await runQuery('SELECT count(*) AS n FROM sales_history', {
      stateDir: state,
      contractsDir,
    });
    expect(Number(history.rows[0].n)).toBe(versions);
  }, 600_000);

  test('a full rebuild stopped after switching its partitions, before its commit, makes the next run rebuild fully', async () => {
    // A lake of its own in the same state directory (the handlers read their configuration once per process).
    const arrivalsDir = join(dir, 'stopped-run');
    const latest = new Map<string, Sale>();
    const land = (i: number, file: Sale[]) => {
      const dataDir = join(arrivalsDir, String(i));
      mkdirSync(join(dataDir, 'sales'), { recursive: true });
      writeFileSync(join(dataDir, 'sales', `arrival-${i}.csv`), `${csv(file)}\n`);
      for (const s of file) {
        const cur = latest.get(s.sale_id);
        if (!cur || s.updated_at > cur.updated_at) latest.set(s.sale_id, s);
      }
      return dataDir;
    };
    const storedState = (report: PipelineReport): IncrementalState =>
      JSON.parse(
        readFileSync(
          join(state, 's3', report.buckets.gold, 'daily_totals', '_incremental.json._S3rver_object'),
          'utf8',
        ),
      );
    const [first, second] = arrivals(20261207);
    // A day of the first arrival lies beyond what an incremental run after the second would recompute (its
    // days widened by twice the lookback): without the pending mark, that day would keep reading run A's
    // version, which retention deletes.
    const dayOf = (s: Sale) => s.order_ts.slice(0, 10);
    const recomputed = new Set(widen(second.map(dayOf), 2));
    expect(first.map(dayOf).some((d) => !recomputed.has(d))).toBe(true);
    expect((await run(land(0, first), false)).gold?.status).toBe('SUCCEEDED');

    // Run A rebuilds fully and switches every day to its version; then its commit fails (injected).
    const commit = jest
      .spyOn(IncrementalPlanner.prototype, 'commit')
      .mockRejectedValue(new Error('injected: the run stops before its commit'));
    let stopped: PipelineReport;
    try {
      stopped = await run(land(1, second), true, true);
      expect(commit).toHaveBeenCalled();
    } finally {
      commit.mockRestore();
    }
    expect(stopped.gold?.status).toBe('FAILED');
    const location = `s3://${stopped.buckets.gold}/daily_totals/v=${stopped.gold?.executionName}/`;
    expect(storedState(stopped).pending?.locations).toEqual([location]);
    expect(fingerprint(await gold())).toBe(fingerprint(oracle(latest.values())));

    // Run B asks for nothing (bronze holds the file already): the pending mark makes it rebuild fully, so
    // no day reads A's version any more when its commit clears the mark. (Retention may then delete A's
    // version; the local S3 server does not list a version's directory, so locally it keeps it.)
    const next = await run(join(arrivalsDir, '1'), true);
    expect(next.gold?.status).toBe('SUCCEEDED');
    expect(next.gold?.tables.daily_totals?.plan).toMatchObject({
      mode: 'full',
      reason: `a previous run stopped while publishing (${location})`,
    });
    expect(fingerprint(await gold())).toBe(fingerprint(oracle(latest.values())));
    const after = storedState(next);
    expect(after.pending).toBeUndefined();
    expect(Object.values(after.partitions).every((l) => l.includes(`/v=${next.gold?.executionName}/`))).toBe(
      true,
    );
  }, 300_000);
});
