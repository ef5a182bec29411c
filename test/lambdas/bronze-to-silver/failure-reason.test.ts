import { failedReasonKey, sourceId } from '../../../core/lake/layout';
import { createLogger, type LogEntry } from '../../../core/telemetry/logger';
import {
  type FailureReasonDeps,
  recordFailureReason,
} from '../../../lambdas/bronze-to-silver/failure-reason';
import { withLocalS3 } from '../../support/local-s3';

const BRONZE = 'bronze';
const QUARANTINE = 'quarantine';
const AT = new Date('2026-11-01T12:00:00.000Z');

describe('recordFailureReason', () => {
  const s3 = withLocalS3([QUARANTINE]);
  let logged: LogEntry[];
  beforeEach(() => {
    logged = [];
  });
  const deps = (over: Partial<FailureReasonDeps> = {}): FailureReasonDeps => ({
    s3: s3.client,
    quarantineBucket: QUARANTINE,
    now: () => AT,
    logger: createLogger({ sink: (e) => logged.push(e) }),
    ...over,
  });
  const readJson = async (key: string) => JSON.parse((await s3.get(QUARANTINE, key))?.toString() ?? 'null');

  it("writes the error, the receive count, the source and the time under the contract's failed/ prefix", async () => {
    const key = 'retail/orders/ingest_date=2026-11-01/poison.csv';

    const written = await recordFailureReason(
      deps(),
      { bucket: BRONZE, key },
      { domain: 'retail', dataset: 'orders' },
      new Error('engine ran out of disk'),
      3,
    );

    expect(written).toBe(failedReasonKey('retail', 'orders', sourceId(BRONZE, key)));
    expect(await readJson(written as string)).toEqual({
      error: 'engine ran out of disk',
      attempts: 3,
      sourceBucket: BRONZE,
      sourceKey: key,
      failedAt: AT.toISOString(),
    });
    expect(logged).toEqual([]);
  });

  it('files a key no contract owns under the first two segments of the key, and a non-Error as text', async () => {
    const key = 'finance/invoices/2026/x.csv';

    const written = await recordFailureReason(deps(), { bucket: BRONZE, key }, undefined, 'no contract', 5);

    expect(written).toBe(failedReasonKey('finance', 'invoices', sourceId(BRONZE, key)));
    expect(await readJson(written as string)).toMatchObject({ error: 'no contract', attempts: 5 });
  });

  it('never throws: a failed write is logged as an ERROR and gives undefined', async () => {
    const key = 'retail/orders/ingest_date=2026-11-01/unrecorded.csv';

    const written = await recordFailureReason(
      deps({ quarantineBucket: 'no-such-bucket' }),
      { bucket: BRONZE, key },
      { domain: 'retail', dataset: 'orders' },
      new Error('boom'),
      3,
    );

    expect(written).toBeUndefined();
    expect(logged).toEqual([
      {
        level: 'ERROR',
        message: 'could not record why the message is dead-lettered',
        key,
        reasonKey: failedReasonKey('retail', 'orders', sourceId(BRONZE, key)),
        error: expect.any(String),
      },
    ]);
  });
});
