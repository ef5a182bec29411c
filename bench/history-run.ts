/**
 * The steps of `npm run bench:history` on one local cloud: land files the way `medallion pipeline` does
 * (discover, hash, ingest through the landing bucket, wait for the transforms, read the manifests back),
 * run the synthesized gold workflow, and list the orders history in silver.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ContractRegistry } from '../core/contracts/load-contracts';
import { listObjects } from '../lambdas/aws/s3';
import type { LocalCloud } from '../local/cloud/local-cloud';
import { wiringKey } from '../local/cloud/template-wiring';
import { ingest } from '../local/commands/ingest';
import { discoverInputs, hashInputs } from '../local/commands/inputs';
import { type GoldExecutionInput, type GoldRunReport, runGoldLocally } from '../local/gold/run-gold';
import { type CfnTemplate, synthesizeTemplate } from '../local/gold/state-machine-definition';
import { buildReport, type Rows } from '../local/report/pipeline-report';
import { partitionOf, type SilverObject } from './history-bounds';

/** What landing a directory of files cost and gave. */
export interface Landing {
  readonly files: number;
  readonly bytes: number;
  /** Rows over every file (in = out + quarantined + duplicates). */
  readonly rows: Rows;
  /** Rows by dataset. */
  readonly datasets: Record<string, Rows>;
  readonly ms: {
    /** Hashing the inputs (what `medallion pipeline` does before landing, to skip files bronze holds). */
    readonly hash: number;
    /** Uploading every file to the landing bucket (transforms start meanwhile). */
    readonly ingest: number;
    /** From the last upload until the local cloud is idle (every file transformed). */
    readonly transform: number;
    /** Upload start to idle: landing and transform together. */
    readonly landAndTransform: number;
    /** Reading the manifests back and checking every row is accounted for. */
    readonly report: number;
  };
}

/** Raised when the pipeline itself misbehaves (a file not landed, a failed gold run): no figure then. */
export class BenchRunError extends Error {}

/**
 * Lands every file under `dataDir` (`<dataset>/<file>`) through the local cloud and waits until each is
 * transformed; throws a {@link BenchRunError} unless every row of every file is accounted for.
 */
export async function landFiles(
  cloud: LocalCloud,
  dataDir: string,
  contracts: ContractRegistry,
  out: (line: string) => void,
): Promise<Landing> {
  const t0 = Date.now();
  const inputs = await hashInputs(discoverInputs(dataDir, contracts));
  const tHashed = Date.now();
  const { files, unsubscribe } = await ingest(cloud, inputs, sparseProgress(out));
  const tIngested = Date.now();
  try {
    await cloud.whenIdle();
  } finally {
    unsubscribe();
  }
  const tSettled = Date.now();
  const lake = await buildReport(cloud, files);
  const tReported = Date.now();
  if (!lake.ok) {
    const problems = [
      ...lake.files.filter((f) => !f.conservation.ok).map((f) => `${f.path}: ${f.conservation.problems}`),
      ...lake.deadLetters.map((d) => `dead letter ${d.keys.join(', ')}: ${d.lastError ?? '?'}`),
      ...lake.landingFailures.map((f) => `${f.path}: ${f.error}`),
    ];
    throw new BenchRunError(`landing ${dataDir} failed:\n  ${problems.slice(0, 10).join('\n  ')}`);
  }
  return {
    files: files.length,
    bytes: inputs.reduce((sum, i) => sum + i.bytes, 0),
    rows: lake.totals.rows,
    datasets: Object.fromEntries(lake.datasets.map((d) => [d.dataset, d.rows])),
    ms: {
      hash: tHashed - t0,
      ingest: tIngested - tHashed,
      transform: tSettled - tIngested,
      landAndTransform: tSettled - tHashed,
      report: tReported - tSettled,
    },
  };
}

/** The pipeline's progress lines, only every tenth of the way (365 files would print 730 lines). */
function sparseProgress(out: (line: string) => void): (line: string) => void {
  return (line) => {
    const m = /^(?:landed|transformed) (\d+)\/(\d+)/.exec(line);
    if (m) {
      const [done, total] = [Number(m[1]), Number(m[2])];
      if (done !== total && done % Math.max(1, Math.ceil(total / 10)) !== 0) return;
    }
    out(`  ${line}`);
  };
}

/**
 * The synthesized stack template for these contracts and models (paths relative to the project), cached
 * under `cacheDir` by what decides it, as `medallion pipeline` caches it.
 */
export function goldTemplate(
  contractsDir: string,
  modelsDir: string,
  config: { contractsDir: string; gold: { modelsDir: string } },
  cacheDir: string,
): { template: CfnTemplate; synthMs: number } {
  const hash = createHash('sha256').update(wiringKey(contractsDir, 'gold'));
  for (const f of readdirSync(modelsDir).sort()) hash.update(f).update(readFileSync(join(modelsDir, f)));
  const file = join(cacheDir, `gold-template-${hash.digest('hex').slice(0, 16)}.json`);
  if (existsSync(file))
    return { template: JSON.parse(readFileSync(file, 'utf8')) as CfnTemplate, synthMs: 0 };
  const { template, ms } = synthesizeTemplate({ config });
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(template));
  return { template, synthMs: ms };
}

/** Runs the gold workflow once on the local cloud; throws a {@link BenchRunError} unless it succeeded. */
export async function runGold(
  cloud: LocalCloud,
  stateDir: string,
  template: CfnTemplate,
  executionName: string,
  executionInput?: GoldExecutionInput,
): Promise<GoldRunReport> {
  const report = await runGoldLocally({
    s3Endpoint: cloud.endpoints.s3,
    stateDir,
    buckets: cloud.buckets,
    template,
    executionName,
    invokeFunction: (logicalId, payload) => cloud.invokeFunction(logicalId, payload),
    ...(executionInput ? { executionInput } : {}),
  });
  if (!report.ok || report.skipped) {
    const why = report.skipped
      ? `skipped: ${report.skipped.running.join(', ')} running`
      : `${report.error?.error}: ${report.error?.cause}`;
    throw new BenchRunError(`gold run ${executionName} ${report.status}: ${why}`);
  }
  return report;
}

/** The history's data objects of a dataset (`<domain>/<dataset>/dt=<day>/...`) in the silver bucket. */
export async function listHistory(
  cloud: LocalCloud,
  contract: { readonly domain: string; readonly dataset: string },
): Promise<SilverObject[]> {
  const objects: SilverObject[] = [];
  for await (const o of listObjects(
    cloud.s3,
    cloud.buckets.silver,
    `${contract.domain}/${contract.dataset}/`,
  )) {
    if (o.Key && partitionOf(o.Key) !== undefined) objects.push({ key: o.Key, size: o.Size ?? 0 });
  }
  return objects;
}
