/**
 * `npm run evidence`: runs the fault and bad-input suite (test/evidence/) and the end-to-end performance
 * runs, then writes the figures to bench/evidence.json and the README's generated Reliability and
 * Performance sections.
 *
 *   npm run evidence                          everything (1M orders rows for the performance part)
 *   npm run evidence -- --rows 200000         a smaller performance run
 *   npm run evidence -- --skip-performance    the suite only (keeps the last performance figures)
 *   npm run evidence -- --skip-suite          the performance runs only (keeps the last suite figures)
 *
 * Performance: the transform alone on the orders file, with the engine limit Lambda gets (peak RSS vs the
 * function's configured memory); `medallion pipeline` as a whole process on that file plus the sample
 * products, first on a fresh state (it synthesizes the CDK app) then warm (median of --runs); and
 * bench/duckdb-only-gold.ts computing the same gold from the CSVs (median of --runs). The gold tables of
 * both are compared by row count and fingerprint.
 */
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { Engine } from '../lambdas/bronze-to-silver/duckdb-engine';
import { DEFAULT_TRANSFORM_MEMORY_MB, engineMemoryLimitFor } from '../lib/bronze-to-silver-pipeline';
import { runQuery } from '../local/commands/query';
import type { EvidenceRecord } from '../test/support/evidence/evidence';
import { EVIDENCE_DIR_ENV } from '../test/support/evidence/evidence';
import { fingerprintSql } from './duckdb-only-gold';
import {
  type EvidenceFigures,
  type JestJson,
  type PerformanceFigures,
  renderPerformance,
  renderReliability,
  replaceSection,
  scenarioResults,
  summarise,
} from './evidence-report';
import { lastJsonLine, runNode } from './run-node';
import { benchTransform, median, ordersFile } from './transform-bench';

const ROOT = resolve(__dirname, '..');
const WORK = join(ROOT, '.medallion', 'evidence');
const FIGURES_FILE = join(ROOT, 'bench', 'evidence.json');
const README = join(ROOT, 'README.md');
const TARGET_RATIO = 3;

async function runSuite(): Promise<Pick<EvidenceFigures, 'scenarios'> & { records: EvidenceRecord[] }> {
  rmSync(join(WORK, 'suite'), { recursive: true, force: true });
  mkdirSync(join(WORK, 'suite'), { recursive: true });
  const jestJson = join(WORK, 'suite', 'jest.json');
  console.log('running the evidence suite (test/evidence/) ...');
  const r = await runNode(
    // One file at a time, as `npm test` runs them: the crash and concurrency scenarios load the machine.
    [
      require.resolve('jest/bin/jest'),
      'test/evidence',
      '--maxWorkers=1',
      '--json',
      `--outputFile=${jestJson}`,
    ],
    { [EVIDENCE_DIR_ENV]: join(WORK, 'suite') },
    true, // jest's progress, as it comes
  );
  if (!existsSync(jestJson))
    throw new Error(`jest wrote no results (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
  const figuresFile = join(WORK, 'suite', 'figures.ndjson');
  const records = existsSync(figuresFile)
    ? readFileSync(figuresFile, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as EvidenceRecord)
    : [];
  return { scenarios: scenarioResults(JSON.parse(readFileSync(jestJson, 'utf8')) as JestJson), records };
}

/** A data directory with the generated orders and the sample products (the models join them). */
async function dataDir(rows: number): Promise<{ dir: string; csvMb: number }> {
  const csv = await ordersFile(rows);
  const dir = join(WORK, `data-${rows}`);
  const target = join(dir, 'orders', `orders-${rows}.csv`);
  if (!existsSync(target)) {
    mkdirSync(join(dir, 'orders'), { recursive: true });
    try {
      linkSync(csv, target);
    } catch {
      copyFileSync(csv, target);
    }
  }
  mkdirSync(join(dir, 'products'), { recursive: true });
  copyFileSync(
    join(ROOT, 'samples', 'data', 'products', 'products.csv'),
    join(dir, 'products', 'products.csv'),
  );
  return { dir, csvMb: statSync(csv).size / 1e6 };
}

async function runPipelineProcess(
  data: string,
  state: string,
  report: string,
): Promise<{ ms: number; report: PipelineReportLike }> {
  const r = await runNode([
    '--import',
    'tsx',
    join(ROOT, 'bin', 'medallion.ts'),
    'pipeline',
    '--data',
    data,
    '--state',
    state,
    '--port',
    '0',
    '--api-port',
    '0',
    '--report',
    report,
  ]);
  if (r.code !== 0)
    throw new Error(
      `medallion pipeline failed (${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`,
    );
  return { ms: r.ms, report: JSON.parse(readFileSync(report, 'utf8')) as PipelineReportLike };
}

type PipelineReportLike = {
  ok: boolean;
  timingsMs: Record<string, number>;
  gold?: { tables: Record<string, { rows: number }> };
};

async function pipelineFingerprints(
  state: string,
  tables: string[],
): Promise<Record<string, { rows: number; fingerprint: string }>> {
  const out: Record<string, { rows: number; fingerprint: string }> = {};
  for (const t of tables) {
    const described = await runQuery(`DESCRIBE ${t}`, { stateDir: state });
    // The local view also exposes the published version (`v=<execution>/` in the path) as a column.
    const cols = described.rows
      .map((r) => ({ name: String(r.column_name), type: String(r.column_type) }))
      .filter((c) => c.name !== 'v');
    const got = await runQuery(fingerprintSql(t, cols), { stateDir: state });
    const row = got.rows[0] as { n: unknown; f: unknown };
    out[t] = { rows: Number(row.n), fingerprint: String(row.f) };
  }
  return out;
}

async function runPerformance(rows: number, runs: number): Promise<PerformanceFigures> {
  const { dir, csvMb } = await dataDir(rows);
  const lambdaMemoryMb = DEFAULT_TRANSFORM_MEMORY_MB;
  const engineMemoryLimit = engineMemoryLimitFor(lambdaMemoryMb);

  console.log(`transform alone on ${rows} rows, engine limit ${engineMemoryLimit} ...`);
  const t = await benchTransform({ rows, runs: 1, memoryLimit: engineMemoryLimit, baseline: false });
  const transform = {
    seconds: (t.ours[0]?.ms ?? 0) / 1000,
    peakRssMb: t.ours[0]?.maxRssMb ?? 0,
    lambdaMemoryMb,
    engineMemoryLimit,
  };

  const state = join(WORK, 'pipeline-state');
  const report = join(WORK, 'pipeline-report.json');
  rmSync(state, { recursive: true, force: true });
  console.log('medallion pipeline, first run on a fresh state ...');
  const cold = await runPipelineProcess(dir, state, report);
  const warm: { ms: number; report: PipelineReportLike }[] = [];
  for (let i = 0; i < runs; i++) {
    console.log(`medallion pipeline, warm run ${i + 1}/${runs} ...`);
    warm.push(await runPipelineProcess(dir, state, report));
  }
  warm.sort((a, b) => a.ms - b.ms);
  const warmMedian = warm[Math.floor(warm.length / 2)] as (typeof warm)[number];
  // The last run's state is what the fingerprints read; gold is deterministic, so any run would do.
  const goldTables = Object.keys(warmMedian.report.gold?.tables ?? {});
  const ours = await pipelineFingerprints(state, goldTables);

  const duck: {
    ms: number;
    processMs: number;
    maxRssMb: number;
    tables: Record<string, { rows: number; fingerprint: string }>;
  }[] = [];
  for (let i = 0; i < runs; i++) {
    console.log(`DuckDB-only gold script, run ${i + 1}/${runs} ...`);
    const r = await runNode([
      '--import',
      'tsx',
      join(__dirname, 'duckdb-only-gold.ts'),
      dir,
      join(ROOT, 'samples', 'models'),
      join(WORK, 'duckdb-only-out'),
    ]);
    if (r.code !== 0) throw new Error(`duckdb-only-gold failed:\n${r.stderr}`);
    duck.push({ ...lastJsonLine(r.stdout), processMs: r.ms });
  }
  const theirs = duck[0]?.tables ?? {};
  const gold: PerformanceFigures['gold'] = {};
  for (const name of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
    const a = ours[name];
    const b = theirs[name];
    gold[name] = {
      pipelineRows: a?.rows ?? 0,
      duckdbRows: b?.rows ?? 0,
      same: a !== undefined && b !== undefined && a.rows === b.rows && a.fingerprint === b.fingerprint,
    };
  }
  return {
    rows,
    csvMb,
    transform,
    pipeline: {
      coldSeconds: cold.ms / 1000,
      warmSeconds: warmMedian.ms / 1000,
      phasesMs: warmMedian.report.timingsMs,
    },
    duckdbOnly: {
      seconds: median(duck.map((d) => d.processMs)) / 1000,
      workSeconds: median(duck.map((d) => d.ms)) / 1000,
      peakRssMb: Math.max(...duck.map((d) => d.maxRssMb)),
    },
    gold,
    target: TARGET_RATIO,
  };
}

async function main(): Promise<void> {
  const opts = new Command()
    .option('--rows <n>', 'orders rows for the performance runs', '1000000')
    .option('--runs <n>', 'warm pipeline and DuckDB-only runs (median reported)', '3')
    .option('--skip-suite', 'keep the suite figures of bench/evidence.json')
    .option('--skip-performance', 'keep the performance figures of bench/evidence.json')
    .option('--no-write', 'print the sections without writing bench/evidence.json or README.md')
    .parse()
    .opts<{ rows: string; runs: string; skipSuite?: boolean; skipPerformance?: boolean; write: boolean }>();
  mkdirSync(WORK, { recursive: true });
  const previous = existsSync(FIGURES_FILE)
    ? (JSON.parse(readFileSync(FIGURES_FILE, 'utf8')) as EvidenceFigures)
    : undefined;
  const machine = { cores: cpus().length, node: process.version.slice(1), duckdb: Engine.version };
  const generatedAt = new Date().toISOString();

  let figures: EvidenceFigures;
  if (opts.skipSuite) {
    figures = previous
      ? { ...previous, generatedAt, machine }
      : summarise([], scenarioResults({ testResults: [] }), machine, generatedAt);
  } else {
    const suite = await runSuite();
    figures = summarise(suite.records, suite.scenarios, machine, generatedAt);
    figures.performance = previous?.performance;
  }
  if (!opts.skipPerformance) figures.performance = await runPerformance(Number(opts.rows), Number(opts.runs));

  const reliability = renderReliability(figures);
  const performance = renderPerformance(figures);
  console.log(`\n${reliability}\n\n${performance}\n`);
  if (opts.write) {
    writeFileSync(FIGURES_FILE, `${JSON.stringify(figures, null, 2)}\n`);
    let readme = readFileSync(README, 'utf8');
    readme = replaceSection(readme, 'reliability', reliability);
    readme = replaceSection(readme, 'performance', performance);
    writeFileSync(README, readme);
    console.log('wrote bench/evidence.json and the README sections');
  }
  const failing = Object.entries(figures.scenarios).filter(([, r]) => r.failed > 0 || r.passed === 0);
  if (failing.length > 0) {
    console.error(`scenarios failing or without a test: ${failing.map(([n]) => n).join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
