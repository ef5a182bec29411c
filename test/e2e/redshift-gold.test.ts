/**
 * Gold on Redshift, locally (PostgreSQL on PGlite behind the local Data API), against gold on Athena
 * (DuckDB): the same sample data through the same pipeline, then every sample model's published table,
 * compared by fingerprint (rows and column types). A second arrival (new versions of three orders on one
 * day) then runs the incremental model on both: Redshift replaces only the recomputed dates' rows, in one
 * transaction, and both engines' gold must still be equal.
 */

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { GoldEngineName } from '../../lib/config';
import { runQuery } from '../../local/commands/query';
import type { PipelineReport } from '../../local/report/pipeline-report';

const ROOT = resolve(__dirname, '..', '..');
const MODELS = ['customer_lifetime_value', 'daily_sales', 'category_sales'];
/** Orders of 2026-11-02: a new version of one (cancelled, later updated_at) and a new order. */
const SECOND_ARRIVAL = [
  'order_id,order_ts,updated_at,customer_id,store_id,product_id,quantity,unit_price,currency,status',
  'O-1021,2026-11-02 13:03:50,2026-11-05T10:00:00Z,C010,S1,P006,2,11.50,EUR,cancelled',
  'O-2001,2026-11-02 16:30:00,2026-11-05T10:00:01Z,C002,S1,P001,2,19.99,EUR,placed',
].join('\n');

describe('gold on Redshift (PGlite) equals gold on Athena (DuckDB)', () => {
  let dir: string;
  const states: Record<GoldEngineName, string> = { athena: '', redshift: '' };
  const reports: Record<GoldEngineName, PipelineReport[]> = { athena: [], redshift: [] };

  // The CLI, one process per run: a process holds one local cloud (handlers read their settings once).
  const run = async (engine: GoldEngineName, dataDir: string) => {
    const reportFile = join(dir, `${engine}-${reports[engine].length}.json`);
    const args = ['bin/medallion.ts', 'pipeline', '--gold-engine', engine, '--data', dataDir];
    args.push('--state', states[engine], '--port', '0', '--api-port', '0', '--report', reportFile);
    if (reports[engine].length > 0) args.push('--keep-state');
    const done = await promisify(execFile)(join(ROOT, 'node_modules', '.bin', 'tsx'), args, {
      cwd: ROOT,
      encoding: 'utf8',
    }).catch((e: { stdout?: string; stderr?: string }) => {
      throw new Error(`medallion pipeline --gold-engine ${engine} failed:\n${e.stdout}\n${e.stderr}`);
    });
    expect(done.stdout).toContain(`\nOK`);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as PipelineReport;
    reports[engine].push(report);
    return report;
  };

  /** A table's rows (sorted) and column types, and their fingerprint. */
  const table = async (engine: GoldEngineName, name: string) => {
    const query = async (sql: string) => (await runQuery(sql, { stateDir: states[engine] })).rows;
    const rows = await query(`SELECT * FROM ${name} ORDER BY ALL`);
    const types = await query(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${name})`);
    const text = JSON.stringify({ rows, types }, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
    return { rows, types, fingerprint: createHash('sha256').update(text).digest('hex') };
  };

  const expectSameGold = async () => {
    for (const model of MODELS) {
      const [athena, redshift] = [await table('athena', model), await table('redshift', model)];
      expect({ model, rows: redshift.rows.length }).toEqual({ model, rows: athena.rows.length });
      expect(redshift.rows.length).toBeGreaterThan(0);
      expect({ model, types: redshift.types }).toEqual({ model, types: athena.types });
      expect({ model, rows: redshift.rows }).toEqual({ model, rows: athena.rows });
      expect(redshift.fingerprint).toBe(athena.fingerprint);
    }
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-redshift-gold-'));
    states.athena = join(dir, 'athena');
    states.redshift = join(dir, 'redshift');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the sample models: same rows, same types, same fingerprints', async () => {
    for (const engine of ['athena', 'redshift'] as const) {
      const report = await run(engine, join(ROOT, 'samples', 'data'));
      expect({ engine, ok: report.ok, status: report.gold?.status }).toEqual({
        engine,
        ok: true,
        status: 'SUCCEEDED',
      });
    }
    // The Redshift run went through the local Data API (its PostgreSQL database is on disk), the Athena
    // run did not; each model was built, unloaded and published.
    expect(existsSync(join(states.redshift, 'gold', 'redshift', 'databases', 'dev'))).toBe(true);
    expect(existsSync(join(states.athena, 'gold', 'redshift'))).toBe(false);
    const gold = reports.redshift[0].gold;
    for (const model of MODELS)
      expect({ model, now: gold?.tables[model]?.publishedNow }).toEqual({ model, now: true });
    await expectSameGold();
  }, 180_000);

  it('a second arrival: the incremental model recomputes only the dates next to it, on both engines', async () => {
    const data = join(dir, 'second-arrival');
    mkdirSync(join(data, 'orders'), { recursive: true });
    writeFileSync(join(data, 'orders', 'orders-2026-11-05.csv'), `${SECOND_ARRIVAL}\n`);
    // The other datasets' sample files again (already in bronze: nothing new for them).
    for (const dataset of ['customers', 'products']) {
      cpSync(join(ROOT, 'samples', 'data', dataset), join(data, dataset), { recursive: true });
    }
    for (const engine of ['athena', 'redshift'] as const) {
      const report = await run(engine, data);
      expect({ engine, status: report.gold?.status }).toEqual({ engine, status: 'SUCCEEDED' });
      const plan = report.gold?.tables.daily_sales?.plan;
      // The orders of 2026-11-02 changed: that day and its lookback neighbours (1 day), nothing else.
      expect({ engine, mode: plan?.mode, dates: plan?.dates }).toEqual({
        engine,
        mode: 'incremental',
        dates: 3,
      });
    }
    await expectSameGold();
  }, 180_000);
});
