/**
 * `medallion smoke`: after a deploy (or on every commit, against the local cloud), one command proves the
 * pipeline works end to end with a tiny sample tagged with a run id:
 *
 *   S3 door              upload a CSV sample to `<domain>/<dataset>/` of the landing bucket
 *   API door             POST an NDJSON sample to the ingest API, SigV4-signed
 *   silver via S3 door   wait for the silver commit (manifest) of the upload: every row out, none quarantined
 *   silver via API door  the same for the POST
 *   gold workflow        run the gold workflow once (current state merge, then the models)
 *   Athena query         count this run's rows in the current-state tables of the gold database
 *   alarm topic policy   CloudWatch alarms of the account may publish to the alarm topic, other accounts' not
 *
 * and prints a pass/fail table. A check whose prerequisite failed is skipped (and counts as failed).
 * Exit codes (bin/medallion.ts): 0 every check passed, 1 one failed, 2 the command could not run (a
 * `PipelineUsageError`: a missing outputs file, an unknown stack or output, no sample data...).
 */
import { sqlIdent, sqlString } from '../../core/sql/quote';
import type { LogSink } from '../cloud/lambda-runtime';
import { startAwsTarget } from '../smoke/aws-target';
import { manifestProblem, postRecords, uploadToLanding, waitForSilver } from '../smoke/lake-doors';
import { startLocalTarget } from '../smoke/local-target';
import { newRunId, type SmokeDoor, type SmokeSample, smokeSamples } from '../smoke/sample';
import type { SmokeTarget } from '../smoke/target';
import { topicAllowsCloudWatchAlarms } from '../smoke/topic-policy';

/** One row of the table. */
export interface SmokeCheckResult {
  readonly check: string;
  readonly ok: boolean;
  /** Not run: a check it needs failed. */
  readonly skipped?: boolean;
  readonly detail: string;
  readonly ms: number;
}

/** A check: resolves with its detail line when it passes, rejects saying why when it fails. */
export interface SmokeCheck {
  readonly name: string;
  /** Checks that must have passed for this one to run. */
  readonly needs?: readonly string[];
  run(): Promise<string>;
}

export interface SmokeOptions {
  /** The local cloud (`--local`), or a deployed stack's outputs file (and stack). */
  readonly target: { readonly local: true } | { readonly outputsFile: string; readonly stack?: string };
  /** Contracts the sample is made for; default `samples/contracts`. */
  readonly contractsDir?: string;
  /** Where the sample rows come from (`<data>/<dataset>/<file>`); default `samples/data`. */
  readonly dataDir?: string;
  /** Local target only: gold models (default: the samples' with the sample contracts). */
  readonly modelsDir?: string;
  /** Local target only: state directory (default: a temporary one) and ports (default: free ones). */
  readonly stateDir?: string;
  readonly port?: number;
  readonly apiPort?: number;
  readonly functionLogs?: LogSink;
  readonly landingDataset?: string;
  readonly apiDataset?: string;
  /** Longest wait of one check (silver, gold, the query); default 10 minutes. */
  readonly timeoutMs?: number;
  readonly out?: (line: string) => void;
}

export interface SmokeReport {
  readonly ok: boolean;
  readonly runId: string;
  readonly results: SmokeCheckResult[];
}

export const CHECKS = {
  s3Door: 'S3 door',
  apiDoor: 'API door',
  s3Silver: 'silver via S3 door',
  apiSilver: 'silver via API door',
  gold: 'gold workflow',
  query: 'Athena query',
  alarmTopic: 'alarm topic policy',
} as const;

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

export async function runSmoke(options: SmokeOptions): Promise<SmokeReport> {
  const t0 = Date.now();
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const runId = newRunId();
  // The sample first: a dataset without data is a usage error before anything starts.
  const samples = smokeSamples({
    contractsDir: options.contractsDir ?? 'samples/contracts',
    dataDir: options.dataDir ?? 'samples/data',
    runId,
    landingDataset: options.landingDataset,
    apiDataset: options.apiDataset,
  });
  const target =
    'local' in options.target
      ? await startLocalTarget({
          contractsDir: options.contractsDir,
          modelsDir: options.modelsDir,
          stateDir: options.stateDir,
          port: options.port,
          apiPort: options.apiPort,
          functionLogs: options.functionLogs,
          out,
        })
      : startAwsTarget(options.target);
  let results: SmokeCheckResult[] = [];
  try {
    out(`medallion smoke: ${target.description}, run ${runId}`);
    const checks = smokeChecks(target, samples, runId, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const layout = tableLayout(checks.map((c) => c.name));
    for (const line of layout.header) out(line);
    results = await runChecks(checks, (r) => out(layout.row(r)));
    out(verdict(results, Date.now() - t0));
  } finally {
    const note = await target.close(smokeExitCode(results) !== 0);
    if (note) out(note);
  }
  return { ok: smokeExitCode(results) === 0, runId, results };
}

/** The checks, in order, against `target` with this run's samples. */
export function smokeChecks(
  target: SmokeTarget,
  samples: Record<SmokeDoor, SmokeSample>,
  runId: string,
  timeoutMs: number,
): SmokeCheck[] {
  const o = target.outputs;
  const polling = { pollMs: target.pollMs, timeoutMs };
  let apiBronzeKey: string | undefined;
  const silver = async (sample: SmokeSample, bronzeKey?: string) => {
    const buckets = { bronze: o.BronzeBucketName, silver: o.SilverBucketName };
    const { manifest } = await waitForSilver(target.s3, buckets, sample, { bronzeKey }, polling);
    const problem = manifestProblem(manifest, sample);
    if (problem) throw new Error(`${sample.contract.dataset}: ${problem}`);
    return `${sample.contract.dataset}: ${manifest.rows.out} row(s) committed, none quarantined`;
  };
  return [
    {
      name: CHECKS.s3Door,
      run: async () =>
        `${await uploadToLanding(target.s3, o.LandingBucketName, samples.s3)} (${samples.s3.rows} rows)`,
    },
    {
      name: CHECKS.apiDoor,
      run: async () => {
        const answer = await postRecords(o.RecordsUrl, samples.api, await target.apiSigning());
        if (answer.status !== 202 || !answer.body.bronzeKey) {
          throw new Error(`HTTP ${answer.status}: ${answer.body.message ?? 'no message'}`);
        }
        apiBronzeKey = answer.body.bronzeKey;
        return `202 for ${samples.api.contract.dataset} (${samples.api.rows} row): s3://${o.BronzeBucketName}/${apiBronzeKey}`;
      },
    },
    { name: CHECKS.s3Silver, needs: [CHECKS.s3Door], run: () => silver(samples.s3) },
    { name: CHECKS.apiSilver, needs: [CHECKS.apiDoor], run: () => silver(samples.api, apiBronzeKey) },
    {
      name: CHECKS.gold,
      needs: [CHECKS.s3Silver, CHECKS.apiSilver],
      run: () => target.runGold(`smoke-${runId}`, timeoutMs),
    },
    {
      name: CHECKS.query,
      needs: [CHECKS.gold],
      run: async () => {
        const wanted = [samples.s3, samples.api];
        const [row] = await target.query(countSql(wanted), timeoutMs);
        const counts = wanted.map((s, i) => ({ sample: s, found: Number(row?.[`n${i}`] ?? Number.NaN) }));
        const text = counts.map((c) => `${c.sample.contract.dataset} ${c.found}/${c.sample.rows}`).join(', ');
        if (counts.some((c) => c.found !== c.sample.rows)) throw new Error(`rows of this run found: ${text}`);
        return `rows of this run in the current-state tables: ${text}`;
      },
    },
    {
      name: CHECKS.alarmTopic,
      run: async () => {
        const { policy, topic } = await target.alarmTopicPolicy();
        const verdict = topicAllowsCloudWatchAlarms(policy, topic);
        if (!verdict.ok) throw new Error(verdict.reason);
        return verdict.reason;
      },
    },
  ];
}

/** One query counting each sample's rows (by its key column) in its dataset's current-state table. */
export function countSql(samples: readonly SmokeSample[]): string {
  const counts = samples.map(
    (s, i) =>
      `(SELECT count(*) FROM ${sqlIdent(s.contract.dataset)} WHERE ${sqlIdent(s.keyColumn)} IN (${s.keys.map(sqlString).join(', ')})) AS ${sqlIdent(`n${i}`)}`,
  );
  return `SELECT ${counts.join(', ')}`;
}

/** Runs the checks in order; one whose needs did not all pass is skipped. */
export async function runChecks(
  checks: readonly SmokeCheck[],
  onResult: (result: SmokeCheckResult) => void = () => {},
): Promise<SmokeCheckResult[]> {
  const results: SmokeCheckResult[] = [];
  for (const check of checks) {
    const failed = (check.needs ?? []).filter((n) => !results.some((r) => r.check === n && r.ok));
    let result: SmokeCheckResult;
    if (failed.length > 0) {
      result = {
        check: check.name,
        ok: false,
        skipped: true,
        detail: `skipped: needs ${failed.join(', ')}`,
        ms: 0,
      };
    } else {
      const t0 = Date.now();
      try {
        const detail = await check.run();
        result = { check: check.name, ok: true, detail, ms: Date.now() - t0 };
      } catch (e) {
        const detail = (e instanceof Error ? e.message : String(e)).split('\n')[0];
        result = { check: check.name, ok: false, detail, ms: Date.now() - t0 };
      }
    }
    results.push(result);
    onResult(result);
  }
  return results;
}

/** 0 when every check passed, 1 otherwise (a skipped check did not pass). */
export function smokeExitCode(results: readonly SmokeCheckResult[]): 0 | 1 {
  return results.length > 0 && results.every((r) => r.ok) ? 0 : 1;
}

/** The table's header lines and a row printer, the check column as wide as the longest name. */
export function tableLayout(names: readonly string[]): {
  header: string[];
  row: (r: SmokeCheckResult) => string;
} {
  const width = Math.max('check'.length, ...names.map((n) => n.length));
  const line = (check: string, result: string, time: string, detail: string) =>
    `${check.padEnd(width)}  ${result.padEnd(6)}  ${time.padStart(8)}  ${detail}`.trimEnd();
  return {
    header: [
      line('check', 'result', 'time', 'detail'),
      line('-'.repeat(width), '------', '--------', '------'),
    ],
    row: (r) =>
      line(
        r.check,
        r.ok ? 'PASS' : r.skipped ? 'SKIP' : 'FAIL',
        r.skipped ? '-' : `${(r.ms / 1000).toFixed(1)} s`,
        r.detail,
      ),
  };
}

/** The whole table: header, one row per check, and the verdict line. */
export function formatSmokeTable(results: readonly SmokeCheckResult[], totalMs: number): string[] {
  const layout = tableLayout(results.map((r) => r.check));
  return [...layout.header, ...results.map(layout.row), verdict(results, totalMs)];
}

/** `PASS: 7/7 checks passed in 12.3 s` or `FAIL: 5/7 checks passed; 2 did not (1 skipped) in 12.3 s`. */
export function verdict(results: readonly SmokeCheckResult[], totalMs: number): string {
  const seconds = `${(totalMs / 1000).toFixed(1)} s`;
  const passed = results.filter((r) => r.ok).length;
  const tally = `${passed}/${results.length} checks passed`;
  if (smokeExitCode(results) === 0) return `PASS: ${tally} in ${seconds}`;
  const skipped = results.filter((r) => r.skipped).length;
  return `FAIL: ${tally}; ${results.length - passed} did not${skipped ? ` (${skipped} skipped)` : ''} in ${seconds}`;
}
