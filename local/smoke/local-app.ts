/**
 * The app the local smoke runs, from ONE synthesis: `createMedallionApp` (cdk.json's context, asset
 * bundling skipped) with the smoke's contracts and gold models gives the local cloud's wiring, the gold
 * state machine and the alarm topic's policy. `medallion pipeline` synthesizes twice (the wiring without
 * gold, then the gold template); both come out the same from one app, and a synthesis costs seconds.
 *
 * Cached as `smoke-app-<hash>.json` in `cacheDir`, keyed like the wiring (lib/, core/, the contracts,
 * cdk.json) plus the models and this file.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { PipelineUsageError } from '../../core/errors';
import { PROJECT_ROOT } from '../../lib/config';
import { mergedTemplateOf } from '../cloud/stack-templates';
import { type LocalWiring, WIRING_VERSION, wiringFromStacks, wiringKey } from '../cloud/template-wiring';
import type { CfnTemplate } from '../gold/state-machine-definition';
import { displayPath } from '../report/display-path';

export interface LocalApp {
  /** The synthesized stack's name (`Medallion-<environment>`). */
  readonly stackName: string;
  readonly wiring: LocalWiring;
  readonly template: CfnTemplate;
}

export interface LocalAppOptions {
  readonly contractsDir: string;
  readonly modelsDir: string;
  readonly cacheDir: string;
  /** Local bucket names are `<prefix>-<layer>`; default `medallion-local`. */
  readonly bucketPrefix?: string;
}

/** The synthesized app for these contracts and models: from the cache when nothing it depends on changed. */
export function loadLocalApp(options: LocalAppOptions): LocalApp & { fromCache: boolean; ms: number } {
  const t0 = Date.now();
  const bucketPrefix = options.bucketPrefix ?? 'medallion-local';
  const contractsDir = inRepository(options.contractsDir, 'contracts directory');
  const modelsDir = inRepository(options.modelsDir, 'models directory');
  const hash = createHash('sha256').update(wiringKey(options.contractsDir, bucketPrefix));
  for (const f of readdirSync(options.modelsDir).sort())
    hash.update(f).update(readFileSync(join(options.modelsDir, f)));
  hash.update(readFileSync(__filename));
  const cacheFile = join(options.cacheDir, `smoke-app-${hash.digest('hex').slice(0, 16)}.json`);
  if (existsSync(cacheFile)) {
    try {
      const app = JSON.parse(readFileSync(cacheFile, 'utf8')) as LocalApp;
      if (app.wiring.version === WIRING_VERSION) return { ...app, fromCache: true, ms: Date.now() - t0 };
    } catch {
      // a torn or foreign file: synthesize again
    }
  }
  const app = synthesize(contractsDir, modelsDir, bucketPrefix);
  mkdirSync(options.cacheDir, { recursive: true });
  const temp = `${cacheFile}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(app));
  renameSync(temp, cacheFile); // atomic: a concurrent run never reads half a file
  return { ...app, fromCache: false, ms: Date.now() - t0 };
}

/** The synthesis needs paths relative to the repository (the functions bundle the contracts). */
function inRepository(dir: string, what: string): string {
  const rel = relative(PROJECT_ROOT, dir);
  if (!existsSync(dir)) throw new PipelineUsageError(`${what} ${displayPath(dir)} does not exist`);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new PipelineUsageError(
      `${what} ${displayPath(dir)} must be inside the project to synthesize the app for the local smoke`,
    );
  }
  return rel;
}

function synthesize(contractsDir: string, modelsDir: string, bucketPrefix: string): LocalApp {
  // Loaded here: aws-cdk-lib takes a second to load, and a cached app never needs it.
  const { createMedallionApp } =
    require('../../lib/medallion-app') as typeof import('../../lib/medallion-app');
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const base = cdkJson.context ?? {};
  const medallion = { ...((base.medallion as object) ?? {}), contractsDir, gold: { modelsDir } };
  const outdir = mkdtempSync(join(tmpdir(), 'medallion-smoke-synth-'));
  try {
    const { app, stack, pipeline } = createMedallionApp({
      outdir,
      context: { ...base, 'aws:cdk:bundling-stacks': [], medallion },
    });
    const wiring = wiringFromStacks(pipeline.stacks, { bucketPrefix });
    const assembly = app.synth();
    // The platform's outputs keep their names (the platform comes first).
    const template = mergedTemplateOf(assembly, pipeline.stacks) as CfnTemplate;
    return { stackName: stack.stackName, wiring, template };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
