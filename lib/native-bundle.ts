/**
 * Native packages in a Lambda bundle: esbuild cannot bundle compiled code, so those packages are left
 * external and installed into the bundle for Lambda's platform (linux, glibc, the function's CPU).
 *
 * The install is `npm ci` on a lock file cut from the repository's package-lock.json: only the packages
 * reachable from the native ones, with their exact versions and integrity hashes (what the tests ran
 * against), and every platform's optional binding package, from which npm picks Lambda's by os/cpu/libc.
 * After the install the bundle must hold the binding compiled for Lambda's CPU: {@link NATIVE_BINDINGS}
 * says which file that is, and a missing one fails bundling, so `cdk synth` fails instead of the function
 * at its first cold start.
 */

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A Lambda CPU as npm names it (`npm ci --cpu=...`): x86_64 is `x64`, Graviton is `arm64`. */
export type NpmCpu = 'x64' | 'arm64';

/** Where the compiled code of a native package lives once installed for one CPU. */
export interface NativeBinding {
  /** The platform package npm installs as an optional dependency for that CPU (linux, glibc). */
  readonly package: string;
  /** The files of that package the loader opens (relative to the package directory). */
  readonly files: readonly string[];
}

/**
 * The native packages a function may install (`nodeModules` of a MedallionFunction), with their binding
 * for each Lambda CPU. A package missing here cannot be installed: add it with the files its platform
 * packages really ship (look in node_modules/ after an install for that CPU).
 */
export const NATIVE_BINDINGS: Readonly<Record<string, Readonly<Record<NpmCpu, NativeBinding>>>> = {
  // @duckdb/node-bindings loads ./duckdb.node of the platform package, which links libduckdb.so beside it.
  '@duckdb/node-api': {
    x64: { package: '@duckdb/node-bindings-linux-x64', files: ['duckdb.node', 'libduckdb.so'] },
    arm64: { package: '@duckdb/node-bindings-linux-arm64', files: ['duckdb.node', 'libduckdb.so'] },
  },
};

/** One entry of `packages` in a package-lock.json (lockfileVersion 2 or 3); only the fields read here. */
export interface LockPackage {
  readonly version?: string;
  readonly resolved?: string;
  readonly integrity?: string;
  readonly link?: boolean;
  readonly dev?: boolean;
  readonly optional?: boolean;
  readonly devOptional?: boolean;
  readonly peer?: boolean;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  readonly os?: string[];
  readonly cpu?: string[];
  readonly libc?: string[];
  readonly [field: string]: unknown;
}

/** A package-lock.json with a `packages` map (npm 7 and later). */
export interface PackageLock {
  readonly name?: string;
  readonly version?: string;
  readonly lockfileVersion: number;
  readonly requires?: boolean;
  readonly packages: Record<string, LockPackage>;
}

/** The package.json and package-lock.json that make a bundle directory installable with `npm ci`. */
export interface BundleManifest {
  readonly packageJson: {
    name: string;
    version: string;
    private: true;
    dependencies: Record<string, string>;
  };
  readonly packageLock: PackageLock;
}

/** The name of the bundle's own package (never published: `private`). */
export const BUNDLE_PACKAGE_NAME = 'lambda-bundle';

/** Reads a package-lock.json, refusing the lockfileVersion 1 format (no `packages` map). */
export function readPackageLock(file: string): PackageLock {
  const lock = JSON.parse(readFileSync(file, 'utf8')) as PackageLock;
  if (lock.lockfileVersion < 2 || typeof lock.packages !== 'object') {
    throw new Error(
      `${file} is a lockfileVersion ${lock.lockfileVersion} lock: regenerate it with npm 7 or later`,
    );
  }
  return lock;
}

/** The lock path a dependency `name` of the package at lock path `from` resolves to (Node's lookup). */
function resolveDependency(
  packages: PackageLock['packages'],
  from: string,
  name: string,
): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (base === '') return undefined;
    const parent = base.lastIndexOf('/node_modules/');
    base = parent < 0 ? '' : base.slice(0, parent);
  }
}

/** Dependency names of an entry, split into those it cannot load without and those it can. */
function edges(entry: LockPackage): { required: string[]; optional: string[] } {
  const peers = Object.keys(entry.peerDependencies ?? {});
  const optionalPeer = (p: string) => entry.peerDependenciesMeta?.[p]?.optional === true;
  return {
    required: [...Object.keys(entry.dependencies ?? {}), ...peers.filter((p) => !optionalPeer(p))],
    optional: [...Object.keys(entry.optionalDependencies ?? {}), ...peers.filter(optionalPeer)],
  };
}

/**
 * Lock paths reachable from `roots`: `required` through dependencies only, `all` through optional ones
 * too. An optional dependency absent from the lock is skipped (npm does the same); a required one is an
 * error, the lock being incomplete.
 */
function reachable(
  packages: PackageLock['packages'],
  roots: string[],
): { all: Set<string>; required: Set<string> } {
  const walk = (withOptional: boolean): Set<string> => {
    const seen = new Set<string>();
    const queue = [...roots];
    while (queue.length > 0) {
      const path = queue.shift() as string;
      if (seen.has(path)) continue;
      seen.add(path);
      const { required, optional } = edges(packages[path]);
      for (const name of required) {
        const to = resolveDependency(packages, path, name);
        if (!to)
          throw new Error(`the lock file has no entry for ${name}, a dependency of ${path}: run npm install`);
        queue.push(to);
      }
      if (!withOptional) continue;
      for (const name of optional) {
        const to = resolveDependency(packages, path, name);
        if (to) queue.push(to);
      }
    }
    return seen;
  };
  return { all: walk(true), required: walk(false) };
}

/** The flags npm derives from the whole tree: recomputed for the subset (a dev-only package is not here). */
const TREE_FLAGS = ['dev', 'optional', 'devOptional', 'peer', 'extraneous'] as const;

/**
 * The package.json and package-lock.json of a bundle that installs exactly `packages` (each a direct
 * dependency in `lock`) and what they need, at the locked versions: every lock entry reachable from them,
 * unchanged (version, resolved, integrity, os/cpu/libc, ...) and at the same path, with npm's tree flags
 * recomputed (`optional` when only reachable through optional dependencies, no `dev`). The platform
 * binding packages are kept for every platform: `npm ci --os --cpu --libc` installs the matching one.
 */
export function bundleManifest(lock: PackageLock, packages: readonly string[]): BundleManifest {
  const dependencies: Record<string, string> = {};
  for (const pkg of packages) {
    const entry = lock.packages[`node_modules/${pkg}`];
    if (!entry?.version) {
      throw new Error(
        `${pkg} is not a dependency in the lock file: add it to package.json and run npm install`,
      );
    }
    if (entry.link)
      throw new Error(`${pkg} is a workspace link in the lock file: only registry packages can be installed`);
    dependencies[pkg] = entry.version;
  }
  const roots = packages.map((p) => `node_modules/${p}`);
  const { all, required } = reachable(lock.packages, roots);
  const root = { name: BUNDLE_PACKAGE_NAME, version: '0.0.0', dependencies };
  const entries: Record<string, LockPackage> = { '': root };
  for (const path of [...all].sort()) {
    const entry: Record<string, unknown> = { ...lock.packages[path] };
    if (entry.link)
      throw new Error(
        `${path} is a workspace link in the lock file: only registry packages can be installed`,
      );
    for (const flag of TREE_FLAGS) delete entry[flag];
    if (!required.has(path)) entry.optional = true;
    entries[path] = entry as LockPackage;
  }
  return {
    packageJson: { ...root, private: true },
    packageLock: { ...root, lockfileVersion: 3, requires: true, packages: entries },
  };
}

/** Quotes a string for a POSIX shell (the bundling commands run in bash). */
function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The binding of each of `packages` for `cpu`; a package without a known binding is an error. */
function nativeBindings(packages: readonly string[], cpu: NpmCpu): { pkg: string; binding: NativeBinding }[] {
  return packages.map((pkg) => {
    const bindings = NATIVE_BINDINGS[pkg];
    if (!bindings) {
      throw new Error(
        `${pkg} has no entry in NATIVE_BINDINGS (lib/native-bundle.ts): add its binding package and files ` +
          'per CPU, so synth can check the bundle holds the binding for Lambda',
      );
    }
    return { pkg, binding: bindings[cpu] };
  });
}

/** A binding file the bundle must hold, and why synth fails without it. */
export interface RequiredBindingFile {
  /** Path relative to the bundle directory, e.g. `node_modules/@duckdb/node-bindings-linux-arm64/duckdb.node`. */
  readonly path: string;
  /** The error: the package, the CPU and the fix. */
  readonly message: string;
}

/** The binding files a bundle of `packages` for `cpu` must hold. */
export function requiredBindingFiles(packages: readonly string[], cpu: NpmCpu): RequiredBindingFile[] {
  return nativeBindings(packages, cpu).flatMap(({ pkg, binding }) =>
    binding.files.map((file) => {
      const path = `node_modules/${binding.package}/${file}`;
      return {
        path,
        message:
          `the Lambda bundle has no ${path}: ${pkg} cannot load on linux-${cpu} (glibc). npm skips an ` +
          `optional package it cannot install and still succeeds: ${binding.package} is missing from ` +
          "package-lock.json or its integrity hash is not the registry tarball's (see npm's warnings above). " +
          `Fix: delete the node_modules/${binding.package} entry from package-lock.json, run ` +
          '`npm install --package-lock-only` and commit the lock; or deploy on the other architecture ' +
          '(lambdaArchitecture in the configuration)',
      };
    }),
  );
}

/** The required binding files missing from `bundleDir` (none when the bundle can load its native code). */
export function missingBindingFiles(
  bundleDir: string,
  packages: readonly string[],
  cpu: NpmCpu,
): RequiredBindingFile[] {
  return requiredBindingFiles(packages, cpu).filter((f) => !existsSync(join(bundleDir, f.path)));
}

/** Whether npm installs a lock entry on Lambda's platform (linux, `cpu`, glibc): its os/cpu/libc allow it. */
export function installsOnLambda(entry: LockPackage, cpu: NpmCpu): boolean {
  const allows = (list: string[] | undefined, value: string) => {
    if (!list || list.length === 0) return true;
    if (list.includes(`!${value}`)) return false;
    return list.includes(value) || list.every((v) => v.startsWith('!'));
  };
  return allows(entry.os, 'linux') && allows(entry.cpu, cpu) && allows(entry.libc, 'glibc');
}

/**
 * The packages (`name@version`) `npm ci` would install on Lambda's platform without an integrity hash in
 * the lock: npm then takes the registry's word for the tarball. npm may leave the hash out for an optional
 * package it did not fetch (another platform's binding); deleting such an entry from the lock and running
 * `npm install --package-lock-only` records it, the version unchanged.
 */
export function unverifiedPackages(lock: PackageLock, cpu: NpmCpu): string[] {
  return Object.entries(lock.packages)
    .filter(([path, entry]) => path !== '' && !entry.integrity && installsOnLambda(entry, cpu))
    .map(
      ([path, entry]) =>
        `${path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${entry.version}`,
    );
}

/** Everything needed to install native packages into a bundle for one CPU, worked out before bundling. */
export interface NativeInstallPlan {
  readonly cpu: NpmCpu;
  readonly manifest: BundleManifest;
  /** The binding files the installed bundle must hold. */
  readonly required: readonly RequiredBindingFile[];
  /** See {@link unverifiedPackages}. */
  readonly unverified: readonly string[];
}

/**
 * Plans the install of `packages` from `lockFile` for `cpu`: fails now (at construction, even when
 * bundling is skipped) when a package has no known binding or is not in the lock.
 */
export function planNativeInstall(
  packages: readonly string[],
  cpu: NpmCpu,
  lockFile: string,
): NativeInstallPlan {
  const required = requiredBindingFiles(packages, cpu);
  const manifest = bundleManifest(readPackageLock(lockFile), packages);
  return { cpu, manifest, required, unverified: unverifiedPackages(manifest.packageLock, cpu) };
}

/**
 * Shell commands (bash) installing a plan into the bundle directory `outputDir`, then failing (exit 1,
 * the message on stderr and in the command CDK reports) when a binding file is missing: npm skips an
 * optional package it cannot install (an integrity mismatch included) and still exits 0. The manifest is
 * written first so npm installs there, not into the first parent with a package.json. `--os/--cpu/--libc`
 * pick Lambda's binaries whatever machine synthesizes; `--include=optional` overrides a user's
 * `omit=optional`; `--ignore-scripts` because a build script would compile for this machine, not Lambda
 * (the bindings come prebuilt).
 */
export function nativeInstallCommands(outputDir: string, plan: NativeInstallPlan): string[] {
  const out = (file: string) => shellQuote(`${outputDir}/${file}`);
  return [
    `printf '%s\\n' ${shellQuote(JSON.stringify(plan.manifest.packageJson, null, 2))} > ${out('package.json')}`,
    `printf '%s\\n' ${shellQuote(JSON.stringify(plan.manifest.packageLock, null, 2))} > ${out('package-lock.json')}`,
    `npm ci --prefix ${shellQuote(outputDir)} --os=linux --cpu=${plan.cpu} --libc=glibc --omit=dev ` +
      '--include=optional --ignore-scripts --no-audit --no-fund',
    ...plan.required.map(
      (f) => `test -f ${out(f.path)} || { printf '%s\\n' ${shellQuote(f.message)} >&2; exit 1; }`,
    ),
  ];
}
