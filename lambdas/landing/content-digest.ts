/** What landing learns from a file's bytes before storing them: their hash, size and compression. */
import { createHash } from 'node:crypto';

export interface Digest {
  sha256: string;
  bytes: number;
  /** The content starts with the gzip magic bytes 1f 8b. */
  gzip: boolean;
}

/** Hashes a stream chunk by chunk: memory stays at one chunk whatever the object's size. */
export async function digestStream(body: AsyncIterable<Uint8Array>): Promise<Digest> {
  const hash = createHash('sha256');
  const head: number[] = []; // the first two bytes, which may arrive in different chunks
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    for (let i = 0; head.length < 2 && i < chunk.length; i++) head.push(chunk[i]);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes, gzip: hasGzipMagic(head) };
}

export function hasGzipMagic(bytes: ArrayLike<number>): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
