/**
 * Portable gold SQL: the subset that Athena (Trino, engine v3), Redshift Serverless, DuckDB (Athena's local
 * stand-in) and PostgreSQL (Redshift's local stand-in, PGlite) all accept and evaluate alike. Enforced on
 * the models when the gold engine is Redshift, so that a model checked and run offline gives the same table
 * in the cloud, whichever engine runs it.
 *
 * A deny-list, like `dialect.ts`'s (whose DuckDB-only rules it includes, so one message names everything):
 * each rule finds a construct outside string literals, quoted identifiers and comments (a few then read
 * the literal itself: a time zone, a LIKE pattern, an interval), and says what to write instead. A rule
 * exists because one engine refuses the construct or, worse, evaluates it differently; `source` says where
 * that is documented, and `test/core/gold/portable-sql-engines.test.ts` shows it on DuckDB and PGlite
 * wherever the local engines can show it. {@link PORTABLE_SQL_NOTES} lists the differences no pattern can
 * see (they depend on types), for the README.
 */
import { GoldModelError } from '../errors';
import { maskLiterals } from './athena-syntax';
import { DUCKDB_ONLY_SYNTAX } from './dialect';

/** Where a construct starts in the query and the text to show for it. */
export interface PortableSqlHit {
  readonly index: number;
  readonly text: string;
}

/** One construct the four engines do not share. */
export interface PortableSqlRule {
  /** The construct, as the message names it. */
  readonly what: string;
  /** What to write instead. */
  readonly instead: string;
  /** Which engine refuses it, or how the engines disagree. */
  readonly why: string;
  /** Where that is documented (a URL, or the local engines' own refusal). */
  readonly source: string;
  /** Its places in `code` (the query masked by `maskLiterals`); `sql` is the query itself, same offsets. */
  readonly find: (code: string, sql: string) => readonly PortableSqlHit[];
}

/** One place of a query that is not portable: where (1-based), what, and what to write instead. */
export interface PortableSqlFinding {
  readonly line: number;
  readonly column: number;
  readonly what: string;
  readonly instead: string;
  /** The text found. */
  readonly match: string;
}

const REDSHIFT = 'https://docs.aws.amazon.com/redshift/latest/dg';
const TRINO = 'https://trino.io/docs/current';
const POSTGRES = 'https://www.postgresql.org/docs/current';

/** Every match of `pattern` (a rule anchored with `^` applies to the start of the query only). */
function matching(pattern: RegExp): (code: string) => PortableSqlHit[] {
  const anchored = pattern.source.startsWith('^');
  const flags = pattern.flags.replace('g', '');
  return (code) => {
    const found = anchored
      ? [new RegExp(pattern.source, flags).exec(code)].filter((m) => m !== null)
      : [...code.matchAll(new RegExp(pattern.source, `${flags}g`))];
    return found.map((m) => ({
      index: m.index + (m[0].length - m[0].trimStart().length),
      text: m[0].trim(),
    }));
  };
}

/** The offset of the parenthesis closing the one at `open` (the query's length when unclosed). */
function closingParen(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === '(') depth++;
    else if (code[i] === ')' && --depth === 0) return i;
  }
  return code.length;
}

/** The offset of the parenthesis opening the one at `close` (-1 when unopened). */
function openingParen(code: string, close: number): number {
  let depth = 0;
  for (let i = close; i >= 0; i--) {
    if (code[i] === ')') depth++;
    else if (code[i] === '(' && --depth === 0) return i;
  }
  return -1;
}

/** `text` split at its top-level commas. */
function topLevelArgs(text: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      args.push(text.slice(start, i));
      start = i + 1;
    }
  }
  args.push(text.slice(start));
  return args.map((a) => a.trim());
}

/** A function call found in the masked query. */
interface Call {
  readonly index: number;
  readonly name: string;
  /** Offsets of its parentheses. */
  readonly open: number;
  readonly close: number;
  /** Its arguments, masked. */
  readonly args: string[];
}

/** The calls of the functions `names` matches (a regex source of names, without `\b` or `(`). */
function calls(code: string, names: string): Call[] {
  return [...code.matchAll(new RegExp(`\\b(${names})\\s*\\(`, 'gi'))].map((m) => {
    const open = m.index + m[0].length - 1;
    const close = closingParen(code, open);
    return {
      index: m.index,
      name: m[1].toLowerCase(),
      open,
      close,
      args: topLevelArgs(code.slice(open + 1, close)),
    };
  });
}

/** Is the expression starting at `index` the first thing inside a CAST(? */
const castArgument = (code: string, index: number) => /\bCAST\s*\(\s*$/i.test(code.slice(0, index));

/** The call's text, shortened for a message. */
const shown = (code: string, from: number, to: number) => {
  const text = code.slice(from, to + 1).replace(/\s+/g, ' ');
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** The target types of the casts: `CAST(x AS <type>)`, normalized (lower case, single spaces). */
function castTargets(code: string): { index: number; type: string; text: string }[] {
  return calls(code, 'CAST|TRY_CAST').flatMap((call) => {
    const inner = code.slice(call.open + 1, call.close);
    // The last top-level AS: what precedes it is the value, which may hold casts of its own.
    let depth = 0;
    let at = -1;
    for (let i = 0; i < inner.length; i++) {
      if (inner[i] === '(') depth++;
      else if (inner[i] === ')') depth--;
      else if (depth === 0 && /^\bAS\b/i.test(inner.slice(i, i + 3)) && /\W/.test(inner[i - 1] ?? ' '))
        at = i;
    }
    if (at < 0) return [];
    const type = inner
      .slice(at + 2)
      .trim()
      .toLowerCase()
      .replace(/\s+/g, ' ')
      .replace(/\s*([(),])\s*/g, '$1');
    return [{ index: call.index, type, text: shown(code, call.index, call.close) }];
  });
}

/** The types the four engines share, with the same meaning (see the CAST rules). */
const SHARED_TYPE =
  /^(boolean|smallint|int|integer|bigint|real|double precision|decimal\(\d+,\d+\)|varchar\(\d+\)|date|timestamp)$/;
const FLOAT_TYPE = /^(double|float|float4|float8)$/;
const STRING_TYPE =
  /^(varchar|character varying|char|character|nchar|nvarchar|bpchar|text|string)(\(\d+\))?$/;
const DECIMAL_TYPE = /^(decimal|numeric)(\(\d+(,\d+)?\))?$/;

/** The casts whose type `accept` picks among those outside the shared ones. */
const castsTo =
  (accept: (type: string) => boolean) =>
  (code: string): PortableSqlHit[] =>
    castTargets(code)
      .filter((c) => !SHARED_TYPE.test(c.type) && accept(c.type))
      .map((c) => ({ index: c.index, text: c.text }));

/** The window functions that take no frame (Redshift refuses one), so need none after ORDER BY. */
const RANKING = new Set([
  'row_number',
  'rank',
  'dense_rank',
  'percent_rank',
  'cume_dist',
  'ntile',
  'lag',
  'lead',
]);

/** `OVER (... ORDER BY ...)` without a ROWS frame, on a function that takes a frame. */
function framelessWindows(code: string): PortableSqlHit[] {
  return [...code.matchAll(/\bOVER\s*\(/gi)].flatMap((m) => {
    const open = m.index + m[0].length - 1;
    const close = closingParen(code, open);
    const spec = code.slice(open + 1, close);
    // RANGE and GROUPS frames have a rule of their own.
    if (!/\bORDER\s+BY\b/i.test(spec) || /\b(ROWS|RANGE|GROUPS)\b/i.test(spec)) return [];
    const before = code.slice(0, m.index).trimEnd();
    const call = before.endsWith(')') ? openingParen(code, before.length - 1) : -1;
    const name = call < 0 ? '' : (/(\w+)\s*$/.exec(code.slice(0, call))?.[1] ?? '').toLowerCase();
    if (RANKING.has(name)) return [];
    return [{ index: m.index, text: shown(code, m.index, close) }];
  });
}

/** `x AT TIME ZONE '<zone>'` other than 'UTC', unless applied to `(ts AT TIME ZONE 'UTC')`. */
function zoneConversions(code: string, sql: string): PortableSqlHit[] {
  return [...code.matchAll(/\bAT\s+TIME\s+ZONE\s*/gi)].flatMap((m) => {
    const zone = /^'(?:[^']|'')*'/.exec(sql.slice(m.index + m[0].length))?.[0];
    if (zone === "'UTC'") return [];
    const before = code.slice(0, m.index).trimEnd();
    if (zone !== undefined && before.endsWith(')')) {
      const open = openingParen(code, before.length - 1);
      const inner = /\bAT\s+TIME\s+ZONE\s+('[^']*')\s*$/i.exec(sql.slice(open + 1, before.length - 1));
      if (open >= 0 && inner?.[1] === "'UTC'") return [];
    }
    return [
      { index: m.index, text: `AT TIME ZONE ${zone ?? code.slice(m.index + m[0].length).split(/\s/)[0]}` },
    ];
  });
}

/** `LIKE '<pattern with a backslash>'` without an ESCAPE clause. */
function backslashLikes(code: string, sql: string): PortableSqlHit[] {
  return [...code.matchAll(/\bLIKE\s+'/gi)].flatMap((m) => {
    const start = m.index + m[0].length - 1;
    const pattern = /^'(?:[^']|'')*'/.exec(sql.slice(start))?.[0];
    if (pattern === undefined || !pattern.includes('\\')) return [];
    if (/^\s*ESCAPE\b/i.test(code.slice(start + pattern.length))) return [];
    return [{ index: m.index, text: `LIKE ${pattern}` }];
  });
}

/** Interval literals other than `INTERVAL '<digits>' <unit>`. */
function intervals(code: string, sql: string): PortableSqlHit[] {
  return [...code.matchAll(/\bINTERVAL\b/gi)].flatMap((m) => {
    const rest = sql.slice(m.index);
    if (/^INTERVAL\s+'\d+'\s+(YEAR|MONTH|DAY|HOUR|MINUTE|SECOND)\b(?!\s*\(|\s+TO\b)/i.test(rest)) return [];
    return [
      {
        index: m.index,
        text: /^INTERVAL\s+('(?:[^']|'')*'|\S+)(\s+[A-Za-z]+)?/i.exec(rest)?.[0] ?? 'INTERVAL',
      },
    ];
  });
}

/** Double-quoted identifiers holding an upper-case letter. */
function upperCaseQuotedNames(code: string, sql: string): PortableSqlHit[] {
  return [...code.matchAll(/"[^"]*"?/g)].flatMap((m) => {
    const name = sql.slice(m.index, m.index + m[0].length);
    return /[A-Z]/.test(name) ? [{ index: m.index, text: name }] : [];
  });
}

/** avg/stddev/variance whose argument is not `CAST(... AS double precision)`. */
function averagesOfExactTypes(code: string): PortableSqlHit[] {
  return calls(code, 'avg|stddev|stddev_samp|stddev_pop|variance|var_samp|var_pop').flatMap((call) => {
    const arg = (call.args[0] ?? '').replace(/^(DISTINCT|ALL)\s+/i, '');
    const open = arg.indexOf('(');
    const isDoubleCast =
      /^CAST\s*\(/i.test(arg) &&
      closingParen(arg, open) === arg.length - 1 &&
      /\bAS\s+double\s+precision\s*\)$/i.test(arg);
    return isDoubleCast ? [] : [{ index: call.index, text: shown(code, call.index, call.close) }];
  });
}

/** substring/substr with a negative start. */
function negativeSubstrings(code: string): PortableSqlHit[] {
  return calls(code, 'substring|substr')
    .filter((c) => (c.args[1] ?? '').startsWith('-') || /\bFROM\s+-/i.test(c.args[0] ?? ''))
    .map((c) => ({ index: c.index, text: shown(code, c.index, c.close) }));
}

/** date_trunc outside a CAST, or with a unit not every engine reads alike. */
function dateTruncs(code: string, sql: string): PortableSqlHit[] {
  return calls(code, 'date_trunc')
    .filter((c) => {
      const unit = topLevelArgs(sql.slice(c.open + 1, c.close))[0] ?? '';
      return (
        !castArgument(code, c.index) || !/^'(second|minute|hour|day|week|month|quarter|year)'$/i.test(unit)
      );
    })
    .map((c) => ({ index: c.index, text: shown(sql, c.index, c.close) }));
}

/** EXTRACT outside a CAST, or of a field the engines number differently. */
function extracts(code: string): PortableSqlHit[] {
  return calls(code, 'extract')
    .filter((c) => {
      const field = /^\s*(\w+)\s+FROM\b/i.exec(c.args[0] ?? '')?.[1] ?? '';
      return !castArgument(code, c.index) || !/^(year|quarter|month|day|hour|minute)$/i.test(field);
    })
    .map((c) => ({ index: c.index, text: shown(code, c.index, c.close) }));
}

/** Function names as a case-insensitive regex source. */
const names = (...list: string[]) => list.join('|');

/** Functions only Trino (and DuckDB) know: PostgreSQL and Redshift refuse them. */
const TRINO_ONLY_FUNCTIONS = names(
  'if',
  'date_format',
  'date_parse',
  'format_datetime',
  'parse_datetime',
  'from_unixtime',
  'to_unixtime',
  'from_iso8601_timestamp',
  'from_iso8601_date',
  'to_iso8601',
  'date_add',
  'date_diff',
  'at_timezone',
  'with_timezone',
  'last_day_of_month',
  'approx_distinct',
  'approx_percentile',
  'approx_set',
  'max_by',
  'min_by',
  'count_if',
  'element_at',
  'cardinality',
  'contains',
  'array_join',
  'array_distinct',
  'transform',
  'reduce',
  'zip',
  'zip_with',
  'sequence',
  'split',
  'json_extract',
  'json_extract_scalar',
  'json_format',
  'json_parse',
  'json_size',
  'typeof',
  'to_hex',
  'from_hex',
  'to_utf8',
  'from_utf8',
  'codepoint',
  'strrpos',
  'starts_with',
  'ends_with',
  'word_stem',
  'levenshtein_distance',
  'hamming_distance',
  'year',
  'quarter',
  'month',
  'week',
  'week_of_year',
  'year_of_week',
  'yow',
  'day',
  'day_of_month',
  'day_of_week',
  'dow',
  'day_of_year',
  'doy',
  'hour',
  'minute',
  'second',
  'millisecond',
  'date',
);

/** Functions of Redshift or PostgreSQL that Trino refuses. */
const REDSHIFT_POSTGRES_FUNCTIONS = names(
  'nvl',
  'nvl2',
  'decode',
  'isnull',
  'dateadd',
  'date_part',
  'convert_timezone',
  'to_char',
  'to_date',
  'to_timestamp',
  'to_number',
  'months_between',
  'add_months',
  'last_day',
  'age',
  'trunc',
  'truncate',
  'charindex',
  'btrim',
  'initcap',
  'left',
  'right',
  'repeat',
  'char_length',
  'character_length',
  'octet_length',
  'div',
  'width_bucket',
  'format',
  'ratio_to_report',
);

/** The portable rules, beyond the DuckDB-only syntax of `dialect.ts`. */
const PORTABLE_ONLY_RULES: readonly PortableSqlRule[] = [
  // Types.
  {
    what: 'CAST to double or float',
    instead: 'CAST(x AS double precision) (Trino reads it too)',
    why: "PostgreSQL and Redshift have no type 'double'; 'float' is 4 bytes in DuckDB, 8 in PostgreSQL, unknown to Trino",
    source: `${REDSHIFT}/r_Numeric_types201.html, ${TRINO}/language/types.html, ${POSTGRES}/datatype-numeric.html`,
    find: castsTo((type) => FLOAT_TYPE.test(type)),
  },
  {
    what: 'CAST to a string type without a length (varchar, string, text, char)',
    instead:
      'CAST(x AS varchar(n)) with n (bytes on Redshift) at least the longest value: DuckDB ignores n, the others cut at n',
    why: "Redshift's varchar without a length and its text are varchar(256) (longer values cut); Trino has no string or text, PostgreSQL no string; char pads in some engines only",
    source: `${REDSHIFT}/r_Character_types.html, ${TRINO}/language/types.html`,
    find: castsTo((type) => STRING_TYPE.test(type)),
  },
  {
    what: 'CAST to decimal or numeric without precision and scale',
    instead: 'CAST(x AS decimal(p, s))',
    why: 'the defaults differ: decimal(18,3) in DuckDB, unbounded numeric in PostgreSQL, decimal(18,0) in Redshift, decimal(38,0) in Trino',
    source: `${REDSHIFT}/r_Numeric_types201.html, ${TRINO}/language/types.html`,
    find: castsTo((type) => DECIMAL_TYPE.test(type)),
  },
  {
    what: 'CAST to a type the four engines do not share',
    instead:
      'one of boolean, smallint, integer, bigint, real, double precision, decimal(p, s), varchar(n), date, timestamp',
    why: 'time zones, intervals, binaries, JSON, arrays and the engine-specific integer names are not common to Trino, Redshift, PostgreSQL and DuckDB',
    source: `${REDSHIFT}/c_Supported_data_types.html, ${TRINO}/language/types.html`,
    find: castsTo((type) => !FLOAT_TYPE.test(type) && !STRING_TYPE.test(type) && !DECIMAL_TYPE.test(type)),
  },
  {
    what: 'TRY_CAST / TRY(...)',
    instead:
      "CAST, on values the data contract's checks already guarantee (a bad value is quarantined in silver)",
    why: 'PostgreSQL has neither (nor the Redshift documentation)',
    source: `${REDSHIFT}/r_CAST_function.html, ${POSTGRES}/sql-expressions.html#SQL-SYNTAX-TYPE-CASTS`,
    find: matching(/\b(TRY_CAST|TRY)\s*\(/i),
  },
  // Functions.
  {
    what: 'Trino-only functions',
    instead:
      'CASE for if(), CAST(x AS date) for date(), CAST(EXTRACT(year FROM x) AS integer) for year() and the like, CAST(date_trunc(...) AS date) for date arithmetic, count(CASE WHEN ... THEN 1 END) for count_if, strpos/substring for strings',
    why: 'PostgreSQL and Redshift do not have them',
    source: `${TRINO}/functions/list.html, ${REDSHIFT}/c_SQL_functions.html`,
    find: (code) => calls(code, TRINO_ONLY_FUNCTIONS).map((c) => ({ index: c.index, text: `${c.name}(` })),
  },
  {
    what: 'Redshift/PostgreSQL-only functions',
    instead:
      'COALESCE for nvl/isnull, CASE for decode/nvl2, CAST for to_date/to_number, CAST(EXTRACT(...) AS integer) for date_part, substring for left/right, length for char_length, floor(CAST(a AS double precision) / b) for div',
    why: 'Trino does not have them',
    source: `${TRINO}/functions/list.html`,
    find: (code) =>
      calls(code, REDSHIFT_POSTGRES_FUNCTIONS).map((c) => ({ index: c.index, text: `${c.name}(` })),
  },
  {
    what: 'list, ordered-set and statistical aggregates (listagg, array_agg, WITHIN GROUP, percentile_cont, corr...)',
    instead:
      'count, count(DISTINCT), sum, min, max and avg(CAST(x AS double precision)): the aggregates all four share; keep one row per item rather than a list',
    why: 'Redshift has no array_agg, string_agg, every, corr, covar_*, regr_*; PostgreSQL no listagg; Trino no WITHIN GROUP percentiles',
    source: `${REDSHIFT}/c_unsupported-postgresql-functions.html, ${TRINO}/functions/aggregate.html`,
    find: (code) => [
      ...calls(
        code,
        names(
          'listagg',
          'array_agg',
          'every',
          'percentile_cont',
          'percentile_disc',
          'approximate',
          'corr',
          'covar_pop',
          'covar_samp',
          'regr_\\w+',
          'bit_and',
          'bit_or',
        ),
      ).map((c) => ({ index: c.index, text: `${c.name}(` })),
      ...matching(/\bWITHIN\s+GROUP\b|\bAPPROXIMATE\s+COUNT\b/i)(code),
    ],
  },
  {
    what: 'avg, stddev or variance of a value not cast to double precision',
    instead:
      'avg(CAST(x AS double precision)), then ROUND and CAST the result to the type the column declares',
    why: "Redshift's avg of integers is a truncated bigint and of decimal(p,s) a decimal(38,s); Trino and DuckDB give a double, PostgreSQL a numeric",
    source: `${REDSHIFT}/r_AVG.html, ${TRINO}/functions/aggregate.html`,
    find: averagesOfExactTypes,
  },
  {
    what: 'greatest / least',
    instead: 'CASE WHEN a >= b THEN a ELSE b END, with COALESCE where a value can be null',
    why: 'Trino returns null when any argument is null; Redshift, PostgreSQL and DuckDB ignore the nulls',
    source: `${TRINO}/functions/comparison.html#greatest-and-least, ${REDSHIFT}/r_GREATEST_LEAST.html`,
    find: (code) => calls(code, 'greatest|least').map((c) => ({ index: c.index, text: `${c.name}(` })),
  },
  {
    what: 'concat(...)',
    instead: "a || b (null when either is null, on all four); COALESCE(x, '') to skip a null",
    why: 'Trino and Redshift return null when an argument is null, PostgreSQL and DuckDB skip it; Redshift takes two arguments only',
    source: `${TRINO}/functions/string.html, ${REDSHIFT}/r_CONCAT.html, ${POSTGRES}/functions-string.html`,
    find: (code) => calls(code, 'concat|concat_ws').map((c) => ({ index: c.index, text: `${c.name}(` })),
  },
  {
    what: "split_part(...) outside NULLIF(..., '')",
    instead: "NULLIF(split_part(s, delimiter, n), '')",
    why: "past the last field Trino returns null, Redshift, PostgreSQL and DuckDB ''",
    source: `${TRINO}/functions/string.html, ${REDSHIFT}/SPLIT_PART.html`,
    find: matching(/(?<!\bNULLIF\s*\(\s*)\bsplit_part\s*\(/i),
  },
  {
    what: 'substring / substr with a negative start',
    instead: 'a positive start: substring(s, length(s) - n + 1, n) for the last n characters',
    why: 'Trino and DuckDB count a negative start from the end, PostgreSQL from before the first character',
    source: `${TRINO}/functions/string.html, ${POSTGRES}/functions-string.html`,
    find: negativeSubstrings,
  },
  {
    what: 'regular expressions (regexp_* functions, ~, SIMILAR TO, RLIKE)',
    instead: "LIKE (with ESCAPE '!' when the pattern needs one), strpos, substring, replace",
    why: 'the dialects differ (Java/RE2 in Trino and DuckDB, POSIX in PostgreSQL and Redshift), and regexp_replace replaces every match in Trino and Redshift but the first only in PostgreSQL and DuckDB',
    source: `${TRINO}/functions/regexp.html, ${REDSHIFT}/REGEXP_REPLACE.html, ${POSTGRES}/functions-matching.html`,
    find: (code) => [
      ...calls(code, 'regexp_\\w+|rlike').map((c) => ({ index: c.index, text: `${c.name}(` })),
      ...matching(/!?~\*?|\bSIMILAR\s+TO\b|\bRLIKE\b|\bREGEXP\b(?!_)/i)(code),
    ],
  },
  {
    what: 'log / log10 / log2 / dlog10',
    instead: 'ln(x) / ln(b)',
    why: "Redshift's log(x) is base 10 with one argument, Trino's log(b, x) takes the base first, and log10/log2 are not in every engine",
    source: `${REDSHIFT}/r_LOG.html, ${TRINO}/functions/math.html`,
    find: (code) =>
      calls(code, 'log|log10|log2|dlog10|dlog1').map((c) => ({ index: c.index, text: `${c.name}(` })),
  },
  {
    what: 'hash functions (md5, sha1, sha256, ...)',
    instead: 'a key the data already has (hash in silver if a hash is needed)',
    why: "Trino's hash functions take and return varbinary, the others' varchar",
    source: `${TRINO}/functions/binary.html, ${REDSHIFT}/FUNC_SHA1.html`,
    find: (code) =>
      calls(code, 'md5|sha1|sha2|sha256|sha512|fnv\\w*|xxhash64|crc32|murmur3\\w*').map((c) => ({
        index: c.index,
        text: `${c.name}(`,
      })),
  },
  {
    what: "date_trunc outside CAST(... AS date|timestamp), or with a unit other than 'second' to 'year'",
    instead:
      "CAST(date_trunc('month', x) AS date) (units: second, minute, hour, day, week, month, quarter, year)",
    why: 'Trino keeps the input type (a date stays a date), Redshift and PostgreSQL return a timestamp',
    source: `${TRINO}/functions/datetime.html#truncation-function, ${REDSHIFT}/r_DATE_TRUNC.html`,
    find: dateTruncs,
  },
  {
    what: 'EXTRACT outside CAST(... AS integer), or of a field other than year, quarter, month, day, hour, minute',
    instead: 'CAST(EXTRACT(month FROM x) AS integer)',
    why: 'the result is a bigint in Trino and DuckDB, an integer in Redshift, a numeric in PostgreSQL (seconds with their fraction); DOW is 1 (Monday) to 7 in Trino, 0 (Sunday) to 6 elsewhere',
    source: `${TRINO}/functions/datetime.html#extraction-function, ${REDSHIFT}/r_EXTRACT_function.html, ${POSTGRES}/functions-datetime.html#FUNCTIONS-DATETIME-EXTRACT`,
    find: extracts,
  },
  {
    what: 'the current time (now(), current_timestamp, localtimestamp, getdate(), sysdate...)',
    instead:
      'current_date (UTC on all four), or better a date taken from the data, so that a rerun gives the same table',
    why: 'Redshift runs current_timestamp, now() and localtime(stamp) on the leader node only, so not on tables; GETDATE/SYSDATE are Redshift-only',
    source: `${REDSHIFT}/c_SQL_functions_leader_node_only.html`,
    find: matching(
      /\b(current_timestamp|current_time|localtimestamp|localtime|sysdate)\b|\b(now|getdate|timeofday|clock_timestamp|transaction_timestamp|statement_timestamp)\s*\(/i,
    ),
  },
  {
    what: 'random or arbitrary values (random(), rand(), uuid(), any_value, arbitrary)',
    instead: 'min() or max() for a value of the group; no randomness in a model',
    why: 'each engine (and each run) picks a different value',
    source: `${TRINO}/functions/aggregate.html`,
    find: (code) =>
      calls(code, 'random|rand|uuid|gen_random_uuid|any_value|arbitrary').map((c) => ({
        index: c.index,
        text: `${c.name}(`,
      })),
  },
  // Clauses and operators.
  {
    what: 'aggregate FILTER (WHERE ...)',
    instead: 'an aggregate over a CASE: count(CASE WHEN c THEN 1 END), sum(CASE WHEN c THEN x END)',
    why: 'Redshift has no FILTER clause',
    source: `${REDSHIFT}/c_Aggregate_Functions.html`,
    find: matching(/\bFILTER\s*\(\s*WHERE\b/i),
  },
  {
    what: 'IS [NOT] DISTINCT FROM',
    instead: '(a = b OR (a IS NULL AND b IS NULL)), negated with NOT (...)',
    why: 'Redshift does not support it',
    source: `${REDSHIFT}/c_unsupported-postgresql-functions.html`,
    find: matching(/\bIS\s+(NOT\s+)?DISTINCT\s+FROM\b/i),
  },
  {
    what: 'VALUES as a table',
    instead: 'SELECT ... UNION ALL SELECT ...',
    why: 'Redshift does not support a VALUES list as a constant table',
    source: `${REDSHIFT}/c_unsupported-postgresql-features.html`,
    find: matching(/(\(|\bFROM|\bJOIN|\bAS)\s*VALUES\b/i),
  },
  {
    what: 'arrays, maps, rows and lambdas (UNNEST, ARRAY[...], x[i], ROW(...), MAP(...), ->)',
    instead: 'scalar columns: one row per element, flattened before gold',
    why: 'Redshift has no array, row or map values (nor subscripts); lambdas are Trino/DuckDB syntax',
    source: `${REDSHIFT}/c_unsupported-postgresql-features.html`,
    find: matching(/\b(UNNEST|ARRAY|ROW|MAP|STRUCT)\s*[[(]|[\w")\]]\s*\[|->>?/i),
  },
  {
    what: 'LATERAL',
    instead: 'a join on a grouped subquery, or a window function',
    why: 'Redshift does not support LATERAL',
    source: `${REDSHIFT}/r_FROM_clause30.html`,
    find: matching(/\bLATERAL\b/i),
  },
  {
    what: 'TABLESAMPLE',
    instead: 'no sampling: a model gives the same rows on every engine',
    why: 'Redshift does not support it, and each engine samples differently',
    source: `${REDSHIFT}/r_FROM_clause30.html`,
    find: matching(/\bTABLESAMPLE\b/i),
  },
  {
    what: 'WITH RECURSIVE',
    instead: 'no recursion: flatten the hierarchy before gold',
    why: "Trino stops recursion at a small depth (session property max_recursion_depth, 10); Redshift needs the CTE's column list",
    source: `${TRINO}/sql/select.html#with-recursive-clause, ${REDSHIFT}/r_WITH_clause.html`,
    find: matching(/\bWITH\s+RECURSIVE\b/i),
  },
  {
    what: 'FETCH FIRST / FETCH NEXT',
    instead: 'LIMIT n',
    why: 'Redshift does not support FETCH',
    source: `${REDSHIFT}/r_ORDER_BY_clause.html`,
    find: matching(/\bFETCH\s+(FIRST|NEXT)\b/i),
  },
  {
    what: 'SELECT TOP n',
    instead: 'LIMIT n',
    why: 'TOP is Redshift-only',
    source: `${REDSHIFT}/r_SELECT_list.html`,
    find: matching(/\bSELECT\s+(DISTINCT\s+|ALL\s+)?TOP\b/i),
  },
  {
    what: 'DISTINCT ON',
    instead: 'row_number() OVER (PARTITION BY ... ORDER BY ... NULLS LAST) in a subquery, filtered on 1',
    why: 'DISTINCT ON is PostgreSQL/DuckDB-only',
    source: `${POSTGRES}/sql-select.html#SQL-DISTINCT, ${REDSHIFT}/r_SELECT_list.html`,
    find: matching(/\bDISTINCT\s+ON\b/i),
  },
  {
    what: 'MINUS, INTERSECT ALL, EXCEPT ALL',
    instead: 'EXCEPT / INTERSECT (distinct rows), or NOT EXISTS',
    why: 'MINUS is Redshift-only; Redshift has no INTERSECT ALL or EXCEPT ALL',
    source: `${REDSHIFT}/r_UNION.html`,
    find: matching(/\bMINUS\b|\b(INTERSECT|EXCEPT)\s+ALL\b/i),
  },
  {
    what: 'CONNECT BY',
    instead: 'no recursion: flatten the hierarchy before gold',
    why: 'CONNECT BY is Redshift-only',
    source: `${REDSHIFT}/r_CONNECT_BY_clause.html`,
    find: matching(/\bCONNECT\s+BY\b|\bSTART\s+WITH\b/i),
  },
  {
    what: 'WINDOW clause (named windows)',
    instead: 'the window written out in each OVER (...)',
    why: 'Redshift has no WINDOW clause',
    source: `${REDSHIFT}/r_SELECT_synopsis.html`,
    find: matching(/\bWINDOW\s+\w+\s+AS\s*\(/i),
  },
  {
    what: 'RANGE or GROUPS window frames',
    instead: 'ROWS BETWEEN ... AND ...',
    why: 'Redshift frames are ROWS only',
    source: `${REDSHIFT}/c_Window_functions.html`,
    find: matching(/\b(RANGE|GROUPS)\s+(BETWEEN|UNBOUNDED|CURRENT|\d)/i),
  },
  {
    what: 'window ORDER BY without a ROWS frame (aggregates, first_value, last_value, nth_value)',
    instead: 'ORDER BY ... ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW (or the frame meant)',
    why: 'Redshift requires the frame; the default frame elsewhere is RANGE, which takes in the ties (another sum on equal keys)',
    source: `${REDSHIFT}/c_Window_functions.html, ${REDSHIFT}/r_WF_first_value.html`,
    find: framelessWindows,
  },
  {
    what: 'IGNORE NULLS / RESPECT NULLS',
    instead: 'a subquery that filters the nulls out, or max(...) over a frame',
    why: 'PostgreSQL has neither; Trino writes them after the call, Redshift inside it',
    source: `${POSTGRES}/functions-window.html, ${REDSHIFT}/r_WF_first_value.html`,
    find: matching(/\b(IGNORE|RESPECT)\s+NULLS\b/i),
  },
  {
    what: 'DESC without NULLS FIRST / NULLS LAST',
    instead: 'DESC NULLS LAST (or NULLS FIRST)',
    why: 'in descending order PostgreSQL and Redshift put nulls first, Trino and DuckDB last (row_number() and the like differ)',
    source: `${TRINO}/sql/select.html#order-by-clause, ${REDSHIFT}/r_ORDER_BY_clause.html`,
    find: matching(/\bDESC\b(?!\s+NULLS\b)/i),
  },
  {
    what: 'LIKE pattern with a backslash but no ESCAPE',
    instead: "LIKE 'a!_b' ESCAPE '!' (an explicit escape character)",
    why: 'PostgreSQL and Redshift escape with a backslash by default, Trino and DuckDB read it literally',
    source: `${REDSHIFT}/r_patternmatching_condition_like.html, ${TRINO}/functions/comparison.html#like`,
    find: backslashLikes,
  },
  {
    what: "AT TIME ZONE other than 'UTC'",
    instead:
      "CAST((ts AT TIME ZONE 'UTC') AT TIME ZONE 'Europe/Paris' AS timestamp) for the local time of a UTC timestamp (silver's)",
    why: 'on a timestamp without time zone Trino converts from the session zone (UTC), Redshift, PostgreSQL and DuckDB read it as local time in the zone: opposite directions',
    source: `${TRINO}/functions/datetime.html#time-zone-conversion, ${REDSHIFT}/r_AT_TIME_ZONE.html, ${POSTGRES}/functions-datetime.html#FUNCTIONS-DATETIME-ZONECONVERT`,
    find: zoneConversions,
  },
  {
    what: "interval literals other than INTERVAL 'n' UNIT",
    instead:
      "INTERVAL '7' DAY (one unit: YEAR, MONTH, DAY, HOUR, MINUTE or SECOND; digits only, subtract for a negative), and CAST(d + INTERVAL '1' DAY AS date) for a date: Trino keeps a date, the others make a timestamp",
    why: "Trino refuses INTERVAL '7 days', PostgreSQL refuses INTERVAL 7 DAY",
    source: `${TRINO}/functions/datetime.html, ${REDSHIFT}/r_interval_data_types.html`,
    find: intervals,
  },
  {
    what: 'quoted identifiers with upper-case letters',
    instead: 'lower-case names',
    why: 'Redshift and Trino fold quoted names to lower case, PostgreSQL and DuckDB keep them (another column name)',
    source: `${REDSHIFT}/r_names.html`,
    find: upperCaseQuotedNames,
  },
];

/** `dialect.ts`'s advice where it points at Trino-only SQL. */
const PORTABLE_INSTEAD: Readonly<Record<string, string>> = {
  'DuckDB-only functions':
    'a function all four engines share: coalesce, CASE, CAST, nullif, length, lower, upper, trim, substring, strpos, replace, lpad, round, floor, ceil, abs, mod, power, ln, count, sum, min, max',
  'PIVOT/UNPIVOT': 'CASE expressions inside aggregates (pivot), UNION ALL (unpivot)',
  'USING SAMPLE': 'no sampling: a model gives the same rows on every engine',
  "'//' integer division": 'floor(CAST(a AS double precision) / b)',
};

/**
 * Every construct a portable model must not use: the DuckDB-only syntax Athena refuses (`dialect.ts`),
 * then what one of Trino, Redshift, PostgreSQL and DuckDB refuses or evaluates differently.
 */
export const PORTABLE_SQL_RULES: readonly PortableSqlRule[] = [
  ...DUCKDB_ONLY_SYNTAX.map((rule) => ({
    what: rule.what,
    instead: PORTABLE_INSTEAD[rule.what] ?? rule.instead,
    why: 'DuckDB-only syntax: Athena (Trino) refuses it',
    source: 'core/gold/dialect.ts',
    find: matching(rule.pattern),
  })),
  ...PORTABLE_ONLY_RULES,
];

/**
 * Differences no pattern can see (they depend on the values' types): the README lists them next to the
 * rules, for whoever writes a model.
 */
export const PORTABLE_SQL_NOTES: readonly string[] = [
  '`/` between two integers truncates in Trino, Redshift and PostgreSQL but not in DuckDB (7 / 2 is 3 there, 3.5 here): cast one side to double precision or decimal(p, s).',
  "Lowering a decimal's scale: ROUND(x, s) before CAST(... AS decimal(p, s)); Redshift truncates on such a cast, the others round.",
  'round() of a double rounds halves away from zero in Trino and DuckDB, to even in PostgreSQL (2.5 gives 3 or 2), and a cast of a double to an integer does the same: round decimals, not doubles.',
  "No implicit casts: Trino refuses `'1' = 1`, `'a' || 1` and a COALESCE of mixed types that PostgreSQL and DuckDB accept; cast explicitly.",
  "Date arithmetic: `d + 1` and `d2 - d1` on dates are PostgreSQL/Redshift/DuckDB only; add an interval (`d + INTERVAL '1' DAY`) and compare dates instead of subtracting them.",
  'varchar(n) shorter than a value: DuckDB keeps the whole value, the others cut it to n (Redshift counts bytes): size n for the longest value.',
  'Unquoted names are folded to lower case by Trino, Redshift and PostgreSQL but kept by DuckDB: write aliases in lower case.',
  "Redshift refuses some correlated subqueries (skip-level references, one in an outer join's ON, one with a window function): prefer joins on grouped subqueries.",
  'A window ORDER BY that is not unique (ties) gives rows in any order: add columns until it is unique.',
];

/** The rules and notes as a Markdown section for the README. */
export function portableSqlMarkdown(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const rows = PORTABLE_SQL_RULES.map(
    (r) =>
      `| ${cell(r.what)} | ${cell(r.instead)} | ${cell(r.why)} | ${r.source
        .split(', ')
        .map((s) => (s.startsWith('http') ? `<${s}>` : `\`${s}\``))
        .join(' ')} |`,
  );
  return [
    '| Refused | Write instead | Why | Source |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    'Not checked (they depend on types), to keep in mind:',
    '',
    ...PORTABLE_SQL_NOTES.map((n) => `- ${n}`),
    '',
  ].join('\n');
}

/**
 * The places where `sql` is not portable SQL, every occurrence, each with its line and column (1-based,
 * lines counted from `firstLine`), in query order; empty when it is portable.
 */
export function portableSqlFindings(sql: string, firstLine = 1): PortableSqlFinding[] {
  const code = maskLiterals(sql);
  const lineStarts = [0];
  for (let i = 0; i < sql.length; i++) if (sql[i] === '\n') lineStarts.push(i + 1);
  const at = (offset: number) => {
    let line = 0;
    while (line + 1 < lineStarts.length && lineStarts[line + 1] <= offset) line++;
    return { line: line + firstLine, column: offset - lineStarts[line] + 1 };
  };
  const findings: (PortableSqlFinding & { readonly offset: number })[] = [];
  for (const rule of PORTABLE_SQL_RULES) {
    for (const hit of rule.find(code, sql)) {
      findings.push({
        ...at(hit.index),
        offset: hit.index,
        what: rule.what,
        instead: rule.instead,
        match: hit.text,
      });
    }
  }
  return findings.sort((a, b) => a.offset - b.offset).map(({ offset: _, ...finding }) => finding);
}

/**
 * Throws a {@link GoldModelError} naming each construct of `sql` the four engines (Athena's Trino, Redshift,
 * and their local stand-ins DuckDB and PostgreSQL) do not all run alike, with its line and what to write
 * instead. `label` names the query (e.g. the model); `firstLine` is the line `sql` starts on.
 */
export function checkPortableSql(sql: string, label = 'query', firstLine = 1): void {
  const problems = [
    ...new Set(
      portableSqlFindings(sql, firstLine).map(
        (f) => `${f.what} (line ${f.line}: '${f.match}'): use ${f.instead}`,
      ),
    ),
  ];
  if (problems.length > 0) {
    throw new GoldModelError(
      `${label}: not portable SQL (Athena, Redshift, DuckDB and PostgreSQL must all run it alike):\n  - ${problems.join('\n  - ')}`,
    );
  }
}
