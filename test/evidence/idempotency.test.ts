/**
 * Evidence, idempotency under real concurrency: concurrent POSTs to the local ingest API over real HTTP,
 * the way a retrying producer's bad day goes. The Idempotency-Key is claimed (a conditional create) before
 * anything is stored, and bronze objects are created only if absent, so:
 *  - 20 requests with one Idempotency-Key and 20 different bodies: one is accepted and stored, 19 get 409
 *    and store nothing;
 *  - 50 identical requests (with and without a key): all 202 with the same bronze key, one object, no 500,
 *    transformed once.
 */
import { post } from '../support/evidence/api-client';
import { withLocalCloud } from '../support/evidence/local-cloud';

const local = withLocalCloud();
const api = () => local.cloud.endpoints.api as string;
const customer = (i: number) =>
  `${JSON.stringify({ customer_id: `C${900 + i}`, email: `c${i}@example.com`, signup_date: '2026-01-15', updated_at: '2026-11-05T09:00:00Z' })}\n`;
const postCustomers = (body: string, headers: Record<string, string> = {}) =>
  post(api(), '/datasets/customers/records', body, { 'Content-Type': 'application/x-ndjson', ...headers });

describe('idempotency under concurrency, through the local API', () => {
  it('20 concurrent requests with one Idempotency-Key and different bodies: 1 stored, 19 refused with 409', async () => {
    const before = await local.bronzeObjects();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        postCustomers(customer(i), { 'Idempotency-Key': 'one-key-20-bodies' }),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([202, ...Array(19).fill(409)]);
    const accepted = answers.find((a) => a.status === 202);
    const stored = (await local.bronzeObjects()).filter((k) => !before.includes(k));
    expect(stored).toEqual([accepted?.json?.bronzeKey]);
    // A retry of the accepted request gets the same answer; nothing more is stored.
    const winner = answers.indexOf(accepted as (typeof answers)[number]);
    const retry = await postCustomers(customer(winner), { 'Idempotency-Key': 'one-key-20-bodies' });
    expect(retry).toMatchObject({ status: 202, json: { bronzeKey: accepted?.json?.bronzeKey } });
    expect((await local.bronzeObjects()).filter((k) => !before.includes(k))).toHaveLength(1);
  }, 60_000);

  it.each([
    ['with one Idempotency-Key', { 'Idempotency-Key': 'fifty-identical' }],
    ['without a key', {}],
  ])(
    '50 identical concurrent requests %s: 50 x 202 with one bronze key, one object, transformed once',
    async (_, headers) => {
      const body = customer(headers['Idempotency-Key' as keyof typeof headers] ? 50 : 51);
      // What earlier tests landed is transformed first: this test counts only its own.
      await local.cloud.whenIdle();
      const before = await local.bronzeObjects();
      const transformedBefore = local.events.transformed.length;
      const answers = await Promise.all(Array.from({ length: 50 }, () => postCustomers(body, headers)));
      expect(answers.map((a) => a.status)).toEqual(Array(50).fill(202));
      const keys = new Set(answers.map((a) => a.json?.bronzeKey));
      expect(keys.size).toBe(1);
      expect([...keys][0]).toMatch(
        /^retail\/customers\/ingest_date=\d{4}-\d{2}-\d{2}\/[0-9a-f]{64}\.ndjson$/,
      );
      const stored = (await local.bronzeObjects()).filter((k) => !before.includes(k));
      expect(stored).toEqual([...keys]);
      await local.cloud.whenIdle();
      const transformed = local.events.transformed.slice(transformedBefore).map((t) => t.key);
      expect(transformed).toEqual([...keys]);
      const manifest = await local.manifest([...keys][0] as string);
      expect(manifest).toMatchObject({ status: 'ok', rows: { in: 1, out: 1 } });
    },
    60_000,
  );
});
