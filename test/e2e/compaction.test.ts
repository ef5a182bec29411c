/**
 * Compaction through the whole local pipeline: 500 small landings (CSV files of 1 to 3 meter readings, all
 * read the same day: new readings, corrections re-sent with a later `updated_at`, and a few older versions
 * arriving late) land through the local cloud, one arrival file each; then one gold workflow run appends
 * them to the history and merges them into the current state (several plans: their filters are bounded),
 * each plan followed by the maintenance step (OPTIMIZE of the days merged, VACUUM). Afterwards the day's
 * partition of the history and of the current state each hold at most 2 data files; the history's rows are
 * every version landed, the current state's the latest version of each key, both computed here, checksum
 * for checksum. A first run with one file made the tables, so the 500 are merged incrementally, as the
 * hourly runs do.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rng } from '../../bench/generate-orders';
import { runPipeline } from '../../local/commands/pipeline';
import { runQuery } from '../../local/commands/query';
import type { IcebergSnapshot } from '../../local/gold/iceberg-table';
import type { PipelineReport } from '../../local/report/pipeline-report';
import { freePort } from '../support/free-port';

const FIXTURES = join(__dirname, 'fixtures', 'compaction');
const contractsDir = join(FIXTURES, 'contracts');
const DAY = '2026-03-01';
const LANDINGS = 500;

interface Reading {
  reading_id: string;
  read_at: string;
  updated_at: string;
  meter: string;
  /** Thousandths of a kWh. */
  milliKwh: number;
}

/** The landings: each a file of 1 to 3 versions, no key twice in a file. */
function landings(seed: number): { seed: Reading[]; files: Reading[][] } {
  const random = rng(seed);
  let clock = Date.parse(`${DAY}T23:00:00Z`);
  let next = 1;
  const latest = new Map<string, Reading>();
  const reading = (id: string): Reading => {
    clock += 1000;
    const second = Math.floor(random() * 86_400);
    return {
      reading_id: id,
      read_at: new Date(Date.parse(`${DAY}T00:00:00Z`) + second * 1000).toISOString(),
      updated_at: new Date(clock).toISOString(),
      meter: `m${1 + Math.floor(random() * 9)}`,
      milliKwh: Math.floor(random() * 1_000_000),
    };
  };
  const file = (size: number): Reading[] => {
    const out: Reading[] = [];
    while (out.length < size) {
      const known = [...latest.keys()];
      const r = random();
      const id = r < 0.25 && known.length > 0 ? known[Math.floor(random() * known.length)] : `R${next++}`;
      if (out.some((x) => x.reading_id === id)) continue;
      const version = reading(id);
      const current = latest.get(id);
      // A few older versions arrive late: they must not win.
      if (current && r < 0.03)
        version.updated_at = new Date(Date.parse(current.updated_at) - 500).toISOString();
      out.push(version);
    }
    for (const v of out) {
      const current = latest.get(v.reading_id);
      if (!current || v.updated_at > current.updated_at) latest.set(v.reading_id, v);
    }
    return out;
  };
  const first = file(3);
  return { seed: first, files: Array.from({ length: LANDINGS }, () => file(1 + Math.floor(random() * 3))) };
}

/** Versions as `id|read_at ms|updated_at ms|meter|kwh` rows, sorted. */
const asRows = (versions: Iterable<Reading>): string[] =>
  [...versions]
    .map(
      (v) =>
        `${v.reading_id}|${Date.parse(v.read_at)}|${Date.parse(v.updated_at)}|${v.meter}|${(v.milliKwh / 1000).toFixed(3)}`,
    )
    .sort();

/** The latest version per key (by `updated_at`), as rows. */
function latestRows(versions: Iterable<Reading>): string[] {
  const latest = new Map<string, Reading>();
  for (const v of versions) {
    const current = latest.get(v.reading_id);
    if (!current || v.updated_at > current.updated_at) latest.set(v.reading_id, v);
  }
  return asRows(latest.values());
}

/** The same row text, computed by the local Athena from a table's columns. */
const ROW_SQL = `reading_id || '|' || CAST(epoch_ms(read_at) AS VARCHAR) || '|' || CAST(epoch_ms(updated_at) AS VARCHAR)
  || '|' || meter || '|' || CAST(kwh AS VARCHAR)`;

const checksum = (rows: string[]) => createHash('sha256').update(rows.join('\n')).digest('hex');
const csv = (readings: Reading[]) =>
  `reading_id,read_at,updated_at,meter,kwh\n${readings
    .map((v) => `${v.reading_id},${v.read_at},${v.updated_at},${v.meter},${(v.milliKwh / 1000).toFixed(3)}`)
    .join('\n')}\n`;

/** s3rver keeps each object as a file: `<state>/s3/<bucket>/<key>._S3rver_object`. */
const objectFile = (state: string, uri: string) => {
  const [, bucket, key] = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri) as RegExpExecArray;
  return join(state, 's3', bucket, `${key}._S3rver_object`);
};

/** The current snapshot of the Iceberg table `name`, from the local catalog and the local S3 files. */
function currentSnapshot(state: string, name: string): IcebergSnapshot {
  const catalog = JSON.parse(readFileSync(join(state, 'gold', 'glue-catalog.json'), 'utf8')) as {
    databases: Record<string, { tables: Record<string, { table: { Parameters?: Record<string, string> } }> }>;
  };
  const table = Object.values(catalog.databases).find((db) => db.tables[name])?.tables[name].table;
  const location = table?.Parameters?.metadata_location;
  if (!location) throw new Error(`${name} has no snapshot`);
  return JSON.parse(readFileSync(objectFile(state, location), 'utf8')) as IcebergSnapshot;
}

describe('compaction end to end', () => {
  let dir: string;
  let state: string;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-compaction-'));
    state = join(dir, 'state');
    port = await freePort();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (dataDir: string, keepState: boolean): Promise<PipelineReport> =>
    runPipeline({
      contractsDir,
      modelsDir: join(FIXTURES, 'models'),
      dataDir,
      stateDir: state,
      keepState,
      port,
      apiPort: 0,
      out: () => {},
    });

  test(`${LANDINGS} small landings into one day leave at most 2 files in that day, with the same rows and checksums`, async () => {
    const { seed, files } = landings(20261206);
    const write = (name: string, data: Readonly<Record<string, string>>) => {
      const readings = join(dir, name, 'readings');
      mkdirSync(readings, { recursive: true });
      for (const [file, text] of Object.entries(data)) writeFileSync(join(readings, file), text);
      return join(dir, name);
    };
    const first = await run(write('seed', { 'seed.csv': csv(seed) }), false);
    expect(first.gold?.status).toBe('SUCCEEDED');

    const landed = write(
      'landings',
      Object.fromEntries(files.map((f, i) => [`landing-${String(i).padStart(3, '0')}.csv`, csv(f)])),
    );
    const report = await run(landed, true);
    expect(report.ok).toBe(true);
    expect(report.gold?.status).toBe('SUCCEEDED');
    const landingMs = report.timingsMs.ingest + report.timingsMs.transform;

    // Each landing is an arrival file of the day: 501 small files.
    const arrivalsDir = join(state, 's3', report.buckets.silver, 'meters', 'readings', `dt=${DAY}`);
    const arrivalFiles = existsSync(arrivalsDir)
      ? readdirSync(arrivalsDir).filter((f) => f.endsWith('._S3rver_object')).length
      : 0;
    expect(arrivalFiles).toBe(LANDINGS + 1);

    // The history's day: at most 2 data files, holding every version landed, checksum for checksum.
    const history = currentSnapshot(state, 'readings_history');
    const historyDayFiles = history.files.filter((f) => f.partition.dt === DAY);
    expect(historyDayFiles.length).toBeGreaterThanOrEqual(1);
    expect(historyDayFiles.length).toBeLessThanOrEqual(2);
    expect(history.files).toEqual(historyDayFiles);
    const everyVersion = asRows([...seed, ...files.flat()]);
    const historyRows = (
      await runQuery(`SELECT ${ROW_SQL} AS r FROM readings_history`, { stateDir: state, contractsDir })
    ).rows
      .map((r) => String(r.r))
      .sort();
    expect(historyRows.length).toBe(everyVersion.length);
    expect(checksum(historyRows)).toBe(checksum(everyVersion));
    expect(historyRows).toEqual(everyVersion);

    // The current state's day: at most 2 data files (the gold run's OPTIMIZE of the days it merged).
    const snapshot = currentSnapshot(state, 'readings');
    const dayFiles = snapshot.files.filter((f) => f.partition.dt === DAY);
    expect(dayFiles.length).toBeGreaterThanOrEqual(1);
    expect(dayFiles.length).toBeLessThanOrEqual(2);
    expect(snapshot.files).toEqual(dayFiles);

    // Its rows are the latest version of each key, computed independently: same rows, same checksum.
    const expected = latestRows([...seed, ...files.flat()]);
    const table = await runQuery(`SELECT ${ROW_SQL} AS r, dt FROM readings`, {
      stateDir: state,
      contractsDir,
    });
    const rows = table.rows.map((r) => String(r.r)).sort();
    expect(new Set(table.rows.map((r) => r.dt))).toEqual(new Set([DAY]));
    expect(rows.length).toBe(expected.length);
    expect(checksum(rows)).toBe(checksum(expected));
    expect(rows).toEqual(expected);
    expect(dayFiles.reduce((n, f) => n + f.rows, 0)).toBe(expected.length);
    expect(report.gold?.currentState['meters/readings']).toEqual({
      keys: expected.length,
      versions: seed.length + files.flat().length,
    });

    // The model that reads the current state after the merge scans the day's files, nothing else.
    const model = report.gold?.tables.daily_readings;
    expect(model?.bytesRead).toBe(dayFiles.reduce((n, f) => n + f.bytes, 0));

    console.log(
      `compaction: ${LANDINGS} landings (${files.flat().length} rows) landed and transformed in ${landingMs} ms ` +
        `(ingest ${report.timingsMs.ingest} ms, transform ${report.timingsMs.transform} ms), gold ${report.timingsMs.gold} ms; ` +
        `arrival files in ${DAY}: ${arrivalFiles}, history files: ${historyDayFiles.length} (${everyVersion.length} versions), ` +
        `current-state files: ${dayFiles.length} (${expected.length} keys)`,
    );
  }, 300_000); // ~90 s alone on 2 cores; the other stream of `npm test` shares them
});
