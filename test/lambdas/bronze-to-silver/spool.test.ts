/**
 * `spoolToFile`: streams a body to a local file, gunzipping (gzip detected by magic bytes) under a size cap,
 * validating UTF-8 and hashing the bytes as stored.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FileRejection } from '../../../core/errors';
import { type SourceText, spoolToFile } from '../../../lambdas/bronze-to-silver/spool';

let tmp: string;
let fileCount = 0;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'spool-test-'));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
});

const MB = 1024 * 1024;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const target = () => join(tmp, `out-${++fileCount}`);

/** The bytes as an async iterable of `size`-byte chunks (S3 bodies are async iterables of Uint8Array). */
async function* chunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** The FileRejection `promise` fails with (fails the test when it resolves or throws anything else). */
async function rejection(promise: Promise<unknown>): Promise<FileRejection> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FileRejection);
  return err as FileRejection;
}

describe('spoolToFile', () => {
  it('copies a plain file byte for byte, with the sha256 and size of the stored bytes', async () => {
    const body = Buffer.from('id,name\n1,Zoë\n2,東京 🍣\n'.repeat(500));
    const out = target();
    const r = await spoolToFile(chunks(body, 1000), out, MB);
    expect(r).toEqual({
      storedBytes: body.length,
      bytes: body.length,
      sha256: sha256(body),
      gzip: false,
      bomRemoved: false,
      crlfRecordEnds: 0,
    });
    expect(readFileSync(out).equals(body)).toBe(true);
  });

  it('detects gzip by its magic bytes (not by name) and writes the decompressed bytes', async () => {
    const plain = Buffer.from('a,b\n1,2\n'.repeat(1000));
    const gz = gzipSync(plain);
    const out = target();
    const r = await spoolToFile(chunks(gz, 256), out, MB);
    // The hash and stored size are of the bytes as stored (compressed), `bytes` of what was written.
    expect(r).toMatchObject({ storedBytes: gz.length, bytes: plain.length, sha256: sha256(gz), gzip: true });
    expect(readFileSync(out).equals(plain)).toBe(true);
  });

  it('detects gzip even when the first chunk holds a single byte', async () => {
    const plain = Buffer.from('x\n'.repeat(100));
    const gz = gzipSync(plain);
    const out = target();
    const r = await spoolToFile(chunks(gz, 1), out, MB);
    expect(r.gzip).toBe(true);
    expect(readFileSync(out).equals(plain)).toBe(true);
  });

  it('rejects a gzip bomb as too-large as soon as the output passes the cap', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * MB));
    expect(bomb.length).toBeLessThan(100 * 1024);
    const started = Date.now();
    const err = await rejection(spoolToFile(chunks(bomb, 64 * 1024), target(), MB));
    expect(err.code).toBe('too-large');
    expect(err.message).toContain(String(MB));
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('rejects a plain file larger than the cap as too-large', async () => {
    const err = await rejection(spoolToFile(chunks(Buffer.alloc(2048, 'a'), 512), target(), 1024));
    expect(err.code).toBe('too-large');
  });

  it('rejects corrupt and truncated gzip as compression', async () => {
    const corrupt = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.alloc(64, 0xff)]);
    expect((await rejection(spoolToFile(chunks(corrupt, 16), target(), MB))).code).toBe('compression');
    const gz = gzipSync(Buffer.from('a,b\n'.repeat(10_000)));
    const truncated = gz.subarray(0, gz.length - 20);
    expect((await rejection(spoolToFile(chunks(truncated, 100), target(), MB))).code).toBe('compression');
  });

  it('rejects invalid UTF-8 as encoding, naming the line and offset of the bad byte', async () => {
    // 'ab' (2 bytes) + 'é' (2 bytes) + 0xff: the invalid byte is at offset 4.
    const body = Buffer.concat([Buffer.from('abé'), Buffer.from([0xff]), Buffer.from('cd')]);
    const err = await rejection(spoolToFile(chunks(body, 1024), target(), MB));
    expect(err.code).toBe('encoding');
    expect(err.message).toBe('invalid UTF-8 at line 1, byte 4');
  });

  it('finds the bad byte offset past multi-byte characters, whatever the binary search probes first', async () => {
    for (const [prefix, expected] of [
      ['aaaa€', 7],
      ['é'.repeat(20), 40],
      ['😀x', 5],
    ] as const) {
      const body = Buffer.concat([Buffer.from(prefix), Buffer.from([0xff]), Buffer.from('zz')]);
      const err = await rejection(spoolToFile(chunks(body, 1024), target(), MB));
      expect(err.message).toBe(`invalid UTF-8 at line 1, byte ${expected}`);
    }
  });

  it('counts the encoding error offset across chunks', async () => {
    const body = Buffer.concat([Buffer.from('x'.repeat(10)), Buffer.from('€'), Buffer.from([0xc3, 0x28])]);
    // '€' (3 bytes) is split across the two chunks; the sequence C3 28 breaks at 14 and starts at 13.
    const err = await rejection(spoolToFile(chunks(body, 11), target(), MB));
    expect(err.code).toBe('encoding');
    expect(err.message).toBe('invalid UTF-8 at line 1, byte 13');
  });

  it('rejects Latin-1 text inside gzip as encoding', async () => {
    const gz = gzipSync(Buffer.from('name\nCaf\xe9\n', 'latin1'));
    expect((await rejection(spoolToFile(chunks(gz, 1024), target(), MB))).code).toBe('encoding');
  });

  it('accepts multi-byte characters split across chunk boundaries at every position', async () => {
    const body = Buffer.from('é€😀 a-é-€-😀-z'.repeat(20));
    for (const size of [1, 2, 3, 5, 7]) {
      const out = target();
      const r = await spoolToFile(chunks(body, size), out, MB);
      expect(r.bytes).toBe(body.length);
      expect(readFileSync(out).equals(body)).toBe(true);
    }
  });

  it('rejects a sequence truncated at the very end as encoding', async () => {
    const body = Buffer.concat([Buffer.from('ok\n'), Buffer.from('€').subarray(0, 2)]);
    const err = await rejection(spoolToFile(chunks(body, 2), target(), MB));
    expect(err.code).toBe('encoding');
    expect(err.message).toBe('invalid UTF-8: truncated sequence at line 2, byte 3');
  });

  it('writes an empty file for an empty body (the caller decides what empty means)', async () => {
    const out = target();
    const r = await spoolToFile(chunks(Buffer.alloc(0), 1), out, MB);
    expect(r).toMatchObject({ storedBytes: 0, bytes: 0, sha256: sha256(Buffer.alloc(0)), gzip: false });
    expect(readFileSync(out).length).toBe(0);
  });

  it('points at the first byte of a broken sequence, not at the byte where it broke', async () => {
    for (const [bytes, expected] of [
      [[0xe9, 0x2c], 2], // Latin-1 'é' then ','
      [[0xf0, 0x9f, 0x98, 0x78], 2], // a 4-byte sequence cut short by 'x'
      [[0xed, 0xa0, 0x80], 2], // a UTF-16 surrogate (CESU-8)
      [[0xc3, 0xa9, 0x80], 4], // a complete 'é', then a stray continuation byte
    ] as const) {
      const body = Buffer.concat([Buffer.from('ab'), Buffer.from(bytes), Buffer.from('\n')]);
      const err = await rejection(spoolToFile(chunks(body, 1024), target(), MB));
      expect(err.message).toBe(`invalid UTF-8 at line 1, byte ${expected}`);
    }
  });

  it('counts lines across chunks to name the line of an invalid byte', async () => {
    const body = Buffer.concat([Buffer.from('h\n1\n2\nabc'), Buffer.from([0xff]), Buffer.from('\n')]);
    for (const size of [1, 3, 1024]) {
      const err = await rejection(spoolToFile(chunks(body, size), target(), MB));
      expect(err.message).toBe('invalid UTF-8 at line 4, byte 9');
    }
  });

  describe('with the source format: BOM and CRLF record ends normalized', () => {
    const CSV = { format: 'csv', csv: { quote: '"' } } as const;
    /** Spools `text` in chunks of every size in `sizes` and checks each output equals `expected`. */
    const normalized = async (
      text: string | Buffer,
      expected: string,
      source: SourceText = CSV,
      sizes = [1, 2, 3, 7, 1024],
    ) => {
      const body = Buffer.from(text);
      for (const size of sizes) {
        const out = target();
        const r = await spoolToFile(chunks(body, size), out, MB, source);
        expect(readFileSync(out, 'utf8')).toBe(expected);
        expect(r.bytes).toBe(body.length);
      }
    };

    it('drops a leading BOM (only at the start) and reports it', async () => {
      await normalized('\ufeffa,b\n1,\ufeff\n', 'a,b\n1,\ufeff\n');
      const r = await spoolToFile(chunks(Buffer.from('\ufeffx\n'), 1), target(), MB, CSV);
      expect(r).toMatchObject({ bomRemoved: true, crlfRecordEnds: 0 });
    });

    it('keeps a file shorter than a BOM, and a lone BOM becomes an empty file', async () => {
      await normalized('a', 'a');
      await normalized('\ufeff', '');
    });

    it('turns CRLF record ends into LF, in CRLF and mixed files, and counts them', async () => {
      await normalized('a,b\r\n1,2\r\n3,4\n5,6\r\n', 'a,b\n1,2\n3,4\n5,6\n');
      const r = await spoolToFile(chunks(Buffer.from('a\r\nb\r\nc\n'), 2), target(), MB, CSV);
      expect(r.crlfRecordEnds).toBe(2);
    });

    it('keeps CR LF and LF inside quoted fields, with doubled quotes, across chunk boundaries', async () => {
      await normalized(
        'id,note\r\n1,"a\r\nb ""q"" \r\n"\r\n2,"x\ny"\r\n3,""\r\n',
        'id,note\n1,"a\r\nb ""q"" \r\n"\n2,"x\ny"\n3,""\n',
      );
    });

    it('treats a quote inside an unquoted field as a literal, as DuckDB does (it opens nothing)', async () => {
      await normalized(
        'id,name\r\n1,TV 5" screen\r\n2,"a\r\nb"\r\n3,x""y\r\n',
        'id,name\n1,TV 5" screen\n2,"a\r\nb"\n3,x""y\n',
      );
      // A field opening right after a CR LF record end split across chunks is still a field start.
      await normalized('a\r\n"b\r\nc"\r\n', 'a\n"b\r\nc"\n', CSV, [1, 2, 3, 4]);
    });

    it('gives the LF file back from CRLF and mixed variants of random CSV, whatever the chunking', async () => {
      // A small deterministic generator (mulberry32): the same cases on every run.
      let seed = 42;
      const random = () => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
      const field = () =>
        pick([
          () => 'plain',
          () => '',
          () => 'in 5" mid',
          () => '"quoted, with ""doubled"" quotes"',
          () => '"embedded\nLF"',
          () => '"embedded\r\nCRLF kept"',
          () => '"doubled "" then\r\nCRLF"',
          () => '"ends with quote"""',
          () => '""',
          () => 'é€😀',
        ])();
      for (let n = 0; n < 40; n++) {
        const records = Array.from({ length: 1 + Math.floor(random() * 6) }, () =>
          Array.from({ length: 1 + Math.floor(random() * 4) }, field).join(','),
        );
        const lf = records.map((r) => `${r}\n`).join('');
        const crlf = records.map((r) => `${r}\r\n`).join('');
        const mixed = records.map((r) => `${r}${random() < 0.5 ? '\n' : '\r\n'}`).join('');
        const sizes = [1 + Math.floor(random() * 5), 1 + Math.floor(random() * 64)];
        await normalized(crlf, lf, CSV, sizes);
        await normalized(mixed, lf, CSV, sizes);
      }
    });

    it('follows a separate escape character inside quotes', async () => {
      const source: SourceText = { format: 'csv', csv: { quote: "'", escape: '\\' } };
      // \' inside quotes is an escaped quote, so the CR LF after it is still inside the field.
      await normalized("a\r\n'x\\'\r\ny'\r\n'\\\\'\r\nz\r\n", "a\n'x\\'\r\ny'\n'\\\\'\nz\n", source);
    });

    it('keeps a lone CR, and a CR at the very end', async () => {
      await normalized('a\rb\r\nc\r', 'a\rb\nc\r');
    });

    it('NDJSON: every CRLF becomes LF; JSON arrays keep theirs (whitespace)', async () => {
      await normalized('{"a":"\\""}\r\n{"a":"\\r\\n"}\n', '{"a":"\\""}\n{"a":"\\r\\n"}\n', {
        format: 'ndjson',
      });
      await normalized('\ufeff[{"a":1},\r\n{"a":2}]\r\n', '[{"a":1},\r\n{"a":2}]\r\n', { format: 'json' });
    });

    it('leaves an unclosed quote to the engine: everything after it is inside the field', async () => {
      await normalized('a\r\n"b\r\nc\r\n', 'a\n"b\r\nc\r\n');
    });
  });

  describe('over-long lines (CSV and NDJSON): bounded in all, so they cannot run the engine out of memory', () => {
    const CSV = { format: 'csv', csv: { quote: '"' } } as const;
    const limits = { maxLineBytes: 10, overLongBudgetBytes: 25 };
    const long = (c: string) => c.repeat(12);

    it('passes over-long lines while they add up to the budget (the engine quarantines them row by row)', async () => {
      const body = Buffer.from(`short\n${long('x')}\nok\r\n${long('y')}`);
      for (const format of ['csv', 'ndjson'] as const) {
        const out = target();
        await spoolToFile(chunks(body, 5), out, MB, { format }, limits);
        expect(readFileSync(out, 'utf8')).toBe(`short\n${long('x')}\nok\n${long('y')}`);
      }
    });

    it('rejects the file as too-large past the budget, naming how many lines and the first one', async () => {
      const body = Buffer.from(`short\n${long('x')}\nok\n${long('y')}\n${long('z')}\nend\n`);
      for (const size of [1, 4, 1024]) {
        const err = await rejection(spoolToFile(chunks(body, size), target(), MB, CSV, limits));
        expect(err.code).toBe('too-large');
        expect(err.message).toBe(
          '3 line(s) longer than 10 bytes (the first at line 2) add up to more than 25 bytes: too many to quarantine row by row',
        );
      }
    });

    it('stops a huge line at the budget, without reading it to its end', async () => {
      let read = 0;
      async function* huge(): AsyncGenerator<Uint8Array> {
        yield Buffer.from('a\n');
        for (let i = 0; i < 1000; i++) {
          read += 64 * 1024;
          yield Buffer.alloc(64 * 1024, 'b');
        }
      }
      const err = await rejection(
        spoolToFile(huge(), target(), 1024 * MB, CSV, {
          maxLineBytes: 1024,
          overLongBudgetBytes: 256 * 1024,
        }),
      );
      expect(err.message).toMatch(/^1 line\(s\) longer than 1024 bytes \(the first at line 2\)/);
      expect(read).toBeLessThan(2 * MB);
    });

    it('does not bound JSON arrays (one line may hold them all) nor raw copies', async () => {
      const body = Buffer.from(`[${'{"a":1},'.repeat(10)}{"a":2}]`);
      await spoolToFile(chunks(body, 7), target(), MB, { format: 'json' }, limits);
      await spoolToFile(chunks(body, 7), target(), MB);
    });
  });

  it('lets errors of the body stream (network) through unchanged, not as a FileRejection', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('a,b\n');
      throw new Error('socket hang up');
    }
    await expect(spoolToFile(failing(), target(), MB)).rejects.toThrow('socket hang up');
    await expect(spoolToFile(failing(), target(), MB)).rejects.not.toBeInstanceOf(FileRejection);
  });
});
