/** The smoke sample: real sample rows, tagged with the run id so each run finds exactly its own rows. */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PipelineUsageError } from '../../../core/errors';
import { readCsvRecords, writeCsvRecords } from '../../../local/smoke/csv-records';
import { newRunId, smokeSamples } from '../../../local/smoke/sample';

const SAMPLES = resolve(__dirname, '..', '..', '..', 'samples');
const RUN = '202611011200001234';
const samples = (
  o: { runId?: string; landingDataset?: string; apiDataset?: string; dataDir?: string } = {},
) =>
  smokeSamples({
    contractsDir: join(SAMPLES, 'contracts'),
    dataDir: o.dataDir ?? join(SAMPLES, 'data'),
    runId: o.runId ?? RUN,
    landingDataset: o.landingDataset,
    apiDataset: o.apiDataset,
  });

describe('smokeSamples', () => {
  it('sends two orders (CSV) to the landing bucket, keyed with the run id within the key pattern', () => {
    const { s3 } = samples();
    expect(s3.contract.dataset).toBe('orders');
    expect(s3.fileName).toBe(`smoke-${RUN}.csv`);
    expect(s3.contentType).toBe('text/csv');
    expect(s3.keyColumn).toBe('order_id');
    // order_id must match ^O-\d+$: the sample's digits are replaced by the run id and the row number.
    expect(s3.keys).toEqual([`O-${RUN}1`, `O-${RUN}2`]);
    const [header, ...rows] = readCsvRecords(s3.body.toString(), { delimiter: ',', quote: '"' });
    expect(header).toEqual(expect.arrayContaining(['order_id', 'customer_id', 'currency']));
    expect(rows).toHaveLength(2);
    const at = (name: string) => header.indexOf(name);
    expect(rows.map((r) => r[at('order_id')])).toEqual(s3.keys);
    // Unchecked strings join nothing real; checked values stay the sample's (valid) ones.
    expect(rows.map((r) => r[at('customer_id')])).toEqual([`smoke-${RUN}`, `smoke-${RUN}`]);
    expect(rows.map((r) => r[at('currency')])).toEqual(['EUR', 'EUR']);
    expect(rows[0][at('order_ts')]).toBe('2026-11-01 08:12:05');
  });

  it('sends one customer (NDJSON) to the API', () => {
    const { api } = samples();
    expect(api.contract.dataset).toBe('customers');
    expect(api.contentType).toBe('application/x-ndjson');
    expect(api.rows).toBe(1);
    const lines = api.body.toString().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const row = JSON.parse(lines[0]);
    expect(row.customer_id).toBe(`smoke-${RUN}-1`);
    expect(api.keys).toEqual([`smoke-${RUN}-1`]);
    expect(row.signup_date).toBe('2024-03-14');
  });

  it('makes new bytes and keys for every run', () => {
    const [a, b] = [samples({ runId: '1' }), samples({ runId: '2' })];
    expect(a.s3.sha256).not.toBe(b.s3.sha256);
    expect(a.api.sha256).not.toBe(b.api.sha256);
    expect(a.s3.keys).not.toEqual(b.s3.keys);
  });

  it('uses the datasets named for each door, or says why one cannot be used', () => {
    // products' key (^P\d{3}$) leaves no room for a run id: the sample cannot use it.
    expect(() => samples({ landingDataset: 'products' })).toThrow(
      new PipelineUsageError(
        'cannot make a unique products.product_id that passes its checks: choose another dataset (--landing-dataset, --api-dataset)',
      ),
    );
    const viaApi = samples({ apiDataset: 'orders' }).api;
    expect(viaApi.contentType).toBe('text/csv');
    expect(viaApi.rows).toBe(1);
  });

  it('refuses an unknown dataset and a dataset without sample data', () => {
    expect(() => samples({ landingDataset: 'invoices' })).toThrow(
      '--landing-dataset invoices: no data contract declares it (known: customers, orders, products)',
    );
    const dir = mkdtempSync(join(tmpdir(), 'medallion-sample-'));
    try {
      cpSync(join(SAMPLES, 'data', 'orders'), join(dir, 'orders'), { recursive: true });
      expect(() => samples({ dataDir: dir, apiDataset: 'customers' })).toThrow(
        /^no sample data for dataset customers: put a file under .*customers\/ or pass --data DIR$/,
      );
      // Without a JSON dataset with data, the API gets the CSV one.
      expect(samples({ dataDir: dir }).api.contract.dataset).toBe('orders');
      mkdirSync(join(dir, 'customers'));
      writeFileSync(join(dir, 'customers', 'one.ndjson'), '');
      expect(() => samples({ dataDir: dir })).toThrow(
        /has fewer than 1 record\(s\) for the customers smoke sample$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('newRunId', () => {
  it('is the UTC second and 4 random digits, digits only', () => {
    expect(newRunId(new Date('2026-11-01T12:00:00.999Z'), () => 0.1234)).toBe('202611011200001234');
    expect(newRunId()).toMatch(/^\d{18}$/);
  });
});

describe('CSV records', () => {
  it('reads and writes quoted fields, doubled quotes and another delimiter', () => {
    const dialect = { delimiter: ';', quote: '"' };
    const text = 'id;name\nP002;"Cable, USB-C; 1 m"\nP003;"a ""quoted"" name"\n';
    const records = readCsvRecords(text, dialect);
    expect(records).toEqual([
      ['id', 'name'],
      ['P002', 'Cable, USB-C; 1 m'],
      ['P003', 'a "quoted" name'],
    ]);
    expect(writeCsvRecords(records, dialect)).toBe(text);
    expect(readCsvRecords(text, dialect, 2)).toHaveLength(2);
  });

  it('reads CRLF line ends, a last line without one, and an escape character', () => {
    expect(readCsvRecords('a,b\r\n1,"x\\"y"', { delimiter: ',', quote: '"', escape: '\\' })).toEqual([
      ['a', 'b'],
      ['1', 'x"y'],
    ]);
  });
});
