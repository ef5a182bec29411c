/**
 * The row count a producer states for a file, which the completeness SLI measures the file against
 * (rows read / rows stated). A producer states it one of three ways:
 *   - the API door's `X-Expected-Rows` request header;
 *   - an upload's S3 user metadata `expected-rows` (`x-amz-meta-expected-rows` on the PUT);
 *   - a trailer line the contract declares (`source.trailer`): the file's last line, matched by a pattern
 *     whose capture group is the count; the transform removes it before reading the rows.
 * The landing doors carry the header or metadata into the bronze object's metadata (`expected-rows`), so
 * the count travels with the bytes it describes. The count is of data rows: a CSV header line and the
 * trailer are not rows.
 */

/** The bronze (and landing upload) user metadata holding the stated count. */
export const EXPECTED_ROWS_METADATA = 'expected-rows';
/** The API door's request header (names are case-insensitive). */
export const EXPECTED_ROWS_HEADER = 'X-Expected-Rows';

/** Decimal digits only: no sign, no exponent, no separators, at most 15 (a safe integer). */
const COUNT = /^\d{1,15}$/;

/** The count in `text` (surrounding spaces allowed), or undefined when it is not a non-negative integer. */
export function parseRowCount(text: string): number | undefined {
  const t = text.trim();
  return COUNT.test(t) ? Number(t) : undefined;
}

/** Why a stated count is refused, naming where it came from and what to send instead. */
export function invalidRowCountReason(where: string, value: string): string {
  const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value;
  return `${where} ${JSON.stringify(shown)} is not a row count: send the number of data rows (digits only, e.g. 1200)`;
}

/**
 * Checks a trailer pattern as a contract declares it: a regular expression with exactly one capture
 * group (the count). Returns the problem, or undefined when it is fine.
 */
export function trailerPatternProblem(pattern: string): string | undefined {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    return `invalid regular expression: ${(e as Error).message}`;
  }
  // A regex's capture groups: match the empty alternative appended to it.
  const groups = new RegExp(`${re.source}|`).exec('')?.length ?? 1;
  if (groups - 1 !== 1)
    return `the pattern must have exactly one capture group (the row count), not ${groups - 1}`;
  return undefined;
}

/** The count a trailer line states, or undefined when the line is not the trailer the pattern describes. */
export function trailerCount(line: string, pattern: string): number | undefined {
  const m = new RegExp(pattern).exec(line);
  return m?.[1] === undefined ? undefined : parseRowCount(m[1]);
}

/** Rows the producer stated but the file did not hold (never negative: extra rows are not missing ones). */
export function missingRows(expected: number, read: number): number {
  return Math.max(0, expected - read);
}
