import { mapCsvHeader, mapJsonKeys } from '../../../core/contracts/column-mapping';
import { type DatasetContractInput, parseContract } from '../../../core/contracts/dataset-contract';

/** A valid contract with these columns (every one a string; the first is the key, `day` the partition). */
function contract(columns: DatasetContractInput['columns']) {
  return parseContract(
    {
      domain: 'retail',
      dataset: 'sales',
      source: { format: 'csv' },
      columns: [...columns, { name: 'day', type: 'date', required: true }],
      primaryKey: [columns[0].name],
      partition: { column: 'day' },
    },
    'sales.yaml',
  );
}

const col = (name: string, from?: string) => ({
  name,
  type: 'string',
  required: true,
  ...(from === undefined ? {} : { from }),
});

describe('mapCsvHeader', () => {
  it('maps each column to the position of its name in the header, whatever the order', () => {
    const mapping = mapCsvHeader(contract([col('sale_id'), col('store')]), ['day', 'store', 'sale_id']);
    expect(mapping.sources).toEqual(
      new Map([
        ['sale_id', 2],
        ['store', 1],
        ['day', 0],
      ]),
    );
    expect(mapping.unknown).toEqual([]);
  });

  it('falls back to a case- and surrounding-space-insensitive match', () => {
    const mapping = mapCsvHeader(contract([col('sale_id'), col('store')]), [' SALE_ID ', 'Store', 'Day']);
    expect([...mapping.sources]).toEqual([
      ['sale_id', 0],
      ['store', 1],
      ['day', 2],
    ]);
  });

  it('does not ignore spaces inside a name', () => {
    const mapping = mapCsvHeader(contract([col('sale_id')]), ['sale id', 'day']);
    expect(mapping.sources.get('sale_id')).toBeUndefined();
    expect(mapping.unknown).toEqual([{ name: 'sale id', position: 0 }]);
  });

  it('prefers the exact name over an earlier case-insensitive one', () => {
    const mapping = mapCsvHeader(contract([col('store')]), ['STORE', 'store', 'day']);
    expect(mapping.sources.get('store')).toBe(1);
    expect(mapping.unknown).toEqual([{ name: 'STORE', position: 0 }]);
  });

  it('looks a column up by its `from` name, exactly or insensitively, and not by its own name', () => {
    const exact = mapCsvHeader(contract([col('sale_id', 'Sale ID')]), ['sale_id', 'Sale ID', 'day']);
    expect(exact.sources.get('sale_id')).toBe(1);
    expect(exact.unknown).toEqual([{ name: 'sale_id', position: 0 }]);
    const loose = mapCsvHeader(contract([col('sale_id', 'Sale ID')]), ['day', ' sale id']);
    expect(loose.sources.get('sale_id')).toBe(1);
  });

  it('leaves a column absent from the header undefined', () => {
    const mapping = mapCsvHeader(contract([col('sale_id'), col('store')]), ['sale_id', 'day']);
    expect(mapping.sources.has('store')).toBe(true);
    expect(mapping.sources.get('store')).toBeUndefined();
  });

  it('lists the header fields no column claims, with their positions', () => {
    const mapping = mapCsvHeader(contract([col('sale_id')]), ['extra', 'sale_id', 'day', 'note']);
    expect(mapping.unknown).toEqual([
      { name: 'extra', position: 0 },
      { name: 'note', position: 3 },
    ]);
  });

  it('uses a header field for one column only: a second column matching it takes the next free match or none', () => {
    // `Store` and `store` both normalize to `store`: the first column to ask gets its exact match...
    const two = mapCsvHeader(contract([col('store'), col('shop', 'STORE')]), ['store', 'Store', 'day']);
    expect(two.sources.get('store')).toBe(0);
    // ...the second has no exact match and takes the other insensitive one.
    expect(two.sources.get('shop')).toBe(1);
    expect(two.unknown).toEqual([]);

    // Only one field for both: the second column gets nothing, even though the name matches exactly.
    const one = mapCsvHeader(contract([col('store'), col('shop', 'store')]), ['store', 'day']);
    expect(one.sources.get('store')).toBe(0);
    expect(one.sources.get('shop')).toBeUndefined();
  });

  it('maps a repeated header name to successive columns, the extra copy left unknown', () => {
    const mapping = mapCsvHeader(contract([col('a'), col('b', 'a')]), ['a', 'a', 'a', 'day']);
    expect(mapping.sources.get('a')).toBe(0);
    expect(mapping.sources.get('b')).toBe(1);
    expect(mapping.unknown).toEqual([{ name: 'a', position: 2 }]);
  });
});

describe('mapJsonKeys', () => {
  it('looks each column up by its `from` key or its name, and reports no unknown fields itself', () => {
    const mapping = mapJsonKeys(contract([col('sale_id', 'Sale ID'), col('store')]));
    expect([...mapping.sources]).toEqual([
      ['sale_id', 'Sale ID'],
      ['store', 'store'],
      ['day', 'day'],
    ]);
    expect(mapping.unknown).toEqual([]);
  });
});
