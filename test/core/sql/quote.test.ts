import { DuckDBInstance } from '@duckdb/node-api';
import { splitSqlList, sqlIdent, sqlString } from '../../../core/sql/quote';

describe('SQL quoting', () => {
  it('doubles the quote character', () => {
    expect(sqlString("it's")).toBe("'it''s'");
    expect(sqlIdent('a"b')).toBe('"a""b"');
  });

  it('DuckDB reads hostile text and names back exactly', async () => {
    const text = `it's "quoted" -- not a comment; DROP TABLE x; \\ \n end`;
    const name = `we"ird name; --`;
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    try {
      const reader = await c.runAndReadAll(`SELECT ${sqlString(text)} AS ${sqlIdent(name)}`);
      expect(reader.getRowObjects()).toEqual([{ [name]: text }]);
    } finally {
      c.closeSync();
    }
  });
});

describe('splitSqlList', () => {
  it('splits at top-level commas, keeping string literals (doubled quotes too) and brackets whole', () => {
    expect(splitSqlList("a, 'x, y', f(b, c), ARRAY['p', 'q'], 'it''s, here'")).toEqual([
      'a',
      "'x, y'",
      'f(b, c)',
      "ARRAY['p', 'q']",
      "'it''s, here'",
    ]);
  });

  it('is empty for nothing, and undefined when quotes or brackets do not balance', () => {
    expect(splitSqlList('  ')).toEqual([]);
    expect(splitSqlList("a, 'b")).toBeUndefined();
    expect(splitSqlList('f(a, b')).toBeUndefined();
    expect(splitSqlList('a)')).toBeUndefined();
  });
});
