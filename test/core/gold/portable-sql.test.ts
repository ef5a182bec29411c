import { GoldModelError } from '../../../core/errors';
import { DUCKDB_ONLY_SYNTAX } from '../../../core/gold/dialect';
import {
  checkPortableSql,
  PORTABLE_SQL_NOTES,
  PORTABLE_SQL_RULES,
  portableSqlFindings,
  portableSqlMarkdown,
} from '../../../core/gold/portable-sql';

/** One query per construct, with the rule that must name it. */
const REFUSED: readonly [sql: string, what: string][] = [
  ['SELECT a::int FROM t', "'::' casts"],
  ['SELECT a FROM t QUALIFY row_number() OVER (PARTITION BY a ORDER BY b NULLS LAST) = 1', 'QUALIFY'],
  ['SELECT * EXCLUDE (a) FROM t', 'SELECT * EXCLUDE/REPLACE'],
  ['SELECT COLUMNS(a) FROM t', 'COLUMNS(...) star expressions'],
  ['SELECT a, count(*) FROM t GROUP BY ALL', 'GROUP BY ALL / ORDER BY ALL'],
  ["SELECT a FROM t WHERE b ILIKE 'x%'", 'ILIKE'],
  ['SELECT * FROM t PIVOT (sum(a) FOR b IN (1))', 'PIVOT/UNPIVOT'],
  ['SELECT a FROM t ANTI JOIN u ON t.a = u.a', 'ASOF/POSITIONAL/ANTI/SEMI JOIN'],
  ['SELECT a FROM t USING SAMPLE 10%', 'USING SAMPLE'],
  ['SELECT a // 2 FROM t', "'//' integer division"],
  ['FROM t SELECT a', 'FROM-first queries'],
  ["SELECT * FROM 'x.parquet'", "reading files ('FROM 'file.parquet')"],
  ["SELECT strftime(ts, '%Y') FROM t", 'DuckDB-only functions'],
  ['SELECT CAST(a AS double) FROM t', 'CAST to double or float'],
  ['SELECT CAST(a AS FLOAT) FROM t', 'CAST to double or float'],
  [
    'SELECT CAST(a AS varchar) FROM t',
    'CAST to a string type without a length (varchar, string, text, char)',
  ],
  ['SELECT CAST(a AS string) FROM t', 'CAST to a string type without a length (varchar, string, text, char)'],
  [
    'SELECT CAST(a AS char(3)) FROM t',
    'CAST to a string type without a length (varchar, string, text, char)',
  ],
  ['SELECT CAST(a AS decimal) FROM t', 'CAST to decimal or numeric without precision and scale'],
  ['SELECT CAST(a AS numeric(10, 2)) FROM t', 'CAST to decimal or numeric without precision and scale'],
  ['SELECT CAST(a AS timestamp with time zone) FROM t', 'CAST to a type the four engines do not share'],
  ['SELECT CAST(a AS varchar(max)) FROM t', 'CAST to a type the four engines do not share'],
  ['SELECT try_cast(a AS bigint) FROM t', 'TRY_CAST / TRY(...)'],
  ["SELECT if(a > 0, 'x', 'y') FROM t", 'Trino-only functions'],
  ['SELECT year(d), day_of_week(d) FROM t', 'Trino-only functions'],
  ['SELECT nvl(a, 0) FROM t', 'Redshift/PostgreSQL-only functions'],
  ['SELECT left(a, 2) FROM t LEFT JOIN u ON t.a = u.a', 'Redshift/PostgreSQL-only functions'],
  [
    "SELECT listagg(a, ',') WITHIN GROUP (ORDER BY a) FROM t",
    'list, ordered-set and statistical aggregates (listagg, array_agg, WITHIN GROUP, percentile_cont, corr...)',
  ],
  ['SELECT avg(a) FROM t', 'avg, stddev or variance of a value not cast to double precision'],
  [
    'SELECT stddev(CAST(a AS decimal(10, 2))) FROM t',
    'avg, stddev or variance of a value not cast to double precision',
  ],
  ['SELECT greatest(a, b) FROM t', 'greatest / least'],
  ['SELECT concat(a, b) FROM t', 'concat(...)'],
  ["SELECT split_part(a, ',', 2) FROM t", "split_part(...) outside NULLIF(..., '')"],
  ['SELECT substr(a, -3) FROM t', 'substring / substr with a negative start'],
  ["SELECT regexp_like(a, 'x') FROM t", 'regular expressions (regexp_* functions, ~, SIMILAR TO, RLIKE)'],
  ["SELECT a FROM t WHERE a ~ 'x'", 'regular expressions (regexp_* functions, ~, SIMILAR TO, RLIKE)'],
  [
    "SELECT a FROM t WHERE a SIMILAR TO 'x%'",
    'regular expressions (regexp_* functions, ~, SIMILAR TO, RLIKE)',
  ],
  ['SELECT log(10, a) FROM t', 'log / log10 / log2 / dlog10'],
  ['SELECT md5(a) FROM t', 'hash functions (md5, sha1, sha256, ...)'],
  [
    "SELECT date_trunc('month', d) FROM t",
    "date_trunc outside CAST(... AS date|timestamp), or with a unit other than 'second' to 'year'",
  ],
  [
    "SELECT CAST(date_trunc('isoweek', d) AS date) FROM t",
    "date_trunc outside CAST(... AS date|timestamp), or with a unit other than 'second' to 'year'",
  ],
  [
    'SELECT EXTRACT(year FROM d) FROM t',
    'EXTRACT outside CAST(... AS integer), or of a field other than year, quarter, month, day, hour, minute',
  ],
  [
    'SELECT CAST(EXTRACT(dow FROM d) AS integer) FROM t',
    'EXTRACT outside CAST(... AS integer), or of a field other than year, quarter, month, day, hour, minute',
  ],
  [
    'SELECT current_timestamp',
    'the current time (now(), current_timestamp, localtimestamp, getdate(), sysdate...)',
  ],
  [
    'SELECT a FROM t WHERE ts < now()',
    'the current time (now(), current_timestamp, localtimestamp, getdate(), sysdate...)',
  ],
  ['SELECT random()', 'random or arbitrary values (random(), rand(), uuid(), any_value, arbitrary)'],
  ['SELECT count(*) FILTER (WHERE a > 0) FROM t', 'aggregate FILTER (WHERE ...)'],
  ['SELECT a FROM t WHERE a IS NOT DISTINCT FROM b', 'IS [NOT] DISTINCT FROM'],
  ["SELECT * FROM (VALUES (1, 'a')) AS v(id, name)", 'VALUES as a table'],
  [
    'SELECT x FROM t CROSS JOIN UNNEST(arr) AS u(x)',
    'arrays, maps, rows and lambdas (UNNEST, ARRAY[...], x[i], ROW(...), MAP(...), ->)',
  ],
  [
    'SELECT arr[1] FROM t',
    'arrays, maps, rows and lambdas (UNNEST, ARRAY[...], x[i], ROW(...), MAP(...), ->)',
  ],
  [
    'SELECT transform(arr, x -> x + 1) FROM t',
    'arrays, maps, rows and lambdas (UNNEST, ARRAY[...], x[i], ROW(...), MAP(...), ->)',
  ],
  ['SELECT a FROM t, LATERAL (SELECT 1 AS b) l', 'LATERAL'],
  ['SELECT a FROM t TABLESAMPLE BERNOULLI (10)', 'TABLESAMPLE'],
  [
    'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r',
    'WITH RECURSIVE',
  ],
  ['SELECT a FROM t ORDER BY a FETCH FIRST 10 ROWS ONLY', 'FETCH FIRST / FETCH NEXT'],
  ['SELECT TOP 10 a FROM t', 'SELECT TOP n'],
  ['SELECT DISTINCT ON (a) a, b FROM t', 'DISTINCT ON'],
  ['SELECT a FROM t MINUS SELECT a FROM u', 'MINUS, INTERSECT ALL, EXCEPT ALL'],
  ['SELECT a FROM t EXCEPT ALL SELECT a FROM u', 'MINUS, INTERSECT ALL, EXCEPT ALL'],
  ['SELECT id FROM t START WITH id = 1 CONNECT BY PRIOR id = parent', 'CONNECT BY'],
  ['SELECT sum(a) OVER w FROM t WINDOW w AS (PARTITION BY b)', 'WINDOW clause (named windows)'],
  [
    'SELECT sum(a) OVER (ORDER BY d RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM t',
    'RANGE or GROUPS window frames',
  ],
  [
    'SELECT sum(a) OVER (PARTITION BY b ORDER BY d) FROM t',
    'window ORDER BY without a ROWS frame (aggregates, first_value, last_value, nth_value)',
  ],
  [
    'SELECT last_value(a) OVER (ORDER BY d) FROM t',
    'window ORDER BY without a ROWS frame (aggregates, first_value, last_value, nth_value)',
  ],
  ['SELECT first_value(a) IGNORE NULLS OVER (PARTITION BY b) FROM t', 'IGNORE NULLS / RESPECT NULLS'],
  ['SELECT row_number() OVER (ORDER BY a DESC) FROM t', 'DESC without NULLS FIRST / NULLS LAST'],
  ["SELECT a FROM t WHERE a LIKE 'x\\_%'", 'LIKE pattern with a backslash but no ESCAPE'],
  ["SELECT ts AT TIME ZONE 'Europe/Paris' FROM t", "AT TIME ZONE other than 'UTC'"],
  ["SELECT d + INTERVAL '1 day' FROM t", "interval literals other than INTERVAL 'n' UNIT"],
  ['SELECT d + INTERVAL 1 DAY FROM t', "interval literals other than INTERVAL 'n' UNIT"],
  ["SELECT d - INTERVAL '-1' DAY FROM t", "interval literals other than INTERVAL 'n' UNIT"],
  ['SELECT a AS "Total" FROM t', 'quoted identifiers with upper-case letters'],
];

/** Portable SQL, some of it close to a refused construct. */
const ACCEPTED: readonly string[] = [
  'SELECT CAST(a AS double precision) / 2 AS half FROM t',
  'SELECT CAST(a AS decimal(18, 2)), CAST(a AS varchar(20)), CAST(a AS bigint), CAST(a AS date) FROM t',
  "SELECT CAST(date_trunc('month', d) AS date), CAST(EXTRACT(year FROM d) AS integer) FROM t",
  "SELECT CAST(o.ts AT TIME ZONE 'UTC' AS date) FROM t o",
  "SELECT CAST((ts AT TIME ZONE 'UTC') AT TIME ZONE 'Europe/Paris' AS timestamp) FROM t",
  "SELECT CAST(d + INTERVAL '7' DAY AS date), ts - INTERVAL '2' HOUR FROM t",
  'SELECT row_number() OVER (PARTITION BY a ORDER BY b DESC NULLS LAST) AS rn, lag(a) OVER (ORDER BY b) FROM t',
  'SELECT sum(a) OVER (ORDER BY d ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), sum(a) OVER () FROM t',
  'SELECT SUM(SUM(a)) OVER (PARTITION BY b) FROM t GROUP BY b, c',
  "SELECT NULLIF(split_part(a, ',', 2), ''), substring(a, 2, 3), strpos(a, 'x'), a || b FROM t",
  "SELECT a FROM t WHERE a LIKE 'x!_%' ESCAPE '!' AND b LIKE 'y\\%' ESCAPE '\\'",
  'SELECT avg(CAST(a AS double precision)), avg(DISTINCT CAST(a AS double precision)) FROM t',
  'SELECT count(CASE WHEN a > 0 THEN 1 END), count(DISTINCT b) FROM t GROUP BY GROUPING SETS ((c), ())',
  'SELECT a FROM t WHERE (a = b OR (a IS NULL AND b IS NULL)) AND current_date > d ORDER BY a LIMIT 5',
  'WITH s AS (SELECT a FROM t) SELECT a FROM s UNION ALL SELECT a FROM u EXCEPT SELECT a FROM v',
  'SELECT "lower_case" FROM "lake"."orders" AS o LEFT JOIN "lake"."products" p ON p.id = o.id',
];

describe('checkPortableSql (SQL that Athena, Redshift, DuckDB and PostgreSQL all run alike)', () => {
  it.each(REFUSED)('refuses %s (%s)', (sql, what) => {
    expect(portableSqlFindings(sql).map((f) => f.what)).toContain(what);
    expect(() => checkPortableSql(sql, 'gold model m.sql')).toThrow(GoldModelError);
  });

  it.each(ACCEPTED)('accepts %s', (sql) => {
    expect(portableSqlFindings(sql)).toEqual([]);
    expect(() => checkPortableSql(sql)).not.toThrow();
  });

  it('has an example above for every rule, so no rule is left untested', () => {
    const exercised = new Set(REFUSED.map(([, what]) => what));
    expect(PORTABLE_SQL_RULES.map((r) => r.what).filter((what) => !exercised.has(what))).toEqual([]);
  });

  it('ignores constructs inside string literals, quoted names and comments', () => {
    const sql = [
      '-- CAST(a AS double) FILTER (WHERE x) now() concat( DESC',
      "SELECT 'x::y greatest( DESC INTERVAL ''1 day''' AS \"desc\", /* IS DISTINCT FROM */ a",
      'FROM t',
    ].join('\n');
    expect(portableSqlFindings(sql)).toEqual([]);
  });

  it('names each construct with its line (counted from firstLine) and what to write instead', () => {
    const sql = 'SELECT\n  CAST(a AS double) AS x,\n  greatest(a, b) AS y\nFROM t';
    expect(() => checkPortableSql(sql, 'gold model m.sql', 10)).toThrow(
      [
        'gold model m.sql: not portable SQL (Athena, Redshift, DuckDB and PostgreSQL must all run it alike):',
        "  - CAST to double or float (line 11: 'CAST(a AS double)'): use CAST(x AS double precision) (Trino reads it too)",
        "  - greatest / least (line 12: 'greatest('): use CASE WHEN a >= b THEN a ELSE b END, with COALESCE where a value can be null",
      ].join('\n'),
    );
  });

  it('reports every occurrence with its line and column, in query order', () => {
    const findings = portableSqlFindings('SELECT greatest(a, b),\n  least(c, d) FROM t ORDER BY a DESC', 5);
    expect(findings.map((f) => [f.line, f.column, f.what])).toEqual([
      [5, 8, 'greatest / least'],
      [6, 3, 'greatest / least'],
      [6, 33, 'DESC without NULLS FIRST / NULLS LAST'],
    ]);
  });

  it('includes every DuckDB-only rule of dialect.ts, with portable advice where it pointed at Trino-only SQL', () => {
    const whats = PORTABLE_SQL_RULES.map((r) => r.what);
    for (const rule of DUCKDB_ONLY_SYNTAX) expect(whats).toContain(rule.what);
    const functions = PORTABLE_SQL_RULES.find((r) => r.what === 'DuckDB-only functions');
    expect(functions?.instead).not.toMatch(/date_format|max_by|approx_percentile|date_diff|cardinality/);
    expect(PORTABLE_SQL_RULES.find((r) => r.what === 'PIVOT/UNPIVOT')?.instead).not.toMatch(/UNNEST/);
    expect(PORTABLE_SQL_RULES.find((r) => r.what === 'USING SAMPLE')?.instead).not.toMatch(/TABLESAMPLE/);
  });

  it('gives every rule a source: a documentation URL, or dialect.ts for the DuckDB-only syntax', () => {
    for (const rule of PORTABLE_SQL_RULES) {
      for (const source of rule.source.split(', ')) {
        expect(source).toMatch(
          /^(https:\/\/(docs\.aws\.amazon\.com|trino\.io|www\.postgresql\.org)\/|core\/gold\/dialect\.ts$)/,
        );
      }
    }
  });

  it('renders the rules and the notes as a Markdown table and list', () => {
    const md = portableSqlMarkdown();
    expect(md.split('\n')[0]).toBe('| Refused | Write instead | Why | Source |');
    // The header, its separator and a row per rule.
    expect(md.split('\n').filter((line) => line.startsWith('| ')).length).toBe(PORTABLE_SQL_RULES.length + 2);
    expect(md).toContain(
      '| IS [NOT] DISTINCT FROM | (a = b OR (a IS NULL AND b IS NULL)), negated with NOT (...) |',
    );
    // A '|' inside a cell is escaped, so the row keeps its four cells.
    expect(md).toContain('a \\|\\| b');
    for (const note of PORTABLE_SQL_NOTES) expect(md).toContain(`- ${note}`);
  });
});
