/**
 * `ingest` against a real local cloud: the real landing handlers (API and S3 doors) and the real transform,
 * wired by hand (no synthesis), plus two fixture handlers for what the real ones never do on demand: fail
 * a landing (`flaky`) and fail a transform message (`batch`), under a `lab` domain of their own.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ENV } from '../../../core/config/env';
import { ContractRegistry } from '../../../core/contracts/load-contracts';
import { bronzeContentIndexKey } from '../../../core/lake/layout';
import { LocalCloud } from '../../../local/cloud/local-cloud';
import { LOCAL_PLACEHOLDERS, type WiredBucket, type WiredRoute } from '../../../local/cloud/template-wiring';
import { ingest } from '../../../local/commands/ingest';
import { discoverInputs, hashInputs, type InputFile } from '../../../local/commands/inputs';
import { fixtureFunction, fixtureRoute, fixtureWiring } from '../cloud/fixtures/wiring';

const SAMPLE_CONTRACTS = resolve(__dirname, '..', '..', '..', 'samples', 'contracts');
const LANDING_MODULE = 'lambdas/landing/handler';
const TRANSFORM_MODULE = 'lambdas/bronze-to-silver/handler';

const bucket = (role: string): WiredBucket => ({ logicalId: role, role, name: `medallion-local-${role}` });
/** A route of the ObjectCreated events under `prefix` of a bucket. */
const route = (prefix: string, role: string, destination: WiredRoute['destination']) =>
  fixtureRoute(`${role}/${prefix}`, destination, {
    bucketLogicalId: role,
    bucket: `medallion-local-${role}`,
    prefix,
  });
const LANDING_ENV = {
  [ENV.CONTRACTS_DIR]: '/var/task/contracts',
  [ENV.LANDING_BUCKET]: 'medallion-local-landing',
  [ENV.BRONZE_BUCKET]: 'medallion-local-bronze',
  [ENV.QUARANTINE_BUCKET]: 'medallion-local-quarantine',
};

/** The pipeline's wiring as the template has it (retail), plus the failing `lab` routes. */
const WIRING = fixtureWiring({
  bucketPrefix: 'medallion-local',
  buckets: ['landing', 'bronze', 'silver', 'quarantine'].map(bucket),
  functions: {
    Api: fixtureFunction('Api', 'apiHandler', {
      path: 'IngestApi/Handler/Function/Resource',
      module: LANDING_MODULE,
      env: { ...LANDING_ENV, [ENV.MAX_BODY_BYTES]: '4194304' },
    }),
    Landing: fixtureFunction('Landing', 's3Handler', {
      path: 'BronzeToSilver/Landing/Function/Resource',
      module: LANDING_MODULE,
      env: LANDING_ENV,
    }),
    Transform: fixtureFunction('Transform', 'handler', {
      path: 'BronzeToSilver/Transform/Function/Resource',
      module: TRANSFORM_MODULE,
      env: {
        [ENV.CONTRACTS_DIR]: '/var/task/contracts',
        [ENV.SILVER_BUCKET]: 'medallion-local-silver',
        [ENV.QUARANTINE_BUCKET]: 'medallion-local-quarantine',
        [ENV.SCRATCH_DIR]: '/tmp',
        [ENV.ENGINE_MEMORY_LIMIT]: '256MB',
        [ENV.MAX_DECOMPRESSED_BYTES]: String(64 * 1024 ** 2),
        [ENV.MAX_RECEIVE_COUNT]: '3',
        [ENV.PII_HASH_SALT]: LOCAL_PLACEHOLDERS.piiSalt,
      },
    }),
    Flaky: fixtureFunction('Flaky', 'flaky', { retryAttempts: 0 }),
    Batch: fixtureFunction('Batch', 'batch'),
  },
  queues: {
    TransformQueue: {
      logicalId: 'TransformQueue',
      maxReceiveCount: 3,
      consumer: { function: 'Transform', batchSize: 5, reportBatchItemFailures: true },
    },
    LabQueue: {
      logicalId: 'LabQueue',
      maxReceiveCount: 1,
      consumer: { function: 'Batch', batchSize: 1, reportBatchItemFailures: true },
    },
  },
  routes: [
    route('retail/', 'landing', { type: 'function', logicalId: 'Landing' }),
    route('lab/', 'landing', { type: 'function', logicalId: 'Flaky' }),
    route('retail/', 'bronze', { type: 'queue', logicalId: 'TransformQueue' }),
    route('lab/', 'bronze', { type: 'queue', logicalId: 'LabQueue' }),
  ],
  apiFunction: 'Api',
});

/** A contract with an id and a day, nothing else. */
const contract = (domain: string, dataset: string, format: 'ndjson' | 'csv') => `domain: ${domain}
dataset: ${dataset}
source: { format: ${format} }
columns:
  - { name: id, type: string, required: true }
  - { name: day, type: date, required: true }
primaryKey: [id]
partition: { column: day }
`;

/** Two `lab` datasets: `bad_records` (NDJSON, its transform messages fail) and `flaky_uploads` (CSV, never lands). */
const LAB_CONTRACTS: Record<string, string> = {
  'bad_records.yaml': contract('lab', 'bad_records', 'ndjson'),
  'flaky_uploads.yaml': contract('lab', 'flaky_uploads', 'csv'),
  // Known to `ingest` (it finds the files) but not to the cloud's functions: the API refuses it.
  'invoices.yaml': contract('retail', 'invoices', 'ndjson'),
};

const ORDERS_HEADER =
  'order_id,order_ts,updated_at,customer_id,store_id,product_id,quantity,unit_price,currency,status';
const order = (n: number) => `O-${n},2026-11-06 10:00:00,2026-11-06T09:00:00Z,C001,S1,P001,1,9.99,EUR,placed`;
const ordersCsv = (...ids: number[]) => `${ORDERS_HEADER}\n${ids.map(order).join('\n')}\n`;
const customers = (...ids: string[]) =>
  ids
    .map((id) => JSON.stringify({ customer_id: id, email: `${id}@example.com`, signup_date: '2026-01-15' }))
    .join('\n')
    .concat('\n');

describe('ingest', () => {
  let dir: string;
  let cloud: LocalCloud;
  /** What `ingest` knows: the cloud's contracts plus `invoices`. */
  let registry: ContractRegistry;
  let dataCount = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-ingest-'));
    const cloudContracts = join(dir, 'contracts');
    mkdirSync(cloudContracts);
    for (const file of ['customers.yaml', 'orders.yaml', 'products.yaml']) {
      copyFileSync(join(SAMPLE_CONTRACTS, file), join(cloudContracts, file));
    }
    const ingestContracts = join(dir, 'ingest-contracts');
    mkdirSync(ingestContracts);
    for (const [file, text] of Object.entries(LAB_CONTRACTS)) {
      if (file !== 'invoices.yaml') writeFileSync(join(cloudContracts, file), text);
      writeFileSync(join(ingestContracts, file), text);
    }
    for (const file of ['customers.yaml', 'orders.yaml', 'products.yaml']) {
      copyFileSync(join(SAMPLE_CONTRACTS, file), join(ingestContracts, file));
    }
    registry = ContractRegistry.fromDirectory(ingestContracts);
    cloud = await LocalCloud.start({
      stateDir: join(dir, 'state'),
      contractsDir: cloudContracts,
      s3Port: 0,
      apiPort: null,
      wiring: WIRING,
      retryDelayMs: 1,
      engineThreads: 1,
      functionLogs: () => undefined,
    });
  });

  afterAll(async () => {
    await cloud?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes `files` (`<dataset>/<name>` -> content) into a fresh data directory and returns its inputs. */
  async function inputs(files: Record<string, string | Buffer>): Promise<InputFile[]> {
    const data = join(dir, `data-${++dataCount}`);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(data, path)), { recursive: true });
      writeFileSync(join(data, path), content);
    }
    return hashInputs(discoverInputs(data, registry));
  }

  /** Runs `ingest` until the cloud is idle; the lines it printed meanwhile, and after for `after`. */
  async function run(files: InputFile[], after?: () => Promise<void>) {
    const lines: string[] = [];
    const result = await ingest(cloud, files, (line) => lines.push(line));
    await cloud.whenIdle();
    const during = [...lines];
    result.unsubscribe();
    await after?.();
    return { ...result, lines: during, linesAfter: lines.slice(during.length) };
  }

  /** The bronze object holding these bytes: its key and metadata. */
  async function bronzeOf(input: InputFile) {
    const { domain, dataset } = input.contract;
    const index = await cloud.s3.send(
      new GetObjectCommand({
        Bucket: cloud.buckets.bronze,
        Key: bronzeContentIndexKey(domain, dataset, input.sha256),
      }),
    );
    const key = (await index.Body?.transformToString()) as string;
    const head = await cloud.s3.send(new HeadObjectCommand({ Bucket: cloud.buckets.bronze, Key: key }));
    return { key, metadata: head.Metadata ?? {} };
  }

  it('uploads CSV and gzip files to the landing bucket, POSTs NDJSON to the API, and reports progress to the last transform', async () => {
    const files = await inputs({
      'orders/a.csv': ordersCsv(1, 2),
      'orders/b.csv.gz': gzipSync(ordersCsv(3)),
      'customers/c.ndjson': customers('C1'),
    });
    expect(files.map((f) => [f.path, f.door])).toEqual([
      ['customers/c.ndjson', 'api'],
      ['orders/a.csv', 's3'],
      ['orders/b.csv.gz', 's3'],
    ]);
    const result = await run(files);
    expect(result.toTransform).toBe(3);
    expect(result.files).toEqual(
      files.map((f) =>
        expect.objectContaining({
          path: f.path,
          domain: 'retail',
          dataset: f.contract.dataset,
          door: f.door,
          bytes: f.bytes,
          sha256: f.sha256,
          landing: 'landed',
          status: 'missing',
        }),
      ),
    );
    expect([...result.lines].sort()).toEqual([
      'landed 1/3 files',
      'landed 2/3 files',
      'landed 3/3 files',
      'transformed 1/3',
      'transformed 2/3',
      'transformed 3/3',
    ]);
    // Each door, with the media type it was sent as.
    expect((await bronzeOf(files[0])).metadata).toMatchObject({
      source: 'api',
      'original-name': 'c.ndjson',
      'content-type': 'application/x-ndjson',
    });
    expect((await bronzeOf(files[1])).metadata).toMatchObject({
      source: 's3-upload',
      'original-name': 'a.csv',
      'content-type': 'text/csv',
    });
    expect((await bronzeOf(files[2])).metadata).toMatchObject({
      source: 's3-upload',
      'original-name': 'b.csv.gz',
      'content-type': 'application/gzip',
    });
  });

  it('reports bytes bronze already holds as already-landed, and counts only new ones to transform', async () => {
    const files = await inputs({ 'orders/again.csv': ordersCsv(11), 'orders/new.csv': ordersCsv(12) });
    await run(files.slice(0, 1));
    const result = await run(files);
    expect(result.toTransform).toBe(1);
    expect(result.files.map((f) => [f.path, f.landing])).toEqual([
      ['orders/again.csv', 'already-landed'],
      ['orders/new.csv', 'landed'],
    ]);
    expect([...result.lines].sort()).toEqual(['landed 1/2 files', 'landed 2/2 files', 'transformed 1/1']);
  });

  it('sends the file name only when it is safe as a path segment: a name with % lands unnamed', async () => {
    const files = await inputs({ 'customers/100% new.ndjson': customers('C50') });
    const result = await run(files);
    expect(result.files[0].landing).toBe('landed');
    expect((await bronzeOf(files[0])).metadata['original-name']).toBe('api-request');
  });

  it('marks a file the API refuses as failed, with the status and the message of the answer', async () => {
    const files = await inputs({ 'invoices/i.ndjson': '{"id":"1","day":"2026-11-01"}\n' });
    const result = await run(files);
    const error = "HTTP 404: unknown dataset 'invoices': no data contract declares it";
    expect(result.files[0]).toMatchObject({ landing: 'failed', landingError: error });
    expect(result.lines).toEqual([`landing FAILED for invoices/i.ndjson: ${error}`]);
  });

  it('marks an upload the landing function fails on (retries included) as failed, with its error', async () => {
    const files = await inputs({ 'flaky_uploads/fail-1-times.csv': 'id,day\n1,2026-11-01\n' });
    const result = await run(files);
    const error = 'attempt 1 of lab/flaky_uploads/fail-1-times.csv failed';
    expect(result.files[0]).toMatchObject({
      landing: 'failed',
      landingError: expect.stringContaining(error),
    });
    expect(result.lines).toEqual([
      expect.stringMatching(/^landing FAILED for flaky_uploads\/fail-1-times\.csv: /),
    ]);
    expect(result.lines[0]).toContain(error);
  });

  it('reports a transform message that fails, naming its object and whether it will be retried', async () => {
    const files = await inputs({ 'bad_records/r.ndjson': '{"id":"1","day":"2026-11-01"}\n' });
    const result = await run(files);
    const { key } = await bronzeOf(files[0]);
    // In either order: the message can fail before the API's answer is back.
    expect([...result.lines].sort()).toEqual([
      'landed 1/1 files',
      `transform failed for ${key} (receive 1, dead-lettered)`,
    ]);
  });

  it('stops reporting once unsubscribed', async () => {
    const files = await inputs({ 'orders/later.csv': ordersCsv(21) });
    const result = await run(files, async () => {
      // The same landing key again, other bytes: it would be reported as landed, then transformed.
      await cloud.s3.send(
        new PutObjectCommand({
          Bucket: cloud.buckets.landing,
          Key: files[0].landingKey,
          Body: ordersCsv(22),
        }),
      );
      await cloud.whenIdle();
    });
    expect(result.lines).toEqual(['landed 1/1 files', 'transformed 1/1']);
    expect(result.linesAfter).toEqual([]);
  });
});
