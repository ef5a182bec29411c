/**
 * Copies a bronze object to a local scratch file, streaming: the object is never held in memory.
 *
 * On the way it gunzips (when the bytes start with the gzip magic number) with a hard cap on the output,
 * checks that the text is valid UTF-8 (invalid bytes are a whole-file failure, never silently replaced by
 * U+FFFD), and hashes the bytes as stored. Given the source's format it also normalizes the text so the
 * engine reads every variant as written: a leading UTF-8 BOM is dropped and CRLF record ends become LF
 * (DuckDB's reader fixes one newline style per file, and rejects a file mixing them). A CR LF inside a
 * quoted CSV field is data and stays. And it bounds over-long lines: a few are left to the engine, which
 * quarantines each as a row; past a budget the whole file is rejected, so they cannot run the engine out
 * of memory. The transform engine then reads the local file.
 */

import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { FileRejection } from '../../core/errors';
import { MAX_LINE_BYTES } from '../../core/sql/silver-sql';

export interface SpoolResult {
  /** Bytes read from S3 (compressed size for gzip). */
  readonly storedBytes: number;
  /** Bytes after gunzip (before the BOM and CRLF normalization): the size of the text as sent. */
  readonly bytes: number;
  /** SHA-256 (hex) of the bytes as stored in bronze. */
  readonly sha256: string;
  readonly gzip: boolean;
  /** A leading UTF-8 byte order mark was dropped (only when the source's format was given). */
  readonly bomRemoved: boolean;
  /** CRLF record ends rewritten as LF (only when the source's format was given). */
  readonly crlfRecordEnds: number;
}

/**
 * How many bytes of over-long lines (each over `MAX_LINE_BYTES`) a file may hold and still be read. DuckDB
 * rejects each such record as one 'parse' row (quarantined, the rows around it land) but keeps all of it
 * in its rejects table: a few cost little, many, or one huge, would run the engine out of memory on every
 * retry until the message is dead-lettered. Measured with a 256 MB engine: 5 lines of 10 MB pass (+141 MB
 * RSS), 20 fail.
 */
export const OVERLONG_LINES_BUDGET_BYTES = 32 * 1024 * 1024;

/** Over-long lines (CSV, NDJSON): longer than `maxLineBytes` each, at most `overLongBudgetBytes` in all. */
export interface SpoolLineLimits {
  readonly maxLineBytes: number;
  readonly overLongBudgetBytes: number;
}

/** What the spool needs to know of the source to normalize it: its format and CSV quoting. */
export type SourceText = Pick<DatasetContract['source'], 'format'> & {
  readonly csv?: Partial<Pick<DatasetContract['source']['csv'], 'delimiter' | 'quote' | 'escape'>>;
};

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

/**
 * Passes bytes through, failing at the first invalid UTF-8 sequence, past `maxBytes`, or (given line
 * limits) once over-long lines add up past their budget. It visits every line feed anyway, to name the
 * line of an error, so bounding line lengths costs nothing more. Over-long lines are stopped while
 * streaming: a 1 GB line is rejected at the budget, not read to its end. Lines are physical lines (a quoted
 * CSV field spanning many short lines is left to the engine, which still rejects it as one row).
 */
class TextGuard extends Transform {
  private carry: Buffer = Buffer.alloc(0);
  private offset = 0;
  private lineFeeds = 0;
  private lineStart = 0;
  private overLongBytes = 0;
  private overLongLines = 0;
  private firstOverLong: number | undefined;
  total = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly lineLimits: SpoolLineLimits | undefined,
  ) {
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
      const bad = sequenceStart(whole, firstInvalidUtf8(whole));
      const line = this.lineFeeds + countLineFeeds(whole.subarray(0, bad)) + 1;
      done(new FileRejection('encoding', `invalid UTF-8 at line ${line}, byte ${this.offset + bad}`));
      return;
    }
    const limits = this.lineLimits;
    for (let p = whole.indexOf(LF); p !== -1; p = whole.indexOf(LF, p + 1)) {
      if (limits && this.overLong(this.offset + p - this.lineStart, limits)) {
        done(this.lineRejection(limits, this.overLongLines));
        return;
      }
      this.lineFeeds++;
      this.lineStart = this.offset + p + 1;
    }
    this.offset += whole.length;
    // The line still open counts as soon as it alone would pass the budget: a huge line is stopped here.
    const open = this.offset - this.lineStart;
    if (limits && open > limits.maxLineBytes && this.overLongBytes + open > limits.overLongBudgetBytes) {
      this.firstOverLong ??= this.lineFeeds + 1;
      done(this.lineRejection(limits, this.overLongLines + 1));
      return;
    }
    this.carry = tail ? Buffer.from(buf.subarray(buf.length - tail)) : Buffer.alloc(0);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.carry.length) {
      done(
        new FileRejection(
          'encoding',
          `invalid UTF-8: truncated sequence at line ${this.lineFeeds + 1}, byte ${this.offset}`,
        ),
      );
      return;
    }
    const limits = this.lineLimits;
    if (limits && this.overLong(this.offset - this.lineStart, limits)) {
      done(this.lineRejection(limits, this.overLongLines));
      return;
    }
    done();
  }

  /** Accounts a finished line of `length` bytes; true when the over-long ones now pass the budget. */
  private overLong(length: number, limits: SpoolLineLimits): boolean {
    if (length <= limits.maxLineBytes) return false;
    this.overLongBytes += length;
    this.overLongLines++;
    this.firstOverLong ??= this.lineFeeds + 1;
    return this.overLongBytes > limits.overLongBudgetBytes;
  }

  private lineRejection(limits: SpoolLineLimits, lines: number): FileRejection {
    return new FileRejection(
      'too-large',
      `${lines} line(s) longer than ${limits.maxLineBytes} bytes (the first at line ${this.firstOverLong}) add up to more than ${limits.overLongBudgetBytes} bytes: too many to quarantine row by row`,
    );
  }
}

const LF = 0x0a;
const CR = 0x0d;

function countLineFeeds(buf: Buffer): number {
  let n = 0;
  for (let p = buf.indexOf(LF); p !== -1; p = buf.indexOf(LF, p + 1)) n++;
  return n;
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

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Drops a leading BOM and rewrites CRLF record ends as LF, so LF, CRLF and mixed files read the same.
 * Record numbers do not change (no line is added or removed), so quarantine line numbers stay right.
 *
 * CSV: only outside quoted fields (a CR LF inside quotes is data). Quotes are followed as DuckDB's reader
 * reads them: a quote opens a quoted field only at the start of a field (elsewhere, as in `5" screen`, it is
 * a literal), a doubled quote (or the contract's escape character) inside quotes is data, and the state
 * carries across chunks. NDJSON: everywhere (JSON text cannot hold a raw CR or LF inside a string). JSON
 * arrays: BOM only (CR is whitespace there). Scanning jumps between quote and CR bytes with `indexOf`
 * (native), and a chunk without a record-end CR passes through uncopied.
 */
class TextNormalizer extends Transform {
  /** Quote byte (-1: no quoting, as in NDJSON); escape byte (equal to `quoteByte` when quotes are doubled). */
  private readonly quoteByte: number;
  private readonly escapeByte: number;
  private readonly delimiterByte: number;
  private readonly crlf: boolean;
  /** The first bytes, held until it is known whether they are a BOM. */
  private head: Buffer | undefined = Buffer.alloc(0);
  /** The byte before the current chunk (LF at the start: the start of the file is the start of a field). */
  private previousByte = LF;
  private inQuotes = false;
  /** Inside quotes, the previous chunk ended on a quote: closing, or the first half of a doubled quote. */
  private quoteAtEnd = false;
  /** Inside quotes, the previous chunk ended on the escape character: the next byte is data. */
  private escapeAtEnd = false;
  /** Outside quotes, the previous chunk ended on a CR, held back until the next byte shows whether an LF follows. */
  private heldCr = false;
  bomRemoved = false;
  crlfRecordEnds = 0;

  constructor(source: SourceText) {
    super();
    const single = (c: string | undefined): number => {
      const b = Buffer.from(c ?? '');
      return b.length === 1 ? (b[0] as number) : -1;
    };
    const csv = source.format === 'csv';
    this.quoteByte = csv ? single(source.csv?.quote ?? '"') : -1;
    this.escapeByte = csv ? single(source.csv?.escape ?? source.csv?.quote ?? '"') : -1;
    this.delimiterByte = csv ? single(source.csv?.delimiter ?? ',') : -1;
    // Multi-byte quote, escape or delimiter characters cannot be followed byte-wise: leave such files as
    // they are (DuckDB only takes single-byte ones anyway).
    const followable = this.quoteByte !== -1 && this.escapeByte !== -1 && this.delimiterByte !== -1;
    this.crlf = source.format === 'ndjson' || (csv && followable);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let buf = chunk;
    if (this.head) {
      buf = this.head.length ? Buffer.concat([this.head, chunk]) : chunk;
      if (buf.length < BOM.length && BOM.subarray(0, buf.length).equals(buf)) {
        this.head = buf;
        done();
        return;
      }
      this.head = undefined;
      if (buf.subarray(0, BOM.length).equals(BOM)) {
        this.bomRemoved = true;
        buf = buf.subarray(BOM.length);
      }
    }
    done(null, this.crlf && buf.length > 0 ? this.recordEnds(buf) : buf);
  }

  override _flush(done: TransformCallback): void {
    if (this.head?.length) this.push(this.head);
    if (this.heldCr) this.push(Buffer.from([CR]));
    done();
  }

  /** The chunk (not empty) with its record-end CRs removed (the same buffer when there are none). */
  private recordEnds(buf: Buffer): Buffer {
    const len = buf.length;
    const { quoteByte: quote, escapeByte: escapeChar, delimiterByte: delimiter } = this;
    const doubled = escapeChar === quote;
    // The output is only allocated once a CR is dropped; pieces are copied into it (no Buffer per piece).
    let out: Buffer | undefined;
    let written = 0;
    let from = 0;
    const keep = (end: number) => {
      out ??= Buffer.allocUnsafe(len + 1);
      written += buf.copy(out, written, from, end);
    };
    let i = 0;
    if (this.heldCr) {
      this.heldCr = false;
      if (buf[0] === LF) this.crlfRecordEnds++;
      else {
        out = Buffer.allocUnsafe(len + 1);
        out[0] = CR;
        written = 1;
      }
    } else if (this.quoteAtEnd) {
      this.quoteAtEnd = false;
      if (buf[0] === quote) i = 1;
      else this.inQuotes = false;
    } else if (this.escapeAtEnd) {
      this.escapeAtEnd = false;
      i = 1;
    }
    // Next position of each byte of interest at or after i (-1: none left in this chunk; -2: not looked).
    let nextQuote = quote === -1 ? -1 : -2;
    let nextCr = -2;
    let nextEscape = doubled ? -1 : -2;
    while (i < len) {
      if (nextQuote !== -1 && nextQuote < i) nextQuote = buf.indexOf(quote, i);
      if (!this.inQuotes) {
        if (nextCr !== -1 && nextCr < i) nextCr = buf.indexOf(CR, i);
        if (nextCr === -1 && nextQuote === -1) break;
        if (nextQuote !== -1 && (nextCr === -1 || nextQuote < nextCr)) {
          const before = nextQuote > 0 ? buf[nextQuote - 1] : this.previousByte;
          // Only a quote starting a field opens one; any other is a literal character of its field.
          if (before === delimiter || before === LF || before === CR) this.inQuotes = true;
          i = nextQuote + 1;
          continue;
        }
        const cr = nextCr;
        i = cr + 1;
        if (cr === len - 1) {
          keep(cr);
          from = len;
          this.heldCr = true;
        } else if (buf[cr + 1] === LF) {
          keep(cr);
          from = cr + 1;
          this.crlfRecordEnds++;
        }
        continue;
      }
      if (nextEscape !== -1 && nextEscape < i) nextEscape = buf.indexOf(escapeChar, i);
      if (nextQuote === -1 && nextEscape === -1) break;
      if (nextEscape !== -1 && (nextQuote === -1 || nextEscape < nextQuote)) {
        // The escaped byte is data, whatever it is.
        if (nextEscape === len - 1) this.escapeAtEnd = true;
        i = nextEscape + 2;
        continue;
      }
      const q = nextQuote;
      if (doubled && q === len - 1) {
        this.quoteAtEnd = true;
        i = len;
      } else if (doubled && buf[q + 1] === quote) {
        i = q + 2;
      } else {
        this.inQuotes = false;
        i = q + 1;
      }
    }
    this.previousByte = buf[len - 1] as number;
    if (!out) return buf;
    keep(len);
    return out.subarray(0, written);
  }
}

/**
 * Where the broken sequence that `bad` ends starts: 'é' in Latin-1 (E9) followed by ',' is only found
 * invalid at the ',', but the byte to point a person at is the E9.
 */
function sequenceStart(buf: Buffer, bad: number): number {
  for (let back = 1; back <= 3 && bad - back >= 0; back++) {
    const b = buf[bad - back] as number;
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    // A lead byte whose sequence is already complete before `bad` is not part of the error.
    return need > back ? bad - back : bad;
  }
  return bad;
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
    let drained = ended;
    try {
      if (head.length) yield head;
      while (!drained) {
        const next = await it.next();
        if (next.done) drained = true;
        else yield asBuffer(next.value);
      }
    } finally {
      // Stopped early (the file was rejected): close the source, so its HTTP response is not left open.
      if (!drained) await it.return?.();
    }
  }
  return { head, stream: Readable.from(replay(), { objectMode: false }) };
}

/**
 * Streams `body` to `file`. Throws `FileRejection` for bad content (encoding, compression, size); other
 * errors (network) propagate as they are, so the caller can retry them. With `source`, the text is
 * normalized on the way (BOM, CRLF record ends) and over-long lines are bounded (`TextGuard`);
 * without it the bytes are copied as they are.
 */
export async function spoolToFile(
  body: AsyncIterable<Uint8Array>,
  file: string,
  maxDecompressedBytes: number,
  source?: SourceText,
  limits: SpoolLineLimits = {
    maxLineBytes: MAX_LINE_BYTES,
    overLongBudgetBytes: OVERLONG_LINES_BUDGET_BYTES,
  },
): Promise<SpoolResult> {
  const { head, stream } = await peek(body);
  const gzip = head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  const probe = new StoredBytesProbe();
  // A JSON array may well be one long line (the engine reads it by object): lines are bounded for CSV and
  // NDJSON only.
  const lined = source !== undefined && source.format !== 'json';
  const guard = new TextGuard(maxDecompressedBytes, lined ? limits : undefined);
  const text = source ? new TextNormalizer(source) : undefined;
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  const stages: NodeJS.ReadWriteStream[] = [probe, ...(gzip ? [createGunzip()] : []), guard];
  if (text) stages.push(text);
  try {
    await pipeline([stream, ...stages, out]);
  } catch (err) {
    // A failure can come before the file finished opening; it is still created and closed afterwards.
    // Wait for that, so the caller's clean-up of the directory never races with it.
    if (!out.closed) await new Promise<void>((done) => out.once('close', () => done()));
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (gzip && code.startsWith('Z_'))
      throw new FileRejection('compression', `unreadable gzip: ${(err as Error).message}`);
    throw err;
  }
  return {
    storedBytes: probe.bytes,
    bytes: guard.total,
    sha256: probe.hash.digest('hex'),
    gzip,
    bomRemoved: text?.bomRemoved ?? false,
    crlfRecordEnds: text?.crlfRecordEnds ?? 0,
  };
}
