/**
 * Generates a synthetic orders CSV matching samples/contracts/orders.yaml: ~96 bytes a row, 10 columns,
 * with a small, fixed share of dirty rows (bad numbers, padded lower-case currency, duplicates with a later
 * updated_at) so the transform does its full validation work. Deterministic for a given row count.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

const CURRENCIES = ['EUR', 'USD', 'GBP'];
const STATUSES = ['placed', 'shipped', 'delivered', 'cancelled'];

/** Small, fast deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

export async function generateOrders(file: string, rows: number): Promise<{ rows: number; bytes: number }> {
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  const rand = rng(42);
  const start = Date.UTC(2026, 9, 1); // 2026-10-01
  let bytes = 0;
  let buf =
    'order_id,order_ts,updated_at,customer_id,store_id,product_id,quantity,unit_price,currency,status\n';
  for (let i = 1; i <= rows; i++) {
    const r = rand();
    // 0.5% duplicates of the previous order with a later update; 0.2% dirty values.
    const id = r < 0.005 && i > 1 ? i - 1 : i;
    const t = new Date(start + Math.floor(rand() * 30 * 86400) * 1000);
    const ts = `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1, 2)}-${pad(t.getUTCDate(), 2)} ${pad(t.getUTCHours(), 2)}:${pad(t.getUTCMinutes(), 2)}:${pad(t.getUTCSeconds(), 2)}`;
    const upd = new Date(t.getTime() + (id === i ? 60_000 : 3_600_000)).toISOString();
    let qty = String(1 + Math.floor(rand() * 9));
    let price = `${Math.floor(rand() * 500)}.${pad(Math.floor(rand() * 100), 2)}`;
    let cur = CURRENCIES[Math.floor(rand() * 3)] as string;
    if (r > 0.998) qty = 'two';
    else if (r > 0.996) price = '"12,50"';
    else if (r > 0.99) cur = ` ${cur.toLowerCase()} `;
    buf += `O-${pad(id, 9)},${ts},${upd},C${pad(Math.floor(rand() * 100000), 6)},S${pad(Math.floor(rand() * 50), 3)},P${pad(Math.floor(rand() * 5000), 5)},${qty},${price},${cur},${STATUSES[Math.floor(rand() * 4)]}\n`;
    if (buf.length > 1 << 20) {
      bytes += Buffer.byteLength(buf);
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  bytes += Buffer.byteLength(buf);
  out.end(buf);
  await once(out, 'finish');
  return { rows, bytes };
}

if (require.main === module) {
  const [file = 'orders.csv', rows = '1000000'] = process.argv.slice(2);
  generateOrders(file, Number(rows)).then((r) => console.log(`${file}: ${r.rows} rows, ${r.bytes} bytes`));
}
