import { join } from 'node:path';
import { mapJsonKeys } from '../../../core/contracts/column-mapping';
import { loadContractFile } from '../../../core/contracts/load-contracts';
import { silverSchema } from '../../../core/sql/silver-schema';
import { SilverSql } from '../../../core/sql/silver-sql';

const SAMPLES = join(__dirname, '..', '..', '..', 'samples', 'contracts');
const sample = (name: string) => loadContractFile(join(SAMPLES, `${name}.yaml`));

describe('silverSchema', () => {
  it.each(['orders', 'customers', 'products'])(
    'is exactly the column list the transform writes for %s',
    (name) => {
      const contract = sample(name);
      const written = new SilverSql(contract, { path: 'x', header: [] }, mapJsonKeys(contract), {
        bronzeKey: 'k',
        ingestedAt: new Date(0),
        piiSalt: 's',
      }).silverColumns();
      expect(silverSchema(contract).map(({ name, type }) => ({ name, type }))).toEqual(
        written.map(({ name, type }) => ({ name, type })),
      );
    },
  );

  it('drops pii: drop columns, types hashed ones as text, keeps _extra under unknownColumns: keep', () => {
    const contract = sample('customers');
    const schema = silverSchema(contract);
    const names = schema.map((c) => c.name);
    for (const c of contract.columns.filter((c) => c.pii === 'drop')) expect(names).not.toContain(c.name);
    for (const c of contract.columns.filter((c) => c.pii === 'hash'))
      expect(schema.find((s) => s.name === c.name)?.type).toBe('VARCHAR');
    expect(names.slice(-3)).toEqual(['_extra', '_bronze_key', '_ingested_at']);
  });

  it('ends with the lineage columns and no _extra when unknown columns are not kept', () => {
    const names = silverSchema(sample('orders')).map((c) => c.name);
    expect(names).not.toContain('_extra');
    expect(names.slice(-2)).toEqual(['_bronze_key', '_ingested_at']);
  });
});
