/**
 * What a CSV record becomes, as the README's "Data contracts" and "Bronze to silver" sections say: a record
 * with more fields than the header is quarantined whether its extra fields are empty or not, a quarantined
 * row names the physical line where its record starts (quoted fields spanning lines included), and a
 * decimal with more places than its scale is quarantined, never rounded.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DatasetContract, parseContract } from '../../../core/contracts/dataset-contract';
import { Engine } from '../../../lambdas/bronze-to-silver/duckdb-engine';
import { validateAndWrite } from '../../../lambdas/bronze-to-silver/validate-and-write';

const LINEAGE = {
  bronzeKey: 'test/notes/ingest_date=2026-11-01/x.csv',
  ingestedAt: new Date('2026-11-01T12:00:00Z'),
  piiSalt: 'test-salt',
};

/** id, amount (decimal(10,2)), day (the partition), note (optional, last). */
const notes = (csv: Record<string, unknown> = {}): DatasetContract =>
  parseContract(
    {
      domain: 'test',
      dataset: 'notes',
      source: { format: 'csv', csv: { header: true, delimiter: ',', quote: '"', ...csv } },
      columns: [
        { name: 'id', type: 'string', required: true },
        { name: 'amount', type: 'decimal(10,2)', required: true },
        { name: 'day', type: 'date', required: true },
        { name: 'note', type: 'string' },
      ],
      primaryKey: ['id'],
      partition: { column: 'day', granularity: 'day' },
    },
    'notes.yaml',
  );

let scratch: string;
let engine: Engine;
beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'medallion-csv-records-'));
  engine = await Engine.create({ memoryLimit: '256MB', threads: 2, tempDirectory: join(scratch, 'spill') });
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let runs = 0;
/** Runs the transform's engine step on `body`; the result and the quarantined rows. */
async function run(body: string, contract = notes()) {
  const workDir = mkdtempSync(join(scratch, `run-${++runs}-`));
  const file = join(workDir, 'source.csv');
  writeFileSync(file, body);
  const result = await engine.withConnection((conn) =>
    validateAndWrite(conn, contract, file, LINEAGE, { workDir, sourceKey: LINEAGE.bronzeKey }),
  );
  const quarantined = result.quarantineFile
    ? readFileSync(result.quarantineFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];
  return { result, quarantined };
}

const HEADER = 'id,amount,day,note';

describe('a record with more fields than the header', () => {
  it('is quarantined as parse when the extra field is empty (`x,y,`), exactly like a non-empty one', async () => {
    const { result, quarantined } = await run(
      [
        HEADER,
        'A1,1.00,2026-11-01,ok',
        'A2,2.00,2026-11-01,trailing,',
        'A3,3.00,2026-11-01,extra,z',
        '',
      ].join('\n'),
    );

    expect(result).toMatchObject({ valid: 1, quarantined: 2, byReason: { parse: 2 } });
    expect(quarantined).toEqual([
      {
        source_key: LINEAGE.bronzeKey,
        line: 3,
        column: null,
        rule: 'parse',
        message: 'TOO MANY COLUMNS: Expected Number of Columns: 4 Found: 5',
        value: null,
        record: null,
        text: 'A2,2.00,2026-11-01,trailing,',
      },
      {
        source_key: LINEAGE.bronzeKey,
        line: 4,
        column: null,
        rule: 'parse',
        message: 'TOO MANY COLUMNS: Expected Number of Columns: 4 Found: 5',
        value: null,
        record: null,
        text: 'A3,3.00,2026-11-01,extra,z',
      },
    ]);
  });

  it('is quarantined with several empty extra fields, or a quoted empty one, and the rows after it keep their lines', async () => {
    const { result, quarantined } = await run(
      [
        HEADER,
        'A1,1.00,2026-11-01,x,,',
        'A2,2.00,2026-11-01,x,""',
        'A3,bad,2026-11-01,x',
        'A4,4.00,2026-11-01,x',
        '',
      ].join('\n'),
    );

    expect(result).toMatchObject({ valid: 1, byReason: { parse: 2, 'amount|type': 1 } });
    expect(quarantined.map((q) => [q.line, q.rule, q.message])).toEqual([
      [2, 'parse', 'TOO MANY COLUMNS: Expected Number of Columns: 4 Found: 6'],
      [3, 'parse', 'TOO MANY COLUMNS: Expected Number of Columns: 4 Found: 5'],
      [4, 'type', "'bad' is not a valid decimal(10,2)"],
    ]);
  });

  it('is valid when the header itself ends with the delimiter (the rows have as many fields as it)', async () => {
    const { result } = await run(`${HEADER},\nA1,1.00,2026-11-01,x,\nA2,2.00,2026-11-02,y\n`);

    expect(result).toMatchObject({ valid: 2, quarantined: 0 });
  });

  it('an empty last field within the header is a null, not an extra field', async () => {
    const { result } = await run(`${HEADER}\nA1,1.00,2026-11-01,\nA2,2.00,2026-11-01,""\n`);

    expect(result).toMatchObject({ valid: 2, quarantined: 0 });
  });
});

describe('the line of a quarantined row', () => {
  it('is the physical line where its record starts, after quoted fields spanning lines and blank lines', async () => {
    const body = [
      HEADER, // 1
      'A1,1.00,2026-11-01,"first', // 2
      'line"', // 3
      'A2,bad,2026-11-01,x', // 4: type
      'A3,3.00,2026-11-01,"a', // 5
      'b', // 6
      'c"', // 7
      'A4,4.00,2026-11-01,x,y', // 8: too many columns (the reader's reject)
      'A5,5.00,2026-11-01,x,', // 9: an empty extra field
      '', // 10: blank, skipped
      'A6,oops,2026-11-01,"multi', // 11: type, spanning two lines
      'line"', // 12
      'A7,7', // 13: missing columns (the reader's reject)
      'A8,8.00,2026-11-01,x', // 14
      'A9,,2026-11-01,x', // 15: required
      '',
    ].join('\n');
    const { result, quarantined } = await run(body);

    expect(quarantined.map((q) => [q.line, q.rule])).toEqual([
      [4, 'type'],
      [8, 'parse'],
      [9, 'parse'],
      [11, 'type'],
      [13, 'parse'],
      [15, 'required'],
    ]);
    // Each line named holds the record's start.
    const lines = body.split('\n');
    for (const q of quarantined) expect(lines[(q.line as number) - 1]).toMatch(/^A\d,/);
    expect(result.rejects.map((r) => r.line)).toEqual([8, 13]);
    expect(result).toMatchObject({ valid: 3, quarantined: 6 });
  });

  it('counts CR LF record ends and blank lines as lines', async () => {
    const body = [HEADER, 'A1,1.00,2026-11-01,x', '', 'A2,x,2026-11-01,y', 'A3,3.00,2026-11-01,z,', ''];
    const { quarantined } = await run(body.join('\r\n'));

    expect(quarantined.map((q) => [q.line, q.rule])).toEqual([
      [4, 'type'],
      [5, 'parse'],
    ]);
  });

  it("follows the contract's delimiter and escape character", async () => {
    const contract = notes({ delimiter: ';', escape: '\\' });
    const body =
      'id;amount;day;note\nA1;1.00;2026-11-01;"say \\"hi\\";\nthere"\nA2;x;2026-11-01;y\nA3;3.00;2026-11-01;z;\n';
    const { result, quarantined } = await run(body, contract);

    expect(quarantined.map((q) => [q.line, q.rule, q.text])).toEqual([
      [4, 'type', 'A2;x;2026-11-01;y'],
      [5, 'parse', 'A3;3.00;2026-11-01;z;'],
    ]);
    expect(result.valid).toBe(1);
  });

  it('names the physical line in a whole-file rejection too', async () => {
    const error = await run(`${HEADER}\nA1,1.00,2026-11-01,"a\nb"\nA2,2.00,2026-11-01,"open"x\n`).then(
      () => undefined,
      (e: unknown) => e as Error,
    );

    expect(error?.message).toMatch(/at line 4\b/);
  });
});

describe('a decimal with more places than its scale', () => {
  it('is quarantined (type), never rounded; trailing zeros past the scale are the same number', async () => {
    const { result, quarantined } = await run(`${HEADER}\nA1,19.999,2026-11-01,x\nA2,19.990,2026-11-01,y\n`);

    expect(result).toMatchObject({ valid: 1, byReason: { 'amount|type': 1 } });
    expect(quarantined.map((q) => [q.line, q.value, q.message])).toEqual([
      [2, '19.999', "'19.999' is not a valid decimal(10,2)"],
    ]);
  });
});
