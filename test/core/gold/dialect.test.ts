import { AthenaSqlError } from '../../../core/errors';
import { checkAthenaSql } from '../../../core/gold/dialect';

describe('checkAthenaSql (the DuckDB-only deny-list)', () => {
  it.each([
    ['SELECT a::int FROM t', "'::' casts"],
    ['SELECT a FROM t QUALIFY row_number() OVER (PARTITION BY a) = 1', 'QUALIFY'],
    ['SELECT * EXCLUDE (a) FROM t', 'SELECT * EXCLUDE/REPLACE'],
    ["SELECT strftime(ts, '%Y') FROM t", 'DuckDB-only functions'],
    ['SELECT a, count(*) FROM t GROUP BY ALL', 'GROUP BY ALL / ORDER BY ALL'],
    ["SELECT * FROM 'x.parquet'", 'reading files'],
    ['FROM t SELECT a', 'FROM-first queries'],
    ["SELECT a FROM t WHERE b ILIKE 'x%'", 'ILIKE'],
  ])('refuses %s', (sql, what) => {
    expect(() => checkAthenaSql(sql, 'gold model m')).toThrow(AthenaSqlError);
    expect(() => checkAthenaSql(sql, 'gold model m')).toThrow(
      new RegExp(
        `^gold model m: DuckDB-only syntax, Athena would refuse it:\\n  - ${what.replace(/[()*/]/g, '\\$&')}`,
      ),
    );
  });

  it('names the line and what to write instead', () => {
    expect(() => checkAthenaSql('SELECT\n  a,\n  b::date\nFROM t')).toThrow(
      "'::' casts (line 3: '::'): use CAST(x AS type)",
    );
  });

  it('accepts Athena SQL, and DuckDB-looking text inside literals, quoted names and comments', () => {
    expect(() =>
      checkAthenaSql(
        '-- a::b QUALIFY strftime(\nSELECT CAST(a AS int) AS "x::y", \'QUALIFY ::\' AS s /* GROUP BY ALL */\nFROM t GROUP BY 1',
      ),
    ).not.toThrow();
  });
});
