import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { contractsDirectory, PROJECT_ROOT, parseMedallionConfig } from '../../lib/config';
import { MedallionFunction } from '../../lib/medallion-function';
import {
  BUNDLE_PACKAGE_NAME,
  bundleManifest,
  installsOnLambda,
  type LockPackage,
  missingBindingFiles,
  NATIVE_BINDINGS,
  nativeInstallCommands,
  type PackageLock,
  planNativeInstall,
  readPackageLock,
  requiredBindingFiles,
  unverifiedPackages,
} from '../../lib/native-bundle';
import { testContext } from '../support/cdk';

const REPO_LOCK_FILE = join(PROJECT_ROOT, 'package-lock.json');
const repoLock = readPackageLock(REPO_LOCK_FILE);
const DUCKDB = '@duckdb/node-api';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'medallion-native-bundle-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A lock of `packages` (paths without the `node_modules/` prefix) under a root depending on `root`. */
function lockOf(root: Record<string, string>, packages: Record<string, LockPackage>): PackageLock {
  const entries: Record<string, LockPackage> = { '': { name: 'repo', version: '1.0.0', dependencies: root } };
  for (const [path, entry] of Object.entries(packages)) entries[`node_modules/${path}`] = entry;
  return { name: 'repo', version: '1.0.0', lockfileVersion: 3, requires: true, packages: entries };
}

describe('the bundle lock cut from the repository lock', () => {
  const { packageJson, packageLock } = bundleManifest(repoLock, [DUCKDB]);
  const lockPaths = Object.keys(packageLock.packages).filter((p) => p !== '');
  const bindings = repoLock.packages['node_modules/@duckdb/node-bindings'];

  test('depends on the native package at the exact locked version, in package.json and the lock root alike', () => {
    const version = repoLock.packages[`node_modules/${DUCKDB}`].version as string;
    expect(packageJson).toEqual({
      name: BUNDLE_PACKAGE_NAME,
      version: '0.0.0',
      private: true,
      dependencies: { [DUCKDB]: version },
    });
    expect(packageLock.packages['']).toEqual({
      name: BUNDLE_PACKAGE_NAME,
      version: '0.0.0',
      dependencies: { [DUCKDB]: version },
    });
    expect(packageLock.lockfileVersion).toBe(3);
  });

  test('holds exactly the packages reachable from it: every platform binding and their dependencies', () => {
    const expected = [
      DUCKDB,
      '@duckdb/node-bindings',
      ...Object.keys(bindings.dependencies ?? {}),
      ...Object.keys(bindings.optionalDependencies ?? {}),
    ].map((name) => `node_modules/${name}`);
    expect(lockPaths.sort()).toEqual(expected.sort());
    expect(lockPaths).toEqual(
      expect.arrayContaining([
        'node_modules/@duckdb/node-bindings-linux-x64',
        'node_modules/@duckdb/node-bindings-linux-arm64',
      ]),
    );
  });

  test('keeps each entry as the repository locked it (version, integrity, os/cpu/libc), flags apart', () => {
    for (const path of lockPaths) {
      const { optional: _o, dev: _d, devOptional: _dO, peer: _p, ...repoEntry } = repoLock.packages[path];
      const { optional: _bo, ...bundleEntry } = packageLock.packages[path];
      expect({ path, ...bundleEntry }).toEqual({ path, ...repoEntry });
    }
    const x64 = packageLock.packages['node_modules/@duckdb/node-bindings-linux-x64'];
    expect(x64).toMatchObject({ os: ['linux'], cpu: ['x64'], libc: ['glibc'] });
    expect(x64.integrity).toMatch(/^sha512-/);
  });

  test('marks the platform bindings optional and what the native package needs not, and nothing dev', () => {
    for (const path of lockPaths) {
      const isBinding = path.startsWith('node_modules/@duckdb/node-bindings-');
      expect({ path, optional: packageLock.packages[path].optional === true }).toEqual({
        path,
        optional: isBinding,
      });
      expect(packageLock.packages[path].dev).toBeUndefined();
    }
  });

  test('npm installs only the glibc linux binding of the CPU on Lambda', () => {
    const installed = (cpu: 'x64' | 'arm64') =>
      lockPaths.filter((p) => p.includes('node-bindings-') && installsOnLambda(packageLock.packages[p], cpu));
    expect(installed('x64')).toEqual(['node_modules/@duckdb/node-bindings-linux-x64']);
    expect(installed('arm64')).toEqual(['node_modules/@duckdb/node-bindings-linux-arm64']);
  });
});

describe('reachability in a lock', () => {
  test('follows Node resolution: a nested copy wins over the hoisted one, only for its parent', () => {
    const lock = lockOf(
      { a: '1.0.0', other: '1.0.0' },
      {
        a: { version: '1.0.0', integrity: 'sha512-a', dependencies: { b: '^2.0.0', c: '^1.0.0' } },
        'a/node_modules/b': { version: '2.0.0', integrity: 'sha512-b2' },
        b: { version: '1.0.0', integrity: 'sha512-b1' },
        c: { version: '1.0.0', integrity: 'sha512-c', dependencies: { b: '^1.0.0' } },
        other: { version: '1.0.0', integrity: 'sha512-o' },
      },
    );
    const { packageLock } = bundleManifest(lock, ['a']);
    expect(Object.keys(packageLock.packages).sort()).toEqual([
      '',
      'node_modules/a',
      'node_modules/a/node_modules/b',
      'node_modules/b',
      'node_modules/c',
    ]);
  });

  test('drops dev flags, keeps a package optional only when no required path reaches it', () => {
    const lock = lockOf(
      { a: '1.0.0' },
      {
        a: {
          version: '1.0.0',
          dev: true,
          dependencies: { b: '1' },
          optionalDependencies: { c: '1', d: '1' },
        },
        b: { version: '1.0.0', dev: true, optional: true, dependencies: { c: '1' } },
        c: { version: '1.0.0', devOptional: true, optional: true },
        d: {
          version: '1.0.0',
          dev: true,
          optional: true,
          peerDependencies: { e: '1', f: '1' },
          peerDependenciesMeta: { f: { optional: true } },
        },
        e: { version: '1.0.0', peer: true },
        f: { version: '1.0.0', peer: true },
      },
    );
    const p = bundleManifest(lock, ['a']).packageLock.packages;
    expect(p['node_modules/a']).toEqual({
      version: '1.0.0',
      dependencies: { b: '1' },
      optionalDependencies: { c: '1', d: '1' },
    });
    expect(p['node_modules/b'].optional).toBeUndefined();
    expect(p['node_modules/c']).toEqual({ version: '1.0.0' });
    expect(p['node_modules/d'].optional).toBe(true);
    expect(p['node_modules/e']).toEqual({ version: '1.0.0', optional: true });
    expect(p['node_modules/f']).toEqual({ version: '1.0.0', optional: true });
  });

  test('skips an optional dependency absent from the lock, refuses a required one', () => {
    const lock = lockOf({ a: '1' }, { a: { version: '1.0.0', optionalDependencies: { gone: '1' } } });
    expect(Object.keys(bundleManifest(lock, ['a']).packageLock.packages)).toEqual(['', 'node_modules/a']);
    const broken = lockOf({ a: '1' }, { a: { version: '1.0.0', dependencies: { gone: '1' } } });
    expect(() => bundleManifest(broken, ['a'])).toThrow(/no entry for gone, a dependency of node_modules\/a/);
  });

  test('refuses a package that is not a direct dependency in the lock, and a workspace link', () => {
    expect(() => bundleManifest(repoLock, ['not-a-package'])).toThrow(/not-a-package is not a dependency/);
    const linked = lockOf({ a: '1' }, { a: { version: '1.0.0', link: true } });
    expect(() => bundleManifest(linked, ['a'])).toThrow(/workspace link/);
  });

  test('refuses a lockfileVersion 1 lock', () => {
    const file = join(tmp, 'v1-lock.json');
    writeFileSync(file, JSON.stringify({ lockfileVersion: 1, dependencies: {} }));
    expect(() => readPackageLock(file)).toThrow(/lockfileVersion 1/);
  });
});

describe('packages installed without an integrity hash', () => {
  const withoutIntegrity = (path: string): PackageLock => {
    const packages = structuredClone(repoLock.packages);
    const { integrity: _, ...entry } = packages[path];
    packages[path] = entry;
    return { ...repoLock, packages };
  };

  test('are those npm would install on the CPU, named with their version', () => {
    const x64Path = 'node_modules/@duckdb/node-bindings-linux-x64';
    const { packageLock } = bundleManifest(withoutIntegrity(x64Path), [DUCKDB]);
    const version = repoLock.packages[x64Path].version;
    expect(unverifiedPackages(packageLock, 'x64')).toEqual([`@duckdb/node-bindings-linux-x64@${version}`]);
    expect(unverifiedPackages(packageLock, 'arm64')).not.toContain(
      `@duckdb/node-bindings-linux-x64@${version}`,
    );
  });

  test("never another platform's binding: npm leaves their hash out and never installs them", () => {
    const { packageLock } = bundleManifest(repoLock, [DUCKDB]);
    for (const cpu of ['x64', 'arm64'] as const) {
      expect(unverifiedPackages(packageLock, cpu).filter((p) => /darwin|win32|musl/.test(p))).toEqual([]);
    }
  });
});

describe('the binding check', () => {
  test('knows the DuckDB binding of both Lambda CPUs', () => {
    expect(NATIVE_BINDINGS[DUCKDB].x64.package).toBe('@duckdb/node-bindings-linux-x64');
    expect(NATIVE_BINDINGS[DUCKDB].arm64.package).toBe('@duckdb/node-bindings-linux-arm64');
    expect(requiredBindingFiles([DUCKDB], 'arm64').map((f) => f.path)).toEqual([
      'node_modules/@duckdb/node-bindings-linux-arm64/duckdb.node',
      'node_modules/@duckdb/node-bindings-linux-arm64/libduckdb.so',
    ]);
  });

  test('reports every missing file with the package, the CPU and the fix', () => {
    const dir = join(tmp, 'no-binding');
    mkdirSync(join(dir, 'node_modules', '@duckdb', 'node-bindings-linux-x64'), { recursive: true });
    writeFileSync(join(dir, 'node_modules', '@duckdb', 'node-bindings-linux-x64', 'duckdb.node'), 'x');
    writeFileSync(join(dir, 'node_modules', '@duckdb', 'node-bindings-linux-x64', 'libduckdb.so'), 'x');
    expect(missingBindingFiles(dir, [DUCKDB], 'x64')).toEqual([]);
    const missing = missingBindingFiles(dir, [DUCKDB], 'arm64');
    expect(missing.map((f) => f.path)).toEqual([
      'node_modules/@duckdb/node-bindings-linux-arm64/duckdb.node',
      'node_modules/@duckdb/node-bindings-linux-arm64/libduckdb.so',
    ]);
    expect(missing[0].message).toMatch(/@duckdb\/node-api cannot load on linux-arm64 \(glibc\)/);
    expect(missing[0].message).toMatch(
      /Fix: delete the node_modules\/@duckdb\/node-bindings-linux-arm64 entry from package-lock\.json, run `npm install --package-lock-only`/,
    );
    expect(missing[0].message).toMatch(/lambdaArchitecture/);
  });

  test('refuses a native package it knows no binding of', () => {
    expect(() => requiredBindingFiles(['sharp'], 'x64')).toThrow(/sharp has no entry in NATIVE_BINDINGS/);
  });
});

describe('the install commands', () => {
  const plan = planNativeInstall([DUCKDB], 'arm64', REPO_LOCK_FILE);
  const bash = (dir: string, commands: string[]) =>
    spawnSync('bash', ['-c', commands.join(' && ')], { cwd: dir, encoding: 'utf8' });

  test('npm ci installs for Lambda from the lock, integrity-checked, without build scripts', () => {
    const npm = nativeInstallCommands('/out', plan).filter((c) => c.startsWith('npm '));
    expect(npm).toEqual([
      "npm ci --prefix '/out' --os=linux --cpu=arm64 --libc=glibc --omit=dev --include=optional --ignore-scripts --no-audit --no-fund",
    ]);
  });

  test('write the manifest into the bundle verbatim (shell quoting included)', () => {
    const dir = join(tmp, "it's quoted");
    mkdirSync(dir, { recursive: true });
    const writes = nativeInstallCommands(dir, plan).filter((c) => c.startsWith('printf'));
    expect(bash(dir, writes).status).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))).toEqual(plan.manifest.packageJson);
    expect(JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'))).toEqual(
      plan.manifest.packageLock,
    );
  });

  test('fail, naming the package, the CPU and the fix, when the binding is not in the bundle', () => {
    const dir = join(tmp, 'empty-bundle');
    mkdirSync(dir, { recursive: true });
    const checks = nativeInstallCommands(dir, plan).filter((c) => c.startsWith('test -f'));
    const run = bash(dir, checks);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/no node_modules\/@duckdb\/node-bindings-linux-arm64\/duckdb\.node/);
    expect(run.stderr).toMatch(/cannot load on linux-arm64.*Fix:/);
  });

  test('pass when it is', () => {
    const dir = join(tmp, 'full-bundle');
    const binding = join(dir, 'node_modules', '@duckdb', 'node-bindings-linux-arm64');
    mkdirSync(binding, { recursive: true });
    for (const file of NATIVE_BINDINGS[DUCKDB].arm64.files) writeFileSync(join(binding, file), 'x');
    const checks = nativeInstallCommands(dir, plan).filter((c) => c.startsWith('test -f'));
    expect(bash(dir, checks)).toMatchObject({ status: 0, stderr: '' });
  });
});

describe('a MedallionFunction with native packages (bundling skipped)', () => {
  const transform = (nodeModules: string[], lockFile?: string) => {
    const stack = new Stack(new App({ context: testContext() }), 'Native');
    return new MedallionFunction(stack, 'Transform', {
      entry: 'lambdas/bronze-to-silver/handler.ts',
      handler: 'handler',
      description: 'transform',
      contractsDir: contractsDirectory(parseMedallionConfig({})),
      architecture: lambda.Architecture.X86_64,
      nodeModules,
      lockFile,
    });
  };

  test('fails at construction for a package with no known binding or not in the lock', () => {
    expect(() => transform(['sharp'])).toThrow(/sharp has no entry in NATIVE_BINDINGS/);
    const lockFile = join(tmp, 'no-duckdb-lock.json');
    const packages = Object.fromEntries(
      Object.entries(repoLock.packages).filter(([path]) => !path.startsWith('node_modules/@duckdb/')),
    );
    writeFileSync(lockFile, JSON.stringify({ ...repoLock, packages }));
    expect(() => transform([DUCKDB], lockFile)).toThrow(
      /@duckdb\/node-api is not a dependency in the lock file/,
    );
  });

  test('warns when the lock has no integrity hash for the binding it installs', () => {
    const lockFile = join(tmp, 'no-integrity-lock.json');
    const packages = structuredClone(repoLock.packages) as Record<string, Record<string, unknown>>;
    delete packages['node_modules/@duckdb/node-bindings-linux-x64'].integrity;
    writeFileSync(lockFile, JSON.stringify({ ...repoLock, packages }));
    // Read from the construct's metadata: a synth would fingerprint the whole repository (bundling skipped).
    const warnings = transform([DUCKDB], lockFile)
      .node.metadata.filter((m) => m.type === 'aws:cdk:warning')
      .map((m) => String(m.data));
    expect(warnings).toEqual([
      expect.stringMatching(
        /no integrity hash for @duckdb\/node-bindings-linux-x64@.*npm install --package-lock-only/,
      ),
    ]);
  });
});
