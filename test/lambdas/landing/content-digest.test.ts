import { createHash } from 'node:crypto';
import { digestStream, hasGzipMagic, sha256Hex } from '../../../lambdas/landing/content-digest';

const sha256 = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function* chunksOf(...chunks: number[][]): AsyncIterable<Uint8Array> {
  for (const c of chunks) yield Uint8Array.from(c);
}

describe('digestStream', () => {
  it('hashes a stream chunk by chunk and counts its bytes', async () => {
    const digest = await digestStream(chunksOf([104, 101], [108], [108, 111]));
    expect(digest).toEqual({ sha256: sha256('hello'), bytes: 5, gzip: false });
  });

  it('recognises the gzip magic bytes even when they arrive in two chunks', async () => {
    expect((await digestStream(chunksOf([0x1f], [0x8b, 8, 0]))).gzip).toBe(true);
    expect((await digestStream(chunksOf([0x1f], [0x8c]))).gzip).toBe(false);
    expect((await digestStream(chunksOf())).gzip).toBe(false);
  });
});

describe('hasGzipMagic', () => {
  it('is true only for bytes starting 1f 8b', () => {
    expect(hasGzipMagic([0x1f, 0x8b, 0])).toBe(true);
    expect(hasGzipMagic(Buffer.from('id\n'))).toBe(false);
    expect(hasGzipMagic([0x1f])).toBe(false);
  });
});

describe('sha256Hex', () => {
  it('is the hex SHA-256 of the bytes', () => {
    expect(sha256Hex(Buffer.from('hello'))).toBe(sha256('hello'));
  });
});
