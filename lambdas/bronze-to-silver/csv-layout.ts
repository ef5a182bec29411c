/**
 * What DuckDB's CSV reader does not say about a file, found by one streaming pass over it: where each
 * record physically starts, and which records it reads with fields silently dropped.
 *
 * DuckDB numbers records as lines (the header is line 1, a blank line counts, a newline inside a quoted
 * field does not), skips blank lines when a record has two fields or more, and reads a record with more
 * fields than asked for without complaint when every extra field is empty (`x,y,` under `a,b`), while it
 * rejects `x,y,z`. To quarantine with the physical line and to treat both the same, the pass records, in
 * DuckDB's line numbers:
 *
 *  - `blank`: a blank line DuckDB skips (no row, no reject);
 *  - `shift`: from this line on, records start `n` physical lines further down (the newlines inside
 *    quoted fields of the records before);
 *  - `extra`: a record with `n` fields, more than the header (or, without one, the fields read) whose
 *    extra fields are all empty, with its text.
 *
 * Quotes are followed as the reader (and the spool's normalizer) follows them: a quote opens a quoted
 * field only at the start of a field, a doubled quote (or the escape character and the byte after it)
 * inside quotes is data. It jumps between quote and line-feed bytes with `indexOf` (native); a record's
 * fields are split only when its last field is empty. The entries go to an NDJSON file next to the source
 * (most files have none: then no file), so a file with millions of them needs no memory for them.
 */

import { type FileHandle, open } from 'node:fs/promises';
import { MAX_LINE_BYTES } from '../../core/sql/silver-sql';

/** How DuckDB reads the file: the contract's CSV settings and the number of fields it asks for. */
export interface CsvShape {
  readonly delimiter: string;
  readonly quote: string;
  readonly escape: string;
  readonly header: boolean;
  /** Fields per record read (SilverSql's `csvWidth`). */
  readonly width: number;
}

/** The entries found, by kind, and the NDJSON file holding them (absent when there are none). */
export interface CsvLayout {
  readonly file?: string;
  readonly blank: number;
  readonly shift: number;
  readonly extra: number;
}

/** One line of the layout file. */
export interface CsvLayoutEntry {
  readonly kind: 'blank' | 'shift' | 'extra';
  /** DuckDB's line number of the record (header = 1, quoted newlines not counted). */
  readonly line: number;
  /** shift: physical lines added from this line on; extra: the record's field count. */
  readonly n: number;
  /** extra: the record as written. */
  readonly text?: string;
}

const LF = 0x0a;
const CR = 0x0d;
const CHUNK_BYTES = 4 << 20;

/** Scans `file` (already spooled: LF record ends) and writes its layout entries to `layoutFile`. */
export async function scanCsvLayout(file: string, shape: CsvShape, layoutFile: string): Promise<CsvLayout> {
  const scanner = new CsvLayoutScanner(shape);
  const source = await open(file, 'r');
  let out: FileHandle | undefined;
  const flush = async () => {
    const lines = scanner.take();
    if (lines.length === 0) return;
    out ??= await open(layoutFile, 'w');
    await out.write(lines.map((e) => `${JSON.stringify(e)}\n`).join(''));
  };
  try {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await source.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      scanner.feed(buf.subarray(0, bytesRead));
      await flush();
    }
    scanner.end();
    await flush();
  } finally {
    await source.close();
    await out?.close();
  }
  const { blank, shift, extra } = scanner.counts;
  return { ...(out ? { file: layoutFile } : {}), blank, shift, extra };
}

/** The byte of a one-byte character; -1 for anything else (the reader only takes one-byte ones). */
function singleByte(c: string): number {
  const b = Buffer.from(c);
  return b.length === 1 ? (b[0] as number) : -1;
}

/** The scanning state machine, fed chunk by chunk (its state carries across chunk boundaries). */
export class CsvLayoutScanner {
  private readonly quote: number;
  private readonly escapeByte: number;
  private readonly delimiter: number;
  private readonly width: number;
  private readonly header: boolean;
  /** Fields a record may have before it counts as `extra`: the read width, or the header's if wider. */
  private threshold: number;
  private entries: CsvLayoutEntry[] = [];
  readonly counts = { blank: 0, shift: 0, extra: 0 };

  /** DuckDB's line number of the current record. */
  private line = 1;
  /** Newlines inside quotes in the current record; in all records before it. */
  private recordNewlines = 0;
  private shift = 0;
  private inQuotes = false;
  /** Inside quotes, the previous chunk ended on a quote: closing, or the first half of a doubled quote. */
  private quoteAtEnd = false;
  /** Inside quotes, the previous chunk ended on the escape character: the next byte is data. */
  private escapeAtEnd = false;
  /** The byte before the current chunk (LF at the start: the start of the file starts a field). */
  private previousByte = LF;
  /** The current record's bytes from earlier chunks (undefined once past MAX_LINE_BYTES: a reject anyway). */
  private partial: Buffer | undefined = Buffer.alloc(0);
  /** Where the current record starts in the current chunk (-1: in an earlier chunk). */
  private recordStart = 0;

  constructor(shape: CsvShape) {
    this.quote = singleByte(shape.quote);
    this.escapeByte = singleByte(shape.escape);
    this.delimiter = singleByte(shape.delimiter);
    this.width = shape.width;
    this.header = shape.header;
    this.threshold = shape.width;
  }

  /** The entries found since the last call. */
  take(): CsvLayoutEntry[] {
    const taken = this.entries;
    this.entries = [];
    return taken;
  }

  /** Scans the next chunk of the file (the scanner keeps no reference to it once this returns). */
  feed(buf: Buffer): void {
    const len = buf.length;
    if (len === 0) return;
    const { quote, escapeByte: escapeChar } = this;
    const doubled = escapeChar === quote;
    this.recordStart = this.partial !== undefined && this.partial.length === 0 ? 0 : -1;
    let i = 0;
    if (this.quoteAtEnd) {
      this.quoteAtEnd = false;
      if (buf[0] === quote) i = 1;
      else this.inQuotes = false;
    } else if (this.escapeAtEnd) {
      this.escapeAtEnd = false;
      if (buf[0] === LF) this.recordNewlines++;
      i = 1;
    }
    // Next position of each byte of interest at or after i (-1: none left in this chunk; -2: not looked).
    let nextQuote = quote === -1 ? -1 : -2;
    let nextLf = -2;
    let nextEscape = doubled || escapeChar === -1 ? -1 : -2;
    while (i < len) {
      if (nextQuote !== -1 && nextQuote < i) nextQuote = buf.indexOf(quote, i);
      if (nextLf !== -1 && nextLf < i) nextLf = buf.indexOf(LF, i);
      if (!this.inQuotes) {
        if (nextLf === -1 && nextQuote === -1) break;
        if (nextQuote !== -1 && (nextLf === -1 || nextQuote < nextLf)) {
          const before = nextQuote > 0 ? buf[nextQuote - 1] : this.previousByte;
          // Only a quote starting a field opens one; any other is a literal character of its field.
          if (before === this.delimiter || before === LF || before === CR) this.inQuotes = true;
          i = nextQuote + 1;
          continue;
        }
        this.endRecord(buf, nextLf);
        i = nextLf + 1;
        this.recordStart = i;
        continue;
      }
      if (nextEscape !== -1 && nextEscape < i) nextEscape = buf.indexOf(escapeChar, i);
      // Inside quotes: the first of a line feed (data), the escape character, or a quote.
      let next = nextQuote;
      if (nextEscape !== -1 && (next === -1 || nextEscape < next)) next = nextEscape;
      if (nextLf !== -1 && (next === -1 || nextLf < next)) next = nextLf;
      if (next === -1) break;
      if (next === nextLf) {
        this.recordNewlines++;
        i = nextLf + 1;
        continue;
      }
      if (next === nextEscape) {
        // The escaped byte is data, whatever it is.
        if (nextEscape === len - 1) this.escapeAtEnd = true;
        else if (buf[nextEscape + 1] === LF) this.recordNewlines++;
        i = nextEscape + 2;
        continue;
      }
      if (doubled && nextQuote === len - 1) {
        this.quoteAtEnd = true;
        i = len;
      } else if (doubled && buf[nextQuote + 1] === quote) {
        i = nextQuote + 2;
      } else {
        this.inQuotes = false;
        i = nextQuote + 1;
      }
    }
    this.previousByte = buf[len - 1] as number;
    this.keepPartial(buf);
  }

  /** The end of the file: a last record without a line feed. */
  end(): void {
    if (this.partial === undefined || this.partial.length > 0) {
      // The record is all in `partial`: end it as if a line feed followed.
      const rest = this.partial ?? Buffer.alloc(0);
      const lost = this.partial === undefined;
      this.partial = Buffer.alloc(0);
      this.recordStart = 0;
      if (!lost) this.endRecord(Buffer.concat([rest, Buffer.from([LF])]), rest.length);
    }
  }

  /** Carries the unfinished record's bytes to the next chunk (none when it is already too long to matter). */
  private keepPartial(buf: Buffer): void {
    if (this.recordStart >= 0) {
      this.partial = Buffer.from(buf.subarray(this.recordStart));
    } else if (this.partial !== undefined) {
      this.partial =
        this.partial.length + buf.length > MAX_LINE_BYTES + 1
          ? undefined
          : Buffer.concat([this.partial, buf]);
    }
    this.recordStart = -1;
  }

  /** The current record ends at `lf` (a line feed outside quotes) of `buf`. */
  private endRecord(buf: Buffer, lf: number): void {
    if (this.recordStart >= 0) {
      // The common case, a record within the chunk: looked at in place (no Buffer per record).
      const start = this.recordStart;
      // A CR LF record end (in a file the spool has not normalized) ends the record like an LF.
      const end = lf > start && buf[lf - 1] === CR ? lf - 1 : lf;
      if (end === start || (this.header && this.line === 1) || this.lastFieldEmpty(buf, start, end)) {
        this.record(buf.subarray(start, end));
      }
    } else if (this.partial !== undefined) {
      const bytes = Buffer.concat([this.partial, buf.subarray(0, lf)]);
      const end = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
      this.record(bytes.subarray(0, end));
    }
    if (this.recordStart < 0) this.partial = Buffer.alloc(0);
    this.line++;
    if (this.recordNewlines > 0) {
      this.shift += this.recordNewlines;
      this.recordNewlines = 0;
      this.add({ kind: 'shift', line: this.line, n: this.shift });
    }
  }

  /** A whole record (without its line end): blank, the header, or one whose last field may be an extra. */
  private record(record: Buffer): void {
    if (record.length === 0) {
      // With one field per record a blank line is a row (a null value), not skipped.
      if (this.width > 1) this.add({ kind: 'blank', line: this.line, n: 0 });
    } else if (this.header && this.line === 1) {
      this.threshold = Math.max(this.width, fieldCount(record, this.delimiter, this.quote, this.escapeByte));
    } else if (this.lastFieldEmpty(record, 0, record.length)) {
      const fields = fieldCount(record, this.delimiter, this.quote, this.escapeByte, this.width);
      if (fields > this.threshold) {
        this.add({ kind: 'extra', line: this.line, n: fields, text: record.toString('utf8') });
      }
    }
  }

  /**
   * The record `buf[start, end)` ends with an empty field: a delimiter, or `""` after one (a cheap test
   * before splitting it).
   */
  private lastFieldEmpty(buf: Buffer, start: number, end: number): boolean {
    if (end > start && buf[end - 1] === this.delimiter) return true;
    return (
      end - start >= 3 &&
      buf[end - 1] === this.quote &&
      buf[end - 2] === this.quote &&
      buf[end - 3] === this.delimiter
    );
  }

  private add(entry: CsvLayoutEntry): void {
    this.entries.push(entry);
    this.counts[entry.kind]++;
  }
}

/**
 * Fields of one record, split as the reader splits them. With `emptyAfter`, a record with a non-empty
 * field past that many counts as -1: the reader rejects it itself (it only drops empty extra fields).
 */
export function fieldCount(
  record: Buffer,
  delimiter: number,
  quote: number,
  escapeByte: number,
  emptyAfter = Number.POSITIVE_INFINITY,
): number {
  const n = record.length;
  let fields = 0;
  let start = 0;
  for (;;) {
    fields++;
    const quoted = quote !== -1 && record[start] === quote;
    let from = start;
    if (quoted) {
      // To the closing quote: doubled quotes and escaped bytes are data.
      let j = start + 1;
      while (j < n) {
        const b = record[j];
        if (b === escapeByte && escapeByte !== quote && j + 1 < n) j += 2;
        else if (b === quote && escapeByte === quote && record[j + 1] === quote) j += 2;
        else if (b === quote) break;
        else j++;
      }
      from = j + 1;
    }
    const end = record.indexOf(delimiter, from);
    const stop = end === -1 ? n : end;
    // Empty: nothing at all, or `""` and nothing after it.
    const empty = quoted ? from === start + 2 && stop === from : stop === start;
    if (fields > emptyAfter && !empty) return -1;
    if (end === -1) return fields;
    start = end + 1;
  }
}
