import { activityLine, formatBytes } from '../../../local/dashboard/activity-lines';

const FILE = { at: 0, domain: 'retail', dataset: 'orders', bronzeKey: 'retail/orders/x.csv' };

describe('activityLine', () => {
  it('says where a landed file went and its size, or that the same bytes had landed before', () => {
    const landed = {
      ...FILE,
      kind: 'landed',
      name: 'retail/orders/orders-2.csv',
      source: 's3-upload',
    } as const;
    expect(activityLine({ ...landed, bytes: 1229, duplicate: false })).toBe(
      'landed retail/orders/orders-2.csv -> bronze (1.2 KB)',
    );
    expect(activityLine({ ...landed, bytes: 354, duplicate: true })).toBe(
      'landed a copy of retail/orders/orders-2.csv (354 B): already in bronze, nothing new stored',
    );
  });

  it('counts the rows of a transformed file, the most frequent quarantine reasons first', () => {
    const transformed = {
      ...FILE,
      kind: 'transformed',
      name: 'retail/orders/orders-2.csv',
      status: 'ok',
    } as const;
    expect(
      activityLine({
        ...transformed,
        rows: { in: 120, out: 118, quarantined: 2, duplicates: 0 },
        quarantinedByReason: { 'order_id|required': 2 },
      }),
    ).toBe(
      'transformed retail/orders/orders-2.csv: 120 rows in, 118 out, 2 quarantined (order_id|required 2)',
    );
    expect(
      activityLine({
        ...transformed,
        rows: { in: 44, out: 34, quarantined: 8, duplicates: 2 },
        quarantinedByReason: { parse: 1, 'quantity|type': 2, 'a|min': 1, 'b|max': 3, 'c|regex': 1 },
      }),
    ).toBe(
      'transformed retail/orders/orders-2.csv: 44 rows in, 34 out, 8 quarantined ' +
        '(b|max 3, quantity|type 2, a|min 1, +2 more), 2 duplicates',
    );
    expect(
      activityLine({
        ...transformed,
        rows: { in: 1, out: 1, quarantined: 0, duplicates: 0 },
        quarantinedByReason: {},
      }),
    ).toBe('transformed retail/orders/orders-2.csv: 1 row in, 1 out, 0 quarantined');
  });

  it('gives the reason of a rejected file on one line, cut to a readable length', () => {
    expect(
      activityLine({
        ...FILE,
        kind: 'transformed',
        name: 'retail/orders/bad.csv',
        status: 'quarantined',
        reason: 'missing required column(s):\n  order_id',
        rows: { in: 0, out: 0, quarantined: 0, duplicates: 0 },
        quarantinedByReason: {},
      }),
    ).toBe('quarantined file retail/orders/bad.csv: missing required column(s): order_id');
    const long = activityLine({ kind: 'unrouted', at: 0, name: 'x/y/z.csv', reason: 'why '.repeat(100) });
    expect(long).toMatch(/^quarantined file x\/y\/z\.csv: (why ){49}w\.\.\.$/);
  });

  it('names failures, dead letters and gold runs', () => {
    expect(activityLine({ kind: 'landing-failed', at: 0, name: 'retail/orders/a.csv', error: 'boom' })).toBe(
      'landing failed retail/orders/a.csv: boom',
    );
    expect(
      activityLine({ kind: 'dead-lettered', at: 0, names: ['retail/orders/a.csv'], error: 'engine crashed' }),
    ).toBe('dead-lettered retail/orders/a.csv: engine crashed');
    expect(
      activityLine({
        kind: 'gold-run',
        at: 0,
        execution: 'local-20261207T000608887Z',
        models: ['category_sales', 'daily_sales'],
      }),
    ).toBe('gold run local-20261207T000608887Z: published 2 models (category_sales, daily_sales)');
  });
});

describe('formatBytes', () => {
  it('uses powers of 1024 with one decimal past a kilobyte', () => {
    expect([0, 1023, 1024, 1536, 5 * 1024 ** 2, 3 * 1024 ** 3].map(formatBytes)).toEqual([
      '0 B',
      '1023 B',
      '1.0 KB',
      '1.5 KB',
      '5.0 MB',
      '3.0 GB',
    ]);
  });
});
