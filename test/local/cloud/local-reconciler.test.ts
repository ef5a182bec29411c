import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { LocalReconciler, STARTUP_RETRY_MS } from '../../../local/cloud/local-reconciler';
import { NotificationRouter } from '../../../local/cloud/notification-router';
import { withLocalS3 } from '../../support/local-s3';

const BUCKETS = { landing: 'landing', bronze: 'bronze', silver: 'silver', quarantine: 'quarantine' };

describe('LocalReconciler', () => {
  // No bronze bucket yet: the start-up run fails on it.
  const s3 = withLocalS3(['landing', 'silver', 'quarantine']);

  it('tries a failed start-up reconciliation again until it succeeds, and reports both', async () => {
    const failures: string[] = [];
    const reports: { startup: boolean }[] = [];
    const reconciler = new LocalReconciler({
      s3: s3.client,
      buckets: BUCKETS,
      contracts: [{ domain: 'retail', dataset: 'orders', id: 'retail/orders' } as never],
      router: new NotificationRouter([], { function: () => () => undefined, queues: new Map() }, 'us-east-1'),
      region: 'us-east-1',
      queuedKeys: () => new Set(),
      track: (work) => work(),
      onReconciled: (r) => reports.push(r),
      onFailed: (e) => failures.push(e),
    });
    try {
      expect(await reconciler.start()).toBeUndefined();
      expect(failures).toHaveLength(1);
      await s3.client.send(new CreateBucketCommand({ Bucket: BUCKETS.bronze }));
      const deadline = Date.now() + STARTUP_RETRY_MS * 3;
      while (reports.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(reports).toEqual([expect.objectContaining({ startup: true, stranded: 0 })]);
    } finally {
      reconciler.stop();
    }
  }, 30_000);
});
