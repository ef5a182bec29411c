import { qualifiedNames } from '../../../local/redshift/sql-names';

describe('qualifiedNames (the schema.table pairs the Spectrum loader reads)', () => {
  it('finds quoted and unquoted pairs, folding unquoted names to lower case, each once', () => {
    expect(
      qualifiedNames(`SELECT o.id FROM "lake"."orders" o JOIN Lake.Products p ON p.id = o.id
        JOIN "Lake" . "Mixed""Name" m ON true, lake.orders`),
    ).toEqual([
      { schema: 'o', table: 'id' },
      { schema: 'lake', table: 'orders' },
      { schema: 'lake', table: 'products' },
      { schema: 'p', table: 'id' },
      { schema: 'Lake', table: 'Mixed"Name' },
    ]);
  });

  it('ignores names inside string literals, E-strings, dollar quotes and comments', () => {
    expect(
      qualifiedNames(`SELECT 'lake.a', E'it\\'s lake.b', $tag$ lake.c $tag$, $$lake.d$$ -- lake.e
        /* lake.f /* nested lake.g */ lake.h */ FROM lake.real WHERE x = $1`),
    ).toEqual([{ schema: 'lake', table: 'real' }]);
  });

  it('reads both pairs of a three-part name, and no pair across a number', () => {
    expect(qualifiedNames('SELECT 1.5, dev.lake.orders FROM t')).toEqual([
      { schema: 'dev', table: 'lake' },
      { schema: 'lake', table: 'orders' },
    ]);
  });
});
