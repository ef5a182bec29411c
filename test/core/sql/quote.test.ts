import { DuckDBInstance } from '@duckdb/node-api';
import { sqlIdent, sqlString } from '../../../core/sql/quote';

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
