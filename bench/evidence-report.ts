/**
 * Turns what `npm run evidence` gathered (the suite's figure records, jest's results, the performance runs)
 * into `bench/evidence.json` and the README's generated Reliability and Performance sections. Pure
 * functions: `test/bench/evidence-report.test.ts` checks that the README shows exactly what
 * `bench/evidence.json` renders to, so the figures cannot be typed by hand.
 */
import type { EvidenceRecord } from '../test/support/evidence/evidence';

/** The issue's 26 scenarios, in its words, shortened. */
export const SCENARIOS: Record<number, string> = {
  1: 'same S3 event delivered 5 times',
  2: 'same event twice, concurrently',
  3: 'two versions of one key, events out of order',
  4: 'event hours late',
  5: 'crash mid-write (Nth S3 write fails)',
  6: 'Lambda timeout',
  7: 'poison file',
  8: 'SQS batch of 10 with 1 bad message',
  9: 'failing gold query',
  10: 'gold re-run on unchanged silver',
  11: 'awkward keys (spaces, +, %, non-ASCII, emoji)',
  12: 'path traversal in dataset names',
  13: 'CSV with an unclosed quote',
  14: 'rows with the wrong column count',
  15: 'BOM, CRLF, quoted embedded newlines',
  16: 'invalid UTF-8',
  17: 'a single 10 MB line',
  18: 'gzip bomb',
  19: 'empty or header-only file',
  20: 'schema drift',
  21: 'duplicate keys within and across files',
  22: 'late records for an old date',
  23: 'oversize, malformed or mismatched API payloads',
  24: 'API authentication',
  25: '200 concurrent API ingests + 50 uploads',
  26: 'configuration drift',
  27: 'kill -9 of the local cloud at random points, restarted on the same state',
};

export interface ScenarioResult {
  passed: number;
  failed: number;
  /** Total duration of its tests, ms. */
  ms: number;
}

export interface PerformanceFigures {
  rows: number;
  csvMb: number;
  /** The transform alone on the same file, engine sized as in Lambda. */
  transform: { seconds: number; peakRssMb: number; lambdaMemoryMb: number; engineMemoryLimit: string };
  pipeline: {
    coldSeconds: number;
    warmSeconds: number;
    /** The warm run's phases, from its report. */
    phasesMs: Record<string, number>;
  };
  /** `seconds`: the script's whole process (as the pipeline is timed); `workSeconds`: its work inside. */
  duckdbOnly: { seconds: number; workSeconds: number; peakRssMb: number };
  /** Per gold table: rows on each side and whether the fingerprints match. */
  gold: Record<string, { pipelineRows: number; duckdbRows: number; same: boolean }>;
  target: number;
}

export interface EvidenceFigures {
  generatedAt: string;
  machine: { cores: number; node: string; duckdb: string };
  scenarios: Record<string, ScenarioResult>;
  duplicates: { delivered: number; duplicateDeliveries: number; duplicateRows: number };
  conservation: {
    files: number;
    filesQuarantined: number;
    in: number;
    out: number;
    quarantined: number;
    duplicates: number;
    lost: number;
    /** Files whose rows do not add up. */
    unbalanced: string[];
  };
  faults: { injected: number; partialObjectsLeft: number; recovered: number };
  concurrency: Record<
    string,
    { attempted: number; landed: number; transformed: number; p50Ms: number; p95Ms: number; maxMs: number }
  >;
  keys: { tried: number; read: number };
  /** Scenario 27: kills survived, and rows lost across them. */
  crashes: {
    crashes: number;
    filesAcknowledged: number;
    rowsSent: number;
    rowsFound: number;
    /** Kills that left work mid-way in landing, before a manifest, or in a queue. */
    killedDuring: { landing: number; transform: number; queue: number };
  };
  notes: { scenario: number; name: string; value: number | string; unit?: string }[];
  performance?: PerformanceFigures;
}

/** jest's `--json` output, the part used here. */
export interface JestJson {
  testResults: {
    assertionResults: { fullName: string; status: string; duration?: number | null }[];
  }[];
}

export function scenarioResults(jest: JestJson): Record<string, ScenarioResult> {
  const out: Record<string, ScenarioResult> = {};
  for (const n of Object.keys(SCENARIOS)) out[n] = { passed: 0, failed: 0, ms: 0 };
  for (const file of jest.testResults) {
    for (const t of file.assertionResults) {
      const m = /scenario (\d+):/.exec(t.fullName);
      const r = m ? out[m[1] as string] : undefined;
      if (!r) continue;
      if (t.status === 'passed') r.passed++;
      else if (t.status === 'failed') r.failed++;
      r.ms += t.duration ?? 0;
    }
  }
  return out;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

export function summarise(
  records: EvidenceRecord[],
  scenarios: Record<string, ScenarioResult>,
  machine: EvidenceFigures['machine'],
  generatedAt: string,
): EvidenceFigures {
  const f: EvidenceFigures = {
    generatedAt,
    machine,
    scenarios,
    duplicates: { delivered: 0, duplicateDeliveries: 0, duplicateRows: 0 },
    conservation: {
      files: 0,
      filesQuarantined: 0,
      in: 0,
      out: 0,
      quarantined: 0,
      duplicates: 0,
      lost: 0,
      unbalanced: [],
    },
    faults: { injected: 0, partialObjectsLeft: 0, recovered: 0 },
    concurrency: {},
    keys: { tried: 0, read: 0 },
    crashes: {
      crashes: 0,
      filesAcknowledged: 0,
      rowsSent: 0,
      rowsFound: 0,
      killedDuring: { landing: 0, transform: 0, queue: 0 },
    },
    notes: [],
  };
  const latencies: Record<string, number[]> = {};
  for (const r of records) {
    switch (r.kind) {
      case 'duplicates':
        addFields(f.duplicates, r, ['delivered', 'duplicateDeliveries', 'duplicateRows']);
        break;
      case 'conservation': {
        const c = f.conservation;
        c.files++;
        if (r.fileQuarantined) c.filesQuarantined++;
        addFields(c, r, ['in', 'out', 'quarantined', 'duplicates']);
        const lost = r.in - r.out - r.quarantined - r.duplicates;
        c.lost += Math.abs(lost);
        if (lost !== 0) c.unbalanced.push(`scenario ${r.scenario}: ${r.file} (${lost})`);
        break;
      }
      case 'faults':
        addFields(f.faults, r, ['injected', 'partialObjectsLeft', 'recovered']);
        break;
      case 'concurrency': {
        f.concurrency[r.door] ??= { attempted: 0, landed: 0, transformed: 0, p50Ms: 0, p95Ms: 0, maxMs: 0 };
        latencies[r.door] ??= [];
        const c = f.concurrency[r.door];
        c.attempted += r.attempted;
        c.landed += r.landed;
        c.transformed += r.transformed;
        latencies[r.door]?.push(...r.latenciesMs);
        break;
      }
      case 'keys':
        f.keys.tried += r.tried;
        f.keys.read += r.read;
        break;
      case 'crashes': {
        const c = f.crashes;
        addFields(c, r, ['crashes', 'filesAcknowledged', 'rowsSent', 'rowsFound']);
        for (const left of r.leftInFlight) {
          if (left.landing > 0) c.killedDuring.landing++;
          if (left.bronze > 0) c.killedDuring.transform++;
          if (left.queued > 0) c.killedDuring.queue++;
        }
        break;
      }
      case 'note':
        f.notes.push({ scenario: r.scenario, name: r.name, value: r.value, unit: r.unit });
        break;
    }
  }
  for (const [door, ms] of Object.entries(latencies)) {
    const c = f.concurrency[door];
    if (!c) continue;
    c.p50Ms = Math.round(percentile(ms, 50));
    c.p95Ms = Math.round(percentile(ms, 95));
    c.maxMs = Math.round(Math.max(...ms));
  }
  f.notes.sort((a, b) => a.scenario - b.scenario || a.name.localeCompare(b.name));
  return f;
}

const int = (n: number) => n.toLocaleString('en-US');
const ok = (good: boolean) => (good ? 'yes' : '**NO**');

export function renderReliability(f: EvidenceFigures): string {
  const s = Object.values(f.scenarios);
  const passed = Object.values(f.scenarios).filter((r) => r.passed > 0 && r.failed === 0).length;
  const c = f.conservation;
  const lines = [
    `Generated by \`npm run evidence\` on ${f.generatedAt.slice(0, 10)} (${f.machine.cores} cores, Node ${f.machine.node}, DuckDB ${f.machine.duckdb}) from the suite in \`test/evidence/\`; do not edit by hand.`,
    '',
    `**${passed} of ${s.length} scenarios pass** (${s.reduce((a, r) => a + r.passed, 0)} tests, ${s.reduce((a, r) => a + r.failed, 0)} failing).`,
    '',
    '| figure | value | must be |',
    '|---|---|---|',
    `| duplicate deliveries (same event again, concurrently, out of order, same keys in new files) | ${int(f.duplicates.duplicateDeliveries)} of ${int(f.duplicates.delivered)} deliveries | |`,
    `| duplicate rows they left in silver / gold | ${int(f.duplicates.duplicateRows)} | 0 |`,
    `| files transformed by the suite (whole files quarantined) | ${int(c.files)} (${int(c.filesQuarantined)}) | |`,
    `| rows in = out + quarantined + de-duplicated | ${int(c.in)} = ${int(c.out)} + ${int(c.quarantined)} + ${int(c.duplicates)} | |`,
    `| rows lost | ${int(c.lost)} | 0 |`,
    `| faults injected (failed S3 writes, timeouts, poison messages) | ${int(f.faults.injected)} | |`,
    `| partial or orphaned objects visible afterwards | ${int(f.faults.partialObjectsLeft)} | 0 |`,
    `| failed attempts completed by the retry | ${int(f.faults.recovered)} | |`,
    `| awkward keys tried / read back exactly | ${int(f.keys.tried)} / ${int(f.keys.read)} | equal |`,
  ];
  const k = f.crashes;
  if (k.crashes > 0) {
    lines.push(
      `| crashes survived (\`kill -9\` of \`medallion local\` at random points, restarted on the same state, no replay by hand) | ${int(k.crashes)} | at least 20 |`,
      `| kills that left uploads in landing / bronze objects without a manifest / queued messages | ${int(k.killedDuring.landing)} / ${int(k.killedDuring.transform)} / ${int(k.killedDuring.queue)} | |`,
      `| acknowledged files across the crashes; rows sent / found in silver | ${int(k.filesAcknowledged)}; ${int(k.rowsSent)} / ${int(k.rowsFound)} | equal |`,
      `| rows lost across the crashes | ${int(Math.max(0, k.rowsSent - k.rowsFound))} | 0 |`,
    );
  }
  for (const [door, r] of Object.entries(f.concurrency).sort()) {
    const name = door === 'api' ? 'concurrent API ingests' : 'concurrent uploads';
    lines.push(
      `| ${name}: landed / transformed of attempted | ${int(r.landed)} / ${int(r.transformed)} of ${int(r.attempted)} | all |`,
      `| ${name}: latency p50 / p95 / max | ${int(r.p50Ms)} / ${int(r.p95Ms)} / ${int(r.maxMs)} ms | |`,
    );
  }
  for (const n of f.notes) {
    lines.push(
      `| scenario ${n.scenario}: ${n.name} | ${typeof n.value === 'number' ? int(n.value) : n.value}${n.unit ? ` ${n.unit}` : ''} | |`,
    );
  }
  if (c.unbalanced.length > 0) lines.push('', `Unbalanced files: ${c.unbalanced.join('; ')}.`);
  lines.push('', '| # | scenario | tests | result |', '|---|---|---|---|');
  for (const [n, r] of Object.entries(f.scenarios)) {
    const result = r.failed > 0 ? '**FAILS**' : r.passed > 0 ? 'passes' : '**no test**';
    lines.push(`| ${n} | ${SCENARIOS[Number(n)]} | ${r.passed + r.failed} | ${result} |`);
  }
  return lines.join('\n');
}

export function renderPerformance(f: EvidenceFigures): string {
  const p = f.performance;
  if (!p) return '_Not measured yet: run `npm run evidence`._';
  const ratio = p.pipeline.warmSeconds / p.duckdbOnly.seconds;
  const inside = (p.pipeline.phasesMs.total ?? 0) / 1000;
  const insideRatio = inside / p.duckdbOnly.workSeconds;
  const same = Object.values(p.gold).every((g) => g.same);
  const phases = Object.entries(p.pipeline.phasesMs)
    .filter(([k]) => k !== 'total')
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
    .join(', ');
  return [
    `Generated by \`npm run evidence\` on ${f.generatedAt.slice(0, 10)} (${f.machine.cores} cores, Node ${f.machine.node}, DuckDB ${f.machine.duckdb}); do not edit by hand.`,
    '',
    '| figure | value | target |',
    '|---|---|---|',
    `| \`npm run pipeline\` on ${int(p.rows)} orders rows (${p.csvMb.toFixed(1)} MB CSV), whole process, warm | ${p.pipeline.warmSeconds.toFixed(1)} s | |`,
    `| the same, first run (synthesizes the CDK app for the wiring) | ${p.pipeline.coldSeconds.toFixed(1)} s | |`,
    `| DuckDB-only script computing the same gold from the CSV, whole process | ${p.duckdbOnly.seconds.toFixed(1)} s | |`,
    `| **pipeline / DuckDB-only, whole processes** | **${ratio.toFixed(1)}x** | within ${p.target}x: ${ok(ratio <= p.target)} |`,
    `| the same, work inside each process only (pipeline ${inside.toFixed(1)} s, script ${p.duckdbOnly.workSeconds.toFixed(1)} s) | ${insideRatio.toFixed(1)}x | |`,
    `| gold tables identical (rows and fingerprint) | ${ok(same)} (${Object.entries(p.gold)
      .map(([t, g]) => `${t} ${int(g.pipelineRows)}`)
      .join(', ')}) | yes |`,
    `| transform peak RSS on the same file (engine limit ${p.transform.engineMemoryLimit}, as in Lambda) | ${int(p.transform.peakRssMb)} MB of ${int(p.transform.lambdaMemoryMb)} MB configured | below |`,
    `| transform alone | ${p.transform.seconds.toFixed(2)} s | |`,
    '',
    `Warm pipeline phases: ${phases}. The DuckDB-only script (\`bench/duckdb-only-gold.ts\`) reads the CSVs,`,
    'applies the contracts by hand, keeps the latest version of each key and runs the same model SQL; it has',
    'no S3, bronze, quarantine, manifests or catalog. Both are timed as whole processes started the same way',
    '(`node --import tsx ...`), medians of the warm runs; the second ratio leaves out process start-up.',
  ].join('\n');
}

/** Replaces the body between `<!-- evidence:<name> -->` and `<!-- /evidence:<name> -->`. */
export function replaceSection(readme: string, name: string, body: string): string {
  const start = `<!-- evidence:${name} -->`;
  const end = `<!-- /evidence:${name} -->`;
  const i = readme.indexOf(start);
  const j = readme.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README.md has no ${start} ... ${end} section`);
  return `${readme.slice(0, i + start.length)}\n${body}\n${readme.slice(j)}`;
}

export function sectionBody(readme: string, name: string): string | undefined {
  const start = `<!-- evidence:${name} -->`;
  const end = `<!-- /evidence:${name} -->`;
  const i = readme.indexOf(start);
  const j = readme.indexOf(end);
  if (i < 0 || j < i) return undefined;
  return readme
    .slice(i + start.length, j)
    .replace(/^\n/, '')
    .replace(/\n$/, '');
}

/** Adds the named counts of `from` into `to`. */
function addFields<K extends string>(
  to: Record<K, number>,
  from: Record<K, number>,
  keys: readonly K[],
): void {
  for (const k of keys) to[k] += from[k];
}
