/**
 * The smoke sample: a few rows of real sample data (`samples/data` by default), one file per door, tagged
 * with the run id so that runs on the same deployment never collide (new bytes, new keys) and each check
 * finds exactly its own rows.
 *
 * The rows are the first records of the dataset's first data file, so they are valid for its contract as
 * the sample data is. Then, per row:
 *  - the key column (the first string primary key column without a pii rule) gets a value of its own, one
 *    that still passes the column's checks: `smoke-<run id>-<n>`, else the sample value with its trailing
 *    digits replaced by `<run id><n>` (e.g. `O-1001` -> `O-202611011200001234` + n), else with them appended;
 *  - every other string column without checks gets `smoke-<run id>`, so the rows join nothing real (no
 *    real customer or product gains a smoke order in a deployment's gold tables).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { mapCsvHeader } from '../../core/contracts/column-mapping';
import type { ContractColumn, DatasetContract } from '../../core/contracts/dataset-contract';
import { readContracts } from '../../core/contracts/load-contracts';
import { PipelineUsageError } from '../../core/errors';
import { displayPath } from '../report/display-path';
import { readCsvRecords, writeCsvRecords } from './csv-records';

export type SmokeDoor = 's3' | 'api';

/** Rows sent through the landing bucket, and through the API. */
export const SAMPLE_ROWS: Readonly<Record<SmokeDoor, number>> = { s3: 2, api: 1 };

export interface SmokeSample {
  readonly door: SmokeDoor;
  readonly contract: DatasetContract;
  /** `smoke-<run id>.<format>`: the landing object's name, or the API's X-File-Name. */
  readonly fileName: string;
  readonly body: Buffer;
  readonly contentType: string;
  readonly sha256: string;
  readonly rows: number;
  /** The column the rows are found by in silver and gold, and each row's value of it (normalized). */
  readonly keyColumn: string;
  readonly keys: readonly string[];
}

export interface SampleOptions {
  readonly contractsDir: string;
  readonly dataDir: string;
  readonly runId: string;
  /** The dataset uploaded to the landing bucket; default the first CSV dataset with sample data. */
  readonly landingDataset?: string;
  /** The dataset POSTed to the API; default the first JSON or NDJSON dataset with sample data. */
  readonly apiDataset?: string;
}

const MEDIA_TYPES: Record<DatasetContract['source']['format'], string> = {
  csv: 'text/csv',
  ndjson: 'application/x-ndjson',
  json: 'application/json',
};

/** A run id: the UTC time to the second and 4 random digits, digits only (it fits `\d+` key patterns). */
export function newRunId(now = new Date(), random = Math.random): string {
  const time = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${time}${String(Math.floor(random() * 10_000)).padStart(4, '0')}`;
}

/** The two files of a run: one for the landing bucket, one for the API. */
export function smokeSamples(options: SampleOptions): Record<SmokeDoor, SmokeSample> {
  const registry = readContracts(options.contractsDir, (m) => new PipelineUsageError(m), displayPath);
  const withData = registry.all
    .filter((c) => dataFileOf(options.dataDir, c.dataset) !== undefined)
    .sort((a, b) => a.dataset.localeCompare(b.dataset));
  const choose = (door: SmokeDoor, named: string | undefined, formats: string[], option: string) => {
    if (named !== undefined) {
      const contract = registry.byName(named);
      if (!contract) {
        const known = registry.all.map((c) => c.dataset).sort();
        throw new PipelineUsageError(
          `${option} ${named}: no data contract declares it (known: ${known.join(', ')})`,
        );
      }
      return contract;
    }
    const contract = withData.find((c) => formats.includes(c.source.format)) ?? withData[0];
    if (!contract) {
      throw new PipelineUsageError(
        `no sample data for the ${door} door under ${displayPath(options.dataDir)}/<dataset>/: pass --data DIR`,
      );
    }
    return contract;
  };
  return {
    s3: sampleFor('s3', choose('s3', options.landingDataset, ['csv'], '--landing-dataset'), options),
    api: sampleFor('api', choose('api', options.apiDataset, ['ndjson', 'json'], '--api-dataset'), options),
  };
}

function sampleFor(door: SmokeDoor, contract: DatasetContract, options: SampleOptions): SmokeSample {
  const rows = SAMPLE_ROWS[door];
  const file = dataFileOf(options.dataDir, contract.dataset);
  if (!file) {
    throw new PipelineUsageError(
      `no sample data for dataset ${contract.dataset}: put a file under ${displayPath(join(options.dataDir, contract.dataset))}/ or pass --data DIR`,
    );
  }
  const bytes = readFileSync(file);
  const text = (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
  const key = keyColumnOf(contract);
  const tag = (column: ContractColumn, base: unknown, row: number): string | undefined => {
    if (column.name === key.name) return keyValue(contract, column, String(base ?? ''), options.runId, row);
    return column.typeText === 'string' && !column.checks ? `smoke-${options.runId}` : undefined;
  };
  const tagged: string[] = [];
  let body: string;
  if (contract.source.format === 'csv') {
    const dialect = contract.source.csv;
    const records = readCsvRecords(text, dialect, dialect.header ? rows + 1 : rows);
    const header = dialect.header ? (records.shift() ?? []) : [];
    const positions = dialect.header
      ? mapCsvHeader(contract, header).sources
      : new Map(contract.columns.map((c, i) => [c.name, i]));
    if (records.length < rows) throw tooFewRows(contract, file, rows);
    for (const [r, record] of records.entries()) {
      for (const column of contract.columns) {
        const at = positions.get(column.name);
        if (typeof at !== 'number') continue;
        const value = tag(column, record[at], r + 1);
        if (value !== undefined) record[at] = value;
        if (column.name === key.name) tagged.push(record[at]);
      }
    }
    body = writeCsvRecords(dialect.header ? [header, ...records] : records, dialect);
  } else {
    const records = jsonRecords(text, contract.source.format, rows);
    if (records.length < rows) throw tooFewRows(contract, file, rows);
    for (const [r, record] of records.entries()) {
      for (const column of contract.columns) {
        const field = column.from ?? column.name;
        if (!(field in record) && column.name !== key.name) continue;
        const value = tag(column, record[field], r + 1);
        if (value !== undefined) record[field] = value;
        if (column.name === key.name) tagged.push(String(record[field]));
      }
    }
    body =
      contract.source.format === 'json'
        ? `${JSON.stringify(records)}\n`
        : records.map((r) => `${JSON.stringify(r)}\n`).join('');
  }
  const buffer = Buffer.from(body, 'utf8');
  return {
    door,
    contract,
    fileName: `smoke-${options.runId}.${contract.source.format}`,
    body: buffer,
    contentType: MEDIA_TYPES[contract.source.format],
    sha256: createHash('sha256').update(buffer).digest('hex'),
    rows,
    keyColumn: key.name,
    keys: tagged.map((v) => normalized(key, v)),
  };
}

/** The first data file of a dataset (`<data>/<dataset>/<file>`, sorted, dot files skipped). */
function dataFileOf(dataDir: string, dataset: string): string | undefined {
  const dir = join(dataDir, dataset);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return undefined;
  const name = readdirSync(dir)
    .filter((f) => !f.startsWith('.') && statSync(join(dir, f)).isFile())
    .sort()[0];
  return name === undefined ? undefined : join(dir, name);
}

function jsonRecords(text: string, format: 'ndjson' | 'json', rows: number): Record<string, unknown>[] {
  const values =
    format === 'json'
      ? (JSON.parse(text) as unknown[])
      : text
          .split(/\r?\n/)
          .filter((l) => l.trim() !== '')
          .slice(0, rows)
          .map((l) => JSON.parse(l) as unknown);
  return (Array.isArray(values) ? values : [])
    .slice(0, rows)
    .filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v));
}

function tooFewRows(contract: DatasetContract, file: string, rows: number): PipelineUsageError {
  return new PipelineUsageError(
    `${displayPath(file)} has fewer than ${rows} record(s) for the ${contract.dataset} smoke sample`,
  );
}

/** The column the rows are found by: the first string primary key column that silver keeps readable. */
function keyColumnOf(contract: DatasetContract): ContractColumn {
  const column = contract.primaryKey
    .map((name) => contract.columns.find((c) => c.name === name))
    .find((c): c is ContractColumn => c !== undefined && c.typeText === 'string' && !c.pii);
  if (!column) {
    throw new PipelineUsageError(
      `dataset ${contract.dataset} has no string primary key column without a pii rule to tag smoke rows with: choose another dataset (--landing-dataset, --api-dataset)`,
    );
  }
  return column;
}

/** A value of the key column unique to this run and row that passes the column's checks. */
function keyValue(
  contract: DatasetContract,
  column: ContractColumn,
  base: string,
  runId: string,
  row: number,
): string {
  const digits = `${runId}${row}`;
  const trimmed = base.trim();
  const candidates = [
    `smoke-${runId}-${row}`,
    /\d+$/.test(trimmed) ? trimmed.replace(/\d+$/, digits) : undefined,
    `${trimmed}${digits}`,
  ];
  const value = candidates.find((c) => c !== undefined && fitsChecks(column, normalized(column, c)));
  if (value === undefined) {
    throw new PipelineUsageError(
      `cannot make a unique ${contract.dataset}.${column.name} that passes its checks: choose another dataset (--landing-dataset, --api-dataset)`,
    );
  }
  return value;
}

/** The value after the column's normalization (trim, upper, lower, in order), as silver stores it. */
function normalized(column: ContractColumn, value: string): string {
  return column.normalize.reduce(
    (v, step) => (step === 'trim' ? v.trim() : step === 'upper' ? v.toUpperCase() : v.toLowerCase()),
    value,
  );
}

function fitsChecks(column: ContractColumn, value: string): boolean {
  const checks = column.checks;
  if (!checks) return true;
  if (checks.allowed) return false; // a closed list has no room for a unique value
  if (checks.maxLength !== undefined && value.length > checks.maxLength) return false;
  return checks.regex === undefined || new RegExp(`^(?:${checks.regex})$`).test(value);
}
