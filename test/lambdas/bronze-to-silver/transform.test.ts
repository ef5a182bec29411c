import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ContractRegistry } from '../../../core/contracts/load-contracts';
import { manifestKey, sourceId } from '../../../core/lake/layout';
import type { Manifest } from '../../../core/lake/manifest';
import { sqlString } from '../../../core/sql/quote';
import { createLogger, type LogEntry } from '../../../core/telemetry/logger';
import { Engine, queryRows } from '../../../lambdas/bronze-to-silver/duckdb-engine';
import { BronzeToSilver, type TransformConfig } from '../../../lambdas/bronze-to-silver/transform';
import { faultyS3Client } from '../../support/evidence/s3-faults';
import { withLocalS3 } from '../../support/local-s3';
import { SAMPLE_EXPECTATIONS } from '../../support/sample-expectations';

const BRONZE = 'bronze';
const SILVER = 'silver';
const QUARANTINE = 'quarantine';
const SALT = 'test-salt';
const SAMPLES = join(__dirname, '../../../samples');

const sha256 = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const sample = (path: string) => readFileSync(join(SAMPLES, 'data', path));
const bronzeKeyOf = (dataset: string, name: string) => `retail/${dataset}/ingest_date=2026-11-01/${name}`;

const ORDERS_HEADER =
  'order_id,order_ts,updated_at,customer_id,store_id,product_id,quantity,unit_price,currency,status';
const order = (id: string, day: string, status = 'placed') =>
  `${id},${day} 10:00:00,${day}T09:00:00Z,C001,S1,P001,1,9.99,EUR,${status}`;

describe('BronzeToSilver', () => {
  const s3 = withLocalS3([BRONZE, SILVER, QUARANTINE]);
  let scratch: string;
  let engine: Engine;
  const contracts = ContractRegistry.fromDirectory(join(SAMPLES, 'contracts'));

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'medallion-b2s-test-'));
    engine = await Engine.create({
      memoryLimit: '256MB',
      threads: 2,
      tempDirectory: join(scratch, 'spill'),
    });
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  beforeEach(() => jest.spyOn(console, 'warn').mockImplementation(() => {}));
  afterEach(() => jest.restoreAllMocks());

  const transformer = (config: Partial<TransformConfig> = {}, client: S3Client = s3.client) =>
    new BronzeToSilver({
      s3: client,
      engine,
      contracts,
      config: {
        silverBucket: SILVER,
        quarantineBucket: QUARANTINE,
        scratchDir: scratch,
        maxDecompressedBytes: 64 * 1024 * 1024,
        piiSalt: SALT,
        ...config,
      },
    });

  /** Puts `body` into bronze under `key` and processes it. */
  const land = async (key: string, body: string | Uint8Array, config: Partial<TransformConfig> = {}) => {
    await s3.put(BRONZE, key, body);
    return transformer(config).process({ bucket: BRONZE, key });
  };

  /** Runs `sql` with `{file}` replaced by a local copy of the silver object `key`. */
  const queryParquet = async <T = Record<string, unknown>>(key: string, sql: string): Promise<T[]> => {
    const bytes = await s3.get(SILVER, key);
    if (!bytes) throw new Error(`no silver object ${key}`);
    const file = join(scratch, `${sha256(key)}.parquet`);
    writeFileSync(file, bytes);
    try {
      return await engine.withConnection((conn) =>
        queryRows<T>(conn, sql.replaceAll('{file}', `read_parquet(${sqlString(file)})`)),
      );
    } finally {
      rmSync(file, { force: true });
    }
  };
  const columnTypes = async (key: string) =>
    Object.fromEntries(
      (
        await queryParquet<{ column_name: string; column_type: string }>(key, 'DESCRIBE SELECT * FROM {file}')
      ).map((r) => [r.column_name, r.column_type]),
    );
  /** Every silver row of a manifest, as text, keyed by `keyColumn`. */
  const silverRows = async (m: Manifest, keyColumn: string) => {
    const rows = new Map<string, Record<string, string | null>>();
    for (const o of m.outputs) {
      const got = await queryParquet<Record<string, string | null>>(
        o.key,
        'SELECT COLUMNS(*)::VARCHAR FROM {file}',
      );
      for (const r of got) rows.set(r[keyColumn] as string, r);
    }
    return rows;
  };
  const quarantineLines = async (m: Manifest) => {
    if (!m.quarantine) throw new Error('no quarantine in the manifest');
    const text = (await s3.get(m.quarantine.bucket, m.quarantine.key))?.toString() ?? '';
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l));
  };
  const partitionsOf = (m: Manifest) => Object.fromEntries(m.outputs.map((o) => [o.partition, o.rows]));

  /** The manifest, the outputs and the sha256 metadata of every output agree with what is in S3. */
  const expectConsistentOutputs = async (m: Manifest, dataset: string) => {
    expect(m.rows.in).toBe(m.rows.out + m.rows.quarantined + m.rows.duplicates);
    expect(m.outputs.reduce((a, o) => a + o.rows, 0)).toBe(m.rows.out);
    const id = sourceId(m.source.bucket, m.source.key);
    for (const o of m.outputs) {
      expect(o.key).toBe(`retail/${dataset}/dt=${o.partition}/part-${id}.parquet`);
      const bytes = await s3.get(SILVER, o.key);
      expect(bytes).toBeDefined();
      expect(bytes?.length).toBe(o.bytes);
      expect(sha256(bytes as Buffer)).toBe(o.sha256);
      expect((await s3.head(SILVER, o.key))?.Metadata?.sha256).toBe(o.sha256);
    }
    const stored = JSON.parse((await s3.get(SILVER, manifestKey('retail', dataset, id)))?.toString() ?? '{}');
    expect(stored).toEqual(JSON.parse(JSON.stringify(m)));
  };

  describe('the sample files', () => {
    it('orders-2026-11-01.csv: 44 in, 34 out, 8 quarantined, 2 duplicates, partitioned by order day', async () => {
      const key = bronzeKeyOf('orders', 'orders-2026-11-01.csv');
      const m = await land(key, sample('orders/orders-2026-11-01.csv'));

      expect(m.status).toBe('ok');
      expect(m.rows).toEqual({ in: 44, out: 34, quarantined: 8, duplicates: 2 });
      expect(m.quarantinedByReason).toEqual(
        SAMPLE_EXPECTATIONS['orders/orders-2026-11-01.csv'].quarantinedByReason,
      );
      expect(partitionsOf(m)).toEqual({ '2026-11-01': 11, '2026-11-02': 9, '2026-11-03': 14 });
      expect(m.source).toMatchObject({ bucket: BRONZE, key, gzip: false });
      expect(m.source.sha256).toBe(sha256(sample('orders/orders-2026-11-01.csv')));
      await expectConsistentOutputs(m, 'orders');
    });

    it('orders-2026-11-01.csv: silver has the contract types, normalized values and the latest version of a duplicated order', async () => {
      const key = bronzeKeyOf('orders', 'orders-2026-11-01.csv');
      const m = await land(key, sample('orders/orders-2026-11-01.csv'));

      const types = await columnTypes(m.outputs[0]?.key as string);
      expect(types).toMatchObject({
        order_id: 'VARCHAR',
        order_ts: 'TIMESTAMP WITH TIME ZONE',
        updated_at: 'TIMESTAMP WITH TIME ZONE',
        quantity: 'INTEGER',
        unit_price: 'DECIMAL(10,2)',
        currency: 'VARCHAR',
        _bronze_key: 'VARCHAR',
        _ingested_at: 'TIMESTAMP WITH TIME ZONE',
      });

      const rows = await silverRows(m, 'order_id');
      expect(rows.size).toBe(34);
      expect([...rows.values()].every((r) => r._bronze_key === key)).toBe(true);
      // Line 20 (shipped, updated 2 Nov) wins over line 6 (placed, 1 Nov).
      expect(rows.get('O-1005')).toMatchObject({
        status: 'shipped',
        updated_at: '2026-11-02 09:30:00+00',
        // 10:02:44 Paris time (UTC+1) is 09:02:44 UTC.
        order_ts: '2026-11-01 09:02:44+00',
      });
      // Line 26 is invalid: line 4 is kept, not lost.
      expect(rows.get('O-1003')).toMatchObject({ quantity: '1', status: 'shipped' });
      expect(rows.get('O-1010')).toMatchObject({ currency: 'EUR', unit_price: '11.50' });
      expect(rows.get('O-1017')?.store_id).toBe('S2');
      expect(rows.get('O-1019')?.quantity).toBe('1000');
      expect(rows.get('O-1023')?.status).toBeNull();
      expect(rows.get('O-1024')?.status).toBe('shipped');
      for (const bad of ['O-1007', 'O-1009', 'O-1013', 'O-1015', 'O-1018', 'O-1020', 'ORD-1025']) {
        expect(rows.has(bad)).toBe(false);
      }
    });

    it('orders-2026-11-01.csv: each quarantined row is one NDJSON line saying where it came from and why', async () => {
      const key = bronzeKeyOf('orders', 'orders-2026-11-01.csv');
      const m = await land(key, sample('orders/orders-2026-11-01.csv'));

      expect(m.quarantine).toEqual({
        bucket: QUARANTINE,
        key: `rows/retail/orders/${sourceId(BRONZE, key)}.ndjson`,
        rows: 8,
      });
      const lines = await quarantineLines(m);
      expect(lines.map((l) => [l.line, l.column, l.rule])).toEqual([
        [8, 'quantity', 'type'],
        [10, 'unit_price', 'type'],
        [14, 'quantity', 'min'],
        [17, 'customer_id', 'required'],
        [21, null, 'parse'],
        [23, 'status', 'allowed'],
        [26, 'quantity', 'type'],
        [29, 'order_id', 'regex'],
      ]);
      for (const l of lines) {
        expect(l.source_key).toBe(key);
        expect(typeof l.message).toBe('string');
        expect(l.message.length).toBeGreaterThan(0);
        expect(typeof l.text).toBe('string');
      }
      const byLine = new Map(lines.map((l) => [l.line, l]));
      expect(byLine.get(8)).toMatchObject({
        value: 'two',
        record: expect.objectContaining({ order_id: 'O-1007', quantity: 'two' }),
      });
      expect(byLine.get(8).message).toMatch(/two/);
      expect(byLine.get(10)).toMatchObject({ record: expect.objectContaining({ unit_price: '12,50' }) });
      expect(byLine.get(10).text).toContain('"12,50"');
      expect(byLine.get(21).text).toContain('GIFTWRAP');
      expect(byLine.get(29).record.order_id).toBe('ORD-1025');
    });

    it('orders-2026-11-03.csv.gz: gunzips, 10 in and 10 out, one order partitioned on 1 Nov', async () => {
      const bytes = sample('orders/orders-2026-11-03.csv.gz');
      const m = await land(bronzeKeyOf('orders', 'orders-2026-11-03.csv.gz'), bytes);

      expect(m.status).toBe('ok');
      expect(m.rows).toEqual({ in: 10, out: 10, quarantined: 0, duplicates: 0 });
      expect(m.quarantine).toBeUndefined();
      expect(m.source).toMatchObject({ gzip: true, storedBytes: bytes.length, sha256: sha256(bytes) });
      expect(partitionsOf(m)).toEqual({ '2026-11-01': 1, '2026-11-03': 9 });
      await expectConsistentOutputs(m, 'orders');
      const rows = await silverRows(m, 'order_id');
      expect(rows.get('O-1012')).toMatchObject({ status: 'delivered', updated_at: '2026-11-03 20:15:00+00' });
    });

    it('customers.ndjson: 11 in, 10 out, 1 quarantined; email hashed, name masked, phone dropped, extras kept', async () => {
      const key = bronzeKeyOf('customers', 'customers.ndjson');
      const m = await land(key, sample('customers/customers.ndjson'));

      expect(m.status).toBe('ok');
      expect(m.rows).toEqual({ in: 11, out: 10, quarantined: 1, duplicates: 0 });
      expect(m.quarantinedByReason).toEqual({ 'signup_date|type': 1 });
      expect(partitionsOf(m)).toEqual(SAMPLE_EXPECTATIONS['customers/customers.ndjson'].partitions);
      await expectConsistentOutputs(m, 'customers');

      const types = await columnTypes(m.outputs[0]?.key as string);
      expect(types).toMatchObject({
        customer_id: 'VARCHAR',
        email: 'VARCHAR',
        full_name: 'VARCHAR',
        signup_date: 'DATE',
        updated_at: 'TIMESTAMP WITH TIME ZONE',
        _extra: 'VARCHAR',
        _bronze_key: 'VARCHAR',
      });
      expect(types).not.toHaveProperty('phone');

      const rows = await silverRows(m, 'customer_id');
      expect(rows.size).toBe(10);
      for (const r of rows.values()) {
        expect(r.email).toMatch(/^[0-9a-f]{64}$/);
        expect(r._bronze_key).toBe(key);
        expect(r).not.toHaveProperty('phone');
      }
      expect(rows.get('C001')?.email).toBe(sha256(`${SALT}alice.martin@example.com`));
      expect(rows.get('C005')?.email).toBe(sha256(`${SALT}eva.rossi@example.it`));
      expect(rows.get('C001')?.full_name).toBe('********rtin');
      expect(rows.get('C003')).toMatchObject({ full_name: '********bois', country: 'FR' });
      expect(rows.get('C009')?.full_name).toBe('*******rcía');
      expect(rows.get('C008')?.full_name).toBeNull();
      expect(JSON.parse(rows.get('C005')?._extra as string)).toEqual({ loyalty_tier: sha256(`${SALT}gold`) });
      expect(rows.get('C001')?._extra).toBeNull();

      const [line] = await quarantineLines(m);
      expect(line).toMatchObject({
        source_key: key,
        line: 11,
        column: 'signup_date',
        rule: 'type',
        value: '2026-02-30',
        record: expect.objectContaining({ customer_id: 'C011', signup_date: '2026-02-30' }),
      });
      expect(line.message).toMatch(/2026-02-30/);
      expect(JSON.parse(line.text)).toMatchObject({ customer_id: 'C011' });
    });

    it('products.csv: 12 in and 12 out, with the decimal, boolean and normalized values of the contract', async () => {
      const m = await land(bronzeKeyOf('products', 'products.csv'), sample('products/products.csv'));

      expect(m.status).toBe('ok');
      expect(m.rows).toEqual({ in: 12, out: 12, quarantined: 0, duplicates: 0 });
      expect(partitionsOf(m)).toEqual({
        '2026-10-01': 2,
        '2026-10-05': 2,
        '2026-10-12': 3,
        '2026-10-20': 2,
        '2026-10-28': 3,
      });
      await expectConsistentOutputs(m, 'products');
      expect(await columnTypes(m.outputs[0]?.key as string)).toMatchObject({
        unit_cost: 'DECIMAL(10,2)',
        active: 'BOOLEAN',
        updated_at: 'TIMESTAMP WITH TIME ZONE',
      });
      const rows = await silverRows(m, 'product_id');
      expect(rows.get('P002')?.name).toBe('Cable, USB-C, 1 m');
      expect(rows.get('P003')?.category).toBe('electronics');
      expect(rows.get('P010')).toMatchObject({
        name: 'Scented Candle "Fig"',
        category: 'home',
        active: 'false',
      });
    });
  });

  describe('re-processing', () => {
    it('is idempotent: the same object gives the same keys and byte-identical Parquet, and no extra files', async () => {
      const key = bronzeKeyOf('orders', 'idempotent.csv');
      const first = await land(key, sample('orders/orders-2026-11-01.csv'));
      const id = sourceId(BRONZE, key);
      const mine = async () => (await s3.keys(SILVER, 'retail/orders/')).filter((k) => k.includes(id));
      const keysBefore = await mine();
      const bytesBefore = await Promise.all(keysBefore.map((k) => s3.get(SILVER, k)));

      const second = await transformer().process({ bucket: BRONZE, key });

      expect(second.outputs).toEqual(first.outputs);
      expect(second.rows).toEqual(first.rows);
      expect(await mine()).toEqual(keysBefore);
      expect(keysBefore).toHaveLength(3);
      const bytesAfter = await Promise.all(keysBefore.map((k) => s3.get(SILVER, k)));
      expect(bytesAfter.map((b, i) => b?.equals(bytesBefore[i] as Buffer))).toEqual([true, true, true]);
      expect(await s3.keys(QUARANTINE, `rows/retail/orders/${id}`)).toHaveLength(1);
    });

    it('deletes the outputs of an earlier run that the new content no longer produces', async () => {
      const key = bronzeKeyOf('orders', 'rewritten.csv');
      const first = await land(key, sample('orders/orders-2026-11-01.csv'));
      expect(first.outputs.map((o) => o.partition)).toEqual(['2026-11-01', '2026-11-02', '2026-11-03']);
      expect(first.quarantine?.rows).toBe(8);

      const second = await land(key, `${ORDERS_HEADER}\n${order('O-1', '2026-11-02')}\n`);

      expect(second.rows).toEqual({ in: 1, out: 1, quarantined: 0, duplicates: 0 });
      expect(second.outputs.map((o) => o.partition)).toEqual(['2026-11-02']);
      const id = sourceId(BRONZE, key);
      expect((await s3.keys(SILVER, 'retail/orders/')).filter((k) => k.includes(id))).toEqual([
        `retail/orders/dt=2026-11-02/part-${id}.parquet`,
      ]);
      // The quarantined rows of the first content are gone too.
      expect(await s3.get(QUARANTINE, first.quarantine?.key as string)).toBeUndefined();
      const rows = await silverRows(second, 'order_id');
      expect([...rows.keys()]).toEqual(['O-1']);
    });

    it('deletes every earlier output when the new content is quarantined as a whole', async () => {
      const key = bronzeKeyOf('orders', 'now-broken.csv');
      const first = await land(key, `${ORDERS_HEADER}\n${order('O-1', '2026-11-02')}\n`);
      expect(first.outputs).toHaveLength(1);

      const second = await land(key, '');

      expect(second.status).toBe('quarantined');
      expect(await s3.get(SILVER, first.outputs[0]?.key as string)).toBeUndefined();
    });

    it('still deletes the earlier outputs on the retry when deleting them failed the first attempt', async () => {
      const key = bronzeKeyOf('orders', 'cleanup-retry.csv');
      const first = await land(key, sample('orders/orders-2026-11-01.csv'));
      expect(first.outputs).toHaveLength(3);
      await s3.put(BRONZE, key, `${ORDERS_HEADER}\n${order('O-1', '2026-11-02')}\n`);

      // The real client, except that its second DeleteObject fails (as S3 may, with a 500 or a timeout).
      let deletes = 0;
      const flaky = new Proxy(s3.client, {
        get(target, prop, receiver) {
          if (prop !== 'send') return Reflect.get(target, prop, receiver);
          return (command: unknown, ...rest: unknown[]) => {
            if (command instanceof DeleteObjectCommand && ++deletes === 2) {
              return Promise.reject(new Error('injected: S3 unavailable'));
            }
            return (target.send as (...a: unknown[]) => Promise<unknown>)(command, ...rest);
          };
        },
      });
      await expect(transformer({}, flaky).process({ bucket: BRONZE, key })).rejects.toThrow(/injected/);

      // SQS redelivers the message.
      const retried = await transformer().process({ bucket: BRONZE, key });

      const id = sourceId(BRONZE, key);
      expect(retried.outputs.map((o) => o.key)).toEqual([`retail/orders/dt=2026-11-02/part-${id}.parquet`]);
      expect((await s3.keys(SILVER, 'retail/orders/')).filter((k) => k.includes(id))).toEqual(
        retried.outputs.map((o) => o.key),
      );
      expect(await s3.get(QUARANTINE, first.quarantine?.key as string)).toBeUndefined();
    });
  });

  describe('whole-file failures: the file is quarantined, nothing reaches silver, nothing is thrown', () => {
    const unclosedQuote = [
      ORDERS_HEADER,
      order('O-1', '2026-11-01'),
      order('O-2', '2026-11-01').replace(',9.99', ',"9.99'),
      order('O-3', '2026-11-01'),
      '',
    ].join('\n');
    const invalidUtf8 = Buffer.concat([
      Buffer.from(
        `${ORDERS_HEADER}\n${order('O-1', '2026-11-01')}\nO-2,2026-11-01 10:00:00,2026-11-01T09:00:00Z,C`,
      ),
      Buffer.from([0xe9, 0xff]),
      Buffer.from(',S1,P001,1,9.99,EUR,placed\n'),
    ]);
    const cases: {
      what: string;
      dataset: string;
      name: string;
      body: string | Buffer;
      reasonCode: Manifest['reasonCode'];
      config?: Partial<TransformConfig>;
    }[] = [
      {
        what: 'a CSV with an unclosed quote',
        dataset: 'orders',
        name: 'unclosed-quote.csv',
        body: unclosedQuote,
        reasonCode: 'format',
      },
      {
        what: 'a CSV header without a required column',
        dataset: 'orders',
        name: 'no-currency.csv',
        body: `${ORDERS_HEADER.replace(',currency', '')}\n${order('O-1', '2026-11-01').replace(',EUR', '')}\n`,
        reasonCode: 'header',
      },
      { what: 'an empty file', dataset: 'orders', name: 'empty.csv', body: '', reasonCode: 'empty' },
      {
        what: 'a header-only file',
        dataset: 'orders',
        name: 'header-only.csv',
        body: `${ORDERS_HEADER}\n`,
        reasonCode: 'empty',
      },
      {
        what: 'invalid UTF-8 bytes',
        dataset: 'orders',
        name: 'latin1.csv',
        body: invalidUtf8,
        reasonCode: 'encoding',
      },
      {
        what: 'a gzip bomb (decompressed size over the cap)',
        dataset: 'orders',
        name: 'bomb.csv.gz',
        body: gzipSync(Buffer.concat([Buffer.from(`${ORDERS_HEADER}\n`), Buffer.alloc(1 << 20, 'x')])),
        reasonCode: 'too-large',
        config: { maxDecompressedBytes: 64 * 1024 },
      },
      {
        what: 'a truncated gzip stream',
        dataset: 'orders',
        name: 'truncated.csv.gz',
        body: gzipSync(sample('orders/orders-2026-11-01.csv')).subarray(0, 300),
        reasonCode: 'compression',
      },
      {
        what: 'an undeclared column in a products file (unknownColumns: reject)',
        dataset: 'products',
        name: 'extra-column.csv',
        body: 'product_id;name;category;unit_cost;active;updated_at;colour\nP001;Mouse;electronics;8.40;true;2026-10-01T08:00:00Z;red\n',
        reasonCode: 'unknown-columns',
      },
    ];

    it.each(cases)('$what', async ({ dataset, name, body, reasonCode, config }) => {
      const key = bronzeKeyOf(dataset, name);
      const m = await land(key, body, config);
      const id = sourceId(BRONZE, key);

      expect(m.status).toBe('quarantined');
      expect(m.reasonCode).toBe(reasonCode);
      expect(m.reason).toEqual(expect.any(String));
      expect(m.outputs).toEqual([]);
      expect(m.rows).toEqual({ in: 0, out: 0, quarantined: 0, duplicates: 0 });
      const copy = `files/retail/${dataset}/${id}/${name}`;
      expect(m.quarantine).toEqual({ bucket: QUARANTINE, key: copy });
      expect((await s3.get(QUARANTINE, copy))?.equals(Buffer.from(body))).toBe(true);
      expect((await s3.head(QUARANTINE, copy))?.Metadata?.reason).toBe(m.reasonCode);
      const why = JSON.parse((await s3.get(QUARANTINE, `${copy}.reason.json`))?.toString() ?? '{}');
      expect(why).toMatchObject({
        reason: m.reason,
        reasonCode: m.reasonCode,
        sourceBucket: BRONZE,
        sourceKey: key,
      });
      expect((await s3.keys(SILVER, `retail/${dataset}/`)).filter((k) => k.includes(id))).toEqual([]);
      expect(
        JSON.parse((await s3.get(SILVER, manifestKey('retail', dataset, id)))?.toString() ?? '{}'),
      ).toMatchObject({
        status: 'quarantined',
      });
    });
  });

  describe('lineage and housekeeping', () => {
    it('stamps _ingested_at with the received-at time landing recorded on the bronze object', async () => {
      const key = bronzeKeyOf('orders', 'lineage.csv');
      await s3.put(BRONZE, key, `${ORDERS_HEADER}\n${order('O-1', '2026-11-01')}\n`, {
        Metadata: { 'received-at': '2026-11-01T06:30:00.000Z' },
      });
      const m = await transformer().process({ bucket: BRONZE, key });

      const rows = await silverRows(m, 'order_id');
      expect(rows.get('O-1')).toMatchObject({ _bronze_key: key, _ingested_at: '2026-11-01 06:30:00+00' });
    });

    it('leaves nothing in the scratch directory, whether the file was transformed or quarantined', async () => {
      const work = () => readdirSync(scratch).filter((n) => n.startsWith('b2s-'));
      await land(bronzeKeyOf('orders', 'scratch-ok.csv'), sample('orders/orders-2026-11-01.csv'));
      await land(bronzeKeyOf('orders', 'scratch-bad.csv'), `${ORDERS_HEADER}\n`);
      await expect(
        transformer().process({ bucket: BRONZE, key: bronzeKeyOf('orders', 'scratch-missing.csv') }),
      ).rejects.toThrow();

      expect(work()).toEqual([]);
    });

    it('logs to the logger it is given, not the console: a file quarantined whole', async () => {
      const key = bronzeKeyOf('orders', 'logged-quarantine.csv');
      await s3.put(BRONZE, key, `${ORDERS_HEADER}\n`);
      const entries: LogEntry[] = [];
      const t = new BronzeToSilver({
        s3: s3.client,
        engine,
        contracts,
        logger: createLogger({ sink: (e) => entries.push(e) }),
        config: {
          silverBucket: SILVER,
          quarantineBucket: QUARANTINE,
          scratchDir: scratch,
          maxDecompressedBytes: 64 * 1024 * 1024,
          piiSalt: SALT,
        },
      });

      await t.process({ bucket: BRONZE, key });

      expect(entries).toEqual([
        { level: 'WARN', message: 'file quarantined', key, reason: 'the file has no data rows' },
      ]);
      expect(console.warn).not.toHaveBeenCalled();
    });
  });

  describe('keys that need encoding', () => {
    const name = 'ventes du jour+1 (été) 日本.csv';
    const key = bronzeKeyOf('orders', name);

    it('processes a key with spaces, + and non-ASCII characters end to end', async () => {
      const m = await land(
        key,
        `${ORDERS_HEADER}\n${order('O-1', '2026-11-01')}\n${order('X-2', '2026-11-01')}\n`,
      );

      expect(m.status).toBe('ok');
      expect(m.rows).toEqual({ in: 2, out: 1, quarantined: 1, duplicates: 0 });
      await expectConsistentOutputs(m, 'orders');
      const rows = await silverRows(m, 'order_id');
      expect(rows.get('O-1')?._bronze_key).toBe(key);
      const [line] = await quarantineLines(m);
      expect(line).toMatchObject({ source_key: key, line: 3, rule: 'regex' });
    });

    it('quarantines a whole file under such a key, copying it byte for byte', async () => {
      const m = await land(key, `${ORDERS_HEADER}\n`);

      expect(m.status).toBe('quarantined');
      const copy = `files/retail/orders/${sourceId(BRONZE, key)}/${name}`;
      expect(m.quarantine?.key).toBe(copy);
      expect((await s3.get(QUARANTINE, copy))?.toString()).toBe(`${ORDERS_HEADER}\n`);
      expect(decodeURIComponent((await s3.head(QUARANTINE, copy))?.Metadata?.['source-key'] ?? '')).toBe(key);
    });
  });

  it('throws, rather than quarantining, for a key no contract owns or an object that does not exist', async () => {
    await expect(transformer().process({ bucket: BRONZE, key: 'retail/invoices/x.csv' })).rejects.toThrow(
      /no data contract/,
    );
    await expect(
      transformer().process({ bucket: BRONZE, key: bronzeKeyOf('orders', 'missing.csv') }),
    ).rejects.toThrow();
    expect(await s3.keys(QUARANTINE, 'files/retail/orders/')).not.toContainEqual(
      expect.stringContaining('missing.csv'),
    );
  });

  describe('failed attempts', () => {
    it('records the ETag of the object it read, not the one the event carried', async () => {
      const key = bronzeKeyOf('orders', 'etag read.csv');
      await s3.put(BRONZE, key, `${ORDERS_HEADER}\n${order('O-1', '2026-11-01')}\n`);
      const stored = (await s3.head(BRONZE, key))?.ETag?.replace(/"/g, '');

      const m = await transformer().process({
        bucket: BRONZE,
        key,
        eTag: 'an-older-version',
        versionId: 'v0',
      });

      expect(m.source.eTag).toBe(stored);
      expect(m.source.versionId).toBe('v0'); // the local server has no versioning: the event's is kept
    });

    it('does not start once its signal is aborted: nothing read, nothing written', async () => {
      const key = bronzeKeyOf('orders', 'aborted before start.csv');
      await s3.put(BRONZE, key, `${ORDERS_HEADER}\n${order('O-1', '2026-11-01')}\n`);
      const controller = new AbortController();
      controller.abort(new Error('out of time'));

      await expect(
        transformer().process({ bucket: BRONZE, key }, { signal: controller.signal }),
      ).rejects.toThrow('out of time');
      expect(await s3.get(SILVER, manifestKey('retail', 'orders', sourceId(BRONZE, key)))).toBeUndefined();
    });

    it('rolls back the outputs a failed attempt wrote, keeping those the committed manifest lists', async () => {
      const key = bronzeKeyOf('orders', 'fails on its manifest.csv');
      const id = sourceId(BRONZE, key);
      await s3.put(BRONZE, key, `${ORDERS_HEADER}\n${order('O-1', '2026-11-01')}\n`);
      const first = await transformer().process({ bucket: BRONZE, key });
      // The file changes (a second version): the re-run writes a new partition, then its manifest fails.
      await s3.put(
        BRONZE,
        key,
        `${ORDERS_HEADER}\n${order('O-1', '2026-11-01')}\n${order('O-2', '2026-11-02')}\n`,
      );
      const manifestWriteFails = faultyS3Client(s3.env, {
        failWrite: (call) => call.key === manifestKey('retail', 'orders', id),
      });
      try {
        await expect(
          transformer({}, manifestWriteFails.client).process({ bucket: BRONZE, key }),
        ).rejects.toThrow(/injected S3 fault/);
      } finally {
        manifestWriteFails.destroy();
      }

      // The new partition is gone; the one the committed manifest lists stays.
      expect(await s3.keys(SILVER, 'retail/orders/')).toEqual(
        expect.arrayContaining(first.outputs.map((o) => o.key)),
      );
      expect(await s3.keys(SILVER, `retail/orders/dt=2026-11-02/part-${id}`)).toEqual([]);
    });

    it('recordFailure writes why a file keeps failing to failed/<domain>/<dataset>/<source id>.reason.json', async () => {
      const key = bronzeKeyOf('orders', 'keeps failing.csv');
      const at = new Date('2026-11-01T12:00:00.000Z');
      const t = new BronzeToSilver({
        s3: s3.client,
        engine,
        contracts,
        now: () => at,
        config: {
          silverBucket: SILVER,
          quarantineBucket: QUARANTINE,
          scratchDir: scratch,
          maxDecompressedBytes: 1024,
          piiSalt: SALT,
        },
      });

      const written = await t.recordFailure({ bucket: BRONZE, key }, new Error('boom'), 3);

      expect(written).toBe(`failed/retail/orders/${sourceId(BRONZE, key)}.reason.json`);
      expect(JSON.parse((await s3.get(QUARANTINE, written as string))?.toString() ?? '')).toEqual({
        error: 'boom',
        attempts: 3,
        sourceBucket: BRONZE,
        sourceKey: key,
        failedAt: at.toISOString(),
      });
    });
  });
});
