import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { DatasetContract } from '../../../core/contracts/dataset-contract';
import { loadContractFile } from '../../../core/contracts/load-contracts';
import { FileRejection } from '../../../core/errors';
import { Engine } from '../../../lambdas/bronze-to-silver/duckdb-engine';
import { readHeader, validateAndWrite } from '../../../lambdas/bronze-to-silver/validate-and-write';
import { SAMPLE_EXPECTATIONS } from '../../support/sample-expectations';

const SAMPLES = join(__dirname, '../../../samples');
const LINEAGE = {
  bronzeKey: 'retail/orders/ingest_date=2026-11-01/x.csv',
  ingestedAt: new Date('2026-11-01T12:00:00Z'),
  piiSalt: 'test-salt',
};
const ORDERS_HEADER =
  'order_id,order_ts,updated_at,customer_id,store_id,product_id,quantity,unit_price,currency,status';
const order = (id: string, day: string, quantity = '1') =>
  `${id},${day} 10:00:00,${day}T09:00:00Z,C001,S1,P001,${quantity},9.99,EUR,placed`;

const contract = (name: string): DatasetContract =>
  loadContractFile(join(SAMPLES, 'contracts', `${name}.yaml`));

let scratch: string;
let engine: Engine;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'medallion-validate-test-'));
  engine = await Engine.create({ memoryLimit: '256MB', threads: 2, tempDirectory: join(scratch, 'spill') });
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('validateAndWrite', () => {
  let runs = 0;

  /** Writes `body` to a fresh work directory and runs validateAndWrite on it, recording the laps. */
  const run = async (c: DatasetContract, body: string | Buffer, ext = 'csv') => {
    const workDir = mkdtempSync(join(scratch, `run-${++runs}-`));
    const file = join(workDir, `source.${ext}`);
    writeFileSync(file, body);
    const laps: string[] = [];
    const result = await engine.withConnection((conn) =>
      validateAndWrite(conn, c, file, LINEAGE, {
        workDir,
        sourceKey: LINEAGE.bronzeKey,
        lap: (step) => laps.push(step),
      }),
    );
    return { result, laps, workDir };
  };
  const rejection = async (c: DatasetContract, body: string, ext = 'csv') => {
    const error = await run(c, body, ext).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FileRejection);
    return error as FileRejection;
  };

  it('counts valid and quarantined rows by reason and writes Parquet per partition and the rejected rows', async () => {
    const { result, laps, workDir } = await run(
      contract('orders'),
      readFileSync(join(SAMPLES, 'data/orders/orders-2026-11-01.csv')),
    );
    const expected = SAMPLE_EXPECTATIONS['orders/orders-2026-11-01.csv'];

    expect(result.header).toEqual(ORDERS_HEADER.split(','));
    // Valid rows are counted before de-duplication: out + duplicates.
    expect(result.valid).toBe(expected.rows.out + expected.rows.duplicates);
    expect(result.quarantined).toBe(expected.rows.quarantined);
    expect(result.byReason).toEqual(expected.quarantinedByReason);
    expect(result.rejects).toHaveLength(1);
    expect(result.outDir).toBe(join(workDir, 'silver'));
    expect(result.files.map((f) => relative(result.outDir, f).split('/')[0]).sort()).toEqual(
      Object.keys(expected.partitions).map((p) => `dt=${p}`),
    );
    expect(result.quarantineFile).toBe(join(workDir, 'quarantine.ndjson'));
    const lines = readFileSync(result.quarantineFile as string, 'utf8')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(expected.rows.quarantined);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ source_key: LINEAGE.bronzeKey });
    expect(laps).toEqual(['validate', 'write']);
  });

  it('writes no quarantine file when every row is valid', async () => {
    const { result } = await run(
      contract('orders'),
      `${ORDERS_HEADER}\n${order('O-1', '2026-11-01')}\n${order('O-2', '2026-11-02')}\n`,
    );

    expect(result).toMatchObject({ valid: 2, quarantined: 0, byReason: {} });
    expect(result.files).toHaveLength(2);
    expect(result.quarantineFile).toBeUndefined();
  });

  it('writes no Parquet when every row is quarantined', async () => {
    const { result, laps } = await run(
      contract('orders'),
      `${ORDERS_HEADER}\n${order('O-1', '2026-11-01', 'two')}\n`,
    );

    expect(result).toMatchObject({ valid: 0, quarantined: 1, byReason: { 'quantity|type': 1 }, files: [] });
    expect(result.quarantineFile).toBeDefined();
    expect(laps).toEqual(['validate', 'write']);
  });

  it('counts records carrying undeclared fields and keeps them when the contract says keep', async () => {
    const { result } = await run(
      contract('customers'),
      '{"customer_id":"C001","email":"a@example.com","full_name":"Ann Lee","country":"FR","signup_date":"2024-03-01","updated_at":"2026-10-01T08:00:00Z","tier":"gold"}\n',
      'ndjson',
    );

    expect(result).toMatchObject({ header: [], valid: 1, quarantined: 0, withUnknown: 1 });
  });

  describe('whole-file problems throw FileRejection', () => {
    it('a header without a required column: header, naming the column and the header', async () => {
      const e = await rejection(
        contract('orders'),
        `${ORDERS_HEADER.replace(',currency', '')}\n${order('O-1', '2026-11-01').replace(',EUR', '')}\n`,
      );
      expect(e.code).toBe('header');
      expect(e.message).toMatch(/^missing required column\(s\): currency \(header: order_id,/);
    });

    it('an undeclared CSV column when the contract rejects them: unknown-columns', async () => {
      const e = await rejection(
        contract('products'),
        'product_id;name;category;unit_cost;active;updated_at;colour\nP001;Mouse;electronics;8.40;true;2026-10-01T08:00:00Z;red\n',
      );
      expect(e.code).toBe('unknown-columns');
      expect(e.message).toBe('column(s) not in the contract: colour');
    });

    it('an undeclared JSON field when the contract rejects them: unknown-columns, with the record count', async () => {
      const strict: DatasetContract = { ...contract('customers'), unknownColumns: 'reject' };
      const e = await rejection(
        strict,
        '{"customer_id":"C001","signup_date":"2024-03-01","updated_at":"2026-10-01T08:00:00Z","tier":"gold"}\n',
        'ndjson',
      );
      expect(e.code).toBe('unknown-columns');
      expect(e.message).toBe('1 record(s) carry fields the contract does not declare');
    });

    it('a header and no rows: empty', async () => {
      const e = await rejection(contract('orders'), `${ORDERS_HEADER}\n`);
      expect([e.code, e.message]).toEqual(['empty', 'the file has no data rows']);
    });

    it('blank lines only: empty, not a header problem', async () => {
      const e = await rejection(contract('orders'), '\n\n  \n');
      expect([e.code, e.message]).toEqual(['empty', 'the file has only blank lines']);
    });

    it('an unclosed quote: format, naming the line', async () => {
      const e = await rejection(
        contract('orders'),
        `${ORDERS_HEADER}\n${order('O-1', '2026-11-01')}\n${order('O-2', '2026-11-01').replace(',9.99', ',"9.99')}\n${order('O-3', '2026-11-01')}\n`,
      );
      expect(e.code).toBe('format');
      expect(e.message).toMatch(/at line \d+/);
    });
  });
});

describe('readHeader', () => {
  let files = 0;

  const headerOf = (c: DatasetContract, body: string) => {
    const file = join(scratch, `h-${++files}.txt`);
    writeFileSync(file, body);
    return engine.withConnection((conn) => readHeader(conn, c, file));
  };

  it('gives the header names trimmed, without a BOM or trailing empty names', async () => {
    expect(
      await headerOf(contract('products'), '\uFEFFproduct_id; name ;category;;\nP001;x;toys;;\n'),
    ).toEqual(['product_id', 'name', 'category']);
  });

  it('honours the quote character: a quoted name may hold the delimiter', async () => {
    expect(await headerOf(contract('products'), 'product_id;"name;long";category\nP001;x;toys\n')).toEqual([
      'product_id',
      'name;long',
      'category',
    ]);
  });

  it('gives no names for a JSON source', async () => {
    expect(await headerOf(contract('customers'), '{"customer_id":"C001"}\n')).toEqual([]);
  });

  it('rejects an empty first line as a header problem, and an empty file as empty', async () => {
    await expect(headerOf(contract('orders'), ',,,\nO-1\n')).rejects.toMatchObject({ code: 'header' });
    await expect(headerOf(contract('orders'), '')).rejects.toMatchObject({
      code: 'empty',
      message: 'the file is empty',
    });
  });
});
