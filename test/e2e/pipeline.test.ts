/**
 * The whole local pipeline on the sample data: landing (both doors) -> bronze -> queue -> silver -> gold (the
 * synthesized state machine, Athena on DuckDB), run twice over the same state to check that re-ingesting the
 * same files changes nothing and that gold comes out the same.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { PipelineReport } from '../../local/report/pipeline-report';
import { SAMPLE_EXPECTATIONS } from '../support/sample-expectations';

const SAMPLES = resolve(__dirname, '..', '..', 'samples');

/** Loads the pipeline afresh: the handlers read their environment (S3 port...) once, when loaded. */
async function run(options: { stateDir: string; keepState?: boolean; reportFile?: string }) {
  jest.resetModules();
  const { runPipeline } =
    require('../../local/commands/pipeline') as typeof import('../../local/commands/pipeline');
  const lines: string[] = [];
  const report = await runPipeline({
    contractsDir: join(SAMPLES, 'contracts'),
    dataDir: join(SAMPLES, 'data'),
    port: 0,
    apiPort: 0,
    out: (line) => lines.push(line),
    ...options,
  });
  return { report, lines };
}

const byPath = (r: PipelineReport) => Object.fromEntries(r.files.map((f) => [f.path, f]));

describe('medallion pipeline on the samples', () => {
  let state: string;
  let first: { report: PipelineReport; lines: string[] };
  let second: { report: PipelineReport; lines: string[] };

  beforeAll(async () => {
    state = mkdtempSync(join(tmpdir(), 'medallion-e2e-'));
    first = await run({ stateDir: state, reportFile: join(state, 'report.json') });
    second = await run({ stateDir: state, keepState: true });
  }, 60_000);

  afterAll(() => rmSync(state, { recursive: true, force: true }));

  it('runs the gold models after silver and publishes every gold table with its rows', () => {
    const rows = (r: PipelineReport) =>
      Object.fromEntries(Object.entries(r.gold?.tables ?? {}).map(([t, v]) => [t, v.rows]));
    expect(first.report.gold?.status).toBe('SUCCEEDED');
    expect(rows(first.report)).toEqual({ category_sales: 5, customer_lifetime_value: 10, daily_sales: 26 });
    for (const [name, t] of Object.entries(first.report.gold?.tables ?? {})) {
      // daily_sales is incremental: its days are partitions, published one by one (its plan says how).
      if (name === 'daily_sales') expect(t.plan).toEqual({ mode: 'full', reason: 'first run', dates: 0 });
      else expect(t.location).toContain(`/v=${first.report.gold?.executionName}/`);
    }
    expect(first.lines.join('\n')).toMatch(/daily_sales: 26 row\(s\), [0-9.]+ KiB read, full: first run/);
    expect(first.lines.join('\n')).toMatch(/category_sales: 5 row\(s\), [0-9.]+ KiB read, published at/);
  });

  it('gives identical gold on a re-run over the same silver, published as a new version', () => {
    const previews = (r: PipelineReport) =>
      Object.fromEntries(Object.entries(r.gold?.tables ?? {}).map(([t, v]) => [t, v.preview]));
    expect(second.report.gold?.status).toBe('SUCCEEDED');
    expect(previews(second.report)).toEqual(previews(first.report));
    expect(second.report.gold?.executionName).not.toBe(first.report.gold?.executionName);
  });

  it('accounts for every row: 77 in, 66 out, 9 quarantined, 2 duplicates', () => {
    expect(first.report.totals).toEqual({
      files: 4,
      rows: { in: 77, out: 66, quarantined: 9, duplicates: 2 },
    });
    expect(first.report.ok).toBe(true);
  });

  it('checks conservation per file against the expected counts, through both doors', () => {
    const files = byPath(first.report);
    const summary = Object.fromEntries(
      Object.entries(files).map(([path, f]) => [path, [f.door, f.landing, f.status, f.rows, f.conservation]]),
    );
    const ok = { ok: true, problems: [] };
    expect(summary).toEqual({
      'customers/customers.ndjson': [
        'api',
        'landed',
        'ok',
        { in: 11, out: 10, quarantined: 1, duplicates: 0 },
        ok,
      ],
      'orders/orders-2026-11-01.csv': [
        's3',
        'landed',
        'ok',
        { in: 44, out: 34, quarantined: 8, duplicates: 2 },
        ok,
      ],
      'orders/orders-2026-11-03.csv.gz': [
        's3',
        'landed',
        'ok',
        { in: 10, out: 10, quarantined: 0, duplicates: 0 },
        ok,
      ],
      'products/products.csv': ['s3', 'landed', 'ok', { in: 12, out: 12, quarantined: 0, duplicates: 0 }, ok],
    });
    expect(files['orders/orders-2026-11-01.csv'].quarantinedByReason).toEqual(
      SAMPLE_EXPECTATIONS['orders/orders-2026-11-01.csv'].quarantinedByReason,
    );
    expect(files['orders/orders-2026-11-01.csv'].partitions).toEqual({
      '2026-11-01': 11,
      '2026-11-02': 9,
      '2026-11-03': 14,
    });
    expect(files['orders/orders-2026-11-03.csv.gz'].partitions).toEqual({ '2026-11-01': 1, '2026-11-03': 9 });
  });

  it('dead-letters nothing and lands everything', () => {
    expect(first.report.deadLetters).toEqual([]);
    expect(first.report.landingFailures).toEqual([]);
  });

  it('writes silver Parquet files and one manifest per file', () => {
    const silver = first.report.silverObjects;
    expect(silver.filter((k) => k.startsWith('_manifests/'))).toHaveLength(4);
    const parquet = silver.filter((k) => k.endsWith('.parquet'));
    const partitions = first.report.datasets.reduce((n, d) => n + Object.keys(d.partitions).length, 0);
    expect(parquet.length).toBeGreaterThanOrEqual(partitions);
    for (const k of parquet)
      expect(k).toMatch(/^retail\/(orders|customers|products)\/dt=[0-9-]+\/part-[0-9a-f]+\.parquet$/);
  });

  it('prints progress, the summary and OK', () => {
    expect(first.lines).toContain('landed 4/4 files');
    expect(first.lines).toContain('transformed 4/4');
    expect(first.lines.some((l) => /^total\s+4\s+77\s+66\s+9\s+2$/.test(l))).toBe(true);
    expect(first.lines.at(-2)).toBe('OK');
    expect(JSON.parse(readFileSync(join(state, 'report.json'), 'utf8')).totals).toEqual(first.report.totals);
  });

  it('is idempotent: a second run over the same state lands nothing new and changes nothing in silver', () => {
    expect(second.report.ok).toBe(true);
    expect(second.report.files.map((f) => f.landing)).toEqual([
      'already-landed',
      'already-landed',
      'already-landed',
      'already-landed',
    ]);
    expect(second.report.totals).toEqual(first.report.totals);
    // The arrivals and their bookkeeping are unchanged. (The first report was built before its gold run
    // created the history and current-state tables under _history/ and _current/, and the watermarks
    // under _state/.)
    const arrivals = (keys: string[]) => keys.filter((k) => !/^_(history|current|deleted|state)\//.test(k));
    expect(arrivals(second.report.silverObjects)).toEqual(first.report.silverObjects);
    expect(second.report.files.map((f) => [f.bronzeKey, f.manifestKey, f.partitions])).toEqual(
      first.report.files.map((f) => [f.bronzeKey, f.manifestKey, f.partitions]),
    );
    expect(second.lines).toContain('nothing new to transform: bronze already held every file');
  });

  it('runs well under the time budget', () => {
    // A first run on a fresh state: synthesis (wiring, gold template), check, silver, gold and alarms, ~12 s
    // alone on 2 cores; `npm test` runs this beside the unit phase, which can double it.
    expect(first.report.timingsMs.total).toBeLessThan(40_000);
  });
});
