/**
 * `npm run bench:history`: gold's cost is bounded by the new data, not by the history.
 *
 *   npm run bench:history                                   365 days x 20,000 orders, 10% re-sent
 *   npm run bench:history -- --days 20 --orders-per-day 2000 --no-settle    a quick check of the harness
 *   npm run bench:history -- --state .medallion/history --json /tmp/history.json    state kept there
 *
 * 1. generates a day file of orders per day (`history-orders.ts`) and lands them all, with the sample
 *    products and customers, through the local cloud exactly as `medallion pipeline` does (timed apart:
 *    not part of the gold comparison);
 * 2. waits until that history is older than the current state's overlap (`settle`: as a daily run finds
 *    it), then runs the gold workflow once as a full rebuild (execution input `{ fullRefresh: true }`);
 * 3. lands one more day and runs the gold workflow again, incrementally;
 * then checks the bounds (`history-bounds.ts`): the incremental run takes at most 1/20 of the full run's
 * time, and each model declaring `-- incremental: <col> lookback <N> day(s)` reads at most the orders
 * history of its lookback window around the days the new file changed, plus the new file's silver.
 *
 * Exit code 0 when every bound holds, 1 when one is broken or the pipeline fails, 2 on a usage error.
 */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { version as duckdbVersion } from '@duckdb/node-api';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { readContracts } from '../core/contracts/load-contracts';
import { PipelineUsageError } from '../core/errors';
import { DEFAULT_PLAN_SETTINGS } from '../core/silver/current-state-plan';
import { prepareState } from '../local/commands/inputs';
import { startCloud } from '../local/commands/local';
import { formatRows, type GoldRunReport } from '../local/gold/run-gold';
import {
  type BoundCheck,
  checkBounds,
  type IncrementalHeader,
  partitionOf,
  readIncrementalHeader,
} from './history-bounds';
import { OrdersHistory } from './history-orders';
import { BenchRunError, goldTemplate, type Landing, landFiles, listHistory, runGold } from './history-run';

const ROOT = resolve(__dirname, '..');
const CONTRACTS_DIR = join(ROOT, 'samples', 'contracts');
const MODELS_DIR = join(ROOT, 'samples', 'models');
const SAMPLE_DATA = join(ROOT, 'samples', 'data');
/** Derived wiring and gold template, kept between bench runs (keyed by the code and contracts). */
const CACHE_DIR = join(ROOT, '.medallion', 'bench', 'cache');

export interface HistoryBenchOptions {
  readonly days: number;
  readonly ordersPerDay: number;
  readonly resendRatio: number;
  /** The local cloud's state directory; default: a temporary one, removed afterwards unless `keep`. */
  readonly state?: string;
  readonly json: string;
  readonly keep: boolean;
  /** Wait, before the full rebuild, until the history is older than the current state's overlap. */
  readonly settle: boolean;
}

/** One gold run as reported. */
interface GoldRunFigures {
  readonly executionName: string;
  readonly runMs: number;
  readonly models: Record<
    string,
    {
      rows?: number;
      bytesRead?: number;
      queryMs?: number;
      plan?: { mode: string; reason: string; dates: number };
    }
  >;
  /** The states the run spent most time in (ms, summed over their entries), slowest first. */
  readonly slowestStates?: Record<string, number>;
}

/** How many of a run's slowest states the figures keep. */
const SLOWEST_STATES = 8;

/** Parses the command line; a `CommanderError` for a usage error (or --help). */
export function parseArgs(argv: readonly string[]): HistoryBenchOptions {
  const int = (v: string) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1) throw new InvalidArgumentError('must be a positive integer');
    return n;
  };
  const ratio = (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be a number in [0, 1]');
    return n;
  };
  const opts = new Command('bench:history')
    .description('gold on a year of orders history: full rebuild, then one more day incrementally')
    .option('--days <n>', 'days of history landed before the full rebuild', int, 365)
    .option('--orders-per-day <n>', 'new orders in each day file', int, 20000)
    .option('--resend-ratio <r>', 're-sent versions per day, as a share of the orders per day', ratio, 0.1)
    .option(
      '--state <dir>',
      'state directory of the local cloud, kept (default: a temporary one, removed after unless --keep)',
    )
    .option('--json <file>', 'where the figures are written', join(ROOT, 'bench', 'history.json'))
    .option('--keep', 'keep the temporary state directory', false)
    .option(
      '--no-settle',
      'do not wait for the history to age past the current-state overlap (5 min) before the full rebuild',
    )
    .allowExcessArguments(false)
    .exitOverride()
    .parse(argv, { from: 'user' })
    .opts<{
      days: number;
      ordersPerDay: number;
      resendRatio: number;
      state?: string;
      json: string;
      keep: boolean;
      settle: boolean;
    }>();
  return { ...opts, json: resolve(opts.json), ...(opts.state ? { state: resolve(opts.state) } : {}) };
}

/**
 * Runs the three phases on one local cloud and returns the figures and the checked bounds; throws a
 * `BenchRunError` when the pipeline itself fails, a `PipelineUsageError` for an unusable state directory.
 */
export async function runHistoryBench(o: HistoryBenchOptions, out: (line: string) => void) {
  const stateDir = o.state ?? mkdtempSync(join(tmpdir(), 'medallion-history-'));
  const removeAfter = o.state === undefined && !o.keep;
  const contracts = readContracts(CONTRACTS_DIR, (m) => new PipelineUsageError(m));
  const orders = contracts.byName('orders');
  if (!orders) throw new PipelineUsageError('samples/contracts has no orders contract');
  const headers = modelHeaders();
  out(
    `history bench: ${o.days} days x ${o.ordersPerDay} orders/day, re-send ratio ${o.resendRatio}, state ${stateDir}`,
  );
  prepareState(stateDir, false); // refuses a non-empty directory that is not a medallion state
  try {
    // First, so that a template that does not synthesize fails the bench before the long landing.
    const { template, synthMs } = goldTemplate(
      CONTRACTS_DIR,
      MODELS_DIR,
      { contractsDir: 'samples/contracts', gold: { modelsDir: 'samples/models' } },
      CACHE_DIR,
    );
    out(`gold template ${synthMs ? `synthesized in ${secs(synthMs)}` : 'from cache'}`);
    const history = new OrdersHistory({ ordersPerDay: o.ordersPerDay, resendRatio: o.resendRatio });

    // Phase 1: the history, landed and transformed (timed apart).
    const dataDir = join(stateDir, 'bench-data');
    const t = Date.now();
    let resent = 0;
    for (let d = 0; d < o.days; d++) resent += writeDay(dataDir, history).resent;
    const generated = o.days * o.ordersPerDay + resent;
    for (const dataset of ['products', 'customers']) copySampleData(dataset, dataDir);
    const generateMs = Date.now() - t;
    out(
      `phase 1: generated ${o.days} day files (${o.days * o.ordersPerDay} orders + ${resent} re-sent versions) in ${secs(generateMs)}`,
    );
    const cloud = await startCloud({
      stateDir,
      contractsDir: CONTRACTS_DIR,
      s3Port: 0,
      apiPort: 0,
      functionLogs: { file: join(stateDir, 'logs', 'functions.log') },
      wiringCacheDir: CACHE_DIR,
    });
    try {
      const landing = await landFiles(cloud, dataDir, contracts, out);
      out(`phase 1: ${describeLanding(landing)}`);
      checkOrdersLanded(landing, generated);
      const settleMs = o.settle ? await settle(Date.now(), out) : 0;

      // Phase 2: the full rebuild.
      const stamp = new Date().toISOString().replace(/[-:.]/g, '');
      out('phase 2: full rebuild...');
      const full = figures(
        await runGold(cloud, stateDir, template, `bench-full-${stamp}`, { fullRefresh: true }),
      );
      out(`phase 2: full rebuild in ${secs(full.runMs)}`);

      // Phase 3: one more day, then the incremental run.
      const historyBefore = await listHistory(cloud, orders);
      const nextDir = join(stateDir, 'bench-data-next');
      const day = writeDay(nextDir, history);
      const next = await landFiles(cloud, nextDir, contracts, out);
      out(`phase 3: day ${day.date}: ${describeLanding(next)}`);
      checkOrdersLanded(next, day.orders + day.resent);
      const before = new Set(historyBefore.map((h) => h.key));
      const newDay = (await listHistory(cloud, orders)).filter((h) => !before.has(h.key));
      const incremental = figures(await runGold(cloud, stateDir, template, `bench-incremental-${stamp}`));
      out(`phase 3: incremental run in ${secs(incremental.runMs)}`);

      // The sources an incremental model's date does not follow are read whole (products): their size.
      const products = contracts.byName('products');
      const otherSourcesBytes = products
        ? (await listHistory(cloud, products)).reduce((sum, o) => sum + o.size, 0)
        : 0;
      const bounds = checkBounds({
        fullRunMs: full.runMs,
        incrementalRunMs: incremental.runMs,
        models: Object.keys(incremental.models).map((name) => ({
          name,
          ...(headers[name] ? { header: headers[name], otherSourcesBytes } : {}),
          fullQueryMs: full.models[name]?.queryMs,
          incrementalQueryMs: incremental.models[name]?.queryMs,
          bytesRead: incremental.models[name]?.bytesRead,
        })),
        historyBefore,
        newDay,
      });
      return {
        bench: 'history',
        measuredAt: new Date().toISOString(),
        machine: { cores: cpus().length, node: process.version, duckdb: duckdbVersion() },
        options: { days: o.days, ordersPerDay: o.ordersPerDay, resendRatio: o.resendRatio },
        history: {
          landing: { ...landing, generateMs },
          settleMs,
          silverBytes: historyBefore.reduce((s, h) => s + h.size, 0),
          silverObjects: historyBefore.length,
        },
        newDay: {
          date: day.date,
          orders: day.orders,
          resent: day.resent,
          resentByAge: day.resentByAge,
          landing: next,
          changedPartitions: [...new Set(newDay.map((h) => partitionOf(h.key) as string))].sort(),
          silverBytes: newDay.reduce((s, h) => s + h.size, 0),
        },
        incrementalHeaders: headers,
        runs: { full, incremental, fullOverIncremental: full.runMs / Math.max(1, incremental.runMs) },
        bounds,
        ok: bounds.every((b) => b.ok !== false),
      };
    } finally {
      await cloud.stop();
    }
  } finally {
    if (removeAfter) rmSync(stateDir, { recursive: true, force: true });
    else out(`state kept in ${stateDir}`);
  }
}

export type HistoryBenchResult = Awaited<ReturnType<typeof runHistoryBench>>;

/**
 * Waits until the history landed by `landedAt` is older than the current state's overlap. A merge leaves
 * the commits of its last `overlapMs` to the next run (one may still be closing), and a rebuild resumes
 * `overlapMs` before it started: without the wait, the bench's history, landed in minutes, would all be
 * merged again by the incremental run. A daily run, hours after the previous day's files, re-merges none.
 */
async function settle(landedAt: number, out: (line: string) => void): Promise<number> {
  const ms = Math.max(0, landedAt + DEFAULT_PLAN_SETTINGS.overlapMs + 1000 - Date.now());
  out(
    `phase 2: waiting ${secs(ms)} for the history to age past the current state's overlap (${secs(DEFAULT_PLAN_SETTINGS.overlapMs)}; --no-settle skips)`,
  );
  await new Promise((done) => setTimeout(done, ms));
  return ms;
}

/** Writes the next day's file under `<dir>/orders/`. */
function writeDay(dir: string, history: OrdersHistory) {
  const day = history.nextDay();
  mkdirSync(join(dir, 'orders'), { recursive: true });
  writeFileSync(join(dir, 'orders', `orders-${day.date}.csv`), day.csv);
  return day;
}

function copySampleData(dataset: string, dataDir: string): void {
  mkdirSync(join(dataDir, dataset), { recursive: true });
  for (const f of readdirSync(join(SAMPLE_DATA, dataset))) {
    copyFileSync(join(SAMPLE_DATA, dataset, f), join(dataDir, dataset, f));
  }
}

/** Each sample model's `-- incremental:` header, by model name (absent: a full model). */
function modelHeaders(): Record<string, IncrementalHeader> {
  const headers: Record<string, IncrementalHeader> = {};
  for (const f of readdirSync(MODELS_DIR).filter((f) => f.endsWith('.sql'))) {
    const header = readIncrementalHeader(readFileSync(join(MODELS_DIR, f), 'utf8'));
    if (header) headers[f.replace(/\.sql$/, '')] = header;
  }
  return headers;
}

function figures(report: GoldRunReport): GoldRunFigures {
  return {
    executionName: report.executionName,
    runMs: report.timingsMs.run,
    models: Object.fromEntries(
      Object.entries(report.models).map(([name, m]) => [
        name,
        {
          rows: m.rows,
          bytesRead: m.bytesRead,
          queryMs: m.queryMs,
          // An incremental model's plan: what the run recomputed and why.
          ...(m.plan
            ? { plan: { mode: m.plan.mode, reason: m.plan.reason, dates: m.plan.dates.length } }
            : {}),
        },
      ]),
    ),
    slowestStates: Object.fromEntries(
      Object.entries(report.stateMs)
        .sort(([, a], [, b]) => b - a)
        .slice(0, SLOWEST_STATES),
    ),
  };
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes: number | undefined) => (bytes === undefined ? '-' : `${(bytes / 1e6).toFixed(2)} MB`);
const count = (n: number | undefined) => (n === undefined ? '-' : n.toLocaleString('en-US'));

/** Every generated order row reached silver: none quarantined, none a duplicate within its file. */
function checkOrdersLanded(l: Landing, generated: number): void {
  const rows = l.datasets.orders;
  if (rows?.in !== generated || rows.out !== generated) {
    throw new BenchRunError(
      `the orders files held ${generated} rows, silver got ${JSON.stringify(rows)}: the generator broke the contract`,
    );
  }
}

function describeLanding(l: Landing): string {
  const rate = Math.round(l.rows.in / Math.max(0.001, l.ms.landAndTransform / 1000));
  const orders = l.datasets.orders;
  return (
    `${l.files} files, ${mb(l.bytes)}, ${count(l.rows.in)} rows in (orders: ${count(orders?.in)} in, ` +
    `${count(orders?.out)} to silver); hash ${secs(l.ms.hash)}, upload ${secs(l.ms.ingest)}, ` +
    `land+transform ${secs(l.ms.landAndTransform)} (${count(rate)} rows/s), check ${secs(l.ms.report)}`
  );
}

/** The readable summary: per run and model, then the bounds. */
export function formatResult(r: HistoryBenchResult): string[] {
  const runs = (['full', 'incremental'] as const).flatMap((run) =>
    Object.entries(r.runs[run].models).map(([model, m]) => ({
      run,
      'gold run': secs(r.runs[run].runMs),
      model,
      rows: count(m.rows),
      'bytes read': mb(m.bytesRead),
      plan: m.plan ? `${m.plan.mode}, ${m.plan.dates} date(s): ${m.plan.reason}` : '-',
    })),
  );
  const bounds = r.bounds.map((b: BoundCheck) => ({
    bound: b.bound,
    result: b.ok === null ? 'n/a' : b.ok ? 'ok' : 'BROKEN',
    actual: b.actual === undefined ? '-' : count(b.actual),
    limit: b.limit === undefined ? '-' : count(b.limit),
    note: b.note,
  }));
  return [
    '',
    `history: ${count(r.history.landing.rows.in)} rows in ${r.history.landing.files} files, ${mb(r.history.silverBytes)} of orders history in silver (${r.history.silverObjects} objects)`,
    `new day ${r.newDay.date}: ${count(r.newDay.orders)} orders + ${count(r.newDay.resent)} re-sent, ${mb(r.newDay.silverBytes)} of silver in partitions ${r.newDay.changedPartitions.join(', ')}`,
    ...formatRows(runs, runs.length),
    `full / incremental (gold run time): ${r.runs.fullOverIncremental.toFixed(1)}x`,
    ...(['full', 'incremental'] as const).map(
      (run) =>
        `slowest states of the ${run} run: ${Object.entries(r.runs[run].slowestStates ?? {})
          .map(([state, ms]) => `${state} ${secs(ms)}`)
          .join('; ')}`,
    ),
    ...formatRows(bounds, bounds.length),
    r.ok ? 'every bound holds' : 'a bound is BROKEN',
  ];
}

async function main(): Promise<number> {
  let options: HistoryBenchOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const result = await runHistoryBench(options, out);
    for (const line of formatResult(result)) out(line);
    mkdirSync(dirname(options.json), { recursive: true });
    writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
    out(`figures written to ${options.json}`);
    return result.ok ? 0 : 1;
  } catch (e) {
    if (e instanceof PipelineUsageError) {
      console.error(e.message);
      return 2;
    }
    if (e instanceof BenchRunError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : err);
      process.exit(1);
    },
  );
}
