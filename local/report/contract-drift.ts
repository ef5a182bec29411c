/**
 * Silver built under another version of its contract: after a contract changes, the files already
 * transformed keep the silver (and the gold read from it) of the old rules until they are replayed. Each
 * manifest records the hash of the contract its file was transformed under (`contractHash`); this check
 * compares the newest manifests of each dataset with the hash of the contract now, and says which command
 * rebuilds what is stale.
 *
 * Bounded cost, whatever the size of the state: per dataset, one list request of at most
 * {@link MANIFESTS_LISTED} manifest keys, then the {@link MANIFESTS_READ} newest of them (by last
 * modification) read. Manifest keys are hashes of the bronze keys, so beyond that many manifests the ones
 * listed are a sample, not every file: a dataset whose files were all transformed before a change is
 * caught, one with a handful of stale files among many thousands may not be. Manifests without a hash
 * (written before it was recorded) count as unknown, not as stale.
 */

import { isAbsolute, relative, resolve } from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { contractHash } from '../../core/contracts/contract-hash';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { errorMessage } from '../../core/errors';
import { datasetPrefixes } from '../../core/lake/layout';
import { isNotFound, mapLimited, readObjectText, recoverWhen } from '../../lambdas/aws/s3';
import { parseManifest } from '../../lambdas/bronze-to-silver/manifest-store';
import { PROJECT_ROOT } from '../../lib/config';
import { DEFAULT_CONTRACTS_DIR, DEFAULT_MODELS_DIR, DEFAULT_STATE_DIR } from '../command-defaults';
import { displayPath } from './display-path';

/** Manifest keys listed per dataset: one ListObjectsV2 page. */
export const MANIFESTS_LISTED = 1000;
/** Of those, how many of the newest are read. */
export const MANIFESTS_READ = 20;
/** Manifests read at once. */
const READ_CONCURRENCY = 8;

/** A dataset whose silver was (at least in part) built under another version of its contract. */
export interface ContractDrift {
  /** `<domain>/<dataset>`. */
  readonly dataset: string;
  /** The contract file, as the user would read the path. */
  readonly contractFile: string;
  /** The hash of the contract now. */
  readonly contractHash: string;
  /** The other hashes the manifests read were built under, sorted. */
  readonly builtUnder: string[];
  /** Manifests read, and how many of them were built under another contract. */
  readonly manifestsRead: number;
  readonly stale: number;
  /** The command that rebuilds the dataset's silver (and the gold models that read it). */
  readonly replayCommand: string;
  /** The warning printed, one line. */
  readonly warning: string;
}

/** What a run's report records of the check (`contractDrift`: empty when every dataset is up to date). */
export interface ContractDriftRecord {
  readonly contractDrift: ContractDrift[];
}

/** How the command that found the drift was run: what the replay it suggests must be given. */
export interface ReplaySettings {
  readonly contractsDir: string;
  readonly stateDir: string;
  /**
   * The gold models the command used: the replay rebuilds the same. `false`: none (the replay then
   * rebuilds silver only); `undefined`: the command runs no gold itself (replay's default then applies).
   */
  readonly modelsDir: string | false | undefined;
}

/**
 * The datasets whose newest manifests name another contract than theirs now (see the module comment for
 * what is read). No silver bucket yet: none.
 */
export async function findContractDrift(
  s3: S3Client,
  silverBucket: string,
  contracts: readonly DatasetContract[],
  settings: ReplaySettings,
): Promise<ContractDrift[]> {
  const found: ContractDrift[] = [];
  for (const contract of [...contracts].sort((a, b) => a.id.localeCompare(b.id))) {
    const current = contractHash(contract);
    const hashes = await newestManifestHashes(s3, silverBucket, contract);
    const stale = hashes.filter((h) => h !== undefined && h !== current) as string[];
    if (stale.length === 0) continue;
    const { command, rebuildsGold } = replayCommand(contract.dataset, settings);
    const contractFile = displayPath(contract.file);
    found.push({
      dataset: contract.id,
      contractFile,
      contractHash: current,
      builtUnder: [...new Set(stale)].sort(),
      manifestsRead: hashes.length,
      stale: stale.length,
      replayCommand: command,
      warning:
        `warning: silver of ${contract.domain}.${contract.dataset} was built under another version of its ` +
        `contract (${contractFile} changed): run '${command}' to rebuild ${rebuildsGold ? 'silver and the gold models that read it' : 'its silver'}`,
    });
  }
  return found;
}

/**
 * The warnings of {@link findContractDrift}, as lines to print; a check that could not run is one warning
 * too (it never fails the command).
 */
export async function contractDriftWarnings(
  ...args: Parameters<typeof findContractDrift>
): Promise<{ lines: string[]; drift: ContractDrift[] }> {
  try {
    const drift = await findContractDrift(...args);
    return { lines: drift.map((d) => d.warning), drift };
  } catch (e) {
    return {
      lines: [`warning: could not check which contracts silver was built under: ${errorMessage(e)}`],
      drift: [],
    };
  }
}

/**
 * `npm run replay -- --dataset <name>`, with the options that make it act on the same state, contracts
 * and gold models as the command that suggests it (`npm run` runs from the project root: paths are
 * relative to it, or absolute outside it); and whether that replay rebuilds gold.
 */
export function replayCommand(
  dataset: string,
  settings: ReplaySettings,
): { command: string; rebuildsGold: boolean } {
  const args = ['--dataset', dataset];
  const fromRoot = (p: string) => resolve(PROJECT_ROOT, p);
  const sampleContracts = resolve(settings.contractsDir) === fromRoot(DEFAULT_CONTRACTS_DIR);
  if (!sampleContracts) args.push('--contracts', commandPath(settings.contractsDir));
  if (resolve(settings.stateDir) !== fromRoot(DEFAULT_STATE_DIR)) {
    args.push('--state', commandPath(settings.stateDir));
  }
  // What replay runs without --models (see `goldModelsDir`): the sample models with the sample contracts.
  const replayDefault = sampleContracts ? fromRoot(DEFAULT_MODELS_DIR) : undefined;
  let rebuildsGold = replayDefault !== undefined;
  if (settings.modelsDir === false) {
    if (replayDefault !== undefined) args.push('--no-gold');
    rebuildsGold = false;
  } else if (settings.modelsDir !== undefined) {
    const models = resolve(settings.modelsDir);
    if (models !== replayDefault) args.push('--models', commandPath(models));
    rebuildsGold = true;
  }
  return { command: `npm run replay -- ${args.map(shellWord).join(' ')}`, rebuildsGold };
}

/** A path as a command run from the project root reads it. */
function commandPath(path: string): string {
  const rel = relative(PROJECT_ROOT, resolve(path));
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : resolve(path);
}

/** One shell word: as is when it holds nothing a shell reads specially, else double-quoted. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/(["\\$`])/g, '\\$1')}"`;
}

/**
 * The contract hashes of the dataset's newest manifests (`undefined`: a manifest without one), at most
 * {@link MANIFESTS_READ} of the first {@link MANIFESTS_LISTED} keys. Unreadable manifests are skipped.
 */
async function newestManifestHashes(
  s3: S3Client,
  bucket: string,
  contract: DatasetContract,
): Promise<(string | undefined)[]> {
  const page = await recoverWhen(
    s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: datasetPrefixes.silverManifests(contract),
        MaxKeys: MANIFESTS_LISTED,
      }),
    ),
    isNotFound,
    undefined,
  );
  const newest = (page?.Contents ?? [])
    .filter((o) => o.Key?.endsWith('.json'))
    .sort((a, b) => (b.LastModified?.getTime() ?? 0) - (a.LastModified?.getTime() ?? 0))
    .slice(0, MANIFESTS_READ)
    .map((o) => o.Key as string);
  const read = await mapLimited(newest, READ_CONCURRENCY, async (key) => {
    const text = await readObjectText(s3, bucket, key);
    const manifest = text === undefined ? undefined : parseManifest(text);
    return manifest === undefined || typeof manifest === 'string' ? null : manifest.contractHash;
  });
  return read.filter((h): h is string | undefined => h !== null);
}
