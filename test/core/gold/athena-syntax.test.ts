/** The positive Athena (Trino) syntax check: a corpus of valid Trino SQL it must accept, DuckDB-only SQL it must refuse. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser as AthenaGrammar } from 'node-sql-parser/build/athena';
import { Parser as TrinoGrammar } from 'node-sql-parser/build/trino';
import { athenaSyntaxFindings, athenaSyntaxProblems } from '../../../core/gold/athena-syntax';

const ROOT = join(__dirname, '..', '..', '..');

/**
 * Valid Trino SQL, one construct each: node-sql-parser's trino grammar alone refuses 18 of them and its
 * athena grammar 25 (AT TIME ZONE, sum(DISTINCT), INTERSECT, IGNORE NULLS, ...), so the check must not.
 */
const VALID_TRINO: readonly string[] = [
  "SELECT CAST(ts AT TIME ZONE 'UTC' AS date) AS d FROM t",
  'SELECT CAST(x AS DOUBLE PRECISION) / CAST(y AS double  precision) AS share FROM t',
  "SELECT date_add('day', 1, d) FROM t",
  "SELECT d + INTERVAL '1' DAY FROM t",
  'SELECT CAST(x AS decimal(18, 2)) FROM t',
  'SELECT TRY_CAST(x AS bigint) FROM t',
  "SELECT ARRAY['x', 'y'] AS a FROM t",
  'SELECT a[1] FROM t',
  'SELECT x FROM t CROSS JOIN UNNEST(arr) AS u(x)',
  'SELECT max_by(a, b) FROM t',
  'SELECT transform(arr, x -> x + 1) FROM t',
  "SELECT DATE '2024-01-01' AS d",
  "SELECT TIMESTAMP '2024-01-01 00:00:00' AS d",
  'SELECT row_number() OVER (PARTITION BY a ORDER BY b DESC) AS rn FROM t',
  'SELECT sum(x) OVER (ORDER BY d ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM t',
  'WITH s AS (SELECT 1 AS x) SELECT x FROM s',
  'SELECT 1 AS x UNION ALL SELECT 2',
  'SELECT a IS DISTINCT FROM b FROM t',
  'SELECT count(*) FILTER (WHERE x > 0) FROM t',
  "SELECT if(x > 0, 'a', 'b') FROM t",
  'SELECT extract(year FROM d) FROM t',
  'SELECT a, b, count(*) FROM t GROUP BY GROUPING SETS ((a), (a, b))',
  'SELECT a FROM t ORDER BY a FETCH FIRST 10 ROWS ONLY',
  'SELECT a FROM t LIMIT 10',
  "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(id, name)",
  'SELECT * FROM t TABLESAMPLE BERNOULLI (10)',
  "SELECT CAST(ROW(1, 'a') AS ROW(x int, y varchar)) FROM t",
  'SELECT "a b" FROM "lake"."t"',
  'SELECT current_date',
  'SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.a = t.a)',
  'SELECT a || b FROM t',
  "SELECT a FROM t WHERE a LIKE 'x!%' ESCAPE '!'",
  'SELECT COUNT(DISTINCT a) FROM t',
  'SELECT ROUND(SUM(a), 2) FROM t',
  "SELECT CASE WHEN a = 1 THEN 'x' ELSE 'y' END FROM t",
  "SELECT current_date - INTERVAL '7' DAY",
  'SELECT approx_percentile(x, 0.5) FROM t',
  "SELECT map(ARRAY['a'], ARRAY[1]) FROM t",
  "SELECT json_extract_scalar(j, '$.a') FROM t",
  'SELECT o.a FROM "lake"."orders" o LEFT JOIN "lake"."products" p ON p.id = o.id',
  "SELECT a FROM t WHERE dt IN ('2024-01-01', '2024-01-02')",
  "SELECT a FROM t WHERE d BETWEEN DATE '2024-01-01' AND DATE '2024-02-01'",
  'SELECT 1;',
  'select a from t where a is not null',
  'SELECT CAST(NULL AS double) AS x',
  'SELECT SUM(SUM(x)) OVER () FROM t GROUP BY a',
  "SELECT ts AT TIME ZONE 'UTC' FROM t",
  'SELECT CAST(x AS timestamp with time zone) FROM t',
  '-- a comment\nSELECT /* inline */ 1',
  'SELECT a FROM t ORDER BY a DESC NULLS LAST',
  'SELECT CAST(a AS varchar) FROM t',
  "SELECT date_diff('day', a, b) FROM t",
  "SELECT regexp_like(a, '^C\\d{3}$') FROM t",
  'SELECT a AS "My Col" FROM t',
  'SELECT a FROM t ORDER BY a OFFSET 5 LIMIT 10',
  'SELECT a, count(*) FROM t GROUP BY a HAVING count(*) > 1',
  'SELECT a FROM t INTERSECT SELECT a FROM u',
  'SELECT a FROM t EXCEPT SELECT a FROM u',
  'SELECT * FROM t CROSS JOIN u',
  'SELECT * FROM t FULL OUTER JOIN u ON t.a = u.a',
  'SELECT * FROM t JOIN u USING (a)',
  'SELECT a FROM t WHERE a NOT IN (1, 2)',
  'SELECT NULLIF(a, 0) FROM t',
  'SELECT greatest(a, b) FROM t',
  'SELECT array_agg(x ORDER BY y) FROM t',
  "SELECT listagg(x, ',') WITHIN GROUP (ORDER BY x) FROM t",
  'SELECT a FROM t WHERE a IN (SELECT a FROM u)',
  "SELECT date_format(ts, '%Y-%m') FROM t",
  'SELECT CAST(x AS timestamp(3)) FROM t',
  "SELECT ts AT TIME ZONE 'Europe/Paris' FROM t",
  'SELECT current_timestamp',
  'SELECT a % 2 FROM t',
  'SELECT -a FROM t',
  'SELECT (SELECT max(a) FROM u) AS m FROM t',
  'SELECT t.* FROM t',
  'SELECT DISTINCT a FROM t',
  "SELECT CASE a WHEN 1 THEN 'x' END FROM t",
  "SELECT element_at(m, 'k') FROM t",
  'SELECT lag(x, 1) OVER (PARTITION BY a ORDER BY d) FROM t',
  'SELECT last_value(x) IGNORE NULLS OVER (ORDER BY d) FROM t',
  "SELECT sum(x) OVER (ORDER BY d RANGE BETWEEN INTERVAL '1' DAY PRECEDING AND CURRENT ROW) FROM t",
  'SELECT 1e3',
  "SELECT DECIMAL '1.20'",
  'SELECT CAST(x AS real) FROM t',
  'SELECT try(a / b) FROM t',
  'SELECT r.x FROM (SELECT CAST(ROW(1) AS ROW(x int)) AS r) s',
  'SELECT a, b, sum(x) FROM t GROUP BY ROLLUP (a, b)',
  'SELECT a FROM t WHERE NOT EXISTS (SELECT 1 FROM u)',
  'WITH a AS (SELECT 1 AS x), b AS (SELECT x FROM a) SELECT * FROM b',
  'SELECT a FROM t UNION SELECT a FROM u ORDER BY a',
  'SELECT a, count(*) FROM t GROUP BY 1',
  'SELECT s.a FROM (SELECT a FROM t) AS s',
  'SELECT * FROM t, LATERAL (SELECT a FROM u WHERE u.b = t.b) x',
  'SELECT x, n FROM t CROSS JOIN UNNEST(arr) WITH ORDINALITY AS u(x, n)',
  'SELECT rank() OVER w FROM t WINDOW w AS (ORDER BY a)',
  'SELECT CAST(j AS json) FROM t',
  "SELECT date_trunc('month', d) FROM t",
  "SELECT a FROM t WHERE a NOT LIKE 'x%'",
  'SELECT a FROM t WHERE a IS NOT NULL AND b IS NULL',
  "SELECT COALESCE(a, b, 'c') FROM t",
  'SELECT ARRAY[] FROM t',
  "SELECT 'it''s' FROM t",
  'SELECT true AND false',
  "SELECT ts + INTERVAL '3' HOUR FROM t",
  'SELECT from_unixtime(x) FROM t',
  'SELECT sum(DISTINCT a) FROM t',
  'SELECT * FROM (SELECT * FROM "lake"."orders" WHERE "dt" IN (\'2024-01-01\')) o',
  'SELECT a FROM t ORDER BY 1 DESC',
  "SELECT 1 AS x, 'a' AS y",
  'SELECT count_if(x > 0) FROM t',
  'SELECT * FROM "orders"',
  'SELECT CAST(x AS varchar(10)) FROM t',
  'SELECT CAST(x AS array(varchar)) FROM t',
  'SELECT CAST(x AS map(varchar, integer)) FROM t',
];

/** Every gold model the project ships or tests with, its refs rendered at the same length. */
function modelFiles(): string[] {
  const dirs = [
    'samples/models',
    'test/e2e/fixtures/compaction/models',
    'test/e2e/fixtures/current-state/models',
    'test/e2e/fixtures/incremental-gold/models',
    'test/e2e/fixtures/gold-failures/models',
    'test/core/gold/fixtures/gold-models',
    'test/lib/gold/fixtures/gold',
  ];
  return dirs.flatMap((d) =>
    readdirSync(join(ROOT, d))
      .filter((f) => f.endsWith('.sql'))
      .map((f) => join(d, f)),
  );
}

const renderRefs = (sql: string) =>
  sql.replace(/\{\{\s*ref\(\s*(['"])([^'"]*)\1\s*\)\s*\}\}/g, (m, _q, name: string) =>
    `"${name}"`.padEnd(m.length),
  );

describe('athenaSyntaxProblems', () => {
  it.each(VALID_TRINO)('accepts valid Trino SQL: %s', (sql) => {
    expect(athenaSyntaxProblems(sql)).toEqual([]);
  });

  it('accepts every gold model of the samples and of the tests', () => {
    const files = modelFiles();
    expect(files.length).toBeGreaterThanOrEqual(11);
    for (const file of files) {
      expect({
        file,
        problems: athenaSyntaxProblems(renderRefs(readFileSync(join(ROOT, file), 'utf8'))),
      }).toEqual({
        file,
        problems: [],
      });
    }
  });

  it.each([
    ['SELECT count(*)::bigint AS n FROM t', 1, 16, /'::' casts.*CAST\(x AS type\)/],
    ['SELECT a FROM t\nQUALIFY row_number() OVER (PARTITION BY a) = 1', 2, 1, /QUALIFY/],
    ["SELECT a FROM t WHERE a ILIKE 'x%'", 1, 25, /ILIKE.*lower\(x\) LIKE/],
    ['SELECT * EXCLUDE (a) FROM t', 1, 8, /EXCLUDE/],
    ['SELECT a, count(*) FROM t GROUP BY ALL', 1, 27, /GROUP BY ALL/],
    ['FROM t SELECT a', 1, 1, /FROM-first/],
    ['SELECT a // 2 FROM t', 1, 10, /integer division/],
    ["SELECT * FROM 'x.parquet'", 1, 10, /reading files/],
    ['SELECT a FROM t POSITIONAL JOIN u', 1, 17, /POSITIONAL/],
    ["SELECT strftime(d, '%Y') FROM t", 1, 8, /DuckDB-only functions.*date_format/],
    ['SELECT `a` FROM t', 1, 8, /backquoted.*"name"/],
    ['SELECT a FROM t WHERE a == 1', 1, 25, /'=='/],
    ['SELECT a FROM t LIMIT 1, 2', 1, 17, /OFFSET <offset> LIMIT <count>/],
    ['SELECT 1; SELECT 2', 1, 9, /one statement/],
  ])('refuses DuckDB-only SQL: %s (line %d, column %d)', (sql, line, column, message) => {
    const problems = athenaSyntaxProblems(sql);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line, column });
    expect(problems[0].message).toMatch(message);
  });

  it.each([
    ['SELECT count(a\nFROM t', 2, 1, "'FROM'"],
    ['SELEC a FROM t', 1, 7, "'a'"],
    ['SELECT [1, 2] AS l', 1, 8, "'['"],
    ["SELECT {'a': 1} AS s", 1, 8, "'{'"],
    ['SELECT a FROM t WHERE', 1, 22, 'end of query'],
  ])('refuses what Trino cannot parse, where the parse stopped: %s', (sql, line, column, near) => {
    const [problem, ...more] = athenaSyntaxFindings(sql);
    expect(more).toEqual([]);
    expect(problem).toMatchObject({ line, column });
    expect(problem.message).toBe(`Athena (Trino) cannot parse this: unexpected ${near}`);
    expect(problem.fix).toContain(near);
  });

  it('reports every DuckDB-only construct with its own line, not only the first of each kind', () => {
    const sql = 'SELECT a::int,\n  b::int\nFROM t';
    expect(athenaSyntaxProblems(sql).map((p) => [p.line, p.column])).toEqual([
      [1, 9],
      [2, 4],
    ]);
  });

  it('ignores what looks like DuckDB syntax inside string literals, quoted identifiers and comments', () => {
    const sql = `SELECT 'a::b // QUALIFY' AS "x::y", 1 AS n -- GROUP BY ALL\n/* ILIKE */ FROM t`;
    expect(athenaSyntaxProblems(sql)).toEqual([]);
  });

  it('says one thing about a line the deny-list explains, not also that the parse failed there', () => {
    const problems = athenaSyntaxProblems('SELECT a FROM t QUALIFY x = 1');
    expect(problems).toHaveLength(1);
    expect(problems[0].message).toMatch(/^DuckDB-only syntax, Athena refuses it: QUALIFY/);
  });

  it("needs its rewrites: node-sql-parser's grammars alone refuse valid Trino (measured on the corpus)", () => {
    const refused = (database: string, grammar: { astify(sql: string, o: object): unknown }) =>
      VALID_TRINO.filter((sql) => {
        try {
          grammar.astify(sql, { database });
          return false;
        } catch {
          return true;
        }
      }).length;
    // An upgrade of node-sql-parser that changes these counts: see which rewrites are still needed.
    expect(refused('trino', new TrinoGrammar())).toBe(19);
    expect(refused('athena', new AthenaGrammar())).toBe(26);
    // ...and its trino grammar accepts DuckDB-only syntax, which the deny-list catches.
    for (const sql of ['SELECT a::int FROM t', "SELECT a FROM t WHERE a ILIKE 'x'", 'SELECT a // 2 FROM t']) {
      expect(() => new TrinoGrammar().astify(sql, { database: 'trino' })).not.toThrow();
      expect(athenaSyntaxProblems(sql)).toHaveLength(1);
    }
  });

  it('checks a model in a few milliseconds (the whole corpus within a second)', () => {
    const t0 = Date.now();
    for (const sql of VALID_TRINO) athenaSyntaxProblems(sql);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
