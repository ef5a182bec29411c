/**
 * The tests that bundle for real (esbuild, locally): the landing function's asset, with the contracts,
 * loads in a plain Node process and answers a request without touching S3; the DuckDB transform's asset
 * gets the DuckDB binding of each Lambda CPU by `npm ci` from the npm registry (one bundling per CPU), and
 * bundling fails when npm leaves the binding out.
 */

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { loadContracts } from '../../core/contracts/load-contracts';
import { contractsDirectory, PROJECT_ROOT, parseMedallionConfig } from '../../lib/config';
import { IngestApi } from '../../lib/ingest-api';
import { LakeStorage } from '../../lib/lake-storage';
import { MedallionFunction } from '../../lib/medallion-function';
import { NATIVE_BINDINGS, type NpmCpu } from '../../lib/native-bundle';
import { cdkJsonContext } from '../support/cdk';

const outdir = mkdtempSync(join(tmpdir(), 'medallion-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

test("the landing function bundles with its contracts, kept outside the repository (another app's), and runs", () => {
  const app = new App({ outdir, context: cdkJsonContext() });
  const stack = new Stack(app, 'Bundle');
  const storage = new LakeStorage(stack, 'Storage');
  const contractsDir = join(mkdtempSync(join(tmpdir(), 'medallion-own-contracts-')), 'contracts');
  cpSync(contractsDirectory(parseMedallionConfig({})), contractsDir, { recursive: true });
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

/** The bytes of every file under `dir`. */
function treeSize(dir: string): number {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + statSync(join(e.parentPath, e.name)).size, 0);
}

/** The CPU an ELF shared object is compiled for (its e_machine field). */
function elfCpu(file: string): string {
  const header = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  readSync(fd, header, 0, 20, 0);
  const machine = header.readUInt16LE(18);
  return machine === 62 ? 'x64' : machine === 183 ? 'arm64' : `e_machine ${machine}`;
}

describe('the DuckDB transform bundle', () => {
  const DUCKDB = '@duckdb/node-api';
  const LAMBDA_CODE_LIMIT_BYTES = 250 * 1024 * 1024;

  /** Bundles the transform for `architecture` (bundling runs in the constructor) and returns its asset directory. */
  function bundleTransform(id: string, architecture: lambda.Architecture, lockFile?: string): string {
    const app = new App({ outdir, context: cdkJsonContext() });
    const stack = new Stack(app, id);
    new MedallionFunction(stack, 'Transform', {
      entry: 'lambdas/bronze-to-silver/handler.ts',
      handler: 'handler',
      description: 'transform',
      contractsDir: contractsDirectory(parseMedallionConfig({})),
      architecture,
      nodeModules: [DUCKDB],
      lockFile,
    });
    const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    expect(fn.Properties.Architectures).toEqual([architecture.name]);
    return join(outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
  }

  describe.each([
    ['arm64', lambda.Architecture.ARM_64],
    ['x64', lambda.Architecture.X86_64],
  ] as [NpmCpu, lambda.Architecture][])('for %s', (cpu, architecture) => {
    let assetDir: string;
    beforeAll(() => {
      assetDir = bundleTransform(`Transform-${cpu}`, architecture);
    });

    test("holds the glibc linux binding of that CPU and no other platform's", () => {
      const binding = NATIVE_BINDINGS[DUCKDB][cpu];
      expect(readdirSync(join(assetDir, 'node_modules', '@duckdb')).sort()).toEqual([
        'node-api',
        'node-bindings',
        binding.package.replace('@duckdb/', ''),
      ]);
      expect(elfCpu(join(assetDir, 'node_modules', binding.package, 'duckdb.node'))).toBe(cpu);
      expect(elfCpu(join(assetDir, 'node_modules', binding.package, 'libduckdb.so'))).toBe(cpu);
    });

    test("installs the versions of the repository lock, and fits Lambda's 250 MB", () => {
      const repoLock = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package-lock.json'), 'utf8'));
      const installed = JSON.parse(
        readFileSync(join(assetDir, 'node_modules', '.package-lock.json'), 'utf8'),
      );
      for (const [path, entry] of Object.entries(installed.packages) as [string, { version: string }][]) {
        expect({ path, version: entry.version }).toEqual({ path, version: repoLock.packages[path].version });
      }
      expect(existsSync(join(assetDir, 'index.js'))).toBe(true);
      expect(treeSize(assetDir)).toBeLessThan(LAMBDA_CODE_LIMIT_BYTES);
    });

    // Only the bundle of this machine's CPU can load here.
    (process.platform === 'linux' && process.arch === cpu ? test : test.skip)(
      'loads DuckDB from the bundle and runs a query',
      () => {
        const script = `
          const { DuckDBInstance } = require(${JSON.stringify(join(assetDir, 'node_modules', DUCKDB))});
          DuckDBInstance.create(':memory:').then((db) => db.connect())
            .then((c) => c.runAndReadAll('SELECT 6 * 7 AS answer'))
            .then((r) => console.log(JSON.stringify(r.getRowObjectsJson())));`;
        const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
        expect(run.stderr).toBe('');
        expect(JSON.parse(run.stdout)).toEqual([{ answer: 42 }]);
      },
    );
  });

  test('fails bundling, naming the package, the CPU and the fix, when npm leaves the binding out', () => {
    // A hash the registry's tarball does not match: npm skips the optional binding and still exits 0.
    const lock = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package-lock.json'), 'utf8'));
    const binding = lock.packages[`node_modules/${NATIVE_BINDINGS[DUCKDB].x64.package}`];
    binding.integrity = `sha512-${createHash('sha512').update('not the binding').digest('base64')}`;
    const lockFile = join(outdir, 'tampered-package-lock.json');
    writeFileSync(lockFile, JSON.stringify(lock));
    expect(() => bundleTransform('Transform-missing-binding', lambda.Architecture.X86_64, lockFile)).toThrow(
      /no node_modules\/@duckdb\/node-bindings-linux-x64\/duckdb\.node: @duckdb\/node-api cannot load on linux-x64 \(glibc\)\..*Fix: delete the node_modules\/@duckdb\/node-bindings-linux-x64 entry/,
    );
  });
});
