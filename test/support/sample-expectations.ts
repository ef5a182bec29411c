/**
 * What the transform must make of each sample file (worked out by hand in samples/README.md): one table
 * for every test that checks the samples.
 */
export interface SampleExpectation {
  readonly rows: { in: number; out: number; quarantined: number; duplicates: number };
  readonly quarantinedByReason: Record<string, number>;
  /** Silver rows per partition value. */
  readonly partitions: Record<string, number>;
}

export const SAMPLE_EXPECTATIONS: Record<string, SampleExpectation> = {
  'orders/orders-2026-11-01.csv': {
    rows: { in: 44, out: 34, quarantined: 8, duplicates: 2 },
    quarantinedByReason: {
      'quantity|type': 2,
      'unit_price|type': 1,
      'quantity|min': 1,
      'customer_id|required': 1,
      parse: 1,
      'status|allowed': 1,
      'order_id|regex': 1,
    },
    partitions: { '2026-11-01': 11, '2026-11-02': 9, '2026-11-03': 14 },
  },
  'customers/customers.ndjson': {
    rows: { in: 11, out: 10, quarantined: 1, duplicates: 0 },
    quarantinedByReason: { 'signup_date|type': 1 },
    partitions: {
      '2024-03': 2,
      '2024-07': 1,
      '2025-01': 2,
      '2025-06': 1,
      '2025-11': 1,
      '2026-02': 1,
      '2026-05': 1,
      '2026-10': 1,
    },
  },
};
