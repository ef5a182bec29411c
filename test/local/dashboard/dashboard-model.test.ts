import type { TransformedFile } from '../../../local/dashboard/activity';
import { DashboardModel } from '../../../local/dashboard/dashboard-model';

const CONTRACTS = [
  { domain: 'retail', dataset: 'orders', quality: { maxQuarantineRatio: 0.2 } },
  { domain: 'retail', dataset: 'products', quality: { maxQuarantineRatio: 0.05 } },
];
const orders = { domain: 'retail', dataset: 'orders' };

function transformed(
  key: string,
  at: number,
  rows: TransformedFile['rows'],
  lagMs?: number,
): TransformedFile {
  return {
    kind: 'transformed',
    at,
    ...orders,
    name: key,
    bronzeKey: key,
    status: 'ok',
    rows,
    quarantinedByReason: rows.quarantined > 0 ? { 'quantity|min': rows.quarantined } : {},
    ...(lagMs === undefined ? {} : { lagMs }),
  };
}

describe('DashboardModel', () => {
  it('counts each bronze object once per dataset, whatever happened to it how many times', () => {
    const model = new DashboardModel(CONTRACTS as never, 0);
    const landed = {
      kind: 'landed',
      ...orders,
      bronzeKey: 'a',
      name: 'a',
      bytes: 100,
      source: 's3-upload',
    } as const;
    model.apply({ ...landed, at: 1, duplicate: false });
    model.apply({ ...landed, at: 2, duplicate: true });
    model.apply(transformed('a', 3, { in: 10, out: 8, quarantined: 2, duplicates: 0 }, 500));
    // A replay transforms it again: replaced, not added.
    model.apply(transformed('a', 4, { in: 10, out: 8, quarantined: 2, duplicates: 0 }, 700));
    model.apply(transformed('b', 5, { in: 10, out: 10, quarantined: 0, duplicates: 0 }), true);
    const [view, products] = model.snapshot().datasets;
    expect(view).toMatchObject({
      id: 'retail/orders',
      files: { landed: 2, bytes: 100, duplicates: 1, transformed: 2, quarantined: 0 },
      rows: { in: 20, out: 18, quarantined: 2, duplicates: 0 },
      quarantineRatio: 0.1,
      maxQuarantineRatio: 0.2,
      topReasons: [{ reason: 'quantity|min', rows: 2 }],
      lag: { lastMs: 700, maxMs: 700, p90Ms: 700 },
      lastLandedAt: 1,
      lastSilverAt: 5,
    });
    expect(products).toMatchObject({ id: 'retail/products', quarantineRatio: null, lag: null });
    // Quiet activity (read at start from older manifests) is counted, not listed as recent.
    expect(model.snapshot().recent.map((r) => r.line)).toEqual([
      'transformed a: 10 rows in, 8 out, 2 quarantined (quantity|min 2)',
      'transformed a: 10 rows in, 8 out, 2 quarantined (quantity|min 2)',
      'landed a copy of a (100 B): already in bronze, nothing new stored',
      'landed a -> bronze (100 B)',
    ]);
  });

  it('lists firing alarms first, and says none is wired in when there is no evaluation', () => {
    const model = new DashboardModel(CONTRACTS as never, 0);
    expect(model.snapshot().alarms).toBeNull();
    const alarm = (alarmName: string, state: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA') => ({
      alarmId: alarmName,
      alarmName,
      state,
      line: '',
    });
    const shown = model.snapshot({
      alarms: [alarm('a', 'OK'), alarm('b', 'ALARM'), alarm('c', 'INSUFFICIENT_DATA')],
    }).alarms;
    expect(shown?.map((a) => a.alarmName)).toEqual(['b', 'c', 'a']);
  });
});
