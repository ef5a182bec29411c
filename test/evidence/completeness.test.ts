/**
 * Evidence, the completeness SLI's input over real HTTP: a producer states how many rows a request holds
 * (`X-Expected-Rows`); the count rides the bronze object's metadata into the transform, whose manifest and
 * metrics (RowsExpected, RowsMissing) measure what arrived against it. A count that is not one is refused
 * before anything is stored.
 */
import { post } from '../support/evidence/api-client';
import { withLocalCloud } from '../support/evidence/local-cloud';

const local = withLocalCloud();
const api = () => local.cloud.endpoints.api as string;
const customers = (from: number, n: number) =>
  Array.from(
    { length: n },
    (_, i) =>
      `${JSON.stringify({ customer_id: `C${from + i}`, email: `c${from + i}@example.com`, signup_date: '2026-01-15', updated_at: '2026-11-05T09:00:00Z' })}\n`,
  ).join('');
const postCustomers = (body: string, headers: Record<string, string>) =>
  post(api(), '/datasets/customers/records', body, { 'Content-Type': 'application/x-ndjson', ...headers });
const metric = (name: string) =>
  local.cloud.metrics
    .query({ namespace: 'Medallion', name, dimensions: { Dataset: 'customers' } })
    .reduce((sum, d) => sum + d.value, 0);

describe('a stated row count, through the local API', () => {
  it('3 rows sent of the 5 stated: the manifest and the metrics say 5 expected, 2 missing', async () => {
    const answer = await postCustomers(customers(700, 3), { 'X-Expected-Rows': '5' });
    expect(answer.status).toBe(202);
    const bronzeKey = answer.json?.bronzeKey as string;
    await local.cloud.whenIdle();
    const m = await local.manifest(bronzeKey);
    expect(m.expectedRows).toBe(5);
    expect(m.rows.in).toBe(3);
    expect(metric('RowsExpected')).toBe(5);
    expect(metric('RowsMissing')).toBe(2);
  }, 60_000);

  it.each([
    ['a negative count', '-3'],
    ['words', 'five'],
    ['1,000 characters', '9'.repeat(1000)],
  ])(
    'refuses %s with 400 naming X-Expected-Rows, storing nothing',
    async (_, value) => {
      await local.cloud.whenIdle();
      const before = await local.bronzeObjects();
      const answer = await postCustomers(customers(800, 1), { 'X-Expected-Rows': value });
      expect(answer.status).toBe(400);
      expect(JSON.stringify(answer.json)).toContain('X-Expected-Rows');
      expect(await local.bronzeObjects()).toEqual(before);
    },
    60_000,
  );
});
