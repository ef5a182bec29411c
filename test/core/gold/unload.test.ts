import { AthenaSqlError } from '../../../core/errors';
import { parseUnload, partitionedUnloadStatement, unloadStatement } from '../../../core/gold/unload';

const build = (sql: string, location: string) => {
  const { before, after } = unloadStatement(sql);
  return `${before}${location}${after}`;
};

describe('UNLOAD: built for the workflow, parsed by the local Athena', () => {
  it('round-trips the SELECT, the location, the format and the compression', () => {
    const sql = 'SELECT a, b FROM t -- a trailing comment\n;';
    expect(parseUnload(build(sql, 's3://gold/m/v=run-1/'))).toEqual({
      select: 'SELECT a, b FROM t -- a trailing comment',
      location: 's3://gold/m/v=run-1/',
      format: 'PARQUET',
      compression: 'ZSTD',
      partitionedBy: [],
    });
  });

  it('keeps a WITH ... SELECT and parentheses inside the query intact', () => {
    const sql = 'WITH x AS (SELECT (1 + 2) AS n) SELECT n FROM x';
    expect(parseUnload(build(sql, 's3://gold/m/v=1/'))?.select).toBe(sql);
  });

  it('is undefined for a statement that is not an UNLOAD', () => {
    expect(parseUnload('SELECT 1')).toBeUndefined();
  });

  it('refuses an option it cannot read', () => {
    expect(() => parseUnload("UNLOAD (SELECT 1) TO 's3://b/p/' WITH (format = PARQUET)")).toThrow(
      AthenaSqlError,
    );
  });
});

describe('parseUnload', () => {
  it('reads the statement the gold workflow assembles', () => {
    expect(
      parseUnload(
        "UNLOAD (\nSELECT 1 AS a\n) TO 's3://gold/m/v=x/' WITH (format = 'PARQUET', compression = 'ZSTD')",
      ),
    ).toEqual({
      select: 'SELECT 1 AS a',
      location: 's3://gold/m/v=x/',
      format: 'PARQUET',
      compression: 'ZSTD',
      partitionedBy: [],
    });
    expect(parseUnload('SELECT 1')).toBeUndefined();
  });
});

/** Quotes, braces, a backslash and a trailing comment exercise the escaping. */
const FIXTURE_A =
  "-- revenue\nSELECT '{x}' AS braces, regexp_like(id, '^C\\d{3}$') AS legacy\nFROM t -- no ORDER BY\n";

describe('unloadStatement', () => {
  const expected = (select: string, location: string) =>
    `UNLOAD (\n${select}\n) TO '${location}' WITH (format = 'PARQUET', compression = 'ZSTD')`;

  test.each([
    ['quotes, braces, backslash, trailing comment', FIXTURE_A, FIXTURE_A.trim()],
    ['a trailing semicolon is dropped', '  SELECT 1;;\n', 'SELECT 1'],
    ['a backslash before a brace', "SELECT '\\{' AS x, '}{' AS y", "SELECT '\\{' AS x, '}{' AS y"],
  ])('wraps the SELECT around the location, verbatim: %s', (_, text, select) => {
    const { before, after } = unloadStatement(text);
    expect(`${before}s3://gold/a/v=run-1/${after}`).toBe(expected(select, 's3://gold/a/v=run-1/'));
  });
});

describe('partitionedUnloadStatement', () => {
  it('writes the statement of an incremental model exactly', () => {
    expect(
      partitionedUnloadStatement(
        'SELECT store, amount, sales_date FROM t;\n',
        's3://gold/daily_sales/v=run-1/0/',
        ['sales_date'],
      ),
    ).toBe(
      "UNLOAD (\nSELECT store, amount, sales_date FROM t\n) TO 's3://gold/daily_sales/v=run-1/0/' " +
        "WITH (format = 'PARQUET', compression = 'ZSTD', partitioned_by = ARRAY['sales_date'])",
    );
  });

  it('round-trips through parseUnload: the SELECT, the location (a quote in it escaped), the partition columns', () => {
    const select = "SELECT 'a,b' AS s, [1, 2] AS xs, region, sales_date FROM t -- a comment, with a comma";
    const location = "s3://gold/it's/v=1/";
    const statement = partitionedUnloadStatement(select, location, ['region', 'sales_date']);
    expect(statement).toContain("TO 's3://gold/it''s/v=1/'");
    expect(statement).toContain("partitioned_by = ARRAY['region', 'sales_date']");
    expect(parseUnload(statement)).toEqual({
      select,
      location,
      format: 'PARQUET',
      compression: 'ZSTD',
      partitionedBy: ['region', 'sales_date'],
    });
  });

  it('refuses an empty list of partition columns', () => {
    expect(() => partitionedUnloadStatement('SELECT 1', 's3://g/m/', [])).toThrow(/no partition column/);
  });
});

describe('parseUnload: the partitioned_by option', () => {
  it('reads ARRAY[...] wherever it stands among the options, in any case', () => {
    expect(
      parseUnload(
        "UNLOAD (SELECT 1 AS a, 2 AS d) TO 's3://g/m/' WITH (partitioned_by = array[ 'd' ], format = 'PARQUET')",
      ),
    ).toMatchObject({ format: 'PARQUET', compression: undefined, partitionedBy: ['d'] });
  });

  it('refuses partitioned_by that is not an ARRAY of string literals, and ARRAY for another option', () => {
    for (const options of [
      "format = 'PARQUET', partitioned_by = 'd'",
      "format = 'PARQUET', partitioned_by = ARRAY[d]",
      "format = 'PARQUET', partitioned_by = ARRAY[]",
      "format = ARRAY['PARQUET']",
    ]) {
      expect(() => parseUnload(`UNLOAD (SELECT 1) TO 's3://g/m/' WITH (${options})`)).toThrow(AthenaSqlError);
    }
  });
});
