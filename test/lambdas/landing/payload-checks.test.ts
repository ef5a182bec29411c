import { gzipSync } from 'node:zlib';
import { type DatasetContract, parseContract } from '../../../core/contracts/dataset-contract';
import { LandingError } from '../../../core/errors';
import { checkPayload, payloadText } from '../../../lambdas/landing/payload-checks';

const FILE = 'day.ndjson';

/** A contract of `format` with a required string `id`, a required date `day` and an optional int `qty`. */
function contract(format: 'csv' | 'ndjson' | 'json', csv: Record<string, unknown> = {}): DatasetContract {
  return parseContract(
    {
      domain: 'sales',
      dataset: 'orders',
      source: { format, csv },
      columns: [
        { name: 'id', type: 'string', required: true, from: 'Order ID' },
        { name: 'day', type: 'date', required: true },
        { name: 'qty', type: 'int32' },
        { name: 'paid', type: 'boolean' },
      ],
      primaryKey: ['id'],
      partition: { column: 'day' },
    },
    'orders.yaml',
  );
}

/** Runs `check` and returns the LandingError it throws, with its status. */
function refusal(check: () => unknown): { statusCode: number; message: string } {
  try {
    check();
  } catch (e) {
    expect(e).toBeInstanceOf(LandingError);
    return { statusCode: (e as LandingError).statusCode, message: (e as LandingError).message };
  }
  throw new Error('accepted');
}

describe('payloadText', () => {
  it('returns the text without its byte order mark', () => {
    expect(payloadText(Buffer.from('\ufeffid\n1\n'), false, 100, FILE)).toBe('id\n1\n');
  });

  it('inflates a gzip body within the cap', () => {
    expect(payloadText(gzipSync('id\n1\n'), true, 100, FILE)).toBe('id\n1\n');
  });

  it('refuses gzip that inflates past the cap with a 413', () => {
    expect(refusal(() => payloadText(gzipSync('x'.repeat(101)), true, 100, FILE))).toEqual({
      statusCode: 413,
      message:
        'day.ndjson: the gzip body decompresses to more than 100 bytes: upload large files to the landing bucket',
    });
  });

  it('refuses gzip that does not inflate with a 400', () => {
    const truncated = gzipSync('id\n1\n').subarray(0, 12);
    expect(refusal(() => payloadText(truncated, true, 100, FILE))).toEqual({
      statusCode: 400,
      message: 'day.ndjson: the gzip body cannot be decompressed: unexpected end of file',
    });
  });

  it('refuses bytes that are not UTF-8 with a 400', () => {
    expect(refusal(() => payloadText(Buffer.from([0x69, 0x64, 0xff, 0x0a]), false, 100, FILE))).toEqual({
      statusCode: 400,
      message: 'day.ndjson: the body is not valid UTF-8 text',
    });
  });
});

describe('checkPayload: CSV', () => {
  it('accepts a header naming every required column by its source name, in any case, split at the delimiter', () => {
    expect(() =>
      checkPayload(contract('csv', { delimiter: ';' }), '"order id";DAY\n1;2026-11-20\n', FILE),
    ).not.toThrow();
  });

  it('refuses a header lacking a required column, naming it by its source name', () => {
    expect(refusal(() => checkPayload(contract('csv'), 'day,qty\n2026-11-20,1\n', FILE))).toEqual({
      statusCode: 400,
      message:
        "day.ndjson: the CSV header lacks required column(s) of dataset 'orders': Order ID (header: day, qty)",
    });
  });

  it('refuses an empty header line', () => {
    expect(refusal(() => checkPayload(contract('csv'), ',,\n1,2\n', FILE))).toEqual({
      statusCode: 400,
      message: 'day.ndjson: the CSV header line is empty',
    });
  });

  it('reads a quoted header field with an escaped quote and a delimiter inside as one name', () => {
    const csv = contract('csv', { escape: '\\' });
    expect(refusal(() => checkPayload(csv, '"Order \\"ID\\", day",x\n1,2\n', FILE)).message).toContain(
      '(header: Order "ID", day, x)',
    );
  });

  it('checks nothing in a file without a header line', () => {
    expect(() => checkPayload(contract('csv', { header: false }), '1,2026-11-20\n', FILE)).not.toThrow();
  });
});

describe('checkPayload: NDJSON and JSON records', () => {
  const ok = '{"Order ID":"a","day":"2026-11-20","qty":"12","paid":"true"}';

  it('accepts records whose values can be read as their column types (a number in a string too)', () => {
    expect(() =>
      checkPayload(contract('ndjson'), `${ok}\n{"Order ID":7,"day":"2026-11-20"}\n`, FILE),
    ).not.toThrow();
    expect(() => checkPayload(contract('json'), `[${ok}]`, FILE)).not.toThrow();
  });

  it('refuses a record with a required column missing or null, or a value of the wrong JSON type', () => {
    const body = `${ok}\n{"Order ID":null,"qty":[1],"paid":1}\n`;
    expect(refusal(() => checkPayload(contract('ndjson'), body, FILE))).toEqual({
      statusCode: 400,
      message:
        "day.ndjson: 4 problem(s) against the contract of dataset 'orders': " +
        "record 2: column 'Order ID' is required but null; record 2: column 'day' is required but missing; " +
        "record 2: column 'qty' is int32, got an array; record 2: column 'paid' is boolean, got a number",
    });
  });

  it('refuses a record that is not an object', () => {
    expect(refusal(() => checkPayload(contract('json'), `[${ok}, "x"]`, FILE))).toEqual({
      statusCode: 400,
      message:
        "day.ndjson: 1 problem(s) against the contract of dataset 'orders': record 2: not a JSON object (got a string)",
    });
  });

  it('lists the first five problems and counts the rest', () => {
    const body = '{}\n'.repeat(4);
    const { message } = refusal(() => checkPayload(contract('ndjson'), body, FILE));
    expect(message).toMatch(/^day\.ndjson: 8 problem\(s\) against the contract of dataset 'orders': /);
    expect(message.match(/record \d+: /g)).toHaveLength(5);
    expect(message).toMatch(/record 3: column 'Order ID' is required but missing; and 3 more$/);
  });

  it('refuses an NDJSON body without a record', () => {
    expect(refusal(() => checkPayload(contract('ndjson'), '\n  \n', FILE))).toEqual({
      statusCode: 400,
      message: 'day.ndjson: no JSON record in the body',
    });
  });

  it('refuses a JSON body that is not an array', () => {
    expect(refusal(() => checkPayload(contract('json'), ok, FILE))).toEqual({
      statusCode: 400,
      message: "day.ndjson: dataset 'orders' takes a JSON array of objects, got an object",
    });
  });

  it('reports the line of a bad NDJSON record and the column in it', () => {
    expect(refusal(() => checkPayload(contract('ndjson'), `${ok}\n\n{"day": 2026-11-20}\n`, FILE))).toEqual({
      statusCode: 400,
      message: "day.ndjson: line 3 is not valid JSON at column 13: Expected ',' or '}' after property value",
    });
  });

  it('reports the line and column where a JSON document breaks', () => {
    expect(refusal(() => checkPayload(contract('json'), `[\n  ${ok},\n  {"day" "x"}\n]`, FILE))).toEqual({
      statusCode: 400,
      message: "day.ndjson: not valid JSON at line 3 column 10: Expected ':' after property name",
    });
  });
});
