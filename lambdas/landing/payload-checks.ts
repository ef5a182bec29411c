/**
 * What an API body holds, checked before anything is stored.
 *
 * The checks are structural only: the body parses, each record is an object, required columns are
 * present, and each value has a JSON type the column's declared type can be read from. Range, pattern,
 * enum and format rules stay in silver, where a row that breaks them is quarantined with its line and
 * rule while the rest of the file goes on; here one bad record refuses the whole request (400) and the
 * producer resends it fixed, so nothing lands half-understood.
 */
import { isUtf8 } from 'node:buffer';
import { gunzipSync } from 'node:zlib';
import { mapCsvHeader } from '../../core/contracts/column-mapping';
import type { ColumnType, DatasetContract } from '../../core/contracts/dataset-contract';
import { LandingError } from '../../core/errors';
import { parseJson } from './parse-json';

/** How many schema problems a 400 lists (the total is counted). */
const MAX_LISTED_PROBLEMS = 5;

/** The body as text: gunzipped within `maxBytes` (a small body may inflate enormously), UTF-8, no BOM. */
export function payloadText(body: Buffer, gzip: boolean, maxBytes: number, file: string): string {
  let bytes = body;
  if (gzip) {
    try {
      bytes = gunzipSync(body, { maxOutputLength: maxBytes });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new LandingError(
          413,
          `${file}: the gzip body decompresses to more than ${maxBytes} bytes: upload large files to the landing bucket`,
        );
      }
      throw new LandingError(400, `${file}: the gzip body cannot be decompressed: ${(e as Error).message}`);
    }
  }
  if (!isUtf8(bytes)) throw new LandingError(400, `${file}: the body is not valid UTF-8 text`);
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function checkPayload(contract: DatasetContract, text: string, file: string): void {
  const format = contract.source.format;
  if (format === 'csv') {
    checkCsvHeader(contract, text, file);
    return;
  }
  const problems = new SchemaProblems(contract);
  if (format === 'ndjson') {
    // Record n is line n: blank lines are allowed (silver skips them) and keep the numbering.
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() === '') continue;
      problems.check(parseJson(lines[i], `${file}: line ${i + 1} is not valid JSON`), i + 1);
    }
    if (problems.records === 0) throw new LandingError(400, `${file}: no JSON record in the body`);
  } else {
    const document = parseJson(text, `${file}: not valid JSON`);
    if (!Array.isArray(document)) {
      throw new LandingError(
        400,
        `${file}: dataset '${contract.dataset}' takes a JSON array of objects, got ${jsonKind(document)}`,
      );
    }
    for (const [i, record] of document.entries()) problems.check(record, i + 1);
  }
  problems.throwIfAny(file);
}

/** Collects `record <n>: column '<c>' <rule>` problems, listing the first few and counting the rest. */
class SchemaProblems {
  records = 0;
  private total = 0;
  private readonly listed: string[] = [];

  constructor(private readonly contract: DatasetContract) {}

  check(record: unknown, n: number): void {
    this.records++;
    if (jsonKind(record) !== 'an object') {
      this.add(`record ${n}: not a JSON object (got ${jsonKind(record)})`);
      return;
    }
    const fields = record as Record<string, unknown>;
    for (const column of this.contract.columns) {
      const field = column.from ?? column.name;
      const value = Object.hasOwn(fields, field) ? fields[field] : undefined;
      if (value === undefined || value === null) {
        if (column.required) {
          this.add(`record ${n}: column '${field}' is required but ${value === null ? 'null' : 'missing'}`);
        }
        continue;
      }
      const kind = jsonKind(value);
      if (!readableAs(column.type).includes(kind)) {
        this.add(`record ${n}: column '${field}' is ${column.typeText}, got ${kind}`);
      }
    }
  }

  throwIfAny(file: string): void {
    if (this.total === 0) return;
    const more = this.total - this.listed.length;
    throw new LandingError(
      400,
      `${file}: ${this.total} problem(s) against the contract of dataset '${this.contract.dataset}': ` +
        `${this.listed.join('; ')}${more > 0 ? `; and ${more} more` : ''}`,
    );
  }

  private add(problem: string): void {
    this.total++;
    if (this.listed.length < MAX_LISTED_PROBLEMS) this.listed.push(problem);
  }
}

type JsonKind = 'a string' | 'a number' | 'a boolean' | 'an object' | 'an array' | 'null';

function jsonKind(value: unknown): JsonKind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}` as JsonKind;
}

/**
 * JSON types a column's value may have. Silver reads every value as text and casts it, so a number in a
 * string ("12.50") is fine, and a string that does not cast is a row-level 'type' quarantine there.
 */
function readableAs(type: ColumnType): readonly JsonKind[] {
  switch (type.kind) {
    case 'string':
      return ['a string', 'a number', 'a boolean'];
    case 'boolean':
      return ['a boolean', 'a string'];
    case 'date':
    case 'timestamp':
      return ['a string'];
    default:
      return ['a number', 'a string'];
  }
}

/** CSV: the header must name every required column (matched as the transform matches them). */
function checkCsvHeader(contract: DatasetContract, text: string, file: string): void {
  const csv = contract.source.csv;
  if (!csv.header) return;
  const header = csvFirstRecord(text, csv);
  if (header.length === 0) throw new LandingError(400, `${file}: the CSV header line is empty`);
  const mapping = mapCsvHeader(contract, header);
  const missing = contract.columns.filter((c) => c.required && mapping.sources.get(c.name) === undefined);
  if (missing.length > 0) {
    throw new LandingError(
      400,
      `${file}: the CSV header lacks required column(s) of dataset '${contract.dataset}': ` +
        `${missing.map((c) => c.from ?? c.name).join(', ')} (header: ${header.join(', ')})`,
    );
  }
}

/** The fields of the first CSV record, trimmed, without trailing empty ones (as the transform reads it). */
function csvFirstRecord(text: string, csv: { delimiter: string; quote: string; escape?: string }): string[] {
  const escapeChar = csv.escape ?? csv.quote;
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === escapeChar && text[i + 1] === csv.quote) {
        field += csv.quote;
        i++;
      } else if (c === csv.quote) quoted = false;
      else field += c;
    } else if (c === csv.quote) quoted = true;
    else if (c === csv.delimiter) {
      fields.push(field);
      field = '';
    } else if (c === '\n') break;
    else field += c;
  }
  fields.push(field);
  const names = fields.map((f) => f.trim());
  while (names.length > 0 && names[names.length - 1] === '') names.pop();
  return names;
}
