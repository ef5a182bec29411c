import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesInDays, checkBounds, lookbackWindow, readIncrementalHeader } from '../../bench/history-bounds';
import {
  ORDERS_HEADER,
  OrdersHistory,
  parisOffsetHours,
  RESEND_AGES,
  SAMPLE_PRODUCT_IDS,
} from '../../bench/history-orders';
import type { ContractColumn } from '../../core/contracts/dataset-contract';
import { loadContractFile } from '../../core/contracts/load-contracts';

const ROOT = join(__dirname, '..', '..');
const orders = loadContractFile(join(ROOT, 'samples', 'contracts', 'orders.yaml'));

const days = (history: OrdersHistory, n: number) => Array.from({ length: n }, () => history.nextDay());
const rowsOf = (csv: string) =>
  csv
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((line) => line.split(','));

/** Why a raw CSV value breaks the contract's column (undefined: it fits), read from the contract itself. */
function problem(column: ContractColumn, value: string): string | undefined {
  if (value === '') return column.required ? 'missing' : undefined;
  const checks = column.checks ?? {};
  if (checks.regex && !new RegExp(checks.regex).test(value)) return `does not match ${checks.regex}`;
  if (checks.allowed && !checks.allowed.includes(value)) return 'not allowed';
  const t = column.type;
  if (t.kind === 'int32' && !/^\d+$/.test(value)) return 'not an integer';
  if (t.kind === 'decimal' && !new RegExp(`^\\d{1,${t.precision - t.scale}}\\.\\d{${t.scale}}$`).test(value))
    return `not a decimal(${t.precision},${t.scale}) written with '.'`;
  if (
    (t.kind === 'int32' || t.kind === 'decimal') &&
    checks.min !== undefined &&
    Number(value) < Number(checks.min)
  )
    return 'below min';
  if (
    (t.kind === 'int32' || t.kind === 'decimal') &&
    checks.max !== undefined &&
    Number(value) > Number(checks.max)
  )
    return 'above max';
  if (
    t.kind === 'timestamp' &&
    column.format === '%Y-%m-%d %H:%M:%S' &&
    !/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(value)
  )
    return `not in ${column.format}`;
  if (t.kind === 'timestamp' && !column.format && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(value))
    return 'not ISO 8601 with a Z';
  return undefined;
}

const parisHours = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Europe/Paris',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  hourCycle: 'h23',
});

/** Paris's offset (hours) for a local date and hour, by the time zone database: the instant that reads so. */
function intlParisOffset(date: string, hour: number): number[] {
  const local = Date.parse(`${date}T${String(hour).padStart(2, '0')}:30:00Z`);
  return [1, 2].filter((offset) => {
    const parts = Object.fromEntries(
      parisHours.formatToParts(new Date(local - offset * 3_600_000)).map((p) => [p.type, p.value]),
    );
    return `${parts.year}-${parts.month}-${parts.day}` === date && Number(parts.hour) === hour;
  });
}

describe('the orders history of bench:history', () => {
  it('is deterministic: the same options give the same files, another seed other files', () => {
    const options = { ordersPerDay: 300, resendRatio: 0.1 };
    const a = days(new OrdersHistory(options), 5).map((d) => d.csv);
    const b = days(new OrdersHistory(options), 5).map((d) => d.csv);
    const c = days(new OrdersHistory({ ...options, seed: 7 }), 5).map((d) => d.csv);
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  });

  it('writes rows that fit samples/contracts/orders.yaml, with products of the sample products file', () => {
    expect(ORDERS_HEADER.split(',')).toEqual(orders.columns.map((c) => c.name));
    const sampleProducts = readFileSync(join(ROOT, 'samples', 'data', 'products', 'products.csv'), 'utf8');
    for (const id of SAMPLE_PRODUCT_IDS) expect(sampleProducts).toContain(`\n${id};`);

    const problems: string[] = [];
    for (const day of days(new OrdersHistory({ ordersPerDay: 2000, resendRatio: 0.2 }), 4)) {
      for (const row of rowsOf(day.csv)) {
        if (row.length !== orders.columns.length) problems.push(`${row.join(',')}: ${row.length} fields`);
        orders.columns.forEach((column, i) => {
          const why = problem(column, row[i] ?? '');
          if (why) problems.push(`${column.name}=${row[i]}: ${why}`);
        });
        const productIndex = orders.columns.findIndex((c) => c.name === 'product_id');
        if (!SAMPLE_PRODUCT_IDS.includes(row[productIndex] as string))
          problems.push(`product ${row[productIndex]}`);
      }
    }
    expect(problems.slice(0, 5)).toEqual([]);
  });

  it('places a new order on its local day, sent within 5 minutes (in UTC) of being placed', () => {
    const [day] = days(new OrdersHistory({ ordersPerDay: 1000, resendRatio: 0, startDate: '2025-03-30' }), 1);
    // The day summer time starts: orders on both sides of the switch.
    const wrong: string[] = [];
    for (const [, orderTs, updatedAt] of rowsOf(day?.csv ?? '')) {
      const [date, time] = (orderTs as string).split(' ') as [string, string];
      const [offset] = intlParisOffset(date, Number(time.slice(0, 2)));
      const lag =
        Date.parse(updatedAt as string) - (Date.parse(`${date}T${time}Z`) - Number(offset) * 3_600_000);
      if (date !== '2025-03-30' || !(lag > 0 && lag <= 300_000)) wrong.push(`${orderTs} ${updatedAt}`);
    }
    expect(wrong).toEqual([]);
  });

  it('knows Paris summer time as the time zone database does, for every hour but 02:00 over two years', () => {
    const history = new OrdersHistory({ ordersPerDay: 1, resendRatio: 0, startDate: '2025-01-01' });
    const mismatches: string[] = [];
    for (let d = 0; d < 731; d++) {
      const date = history.dateOf(d);
      for (let hour = 0; hour < 24; hour++) {
        if (hour === 2) continue;
        const expected = intlParisOffset(date, hour);
        if (expected.length !== 1 || expected[0] !== parisOffsetHours(date, hour)) {
          mismatches.push(`${date} ${hour}h: ${parisOffsetHours(date, hour)} vs ${expected}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('re-sends earlier orders (mostly of the last 1-2 days) unchanged but for a later updated_at and a new status', () => {
    const perDay = 1000;
    const history = new OrdersHistory({ ordersPerDay: perDay, resendRatio: 0.1 });
    const first = new Map<string, { day: number; row: string[] }>();
    const latest = new Map<string, string>();
    const ages: number[] = [];
    for (const day of days(history, 8)) {
      const rows = rowsOf(day.csv);
      expect(new Set(rows.map((r) => r[0])).size).toBe(rows.length); // one version of an order per file
      const fresh = rows.slice(0, perDay);
      const resent = rows.slice(perDay);
      expect(fresh.every((r) => r[9] === 'placed' && !first.has(r[0] as string))).toBe(true);
      expect(resent).toHaveLength(day.resent);
      if (day.index === 0) expect(day.resent).toBe(0);
      if (day.index >= RESEND_AGES.length) expect(day.resent).toBe(perDay * 0.1);
      for (const r of resent) {
        const original = first.get(r[0] as string);
        expect(original).toBeDefined();
        const age = day.index - (original?.day ?? 0);
        ages.push(age);
        expect(age).toBeGreaterThanOrEqual(1);
        expect(age).toBeLessThanOrEqual(3);
        expect([...r.slice(0, 2), ...r.slice(3, 9)]).toEqual([
          ...(original?.row.slice(0, 2) ?? []),
          ...(original?.row.slice(3, 9) ?? []),
        ]);
        expect(r[9]).not.toBe('placed');
        expect(Date.parse(r[2] as string)).toBeGreaterThan(Date.parse(latest.get(r[0] as string) as string));
        latest.set(r[0] as string, r[2] as string);
      }
      expect(Object.values(day.resentByAge).reduce((a, b) => a + b, 0)).toBe(day.resent);
      for (const r of fresh) {
        first.set(r[0] as string, { day: day.index, row: r });
        latest.set(r[0] as string, r[2] as string);
      }
    }
    expect(ages.filter((a) => a <= 2).length / ages.length).toBeGreaterThan(0.9);
  });
});

describe('the bounds of bench:history', () => {
  it('reads the incremental header of a model, with or without `from`, and nothing from a full model', () => {
    expect(
      readIncrementalHeader('-- description: x\n-- incremental: sales_date lookback 1 day\nSELECT 1'),
    ).toEqual({ column: 'sales_date', lookbackDays: 1 });
    expect(
      readIncrementalHeader('-- incremental: d lookback 2 days from orders, orders_history\nSELECT 1'),
    ).toEqual({ column: 'd', lookbackDays: 2, from: ['orders', 'orders_history'] });
    expect(readIncrementalHeader('SELECT 1\n-- incremental: d lookback 2 days')).toBeUndefined();
    expect(readIncrementalHeader('-- description: x\nSELECT 1')).toBeUndefined();
  });

  it('spans D-2N..D+2N around each changed day', () => {
    expect(lookbackWindow(['2025-03-01'], 1)).toEqual([
      '2025-02-27',
      '2025-02-28',
      '2025-03-01',
      '2025-03-02',
      '2025-03-03',
    ]);
    expect(lookbackWindow(['2025-01-10', '2025-01-11'], 1)).toHaveLength(6);
  });

  it("breaks a model's time bound above 1/20 of its full rebuild and its bytes bound above window + new day (+ sources read whole)", () => {
    const historyBefore = [
      { key: 'retail/orders/dt=2025-01-01/part-a.parquet', size: 100 },
      { key: 'retail/orders/dt=2025-01-05/part-b.parquet', size: 1000 },
      { key: 'retail/orders/dt=2025-01-09/part-c.parquet', size: 10_000 },
    ];
    const newDay = [{ key: 'retail/orders/dt=2025-01-06/part-d.parquet', size: 10 }];
    expect(bytesInDays(historyBefore, lookbackWindow(['2025-01-06'], 1))).toBe(1000);
    const header = { column: 'sales_date', lookbackDays: 1 };
    const checks = checkBounds({
      fullRunMs: 2000,
      incrementalRunMs: 101,
      models: [
        { name: 'within', header, bytesRead: 1010, fullQueryMs: 2000, incrementalQueryMs: 100 },
        { name: 'beyond', header, bytesRead: 1011, fullQueryMs: 2000, incrementalQueryMs: 101 },
        {
          name: 'dimension',
          header,
          bytesRead: 1015,
          otherSourcesBytes: 5,
          fullQueryMs: 20,
          incrementalQueryMs: 1,
        },
        { name: 'full', bytesRead: 11_110 },
      ],
      historyBefore,
      newDay,
    });
    expect(checks.map((c) => [c.bound, c.ok, c.limit])).toEqual([
      ['whole gold run: full rebuild / incremental', null, 2000],
      ['within: incremental time <= full rebuild / 20', true, 100],
      ['within: bytes read <= lookback window + new day', true, 1010],
      ['beyond: incremental time <= full rebuild / 20', false, 100],
      ['beyond: bytes read <= lookback window + new day', false, 1010],
      ['dimension: incremental time <= full rebuild / 20', true, 1],
      ['dimension: bytes read <= lookback window + new day', true, 1015],
      ['full: bounds', null, undefined],
    ]);
  });
});
