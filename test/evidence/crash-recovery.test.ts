/**
 * Evidence, crash safety: `medallion local` as a real child process, killed with SIGKILL at random points
 * while files arrive through both doors (uploads to the landing bucket, API POSTs) and are landed,
 * spooled, validated, written, uploaded and committed; restarted on the same state each time. Nothing is
 * replayed by hand: the durable queue journal and the start-up reconciliation finish the work.
 *
 * Afterwards every acknowledged file is in silver exactly once with all its rows, every manifest balances,
 * nothing is left in landing, in a queue or without a manifest, and every silver table reads.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isBookkeepingKey, manifestKey, sourceId } from '../../core/lake/layout';
import type { Manifest } from '../../core/lake/manifest';
import { createS3Client, getJson, listKeys } from '../../lambdas/aws/s3';
import { localS3Env } from '../../local/cloud/s3-server';
import { recordEvidence, recordManifest } from '../support/evidence/evidence';
import { type LocalChild, startLocalChild } from '../support/evidence/local-child';

const ROOT = resolve(__dirname, '..', '..');
const ITERATIONS = Number(process.env.MEDALLION_CRASH_ITERATIONS ?? 20);
const BUCKET = {
  landing: 'medallion-local-landing',
  bronze: 'medallion-local-bronze',
  silver: 'medallion-local-silver',
};
const DATASET_OF: Record<string, { domain: string; dataset: string }> = {
  orders: { domain: 'retail', dataset: 'orders' },
  customers: { domain: 'retail', dataset: 'customers' },
};

/** A file sent, and whether the door acknowledged it (only those must be in silver). */
interface Sent {
  readonly dataset: 'orders' | 'customers';
  readonly sha256: string;
  readonly rows: number;
}

/** A seeded generator, so that a failing sequence of kill points can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

function ordersFile(tag: string, rows: number): string {
  const header =
    'order_id,order_ts,updated_at,customer_id,store_id,product_id,quantity,unit_price,currency,status';
  const lines = Array.from(
    { length: rows },
    (_, r) =>
      `O-${tag}${String(r).padStart(6, '0')},2026-11-07 10:00:00,2026-11-07T09:00:00Z,C001,S1,P001,1,5.00,EUR,placed`,
  );
  return `${header}\n${lines.join('\n')}\n`;
}

function customersBody(tag: string, rows: number): string {
  return `${Array.from({ length: rows }, (_, r) =>
    JSON.stringify({
      customer_id: `K${tag}-${r}`,
      email: `k${tag}.${r}@example.com`,
      signup_date: '2026-03-01',
      updated_at: '2026-11-07T09:00:00Z',
    }),
  ).join('\n')}\n`;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Queue messages journaled on disk (queued or in flight when the process died). */
function journaledMessages(state: string): number {
  const dir = join(state, 'queues');
  if (!existsSync(dir)) return 0;
  return readdirSync(dir).reduce(
    (n, q) => n + readdirSync(join(dir, q)).filter((f) => f.endsWith('.json')).length,
    0,
  );
}

/** Sends one iteration's files through both doors; `pending` names the requests not settled yet. */
function sendFiles(
  child: LocalChild,
  s3: S3Client,
  iteration: number,
  acknowledged: Sent[],
): { done: Promise<unknown>; pending: Set<string> } {
  const pending = new Set<string>();
  const track = <T>(label: string, request: Promise<T>): Promise<T> => {
    pending.add(label);
    return request.finally(() => pending.delete(label));
  };
  const work: Promise<unknown>[] = [];
  // One larger file (its transform takes a while: the kill can land in spool, write or upload)...
  const sizes = [20_000, 40, 7, 3];
  sizes.forEach((rows, n) => {
    const body = ordersFile(`${iteration}${n}`, rows);
    const Key = `retail/orders/crash-${iteration}-${n}.csv`;
    work.push(
      track(`PUT ${Key}`, s3.send(new PutObjectCommand({ Bucket: BUCKET.landing, Key, Body: body }))).then(
        () => acknowledged.push({ dataset: 'orders', sha256: sha256(body), rows }),
      ),
    );
  });
  // ... and API posts.
  for (let n = 0; n < 3; n++) {
    const body = customersBody(`${iteration}${n}`, 1 + n);
    const name = `crash-${iteration}-${n}.ndjson`;
    work.push(
      track(
        `POST ${name}`,
        fetch(`${child.api}/datasets/customers/records`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson', 'x-file-name': name },
          body,
          // A request the killed server never answers must still end.
          signal: AbortSignal.timeout(60_000),
        }),
      ).then((r) => {
        if (r.status === 202) acknowledged.push({ dataset: 'customers', sha256: sha256(body), rows: 1 + n });
      }),
    );
  }
  return { done: Promise.allSettled(work), pending };
}

/** `promise`, or an error naming what it waited on after `ms` (a hang then names itself). */
async function within<T>(ms: number, promise: Promise<T>, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms: ${what()}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Progress as it happens (jest prints console output only when the test ends). */
const progress = (line: string) => process.stderr.write(`scenario 27: ${line}\n`);

/** Dead letters on disk (`queues/<queue>/dead/*.json`): their message ids and last errors. */
function deadLetters(state: string): string[] {
  const dir = join(state, 'queues');
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const q of readdirSync(dir)) {
    const dead = join(dir, q, 'dead');
    if (!existsSync(dead)) continue;
    for (const f of readdirSync(dead).filter((n) => n.endsWith('.json'))) {
      const d = JSON.parse(readFileSync(join(dead, f), 'utf8')) as { body: string; lastError?: string };
      found.push(`${q}: ${d.lastError ?? '(no error)'} ${d.body.slice(0, 300)}`);
    }
  }
  return found;
}

/** Waits until landing is empty, no message is journaled and every bronze object has a manifest. */
async function settled(s3: S3Client, state: string, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const landing = await listKeys(s3, BUCKET.landing);
    const bronze = (await listKeys(s3, BUCKET.bronze)).filter((k) => !isBookkeepingKey(k));
    const missing: string[] = [];
    for (const key of bronze) {
      const [, dataset] = key.split('/');
      const d = DATASET_OF[dataset as string];
      if (!d) continue;
      const m = await getJson<Manifest>(
        s3,
        BUCKET.silver,
        manifestKey(d.domain, d.dataset, sourceId(BUCKET.bronze, key)),
      );
      if (!m) missing.push(key);
    }
    if (landing.length === 0 && missing.length === 0 && journaledMessages(state) === 0) return bronze;
    if (Date.now() > deadline)
      throw new Error(
        `not settled after ${timeoutMs} ms: ${landing.length} in landing, ${missing.length} without a manifest, ${journaledMessages(state)} journaled\n` +
          `without a manifest: ${missing.join(', ')}\ndead letters:\n${deadLetters(state).join('\n')}`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

function query(state: string, sql: string): Record<string, unknown>[] {
  const r = spawnSync(
    join(ROOT, 'node_modules', '.bin', 'tsx'),
    ['bin/medallion.ts', 'query', sql, '--format', 'json', '--state', state],
    { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`query failed (${r.status}): ${sql}\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe(`scenario 27: kill -9 of the local cloud at random points, ${ITERATIONS} times, restarted on the same state`, () => {
  let state: string;
  beforeAll(() => {
    state = mkdtempSync(join(tmpdir(), 'medallion-crash-'));
  });
  afterAll(() => {
    if (!process.env.MEDALLION_CRASH_KEEP_STATE) rmSync(state, { recursive: true, force: true });
  });

  it('scenario 27: every acknowledged file ends in silver exactly once, with every row, and every table reads', async () => {
    const seed = Number(process.env.MEDALLION_CRASH_SEED ?? Date.now() % 100_000);
    const next = random(seed);
    console.log(
      `scenario 27: seed ${seed} (MEDALLION_CRASH_SEED replays the same kill points), state ${state}`,
    );
    const acknowledged: Sent[] = [];
    const leftInFlight: { landing: number; bronze: number; queued: number }[] = [];
    const killedAfterMs: number[] = [];
    let queuedBeforeStart = 0;
    const noteRestart = (child: LocalChild) => {
      // The banner of a restart says what the reconciliation found (the journal said what was queued).
      const m = /re-drove \d+ object\(s\).*\((\d+) upload\(s\) in landing, (\d+) bronze object\(s\)/.exec(
        child.output(),
      );
      leftInFlight.push({
        landing: Number(m?.[1] ?? 0),
        bronze: Number(m?.[2] ?? 0),
        queued: queuedBeforeStart,
      });
    };

    for (let i = 0; i < ITERATIONS; i++) {
      queuedBeforeStart = journaledMessages(state);
      progress(`start ${i}`);
      const child = await within(150_000, startLocalChild(state), () => `start ${i}`);
      if (i > 0) noteRestart(child);
      const s3 = createS3Client(localS3Env(child.s3));
      const sending = sendFiles(child, s3, i, acknowledged);
      // Skewed early: the uploads take tens of ms, the landing and the transforms about two seconds.
      const delay = Math.round(next() ** 2 * 2500);
      killedAfterMs.push(delay);
      await new Promise((r) => setTimeout(r, delay));
      await within(30_000, child.kill9(), () => `the kill of start ${i} (pid ${child.pid}) to end it`);
      s3.destroy();
      await within(
        90_000,
        sending.done,
        () => `the requests of start ${i} to end: ${[...sending.pending].join(', ')}`,
      );
    }

    queuedBeforeStart = journaledMessages(state);
    const last = await startLocalChild(state);
    noteRestart(last);
    const s3 = createS3Client(localS3Env(last.s3));
    let bronze: string[];
    try {
      bronze = await settled(s3, state, Number(process.env.MEDALLION_CRASH_SETTLE_MS ?? 180_000)).catch(
        (e: Error) => {
          // What the last start printed (its reconciliation, its failures) names what it waits on.
          throw new Error(`${e.message}\nthe last start printed:\n${last.output().slice(-6000)}`);
        },
      );
      // Every acknowledged file is in bronze once (content-addressed) and committed with every row.
      for (const sent of acknowledged) {
        const keys = bronze.filter((k) => k.includes(sent.sha256));
        expect({ sha256: sent.sha256, bronzeObjects: keys.length }).toEqual({
          sha256: sent.sha256,
          bronzeObjects: 1,
        });
      }
      for (const key of bronze) {
        const d = DATASET_OF[key.split('/')[1] as string] as { domain: string; dataset: string };
        const m = (await getJson<Manifest>(
          s3,
          BUCKET.silver,
          manifestKey(d.domain, d.dataset, sourceId(BUCKET.bronze, key)),
        )) as Manifest;
        expect(m.rows.in).toBe(m.rows.out + m.rows.quarantined + m.rows.duplicates);
        recordManifest(27, m);
      }
    } finally {
      s3.destroy();
      expect(
        await within(60_000, last.stop(), () => `the last start (pid ${last.pid}) to stop on SIGINT`),
      ).toBe(0);
    }

    // Exactly once in silver: each bronze object's rows, counted in the tables (every table must read).
    const found = new Map<string, number>();
    for (const table of ['orders_arrivals', 'customers_arrivals']) {
      for (const row of query(state, `SELECT _bronze_key AS k, count(*) AS n FROM ${table} GROUP BY 1`))
        found.set(String(row.k), Number(row.n));
    }
    let rowsSent = 0;
    let rowsFound = 0;
    for (const sent of acknowledged) {
      const key = bronze.find((k) => k.includes(sent.sha256)) as string;
      rowsSent += sent.rows;
      rowsFound += found.get(key) ?? 0;
      expect({ key, rows: found.get(key) ?? 0 }).toEqual({ key, rows: sent.rows });
    }
    expect(rowsFound).toBe(rowsSent);

    console.log(
      `scenario 27 (seed ${seed}): ${ITERATIONS} kills after ${killedAfterMs.join(', ')} ms; ${acknowledged.length} files acknowledged, ` +
        `${rowsSent} rows sent, ${rowsFound} found; left mid-way per kill: ${JSON.stringify(leftInFlight)}`,
    );
    recordEvidence({
      kind: 'crashes',
      scenario: 27,
      crashes: ITERATIONS,
      filesAcknowledged: acknowledged.length,
      rowsSent,
      rowsFound,
      leftInFlight,
    });
  }, 900_000);
});
