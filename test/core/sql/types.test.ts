import { athenaTypeOf, duckDbType, isAthenaType, splitTopLevel } from '../../../core/sql/types';

describe('type maps between DuckDB (silver files) and Athena (the catalog)', () => {
  it.each([
    ['VARCHAR', 'string'],
    ['INTEGER', 'int'],
    ['BIGINT', 'bigint'],
    ['DOUBLE', 'double'],
    ['BOOLEAN', 'boolean'],
    ['DATE', 'date'],
    ['DECIMAL(12,2)', 'decimal(12,2)'],
  ])('%s <-> %s are inverses', (duck, athena) => {
    expect(athenaTypeOf(duck)).toBe(athena);
    expect(duckDbType(athena)).toBe(duck);
  });

  it('a TIMESTAMPTZ column is declared timestamp (UTC-adjusted Parquet) and read back as TIMESTAMP', () => {
    expect(athenaTypeOf('TIMESTAMPTZ')).toBe('timestamp');
    expect(duckDbType('timestamp')).toBe('TIMESTAMP');
  });

  it('fails on a type it does not know, in both directions', () => {
    expect(() => athenaTypeOf('HUGEINT')).toThrow("no Athena type for the silver column type 'HUGEINT'");
    expect(() => duckDbType('array<int>')).toThrow("no DuckDB type for the catalog type 'array<int>'");
  });

  it('every type athenaTypeOf produces is a valid Athena type', () => {
    for (const t of [
      'VARCHAR',
      'INTEGER',
      'BIGINT',
      'DOUBLE',
      'BOOLEAN',
      'DATE',
      'TIMESTAMPTZ',
      'DECIMAL(38,9)',
    ])
      expect(isAthenaType(athenaTypeOf(t))).toBe(true);
  });
});

describe('isAthenaType', () => {
  it.each(['string', 'decimal(10, 2)', 'array<int>', 'map<string,array<double>>', 'struct<a:int,b:string>'])(
    'accepts %s',
    (t) => expect(isAthenaType(t)).toBe(true),
  );
  it.each(['text', 'map<array<int>,int>', 'array<int', 'struct<A:int>'])('refuses %s', (t) =>
    expect(isAthenaType(t)).toBe(false),
  );
});

describe('splitTopLevel', () => {
  it('splits on top-level commas only', () => {
    expect(splitTopLevel('a,b<c,d>,e(f,g)')).toEqual(['a', 'b<c,d>', 'e(f,g)']);
  });
  it('is undefined when brackets do not balance', () => {
    expect(splitTopLevel('a<b')).toBeUndefined();
    expect(splitTopLevel('a>b')).toBeUndefined();
  });
});
