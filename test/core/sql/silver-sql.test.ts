/**
 * The SQL of `SilverSql`, run through a real DuckDB in the order the transform runs it (see
 * test/support/run-silver-sql.ts): strict casting, normalization, checks, PII, de-duplication, partitions,
 * source formats, line numbers of quarantined rows, and the expected counts of every sample file.
 */

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Json } from '@duckdb/node-api';
import {
  type DatasetContract,
  type DatasetContractInput,
  parseContract,
} from '../../../core/contracts/dataset-contract';
import { loadContractFile } from '../../../core/contracts/load-contracts';
import { FileRejection } from '../../../core/errors';
import { MAX_LINE_BYTES, OVERLONG_TEXT_CHARS } from '../../../core/sql/silver-sql';
import { Engine } from '../../../lambdas/bronze-to-silver/duckdb-engine';
import { type ColumnInput, itemsContract } from '../../support/items-contract';
import { DEFAULT_LINEAGE, runSilverSql, type SilverRun } from '../../support/run-silver-sql';
import { SAMPLE_EXPECTATIONS } from '../../support/sample-expectations';

const SAMPLES = join(__dirname, '..', '..', '..', 'samples');

let tmp: string;
let engine: Engine;
let fileCount = 0;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'silver-sql-test-'));
  engine = await Engine.create({ memoryLimit: '256MB', threads: 2, tempDirectory: join(tmp, 'duckdb') });
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** A contract with `id` (key), the given columns, and a required `day` date partition column. */
const contractWith = (columns: ColumnInput[], over: Partial<DatasetContractInput> = {}): DatasetContract =>
  itemsContract(columns, over, { domain: 'retail', dataset: 'test' });

function writeSource(text: string | Buffer, ext = 'csv'): string {
  fileCount += 1;
  const file = join(tmp, `source-${fileCount}.${ext}`);
  writeFileSync(file, text);
  return file;
}

async function run(contract: DatasetContract, text: string, ext = 'csv'): Promise<SilverRun> {
  return runSilverSql(engine, contract, writeSource(text, ext), { workDir: tmp });
}

const csvField = (v: string) => `"${v.replace(/"/g, '""')}"`;

interface CastOutcome {
  /** Input value -> typed value in silver (as DuckDB's JSON conversion shows it). */
  accepted: Map<string, Json>;
  /** Input value -> '<column>|<rule>' of its quarantine line. */
  rejected: Map<string, string>;
  run: SilverRun;
}

/** One CSV row per value in column `v` (declared as `column`); where did each value end up? */
async function castValues(column: Omit<ColumnInput, 'name'>, values: string[]): Promise<CastOutcome> {
  const c = contractWith([{ name: 'v', ...column } as ColumnInput]);
  const rows = values.map((v, i) => `k${i},${csvField(v)},2026-11-01`);
  const r = await run(c, ['id,v,day', ...rows, ''].join('\n'));
  const accepted = new Map<string, Json>();
  const rejected = new Map<string, string>();
  for (const row of r.silverRows)
    accepted.set(values[Number(String(row.id).slice(1))] as string, row.v as Json);
  for (const q of r.quarantine) {
    rejected.set(values[Number(String(q.record?.id).slice(1))] as string, `${q.column}|${q.rule}`);
  }
  expect(accepted.size + rejected.size).toBe(values.length);
  return { accepted, rejected, run: r };
}

describe('strict casting', () => {
  it('int32 rejects decimals, exponents, words, digit separators and overflow; accepts padded integers', async () => {
    const {
      accepted,
      rejected,
      run: r,
    } = await castValues({ type: 'int32' }, [
      '3.5',
      '1e3',
      'two',
      '1_000',
      '2147483648',
      ' 7 ',
      '-12',
      '+5',
      '2147483647',
    ]);
    expect(Object.fromEntries(accepted)).toEqual({ ' 7 ': 7, '-12': -12, '+5': 5, '2147483647': 2147483647 });
    for (const v of ['3.5', '1e3', 'two', '1_000', '2147483648']) expect(rejected.get(v)).toBe('v|type');
    expect(r.silverTypes.v).toBe('INTEGER');
    expect(r.quarantine.find((q) => q.value === '3.5')?.message).toBe("'3.5' is not a valid int32");
  });

  it('int64 keeps values beyond 2^53 exactly and rejects values beyond 2^63 - 1', async () => {
    const {
      accepted,
      rejected,
      run: r,
    } = await castValues({ type: 'int64' }, [
      '9223372036854775807',
      '-9223372036854775808',
      '9007199254740993',
      '9223372036854775808',
      '12.0',
    ]);
    expect(Object.fromEntries(accepted)).toEqual({
      '9223372036854775807': '9223372036854775807',
      '-9223372036854775808': '-9223372036854775808',
      '9007199254740993': '9007199254740993',
    });
    expect(rejected.get('9223372036854775808')).toBe('v|type');
    expect(rejected.get('12.0')).toBe('v|type');
    expect(r.silverTypes.v).toBe('BIGINT');
  });

  it('double rejects nan, inf, infinity and digit separators; accepts plain and exponent notation', async () => {
    const {
      accepted,
      rejected,
      run: r,
    } = await castValues({ type: 'double' }, [
      'nan',
      'inf',
      '-Infinity',
      '1_0',
      '1e999',
      '2.5',
      '-1e3',
      ' .5 ',
    ]);
    expect(Object.fromEntries(accepted)).toEqual({ '2.5': 2.5, '-1e3': -1000, ' .5 ': 0.5 });
    for (const v of ['nan', 'inf', '-Infinity', '1_0', '1e999']) expect(rejected.get(v)).toBe('v|type');
    expect(r.silverTypes.v).toBe('DOUBLE');
  });

  it('decimal(10,2) accepts dot decimals and rejects comma decimals, extra precision (no rounding), exponents and overflow', async () => {
    const {
      accepted,
      rejected,
      run: r,
    } = await castValues({ type: 'decimal(10,2)' }, [
      '12.30',
      '12.3',
      '12.300',
      '-0.5',
      '7',
      '12,50',
      '19.999',
      '1e3',
      '1_000',
      '123456789.00',
    ]);
    expect(Object.fromEntries(accepted)).toEqual({
      '12.30': '12.30',
      '12.3': '12.30',
      '12.300': '12.30',
      '-0.5': '-0.50',
      '7': '7.00',
    });
    for (const v of ['12,50', '19.999', '1e3', '1_000', '123456789.00'])
      expect(rejected.get(v)).toBe('v|type');
    expect(r.silverTypes.v).toBe('DECIMAL(10,2)');
    expect(r.quarantine.find((q) => q.value === '19.999')?.message).toBe(
      "'19.999' is not a valid decimal(10,2)",
    );
  });

  it('boolean accepts true and false in any case and rejects other words', async () => {
    const {
      accepted,
      rejected,
      run: r,
    } = await castValues({ type: 'boolean' }, ['true', 'false', 'TRUE', 'maybe', '2']);
    expect(Object.fromEntries(accepted)).toEqual({ true: true, false: false, TRUE: true });
    expect(rejected.get('maybe')).toBe('v|type');
    expect(rejected.get('2')).toBe('v|type');
    expect(r.silverTypes.v).toBe('BOOLEAN');
  });

  it('date reads ISO 8601 by default and rejects impossible or non-ISO dates, and never drops a time part', async () => {
    const {
      accepted,
      rejected,
      run: r,
    } = await castValues({ type: 'date' }, [
      '2026-11-01',
      '2024-02-29',
      '2026-02-30',
      '01/11/2026',
      'tomorrow',
      '2026-11-02 10:00:00',
      '2026-1-3',
    ]);
    expect(Object.fromEntries(accepted)).toEqual({ '2026-11-01': '2026-11-01', '2024-02-29': '2024-02-29' });
    for (const v of ['2026-02-30', '01/11/2026', 'tomorrow', '2026-11-02 10:00:00', '2026-1-3']) {
      expect(rejected.get(v)).toBe('v|type');
    }
    expect(r.silverTypes.v).toBe('DATE');
  });

  it('date with format %d/%m/%Y reads day-first dates and names the format in the message', async () => {
    const {
      accepted,
      rejected,
      run: r,
    } = await castValues({ type: 'date', format: '%d/%m/%Y' }, [
      '31/12/2026',
      '01/02/2026',
      '31/02/2026',
      '2026-12-31',
    ]);
    expect(Object.fromEntries(accepted)).toEqual({ '31/12/2026': '2026-12-31', '01/02/2026': '2026-02-01' });
    expect(rejected.get('31/02/2026')).toBe('v|type');
    expect(rejected.get('2026-12-31')).toBe('v|type');
    expect(r.quarantine.find((q) => q.value === '2026-12-31')?.message).toBe(
      "'2026-12-31' is not a valid date (format %d/%m/%Y)",
    );
  });

  it('timestamp reads ISO 8601 with Z or an offset as that instant, and without an offset as UTC', async () => {
    const {
      accepted,
      rejected,
      run: r,
    } = await castValues({ type: 'timestamp' }, [
      '2026-11-01T10:00:00Z',
      '2026-11-01T10:00:00+02:00',
      '2026-11-01T10:00:00-0500',
      '2026-11-01 10:00:00',
      '2026-11-01T25:00:00Z',
    ]);
    expect(Object.fromEntries(accepted)).toEqual({
      '2026-11-01T10:00:00Z': '2026-11-01 10:00:00+00',
      '2026-11-01T10:00:00+02:00': '2026-11-01 08:00:00+00',
      '2026-11-01T10:00:00-0500': '2026-11-01 15:00:00+00',
      '2026-11-01 10:00:00': '2026-11-01 10:00:00+00',
    });
    expect(rejected.get('2026-11-01T25:00:00Z')).toBe('v|type');
    expect(r.silverTypes.v).toBe('TIMESTAMP WITH TIME ZONE');
  });

  it('timestamp with a format and timezone Europe/Paris converts wall-clock times to UTC, DST included', async () => {
    const { accepted, rejected } = await castValues(
      { type: 'timestamp', format: '%d/%m/%Y %H:%M', timezone: 'Europe/Paris' },
      [
        '01/07/2026 12:00', // summer time, UTC+2
        '01/12/2026 12:00', // winter time, UTC+1
        '29/03/2026 01:30', // DST starts at 02:00 that night: still UTC+1
        '29/03/2026 03:30', // already UTC+2
        '25/10/2026 03:30', // DST ended at 03:00 (back to 02:00): UTC+1
        '2026-07-01 12:00',
      ],
    );
    expect(Object.fromEntries(accepted)).toEqual({
      '01/07/2026 12:00': '2026-07-01 10:00:00+00',
      '01/12/2026 12:00': '2026-12-01 11:00:00+00',
      '29/03/2026 01:30': '2026-03-29 00:30:00+00',
      '29/03/2026 03:30': '2026-03-29 01:30:00+00',
      '25/10/2026 03:30': '2026-10-25 02:30:00+00',
    });
    expect(rejected.get('2026-07-01 12:00')).toBe('v|type');
  });

  it('timestamp without a format reads offset-less values in the column timezone, and an explicit offset wins', async () => {
    const { accepted } = await castValues({ type: 'timestamp', timezone: 'Europe/Paris' }, [
      '2026-07-01 12:00:00',
      '2026-12-01T12:00:00',
      '2026-07-01T12:00:00Z',
      '2026-07-01T12:00:00+05:00',
      // A bare date is midnight in Paris; its '-01' must not be mistaken for a UTC offset.
      '2026-07-01',
    ]);
    expect(Object.fromEntries(accepted)).toEqual({
      '2026-07-01 12:00:00': '2026-07-01 10:00:00+00',
      '2026-12-01T12:00:00': '2026-12-01 11:00:00+00',
      '2026-07-01T12:00:00Z': '2026-07-01 12:00:00+00',
      '2026-07-01T12:00:00+05:00': '2026-07-01 07:00:00+00',
      '2026-07-01': '2026-06-30 22:00:00+00',
    });
  });
});

describe('normalization', () => {
  it('applies trim, upper and lower before checks, and turns empty strings into null (a required violation)', async () => {
    const c = contractWith([
      {
        name: 'code',
        type: 'string',
        required: true,
        normalize: ['trim', 'upper'],
        checks: { allowed: ['EUR'] },
      },
      { name: 'tag', type: 'string', normalize: ['trim', 'lower'] },
      { name: 'qty', type: 'int32', normalize: ['trim'] },
    ]);
    const r = await run(
      c,
      [
        'id,code,tag,qty,day',
        'a,"  eur ","  MiXed ", 4 ,2026-11-01',
        'b,"   ",x,1,2026-11-01',
        'c,EUR,"   ",,2026-11-01',
        'd,,x,1,2026-11-01',
        '',
      ].join('\n'),
    );
    expect(r.silverRows.map((s) => [s.id, s.code, s.tag, s.qty])).toEqual([
      ['a', 'EUR', 'mixed', 4],
      ['c', 'EUR', null, null],
    ]);
    expect(r.quarantine.map((q) => [q.line, q.column, q.rule, q.message])).toEqual([
      [3, 'code', 'required', 'a value is required'],
      [5, 'code', 'required', 'a value is required'],
    ]);
  });
});

describe('checks', () => {
  const checked = () =>
    contractWith([
      { name: 'code', type: 'string', normalize: ['trim'], checks: { regex: '^[A-Z]{2}\\d$', maxLength: 3 } },
      { name: 'qty', type: 'int32', checks: { min: 1, max: 10 } },
      { name: 'status', type: 'string', checks: { allowed: ['open', 'closed'] } },
      { name: 'label', type: 'string', checks: { maxLength: 5 } },
      { name: 'since', type: 'date', checks: { min: '2020-01-01', max: '2030-12-31' } },
    ]);

  it('quarantines each broken check with its rule and a message naming the value; bounds are inclusive', async () => {
    const r = await run(
      checked(),
      [
        'id,code,qty,status,label,since,day',
        'ok1,AB1,1,open,abcde,2020-01-01,2026-11-01',
        'ok2,ZZ9,10,closed,,2030-12-31,2026-11-01',
        'min,AB1,0,open,x,2021-01-01,2026-11-01',
        'max,AB1,11,open,x,2021-01-01,2026-11-01',
        'allowed,AB1,5,pending,x,2021-01-01,2026-11-01',
        'regex,ab1,5,open,x,2021-01-01,2026-11-01',
        'maxlen,AB1,5,open,abcdef,2021-01-01,2026-11-01',
        'datemin,AB1,5,open,x,2019-12-31,2026-11-01',
        'datemax,AB1,5,open,x,2031-01-01,2026-11-01',
        '',
      ].join('\n'),
    );
    expect(r.silverRows.map((s) => s.id)).toEqual(['ok1', 'ok2']);
    const byId = Object.fromEntries(
      r.quarantine.map((q) => [
        q.record?.id,
        { at: `${q.column}|${q.rule}`, message: q.message, value: q.value },
      ]),
    );
    expect(byId).toEqual({
      min: { at: 'qty|min', message: "'0' is below the minimum 1", value: '0' },
      max: { at: 'qty|max', message: "'11' is above the maximum 10", value: '11' },
      allowed: { at: 'status|allowed', message: "'pending' is not one of: open, closed", value: 'pending' },
      regex: { at: 'code|regex', message: "'ab1' does not match ^[A-Z]{2}\\d$", value: 'ab1' },
      maxlen: { at: 'label|maxLength', message: "'abcdef' is longer than 5 characters", value: 'abcdef' },
      datemin: {
        at: 'since|min',
        message: "'2019-12-31' is below the minimum 2020-01-01",
        value: '2019-12-31',
      },
      datemax: {
        at: 'since|max',
        message: "'2031-01-01' is above the maximum 2030-12-31",
        value: '2031-01-01',
      },
    });
    expect(r.counts.byReason).toEqual({
      'qty|min': 1,
      'qty|max': 1,
      'status|allowed': 1,
      'code|regex': 1,
      'label|maxLength': 1,
      'since|min': 1,
      'since|max': 1,
    });
  });

  it('reports only the first rule broken: columns in contract order, then rules in order within a column', async () => {
    const r = await run(
      checked(),
      [
        'id,code,qty,status,label,since,day',
        // code breaks regex and maxLength, qty breaks min, status breaks allowed: code's regex wins.
        'a,abcd,0,nope,x,2021-01-01,2026-11-01',
        // qty is not a number (type, before min/max) and label is too long: qty wins.
        'b,AB1,lots,open,toolong,2021-01-01,2026-11-01',
        // the required day is missing and since is too early: since comes first in the contract.
        'c,AB1,5,open,x,2019-01-01,',
        '',
      ].join('\n'),
    );
    expect(r.quarantine.map((q) => [q.record?.id, q.column, q.rule])).toEqual([
      ['a', 'code', 'regex'],
      ['b', 'qty', 'type'],
      ['c', 'since', 'min'],
    ]);
  });
});

describe('PII rules', () => {
  it('hash writes sha256(salt || value) as hex, mask keeps the last 4 characters, drop removes the column', async () => {
    const c = contractWith([
      { name: 'email', type: 'string', normalize: ['trim', 'lower'], pii: 'hash' },
      { name: 'full_name', type: 'string', pii: 'mask' },
      { name: 'phone', type: 'string', pii: 'drop' },
    ]);
    const r = await run(
      c,
      [
        'id,email,full_name,phone,day',
        'a, Alice@Example.COM ,Alice Martin,+33 6 12,2026-11-01',
        'b,,Émilie,,2026-11-01',
        'c,x@y.z,Bob,555,2026-11-01',
        '',
      ].join('\n'),
    );
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    expect(r.silverRows.map((s) => [s.id, s.email, s.full_name])).toEqual([
      ['a', sha(`${DEFAULT_LINEAGE.piiSalt}alice@example.com`), '********rtin'],
      ['b', null, '**ilie'],
      ['c', sha(`${DEFAULT_LINEAGE.piiSalt}x@y.z`), '***'],
    ]);
    expect(Object.keys(r.silverTypes)).toEqual([
      'id',
      'email',
      'full_name',
      'day',
      '_bronze_key',
      '_ingested_at',
      'dt',
    ]);
    expect(r.silverTypes.email).toBe('VARCHAR');
  });
});

describe('de-duplication', () => {
  const versioned = (latestBy?: string) =>
    contractWith(
      [
        { name: 'updated_at', type: 'timestamp', required: true },
        { name: 'qty', type: 'int32' },
      ],
      latestBy ? { latestBy } : {},
    );

  it('keeps the row with the greatest latestBy wherever it is in the file, and the later record on a tie', async () => {
    const r = await run(
      versioned('updated_at'),
      [
        'id,updated_at,qty,day',
        'a,2026-11-01T10:00:00Z,1,2026-11-01',
        'a,2026-11-03T10:00:00Z,3,2026-11-01', // latest a
        'a,2026-11-02T10:00:00Z,2,2026-11-01',
        'b,2026-11-01T10:00:00Z,1,2026-11-01',
        'b,2026-11-01T10:00:00Z,2,2026-11-01', // tie: the later record wins
        'c,2026-11-01T10:00:00Z,7,2026-11-01',
        'c,2026-11-01T10:00:00Z,7,2026-11-01', // exact copy
        '',
      ].join('\n'),
    );
    expect(r.silverRows.map((s) => [s.id, s.qty])).toEqual([
      ['a', 3],
      ['b', 2],
      ['c', 7],
    ]);
    expect(r.counts).toMatchObject({ in: 7, out: 3, quarantined: 0, duplicates: 4 });
  });

  it('without latestBy the last record of a key wins', async () => {
    const r = await run(
      versioned(),
      [
        'id,updated_at,qty,day',
        'a,2026-11-05T00:00:00Z,1,2026-11-01',
        'a,2026-11-01T00:00:00Z,2,2026-11-01',
        '',
      ].join('\n'),
    );
    expect(r.silverRows.map((s) => [s.id, s.qty])).toEqual([['a', 2]]);
  });

  it('invalid rows never take part: a later but invalid version does not replace the valid one and is not a duplicate', async () => {
    const r = await run(
      versioned('updated_at'),
      [
        'id,updated_at,qty,day',
        'a,2026-11-01T10:00:00Z,1,2026-11-01',
        'a,2026-11-09T10:00:00Z,3.5,2026-11-01',
        'b,2026-11-02T10:00:00Z,x,2026-11-01',
        'b,2026-11-01T10:00:00Z,oops,2026-11-01',
        '',
      ].join('\n'),
    );
    expect(r.silverRows.map((s) => [s.id, s.qty])).toEqual([['a', 1]]);
    expect(r.counts).toMatchObject({ in: 4, out: 1, quarantined: 3, duplicates: 0 });
  });
});

describe('partitions', () => {
  it('day partitions are the UTC day of a timestamp (a Paris time just after midnight is the previous day)', async () => {
    const c = parseContract(
      {
        domain: 'retail',
        dataset: 'test',
        source: { format: 'csv' },
        columns: [
          { name: 'id', type: 'string', required: true },
          { name: 'ts', type: 'timestamp', required: true, timezone: 'Europe/Paris' },
        ],
        primaryKey: ['id'],
        partition: { column: 'ts', granularity: 'day' },
      },
      'test.yaml',
    );
    const r = await run(
      c,
      ['id,ts', 'a,2026-11-01 00:30:00', 'b,2026-11-01 01:30:00', 'c,2026-10-31T23:59:59Z', ''].join('\n'),
    );
    expect(r.silverRows.map((s) => [s.id, s.ts, s.dt])).toEqual([
      ['a', '2026-10-31 23:30:00+00', '2026-10-31'],
      ['b', '2026-11-01 00:30:00+00', '2026-11-01'],
      ['c', '2026-10-31 23:59:59+00', '2026-10-31'],
    ]);
    expect(r.files.map((f) => f.split(/[\\/]/).slice(-2, -1)[0]).sort()).toEqual([
      'dt=2026-10-31',
      'dt=2026-11-01',
    ]);
    expect(r.files.every((f) => f.endsWith('.parquet'))).toBe(true);
  });

  it('month partitions are dt=YYYY-MM', async () => {
    const c = contractWith([], { partition: { column: 'day', granularity: 'month' } });
    const r = await run(c, ['id,day', 'a,2026-01-31', 'b,2026-01-01', 'c,2026-02-01', ''].join('\n'));
    expect(r.silverRows.map((s) => [s.id, s.dt])).toEqual([
      ['a', '2026-01'],
      ['b', '2026-01'],
      ['c', '2026-02'],
    ]);
    expect(r.files.map((f) => f.split(/[\\/]/).slice(-2, -1)[0]).sort()).toEqual([
      'dt=2026-01',
      'dt=2026-02',
    ]);
  });

  it('silver carries the lineage columns and compresses with zstd', async () => {
    const r = await run(contractWith([]), 'id,day\na,2026-11-01\n');
    expect(r.silverRows).toEqual([
      {
        id: 'a',
        day: '2026-11-01',
        _bronze_key: DEFAULT_LINEAGE.bronzeKey,
        _ingested_at: '2026-11-01 12:00:00+00',
        dt: '2026-11-01',
      },
    ]);
    const meta = await engine.withConnection(async (conn) => {
      const reader = await conn.runAndReadAll(
        `SELECT DISTINCT compression FROM parquet_metadata('${r.files[0]}')`,
      );
      return reader.getRowObjectsJson();
    });
    expect(meta).toEqual([{ compression: 'ZSTD' }]);
  });
});

describe('CSV sources', () => {
  it('reads a ;-delimited file, maps `from:` source names, and matches header columns in any order', async () => {
    const c = contractWith(
      [
        { name: 'order_id', type: 'string', from: 'Order ID' },
        { name: 'amount', type: 'decimal(10,2)', required: true },
        { name: 'note', type: 'string' },
      ],
      { source: { format: 'csv', csv: { delimiter: ';' } } },
    );
    const r = await run(
      c,
      [
        'note;day;amount;Order ID;id',
        'hello, world;2026-11-01;12.50;O-1;a',
        '"semi;colon";2026-11-02;3;O-2;b',
        'x;2026-11-02;12,50;O-3;c',
        '',
      ].join('\n'),
    );
    expect(r.silverRows.map((s) => [s.id, s.order_id, s.amount, s.note, s.day])).toEqual([
      ['a', 'O-1', '12.50', 'hello, world', '2026-11-01'],
      ['b', 'O-2', '3.00', 'semi;colon', '2026-11-02'],
    ]);
    expect(r.quarantine).toHaveLength(1);
    expect(r.quarantine[0]).toMatchObject({
      line: 4,
      column: 'amount',
      rule: 'type',
      value: '12,50',
      record: { note: 'x', day: '2026-11-02', amount: '12,50', 'Order ID': 'O-3', id: 'c' },
      text: 'x;2026-11-02;12,50;O-3;c',
    });
  });

  it('unknownColumns keep carries unknown header columns as a JSON object in _extra (values in clear under unknownValues keep)', async () => {
    const c = contractWith([], { unknownColumns: 'keep', unknownValues: 'keep' });
    const r = await run(
      c,
      ['id,loyalty,day,region', 'a,gold,2026-11-01,EU', 'b,,2026-11-01,US', ''].join('\n'),
    );
    expect(r.silverTypes._extra).toBe('VARCHAR');
    expect(r.silverRows.map((s) => [s.id, JSON.parse(String(s._extra))])).toEqual([
      ['a', { loyalty: 'gold', region: 'EU' }],
      ['b', { loyalty: null, region: 'US' }],
    ]);
  });

  it('unknownColumns ignore writes no _extra column', async () => {
    const r = await run(contractWith([]), ['id,loyalty,day', 'a,gold,2026-11-01', ''].join('\n'));
    expect(Object.keys(r.silverTypes)).not.toContain('_extra');
    expect(r.silverRows.map((s) => s.id)).toEqual(['a']);
  });
});

describe('JSON sources', () => {
  const jsonContract = (format: 'ndjson' | 'json') =>
    contractWith([{ name: 'n', type: 'int32', from: 'count' }], {
      source: { format },
      unknownColumns: 'keep',
      unknownValues: 'keep',
    });

  it('NDJSON: skips blank lines but numbers lines physically, quarantines malformed lines as record|parse, keeps unknown keys', async () => {
    const r = await run(
      jsonContract('ndjson'),
      [
        '{"id":"a","count":"1","day":"2026-11-01"}',
        '',
        '{"id":"b","count":2,"day":"2026-11-01","tier":"gold","tags":{"k":[1]}}',
        '   ',
        '{"id":"bad", "count": ',
        '[1, 2]',
        '{"id":"c","count":"x","day":"2026-11-01"}',
        '',
      ].join('\n'),
      'ndjson',
    );
    expect(r.counts).toMatchObject({ in: 5, out: 2, quarantined: 3, duplicates: 0, withUnknown: 1 });
    expect(r.counts.byReason).toEqual({ 'record|parse': 2, 'n|type': 1 });
    expect(
      r.silverRows.map((s) => [s.id, s.n, s._extra === null ? null : JSON.parse(String(s._extra))]),
    ).toEqual([
      ['a', 1, null],
      ['b', 2, { tier: 'gold', tags: { k: [1] } }],
    ]);
    expect(r.quarantine.map((q) => [q.line, q.column, q.rule, q.message, q.value])).toEqual([
      [5, 'record', 'parse', 'not a JSON object', '{"id":"bad", "count": '],
      [6, 'record', 'parse', 'not a JSON object', '[1, 2]'],
      [7, 'n', 'type', "'x' is not a valid int32", 'x'],
    ]);
    expect(r.quarantine[0]?.record).toBeNull();
    expect(r.quarantine[2]?.record).toEqual({ id: 'c', count: 'x', day: '2026-11-01' });
  });

  it('JSON array: one record per element, numbered from 1, non-objects quarantined as record|parse', async () => {
    const r = await run(
      jsonContract('json'),
      JSON.stringify([
        { id: 'a', count: 1, day: '2026-11-01' },
        { id: 'b', count: 'x', day: '2026-11-01', extra: true },
        5,
        { id: 'c', count: 3, day: '2026-11-02', extra: false },
      ]),
      'json',
    );
    expect(r.counts).toMatchObject({ in: 4, out: 2, quarantined: 2, duplicates: 0, withUnknown: 2 });
    expect(r.silverRows.map((s) => [s.id, s.n, s._extra])).toEqual([
      ['a', 1, null],
      ['c', 3, '{"extra":false}'],
    ]);
    expect(r.quarantine.map((q) => [q.line, q.column, q.rule])).toEqual([
      [2, 'n', 'type'],
      [3, 'record', 'parse'],
    ]);
  });
});

describe('line numbers of quarantined rows (the physical line where the record starts; the header is line 1)', () => {
  const c = () => contractWith([{ name: 'n', type: 'int32' }]);

  it('stay right after TOO MANY and MISSING COLUMNS rejects, consecutive ones included', async () => {
    const r = await run(
      c(),
      [
        'id,n,day',
        'a,1,2026-11-01', // 2
        'b,2,2026-11-01,EXTRA', // 3: too many columns
        'c,x,2026-11-01', // 4
        'd,3', // 5: missing columns
        'e,4,2026-11-01,X,Y', // 6: too many columns
        'f,y,2026-11-01', // 7
        '',
      ].join('\n'),
    );
    expect(r.quarantine.map((q) => [q.line, q.rule, q.column])).toEqual([
      [3, 'parse', null],
      [4, 'type', 'n'],
      [5, 'parse', null],
      [6, 'parse', null],
      [7, 'type', 'n'],
    ]);
    expect(r.rejects.map((j) => [j.line, j.error_type])).toEqual([
      [3, 'TOO MANY COLUMNS'],
      [5, 'MISSING COLUMNS'],
      [6, 'TOO MANY COLUMNS'],
    ]);
    expect(r.quarantine[0]?.text).toBe('b,2,2026-11-01,EXTRA');
    // DuckDB records one reject per extra field: the line is reported once, with its real field count.
    expect(r.rejects[2]?.error_message).toBe('Expected Number of Columns: 3 Found: 5');
    expect(r.counts).toMatchObject({ in: 6, out: 1, quarantined: 5, duplicates: 0 });
  });

  it('are physical lines after a record with a quoted embedded newline', async () => {
    const r = await run(
      c(),
      [
        'id,n,day', // line 1
        '"a', // record 2 starts on physical line 2...
        'a",1,2026-11-01', // ...and ends on physical line 3
        'b,x,2026-11-01', // physical line 4, record 3
        'c,1,2026-11-01,EXTRA', // physical line 5, record 4
        'd,y,2026-11-01', // physical line 6, record 5
        '',
      ].join('\n'),
    );
    expect(r.silverRows.map((s) => s.id)).toEqual(['a\na']);
    expect(r.quarantine.map((q) => [q.line, q.rule, q.record?.id ?? null])).toEqual([
      [4, 'type', 'b'],
      [5, 'parse', null],
      [6, 'type', 'd'],
    ]);
  });

  it('count blank CSV lines (skipped as rows) like any other line', async () => {
    const r = await run(c(), ['id,n,day', 'a,1,2026-11-01', '', 'b,x,2026-11-01', ''].join('\r\n'));
    expect(r.quarantine.map((q) => [q.line, q.record?.id])).toEqual([[4, 'b']]);
  });
});

describe('over-long records and empty files', () => {
  const c = () => contractWith([{ name: 'n', type: 'int32' }]);

  it('an over-long record is one parse reject whose text is cut; the rows after it land', async () => {
    const long = `b,${'9'.repeat(MAX_LINE_BYTES + 10)},2026-11-01`;
    const r = await run(c(), ['id,n,day', 'a,1,2026-11-01', long, 'c,3,2026-11-01', ''].join('\n'));
    expect(r.silverRows.map((s) => s.id)).toEqual(['a', 'c']);
    expect(r.quarantine).toHaveLength(1);
    expect(r.quarantine[0]).toMatchObject({
      line: 3,
      rule: 'parse',
      text: long.slice(0, OVERLONG_TEXT_CHARS),
    });
    expect(r.quarantine[0]?.message).toBe(
      `LINE SIZE OVER MAXIMUM: Maximum line size of ${MAX_LINE_BYTES} bytes exceeded. Actual Size:${long.length} bytes. Text cut to its first ${OVERLONG_TEXT_CHARS} characters.`,
    );
  });

  it('a file of blank lines only is empty (like a header without rows), not a header problem', async () => {
    for (const [text, message] of [
      ['', 'the file is empty'],
      ['\n \n\t\n', 'the file has only blank lines'],
      ['id,n,day\n\n', 'the file has no data rows'],
    ]) {
      const err = await run(c(), text as string).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FileRejection);
      expect(err).toMatchObject({ code: 'empty', message });
    }
  });
});

describe('sample files', () => {
  const sample = (name: string) => loadContractFile(join(SAMPLES, 'contracts', `${name}.yaml`));
  const partitions = (r: SilverRun) => {
    const out: Record<string, number> = {};
    for (const row of r.silverRows) out[String(row.dt)] = (out[String(row.dt)] ?? 0) + 1;
    return out;
  };

  it('orders-2026-11-01.csv: 44 in = 34 out + 8 quarantined (lines 8,10,14,17,21,23,26,29) + 2 duplicates', async () => {
    const r = await runSilverSql(
      engine,
      sample('orders'),
      join(SAMPLES, 'data/orders/orders-2026-11-01.csv'),
      {
        workDir: tmp,
      },
    );
    expect(r.counts).toMatchObject({ in: 44, out: 34, quarantined: 8, duplicates: 2 });
    expect(r.quarantine.map((q) => [q.line, q.column === null ? 'parse' : `${q.column}|${q.rule}`])).toEqual([
      [8, 'quantity|type'],
      [10, 'unit_price|type'],
      [14, 'quantity|min'],
      [17, 'customer_id|required'],
      [21, 'parse'],
      [23, 'status|allowed'],
      [26, 'quantity|type'],
      [29, 'order_id|regex'],
    ]);
    expect(partitions(r)).toEqual({ '2026-11-01': 11, '2026-11-02': 9, '2026-11-03': 14 });
    const byId = new Map(r.silverRows.map((s) => [s.order_id, s]));
    expect(byId.get('O-1005')).toMatchObject({ status: 'shipped', updated_at: '2026-11-02 09:30:00+00' });
    expect(byId.get('O-1003')).toMatchObject({ quantity: 1, status: 'shipped' });
    expect(byId.get('O-1010')).toMatchObject({ currency: 'EUR' });
    expect(byId.get('O-1017')).toMatchObject({ store_id: 'S2' });
    expect(byId.get('O-1023')).toMatchObject({ status: null });
    expect(byId.get('O-1024')).toMatchObject({ status: 'shipped' });
    expect(byId.get('O-1001')).toMatchObject({ order_ts: '2026-11-01 07:12:05+00', unit_price: '18.90' });
  });

  it('orders-2026-11-03.csv.gz (gunzipped): 10 in = 10 out, O-1012 in dt=2026-11-01', async () => {
    const file = writeSource(gunzipSync(readFileSync(join(SAMPLES, 'data/orders/orders-2026-11-03.csv.gz'))));
    const r = await runSilverSql(engine, sample('orders'), file, { workDir: tmp });
    expect(r.counts).toMatchObject({ in: 10, out: 10, quarantined: 0, duplicates: 0 });
    expect(partitions(r)).toEqual({ '2026-11-01': 1, '2026-11-03': 9 });
    expect(r.silverRows.find((s) => s.order_id === 'O-1012')).toMatchObject({
      status: 'delivered',
      dt: '2026-11-01',
    });
  });

  it('customers.ndjson: 11 in = 10 out + 1 quarantined (line 11, signup_date|type), PII applied, loyalty_tier kept with its value hashed', async () => {
    const r = await runSilverSql(
      engine,
      sample('customers'),
      join(SAMPLES, 'data/customers/customers.ndjson'),
      {
        workDir: tmp,
      },
    );
    expect(r.counts).toMatchObject({ in: 11, out: 10, quarantined: 1, duplicates: 0 });
    expect(r.quarantine.map((q) => [q.line, q.column, q.rule, q.value])).toEqual([
      [11, 'signup_date', 'type', '2026-02-30'],
    ]);
    expect(partitions(r)).toEqual(SAMPLE_EXPECTATIONS['customers/customers.ndjson'].partitions);
    const byId = new Map(r.silverRows.map((s) => [s.customer_id, s]));
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    expect(byId.get('C001')).toMatchObject({
      email: sha(`${DEFAULT_LINEAGE.piiSalt}alice.martin@example.com`),
      full_name: '********rtin',
      country: 'FR',
      _extra: null,
    });
    expect(byId.get('C003')).toMatchObject({ country: 'FR', full_name: '********bois' });
    expect(byId.get('C005')).toMatchObject({
      _extra: JSON.stringify({ loyalty_tier: sha(`${DEFAULT_LINEAGE.piiSalt}gold`) }),
    });
    expect(byId.get('C008')).toMatchObject({ full_name: null });
    expect(r.silverTypes).not.toHaveProperty('phone');
  });

  it('products.csv: 12 in = 12 out, ;-delimited names with commas and doubled quotes', async () => {
    const r = await runSilverSql(engine, sample('products'), join(SAMPLES, 'data/products/products.csv'), {
      workDir: tmp,
    });
    expect(r.counts).toMatchObject({ in: 12, out: 12, quarantined: 0, duplicates: 0 });
    expect(partitions(r)).toEqual({
      '2026-10-01': 2,
      '2026-10-05': 2,
      '2026-10-12': 3,
      '2026-10-20': 2,
      '2026-10-28': 3,
    });
    const byId = new Map(r.silverRows.map((s) => [s.product_id, s]));
    expect(byId.get('P002')).toMatchObject({ name: 'Cable, USB-C, 1 m' });
    expect(byId.get('P003')).toMatchObject({ category: 'electronics' });
    expect(byId.get('P010')).toMatchObject({ name: 'Scented Candle "Fig"', category: 'home', active: false });
    expect(r.silverTypes).toMatchObject({ unit_cost: 'DECIMAL(10,2)', active: 'BOOLEAN' });
  });
});
