/**
 * The completeness SLI's input: the row count a producer states for a file (a trailer line the contract
 * declares, or the `expected-rows` metadata the landing doors record), read by the real transform from the
 * local S3 server and recorded in the manifest beside the rows read.
 */
import { gzipSync } from 'node:zlib';
import { parseContract } from '../../../core/contracts/dataset-contract';
import { ContractRegistry } from '../../../core/contracts/load-contracts';
import { withLocalS3 } from '../../support/local-s3';
import { withTransform } from '../../support/transform-fixture';

const BRONZE = 'bronze';
const SILVER = 'silver';
const QUARANTINE = 'quarantine';

const contract = (dataset: string, extra: Record<string, unknown> = {}, format = 'csv') =>
  parseContract(
    {
      domain: 'sales',
      dataset,
      source: { format, ...extra },
      columns: [
        { name: 'id', type: 'string', required: true },
        { name: 'day', type: 'date', required: true },
        { name: 'amount', type: 'int64', checks: { min: 0 } },
      ],
      primaryKey: ['id'],
      partition: { column: 'day' },
    },
    `${dataset}.yaml`,
  );

const TRAILER = { trailer: { pattern: '^TRAILER,(\\d+)$' } };

describe('the row count a producer states for a file', () => {
  const s3 = withLocalS3([BRONZE, SILVER, QUARANTINE]);
  const transform = withTransform(s3, { silver: SILVER, quarantine: QUARANTINE });
  const contracts = new ContractRegistry([
    contract('with_trailer', TRAILER),
    contract('ndjson_trailer', { trailer: { pattern: '^\\{"rows":\\s*(\\d+)\\}$' } }, 'ndjson'),
    contract('plain'),
  ]);

  const process = async (
    dataset: string,
    name: string,
    body: string | Uint8Array,
    metadata?: Record<string, string>,
  ) => {
    const key = `sales/${dataset}/ingest_date=2026-12-07/${name}`;
    await s3.put(BRONZE, key, body, metadata ? { Metadata: metadata } : undefined);
    return transform
      .transformer(contracts, { maxDecompressedBytes: 1 << 20 })
      .process({ bucket: BRONZE, key });
  };

  const rows = (n: number) =>
    Array.from({ length: n }, (_, i) => `R${i},2026-12-0${1 + (i % 5)},${i}`).join('\n');

  it('reads the trailer, removes it from the rows and records the stated count', async () => {
    const m = await process('with_trailer', 'a.csv', `id,day,amount\n${rows(4)}\nTRAILER,5\n`);
    expect(m.status).toBe('ok');
    expect(m.expectedRows).toBe(5);
    // The trailer is not a row: 4 in, none quarantined as unparsable.
    expect(m.rows).toEqual({ in: 4, out: 4, quarantined: 0, duplicates: 0 });
  });

  it('finds the trailer of a gzip file with CRLF line ends and blank lines after it', async () => {
    const text = `id,day,amount\r\n${rows(3).replaceAll('\n', '\r\n')}\r\nTRAILER,3\r\n\r\n`;
    const m = await process('with_trailer', 'b.csv.gz', gzipSync(text));
    expect(m.expectedRows).toBe(3);
    expect(m.rows.in).toBe(3);
    expect(m.rows.quarantined).toBe(0);
  });

  it('reads an NDJSON trailer', async () => {
    const body =
      '{"id":"A","day":"2026-12-01","amount":1}\n{"id":"B","day":"2026-12-02","amount":2}\n{"rows": 2}';
    const m = await process('ndjson_trailer', 'c.ndjson', body);
    expect(m.expectedRows).toBe(2);
    expect(m.rows).toEqual({ in: 2, out: 2, quarantined: 0, duplicates: 0 });
  });

  it('quarantines a file whose declared trailer is missing (it may be cut short), naming the last line', async () => {
    const m = await process('with_trailer', 'cut.csv', `id,day,amount\n${rows(3)}\n`);
    expect(m.status).toBe('quarantined');
    expect(m.reasonCode).toBe('trailer');
    expect(m.reason).toContain('the last line is "R2,2026-12-03,2"');
    expect(m.reason).toContain('^TRAILER,(\\\\d+)$');
    expect(m.expectedRows).toBeUndefined();
  });

  it('quarantines a file whose last line is 100 KB long without reading it whole, saying so', async () => {
    const m = await process(
      'with_trailer',
      'long.csv',
      `id,day,amount\n${rows(2)}\nR9,2026-12-01,${'9'.repeat(100_000)}\n`,
    );
    expect(m.reasonCode).toBe('trailer');
    expect(m.reason).toContain('the last line is longer than 64 KB');
  });

  it('takes the count from the expected-rows metadata the landing door recorded', async () => {
    const m = await process('plain', 'd.csv', `id,day,amount\n${rows(6)}\n`, { 'expected-rows': '8' });
    expect(m.expectedRows).toBe(8);
    expect(m.rows.in).toBe(6);
  });

  it('counts quarantined rows as arrived: completeness is about rows read, quality about rows passing', async () => {
    const m = await process('plain', 'e.csv', 'id,day,amount\nA,2026-12-01,-1\nB,2026-12-01,2\n', {
      'expected-rows': '2',
    });
    expect(m.expectedRows).toBe(2);
    expect(m.rows).toMatchObject({ in: 2, quarantined: 1 });
  });

  it('quarantines a file whose expected-rows metadata is not a count, saying what to send', async () => {
    const m = await process('plain', 'f.csv', `id,day,amount\n${rows(2)}\n`, { 'expected-rows': '12 rows' });
    expect(m.status).toBe('quarantined');
    expect(m.reasonCode).toBe('expected-rows');
    expect(m.reason).toContain('"12 rows" is not a row count');
  });

  it('states nothing for a file without a count', async () => {
    const m = await process('plain', 'g.csv', `id,day,amount\n${rows(2)}\n`);
    expect(m.status).toBe('ok');
    expect(m.expectedRows).toBeUndefined();
  });
});
