import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CsvLayoutEntry,
  CsvLayoutScanner,
  type CsvShape,
  fieldCount,
  scanCsvLayout,
} from '../../../lambdas/bronze-to-silver/csv-layout';

const SHAPE: CsvShape = { delimiter: ',', quote: '"', escape: '"', header: true, width: 2 };

/** The layout entries of `text` fed in chunks of `size` bytes (the whole text when omitted). */
function scan(text: string | Buffer, size?: number, shape: CsvShape = SHAPE): CsvLayoutEntry[] {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const scanner = new CsvLayoutScanner(shape);
  const step = size ?? Math.max(1, bytes.length);
  for (let i = 0; i < bytes.length; i += step) scanner.feed(bytes.subarray(i, i + step));
  scanner.end();
  return scanner.take();
}

describe('CsvLayoutScanner', () => {
  it('finds nothing in a plain file', () => {
    expect(scan('a,b\nx,y\n"q",z\n')).toEqual([]);
  });

  it('shifts the lines after a record holding newlines inside quotes, by how many it holds', () => {
    expect(scan('a,b\n"one\ntwo\nthree",x\nx,y\n"p\nq",r\nx,y')).toEqual([
      { kind: 'shift', line: 3, n: 2 },
      { kind: 'shift', line: 5, n: 3 },
    ]);
  });

  it('notes blank lines with their line as the reader counts them, none when a record has one field', () => {
    expect(scan('a,b\n\n"x\ny",z\n\n\nx,y\n')).toEqual([
      { kind: 'blank', line: 2, n: 0 },
      { kind: 'shift', line: 4, n: 1 },
      { kind: 'blank', line: 4, n: 0 },
      { kind: 'blank', line: 5, n: 0 },
    ]);
    expect(scan('a\nx\n\ny\n', undefined, { ...SHAPE, width: 1 })).toEqual([]);
  });

  it('notes records with more fields than the header whose extra fields are empty, with their text', () => {
    expect(scan('a,b\nx,y,\nx,y,z\nx,\n"x,",y,""\nx,y,,\n"a\nb",c,\nx,y')).toEqual([
      { kind: 'extra', line: 2, n: 3, text: 'x,y,' },
      { kind: 'extra', line: 5, n: 3, text: '"x,",y,""' },
      { kind: 'extra', line: 6, n: 4, text: 'x,y,,' },
      { kind: 'extra', line: 7, n: 3, text: '"a\nb",c,' },
      { kind: 'shift', line: 8, n: 1 },
    ]);
  });

  it('takes the header as wide as it is written, and the read width when that is wider', () => {
    expect(scan('a,b,\nx,y,\nx,y,,\n')).toEqual([{ kind: 'extra', line: 3, n: 4, text: 'x,y,,' }]);
    expect(scan('a,b\nx,y,\nx,y,,\n', undefined, { ...SHAPE, width: 3 })).toEqual([
      { kind: 'extra', line: 3, n: 4, text: 'x,y,,' },
    ]);
    expect(scan('x,y,\nx,y\n', undefined, { ...SHAPE, header: false })).toEqual([
      { kind: 'extra', line: 1, n: 3, text: 'x,y,' },
    ]);
  });

  it('follows quotes as the reader does: doubled quotes, a quote inside a field, the escape character', () => {
    expect(scan('a,b\n"x "",\n y",z\n5" screen,"q\nr"\n')).toEqual([
      { kind: 'shift', line: 3, n: 1 },
      { kind: 'shift', line: 4, n: 2 },
    ]);
    const escaped = { ...SHAPE, escape: '\\' };
    expect(scan('a,b\n"x \\" \\\n y",z\nx,y,\n', undefined, escaped)).toEqual([
      { kind: 'shift', line: 3, n: 1 },
      { kind: 'extra', line: 3, n: 3, text: 'x,y,' },
    ]);
  });

  it('finds the same in any chunking: quotes, escapes, line feeds and records cut anywhere', () => {
    const text = 'a,b\n"x "",\n y",z\n\nx,"é\n",\n"p""",q,""\n5" screen,"q\nr"\nlast,one,';
    const whole = scan(text);
    expect(whole.length).toBeGreaterThan(4);
    for (const size of [1, 2, 3, 5, 7, 11]) expect(scan(text, size)).toEqual(whole);
    const escaped = { ...SHAPE, escape: '\\' };
    const withEscapes = 'a,b\n"x \\" \\\n y",z\n"\\\\",y,\n"a\\\nb\n",c\n';
    const wholeEscaped = scan(withEscapes, undefined, escaped);
    for (const size of [1, 2, 3, 4]) expect(scan(withEscapes, size, escaped)).toEqual(wholeEscaped);
  });

  it('gives up on a record longer than the longest one read (the reader rejects it anyway), not on the next', () => {
    const long = 'x'.repeat(3 * 1024 * 1024);
    expect(scan(`a,b\n${long},y,\nx,y,\n`, 1 << 20)).toEqual([
      { kind: 'extra', line: 3, n: 3, text: 'x,y,' },
    ]);
  });
});

describe('fieldCount', () => {
  const count = (record: string, emptyAfter?: number) =>
    fieldCount(Buffer.from(record), 0x2c, 0x22, 0x22, emptyAfter);

  it('splits as the reader does, and says -1 when a field past the limit is not empty', () => {
    expect(count('x')).toBe(1);
    expect(count('')).toBe(1);
    expect(count('x,y,')).toBe(3);
    expect(count('"a,b",c')).toBe(2);
    expect(count('"a"",b",c,""')).toBe(3);
    expect(count('x,y,', 2)).toBe(3);
    expect(count('x,y,""', 2)).toBe(3);
    expect(count('x,y,z', 2)).toBe(-1);
    expect(count('x,y,," "', 2)).toBe(-1);
  });
});

describe('scanCsvLayout', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-csv-layout-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the entries as NDJSON and counts them; no file when there are none', async () => {
    writeFileSync(join(dir, 'a.csv'), 'a,b\n"x\ny",z\nx,y,\n\n');
    const layout = await scanCsvLayout(join(dir, 'a.csv'), SHAPE, join(dir, 'a.ndjson'));
    expect(layout).toEqual({ file: join(dir, 'a.ndjson'), blank: 1, shift: 1, extra: 1 });
    expect(
      readFileSync(join(dir, 'a.ndjson'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { kind: 'shift', line: 3, n: 1 },
      { kind: 'extra', line: 3, n: 3, text: 'x,y,' },
      { kind: 'blank', line: 4, n: 0 },
    ]);

    writeFileSync(join(dir, 'b.csv'), 'a,b\nx,y\n');
    expect(await scanCsvLayout(join(dir, 'b.csv'), SHAPE, join(dir, 'b.ndjson'))).toEqual({
      blank: 0,
      shift: 0,
      extra: 0,
    });
  });
});
