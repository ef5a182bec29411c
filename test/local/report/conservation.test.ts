import type { Manifest } from '../../../core/lake/manifest';
import { checkConservation } from '../../../local/report/conservation';

/** A manifest of `orders.csv`: 10 rows in, 7 out (in two silver files), 2 quarantined, 1 duplicate. */
function manifest(overrides: Partial<Manifest> = {}): Manifest {
  return {
    manifestVersion: 1,
    status: 'ok',
    domain: 'retail',
    dataset: 'orders',
    source: { bucket: 'bronze', key: 'retail/orders/ingest_date=2026-11-01/abc.csv' },
    rows: { in: 10, out: 7, quarantined: 2, duplicates: 1 },
    quarantinedByReason: { 'quantity|min': 1, parse: 1 },
    outputs: [
      {
        key: 'retail/orders/dt=2026-11-01/a.parquet',
        partition: '2026-11-01',
        rows: 4,
        bytes: 1,
        sha256: 'a',
      },
      {
        key: 'retail/orders/dt=2026-11-02/b.parquet',
        partition: '2026-11-02',
        rows: 3,
        bytes: 1,
        sha256: 'b',
      },
    ],
    quarantine: { bucket: 'quarantine', key: 'rows/retail/orders/abc.ndjson', rows: 2 },
    durationsMs: {},
    startedAt: '2026-11-01T00:00:00.000Z',
    finishedAt: '2026-11-01T00:00:01.000Z',
    engine: 'duckdb',
    ...overrides,
  };
}

const SILVER = new Set(['retail/orders/dt=2026-11-01/a.parquet', 'retail/orders/dt=2026-11-02/b.parquet']);

describe('checkConservation', () => {
  it('passes a file whose rows all add up and whose silver files are all there', () => {
    expect(checkConservation(manifest(), SILVER)).toEqual({ ok: true, problems: [] });
  });

  it('fails an unbalanced file, naming its counts', () => {
    const rows = { in: 11, out: 7, quarantined: 2, duplicates: 1 };
    expect(checkConservation(manifest({ rows }), SILVER)).toEqual({
      ok: false,
      problems: ['in 11 != out 7 + quarantined 2 + duplicates 1'],
    });
  });

  it('fails when the silver files hold another number of rows than the manifest says are out', () => {
    const outputs = [manifest().outputs[0]];
    expect(checkConservation(manifest({ outputs }), SILVER).problems).toEqual([
      'silver files hold 4 rows, the manifest says 7 out',
    ]);
  });

  it('fails when the quarantine reasons do not add up to the quarantined rows', () => {
    expect(checkConservation(manifest({ quarantinedByReason: { parse: 1 } }), SILVER).problems).toEqual([
      'quarantined by reason adds up to 1, not 2',
    ]);
  });

  it('fails when the quarantine file holds another number of rows', () => {
    const quarantine = { bucket: 'quarantine', key: 'rows/retail/orders/abc.ndjson', rows: 3 };
    expect(checkConservation(manifest({ quarantine }), SILVER).problems).toEqual([
      'the quarantine file holds 3 rows, not 2',
    ]);
  });

  it('takes a quarantine file without a row count as it is', () => {
    const quarantine = { bucket: 'quarantine', key: 'rows/retail/orders/abc.ndjson' };
    expect(checkConservation(manifest({ quarantine }), SILVER).ok).toBe(true);
  });

  it('fails when a silver file the manifest lists is not in silver, naming it', () => {
    const silver = new Set(['retail/orders/dt=2026-11-01/a.parquet']);
    expect(checkConservation(manifest(), silver)).toEqual({
      ok: false,
      problems: ['missing from silver: retail/orders/dt=2026-11-02/b.parquet'],
    });
  });

  it('lists every problem of a file at once', () => {
    const m = manifest({ rows: { in: 9, out: 6, quarantined: 2, duplicates: 0 } });
    expect(checkConservation(m, new Set()).problems).toEqual([
      'in 9 != out 6 + quarantined 2 + duplicates 0',
      'silver files hold 7 rows, the manifest says 6 out',
      'missing from silver: retail/orders/dt=2026-11-01/a.parquet, retail/orders/dt=2026-11-02/b.parquet',
    ]);
  });
});
