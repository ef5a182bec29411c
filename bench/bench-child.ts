/** One measured contender of `npm run bench`, in its own process; prints one JSON line. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ContractRegistry } from '../core/contracts/load-contracts';
import { createS3Client } from '../lambdas/aws/s3';
import { Engine } from '../lambdas/bronze-to-silver/duckdb-engine';
import { BronzeToSilver } from '../lambdas/bronze-to-silver/transform';

async function duckdbPlain(csv: string, out: string): Promise<void> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`COPY (SELECT order_id, try_cast(order_ts AS TIMESTAMP) AS order_ts, try_cast(updated_at AS TIMESTAMPTZ) AS updated_at,
      customer_id, store_id, product_id, try_cast(quantity AS INTEGER) AS quantity, try_cast(unit_price AS DECIMAL(10,2)) AS unit_price,
      currency, status
    FROM read_csv('${csv}', header = true, delim = ',', all_varchar = true))
    TO '${out}' (FORMAT parquet, COMPRESSION snappy)`);
  c.closeSync();
}

async function transform(key: string, memoryLimit: string): Promise<Record<string, unknown>> {
  const scratch = mkdtempSync(join(tmpdir(), 'medallion-bench-'));
  try {
    const engine = await Engine.create({ memoryLimit, threads: 2, tempDirectory: join(scratch, 'spill') });
    const t = new BronzeToSilver({
      s3: createS3Client(),
      engine,
      contracts: ContractRegistry.fromDirectory(join(__dirname, '..', 'samples', 'contracts')),
      config: {
        silverBucket: 'silver',
        quarantineBucket: 'quarantine',
        scratchDir: scratch,
        maxDecompressedBytes: 8 * 1024 ** 3,
        piiSalt: 'bench',
      },
    });
    const m = await t.process({ bucket: 'bronze', key });
    if (m.status !== 'ok') throw new Error(`transform quarantined the file: ${m.reason}`);
    const { rows, durationsMs, quarantinedByReason } = m;
    if (rows.in !== rows.out + rows.quarantined + rows.duplicates) throw new Error('conservation broken');
    return { rows, durationsMs, quarantinedByReason, files: m.outputs.length };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const [mode, a, b] = process.argv.slice(2) as [string, string, string];
  const t0 = process.hrtime.bigint();
  let detail: Record<string, unknown> | undefined;
  if (mode === 'duckdb') await duckdbPlain(a, b);
  else detail = await transform(a, b);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(JSON.stringify({ ms, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024), detail }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
