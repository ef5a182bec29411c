/**
 * Just enough CSV for the smoke sample: read the first records of a sample file with a contract's dialect
 * (delimiter, quote, escape), and write records back in the same dialect.
 */

export interface CsvDialect {
  readonly delimiter: string;
  readonly quote: string;
  /** Escapes a quote inside a quoted field; default: the quote itself (doubled quotes). */
  readonly escape?: string;
}

/** The first `limit` records of `text` (fields as strings; a quoted field may span lines). */
export function readCsvRecords(
  text: string,
  dialect: CsvDialect,
  limit = Number.POSITIVE_INFINITY,
): string[][] {
  const { delimiter, quote } = dialect;
  const escapeChar = dialect.escape ?? quote;
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endRecord = () => {
    record.push(field);
    field = '';
    // A blank line is no record.
    if (!(record.length === 1 && record[0] === '')) records.push(record);
    record = [];
  };
  while (i < text.length && records.length < limit) {
    const c = text[i];
    if (quoted) {
      if (c === escapeChar && text[i + 1] === quote) {
        field += quote;
        i += 2;
      } else if (c === quote) {
        quoted = false;
        i += 1;
      } else {
        field += c;
        i += 1;
      }
    } else if (c === quote) {
      quoted = true;
      i += 1;
    } else if (c === delimiter) {
      record.push(field);
      field = '';
      i += 1;
    } else if (c === '\n' || c === '\r') {
      endRecord();
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      field += c;
      i += 1;
    }
  }
  if (records.length < limit && (field !== '' || record.length > 0)) endRecord();
  return records;
}

/** Records as CSV text, each line ending with `\n`; fields holding the delimiter, a quote or a line break quoted. */
export function writeCsvRecords(records: readonly (readonly string[])[], dialect: CsvDialect): string {
  const { delimiter, quote } = dialect;
  const escapeChar = dialect.escape ?? quote;
  const cell = (value: string) =>
    value.includes(delimiter) || value.includes(quote) || /[\r\n]/.test(value)
      ? `${quote}${value.split(quote).join(`${escapeChar}${quote}`)}${quote}`
      : value;
  return records.map((r) => `${r.map(cell).join(delimiter)}\n`).join('');
}
