/** Every manifest the transform writes names the contract it was built under (its hash). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { contractHash } from '../../../core/contracts/contract-hash';
import { parseContract } from '../../../core/contracts/dataset-contract';
import { ContractRegistry } from '../../../core/contracts/load-contracts';
import { manifestKey, sourceId } from '../../../core/lake/layout';
import type { Manifest } from '../../../core/lake/manifest';
import { parseManifest } from '../../../lambdas/bronze-to-silver/manifest-store';
import { withLocalS3 } from '../../support/local-s3';
import { withTransform } from '../../support/transform-fixture';

const BRONZE = 'bronze';
const SILVER = 'silver';
const QUARANTINE = 'quarantine';
const SAMPLES = join(__dirname, '../../../samples');
const ORDERS_CSV = readFileSync(join(SAMPLES, 'data', 'orders', 'orders-2026-11-01.csv'));

describe('the contract hash in manifests', () => {
  const s3 = withLocalS3([BRONZE, SILVER, QUARANTINE]);
  const transform = withTransform(s3, { silver: SILVER, quarantine: QUARANTINE });
  const samples = ContractRegistry.fromDirectory(join(SAMPLES, 'contracts'));
  const orders = samples.byName('orders');
  if (!orders) throw new Error('no sample orders contract');
  /** The sample orders contract with at most 2 units per order line: a rule changed. */
  const { file: _file, id: _id, ...ordersInput } = orders;
  const stricterOrders = parseContract(
    {
      ...ordersInput,
      columns: orders.columns.map(({ type: _type, typeText, ...c }) => ({
        ...c,
        type: typeText,
        ...(c.name === 'quantity' ? { checks: { min: 1, max: 2 } } : {}),
      })),
    },
    orders.file,
  );

  const transformer = (contracts: ContractRegistry) => transform.transformer(contracts);
  /** The manifest committed for bronze `key`, as stored. */
  const stored = async (key: string): Promise<Manifest> => {
    const text = (await s3.get(SILVER, manifestKey('retail', 'orders', sourceId(BRONZE, key))))?.toString();
    const parsed = parseManifest(text ?? '');
    if (typeof parsed === 'string') throw new Error(parsed);
    return parsed;
  };

  it('a transformed file: the manifest written and returned carries the hash of the contract it used', async () => {
    const key = 'retail/orders/ingest_date=2026-11-01/a.csv';
    await s3.put(BRONZE, key, ORDERS_CSV);
    const m = await transformer(samples).process({ bucket: BRONZE, key });
    expect(m.status).toBe('ok');
    expect(m.contractHash).toBe(contractHash(orders));
    expect((await stored(key)).contractHash).toBe(contractHash(orders));
  });

  it('a file quarantined whole carries it too', async () => {
    const key = 'retail/orders/ingest_date=2026-11-01/empty.csv';
    await s3.put(BRONZE, key, '');
    const m = await transformer(samples).process({ bucket: BRONZE, key });
    expect(m.status).toBe('quarantined');
    expect((await stored(key)).contractHash).toBe(contractHash(orders));
  });

  it('re-transformed under a changed contract: the manifest then carries the new hash', async () => {
    const key = 'retail/orders/ingest_date=2026-11-01/b.csv';
    await s3.put(BRONZE, key, ORDERS_CSV);
    const before = await transformer(samples).process({ bucket: BRONZE, key });
    expect(contractHash(stricterOrders)).not.toBe(contractHash(orders));
    const after = await transformer(new ContractRegistry([stricterOrders])).process({ bucket: BRONZE, key });
    expect((await stored(key)).contractHash).toBe(contractHash(stricterOrders));
    // The rule did change the outcome: more rows quarantined under the stricter contract.
    expect(after.rows.quarantined).toBeGreaterThan(before.rows.quarantined);
  });

  it('a manifest written before the hash was recorded stays readable; a hash that is not a string does not', async () => {
    const key = 'retail/orders/ingest_date=2026-11-01/c.csv';
    await s3.put(BRONZE, key, ORDERS_CSV);
    const { contractHash: _hash, ...older } = await transformer(samples).process({ bucket: BRONZE, key });
    expect(parseManifest(JSON.stringify(older))).toEqual(older);
    expect(parseManifest(JSON.stringify({ ...older, contractHash: 42 }))).toBe(
      'not a manifest: contractHash is not a string',
    );
  });
});
