/**
 * The one test that bundles for real (esbuild, locally): the landing function's asset, with the contracts,
 * loads in a plain Node process and answers a request without touching S3. The DuckDB transform is not
 * bundled here: its bundle runs `npm install` (see `cdk synth`).
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadContracts } from '../../core/contracts/load-contracts';
import { contractsDirectory, parseMedallionConfig } from '../../lib/config';
import { IngestApi } from '../../lib/ingest-api';
import { LakeStorage } from '../../lib/lake-storage';
import { cdkJsonContext } from '../support/cdk';

const outdir = mkdtempSync(join(tmpdir(), 'medallion-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

test('the landing function bundles with its contracts and runs', () => {
  const app = new App({ outdir, context: cdkJsonContext() });
  const stack = new Stack(app, 'Bundle');
  const storage = new LakeStorage(stack, 'Storage');
  const contractsDir = contractsDirectory(parseMedallionConfig({}));
  new IngestApi(stack, 'IngestApi', {
    landingBucket: storage.landingBucket,
    bronzeBucket: storage.bronzeBucket,
    quarantineBucket: storage.quarantineBucket,
    key: storage.key,
    contracts: loadContracts(contractsDir),
    contractsDir,
  });
  const t = Template.fromStack(stack);

  const [fn] = Object.values(t.findResources('AWS::Lambda::Function'));
  const assetDir = join(outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
  expect(existsSync(join(assetDir, 'index.js'))).toBe(true);
  expect(readdirSync(join(assetDir, 'contracts')).sort()).toEqual([
    'customers.yaml',
    'orders.yaml',
    'products.yaml',
  ]);
  expect(existsSync(join(assetDir, 'node_modules'))).toBe(false);

  const script = `
    const m = require(${JSON.stringify(join(assetDir, 'index.js'))});
    const event = { pathParameters: { dataset: 'nope' }, headers: {}, body: 'x', isBase64Encoded: false,
                    requestContext: { requestId: 'r-1' } };
    m.apiHandler(event, { awsRequestId: 'a-1' }).then((r) => {
      console.log(JSON.stringify({ exports: Object.keys(m).sort(), status: r.statusCode, body: JSON.parse(r.body) }));
    });`;
  const run = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'eu-west-1',
      MEDALLION_LANDING_BUCKET: 'landing',
      MEDALLION_BRONZE_BUCKET: 'bronze',
      MEDALLION_QUARANTINE_BUCKET: 'quarantine',
      MEDALLION_CONTRACTS_DIR: join(assetDir, 'contracts'),
    },
  });
  expect(run.status).toBe(0);
  const out = JSON.parse(run.stdout.trim().split('\n').pop() as string);
  expect(out.exports).toEqual(['apiHandler', 'handler', 's3Handler']);
  expect(out.status).toBe(404);
  expect(out.body.message).toMatch(/unknown dataset 'nope'/);
});
