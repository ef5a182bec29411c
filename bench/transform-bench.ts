/**
 * `npm run bench`: our bronze-to-silver transform against DuckDB's plain CSV-to-Parquet conversion, on the
 * same generated orders file, in the same run.
 *
 *   npm run bench                    1M rows (generated once into .medallion/bench/)
 *   npm run bench -- --rows 5000000  the memory check
 *   npm run bench -- --runs 3        median of N runs (default 3)
 *
 * Each contender runs in its own child process so its peak RSS is its own. The transform runs exactly as
 * in Lambda: it streams the object from S3 (the local S3 server, in this parent process), validates,
 * quarantines, de-duplicates, partitions, writes zstd Parquet and uploads the results. DuckDB's baseline
 * reads the local file and writes one snappy Parquet file with the same casts, and does nothing else.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { createS3Client } from '../lambdas/aws/s3';
import { LocalS3Server, localS3Env } from '../local/cloud/s3-server';
import { generateOrders } from './generate-orders';
import { lastJsonLine, runNode } from './run-node';

const ROOT = resolve(__dirname, '..');
const CHILD = join(__dirname, 'bench-child.ts');

export interface RunResult {
  ms: number;
  maxRssMb: number;
  detail?: Record<string, unknown>;
}

/** One contender in its own process (its peak RSS is its own). */
async function runChild(args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  const r = await runNode(['--import', 'tsx', CHILD, ...args], env);
  if (r.code !== 0) throw new Error(`bench child failed (${r.code}):\n${r.stderr}`);
  return lastJsonLine<RunResult>(r.stdout);
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export interface TransformBenchOptions {
  readonly rows: number;
  readonly runs: number;
  /** DuckDB's memory limit inside the transform. */
  readonly memoryLimit: string;
  /** Also run DuckDB's plain conversion (the baseline); default true. */
  readonly baseline?: boolean;
}

export interface TransformBenchResult {
  readonly csv: string;
  readonly bytes: number;
  readonly ours: RunResult[];
  readonly duck: RunResult[];
}

/** The generated orders file of `rows` rows (made once, then reused from .medallion/bench/). */
export async function ordersFile(rows: number): Promise<string> {
  const dir = join(ROOT, '.medallion', 'bench');
  mkdirSync(dir, { recursive: true });
  const csv = join(dir, `orders-${rows}.csv`);
  if (!existsSync(csv)) {
    process.stdout.write(`generating ${rows} rows into ${csv} ... `);
    await generateOrders(csv, rows);
    process.stdout.write('done\n');
  }
  return csv;
}

/** Runs each contender `runs` times, each in its own child process, against one local S3 server. */
export async function benchTransform(o: TransformBenchOptions): Promise<TransformBenchResult> {
  const csv = await ordersFile(o.rows);
  const dir = join(ROOT, '.medallion', 'bench');
  const bytes = statSync(csv).size;
  const state = mkdtempSync(join(dir, 's3-'));
  const server = new LocalS3Server();
  const { endpoint } = await server.start({ directory: state, buckets: ['bronze', 'silver', 'quarantine'] });
  const s3env = localS3Env(endpoint);
  const s3 = createS3Client(s3env as NodeJS.ProcessEnv);
  const key = `retail/orders/ingest_date=2026-11-01/bench-${o.rows}.csv`;
  await s3.send(
    new PutObjectCommand({ Bucket: 'bronze', Key: key, Body: createReadStream(csv), ContentLength: bytes }),
  );
  const ours: RunResult[] = [];
  const duck: RunResult[] = [];
  try {
    for (let i = 0; i < o.runs; i++) {
      if (o.baseline !== false) duck.push(await runChild(['duckdb', csv, join(dir, 'baseline.parquet')], {}));
      ours.push(await runChild(['transform', key, o.memoryLimit], s3env));
    }
  } finally {
    await server.stop();
    rmSync(state, { recursive: true, force: true });
  }
  return { csv, bytes, ours, duck };
}

async function main(): Promise<void> {
  const opts = new Command()
    .option('--rows <n>', 'rows in the generated orders file', '1000000')
    .option('--runs <n>', 'runs per contender (median reported)', '3')
    .option('--memory-limit <size>', 'DuckDB memory limit inside the transform', '128MB')
    .parse()
    .opts<{ rows: string; runs: string; memoryLimit: string }>();
  const rows = Number(opts.rows);
  const runs = Number(opts.runs);
  const { bytes, ours, duck } = await benchTransform({ rows, runs, memoryLimit: opts.memoryLimit });

  const mb = bytes / 1e6;
  const line = (name: string, rs: RunResult[]) => {
    const ms = median(rs.map((r) => r.ms));
    const rss = Math.max(...rs.map((r) => r.maxRssMb));
    return {
      name,
      seconds: ms / 1000,
      rowsPerSec: Math.round(rows / (ms / 1000)),
      mbPerSec: mb / (ms / 1000),
      peakRssMb: rss,
    };
  };
  const a = line('medallion transform (S3 in/out, validate, quarantine, dedup, partition, zstd)', ours);
  const b = line('DuckDB plain CSV -> Parquet (same casts, local file, snappy)', duck);
  console.log(
    `\norders: ${rows} rows, ${mb.toFixed(1)} MB, median of ${runs} runs, ${require('node:os').cpus().length} cores`,
  );
  console.table(
    [a, b].map((r) => ({ ...r, seconds: r.seconds.toFixed(2), mbPerSec: r.mbPerSec.toFixed(1) })),
  );
  const detail = ours[ours.length - 1]?.detail ?? {};
  console.log('transform detail (last run):', JSON.stringify(detail));
  console.log(
    `ratio ours/DuckDB (time): ${(a.seconds / b.seconds).toFixed(2)}x; throughput ratio ${(b.seconds / a.seconds).toFixed(2)}`,
  );
  console.log(
    JSON.stringify({
      bench: 'transform',
      rows,
      mb: Number(mb.toFixed(1)),
      ours: a,
      duckdb: b,
      detail,
      node: process.version,
      duckdbVersion: execFileSync(
        process.execPath,
        ['-e', "console.log(require('@duckdb/node-api').version())"],
        { cwd: ROOT, encoding: 'utf8' },
      ).trim(),
    }),
  );
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
