/**
 * What `medallion pipeline` runs on: the input files (`<data>/<dataset>/<file...>`, the dataset naming its
 * contract), each with the door it goes through, and the state directory it runs in.
 */

import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import type { ContractRegistry } from '../../core/contracts/load-contracts';
import { PipelineUsageError } from '../../core/errors';
import { assertStateFree } from '../cloud/state-lock';
import { displayPath } from '../report/display-path';
import type { Door } from '../report/pipeline-report';

/** Written into a state directory we created: only such a directory is ever wiped. */
const STATE_MARKER = '.medallion-state';
/** The landing API's default body limit (MEDALLION_MAX_BODY_BYTES): larger files go through S3. */
const API_BODY_LIMIT = 6 * 1024 * 1024;

export type InputFile = {
  absolute: string;
  path: string;
  contract: DatasetContract;
  landingKey: string;
  bytes: number;
  sha256: string;
  door: Door;
};

/** `<data>/<dataset>/<file...>`, sorted; dot files are skipped. */
export function discoverInputs(dataDir: string, contracts: ContractRegistry): InputFile[] {
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
    throw new PipelineUsageError(`data directory ${displayPath(dataDir)} does not exist`);
  }
  const known = contracts.all.map((c) => c.dataset).sort();
  const inputs: InputFile[] = [];
  for (const entry of readdirSync(dataDir, { withFileTypes: true }).sort(byName)) {
    if (entry.name.startsWith('.')) continue;
    const where = join(dataDir, entry.name);
    if (!entry.isDirectory()) {
      throw new PipelineUsageError(
        `${displayPath(where)} is not in a dataset directory: put files under ${displayPath(dataDir)}/<dataset>/`,
      );
    }
    const contract = contracts.byName(entry.name);
    if (!contract) {
      throw new PipelineUsageError(
        `${displayPath(where)}: no data contract declares dataset '${entry.name}' (known: ${known.join(', ')})`,
      );
    }
    for (const absolute of listFiles(where)) {
      const path = relative(dataDir, absolute).split(sep).join('/');
      const { size } = statSync(absolute);
      const name = relative(where, absolute).split(sep).join('/');
      inputs.push({
        absolute,
        path,
        contract,
        landingKey: `${contract.domain}/${contract.dataset}/${name}`,
        bytes: size,
        sha256: '',
        door: doorFor(name, size),
      });
    }
  }
  if (inputs.length === 0)
    throw new PipelineUsageError(`no data files under ${displayPath(dataDir)}/<dataset>/`);
  return inputs;
}

/** Hashes each file as stored (what landing hashes), streaming. */
export async function hashInputs(inputs: InputFile[]): Promise<InputFile[]> {
  for (const input of inputs) {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(input.absolute)) hash.update(chunk as Buffer);
    input.sha256 = hash.digest('hex');
  }
  return inputs;
}

function listFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort(byName)) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...listFiles(path));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

/** JSON and NDJSON go through the API (when small enough); CSV, gzip and anything else through S3. */
export function doorFor(name: string, bytes: number): Door {
  return /\.(ndjson|jsonl|json)$/i.test(name) && bytes > 0 && bytes <= API_BODY_LIMIT ? 'api' : 's3';
}

/** Creates the state directory, or empties it (only if it is one of ours) unless `keep`. */
export function prepareState(stateDir: string, keep: boolean): void {
  const marker = join(stateDir, STATE_MARKER);
  if (existsSync(stateDir)) {
    const entries = readdirSync(stateDir);
    if (entries.length > 0 && !existsSync(marker)) {
      throw new PipelineUsageError(
        `${displayPath(stateDir)} is not empty and is not a medallion state directory: refusing to use it`,
      );
    }
    // Never wipe (nor share) a state another medallion process is using.
    assertStateFree(stateDir);
    // The derived wiring (`cache/`) survives a wipe: it only depends on the code, and takes seconds to derive.
    if (!keep) {
      for (const entry of entries) {
        if (entry !== 'cache') rmSync(join(stateDir, entry), { recursive: true, force: true });
      }
    }
  }
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(marker, 'medallion local state: buckets, scratch space and logs of `medallion pipeline`\n');
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
