/**
 * `spoolToFile`: streams a body to a local file, gunzipping (gzip detected by magic bytes) under a size cap,
 * validating UTF-8 and hashing the bytes as stored.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FileRejection, spoolToFile } from '../../../lambdas/bronze-to-silver/spool';

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
    expect(r).toEqual({ storedBytes: body.length, bytes: body.length, sha256: sha256(body), gzip: false });
    expect(readFileSync(out).equals(body)).toBe(true);
  });

  it('detects gzip by its magic bytes (not by name) and writes the decompressed bytes', async () => {
    const plain = Buffer.from('a,b\n1,2\n'.repeat(1000));
    const gz = gzipSync(plain);
    const out = target();
    const r = await spoolToFile(chunks(gz, 256), out, MB);
    // The hash and stored size are of the bytes as stored (compressed), `bytes` of what was written.
    expect(r).toEqual({ storedBytes: gz.length, bytes: plain.length, sha256: sha256(gz), gzip: true });
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

  it('rejects invalid UTF-8 as encoding, naming the offset of the bad byte', async () => {
    // 'ab' (2 bytes) + 'é' (2 bytes) + 0xff: the invalid byte is at offset 4.
    const body = Buffer.concat([Buffer.from('abé'), Buffer.from([0xff]), Buffer.from('cd')]);
    const err = await rejection(spoolToFile(chunks(body, 1024), target(), MB));
    expect(err.code).toBe('encoding');
    expect(err.message).toBe('invalid UTF-8 near byte 4');
  });

  it('finds the bad byte offset past multi-byte characters, whatever the binary search probes first', async () => {
    for (const [prefix, expected] of [
      ['aaaa€', 7],
      ['é'.repeat(20), 40],
      ['😀x', 5],
    ] as const) {
      const body = Buffer.concat([Buffer.from(prefix), Buffer.from([0xff]), Buffer.from('zz')]);
      const err = await rejection(spoolToFile(chunks(body, 1024), target(), MB));
      expect(err.message).toBe(`invalid UTF-8 near byte ${expected}`);
    }
  });

  it('counts the encoding error offset across chunks', async () => {
    const body = Buffer.concat([Buffer.from('x'.repeat(10)), Buffer.from('€'), Buffer.from([0xc3, 0x28])]);
    // '€' (3 bytes) is split across the two chunks; the sequence C3 28 starts at 13 and breaks at 14.
    const err = await rejection(spoolToFile(chunks(body, 11), target(), MB));
    expect(err.code).toBe('encoding');
    expect(err.message).toBe('invalid UTF-8 near byte 14');
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
    expect(err.message).toBe('invalid UTF-8: truncated sequence at byte 3');
  });

  it('writes an empty file for an empty body (the caller decides what empty means)', async () => {
    const out = target();
    const r = await spoolToFile(chunks(Buffer.alloc(0), 1), out, MB);
    expect(r).toEqual({ storedBytes: 0, bytes: 0, sha256: sha256(Buffer.alloc(0)), gzip: false });
    expect(readFileSync(out).length).toBe(0);
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
