import { AthenaSqlError } from '../../../core/errors';
import { parseUnload, unloadStatement } from '../../../core/gold/unload';

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
    });
    expect(parseUnload('SELECT 1')).toBeUndefined();
  });
});
