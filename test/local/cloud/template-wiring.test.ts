/** The local cloud's wiring comes from the synthesized template: buckets, notification routes, handlers, env. */

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Stack, Tags } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ContractRegistry } from '../../../core/contracts/load-contracts';
import { BronzeToSilverPipeline } from '../../../lib/bronze-to-silver-pipeline';
import {
  LOCAL_PLACEHOLDERS,
  type LocalWiring,
  loadLocalWiring,
  localFunctionEnv,
  routeMatches,
  type WiredRoute,
  wiringFromStack,
} from '../../../local/cloud/template-wiring';
import { testContext } from '../../support/cdk';

const ROOT = resolve(__dirname, '..', '..', '..');
const SAMPLE_CONTRACTS = join(ROOT, 'samples', 'contracts');

/** A stack holding only the pipeline construct, over the given contracts. */
function pipelineStack(contractsDir: string): Stack {
  const app = new App({ context: testContext() });
  const stack = new Stack(app, 'WiringTest');
  const key = new kms.Key(stack, 'Key');
  const bucket = (id: string, layer: string) => {
    const b = new s3.Bucket(stack, id, { encryptionKey: key });
    Tags.of(b).add('layer', layer);
    return b;
  };
  new BronzeToSilverPipeline(stack, 'Pipeline', {
    landingBucket: bucket('Landing', 'landing'),
    bronzeBucket: bucket('Bronze', 'bronze'),
    silverBucket: bucket('Silver', 'silver'),
    quarantineBucket: bucket('Quarantine', 'quarantine'),
    key,
    contracts: ContractRegistry.fromDirectory(contractsDir).all,
    // Only bundled (skipped here), so the sample directory will do.
    contractsDir: SAMPLE_CONTRACTS,
  });
  return stack;
}

const bronzeRoutes = (w: LocalWiring) => w.routes.filter((r) => r.bucket.endsWith('-bronze'));

describe('template wiring', () => {
  let dir: string;
  let app: LocalWiring;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-wiring-'));
    const loaded = loadLocalWiring({ contractsDir: SAMPLE_CONTRACTS, cacheDir: join(dir, 'cache') });
    app = loaded.wiring;
    // Logged for the record: how long synthesis takes in jest.
    console.log(
      `synthesis ${loaded.wiring.synthMs} ms (loaded ${loaded.ms} ms, cached: ${loaded.fromCache})`,
    );
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("derives the app's buckets, routes, handlers and environment", () => {
    expect(app.stack).toBe('Medallion-dev');
    expect(Object.fromEntries(app.buckets.map((b) => [b.role, b.name]))).toMatchObject({
      landing: 'medallion-local-landing',
      bronze: 'medallion-local-bronze',
      silver: 'medallion-local-silver',
      quarantine: 'medallion-local-quarantine',
      gold: 'medallion-local-gold',
    });

    const landing = app.routes.filter((r) => r.bucket === 'medallion-local-landing');
    expect(landing).toHaveLength(1);
    expect(landing[0]).toMatchObject({ events: ['s3:ObjectCreated:*'], destination: { type: 'function' } });
    expect(landing[0].prefix).toBeUndefined();
    const landingFn = app.functions[landing[0].destination.logicalId];
    expect(landingFn).toMatchObject({
      module: 'lambdas/landing/handler',
      export: 's3Handler',
      retryAttempts: 2,
    });

    const bronze = bronzeRoutes(app);
    expect(bronze.map((r) => r.prefix)).toEqual(['retail/']);
    const queues = new Set(bronze.map((r) => r.destination.logicalId));
    expect(queues.size).toBe(1);
    const queue = app.queues[[...queues][0]];
    expect(queue).toMatchObject({
      maxReceiveCount: 3,
      consumer: { batchSize: 5, reportBatchItemFailures: true },
    });
    const transform = app.functions[queue.consumer?.function as string];
    expect(transform).toMatchObject({ module: 'lambdas/bronze-to-silver/handler', export: 'handler' });
    expect(app.functions[app.apiFunction as string]).toMatchObject({
      module: 'lambdas/landing/handler',
      export: 'apiHandler',
    });

    // Refs resolved to local bucket names; the salt secret's ARN replaced by the local salt.
    expect(transform.env).toMatchObject({
      MEDALLION_SILVER_BUCKET: 'medallion-local-silver',
      MEDALLION_QUARANTINE_BUCKET: 'medallion-local-quarantine',
      MEDALLION_PII_HASH_SALT: LOCAL_PLACEHOLDERS.piiSalt,
    });
    expect(transform.env.MEDALLION_PII_HASH_SALT_SECRET_ARN).toBeUndefined();
    expect(
      localFunctionEnv(transform, {
        contractsDir: '/c',
        scratchDir: '/s',
        piiSalt: 'salt',
        engineMemoryLimit: '1GB',
      }),
    ).toMatchObject({
      MEDALLION_CONTRACTS_DIR: '/c',
      MEDALLION_SCRATCH_DIR: '/s',
      MEDALLION_PII_HASH_SALT: 'salt',
      MEDALLION_ENGINE_MEMORY_LIMIT: '1GB',
    });
  });

  it('reads the wiring from the cache the second time, keyed by the inputs', () => {
    const again = loadLocalWiring({ contractsDir: SAMPLE_CONTRACTS, cacheDir: join(dir, 'cache') });
    expect(again.fromCache).toBe(true);
    expect(again.wiring).toEqual(app);
    expect(again.ms).toBeLessThan(1000);
  });

  it('follows the CDK code: a different contract set gives different bronze filters', () => {
    const contracts = join(dir, 'contracts');
    mkdirSync(contracts);
    const products = readFileSync(join(SAMPLE_CONTRACTS, 'products.yaml'), 'utf8');
    writeFileSync(join(contracts, 'products.yaml'), products.replace('domain: retail', 'domain: finance'));
    writeFileSync(
      join(contracts, 'orders.yaml'),
      readFileSync(join(SAMPLE_CONTRACTS, 'orders.yaml'), 'utf8'),
    );

    const stack = pipelineStack(contracts);
    const wiring = wiringFromStack(stack, { bucketPrefix: 'test' });
    expect(
      bronzeRoutes(wiring)
        .map((r) => r.prefix)
        .sort(),
    ).toEqual(['finance/', 'retail/']);
    expect(bronzeRoutes(wiring).every((r) => r.bucket === 'test-bronze')).toBe(true);
    expect(wiring.functions[wiring.routes[0].destination.logicalId].path).toBe(
      'Pipeline/Landing/Function/Resource',
    );
    // And so does the app synthesized for a contracts directory (outside the repository).
    const loaded = loadLocalWiring({ contractsDir: contracts, cacheDir: join(dir, 'cache') });
    expect(loaded.fromCache).toBe(false);
    expect(
      bronzeRoutes(loaded.wiring)
        .map((r) => r.prefix)
        .sort(),
    ).toEqual(['finance/', 'retail/']);
  });

  it('matches events, prefix AND suffix the way S3 does', () => {
    const route: WiredRoute = {
      id: 'b/0',
      bucketLogicalId: 'B',
      bucket: 'b',
      events: ['s3:ObjectCreated:*'],
      prefix: 'retail/orders/',
      suffix: '.csv',
      destination: { type: 'queue', logicalId: 'Q' },
    };
    expect(routeMatches(route, 'ObjectCreated:Put', 'retail/orders/a.csv')).toBe(true);
    expect(routeMatches(route, 'ObjectCreated:CompleteMultipartUpload', 'retail/orders/x/a.csv')).toBe(true);
    expect(routeMatches(route, 'ObjectCreated:Put', 'retail/orders/a.json')).toBe(false);
    expect(routeMatches(route, 'ObjectCreated:Put', 'retail/customers/a.csv')).toBe(false);
    expect(routeMatches(route, 'ObjectRemoved:Delete', 'retail/orders/a.csv')).toBe(false);
    expect(
      routeMatches(
        { ...route, events: ['s3:ObjectCreated:Copy'] },
        'ObjectCreated:Put',
        'retail/orders/a.csv',
      ),
    ).toBe(false);
  });
});
