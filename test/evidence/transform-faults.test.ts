/**
 * Evidence, transform faults (scenarios 1-8): the bronze -> silver transform under redelivery, concurrency,
 * out-of-order versions, late events, a crash at every write, a Lambda timeout, a poison file and a bad
 * message in a batch. Everything real: the local S3 server, the SDK client (faults injected by wrapping it,
 * see support/s3-faults.ts), DuckDB, the transform, `processBatch` and the local queue.
 */

import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SQSRecord } from 'aws-lambda';
import { ContractRegistry } from '../../core/contracts/load-contracts';
import { failedReasonKey, manifestKey, sourceId } from '../../core/lake/layout';
import type { FailureReason, Manifest } from '../../core/lake/manifest';
import { sqlString } from '../../core/sql/quote';
import { Engine, queryRows } from '../../lambdas/bronze-to-silver/duckdb-engine';
import { processBatch } from '../../lambdas/bronze-to-silver/sqs-batch';
import { BronzeToSilver } from '../../lambdas/bronze-to-silver/transform';
import { LocalQueue } from '../../local/cloud/local-queue';
import { s3Event, s3Record, sqsRecord } from '../support/aws-events';
import { recordEvidence, recordManifest } from '../support/evidence/evidence';
import { type FaultyS3, faultyS3Client, type S3FaultPlan } from '../support/evidence/s3-faults';
import { withLocalS3 } from '../support/local-s3';
import { SAMPLE_EXPECTATIONS } from '../support/sample-expectations';

jest.setTimeout(60_000);

const BRONZE = 'bronze';
const SILVER = 'silver';
const QUARANTINE = 'quarantine';
const SAMPLES = join(__dirname, '../../samples');
const ORDERS_SAMPLE = 'orders/orders-2026-11-01.csv';
const ORDERS = SAMPLE_EXPECTATIONS[ORDERS_SAMPLE];

const sha256 = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const bronzeKey = (name: string) => `retail/orders/ingest_date=2026-11-01/${name}`;
const idOf = (key: string) => sourceId(BRONZE, key);

const ORDERS_HEADER =
  'order_id,order_ts,updated_at,customer_id,store_id,product_id,quantity,unit_price,currency,status';
/** A small, clean orders file: one row per id, all on `day` (the partition). */
const ordersCsv = (ids: number[], day: string) =>
  `${[
    ORDERS_HEADER,
    ...ids.map((i) => `O-${i},${day} 10:00:00,${day}T09:00:00Z,C001,S1,P001,1,9.99,EUR,placed`),
  ].join('\n')}\n`;

/** The SQS message S3 sends for an ObjectCreated of `key` in bronze. */
const message = (
  messageId: string,
  key: string,
  p: { eventTime?: string; eTag?: string; versionId?: string } = {},
): SQSRecord =>
  sqsRecord(
    messageId,
    s3Event(s3Record(BRONZE, key, { eventTime: p.eventTime ?? new Date().toISOString(), ...p })),
  );

/** Objects of a bucket as key -> sha256 of the bytes. */
type State = Record<string, string>;

describe('evidence: transform faults', () => {
  const s3 = withLocalS3([BRONZE, SILVER, QUARANTINE]);
  const contracts = ContractRegistry.fromDirectory(join(SAMPLES, 'contracts'));
  const clients: FaultyS3[] = [];
  let scratch: string;
  let engine: Engine;
  let logs: string[];
  let errors: string[];

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'medallion-evidence-faults-'));
    engine = await Engine.create({ memoryLimit: '256MB', threads: 2, tempDirectory: join(scratch, 'spill') });
  });
  afterAll(() => {
    for (const c of clients) c.destroy();
    rmSync(scratch, { recursive: true, force: true });
  });
  beforeEach(() => {
    logs = [];
    errors = [];
    jest.spyOn(console, 'log').mockImplementation((line: string) => logs.push(line));
    jest.spyOn(console, 'warn').mockImplementation(() => {});
    jest.spyOn(console, 'error').mockImplementation((line: string) => errors.push(line));
  });
  afterEach(() => jest.restoreAllMocks());

  const transformer = (client: S3Client = s3.client, silver = SILVER, quarantine = QUARANTINE) =>
    new BronzeToSilver({
      s3: client,
      engine,
      contracts,
      config: {
        silverBucket: silver,
        quarantineBucket: quarantine,
        scratchDir: scratch,
        maxDecompressedBytes: 64 * 1024 * 1024,
        piiSalt: 'evidence-salt',
      },
    });
  const faulty = (plan: S3FaultPlan = {}) => {
    const f = faultyS3Client(s3.env, plan);
    clients.push(f);
    return f;
  };

  /** The objects of `bucket` whose key holds `id` (all of them without one), with their sha256. */
  /** The objects of `bucket` (of source `id`), but the commit log: its entries are named by time. */
  const state = async (bucket: string, id?: string): Promise<State> => {
    const out: State = {};
    for (const key of await s3.keys(bucket)) {
      if (id && !key.includes(id)) continue;
      if (key.startsWith('_commits/')) continue;
      out[key] = sha256((await s3.get(bucket, key)) ?? Buffer.alloc(0));
    }
    return out;
  };
  const manifestOf = async (id: string, bucket = SILVER): Promise<Manifest | undefined> => {
    const bytes = await s3.get(bucket, manifestKey('retail', 'orders', id));
    return bytes ? (JSON.parse(bytes.toString()) as Manifest) : undefined;
  };
  /** The manifest without what differs from run to run (timings). */
  const stable = (m: Manifest | undefined) => {
    if (!m) return undefined;
    const { durationsMs: _d, startedAt: _s, finishedAt: _f, ...rest } = m;
    return rest;
  };
  /** Rows in the silver Parquet objects `keys`: all, and distinct order ids. */
  const silverRows = async (keys: string[], bucket = SILVER) => {
    if (keys.length === 0) return { rows: 0, distinct: 0, ids: [] as string[] };
    const files = await Promise.all(
      keys.map(async (key, i) => {
        const file = join(scratch, `read-${sha256(key).slice(0, 12)}-${i}.parquet`);
        writeFileSync(file, (await s3.get(bucket, key)) ?? Buffer.alloc(0));
        return file;
      }),
    );
    try {
      const list = `[${files.map(sqlString).join(', ')}]`;
      const rows = await engine.withConnection((conn) =>
        queryRows<{ order_id: string }>(conn, `SELECT order_id FROM read_parquet(${list}) ORDER BY 1`),
      );
      const ids = rows.map((r) => r.order_id);
      return { rows: ids.length, distinct: new Set(ids).size, ids };
    } finally {
      for (const f of files) rmSync(f, { force: true });
    }
  };
  const parquetKeys = (st: State) => Object.keys(st).filter((k) => k.endsWith('.parquet'));
  const parquetOnly = (st: State): State =>
    Object.fromEntries(Object.entries(st).filter(([k]) => k.endsWith('.parquet')));
  const createBuckets = async (...names: string[]) => {
    for (const Bucket of names) await s3.client.send(new CreateBucketCommand({ Bucket }));
  };

  it('scenario 1: the same S3 event delivered 5 times in a row gives one set of silver files, byte-identical, row counts unchanged', async () => {
    const key = bronzeKey('redelivered 5 times.csv');
    const id = idOf(key);
    await s3.put(BRONZE, key, readFileSync(join(SAMPLES, 'data', ORDERS_SAMPLE)));
    const transform = transformer();

    const snapshots: { silver: State; quarantine: State; manifest: unknown }[] = [];
    for (let delivery = 1; delivery <= 5; delivery++) {
      const result = await processBatch(transform, { Records: [message(`m-redelivered-${delivery}`, key)] });
      expect(result).toEqual({ batchItemFailures: [] });
      const manifest = await manifestOf(id);
      if (!manifest) throw new Error('no manifest');
      recordManifest(1, manifest);
      snapshots.push({
        silver: await state(SILVER, id),
        quarantine: await state(QUARANTINE, id),
        manifest: stable(manifest),
      });
    }

    const [first] = snapshots;
    if (!first) throw new Error('no run');
    expect(Object.keys(first.silver)).toEqual(
      [
        ...Object.keys(ORDERS.partitions).map((dt) => `retail/orders/dt=${dt}/part-${id}.parquet`),
        manifestKey('retail', 'orders', id),
      ].sort(),
    );
    expect(Object.keys(first.quarantine)).toEqual([`rows/retail/orders/${id}.ndjson`]);
    for (const s of snapshots.slice(1)) {
      // Identical data objects (same keys, same sha256) and the same manifest apart from timings.
      expect(parquetOnly(s.silver)).toEqual(parquetOnly(first.silver));
      expect(s.quarantine).toEqual(first.quarantine);
      expect(s.manifest).toEqual(first.manifest);
    }
    expect(first.manifest).toMatchObject({ rows: ORDERS.rows });
    // Each delivery committed again, so each appended its entry to the commit log (the merge reads the
    // same files again, which changes nothing).
    expect(
      (await s3.keys(SILVER, '_commits/retail/orders/')).filter((k) => k.endsWith(`-${id}.json`)),
    ).toHaveLength(5);
    const rows = await silverRows(parquetKeys(first.silver));
    expect(rows).toMatchObject({ rows: ORDERS.rows.out, distinct: ORDERS.rows.out });
    recordEvidence({
      kind: 'duplicates',
      scenario: 1,
      delivered: 5,
      duplicateDeliveries: 4,
      duplicateRows: rows.rows - ORDERS.rows.out,
    });
  });

  it('scenario 2: the same event processed twice concurrently gives one result: one set of files, no duplicate rows, neither call fails', async () => {
    const key = bronzeKey('delivered twice at once.csv');
    const id = idOf(key);
    await s3.put(BRONZE, key, readFileSync(join(SAMPLES, 'data', ORDERS_SAMPLE)));
    const obj = { bucket: BRONZE, key, eventTime: new Date().toISOString() };

    const [a, b] = await Promise.all([transformer().process(obj), transformer().process(obj)]);

    for (const m of [a, b]) {
      recordManifest(2, m);
      expect(m.rows).toEqual(ORDERS.rows);
    }
    // Deterministic: both calls produced the same outputs, byte for byte.
    expect(a.outputs).toEqual(b.outputs);
    const silver = await state(SILVER, id);
    expect(parquetKeys(silver)).toEqual(a.outputs.map((o) => o.key));
    for (const o of a.outputs) expect(silver[o.key]).toBe(o.sha256);
    expect(stable(await manifestOf(id))).toEqual(stable(a));
    const rows = await silverRows(parquetKeys(silver));
    expect(rows).toMatchObject({ rows: ORDERS.rows.out, distinct: ORDERS.rows.out });
    recordEvidence({
      kind: 'duplicates',
      scenario: 2,
      delivered: 2,
      duplicateDeliveries: 1,
      duplicateRows: rows.rows - ORDERS.rows.out,
    });
  });

  describe('scenario 3: two versions of one bronze key, events out of order: the newer version wins', () => {
    const v1 = ordersCsv([3101, 3102, 3103], '2026-11-05');
    const v2 = ordersCsv([3201, 3202], '2026-11-06');

    it('scenario 3: the v2 event then the late v1 event leave v2 rows in silver, and the manifest names the version read', async () => {
      const key = bronzeKey('two versions.csv');
      const id = idOf(key);
      await s3.put(BRONZE, key, v1);
      const eTag1 = (await s3.head(BRONZE, key))?.ETag?.replace(/"/g, '');
      await s3.put(BRONZE, key, v2);
      const eTag2 = (await s3.head(BRONZE, key))?.ETag?.replace(/"/g, '');
      expect(eTag1).not.toEqual(eTag2);

      const transform = transformer();
      const result = await processBatch(transform, {
        Records: [
          message('m-v2', key, { eTag: eTag2, versionId: 'v2' }),
          message('m-v1-late', key, { eTag: eTag1, versionId: 'v1' }),
        ],
      });

      expect(result).toEqual({ batchItemFailures: [] });
      const manifest = await manifestOf(id);
      if (!manifest) throw new Error('no manifest');
      recordManifest(3, manifest);
      // The late v1 event re-processed the current object (v2) and says so, not what the event said.
      expect(manifest.source.eTag).toBe(eTag2);
      expect(manifest.rows).toEqual({ in: 2, out: 2, quarantined: 0, duplicates: 0 });
      const silver = await state(SILVER, id);
      expect(parquetKeys(silver)).toEqual([`retail/orders/dt=2026-11-06/part-${id}.parquet`]);
      expect((await silverRows(parquetKeys(silver))).ids).toEqual(['O-3201', 'O-3202']);
    });

    it('scenario 3: a run that read v1 while v2 was written does not commit: it throws "source changed while transforming; retry", rolls back, and the retry commits v2', async () => {
      const key = bronzeKey('changed while transforming.csv');
      const id = idOf(key);
      await s3.put(BRONZE, key, v1);
      let changed = false;
      // Just before the transform's check of the source (after it read v1), v2 lands.
      const faults = faulty({
        beforeCall: async (call) => {
          if (call.command === 'HeadObject' && call.key === key && !changed) {
            changed = true;
            await s3.put(BRONZE, key, v2);
          }
        },
      });

      await expect(transformer(faults.client).process({ bucket: BRONZE, key })).rejects.toThrow(
        /source changed while transforming; retry/,
      );
      expect(changed).toBe(true);
      expect(await state(SILVER, id)).toEqual({});
      expect(await state(QUARANTINE, id)).toEqual({});

      const retried = await transformer().process({ bucket: BRONZE, key });
      recordManifest(3, retried);
      expect(retried.source.eTag).toBe((await s3.head(BRONZE, key))?.ETag?.replace(/"/g, ''));
      expect((await silverRows(retried.outputs.map((o) => o.key))).ids).toEqual(['O-3201', 'O-3202']);
      recordEvidence({ kind: 'faults', scenario: 3, injected: 1, partialObjectsLeft: 0, recovered: 1 });
    });
  });

  it("scenario 4: an event 5 hours late is processed into its data's partition, and TransformLagSeconds records the delay", async () => {
    const key = bronzeKey('late by five hours.csv');
    const id = idOf(key);
    await s3.put(BRONZE, key, ordersCsv([4001, 4002, 4003], '2026-11-07'));
    const fiveHours = 5 * 3600;
    const eventTime = new Date(Date.now() - fiveHours * 1000).toISOString();

    const result = await processBatch(transformer(), { Records: [message('m-late', key, { eventTime })] });

    expect(result).toEqual({ batchItemFailures: [] });
    const manifest = await manifestOf(id);
    if (!manifest) throw new Error('no manifest');
    recordManifest(4, manifest);
    expect(parquetKeys(await state(SILVER, id))).toEqual([`retail/orders/dt=2026-11-07/part-${id}.parquet`]);
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.key === key);
    expect(line._aws.CloudWatchMetrics[0].Metrics).toContainEqual({
      Name: 'TransformLagSeconds',
      Unit: 'Seconds',
    });
    expect(line.TransformLagSeconds).toBeGreaterThanOrEqual(fiveHours);
    expect(line.TransformLagSeconds).toBeLessThan(fiveHours + 60);
    recordEvidence({
      kind: 'note',
      scenario: 4,
      name: 'TransformLagSeconds of an event 5 h late',
      value: Math.round(line.TransformLagSeconds),
      unit: 's',
    });
  });

  it('scenario 5: a crash at the Nth S3 write, for every N, leaves no partial or orphaned output, and the retry completes the exact clean result', async () => {
    const key = bronzeKey('crash while writing silver.csv');
    const id = idOf(key);
    await s3.put(BRONZE, key, readFileSync(join(SAMPLES, 'data', ORDERS_SAMPLE)));

    // A clean run teaches K, the number of writes; a second one checks the outputs are deterministic.
    const counting = faulty();
    const clean = await transformer(counting.client).process({ bucket: BRONZE, key });
    recordManifest(5, clean);
    const K = counting.writes().length;
    // The partitions, the quarantined rows, the manifest, then the commit log entry.
    expect(K).toBe(clean.outputs.length + 3);
    // Every write was a single PutObject: no multipart upload can be left incomplete (and none is open).
    expect(counting.writes().map((w) => w.command)).toEqual(Array(K).fill('PutObject'));
    const open = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: SILVER }));
    expect(open.Uploads ?? []).toEqual([]);
    const cleanSilver = await state(SILVER, id);
    const cleanQuarantine = await state(QUARANTINE, id);
    const rerun = await transformer().process({ bucket: BRONZE, key });
    recordManifest(5, rerun);
    expect(rerun.outputs).toEqual(clean.outputs);
    expect(await state(QUARANTINE, id)).toEqual(cleanQuarantine);

    let injected = 0;
    let partialObjectsLeft = 0;
    let recovered = 0;
    for (const failMode of ['before', 'after'] as const) {
      for (let n = 1; n <= K; n++) {
        // Fresh silver and quarantine buckets, same bronze object: the same keys as the clean run.
        const silver = `silver-${failMode}-${n}`;
        const quarantine = `quarantine-${failMode}-${n}`;
        await createBuckets(silver, quarantine);
        const faults = faulty({ failWrite: n, failMode });

        await expect(
          transformer(faults.client, silver, quarantine).process({ bucket: BRONZE, key }),
        ).rejects.toThrow(/injected S3 fault/);
        injected += faults.injected;
        expect(faults.injected).toBe(1);

        // What readers could see now: only objects a committed manifest lists, and all of those.
        const left = { ...(await state(silver)), ...(await state(quarantine)) };
        const committed = await manifestOf(id, silver);
        const listed = new Set(
          committed
            ? [
                manifestKey('retail', 'orders', id),
                ...committed.outputs.map((o) => o.key),
                ...(committed.quarantine ? [committed.quarantine.key] : []),
              ]
            : [],
        );
        const orphans = Object.keys(left).filter((k) => !listed.has(k));
        partialObjectsLeft += orphans.length;
        expect(orphans).toEqual([]);
        for (const k of listed) expect(left[k]).toBeDefined();
        // Only a manifest that landed (its answer lost, or the commit log write after it failed) is committed.
        expect(committed !== undefined).toBe((failMode === 'after' && n === K - 1) || n === K);

        const retried = await transformer(s3.client, silver, quarantine).process({ bucket: BRONZE, key });
        recordManifest(5, retried);
        // Exactly the clean run: the same keys (no orphan), the same bytes, the same manifest.
        const final = await state(silver);
        expect(Object.keys(final)).toEqual(Object.keys(cleanSilver));
        expect(parquetOnly(final)).toEqual(parquetOnly(cleanSilver));
        expect(await state(quarantine)).toEqual(cleanQuarantine);
        expect(stable(retried)).toEqual({
          ...stable(clean),
          quarantine: { ...clean.quarantine, bucket: quarantine },
        });
        recovered++;
      }
    }
    expect(injected).toBe(2 * K);
    recordEvidence({ kind: 'faults', scenario: 5, injected, partialObjectsLeft, recovered });
  });

  it('scenario 6: a Lambda about to time out stops itself: the file in progress is aborted and rolled back, the next is not started, both are reported failed, scratch is clean, and the retry completes', async () => {
    const key = bronzeKey('slow writes near the timeout.csv');
    const next = bronzeKey('queued behind the slow one.csv');
    const id = idOf(key);
    await s3.put(BRONZE, key, readFileSync(join(SAMPLES, 'data', ORDERS_SAMPLE)));
    await s3.put(BRONZE, next, ordersCsv([6001], '2026-11-08'));
    // Two writes go through, the third hangs (a slow S3) until the deadline aborts it.
    const faults = faulty({ delayWriteMs: (call) => ((call.write ?? 0) >= 3 ? 60_000 : 0) });
    const remainingMs = 3_000;
    const started = Date.now();

    const result = await processBatch(
      transformer(faults.client),
      { Records: [message('m-slow', key), message('m-next', next)] },
      undefined,
      { context: { getRemainingTimeInMillis: () => remainingMs - (Date.now() - started) } },
    );
    const elapsedMs = Date.now() - started;

    expect(result).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm-slow' }, { itemIdentifier: 'm-next' }],
    });
    // Stopped before Lambda would have killed it (3 s), with the default margin (a tenth: 300 ms).
    expect(elapsedMs).toBeLessThan(remainingMs);
    expect(errors.map((e) => JSON.parse(e).error)).toEqual([
      expect.stringMatching(/before the invocation's timeout/),
      expect.stringMatching(/before the invocation's timeout/),
    ]);
    // Two writes landed, the third was in flight and aborted; the rollback deleted all three (an aborted
    // write may still have reached the server).
    expect(faults.writes().map((w) => w.outcome)).toEqual(['ok', 'ok', 'aborted']);
    const deleted = faults.calls.filter((c) => c.command === 'DeleteObject').map((c) => c.key);
    // Uploads run a few at a time, so the order of writes and of deletes may differ.
    expect([...deleted].sort()).toEqual(
      faults
        .writes()
        .map((w) => w.key)
        .sort(),
    );
    const left = { ...(await state(SILVER, id)), ...(await state(QUARANTINE, id)) };
    expect(left).toEqual({});
    // The second message was never started: its object was not even read.
    expect(faults.calls.filter((c) => c.key === next)).toEqual([]);
    expect(readdirSync(scratch).filter((f) => f.startsWith('b2s-'))).toEqual([]);

    const retry = await processBatch(
      transformer(),
      { Records: [message('m-slow', key), message('m-next', next)] },
      undefined,
      { context: { getRemainingTimeInMillis: () => 900_000 } },
    );
    expect(retry).toEqual({ batchItemFailures: [] });
    const manifest = await manifestOf(id);
    if (!manifest) throw new Error('no manifest');
    recordManifest(6, manifest);
    expect(manifest.rows).toEqual(ORDERS.rows);
    const nextManifest = await manifestOf(idOf(next));
    if (!nextManifest) throw new Error('no manifest');
    recordManifest(6, nextManifest);
    expect((await silverRows(parquetKeys(await state(SILVER, id)))).rows).toBe(ORDERS.rows.out);
    recordEvidence({
      kind: 'faults',
      scenario: 6,
      injected: 1,
      partialObjectsLeft: Object.keys(left).length,
      recovered: 2,
    });
    recordEvidence({ kind: 'note', scenario: 6, name: 'stopped after', value: elapsedMs, unit: 'ms' });
  });

  it('scenario 7: a poison file is received exactly maxReceiveCount times, then dead-lettered with its reason recorded; the rest of its batch succeeds on the first receive', async () => {
    const maxReceiveCount = 3;
    const poison = bronzeKey('poison.csv');
    const poisonId = idOf(poison);
    const good = [1, 2, 3].map((i) => bronzeKey(`good ${i}.csv`));
    await s3.put(BRONZE, poison, ordersCsv([7000], '2026-11-09'));
    for (const [i, key] of good.entries()) await s3.put(BRONZE, key, ordersCsv([7001 + i], '2026-11-09'));
    // Every silver write for the poison file fails, whatever the attempt: a persistent failure that is
    // not a problem with the file's content (that would be quarantined at once, not retried).
    const faults = faulty({ failWrite: (call) => call.bucket === SILVER && !!call.key?.includes(poisonId) });
    const transform = transformer(faults.client);
    const receives = new Map<string, number>();
    const batches: number[] = [];
    const queue = new LocalQueue({
      name: 'transform',
      maxReceiveCount,
      consumer: (event) => {
        batches.push(event.Records.length);
        for (const r of event.Records) receives.set(r.messageId, (receives.get(r.messageId) ?? 0) + 1);
        return processBatch(transform, event, undefined, { maxReceiveCount });
      },
    });
    const body = (key: string) => JSON.stringify(s3Event(s3Record(BRONZE, key)));
    const poisonMessage = queue.send(body(poison));
    const goodMessages = good.map((key) => queue.send(body(key)));
    await queue.whenIdle();
    queue.close();

    expect(batches).toEqual([4, 1, 1]);
    expect(receives.get(poisonMessage)).toBe(maxReceiveCount);
    for (const m of goodMessages) expect(receives.get(m)).toBe(1);
    expect(queue.deadLetters.map((d) => [d.messageId, d.receiveCount])).toEqual([
      [poisonMessage, maxReceiveCount],
    ]);
    for (const key of good) {
      const m = await manifestOf(idOf(key));
      if (!m) throw new Error(`no manifest for ${key}`);
      recordManifest(7, m);
      expect(m.rows).toEqual({ in: 1, out: 1, quarantined: 0, duplicates: 0 });
    }
    // The reason, written once, on the last receive, naming the file and the error.
    const reasonKey = failedReasonKey('retail', 'orders', poisonId);
    expect(faults.calls.filter((c) => c.key === reasonKey).map((c) => c.command)).toEqual(['PutObject']);
    const reason = JSON.parse((await s3.get(QUARANTINE, reasonKey))?.toString() ?? '{}') as FailureReason;
    expect(reason).toEqual({
      error: expect.stringMatching(
        /injected S3 fault: PutObject s3:\/\/silver\/retail\/orders\/dt=2026-11-09/,
      ),
      attempts: maxReceiveCount,
      sourceBucket: BRONZE,
      sourceKey: poison,
      failedAt: expect.any(String),
    });
    // Nothing of the poison file is visible: every attempt rolled back, none committed.
    expect(await state(SILVER, poisonId)).toEqual({});
    expect(await state(QUARANTINE, poisonId)).toEqual({ [reasonKey]: expect.any(String) });
    recordEvidence({
      kind: 'faults',
      scenario: 7,
      injected: faults.injected,
      partialObjectsLeft: Object.keys(await state(SILVER, poisonId)).length,
      recovered: 0,
    });
    recordEvidence({ kind: 'note', scenario: 7, name: 'poison receives', value: maxReceiveCount });
  });

  it('scenario 8: an SQS batch of 10 with 1 undecodable message reports exactly that one as failed, and the 9 others are transformed once', async () => {
    const keys = Array.from({ length: 10 }, (_, i) => bronzeKey(`batch of ten ${i}.csv`));
    for (const [i, key] of keys.entries()) await s3.put(BRONZE, key, ordersCsv([8000 + i], '2026-11-10'));
    const counting = faulty();
    const records = keys.map((key, i) =>
      i === 6 ? sqsRecord('m-6', '{"Records": [ not json') : message(`m-${i}`, key),
    );

    const result = await processBatch(transformer(counting.client), { Records: records });

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-6' }] });
    for (const [i, key] of keys.entries()) {
      const m = await manifestOf(idOf(key));
      if (i === 6) {
        expect(m).toBeUndefined();
        continue;
      }
      if (!m) throw new Error(`no manifest for ${key}`);
      recordManifest(8, m);
      expect(m.rows).toEqual({ in: 1, out: 1, quarantined: 0, duplicates: 0 });
      // Once each: one GetObject of the bronze object.
      expect(counting.calls.filter((c) => c.command === 'GetObject' && c.key === key)).toHaveLength(1);
    }
    expect(errors.map((e) => JSON.parse(e))).toEqual([
      expect.objectContaining({ messageId: 'm-6', error: 'message m-6 is not JSON' }),
    ]);
  });
});
