/**
 * The row count the producer stated for a bronze object (see `core/lake/expected-rows.ts`): its trailer
 * line when the contract declares one (removed from the spooled file here, so the engine reads rows only),
 * else the `expected-rows` metadata the landing door recorded. A declared trailer that is missing, or a
 * stated count that is not one, rejects the file (quarantined whole, with the reason): a file cut short
 * must not pass as complete, and bronze keeps what was sent.
 */
import { open, truncate } from 'node:fs/promises';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { FileRejection } from '../../core/errors';
import {
  EXPECTED_ROWS_METADATA,
  invalidRowCountReason,
  parseRowCount,
  trailerCount,
} from '../../core/lake/expected-rows';

/** How much of the file's end is read for the trailer: a trailer line longer than this is not one. */
const TRAILER_TAIL_BYTES = 64 * 1024;

/**
 * The stated count of the spooled `file` (undefined: none stated). Removes the trailer line from `file`.
 * `metadata`: the bronze object's user metadata.
 */
export async function statedRowCount(
  file: string,
  source: DatasetContract['source'],
  metadata: Record<string, string> | undefined,
): Promise<number | undefined> {
  if (source.trailer) return takeTrailer(file, source.trailer.pattern);
  const stated = metadata?.[EXPECTED_ROWS_METADATA];
  if (stated === undefined) return undefined;
  const count = parseRowCount(stated);
  if (count === undefined) {
    throw new FileRejection(
      'expected-rows',
      invalidRowCountReason(`the upload's metadata ${EXPECTED_ROWS_METADATA}`, stated),
    );
  }
  return count;
}

/** The trailer's count; the file is cut just before the trailer line. */
async function takeTrailer(file: string, pattern: string): Promise<number> {
  const { line, start, tooLong } = await lastLine(file);
  const count = line === undefined ? undefined : trailerCount(line, pattern);
  if (count === undefined) {
    const shown = tooLong
      ? `the last line is longer than ${TRAILER_TAIL_BYTES / 1024} KB`
      : line === undefined
        ? 'the file has no last line'
        : `the last line is ${quote(line)}`;
    throw new FileRejection(
      'trailer',
      `no trailer: ${shown}, not a line matching source.trailer.pattern ${quote(pattern)}; the file may be cut short: send it again whole`,
    );
  }
  await truncate(file, start);
  return count;
}

/** The last non-blank line of `file` (within its last {@link TRAILER_TAIL_BYTES}) and where it starts. */
async function lastLine(file: string): Promise<{ line?: string; start: number; tooLong?: true }> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const from = Math.max(0, size - TRAILER_TAIL_BYTES);
    const tail = Buffer.alloc(size - from);
    await handle.read(tail, 0, tail.length, from);
    let end = tail.length;
    // Skip the final line feed(s) and blank lines after the trailer.
    while (end > 0 && (tail[end - 1] === 0x0a || tail[end - 1] === 0x0d || tail[end - 1] === 0x20)) end--;
    if (end === 0) return { start: size };
    const lf = tail.lastIndexOf(0x0a, end - 1);
    // A line that starts before the tail read is longer than any trailer.
    if (lf < 0 && from > 0) return { start: size, tooLong: true };
    return { line: tail.subarray(lf + 1, end).toString('utf8'), start: from + lf + 1 };
  } finally {
    await handle.close();
  }
}

const quote = (text: string) => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
