/**
 * The orders history of `npm run bench:history`: one CSV file a day, fitting samples/contracts/orders.yaml.
 * Day d's file holds that day's new orders (status `placed`) and re-sent versions of some orders of the
 * previous days (mostly the last one or two), each with a later `updated_at` and a new status, as tills
 * re-send an order when its status changes. Deterministic: the same seed and sizes give the same files.
 *
 *   const history = new OrdersHistory({ ordersPerDay: 20000, resendRatio: 0.1 });
 *   const day0 = history.nextDay(); // { date: '2025-01-01', csv, orders, resent, ... }
 */
import { rng } from './generate-orders';

/** The CSV header: the contract's columns, in its order. */
export const ORDERS_HEADER =
  'order_id,order_ts,updated_at,customer_id,store_id,product_id,quantity,unit_price,currency,status';

/** The products of samples/data/products/products.csv (landed with the orders, so the models join them). */
export const SAMPLE_PRODUCT_IDS = Array.from({ length: 12 }, (_, i) => `P${String(i + 1).padStart(3, '0')}`);

/**
 * How old a re-sent order is, in days, with its cumulative probability: most re-sends concern the last day
 * or two, so a day's file changes few earlier partitions (the incremental gold's lookback stays short).
 */
export const RESEND_AGES: readonly { readonly days: number; readonly upTo: number }[] = [
  { days: 1, upTo: 0.7 },
  { days: 2, upTo: 0.95 },
  { days: 3, upTo: 1 },
];
const MAX_RESEND_AGE = RESEND_AGES[RESEND_AGES.length - 1]?.days ?? 1;

/**
 * Local hours an order may be placed at: every hour but 02:00-02:59, which Paris skips (last Sunday of
 * March) or lives twice (last Sunday of October), so every generated local time names exactly one instant.
 * Orders before 01:00 or 02:00 local fall on the previous UTC day, hence in the previous `dt` partition.
 */
const ORDER_HOURS = Array.from({ length: 24 }, (_, h) => h).filter((h) => h !== 2);

export interface OrdersHistoryOptions {
  /** New orders in each day's file. */
  readonly ordersPerDay: number;
  /** Re-sent versions in each day's file, as a share of `ordersPerDay` (fewer in the first days). */
  readonly resendRatio: number;
  /** The first day, `YYYY-MM-DD`; default 2025-01-01. */
  readonly startDate?: string;
  /** Seed of the random generator; default 2026. */
  readonly seed?: number;
  /** Product ids to draw from; default {@link SAMPLE_PRODUCT_IDS}. */
  readonly productIds?: readonly string[];
}

/** One day's file. */
export interface OrdersDay {
  /** Index of the day (0 = `startDate`). */
  readonly index: number;
  /** `YYYY-MM-DD`: the local (Paris) day the new orders were placed. */
  readonly date: string;
  /** The file's contents, header included. */
  readonly csv: string;
  /** New orders in the file. */
  readonly orders: number;
  /** Re-sent versions in the file. */
  readonly resent: number;
  /** Re-sent versions by age in days (1 = an order of the previous day). */
  readonly resentByAge: Record<number, number>;
}

/**
 * A day's new orders as numbers (strings are built when written): thousands of small strings kept for the
 * re-sends would make the garbage collector the generator's main cost.
 */
interface SentDay {
  readonly index: number;
  readonly date: string;
  /** Seconds after local midnight, sorted. */
  readonly seconds: Int32Array;
  readonly customer: Int32Array;
  readonly store: Uint8Array;
  readonly product: Uint16Array;
  readonly quantity: Uint8Array;
  readonly priceCents: Int32Array;
  readonly currency: Uint8Array;
}

const CURRENCIES = ['EUR', 'USD', 'GBP'];

/** ASCII text appended into one buffer, grown as needed. */
class TextBuffer {
  private buf: Buffer;
  private length = 0;
  constructor(bytes: number) {
    this.buf = Buffer.allocUnsafe(Math.max(1024, bytes));
  }
  push(text: string): void {
    if (this.length + text.length > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + text.length));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    this.length += this.buf.write(text, this.length, 'latin1');
  }
  toString(): string {
    return this.buf.toString('latin1', 0, this.length);
  }
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
/** `00`..`99`: two-digit fields without a string built per row. */
const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => pad(i, 2));
const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` of a UTC midnight. */
function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** ISO 8601 with a Z, without milliseconds (as the sample files write `updated_at`). */
function isoInstant(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** The last Sunday of a month (0-based month), as a day of the month. */
function lastSunday(year: number, month: number): number {
  const last = new Date(Date.UTC(year, month + 1, 0));
  return last.getUTCDate() - last.getUTCDay();
}

/**
 * Paris's offset from UTC in hours (1 or 2) for a local date and hour, by the EU rule (summer time from the
 * last Sunday of March, 02:00 local, to the last Sunday of October, 03:00 local). Hour 2 of the switch days
 * is ambiguous or missing; the generator never uses it.
 */
export function parisOffsetHours(date: string, hour: number): number {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const start = lastSunday(year, 2);
  const end = lastSunday(year, 9);
  const m = month - 1;
  if (m < 2 || m > 9) return 1;
  if (m > 2 && m < 9) return 2;
  if (m === 2) return day > start || (day === start && hour >= 3) ? 2 : 1;
  return day < end || (day === end && hour < 2) ? 2 : 1;
}

/** Generates the days one after the other; re-sends draw on the days generated before. */
export class OrdersHistory {
  private readonly rand: () => number;
  private readonly startMs: number;
  private readonly products: readonly string[];
  /** The orders first sent on each of the last {@link MAX_RESEND_AGE} days, newest last. */
  private readonly recent: SentDay[] = [];
  private day = 0;

  constructor(private readonly options: OrdersHistoryOptions) {
    if (!Number.isInteger(options.ordersPerDay) || options.ordersPerDay < 1) {
      throw new RangeError(`ordersPerDay must be a positive integer, got ${options.ordersPerDay}`);
    }
    if (!(options.resendRatio >= 0 && options.resendRatio <= 1)) {
      throw new RangeError(`resendRatio must lie in [0, 1], got ${options.resendRatio}`);
    }
    const start = options.startDate ?? '2025-01-01';
    this.startMs = Date.parse(`${start}T00:00:00Z`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(start) || Number.isNaN(this.startMs)) {
      throw new RangeError(`startDate must be YYYY-MM-DD, got ${start}`);
    }
    this.rand = rng(options.seed ?? 2026);
    this.products = options.productIds ?? SAMPLE_PRODUCT_IDS;
  }

  /** The local date of day `index`. */
  dateOf(index: number): string {
    return isoDay(this.startMs + index * DAY_MS);
  }

  /** The next day's file. */
  nextDay(): OrdersDay {
    const index = this.day++;
    const date = this.dateOf(index);
    const { ordersPerDay: n } = this.options;
    const wanted = Math.round(this.options.resendRatio * n);
    const csv = new TextBuffer((n + wanted + 1) * 112);
    csv.push(`${ORDERS_HEADER}\n`);

    // The tills export in time order: draw the times, sort them, then the orders.
    const seconds = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const hour = ORDER_HOURS[Math.floor(this.rand() * ORDER_HOURS.length)] as number;
      seconds[i] = hour * 3600 + Math.floor(this.rand() * 3600);
    }
    seconds.sort();
    const sent: SentDay = {
      index,
      date,
      seconds,
      customer: new Int32Array(n),
      store: new Uint8Array(n),
      product: new Uint16Array(n),
      quantity: new Uint8Array(n),
      priceCents: new Int32Array(n),
      currency: new Uint8Array(n),
    };
    const dayMs = this.startMs + index * DAY_MS;
    const offsets = ORDER_HOURS.reduce<number[]>((o, h) => {
      o[h] = parisOffsetHours(date, h);
      return o;
    }, []);
    for (let i = 0; i < n; i++) {
      const r = this.rand();
      sent.currency[i] = r < 0.9 ? 0 : r < 0.96 ? 1 : 2;
      sent.product[i] = Math.floor(this.rand() * this.products.length);
      sent.priceCents[i] = 100 + Math.floor(this.rand() * 20_000);
      sent.customer[i] = Math.floor(this.rand() * 50_000);
      sent.store[i] = 1 + Math.floor(this.rand() * 20);
      sent.quantity[i] = 1 + Math.floor(this.rand() * 5);
      const s = seconds[i] as number;
      const utcMs = dayMs + s * 1000 - (offsets[Math.floor(s / 3600)] as number) * 3_600_000;
      // The till sends the order within 5 minutes of placing it.
      const updatedAt = isoInstant(utcMs + (1 + Math.floor(this.rand() * 300)) * 1000);
      csv.push(`${this.head(sent, i)},${updatedAt},${this.tail(sent, i)},placed\n`);
    }

    const resentByAge: Record<number, number> = {};
    const picked = new Set<number>();
    let resent = 0;
    // A bounded number of draws: in the first days there are few earlier orders to re-send.
    for (let draw = 0; resent < wanted && draw < wanted * 4; draw++) {
      const r = this.rand();
      const age = RESEND_AGES.find((a) => r < a.upTo)?.days ?? 1;
      const from = this.recent[this.recent.length - age];
      const which = Math.floor(this.rand() * n);
      if (!from || picked.has(from.index * n + which)) continue;
      picked.add(from.index * n + which);
      // Later than any earlier version: those were sent on earlier UTC days at the latest.
      const updatedAt = isoInstant(dayMs + Math.floor(this.rand() * DAY_MS));
      const status = this.rand() < 0.05 ? 'cancelled' : age === 1 ? 'shipped' : 'delivered';
      csv.push(`${this.head(from, which)},${updatedAt},${this.tail(from, which)},${status}\n`);
      resentByAge[age] = (resentByAge[age] ?? 0) + 1;
      resent++;
    }

    this.recent.push(sent);
    if (this.recent.length > MAX_RESEND_AGE) this.recent.shift();
    return { index, date, csv: csv.toString(), orders: n, resent, resentByAge };
  }

  /** `order_id,order_ts` of an order as first sent. */
  private head(day: SentDay, i: number): string {
    const s = day.seconds[i] as number;
    const time = `${TWO_DIGITS[Math.floor(s / 3600)]}:${TWO_DIGITS[Math.floor((s % 3600) / 60)]}:${TWO_DIGITS[s % 60]}`;
    return `O-${pad(day.index * this.options.ordersPerDay + i + 1, 10)},${day.date} ${time}`;
  }

  /** `customer_id,store_id,product_id,quantity,unit_price,currency` of an order as first sent. */
  private tail(day: SentDay, i: number): string {
    const cents = day.priceCents[i] as number;
    return `C${pad(day.customer[i] as number, 6)},S${TWO_DIGITS[day.store[i] as number]},${this.products[day.product[i] as number]},${day.quantity[i]},${Math.floor(cents / 100)}.${TWO_DIGITS[cents % 100]},${CURRENCIES[day.currency[i] as number]}`;
  }
}
