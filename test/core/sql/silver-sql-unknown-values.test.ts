/**
 * `unknownValues`: what silver's `_extra` holds for fields a contract does not declare, under
 * `unknownColumns: keep`. By default each value is hashed exactly as a declared `pii: hash` column would
 * hold it, so a producer's undeclared `ssn` never lands in clear; `unknownValues: keep` is the explicit
 * opt-in for clear values. Run through a real DuckDB, as the transform runs it (test/support/run-silver-sql.ts).
 */

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatasetContract, DatasetContractInput } from '../../../core/contracts/dataset-contract';
import { Engine } from '../../../lambdas/bronze-to-silver/duckdb-engine';
import { type ColumnInput, itemsContract } from '../../support/items-contract';
import { DEFAULT_LINEAGE, runSilverSql, type SilverRun } from '../../support/run-silver-sql';

let tmp: string;
let engine: Engine;
let fileCount = 0;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'silver-sql-unknown-values-test-'));
  engine = await Engine.create({ memoryLimit: '256MB', threads: 2, tempDirectory: join(tmp, 'duckdb') });
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** The salted hash a declared `pii: hash` column holds for `value` (see the PII rules tests). */
const piiHash = (value: string) =>
  createHash('sha256').update(`${DEFAULT_LINEAGE.piiSalt}${value}`).digest('hex');

const contractWith = (columns: ColumnInput[], over: Partial<DatasetContractInput> = {}): DatasetContract =>
  itemsContract(columns, over, { domain: 'retail', dataset: 'test' });

async function run(contract: DatasetContract, text: string, ext: string): Promise<SilverRun> {
  fileCount += 1;
  const file = join(tmp, `source-${fileCount}.${ext}`);
  writeFileSync(file, text);
  return runSilverSql(engine, contract, file, { workDir: tmp, orderBy: 'id' });
}

/** `_extra` of each silver row by id, parsed (null when the row carried no unknown field). */
const extras = (r: SilverRun) =>
  Object.fromEntries(
    r.silverRows.map((s) => [s.id, s._extra === null ? null : JSON.parse(String(s._extra))]),
  );

const NDJSON = [
  '{"id":"a","day":"2026-11-01","ssn":"123-45-6789","note":"VIP, call after 6"}',
  '{"id":"b","day":"2026-11-01","ssn":123456789}',
  '{"id":"c","day":"2026-11-01","ssn":"","tags":{"k":[1,"x"]}}',
  '{"id":"d","day":"2026-11-01","ssn":null,"say \\"hi\\"":"  spaced  "}',
  '{"id":"e","day":"2026-11-01"}',
  '',
].join('\n');

const CSV = [
  'id,ssn,day,note',
  'a,123-45-6789,2026-11-01,"VIP, call after 6"',
  'b,,2026-11-01,x',
  'c,"",2026-11-01,',
  'd,  987 ,2026-11-01,y',
  '',
].join('\n');

describe('unknownColumns: keep hashes unknown values by default', () => {
  it('NDJSON: _extra keeps the keys readable and holds each value as the salted hash, null and empty as null', async () => {
    const r = await run(
      contractWith([], { source: { format: 'ndjson' }, unknownColumns: 'keep' }),
      NDJSON,
      'ndjson',
    );
    expect(r.counts).toMatchObject({ in: 5, out: 5, quarantined: 0, withUnknown: 4 });
    expect(extras(r)).toEqual({
      a: { ssn: piiHash('123-45-6789'), note: piiHash('VIP, call after 6') },
      b: { ssn: piiHash('123456789') },
      c: { ssn: null, tags: piiHash('{"k":[1,"x"]}') },
      d: { ssn: null, 'say "hi"': piiHash('  spaced  ') },
      e: null,
    });
    expect(JSON.stringify(r.silverRows)).not.toContain('123-45-6789');
  });

  it('NDJSON: an undeclared ssn gets the very value a declared `pii: hash` ssn column gets', async () => {
    const kept = await run(
      contractWith([], { source: { format: 'ndjson' }, unknownColumns: 'keep' }),
      NDJSON,
      'ndjson',
    );
    const declared = await run(
      contractWith([{ name: 'ssn', type: 'string', pii: 'hash' }], { source: { format: 'ndjson' } }),
      NDJSON,
      'ndjson',
    );
    const unknownSsn = kept.silverRows.map((s) => [s.id, extras(kept)[String(s.id)]?.ssn ?? null]);
    expect(unknownSsn).toEqual(declared.silverRows.map((s) => [s.id, s.ssn]));
    expect(unknownSsn.filter(([, v]) => v !== null)).toHaveLength(2);
  });

  it('CSV: each unknown header column is hashed in _extra, equal to a declared `pii: hash` column', async () => {
    const kept = await run(contractWith([], { unknownColumns: 'keep' }), CSV, 'csv');
    expect(extras(kept)).toEqual({
      a: { ssn: piiHash('123-45-6789'), note: piiHash('VIP, call after 6') },
      b: { ssn: null, note: piiHash('x') },
      c: { ssn: null, note: null },
      d: { ssn: piiHash('  987 '), note: piiHash('y') },
    });
    const declared = await run(
      contractWith([
        { name: 'ssn', type: 'string', pii: 'hash' },
        { name: 'note', type: 'string', pii: 'hash' },
      ]),
      CSV,
      'csv',
    );
    expect(kept.silverRows.map((s) => [s.id, extras(kept)[String(s.id)]])).toEqual(
      declared.silverRows.map((s) => [s.id, { ssn: s.ssn, note: s.note }]),
    );
  });

  it('the hash depends on the salt, like a declared column’s', async () => {
    const file = join(tmp, 'salted.csv');
    writeFileSync(file, CSV);
    const contract = contractWith([], { unknownColumns: 'keep' });
    const other = await runSilverSql(engine, contract, file, {
      workDir: tmp,
      orderBy: 'id',
      lineage: { piiSalt: 'another-salt' },
    });
    const ssn = createHash('sha256').update('another-salt123-45-6789').digest('hex');
    expect(extras(other).a).toEqual({
      ssn,
      note: createHash('sha256').update('another-saltVIP, call after 6').digest('hex'),
    });
  });
});

describe('unknownValues: keep (explicit opt-in)', () => {
  it('NDJSON: _extra carries the unknown fields in clear, as sent', async () => {
    const r = await run(
      contractWith([], { source: { format: 'ndjson' }, unknownColumns: 'keep', unknownValues: 'keep' }),
      NDJSON,
      'ndjson',
    );
    expect(extras(r)).toEqual({
      a: { ssn: '123-45-6789', note: 'VIP, call after 6' },
      b: { ssn: 123456789 },
      c: { ssn: '', tags: { k: [1, 'x'] } },
      d: { ssn: null, 'say "hi"': '  spaced  ' },
      e: null,
    });
  });

  it('CSV: _extra carries the unknown header columns in clear', async () => {
    const r = await run(contractWith([], { unknownColumns: 'keep', unknownValues: 'keep' }), CSV, 'csv');
    expect(extras(r).a).toEqual({ ssn: '123-45-6789', note: 'VIP, call after 6' });
    expect(extras(r).d).toEqual({ ssn: '  987 ', note: 'y' });
  });
});

describe('quarantine', () => {
  it('keeps unknown fields as sent, like declared `pii: hash` columns (the record is the original, for fixing the source)', async () => {
    const contract = contractWith(
      [
        { name: 'email', type: 'string', pii: 'hash' },
        { name: 'n', type: 'int32' },
      ],
      { source: { format: 'ndjson' }, unknownColumns: 'keep' },
    );
    const r = await run(
      contract,
      '{"id":"a","day":"2026-11-01","email":"a@b.c","n":"x","ssn":"123-45-6789"}\n',
      'ndjson',
    );
    expect(r.quarantine).toHaveLength(1);
    expect(r.quarantine[0]?.record).toEqual({
      id: 'a',
      day: '2026-11-01',
      email: 'a@b.c',
      n: 'x',
      ssn: '123-45-6789',
    });
    expect(r.quarantine[0]?.text).toContain('"email":"a@b.c"');
    expect(r.quarantine[0]?.text).toContain('"ssn":"123-45-6789"');
  });
});
