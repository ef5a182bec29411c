/**
 * Turns a data contract into the SQL that validates a bronze file and writes silver, run by DuckDB.
 *
 * Every value is read as text, then, per column and in this order: normalized (trim/upper/lower, empty
 * string -> null), cast strictly to the contract type, and checked. The first rule a row breaks is its
 * `_violation` ('<column>|<rule>'); rows without one are de-duplicated and written to silver, rows with one
 * go to quarantine with a message. The same relation is scanned by each pass (count, silver, quarantine),
 * because re-reading the file is cheaper than materializing it (measured: ~0.2 s vs ~0.6 s per 1M rows).
 */
import type { ColumnMapping } from '../contracts/column-mapping';
import type { ContractColumn, DatasetContract } from '../contracts/dataset-contract';
import { sqlString, sqlStringBody } from './quote';
import { type LineageColumn, silverSchema } from './silver-schema';
import { sqlType } from './types';

/**
 * Longest record accepted (longer ones are rejected as 'parse' rows). DuckDB sizes its read buffer at 16x
 * this, so it is also what bounds the engine's memory per scan: 2 MiB -> 32 MiB buffers.
 */
export const MAX_LINE_BYTES = 2 * 1024 * 1024;

/**
 * How much of an over-long record the quarantine keeps as its `text`: enough to find and recognize it (the
 * line number says where it is, and bronze keeps every byte), without copying megabytes per bad line.
 */
export const OVERLONG_TEXT_CHARS = 1024;
const OVERLONG = `'LINE SIZE OVER MAXIMUM'`;
/**
 * The violation of a record with more fields than the header, all extra ones empty (the reader keeps it,
 * dropping them): quarantined as rule 'parse', as the reader's own TOO MANY COLUMNS rejects are.
 */
const EXTRA_FIELDS = '|parse';
const jsonPath = (name: string): string => sqlString(`$."${name.replace(/["\\]/g, (c) => `\\${c}`)}"`);

/** What the transform knows about the file before building SQL. */
export interface SourceFile {
  readonly path: string;
  /** CSV: the header's field names, in order (empty when the contract says there is no header). */
  readonly header: string[];
  /**
   * CSV: how many entries of each kind the file's layout has (see {@link CSV_LAYOUT}), once loaded with
   * {@link SilverSql.layoutLoadSql}; absent or all zero: none.
   */
  readonly layout?: CsvLayoutCounts;
}

/**
 * The temp table of what DuckDB's CSV reader does not say about a file, in its line numbers (records,
 * the header is line 1, a newline inside quotes does not count), found by a pass over the file
 * (`lambdas/bronze-to-silver/csv-layout.ts`): `kind` 'blank' (a blank line the reader skips), 'shift' (from
 * `line` on, records start `n` physical lines further down) or 'extra' (a record of `n` fields, more than
 * the header, whose extra fields are empty: the reader drops them without a word; `text` is the record).
 */
export const CSV_LAYOUT = 'csv_layout';

export interface CsvLayoutCounts {
  readonly blank: number;
  readonly shift: number;
  readonly extra: number;
}

export interface LineageValues {
  readonly bronzeKey: string;
  readonly ingestedAt: Date;
  readonly piiSalt: string;
}

export const RULES = ['required', 'type', 'min', 'max', 'allowed', 'regex', 'maxLength'] as const;
export type Rule = (typeof RULES)[number] | 'parse';

const raw = (c: ContractColumn) => `"r_${c.name}"`;
const norm = (c: ContractColumn) => `"n_${c.name}"`;
const typed = (c: ContractColumn) => `"t_${c.name}"`;

function normalizeExpr(c: ContractColumn): string {
  let e = raw(c);
  for (const step of c.normalize) e = `${step}(${e})`;
  return `nullif(${e}, '')`;
}

/** Integers must look like integers: DuckDB's own cast would round '1.5' and accept '1e3'. */
const INTEGER_TEXT = sqlString('^\\s*[+-]?[0-9]+\\s*$');
/** Plain decimal notation only: DuckDB's DOUBLE cast also takes '1_000', 'nan' and 'inf'. */
const DOUBLE_TEXT = sqlString('^\\s*[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?\\s*$');
/** At most `scale` significant fraction digits: DuckDB's DECIMAL cast rounds '19.999' to 20.00. */
const decimalText = (scale: number): string =>
  sqlString(
    scale === 0
      ? '^\\s*[+-]?([0-9]+(\\.0*)?|\\.0+)\\s*$'
      : `^\\s*[+-]?([0-9]+(\\.[0-9]{0,${scale}}0*)?|\\.[0-9]{1,${scale}}0*)\\s*$`,
  );
/** An offset after a time of day (a bare date such as '2026-11-01' must not read '-01' as an offset). */
const ISO_DATE_TEXT = sqlString('^\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\\s*$');
const HAS_OFFSET = sqlString('[T ][0-9:.,]+\\s*([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$');

function castExpr(c: ContractColumn): string {
  const n = norm(c);
  switch (c.type.kind) {
    case 'string':
      return n;
    case 'int32':
    case 'int64':
      return `CASE WHEN regexp_matches(${n}, ${INTEGER_TEXT}) THEN try_cast(${n} AS ${sqlType(c)}) END`;
    case 'double':
      return `CASE WHEN regexp_matches(${n}, ${DOUBLE_TEXT}) THEN (SELECT CASE WHEN isfinite(d) THEN d END FROM (SELECT try_cast(${n} AS DOUBLE) AS d)) END`;
    case 'decimal':
      return `CASE WHEN regexp_matches(${n}, ${decimalText(c.type.scale)}) THEN try_cast(${n} AS ${sqlType(c)}) END`;
    case 'boolean':
      return `try_cast(${n} AS ${sqlType(c)})`;
    case 'date':
      // A plain date must be exactly YYYY-MM-DD: DuckDB's cast would drop a time part ('2026-11-01 10:00').
      return c.format
        ? `try_strptime(${n}, ${sqlString(c.format)})::DATE`
        : `CASE WHEN regexp_matches(${n}, ${ISO_DATE_TEXT}) THEN try_cast(${n} AS DATE) END`;
    case 'timestamp': {
      const tz = c.timezone && c.timezone !== 'UTC' ? c.timezone : undefined;
      if (c.format) {
        const parsed = `try_strptime(${n}, ${sqlString(c.format)})`;
        // A format with %z yields an instant; without it, a wall-clock time in the column's zone.
        if (c.format.includes('%z')) return parsed;
        return tz ? `timezone(${sqlString(tz)}, ${parsed})` : `${parsed}::TIMESTAMPTZ`;
      }
      if (!tz) return `try_cast(${n} AS TIMESTAMPTZ)`;
      return `CASE WHEN regexp_matches(${n}, ${HAS_OFFSET}) THEN try_cast(${n} AS TIMESTAMPTZ) ELSE timezone(${sqlString(tz)}, try_cast(${n} AS TIMESTAMP)) END`;
    }
  }
}

function literalFor(c: ContractColumn, v: string | number | boolean): string {
  switch (c.type.kind) {
    case 'date':
      return `DATE ${sqlString(String(v))}`;
    case 'timestamp':
      return `TIMESTAMPTZ ${sqlString(String(v))}`;
    case 'string':
      return sqlString(String(v));
    case 'boolean':
      return String(v === true || v === 'true');
    default:
      return typeof v === 'number' ? String(v) : `${sqlString(String(v))}::${sqlType(c)}`;
  }
}

/** The rules of one column as (condition, rule, message) triples, in evaluation order. */
function columnRules(c: ContractColumn): { when: string; rule: Rule; message: string }[] {
  const n = norm(c);
  const t = typed(c);
  const out: { when: string; rule: Rule; message: string }[] = [];
  const shown = `coalesce('''' || ${raw(c)} || '''', 'null')`;
  if (c.required) out.push({ when: `${n} IS NULL`, rule: 'required', message: `'a value is required'` });
  out.push({
    when: `${n} IS NOT NULL AND ${t} IS NULL`,
    rule: 'type',
    message: `${shown} || ' is not a valid ${c.typeText}${c.format ? ` (format ${sqlStringBody(c.format)})` : ''}'`,
  });
  const k = c.checks ?? {};
  if (k.min !== undefined) {
    out.push({
      when: `${t} < ${literalFor(c, k.min)}`,
      rule: 'min',
      message: `${shown} || ' is below the minimum ${k.min}'`,
    });
  }
  if (k.max !== undefined) {
    out.push({
      when: `${t} > ${literalFor(c, k.max)}`,
      rule: 'max',
      message: `${shown} || ' is above the maximum ${k.max}'`,
    });
  }
  if (k.allowed) {
    const list = k.allowed.map((v) => literalFor(c, v)).join(', ');
    const listText = sqlStringBody(k.allowed.join(', '));
    out.push({
      when: `${t} NOT IN (${list})`,
      rule: 'allowed',
      message: `${shown} || ' is not one of: ${listText}'`,
    });
  }
  if (k.regex !== undefined) {
    out.push({
      when: `NOT regexp_full_match(${t}, ${sqlString(k.regex)})`,
      rule: 'regex',
      message: `${shown} || ' does not match ${sqlStringBody(k.regex)}'`,
    });
  }
  if (k.maxLength !== undefined) {
    out.push({
      when: `length(${t}) > ${k.maxLength}`,
      rule: 'maxLength',
      message: `${shown} || ' is longer than ${k.maxLength} characters'`,
    });
  }
  return out;
}

/** `pii: hash`: the salted SHA-256 of a text value, as hex (null stays null). */
const hashExpr = (text: string, salt: string): string => `sha256(${sqlString(salt)} || ${text})`;

function piiExpr(c: ContractColumn, salt: string): string {
  const t = typed(c);
  switch (c.pii) {
    case 'hash':
      return hashExpr(t, salt);
    case 'mask':
      return `CASE WHEN length(${t}) <= 4 THEN repeat('*', length(${t})) ELSE repeat('*', length(${t}) - 4) || right(${t}, 4) END`;
    default:
      return t;
  }
}

/** The temp table holding one validated row per source record, in file order (so `rowid` is the ordinal). */
const STAGED = 'staged';
const REJECTS = 'rejects';
const LOSERS = 'losers';

/**
 * Builds every statement the transform runs for one file.
 *
 * The file is read once, in parallel, into the temp table `staged`: typed values, `_violation`, `_extra`,
 * `_blank` (NDJSON blank lines), and the raw values of rejected rows only. DuckDB preserves insertion order,
 * so `rowid` is the record's ordinal. Every later statement reads that table: counts, duplicate losers
 * (a small anti-join set instead of a window over every row), partitioned Parquet, quarantine.
 */
export class SilverSql {
  private readonly hasHeader: boolean;
  private readonly json: boolean;

  constructor(
    private readonly contract: DatasetContract,
    private readonly file: SourceFile,
    private readonly mapping: ColumnMapping,
    private readonly lineage: LineageValues,
  ) {
    this.hasHeader = contract.source.format === 'csv' && contract.source.csv.header;
    this.json = contract.source.format !== 'csv';
  }

  private readExpr(): string {
    const { contract, file } = this;
    const path = sqlString(file.path);
    const rejects = `store_rejects = true, rejects_table = '${REJECTS}', rejects_scan = '${REJECTS}_scan'`;
    if (contract.source.format === 'csv') {
      const csv = contract.source.csv;
      const cols = Array.from({ length: this.csvWidth() }, (_, i) => `'c${i}': 'VARCHAR'`).join(', ');
      return `SELECT false AS _blank, * FROM read_csv(${path}, header = ${csv.header}, auto_detect = false,
        delim = ${sqlString(csv.delimiter)}, quote = ${sqlString(csv.quote)}, escape = ${sqlString(csv.escape ?? csv.quote)},
        columns = {${cols}}, max_line_size = ${MAX_LINE_BYTES}, ${rejects})`;
    }
    if (contract.source.format === 'ndjson') {
      // One record a line. \x01 cannot appear raw in valid JSON, so as a "delimiter" it never splits a record.
      // Blank lines stay in (flagged) so that rowid + 1 is the line number.
      return `SELECT (line IS NULL OR trim(line) = '') AS _blank, line AS _j FROM read_csv(${path}, header = false,
        auto_detect = false, columns = {'line': 'VARCHAR'}, delim = '\u0001', quote = '', escape = '',
        max_line_size = ${MAX_LINE_BYTES}, ${rejects})`;
    }
    return `SELECT false AS _blank, json::VARCHAR AS _j FROM read_json_objects(${path}, format = 'array')`;
  }

  /** Fields per CSV record the reader reads: the header's, or as many as the contract's positions need. */
  csvWidth(): number {
    const positions = [...this.mapping.sources.values()].map((p) => (typeof p === 'number' ? p + 1 : 0));
    return Math.max(this.file.header.length, this.contract.columns.length, ...positions);
  }

  /** A rejected row's raw value of a column, as stored in `_raw`. */
  private rawRef(c: ContractColumn): string {
    if (this.json) return `_raw.r_${c.name}`;
    const pos = this.mapping.sources.get(c.name);
    return pos === undefined ? 'NULL::VARCHAR' : `_raw.c${pos}`;
  }

  private rawColumns(): string[] {
    const { contract, mapping } = this;
    if (this.json) {
      const paths = contract.columns.map((c) => jsonPath(mapping.sources.get(c.name) as string)).join(', ');
      return [
        `CASE WHEN _json_ok THEN json_extract_string(_j, [${paths}]) END AS _vals`,
        ...contract.columns.map((c, i) => `_vals[${i + 1}] AS ${raw(c)}`),
      ];
    }
    return contract.columns.map((c) => {
      const pos = mapping.sources.get(c.name);
      return `${pos === undefined ? 'NULL::VARCHAR' : `c${pos}`} AS ${raw(c)}`;
    });
  }

  /** JSON: the record minus every declared key (RFC 7396 merge patch with nulls removes keys). */
  private extraJsonExpr(): string {
    const known = this.contract.columns.map(
      (c) => `${sqlString(String(this.mapping.sources.get(c.name)))}, NULL`,
    );
    return `json_merge_patch(_j, json_object(${known.join(', ')}))`;
  }

  /** The validated relation, as a subquery (read once, into `staged`). */
  private validated(): string {
    const { contract, mapping, json } = this;
    // CASE, not AND: DuckDB evaluates both sides of an AND, and json_type() throws on malformed JSON.
    const jsonOk = json
      ? `, CASE WHEN NOT _blank AND json_valid(_j) THEN json_type(_j) = 'OBJECT' ELSE false END AS _json_ok`
      : '';
    // `_extra` is read only to keep unknown fields (keep) or to count them (JSON under reject; CSV rejects
    // at the header): under `ignore` it is not built for every row.
    const policy = contract.unknownColumns;
    const extra = json
      ? policy !== 'ignore'
        ? `, CASE WHEN _json_ok THEN nullif(${this.extraJsonExpr()}::VARCHAR, '{}') END AS _extra`
        : ', NULL::VARCHAR AS _extra'
      : mapping.unknown.length && policy === 'keep'
        ? `, json_object(${mapping.unknown.map((u) => `${sqlString(u.name)}, c${u.position}`).join(', ')})::VARCHAR AS _extra`
        : ', NULL::VARCHAR AS _extra';
    const src = `SELECT *${jsonOk} FROM (${this.readExpr()})`;
    const withRaw = `SELECT *, ${this.rawColumns().join(', ')}${extra} FROM (${src})`;
    const withNorm = `SELECT *, ${contract.columns.map((c) => `${normalizeExpr(c)} AS ${norm(c)}`).join(', ')} FROM (${withRaw})`;
    const withTyped = `SELECT *, ${contract.columns.map((c) => `${castExpr(c)} AS ${typed(c)}`).join(', ')} FROM (${withNorm})`;
    const whens = contract.columns.flatMap((c) =>
      columnRules(c).map((r) => `WHEN ${r.when} THEN ${sqlString(`${c.name}|${r.rule}`)}`),
    );
    const parse = json ? `WHEN NOT _json_ok THEN 'record|parse' ` : '';
    return `(SELECT *, CASE WHEN _blank THEN NULL ${parse}${whens.join(' ')} END AS _violation FROM (${withTyped}))`;
  }

  /** Reads and validates the file into `staged`. Raw values are kept for rejected rows only. */
  stageSql(): string {
    const typedCols = this.contract.columns.map((c) => typed(c)).join(', ');
    // CSV keeps every field of a rejected row (unknown ones too), so the quarantine shows what was sent.
    const rawStruct = this.json
      ? `{${this.contract.columns.map((c) => `${sqlString(`r_${c.name}`)}: ${raw(c)}`).join(', ')}}`
      : `{${Array.from({ length: this.csvWidth() }, (_, i) => `'c${i}': c${i}`).join(', ')}}`;
    const jsonText = this.json ? `, CASE WHEN _violation IS NOT NULL THEN _j END AS _j` : '';
    return `CREATE TEMP TABLE ${STAGED} AS SELECT _blank, _violation, ${typedCols}, _extra,
      CASE WHEN _violation IS NOT NULL THEN ${rawStruct} END AS _raw${jsonText} FROM ${this.validated()}`;
  }

  /**
   * Loads a layout file (NDJSON of `{kind, line, n, text}`) into {@link CSV_LAYOUT}. A record's text is at
   * most the longest record read, and JSON may write each byte as six.
   */
  layoutLoadSql(file: string): string {
    return `CREATE TEMP TABLE ${CSV_LAYOUT} AS SELECT * FROM read_json(${sqlString(file)}, format = 'newline_delimited',
      columns = {kind: 'VARCHAR', line: 'BIGINT', n: 'BIGINT', text: 'VARCHAR'}, maximum_object_size = ${8 * MAX_LINE_BYTES})`;
  }

  /**
   * Staged records the reader kept although they have more fields than the header (empty ones, which it
   * dropped: `x,y,` under `a,b`) become structural rejects like `x,y,z`: violation {@link EXTRA_FIELDS}.
   * A staged row's ordinal is its record's, less the records before it that are no row (rejects, blank
   * lines); `undefined` when the layout has no such record.
   */
  extraFieldsSql(): string | undefined {
    if (!this.file.layout?.extra) return undefined;
    const h = this.hasHeader ? 1 : 0;
    return `UPDATE ${STAGED} SET _violation = ${sqlString(EXTRA_FIELDS)} WHERE rowid IN (
      WITH ${this.noRowLinesCte()}, rn AS (SELECT q, row_number() OVER (ORDER BY q) AS j FROM rj),
        e AS (SELECT line - ${h} AS q FROM ${CSV_LAYOUT} WHERE kind = 'extra' AND line - ${h} NOT IN (SELECT q FROM rj))
      SELECT e.q - 1 - coalesce(rn.j, 0) FROM e ASOF LEFT JOIN rn ON e.q > rn.q)`;
  }

  /**
   * `rj(q)`: the records (numbered from the first after the header) that are no staged row: structural
   * rejects, and blank lines the reader skips.
   */
  private noRowLinesCte(): string {
    const h = this.hasHeader ? 1 : 0;
    const blank = this.file.layout?.blank
      ? ` UNION SELECT line - ${h} FROM ${CSV_LAYOUT} WHERE kind = 'blank'`
      : '';
    return `rj AS (SELECT DISTINCT line - ${h} AS q FROM ${REJECTS}${blank})`;
  }

  /**
   * The rows of `select`, whose `line` is a line as the reader numbers it, with `line` the physical line of
   * the file where that record starts (1-based, the header is line 1), quoted newlines before it counted.
   */
  private withPhysicalLines(select: string): string {
    if (!this.file.layout?.shift) return select;
    return `SELECT r.* REPLACE ((r.line + coalesce(s.n, 0))::BIGINT AS line) FROM (${select}) AS r
      ASOF LEFT JOIN (SELECT line, n FROM ${CSV_LAYOUT} WHERE kind = 'shift') AS s ON r.line >= s.line`;
  }

  /** Rows per violation (NULL = valid), and rows carrying unknown fields; extra-field records are 'parse'. */
  countSql(): string {
    return `SELECT CASE _violation WHEN ${sqlString(EXTRA_FIELDS)} THEN 'parse' ELSE _violation END AS violation,
      count(*)::BIGINT AS n, count(_extra)::BIGINT AS with_unknown FROM ${STAGED} WHERE NOT _blank GROUP BY ALL`;
  }

  /**
   * Structural rejects (wrong column count, bad quoting, over-long line) DuckDB recorded during the read,
   * one per line and error type: DuckDB records TOO MANY COLUMNS once per extra field (the last says how
   * many fields the line has). `line` is the physical line where the record starts.
   */
  rejectsSql(): string {
    if (this.contract.source.format === 'json')
      return 'SELECT NULL::BIGINT AS line, NULL AS error_type WHERE false';
    return `${this.withPhysicalLines(this.rejectsByLineSql())} ORDER BY line`;
  }

  /** {@link rejectsSql} with lines as the reader numbers them. */
  private rejectsByLineSql(): string {
    return `SELECT line::BIGINT AS line, error_type, arg_max(csv_line, byte_position) AS csv_line,
      arg_max(error_message, byte_position) AS error_message FROM ${REJECTS} GROUP BY ALL`;
  }

  /**
   * Rows that lose de-duplication: same primary key as another valid row, and not the latest (ties: the
   * later record wins). Found among duplicated keys only, so the window runs over a handful of rows.
   */
  losersSql(): string {
    const pk = this.contract.primaryKey.map((name) => `"t_${name}"`);
    const latest = this.contract.latestBy ? `"t_${this.contract.latestBy}" DESC NULLS LAST, ` : '';
    const valid = `_violation IS NULL AND NOT _blank`;
    return `CREATE TEMP TABLE ${LOSERS} AS SELECT rowid AS rid FROM ${STAGED}
      SEMI JOIN (SELECT ${pk.join(', ')} FROM ${STAGED} WHERE ${valid} GROUP BY ALL HAVING count(*) > 1) AS d USING (${pk.join(', ')})
      WHERE ${valid}
      QUALIFY row_number() OVER (PARTITION BY ${pk.join(', ')} ORDER BY ${latest}rowid DESC) > 1`;
  }

  /**
   * `_extra` as silver stores it. Under `unknownValues: hash` each key stays as sent and each value becomes
   * what a declared `pii: hash` string column without normalization holds for it: the field's text as a
   * declared column reads it (json_extract_string), empty as null, then the salted hash. The object is
   * rebuilt as text, not as a MAP, because a JSON object may repeat a key and a MAP refuses that.
   */
  private extraSilverExpr(): string {
    if (this.contract.unknownValues === 'keep') return '_extra';
    const path = `'$."' || replace(replace(k, '\\', '\\\\'), '"', '\\"') || '"'`;
    const hashed = hashExpr(`nullif(json_extract_string(_extra, ${path}), '')`, this.lineage.piiSalt);
    const member = `to_json(k) || ':' || coalesce(to_json(${hashed}), 'null')`;
    return `CASE WHEN _extra IS NOT NULL THEN '{' || array_to_string(list_transform(json_keys(_extra), lambda k: ${member}), ',') || '}' END`;
  }

  /** Columns of silver ({@link silverSchema}), each with the expression that computes it. */
  silverColumns(): { name: string; expr: string; type: string }[] {
    const { lineage } = this;
    const lineageExpr: Record<LineageColumn, string> = {
      _extra: this.extraSilverExpr(),
      _bronze_key: sqlString(lineage.bronzeKey),
      _ingested_at: `TIMESTAMPTZ ${sqlString(lineage.ingestedAt.toISOString())}`,
    };
    return silverSchema(this.contract).map(({ name, type, column }) => ({
      name,
      type,
      expr: column ? piiExpr(column, lineage.piiSalt) : lineageExpr[name as LineageColumn],
    }));
  }

  private partitionExpr(): string {
    const { column, granularity } = this.contract.partition;
    const format = sqlString(granularity === 'day' ? '%Y-%m-%d' : '%Y-%m');
    const type = this.contract.columns.find((c) => c.name === column)?.type.kind;
    // The engine's session is UTC, so the UTC date of an instant is plain arithmetic: strftime on a
    // TIMESTAMPTZ would go through ICU's calendar (about 3x slower per row).
    if (type === 'timestamp') return `strftime(make_timestamp(epoch_us("t_${column}")), ${format})`;
    return `strftime("t_${column}", ${format})`;
  }

  /** Valid rows minus the losers, as zstd Parquet, one Hive partition directory per partition value. */
  silverCopySql(outDir: string): string {
    const select = this.silverColumns().map((c) => `${c.expr} AS "${c.name}"`);
    return `COPY (
      SELECT ${select.join(', ')}, ${this.partitionExpr()} AS dt FROM ${STAGED}
      WHERE _violation IS NULL AND NOT _blank AND rowid NOT IN (SELECT rid FROM ${LOSERS})
    ) TO ${sqlString(outDir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (dt), OVERWRITE true, RETURN_FILES true)`;
  }

  /**
   * Every rejected row as one NDJSON line: where it came from (line), what it broke (column, rule,
   * message) and its original values. `line` is the physical line where the record starts (the header is
   * line 1). The reader numbers records as lines (a newline inside quotes does not count: the layout's
   * shifts add them back); a staged row's number is its ordinal shifted by the records before it that are
   * no row (structural rejects, skipped blank lines), found with an ASOF join on their positions.
   */
  quarantineCopySql(outFile: string, sourceKey: string): string {
    const { contract, json } = this;
    const h = this.hasHeader ? 1 : 0;
    const r = (c: ContractColumn) => this.rawRef(c);
    const messages = contract.columns.flatMap((c) =>
      columnRules(c).map(
        (rule) => `WHEN ${sqlString(`${c.name}|${rule.rule}`)} THEN ${rule.message.replaceAll(raw(c), r(c))}`,
      ),
    );
    const record = json
      ? `CASE WHEN json_valid(_j) THEN _j::JSON END`
      : `json_object(${this.csvFieldNames()
          .map((name, i) => `${sqlString(name)}, _raw.c${i}`)
          .join(', ')})`;
    const valueExpr = `CASE split_part(_violation, '|', 1) ${contract.columns.map((c) => `WHEN ${sqlString(c.name)} THEN ${r(c)}`).join(' ')} END`;
    const text = json ? '_j' : this.csvTextExpr();
    const hasRejects = contract.source.format !== 'json';
    const line = hasRejects ? `rowid + 1 + coalesce(rk.j, 0) + ${h}` : 'rowid + 1';
    const bad = `SELECT ${sqlString(sourceKey)} AS source_key, (${line})::BIGINT AS line,
        split_part(_violation, '|', 1) AS "column", split_part(_violation, '|', 2) AS rule,
        CASE _violation WHEN 'record|parse' THEN 'not a JSON object' ${messages.join(' ')} END AS message,
        ${json ? `CASE WHEN _violation = 'record|parse' THEN _j ELSE ${valueExpr} END` : valueExpr} AS value,
        ${record} AS record, ${text} AS text
      FROM ${STAGED} AS v ${hasRejects ? 'ASOF LEFT JOIN rk ON v.rowid + 1 > rk.k' : ''}
      WHERE _violation IS NOT NULL AND _violation <> ${sqlString(EXTRA_FIELDS)}`;
    if (!hasRejects) return `COPY (${bad} ORDER BY line) TO ${sqlString(outFile)} (FORMAT json)`;
    const parse = `SELECT ${sqlString(sourceKey)}, line, NULL, 'parse', error_type || ': ' || error_message ||
        CASE WHEN error_type = ${OVERLONG} THEN ' Text cut to its first ${OVERLONG_TEXT_CHARS} characters.' ELSE '' END,
        NULL, NULL::JSON, CASE WHEN error_type = ${OVERLONG} THEN left(csv_line, ${OVERLONG_TEXT_CHARS}) ELSE csv_line END
      FROM (${this.rejectsByLineSql()})`;
    // Records the reader kept with their empty extra fields dropped: rejected as it rejects `x,y,z`.
    const extra = this.file.layout?.extra
      ? ` UNION ALL SELECT ${sqlString(sourceKey)}, e.line, NULL, 'parse',
          'TOO MANY COLUMNS: Expected Number of Columns: ${this.csvWidth()} Found: ' || e.n, NULL, NULL::JSON, e.text
        FROM ${STAGED} AS v ASOF LEFT JOIN rk ON v.rowid + 1 > rk.k
          JOIN ${CSV_LAYOUT} AS e ON e.kind = 'extra' AND e.line = v.rowid + 1 + coalesce(rk.j, 0) + ${h}
        WHERE v._violation = ${sqlString(EXTRA_FIELDS)}`
      : '';
    const rk = `WITH ${this.noRowLinesCte()},
      rk AS (SELECT q - j AS k, max(j) AS j FROM (SELECT q, row_number() OVER (ORDER BY q) AS j FROM rj) GROUP BY 1) `;
    const all = `SELECT * FROM (${bad}) UNION ALL ${parse}${extra}`;
    return `COPY (${rk}${this.withPhysicalLines(all)} ORDER BY line) TO ${sqlString(outFile)} (FORMAT json)`;
  }

  /** Names for the fields of a CSV record: the header's, or the contract's in order when there is none. */
  private csvFieldNames(): string[] {
    const names = this.file.header.length
      ? [...this.file.header]
      : this.contract.columns.map((c) => c.from ?? c.name);
    while (names.length < this.csvWidth()) names.push(`column${names.length + 1}`);
    return names;
  }

  /** The record as CSV text again (fields quoted where needed), for people fixing the source. */
  private csvTextExpr(): string {
    const { delimiter, quote } = this.contract.source.csv;
    const q = sqlString(quote);
    const fields = this.csvFieldNames().map((_, i) => {
      const v = `_raw.c${i}`;
      return `CASE WHEN ${v} IS NULL THEN '' WHEN contains(${v}, ${sqlString(delimiter)}) OR contains(${v}, ${q}) OR contains(${v}, chr(10)) OR contains(${v}, chr(13))
        THEN ${q} || replace(${v}, ${q}, ${q} || ${q}) || ${q} ELSE ${v} END`;
    });
    return `concat_ws(${sqlString(delimiter)}, ${fields.join(', ')})`;
  }
}
