/**
 * Copies a bronze object to a local scratch file, streaming: the object is never held in memory.
 *
 * On the way it gunzips (when the bytes start with the gzip magic number) with a hard cap on the output,
 * checks that the text is valid UTF-8 (invalid bytes are a whole-file failure, never silently replaced by
 * U+FFFD), and hashes the bytes as stored. The transform engine then reads the local file.
 */

import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

/** A deterministic problem with the file itself: retrying cannot help, so it is quarantined. */
export class FileRejection extends Error {
  constructor(
    readonly code:
      | 'empty'
      | 'encoding'
      | 'compression'
      | 'too-large'
      | 'format'
      | 'header'
      | 'unknown-columns',
    message: string,
  ) {
    super(message);
    this.name = 'FileRejection';
  }
}

export interface SpoolResult {
  /** Bytes read from S3 (compressed size for gzip). */
  readonly storedBytes: number;
  /** Bytes written to the local file (after gunzip). */
  readonly bytes: number;
  /** SHA-256 (hex) of the bytes as stored in bronze. */
  readonly sha256: string;
  readonly gzip: boolean;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/** Length of the incomplete UTF-8 sequence at the end of `buf` (0-3 bytes), carried to the next chunk. */
function incompleteTail(buf: Buffer): number {
  for (let back = 1; back <= Math.min(3, buf.length); back++) {
    const b = buf[buf.length - back] as number;
    if ((b & 0xc0) !== 0x80) {
      // A lead byte: how long its sequence should be.
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      return need > back ? back : 0;
    }
  }
  return 0;
}

/** Passes bytes through, failing at the first invalid UTF-8 sequence or past `maxBytes`. */
class Utf8Guard extends Transform {
  private carry: Buffer = Buffer.alloc(0);
  private offset = 0;
  total = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.total += chunk.length;
    if (this.total > this.maxBytes) {
      done(new FileRejection('too-large', `decompressed size exceeds the cap of ${this.maxBytes} bytes`));
      return;
    }
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const tail = incompleteTail(buf);
    const whole = tail ? buf.subarray(0, buf.length - tail) : buf;
    if (!isUtf8(whole)) {
      done(new FileRejection('encoding', `invalid UTF-8 near byte ${this.offset + firstInvalidUtf8(whole)}`));
      return;
    }
    this.offset += whole.length;
    this.carry = tail ? Buffer.from(buf.subarray(buf.length - tail)) : Buffer.alloc(0);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.carry.length) {
      done(new FileRejection('encoding', `invalid UTF-8: truncated sequence at byte ${this.offset}`));
      return;
    }
    done();
  }
}

/** Offset of the first invalid sequence (only called on the failure path). */
function firstInvalidUtf8(buf: Buffer): number {
  let lo = 0;
  let hi = buf.length;
  // Binary search on prefixes. A prefix may end mid-sequence: decoded with stream: true (and never flushed),
  // that is not an error, so "the prefix has no invalid byte" holds up to the first bad byte and no further.
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, mid + 1), { stream: true });
      lo = mid + 1;
    } catch {
      hi = mid;
    }
  }
  return lo;
}

/** Hashes and counts the stored bytes as they pass. */
class StoredBytesProbe extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

/** A view of the same bytes (no copy). */
const asBuffer = (u: Uint8Array): Buffer =>
  Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** Reads enough chunks to see the gzip magic number, so the pipeline can be chosen, then replays them. */
async function peek(body: AsyncIterable<Uint8Array>): Promise<{ head: Buffer; stream: Readable }> {
  const it = body[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let size = 0;
  let ended = false;
  while (size < GZIP_MAGIC.length) {
    const next = await it.next();
    if (next.done) {
      ended = true;
      break;
    }
    parts.push(asBuffer(next.value));
    size += next.value.length;
  }
  const head = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  async function* replay(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    if (ended) return;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield asBuffer(next.value);
    }
  }
  return { head, stream: Readable.from(replay(), { objectMode: false }) };
}

/**
 * Streams `body` to `file`. Throws `FileRejection` for bad content (encoding, compression, size); other
 * errors (network) propagate as they are, so the caller can retry them.
 */
export async function spoolToFile(
  body: AsyncIterable<Uint8Array>,
  file: string,
  maxDecompressedBytes: number,
): Promise<SpoolResult> {
  const { head, stream } = await peek(body);
  const gzip = head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  const probe = new StoredBytesProbe();
  const guard = new Utf8Guard(maxDecompressedBytes);
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  try {
    if (gzip) await pipeline(stream, probe, createGunzip(), guard, out);
    else await pipeline(stream, probe, guard, out);
  } catch (err) {
    // A failure can come before the file finished opening; it is still created and closed afterwards.
    // Wait for that, so the caller's clean-up of the directory never races with it.
    if (!out.closed) await new Promise<void>((done) => out.once('close', () => done()));
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (gzip && code.startsWith('Z_'))
      throw new FileRejection('compression', `unreadable gzip: ${(err as Error).message}`);
    throw err;
  }
  return { storedBytes: probe.bytes, bytes: guard.total, sha256: probe.hash.digest('hex'), gzip };
}
