import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { manifestKey, sourceId } from '../../../core/lake/layout';
import { DEFAULT_TRANSFORM_MEMORY_MB } from '../../../lib/bronze-to-silver-pipeline';
import { localEngineMemoryLimit } from '../../../local/cloud/function-env';
import {
  LocalCloud as Cloud,
  type LocalCloud,
  type LocalCloudEvents,
} from '../../../local/cloud/local-cloud';

const SAMPLES = resolve(__dirname, '..', '..', '..', 'samples');

describe('LocalCloud', () => {
  let cloud: LocalCloud;
  let state: string;
  const logs: string[] = [];
  const events: { [E in keyof LocalCloudEvents]?: LocalCloudEvents[E][] } = {};
  const record =
    <E extends keyof LocalCloudEvents>(name: E) =>
    (e: LocalCloudEvents[E]) => {
      const list = (events[name] ?? []) as LocalCloudEvents[E][];
      list.push(e);
      (events as Record<string, unknown>)[name] = list;
    };

  beforeAll(async () => {
    state = mkdtempSync(join(tmpdir(), 'medallion-cloud-'));
    cloud = await Cloud.start({
      stateDir: state,
      contractsDir: join(SAMPLES, 'contracts'),
      s3Port: 0,
      apiPort: 0,
      retryDelayMs: 1,
      functionLogs: (line) => logs.push(line),
    });
    cloud.on('landed', record('landed'));
    cloud.on('transformed', record('transformed'));
    cloud.on('dead-lettered', record('dead-lettered'));
  });

  afterAll(async () => {
    await cloud?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  const keys = async (bucket: string, prefix = '') => {
    const page = await cloud.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (page.Contents ?? []).map((o) => o.Key as string).sort();
  };
  const manifest = async (domain: string, dataset: string, bronzeKey: string) => {
    const key = manifestKey(domain, dataset, sourceId(cloud.buckets.bronze, bronzeKey));
    const got = await cloud.s3.send(new GetObjectCommand({ Bucket: cloud.buckets.silver, Key: key }));
    return JSON.parse(await (got.Body?.transformToString() ?? '')) as { rows: Record<string, number> };
  };

  it('listens on 127.0.0.1 only, with the local bucket names', () => {
    expect(cloud.endpoints.s3).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(cloud.endpoints.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // Every bucket of the template, named by its `layer` tag.
    expect(cloud.buckets).toEqual({
      landing: 'medallion-local-landing',
      bronze: 'medallion-local-bronze',
      silver: 'medallion-local-silver',
      gold: 'medallion-local-gold',
      quarantine: 'medallion-local-quarantine',
      'athena-results': 'medallion-local-athena-results',
      ops: 'medallion-local-ops',
    });
  });

  it("sets the handlers' environment", () => {
    expect(process.env).toMatchObject({
      MEDALLION_LANDING_BUCKET: 'medallion-local-landing',
      MEDALLION_BRONZE_BUCKET: 'medallion-local-bronze',
      MEDALLION_SILVER_BUCKET: 'medallion-local-silver',
      MEDALLION_QUARANTINE_BUCKET: 'medallion-local-quarantine',
      MEDALLION_CONTRACTS_DIR: join(SAMPLES, 'contracts'),
      MEDALLION_PII_HASH_SALT: 'local-dev-salt',
      MEDALLION_SCRATCH_DIR: join(state, 'scratch'),
      // The template's limit for the transform's memory, capped at a quarter of this machine's.
      MEDALLION_ENGINE_MEMORY_LIMIT: localEngineMemoryLimit(
        `${Math.floor(DEFAULT_TRANSFORM_MEMORY_MB * 0.6)}MB`,
      ),
      AWS_ENDPOINT_URL_S3: cloud.endpoints.s3,
    });
  });

  it('serves POST /datasets/{dataset}/records over HTTP and carries the file on to silver', async () => {
    const body = readFileSync(join(SAMPLES, 'data', 'customers', 'customers.ndjson'));
    const res = await fetch(`${cloud.endpoints.api}/datasets/customers/records`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-ndjson', 'X-File-Name': 'customers.ndjson' },
      body,
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-amzn-requestid')).toEqual(expect.any(String));
    const landed = (await res.json()) as { bronzeKey: string; duplicate: boolean };
    expect(landed.duplicate).toBe(false);
    await cloud.whenIdle();
    expect((await manifest('retail', 'customers', landed.bronzeKey)).rows).toEqual({
      in: 11,
      out: 10,
      quarantined: 1,
      duplicates: 0,
    });
    expect(logs.some((l) => /medallion-local-landing\t.*\tINFO\t.*"landed"/.test(l))).toBe(true);
    expect(logs.some((l) => /medallion-local-bronze-to-silver\tREPORT RequestId/.test(l))).toBe(true);
  });

  it('answers 404 for any other route or method, and relays the function refusing a dataset', async () => {
    const api = cloud.endpoints.api as string;
    expect((await fetch(`${api}/datasets/customers/records`)).status).toBe(404);
    expect((await fetch(`${api}/datasets/customers`, { method: 'POST', body: 'x' })).status).toBe(404);
    expect((await fetch(`${api}/`, { method: 'POST', body: 'x' })).status).toBe(404);
    const unknown = await fetch(`${api}/datasets/nope/records`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/csv' },
      body: 'a,b\n',
    });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { message: string }).message).toMatch(/unknown dataset 'nope'/);
  });

  it('passes binary (gzip) bodies base64-encoded, as API Gateway does', async () => {
    const csv = readFileSync(join(SAMPLES, 'data', 'products', 'products.csv'));
    const res = await cloud.api('products', gzipSync(csv), {
      'Content-Type': 'text/csv',
      'Content-Encoding': 'gzip',
    });
    expect(res.statusCode).toBe(202);
    const { bronzeKey } = JSON.parse(res.body) as { bronzeKey: string };
    expect(bronzeKey).toMatch(/\.csv\.gz$/);
    await cloud.whenIdle();
    expect((await manifest('retail', 'products', bronzeKey)).rows.out).toBe(12);
  });

  it('lands an upload whose key needs URL-encoding, then transforms it', async () => {
    const key = 'retail/orders/orders 2026+11 été 🚀.csv';
    const body = readFileSync(join(SAMPLES, 'data', 'orders', 'orders-2026-11-01.csv'));
    await cloud.s3.send(new PutObjectCommand({ Bucket: cloud.buckets.landing, Key: key, Body: body }));
    await cloud.whenIdle();
    expect(events.landed).toContainEqual({ bucket: cloud.buckets.landing, key, attempts: 1 });
    expect(await keys(cloud.buckets.landing)).toEqual([]);
    const bronze = (await keys(cloud.buckets.bronze, 'retail/orders/')).filter((k) => k.endsWith('.csv'));
    expect(bronze).toHaveLength(1);
    expect((events.transformed ?? []).map((t) => t.key)).toContain(bronze[0]);
    expect((await manifest('retail', 'orders', bronze[0])).rows).toEqual({
      in: 44,
      out: 34,
      quarantined: 8,
      duplicates: 2,
    });
  });

  it("queues only what the template's bronze prefix filters accept (one per domain)", async () => {
    const transformedBefore = (events.transformed ?? []).length;
    await cloud.s3.send(
      new PutObjectCommand({ Bucket: cloud.buckets.bronze, Key: '_index/whatever', Body: 'x' }),
    );
    await cloud.s3.send(
      new PutObjectCommand({ Bucket: cloud.buckets.bronze, Key: 'finance/invoices/x.csv', Body: 'a\n1\n' }),
    );
    await cloud.whenIdle();
    expect((events.transformed ?? []).length).toBe(transformedBefore);
    expect(cloud.deadLetters).toHaveLength(0);
    expect(cloud.wiring.routes.filter((r) => r.bucket === cloud.buckets.bronze).map((r) => r.prefix)).toEqual(
      ['retail/'],
    );
    // Redelivering an existing bronze object goes through the same filters.
    expect(await cloud.renotify(cloud.buckets.bronze, 'finance/invoices/x.csv')).toBe(0);
  });

  it('closes its ports and restores the environment when stopped', async () => {
    const { s3, api } = cloud.endpoints;
    await cloud.stop();
    expect(process.env.MEDALLION_LANDING_BUCKET).toBeUndefined();
    expect(process.env.AWS_ENDPOINT_URL_S3).toBeUndefined();
    await expect(fetch(`${s3}/`)).rejects.toThrow();
    await expect(fetch(`${api}/datasets/customers/records`, { method: 'POST' })).rejects.toThrow();
  });
});
