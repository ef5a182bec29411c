/**
 * Evidence, bad input (scenarios 13-20): malformed, oddly encoded, oversized, empty and drifting files go
 * through the real transform (local S3 server, real SDK client, real DuckDB) and every row is accounted
 * for: it lands in silver, or it is quarantined with the line, column and rule it broke, or the whole file
 * is quarantined with a reason and nothing of it reaches silver. Nothing is mocked; nothing is lost.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { ContractRegistry } from '../../core/contracts/load-contracts';
import { FileRejection } from '../../core/errors';
import type { Manifest } from '../../core/lake/manifest';
import { OVERLONG_TEXT_CHARS } from '../../core/sql/silver-sql';
import { OVERLONG_LINES_BUDGET_BYTES, spoolToFile } from '../../lambdas/bronze-to-silver/spool';
import { processBatch } from '../../lambdas/bronze-to-silver/sqs-batch';
import { s3Event, s3Record, sqsRecord } from '../support/aws-events';
import { recordEvidence, recordManifest } from '../support/evidence/evidence';
import {
  BRONZE,
  bronzeKey,
  TEST_MAX_DECOMPRESSED_BYTES,
  withTransformHarness,
} from '../support/evidence/transform-harness';

const MB = 1024 * 1024;

const ORDER_COLUMNS = [
  'order_id',
  'order_ts',
  'updated_at',
  'customer_id',
  'store_id',
  'product_id',
  'quantity',
  'unit_price',
  'currency',
  'status',
] as const;
const ORDERS_HEADER = ORDER_COLUMNS.join(',');
/** One valid order line, with some fields replaced. */
const order = (id: string, fields: Partial<Record<(typeof ORDER_COLUMNS)[number], string>> = {}) => {
  const values: Record<string, string> = {
    order_id: id,
    order_ts: '2026-11-01 10:00:00',
    updated_at: '2026-11-01T09:00:00Z',
    customer_id: 'C001',
    store_id: 'S1',
    product_id: 'P001',
    quantity: '1',
    unit_price: '9.99',
    currency: 'EUR',
    status: 'placed',
    ...fields,
  };
  return ORDER_COLUMNS.map((c) => values[c]).join(',');
};
const csv = (...lines: string[]) => `${lines.join('\n')}\n`;
/** What `_extra` holds for an unknown value by default (`unknownValues: hash`): the harness's salted hash. */
const unknownHash = (value: string) => createHash('sha256').update(`evidence-salt${value}`).digest('hex');
/** One valid customers record (NDJSON), with extra keys merged in. */
const customer = (id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    customer_id: id,
    email: `${id.toLowerCase()}@example.com`,
    full_name: 'Alex Example',
    country: 'FR',
    signup_date: '2024-03-14',
    updated_at: '2026-10-02T09:00:00Z',
    ...extra,
  });

describe('evidence: bad input', () => {
  const h = withTransformHarness();

  beforeEach(() => {
    // The transform and the batch loop log every quarantine and object; the assertions say what matters.
    jest.spyOn(console, 'warn').mockImplementation(() => {});
    jest.spyOn(console, 'log').mockImplementation(() => {});
  });
  afterEach(() => jest.restoreAllMocks());

  /** Lands a file, checks conservation and records it (every manifest a scenario produces is recorded). */
  const land = async (
    scenario: number,
    key: string,
    body: string | Uint8Array,
    options: Parameters<typeof h.land>[2] = {},
  ): Promise<Manifest> => {
    const m = await h.land(key, body, options);
    expect(m.rows.in).toBe(m.rows.out + m.rows.quarantined + m.rows.duplicates);
    expect(m.outputs.reduce((n, o) => n + o.rows, 0)).toBe(m.rows.out);
    recordManifest(scenario, m);
    return m;
  };

  /** The whole file is quarantined: byte-identical copy, reason next to it, nothing in silver. */
  const expectFileQuarantined = async (
    m: Manifest,
    body: string | Uint8Array,
    reasonCode: Manifest['reasonCode'],
    reason: string,
  ) => {
    expect(m).toMatchObject({
      status: 'quarantined',
      reasonCode,
      rows: { in: 0, out: 0, quarantined: 0, duplicates: 0 },
      outputs: [],
    });
    expect(m.reason).toBe(reason);
    const q = await h.quarantineFile(m);
    expect(q.bytes.equals(Buffer.from(body))).toBe(true);
    expect(q.metadata.reason).toBe(reasonCode);
    expect(q.reason).toMatchObject({
      reason: m.reason,
      reasonCode,
      sourceBucket: BRONZE,
      sourceKey: m.source.key,
    });
    expect(await h.silverKeysOf(m)).toEqual([]);
    expect(await h.storedManifest(m.source.key, m.dataset)).toMatchObject({
      status: 'quarantined',
      reasonCode,
    });
  };

  it('scenario 13: a CSV with an unclosed quote is quarantined whole, with a reason naming the line; nothing reaches silver', async () => {
    const lines = [ORDERS_HEADER, order('O-1'), order('O-2', { unit_price: '"9.99' }), order('O-3')];
    for (const [name, body] of [
      ['unclosed-quote.csv', csv(...lines)],
      // The CRLF normalization stops at the open quote (all that follows is inside it): same verdict.
      ['unclosed-quote-crlf.csv', `${lines.join('\r\n')}\r\n`],
    ] as const) {
      const m = await land(13, bronzeKey('orders', name), body);
      await expectFileQuarantined(
        m,
        body,
        'format',
        'unquoted value at line 3: Value with unterminated quote found.',
      );
    }
  });

  it('scenario 14: rows with the wrong column count are quarantined with their line and text; the other rows land', async () => {
    const tooMany = order('O-2', { status: 'placed,gift' });
    const tooFew = 'O-3,2026-11-01 10:00:00,2026-11-01T09:00:00Z';
    const farTooMany = order('O-5', { status: 'placed,a,b' });
    const body = csv(ORDERS_HEADER, order('O-1'), tooMany, tooFew, order('O-4'), farTooMany, order('O-6'));
    const m = await land(14, bronzeKey('orders', 'wrong-width.csv'), body);

    expect(m.status).toBe('ok');
    expect(m.rows).toEqual({ in: 6, out: 3, quarantined: 3, duplicates: 0 });
    expect(m.quarantinedByReason).toEqual({ parse: 3 });
    expect((await h.silverRows(m)).map((r) => r.order_id)).toEqual(['O-1', 'O-4', 'O-6']);
    const lines = await h.quarantineLines(m);
    expect(lines.map((l) => [l.line, l.column, l.rule, l.message, l.text])).toEqual([
      [3, null, 'parse', 'TOO MANY COLUMNS: Expected Number of Columns: 10 Found: 11', tooMany],
      [4, null, 'parse', 'MISSING COLUMNS: Expected Number of Columns: 10 Found: 3', tooFew],
      [6, null, 'parse', 'TOO MANY COLUMNS: Expected Number of Columns: 10 Found: 12', farTooMany],
    ]);
    for (const l of lines) expect(l.source_key).toBe(m.source.key);
  });

  describe('scenario 15: BOM, CRLF and mixed line ends, and quoted embedded newlines, give the same silver as the clean file', () => {
    const PRODUCTS_HEADER = 'product_id;name;category;unit_cost;active;updated_at';
    /**
     * Records of a products file (';' separated): P002's name holds a quoted embedded newline and doubled
     * quotes, P003's a quoted delimiter, P004's a literal quote inside an unquoted field.
     */
    const records = (newlineInQuotes: string) => [
      PRODUCTS_HEADER,
      'P001;Wireless Mouse;electronics;8.40;true;2026-10-01T08:00:00Z',
      `P002;"Scented Candle ""Fig""${newlineInQuotes}large";home;6.20;true;2026-10-02T08:00:00Z`,
      'P003;"Cable; USB-C";electronics;2.10;false;2026-10-03T08:00:00Z',
      'P004;TV 5" stand;home;3.00;true;2026-10-04T08:00:00Z',
    ];
    const withEnds = (rs: string[], ends: (i: number) => string) => rs.map((r, i) => r + ends(i)).join('');
    const clean = withEnds(records('\n'), () => '\n');
    const mixed = withEnds(records('\n'), (i) => (i % 2 ? '\r\n' : '\n'));
    const variants: [string, string | Buffer][] = [
      ['bom.csv', `\ufeff${clean}`],
      ['crlf-row-ends-embedded-lf.csv', withEnds(records('\n'), () => '\r\n')],
      ['mixed-row-ends.csv', mixed],
      ['bom-mixed-no-final-newline.csv', `\ufeff${mixed.slice(0, -2)}`],
      ['bom-mixed.csv.gz', gzipSync(`\ufeff${mixed}`)],
    ];

    it('CSV: every variant gives the clean silver rows, the embedded newline kept as written; quarantine empty', async () => {
      const reference = await land(15, bronzeKey('products', 'clean.csv'), clean);
      expect(reference.rows).toEqual({ in: 4, out: 4, quarantined: 0, duplicates: 0 });
      const expected = await h.silverRows(reference);
      expect(expected.map((r) => r.name)).toEqual([
        'Wireless Mouse',
        'Scented Candle "Fig"\nlarge',
        'Cable; USB-C',
        'TV 5" stand',
      ]);

      for (const [name, body] of variants) {
        const m = await land(15, bronzeKey('products', name), body);
        expect({ name, status: m.status, rows: m.rows, quarantine: m.quarantine }).toEqual({
          name,
          status: 'ok',
          rows: { in: 4, out: 4, quarantined: 0, duplicates: 0 },
          quarantine: undefined,
        });
        expect(await h.silverRows(m)).toEqual(expected);
      }

      // CRLF everywhere, inside the quotes too: the CR LF in the field is data and stays; the rest is equal.
      const crlf = await land(
        15,
        bronzeKey('products', 'crlf-everywhere.csv'),
        withEnds(records('\r\n'), () => '\r\n'),
      );
      expect(crlf.rows).toEqual({ in: 4, out: 4, quarantined: 0, duplicates: 0 });
      expect(await h.silverRows(crlf)).toEqual(
        expected.map((r) => (r.product_id === 'P002' ? { ...r, name: 'Scented Candle "Fig"\r\nlarge' } : r)),
      );
    });

    it('CSV: rejected rows get the same line numbers and text from a mixed-ends BOM file as from the clean file', async () => {
      const bad = [
        'P005;Rake;garden;12.00;true;2026-10-05T08:00:00Z',
        'P006;Spade;home;9.00;true;2026-10-06T08:00:00Z;extra',
        'P007;Pot;home;4.00;true;2026-10-07T08:00:00Z',
      ];
      const rs = [...records('\n'), ...bad];
      const cleanBad = await land(
        15,
        bronzeKey('products', 'clean-bad.csv'),
        withEnds(rs, () => '\n'),
      );
      const mixedBad = await land(
        15,
        bronzeKey('products', 'mixed-bad.csv'),
        `\ufeff${withEnds(rs, (i) => (i % 2 ? '\n' : '\r\n'))}`,
      );
      const summary = async (m: Manifest) =>
        (await h.quarantineLines(m)).map((l) => [l.line, l.column, l.rule, l.text]);
      expect(await summary(cleanBad)).toEqual([
        [7, 'category', 'allowed', bad[0]],
        [8, null, 'parse', bad[1]],
      ]);
      expect(await summary(mixedBad)).toEqual(await summary(cleanBad));
      expect(mixedBad.rows).toEqual({ in: 7, out: 5, quarantined: 2, duplicates: 0 });
      expect(await h.silverRows(mixedBad)).toEqual(await h.silverRows(cleanBad));
    });

    it('NDJSON: BOM, CRLF and mixed line ends give the clean silver rows', async () => {
      const lines = [customer('C001'), customer('C002', { note: 'multi\nline' }), customer('C003')];
      const reference = await land(15, bronzeKey('customers', 'clean.ndjson'), csv(...lines));
      expect(reference.rows).toEqual({ in: 3, out: 3, quarantined: 0, duplicates: 0 });
      const expected = await h.silverRows(reference);
      expect(JSON.parse(expected[1]?._extra as string)).toEqual({ note: unknownHash('multi\nline') });
      for (const [name, body] of [
        ['bom.ndjson', `\ufeff${csv(...lines)}`],
        ['crlf.ndjson', `${lines.join('\r\n')}\r\n`],
        ['mixed.ndjson', `${lines[0]}\r\n${lines[1]}\n${lines[2]}\r\n`],
      ] as const) {
        const m = await land(15, bronzeKey('customers', name), body);
        expect({ name, rows: m.rows, quarantine: m.quarantine }).toEqual({
          name,
          rows: { in: 3, out: 3, quarantined: 0, duplicates: 0 },
          quarantine: undefined,
        });
        expect(await h.silverRows(m)).toEqual(expected);
      }
    });
  });

  it('scenario 16: invalid UTF-8 quarantines the whole file, naming line and byte; nothing is replaced with U+FFFD', async () => {
    const prefix = Buffer.from(csv(ORDERS_HEADER, order('O-1')));
    const latin1 = Buffer.concat([
      prefix,
      Buffer.from(`${order('O-2', { customer_id: 'Ren\xe9' })}\n`, 'latin1'),
    ]);
    const badAt = prefix.length + 'O-2,2026-11-01 10:00:00,2026-11-01T09:00:00Z,Ren'.length;
    const cases: [string, Buffer, string][] = [
      ['latin1.csv', latin1, `invalid UTF-8 at line 3, byte ${badAt}`],
      // Offsets count the decompressed text: what a person fixing the file sees.
      ['latin1.csv.gz', gzipSync(latin1), `invalid UTF-8 at line 3, byte ${badAt}`],
      [
        'utf16.csv',
        Buffer.from(`\ufeff${csv(ORDERS_HEADER, order('O-1'))}`, 'utf16le'),
        'invalid UTF-8 at line 1, byte 0',
      ],
      // A UTF-16 surrogate encoded as UTF-8 (CESU-8): invalid, though a lenient decoder would take it.
      [
        'surrogate.csv',
        Buffer.concat([prefix, Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('\n')]),
        `invalid UTF-8 at line 3, byte ${prefix.length}`,
      ],
    ];
    for (const [name, body, reason] of cases) {
      const m = await land(16, bronzeKey('orders', name), body);
      await expectFileQuarantined(m, body, 'encoding', reason);
    }
  });

  describe('scenario 17: a single 10 MB line is quarantined as a parse error naming it; the rows after it land; memory stays bounded', () => {
    /** RSS above `base`, at its highest while `work` runs (sampled every 5 ms). */
    const peakRssGrowth = async <T>(work: () => Promise<T>): Promise<{ result: T; growthMb: number }> => {
      const base = process.memoryUsage().rss;
      let peak = base;
      const timer = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 5);
      try {
        const result = await work();
        peak = Math.max(peak, process.memoryUsage().rss);
        return { result, growthMb: (peak - base) / MB };
      } finally {
        clearInterval(timer);
      }
    };
    const RSS_BOUND_MB = 200;
    /** Lands `body`, transforms it while sampling RSS, and records the manifest and the growth. */
    const transformMeasuringRss = async (key: string, body: string | Buffer, note: string) => {
      await h.s3.put(BRONZE, key, body);
      const { result: m, growthMb } = await peakRssGrowth(() =>
        h.transformer().process({ bucket: BRONZE, key }),
      );
      recordManifest(17, m);
      recordEvidence({ kind: 'note', scenario: 17, name: note, value: Math.round(growthMb), unit: 'MB' });
      return { m, growthMb };
    };

    it('CSV', async () => {
      const long = order('O-2', { customer_id: 'C'.repeat(10 * MB) });
      const body = csv(ORDERS_HEADER, order('O-1'), long, order('O-3'), order('O-4'));
      const key = bronzeKey('orders', 'ten-mb-line.csv');
      const { m, growthMb } = await transformMeasuringRss(key, body, 'RSS growth, 10 MB CSV line');

      expect(m.status).toBe('ok');
      expect(m.rows).toEqual({ in: 4, out: 3, quarantined: 1, duplicates: 0 });
      expect(m.quarantinedByReason).toEqual({ parse: 1 });
      expect((await h.silverRows(m)).map((r) => r.order_id)).toEqual(['O-1', 'O-3', 'O-4']);
      const [line, ...more] = await h.quarantineLines(m);
      expect(more).toEqual([]);
      expect(line).toMatchObject({ source_key: key, line: 3, column: null, rule: 'parse', value: null });
      expect(line?.message).toBe(
        `LINE SIZE OVER MAXIMUM: Maximum line size of 2097152 bytes exceeded. Actual Size:${Buffer.byteLength(long)} bytes. Text cut to its first ${OVERLONG_TEXT_CHARS} characters.`,
      );
      expect(line?.text).toBe(long.slice(0, OVERLONG_TEXT_CHARS));
      // The quarantine holds a recognizable prefix, not another 10 MB copy (bronze keeps every byte).
      expect(await h.quarantineBytes(m)).toBeLessThan(4096);
      expect(growthMb).toBeLessThan(RSS_BOUND_MB);
    });

    it('NDJSON', async () => {
      const long = customer('C002', { blob: 'x'.repeat(10 * MB) });
      const body = csv(customer('C001'), long, customer('C003'));
      const key = bronzeKey('customers', 'ten-mb-line.ndjson');
      const { m, growthMb } = await transformMeasuringRss(key, body, 'RSS growth, 10 MB NDJSON line');

      expect(m.rows).toEqual({ in: 3, out: 2, quarantined: 1, duplicates: 0 });
      expect((await h.silverRows(m)).map((r) => r.customer_id)).toEqual(['C001', 'C003']);
      const lines = await h.quarantineLines(m);
      expect(lines.map((l) => [l.line, l.rule, l.text])).toEqual([
        [2, 'parse', long.slice(0, OVERLONG_TEXT_CHARS)],
      ]);
      expect(lines[0]?.message).toMatch(
        /^LINE SIZE OVER MAXIMUM: .* Actual Size:\d+ bytes\. Text cut to its first 1024 characters\.$/,
      );
      expect(growthMb).toBeLessThan(RSS_BOUND_MB);
    });

    it('many of them: past 32 MiB of over-long lines the file is quarantined whole, while streaming, naming the first', async () => {
      const lines = [ORDERS_HEADER];
      for (let n = 1; n <= 5; n++) {
        lines.push(order(`O-${n}`), order(`O-${n}-long`, { customer_id: 'C'.repeat(10 * MB) }));
      }
      const body = csv(...lines);
      const key = bronzeKey('orders', 'five-ten-mb-lines.csv');
      const { m, growthMb } = await transformMeasuringRss(
        key,
        body,
        'RSS growth, five 10 MB CSV lines (file quarantined)',
      );
      await expectFileQuarantined(
        m,
        body,
        'too-large',
        `4 line(s) longer than 2097152 bytes (the first at line 3) add up to more than ${OVERLONG_LINES_BUDGET_BYTES} bytes: too many to quarantine row by row`,
      );
      expect(growthMb).toBeLessThan(RSS_BOUND_MB);
    });
  });

  it('scenario 18: a gzip bomb is aborted at the cap, before writing past it, and quarantined whole', async () => {
    // Concatenated gzip members (valid gzip): 64 copies of 16 lines of 1 MiB each (under the 2 MiB line
    // limit, so the cap is what stops it) expand to 1 GiB from ~1 MB.
    const line = `${'x'.repeat(MB - 1)}\n`;
    const member = gzipSync(Buffer.from(line.repeat(16)), { level: 9 });
    const bomb = Buffer.concat([gzipSync(`${ORDERS_HEADER}\n`), ...Array.from({ length: 64 }, () => member)]);
    const expandsTo = ORDERS_HEADER.length + 1 + 64 * 16 * MB;
    expect(bomb.length).toBeLessThan(MB);

    // The spool step alone: the rejection comes once the cap is passed, and no byte past the cap is written.
    const file = join(h.scratch, 'bomb-spool');
    async function* body() {
      for (let i = 0; i < bomb.length; i += 64 * 1024) yield bomb.subarray(i, i + 64 * 1024);
    }
    const spoolStarted = Date.now();
    const err = await spoolToFile(body(), file, TEST_MAX_DECOMPRESSED_BYTES).catch((e: unknown) => e);
    const spoolMs = Date.now() - spoolStarted;
    expect(err).toBeInstanceOf(FileRejection);
    expect((err as FileRejection).code).toBe('too-large');
    const written = statSync(file).size;
    expect(written).toBeLessThanOrEqual(TEST_MAX_DECOMPRESSED_BYTES);
    expect(written).toBeGreaterThan(TEST_MAX_DECOMPRESSED_BYTES - 2 * MB);

    const started = Date.now();
    const m = await land(18, bronzeKey('orders', 'bomb.csv.gz'), bomb);
    const transformMs = Date.now() - started;
    await expectFileQuarantined(
      m,
      bomb,
      'too-large',
      `decompressed size exceeds the cap of ${TEST_MAX_DECOMPRESSED_BYTES} bytes`,
    );
    // Decompressing all of it would take several seconds; stopping at 64 MiB takes a fraction of that.
    expect(transformMs).toBeLessThan(5000);
    recordEvidence({
      kind: 'note',
      scenario: 18,
      name: 'gzip bomb expansion ratio',
      value: Math.round(expandsTo / bomb.length),
      unit: 'x',
    });
    recordEvidence({
      kind: 'note',
      scenario: 18,
      name: 'bytes written before abort (cap 64 MiB)',
      value: written,
      unit: 'bytes',
    });
    recordEvidence({
      kind: 'note',
      scenario: 18,
      name: 'time to reject the bomb (transform)',
      value: transformMs,
      unit: 'ms',
    });
    recordEvidence({
      kind: 'note',
      scenario: 18,
      name: 'time to reject the bomb (spool)',
      value: spoolMs,
      unit: 'ms',
    });
  });

  it('scenario 19: empty, blank and header-only files are recorded as empty (quarantined, reason "empty"); the message succeeds, so no retry loop', async () => {
    const cases: [string, string, string][] = [
      ['orders/empty.csv', '', 'the file is empty'],
      ['orders/bom-only.csv', '\ufeff', 'the file is empty'],
      ['orders/blank-lines.csv', '\n\n', 'the file has only blank lines'],
      ['orders/blank-crlf-lines.csv', '\r\n \r\n', 'the file has only blank lines'],
      ['orders/header-only.csv', `${ORDERS_HEADER}\n`, 'the file has no data rows'],
      ['orders/header-only-crlf.csv', `${ORDERS_HEADER}\r\n`, 'the file has no data rows'],
      ['orders/header-no-newline.csv', ORDERS_HEADER, 'the file has no data rows'],
      ['orders/header-then-blank-lines.csv', `${ORDERS_HEADER}\n\n\n`, 'the file has no data rows'],
      ['customers/empty.ndjson', '', 'the file is empty'],
      ['customers/blank-lines.ndjson', '\n \n\r\n', 'the file has no data rows'],
    ];
    const transformer = h.transformer();
    for (const [path, body, reason] of cases) {
      const [dataset, name] = path.split('/') as [string, string];
      const key = bronzeKey(dataset, name);
      await h.s3.put(BRONZE, key, body);
      // Delivered twice, as SQS would after a visibility timeout: both receives succeed, nothing is retried.
      for (const receive of [1, 2]) {
        const response = await processBatch(transformer, {
          Records: [sqsRecord(`msg-${path}-${receive}`, s3Event(s3Record(BRONZE, key)))],
        });
        expect({ path, receive, failures: response.batchItemFailures }).toEqual({
          path,
          receive,
          failures: [],
        });
        const m = await h.storedManifest(key, dataset);
        if (!m) throw new Error(`no manifest for ${key}`);
        recordManifest(19, m);
        await expectFileQuarantined(m, body, 'empty', reason);
      }
    }
  });

  describe('scenario 20: schema drift', () => {
    /** The sample contract with another unknown-columns policy, alone in its registry. */
    const withPolicy = (contract: DatasetContract, policy: DatasetContract['unknownColumns']) =>
      new ContractRegistry([{ ...contract, unknownColumns: policy }]);

    /** The same body landed once under each unknown-columns policy (each under its own bronze key). */
    async function landUnderEachPolicy(dataset: string, name: string, ext: string, body: string | Buffer) {
      const results: Partial<Record<'ignore' | 'keep' | 'reject', Manifest>> = {};
      for (const policy of ['ignore', 'keep', 'reject'] as const) {
        const contracts = withPolicy(h.contract(dataset), policy);
        results[policy] = await land(20, bronzeKey(dataset, `${name}-${policy}.${ext}`), body, { contracts });
      }
      return results as Record<'ignore' | 'keep' | 'reject', Manifest>;
    }

    it('a new column in a CSV: ignore drops it, keep carries it in _extra (value hashed), reject quarantines the file naming it', async () => {
      const body = csv(`${ORDERS_HEADER},channel`, `${order('O-1')},web`, `${order('O-2')},`);
      const { ignore, keep, reject } = await landUnderEachPolicy('orders', 'new-column', 'csv', body);

      expect(ignore?.rows).toEqual({ in: 2, out: 2, quarantined: 0, duplicates: 0 });
      const ignored = await h.silverRows(ignore);
      expect(ignored.map((r) => r.order_id)).toEqual(['O-1', 'O-2']);
      expect(Object.keys(ignored[0] ?? {})).not.toContain('_extra');
      expect(Object.keys(ignored[0] ?? {})).not.toContain('channel');

      expect(keep?.rows).toEqual({ in: 2, out: 2, quarantined: 0, duplicates: 0 });
      const kept = await h.silverRows(keep);
      expect(
        kept.map((r) => [r.order_id, r._extra === null ? null : JSON.parse(r._extra as string)]),
      ).toEqual([
        ['O-1', { channel: unknownHash('web') }],
        ['O-2', { channel: null }],
      ]);

      await expectFileQuarantined(reject, body, 'unknown-columns', 'column(s) not in the contract: channel');
    });

    it('a new key in NDJSON: ignore drops it, keep carries it in _extra (value hashed), reject quarantines the file', async () => {
      const body = csv(customer('C001', { tier: 'gold' }), customer('C002'));
      const { ignore, keep, reject } = await landUnderEachPolicy('customers', 'new-key', 'ndjson', body);
      expect(ignore?.rows).toEqual({ in: 2, out: 2, quarantined: 0, duplicates: 0 });
      expect(Object.keys((await h.silverRows(ignore))[0] ?? {})).not.toContain('_extra');
      expect(keep?.rows).toEqual({ in: 2, out: 2, quarantined: 0, duplicates: 0 });
      expect((await h.silverRows(keep)).map((r) => [r.customer_id, r._extra])).toEqual([
        ['C001', JSON.stringify({ tier: unknownHash('gold') })],
        ['C002', null],
      ]);
      await expectFileQuarantined(
        reject,
        body,
        'unknown-columns',
        '1 record(s) carry fields the contract does not declare',
      );
    });

    it('a missing required column: a CSV is quarantined whole naming it; NDJSON records without it are quarantined row by row', async () => {
      const header = ORDER_COLUMNS.filter((c) => c !== 'currency').join(',');
      const body = csv(header, order('O-1').replace(',EUR', ''));
      const m = await land(20, bronzeKey('orders', 'no-currency.csv'), body);
      await expectFileQuarantined(
        m,
        body,
        'header',
        `missing required column(s): currency (header: ${header.split(',').join(', ')})`,
      );

      // NDJSON has no header: each record without the key breaks `required`, and the others land.
      const ndjson = csv(customer('C001'), customer('C002', { signup_date: undefined }), customer('C003'));
      const n = await land(20, bronzeKey('customers', 'no-signup-date.ndjson'), ndjson);
      expect(n.rows).toEqual({ in: 3, out: 2, quarantined: 1, duplicates: 0 });
      expect((await h.quarantineLines(n)).map((l) => [l.line, l.column, l.rule, l.message])).toEqual([
        [2, 'signup_date', 'required', 'a value is required'],
      ]);
    });

    it('a column changing type: the rows with the wrong type are quarantined naming column and rule; the others land', async () => {
      const body = csv(
        ORDERS_HEADER,
        order('O-1'),
        order('O-2', { quantity: 'abc' }),
        order('O-3', { quantity: '1.5' }),
        order('O-4', { quantity: '7' }),
        order('O-5', { unit_price: '9.999' }),
        order('O-6', { order_ts: '01/11/2026 10:00' }),
      );
      const m = await land(20, bronzeKey('orders', 'type-change.csv'), body);
      expect(m.rows).toEqual({ in: 6, out: 2, quarantined: 4, duplicates: 0 });
      expect(m.quarantinedByReason).toEqual({ 'quantity|type': 2, 'unit_price|type': 1, 'order_ts|type': 1 });
      expect((await h.silverRows(m)).map((r) => [r.order_id, r.quantity])).toEqual([
        ['O-1', '1'],
        ['O-4', '7'],
      ]);
      expect((await h.quarantineLines(m)).map((l) => [l.line, l.column, l.rule, l.value, l.message])).toEqual(
        [
          [3, 'quantity', 'type', 'abc', "'abc' is not a valid int32"],
          [4, 'quantity', 'type', '1.5', "'1.5' is not a valid int32"],
          [6, 'unit_price', 'type', '9.999', "'9.999' is not a valid decimal(10,2)"],
          [
            7,
            'order_ts',
            'type',
            '01/11/2026 10:00',
            "'01/11/2026 10:00' is not a valid timestamp (format %Y-%m-%d %H:%M:%S)",
          ],
        ],
      );
    });
  });
});
