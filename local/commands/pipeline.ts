/**
 * `medallion pipeline`: runs sample (or any) data through the local cloud, landing to silver, and checks
 * the outcome.
 *
 *  1. discovers the input files: `<data>/<dataset>/<file...>`, the dataset naming its contract;
 *  2. starts the local cloud (state wiped first unless `keepState`);
 *  3. ingests each file through one of the two doors: CSV and gzip files are uploaded to the landing
 *     bucket (`<domain>/<dataset>/<file>`), JSON and NDJSON files are POSTed to the ingest API;
 *  4. waits until everything is transformed (`whenIdle`), then reads the silver manifests and checks,
 *     per file, that every row is accounted for: in = out + quarantined + duplicates.
 *
 * Problems with the invocation itself (unknown dataset directory, broken contract, busy port) are
 * `PipelineUsageError`s; problems with the run (a dead-lettered message, a failed landing, a broken
 * conservation check) make the report not `ok`.
 */

import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import type { ContractRegistry } from '../../core/contracts/load-contracts';
import { readContracts } from '../../core/contracts/load-contracts';
import { PipelineUsageError, PortInUseError } from '../../core/errors';
import {
  bronzeContentIndexKey,
  decodeEventKey,
  manifestKey,
  sourceId,
  unsafeSegmentReason,
} from '../../core/lake/layout';
import type { Manifest } from '../../core/lake/manifest';
import { PROJECT_ROOT } from '../../lib/config';
import type { LogSink } from '../cloud/lambda-runtime';
import {
  DEFAULT_API_PORT,
  DEFAULT_CONTRACTS_DIR,
  DEFAULT_S3_PORT,
  DEFAULT_STATE_DIR,
  LocalCloud,
} from '../cloud/local-cloud';
import { wiringKey } from '../cloud/template-wiring';
import { formatRows, previewGoldTables, runGoldLocally } from '../gold/run-gold';
import { type CfnTemplate, synthesizeTemplate } from '../gold/state-machine-definition';

export const DEFAULT_DATA_DIR = 'samples/data';
/** Gold models run by default with the sample contracts (they refer to orders and products). */
export const DEFAULT_MODELS_DIR = 'samples/models';
/** Written into a state directory we created: only such a directory is ever wiped. */
const STATE_MARKER = '.medallion-state';
/** The landing API's default body limit (MEDALLION_MAX_BODY_BYTES): larger files go through S3. */
const API_BODY_LIMIT = 6 * 1024 * 1024;
/** S3's largest single PutObject. */
const SINGLE_PUT_MAX_BYTES = 5 * 1024 ** 3;

export interface PipelineOptions {
  readonly contractsDir?: string;
  readonly dataDir?: string;
  readonly stateDir?: string;
  /**
   * Gold models to run after silver, with the synthesized gold state machine; default: the sample models
   * when the contracts are the samples', none otherwise. `false` skips gold.
   */
  readonly modelsDir?: string | false;
  /** Keep the buckets of an earlier run instead of starting empty. */
  readonly keepState?: boolean;
  /** Write the run report (JSON) there. */
  readonly reportFile?: string;
  /** S3 port; default 4566, 0 for any free port. */
  readonly port?: number;
  /** Ingest API port; default 4567, 0 for any free port. */
  readonly apiPort?: number;
  /** Progress and summary lines; default: stdout. */
  readonly out?: (line: string) => void;
  /** Handlers' logs; default `<state>/logs/functions.log`. */
  readonly functionLogs?: LogSink;
  /**
   * After the report, keep the local cloud running (endpoints printed) until this resolves; default: stop
   * at once. The CLI's `--keep-running` passes `untilSignal()`.
   */
  readonly keepRunning?: () => Promise<void>;
  /** Called once the local cloud runs, before anything is ingested (tests use it to break things). */
  readonly beforeIngest?: (cloud: LocalCloud) => Promise<void> | void;
}

export type Door = 's3' | 'api';
export type Rows = { in: number; out: number; quarantined: number; duplicates: number };

export interface FileReport {
  /** Path relative to the data directory. */
  readonly path: string;
  readonly domain: string;
  readonly dataset: string;
  readonly door: Door;
  readonly bytes: number;
  readonly sha256: string;
  /** `already-landed`: bronze held these bytes before this run (nothing new was transformed). */
  landing: 'landed' | 'already-landed' | 'failed';
  landingError?: string;
  bronzeKey?: string;
  manifestKey?: string;
  /** The manifest's status; `missing` when no manifest was found. */
  status: Manifest['status'] | 'missing';
  reason?: string;
  rows: Rows;
  quarantinedByReason: Record<string, number>;
  /** Rows per silver partition (`dt=` value). */
  partitions: Record<string, number>;
  conservation: { ok: boolean; problems: string[] };
}

export interface DatasetReport {
  readonly domain: string;
  readonly dataset: string;
  files: number;
  rows: Rows;
  quarantinedByReason: Record<string, number>;
  partitions: Record<string, number>;
}

export interface PipelineReport {
  ok: boolean;
  startedAt: string;
  finishedAt: string;
  contractsDir: string;
  dataDir: string;
  stateDir: string;
  endpoints: { s3: string; api?: string };
  buckets: Record<string, string>;
  files: FileReport[];
  datasets: DatasetReport[];
  totals: { files: number; rows: Rows };
  deadLetters: { messageId: string; receiveCount: number; keys: string[]; lastError?: string }[];
  landingFailures: { path: string; error: string }[];
  /** Every key in the silver bucket after the run, sorted. */
  silverObjects: string[];
  /** The gold workflow's run, when models were given. */
  gold?: GoldSummary;
  timingsMs: {
    start: number;
    ingest: number;
    transform: number;
    gold?: number;
    report: number;
    total: number;
  };
  functionLogs?: string;
}

export interface GoldSummary {
  ok: boolean;
  status: string;
  error?: string;
  executionName: string;
  /** Per gold table: where the catalog publishes it and how many rows it has there. */
  tables: Record<string, { location?: string; rows: number; preview: string[] }>;
  alarms: number;
}

type InputFile = {
  absolute: string;
  path: string;
  contract: DatasetContract;
  landingKey: string;
  bytes: number;
  sha256: string;
  door: Door;
};

export async function runPipeline(options: PipelineOptions = {}): Promise<PipelineReport> {
  const t0 = Date.now();
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const contractsDir = resolve(options.contractsDir ?? DEFAULT_CONTRACTS_DIR);
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const stateDir = resolve(options.stateDir ?? DEFAULT_STATE_DIR);
  const contracts = loadContracts(contractsDir);
  const inputs = await hashInputs(discoverInputs(dataDir, contracts));
  prepareState(stateDir, options.keepState ?? false);

  const logFile = join(stateDir, 'logs', 'functions.log');
  const cloud = await startCloud({
    stateDir,
    contractsDir,
    s3Port: options.port ?? DEFAULT_S3_PORT,
    apiPort: options.apiPort ?? DEFAULT_API_PORT,
    functionLogs: options.functionLogs ?? { file: logFile },
  });
  const startedAt = new Date(t0).toISOString();
  const tStarted = Date.now();
  try {
    out(
      `medallion pipeline: ${inputs.length} file(s) from ${shown(dataDir)}, contracts ${shown(contractsDir)}, state ${shown(stateDir)}`,
    );
    out(`  S3 ${cloud.endpoints.s3}   ingest API ${cloud.endpoints.api ?? '(none)'}`);
    await options.beforeIngest?.(cloud);
    const { files, unsubscribe, toTransform } = await ingest(cloud, inputs, out);
    const tIngested = Date.now();
    await withProgress(cloud.whenIdle(), out, (s) => `still transforming (${s} s): large files take a while`);
    unsubscribe();
    if (toTransform === 0) out('nothing new to transform: bronze already held every file');
    const tSettled = Date.now();
    const report = await buildReport(cloud, files, inputs);
    const tReported = Date.now();
    const modelsDir = goldModelsDir(options.modelsDir, contractsDir);
    const gold = modelsDir ? await runGold(cloud, stateDir, contractsDir, modelsDir, out) : undefined;
    const finished = Date.now();
    const full: PipelineReport = {
      ...report,
      ok: report.ok && (gold?.ok ?? true),
      gold,
      startedAt,
      finishedAt: new Date(finished).toISOString(),
      contractsDir,
      dataDir,
      stateDir,
      endpoints: { ...cloud.endpoints },
      buckets: { ...cloud.buckets },
      timingsMs: {
        start: tStarted - t0,
        ingest: tIngested - tStarted,
        transform: tSettled - tIngested,
        report: tReported - tSettled,
        ...(gold ? { gold: finished - tReported } : {}),
        total: finished - t0,
      },
      functionLogs: options.functionLogs ? undefined : logFile,
    };
    for (const line of formatSummary(full)) out(line);
    if (options.reportFile) {
      const file = resolve(options.reportFile);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(full, null, 2)}\n`);
      out(`report written to ${shown(file)}`);
    }
    if (options.keepRunning) {
      for (const line of localCloudBanner(cloud)) out(line);
      await options.keepRunning();
    }
    return full;
  } finally {
    await cloud.stop();
  }
}

/** While `work` runs, says so every 5 s, so a long file does not look like a hang. */
async function withProgress<T>(
  work: Promise<T>,
  out: (line: string) => void,
  line: (seconds: number) => string,
) {
  const t0 = Date.now();
  const timer = setInterval(() => out(line(Math.round((Date.now() - t0) / 1000))), 5000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

function goldTemplateKey(contractsDir: string, modelsDir: string): string {
  const hash = createHash('sha256').update(wiringKey(contractsDir, 'gold'));
  for (const f of readdirSync(modelsDir).sort()) hash.update(f).update(readFileSync(join(modelsDir, f)));
  return hash.digest('hex').slice(0, 16);
}

function goldModelsDir(option: string | false | undefined, contractsDir: string): string | undefined {
  if (option === false) return undefined;
  if (option !== undefined) return resolve(option);
  return contractsDir === resolve(DEFAULT_CONTRACTS_DIR) ? resolve(DEFAULT_MODELS_DIR) : undefined;
}

/** Runs the synthesized gold state machine locally (Athena on DuckDB) and reads back what it published. */
async function runGold(
  cloud: LocalCloud,
  stateDir: string,
  contractsDir: string,
  modelsDir: string,
  out: (line: string) => void,
): Promise<GoldSummary> {
  const inRepo = (dir: string, what: string) => {
    const rel = relative(PROJECT_ROOT, dir);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw new PipelineUsageError(
        `${what} ${shown(dir)} must be inside the project to synthesize the gold workflow`,
      );
    }
    return rel;
  };
  out('running gold models (the synthesized state machine, Athena on DuckDB)');
  const config = {
    contractsDir: inRepo(contractsDir, 'contracts directory'),
    gold: { modelsDir: inRepo(modelsDir, 'models directory') },
  };
  // Synthesizing costs seconds: the template is cached like the wiring, keyed by what decides it.
  const cache = join(stateDir, 'cache', `gold-template-${goldTemplateKey(contractsDir, modelsDir)}.json`);
  let template: CfnTemplate;
  if (existsSync(cache)) template = JSON.parse(readFileSync(cache, 'utf8')) as CfnTemplate;
  else {
    template = synthesizeTemplate({ config }).template;
    mkdirSync(dirname(cache), { recursive: true });
    writeFileSync(cache, JSON.stringify(template));
  }
  const run = await runGoldLocally({
    s3Endpoint: cloud.endpoints.s3,
    stateDir,
    buckets: cloud.buckets,
    template,
  });
  const tables = Object.keys(run.published);
  const PREVIEW_ROWS = 10;
  const rows = await previewGoldTables({
    s3Endpoint: cloud.endpoints.s3,
    stateDir,
    database: run.database,
    tables,
    limit: PREVIEW_ROWS,
  });
  return {
    ok: run.ok,
    status: run.status,
    error: run.error ? `${run.error.error}: ${run.error.cause}` : undefined,
    executionName: run.executionName,
    tables: Object.fromEntries(
      tables.map((t) => [
        t,
        {
          location: run.published[t],
          rows: rows[t]?.count ?? 0,
          preview: formatRows(rows[t]?.rows ?? [], PREVIEW_ROWS, rows[t]?.count),
        },
      ]),
    ),
    alarms: run.alarms.length,
  };
}

/** What to tell a user of a running local cloud: endpoints, buckets, and the variables for the aws CLI. */
export function localCloudBanner(cloud: LocalCloud): string[] {
  return [
    '',
    `local cloud running (state ${shown(cloud.stateDir)}); Ctrl-C stops it`,
    `  S3          ${cloud.endpoints.s3}`,
    `  ingest API  ${cloud.endpoints.api ? `${cloud.endpoints.api}/datasets/{dataset}/records` : '(none)'}`,
    `  buckets     ${Object.values(cloud.buckets).join(', ')}`,
    '',
    'for the aws CLI (and any SDK):',
    '  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1',
    '  export AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION=when_required',
    `  export AWS_ENDPOINT_URL_S3=${cloud.endpoints.s3}   # SDKs and aws CLI >= 2.13; older: --endpoint-url`,
    `  aws --endpoint-url ${cloud.endpoints.s3} s3 cp orders.csv s3://${cloud.buckets.landing}/retail/orders/orders.csv`,
  ];
}

/** Resolves on the first SIGINT or SIGTERM (Ctrl-C). */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

export interface LocalOptions {
  readonly contractsDir?: string;
  readonly stateDir?: string;
  readonly port?: number;
  readonly apiPort?: number;
  readonly functionLogs?: LogSink;
  readonly out?: (line: string) => void;
  /** Runs until this resolves; default: until Ctrl-C. */
  readonly until?: () => Promise<void>;
  /** Called once the cloud runs (tests use it to reach the endpoints). */
  readonly onStarted?: (cloud: LocalCloud) => Promise<void> | void;
}

/** `medallion local`: the local cloud over a kept state directory, until Ctrl-C (or `until`). */
export async function startLocal(options: LocalOptions = {}): Promise<void> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const contractsDir = resolve(options.contractsDir ?? DEFAULT_CONTRACTS_DIR);
  const stateDir = resolve(options.stateDir ?? DEFAULT_STATE_DIR);
  loadContracts(contractsDir);
  prepareState(stateDir, true);
  const cloud = await startCloud({
    stateDir,
    contractsDir,
    s3Port: options.port ?? DEFAULT_S3_PORT,
    apiPort: options.apiPort ?? DEFAULT_API_PORT,
    functionLogs: options.functionLogs ?? { file: join(stateDir, 'logs', 'functions.log') },
  });
  try {
    for (const line of localCloudBanner(cloud)) out(line);
    await options.onStarted?.(cloud);
    await (options.until ?? untilSignal)();
    out('stopping the local cloud...');
  } finally {
    await cloud.stop();
  }
}

/** `LocalCloud.start`, a busy port turned into a usage error naming the option to change. */
async function startCloud(o: Parameters<typeof LocalCloud.start>[0]): Promise<LocalCloud> {
  try {
    return await LocalCloud.start(o);
  } catch (e) {
    if (e instanceof PortInUseError) {
      const option = e.service === 'S3' ? '--port' : '--api-port';
      throw new PipelineUsageError(
        `${e.message}: is another local pipeline running? choose another with ${option}`,
      );
    }
    throw e;
  }
}

function loadContracts(dir: string): ContractRegistry {
  return readContracts(dir, (m) => new PipelineUsageError(m), shown);
}

/** `<data>/<dataset>/<file...>`, sorted; dot files are skipped. */
function discoverInputs(dataDir: string, contracts: ContractRegistry): InputFile[] {
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
    throw new PipelineUsageError(`data directory ${shown(dataDir)} does not exist`);
  }
  const known = contracts.all.map((c) => c.dataset).sort();
  const inputs: InputFile[] = [];
  for (const entry of readdirSync(dataDir, { withFileTypes: true }).sort(byName)) {
    if (entry.name.startsWith('.')) continue;
    const where = join(dataDir, entry.name);
    if (!entry.isDirectory()) {
      throw new PipelineUsageError(
        `${shown(where)} is not in a dataset directory: put files under ${shown(dataDir)}/<dataset>/`,
      );
    }
    const contract = contracts.byName(entry.name);
    if (!contract) {
      throw new PipelineUsageError(
        `${shown(where)}: no data contract declares dataset '${entry.name}' (known: ${known.join(', ')})`,
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
  if (inputs.length === 0) throw new PipelineUsageError(`no data files under ${shown(dataDir)}/<dataset>/`);
  return inputs;
}

/** Hashes each file as stored (what landing hashes), streaming. */
async function hashInputs(inputs: InputFile[]): Promise<InputFile[]> {
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
        `${shown(stateDir)} is not empty and is not a medallion state directory: refusing to use it`,
      );
    }
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

const MEDIA_TYPES: Record<DatasetContract['source']['format'], string> = {
  csv: 'text/csv',
  ndjson: 'application/x-ndjson',
  json: 'application/json',
};

/**
 * Lands every input through its door and returns once each was handed over (uploads finish landing
 * asynchronously); progress keeps being reported until `unsubscribe`.
 */
async function ingest(
  cloud: LocalCloud,
  inputs: InputFile[],
  out: (line: string) => void,
): Promise<{ files: FileReport[]; unsubscribe: () => void; toTransform: number }> {
  const reports = new Map<InputFile, FileReport>();
  // Bytes bronze already holds are not landed (nor transformed) again.
  const fresh = new Set<string>();
  for (const input of inputs) {
    const before = await readText(cloud.s3, cloud.buckets.bronze, indexKey(input));
    const report: FileReport = {
      path: input.path,
      domain: input.contract.domain,
      dataset: input.contract.dataset,
      door: input.door,
      bytes: input.bytes,
      sha256: input.sha256,
      landing: before === undefined ? 'landed' : 'already-landed',
      status: 'missing',
      rows: { in: 0, out: 0, quarantined: 0, duplicates: 0 },
      quarantinedByReason: {},
      partitions: {},
      conservation: { ok: false, problems: [] },
    };
    if (before === undefined) fresh.add(`${input.contract.id}/${input.sha256}`);
    reports.set(input, report);
  }

  const total = inputs.length;
  let landed = 0;
  let transformed = 0;
  const landedOne = () => out(`landed ${++landed}/${total} files`);
  const byLandingKey = new Map(inputs.filter((i) => i.door === 's3').map((i) => [i.landingKey, i]));
  const subscriptions = [
    cloud.on('landed', (e) => {
      if (e.bucket === cloud.buckets.landing && byLandingKey.has(e.key)) landedOne();
    }),
    cloud.on('landing-failed', (e) => {
      const input = byLandingKey.get(e.key);
      const report = input && reports.get(input);
      if (!report) return;
      report.landing = 'failed';
      report.landingError = e.error;
      out(`landing FAILED for ${report.path}: ${e.error}`);
    }),
    cloud.on('transformed', () => out(`transformed ${++transformed}/${fresh.size}`)),
    cloud.on('transform-failed', (e) =>
      out(
        `transform failed for ${e.keys.join(', ') || e.messageId} (receive ${e.receiveCount}${e.willRetry ? ', will retry' : ', dead-lettered'})`,
      ),
    ),
  ];
  const unsubscribe = () => {
    for (const off of subscriptions) off();
  };
  try {
    for (const input of inputs) {
      const report = reports.get(input) as FileReport;
      if (input.door === 's3') {
        const params = {
          Bucket: cloud.buckets.landing,
          Key: input.landingKey,
          Body: createReadStream(input.absolute),
          ContentType: /\.gz$/i.test(input.path)
            ? 'application/gzip'
            : MEDIA_TYPES[input.contract.source.format],
        };
        // One PUT up to S3's single-request limit: a multipart upload makes the local server write every
        // byte twice (the parts, then the assembled object).
        if (input.bytes <= SINGLE_PUT_MAX_BYTES) {
          await cloud.s3.send(new PutObjectCommand({ ...params, ContentLength: input.bytes }));
        } else {
          await new Upload({ client: cloud.s3, params }).done();
        }
        continue;
      }
      const name = input.path.split('/').pop() as string;
      const result = await cloud.api(input.contract.dataset, readFileSync(input.absolute), {
        'Content-Type': MEDIA_TYPES[input.contract.source.format],
        // The API refuses names that are unsafe as a path segment; the file then lands unnamed.
        ...(unsafeSegmentReason(name) ? {} : { 'X-File-Name': name }),
      });
      if (result.statusCode === 202) landedOne();
      else {
        report.landing = 'failed';
        report.landingError = `HTTP ${result.statusCode}: ${messageOf(result.body)}`;
        out(`landing FAILED for ${report.path}: ${report.landingError}`);
      }
    }
  } catch (e) {
    unsubscribe();
    throw e;
  }
  return { files: inputs.map((i) => reports.get(i) as FileReport), unsubscribe, toTransform: fresh.size };
}

async function buildReport(
  cloud: LocalCloud,
  files: FileReport[],
  inputs: InputFile[],
): Promise<
  Pick<
    PipelineReport,
    'ok' | 'files' | 'datasets' | 'totals' | 'deadLetters' | 'landingFailures' | 'silverObjects'
  >
> {
  const silverObjects = await listKeys(cloud.s3, cloud.buckets.silver);
  const silver = new Set(silverObjects);
  for (const [i, file] of files.entries()) {
    if (file.landing === 'failed') {
      file.conservation = { ok: false, problems: ['the file did not land'] };
      continue;
    }
    const bronzeKey = await readText(cloud.s3, cloud.buckets.bronze, indexKey(inputs[i]));
    if (bronzeKey === undefined) {
      file.conservation = { ok: false, problems: ['no bronze object holds these bytes'] };
      continue;
    }
    file.bronzeKey = bronzeKey;
    file.manifestKey = manifestKey(file.domain, file.dataset, sourceId(cloud.buckets.bronze, bronzeKey));
    const text = await readText(cloud.s3, cloud.buckets.silver, file.manifestKey);
    if (text === undefined) {
      file.conservation = {
        ok: false,
        problems: [`no manifest ${file.manifestKey}: the file never reached silver`],
      };
      continue;
    }
    const manifest = JSON.parse(text) as Manifest;
    file.status = manifest.status;
    if (manifest.reason) file.reason = manifest.reason;
    file.rows = { ...manifest.rows };
    file.quarantinedByReason = { ...manifest.quarantinedByReason };
    for (const o of manifest.outputs)
      file.partitions[o.partition] = (file.partitions[o.partition] ?? 0) + o.rows;
    file.conservation = checkConservation(manifest, silver);
  }

  const datasets = new Map<string, DatasetReport>();
  for (const f of files) {
    const id = `${f.domain}/${f.dataset}`;
    const d = datasets.get(id) ?? {
      domain: f.domain,
      dataset: f.dataset,
      files: 0,
      rows: { in: 0, out: 0, quarantined: 0, duplicates: 0 },
      quarantinedByReason: {},
      partitions: {},
    };
    d.files++;
    addRows(d.rows, f.rows);
    addCounts(d.quarantinedByReason, f.quarantinedByReason);
    addCounts(d.partitions, f.partitions);
    datasets.set(id, d);
  }
  const totals = { files: files.length, rows: { in: 0, out: 0, quarantined: 0, duplicates: 0 } };
  for (const f of files) addRows(totals.rows, f.rows);

  const deadLetters = cloud.deadLetters.map((d) => ({
    messageId: d.messageId,
    receiveCount: d.receiveCount,
    keys: keysInMessage(d.body),
    ...(d.lastError ? { lastError: d.lastError } : {}),
  }));
  const landingFailures = files
    .filter((f) => f.landing === 'failed')
    .map((f) => ({ path: f.path, error: f.landingError ?? 'unknown error' }));
  const ok =
    deadLetters.length === 0 && landingFailures.length === 0 && files.every((f) => f.conservation.ok);
  return {
    ok,
    files,
    datasets: [...datasets.keys()].sort().map((k) => datasets.get(k) as DatasetReport),
    totals,
    deadLetters,
    landingFailures,
    silverObjects,
  };
}

/** Every row of the file is accounted for, and what the manifest lists is really in silver. */
export function checkConservation(
  m: Manifest,
  silverKeys: ReadonlySet<string>,
): { ok: boolean; problems: string[] } {
  const problems: string[] = [];
  const { rows } = m;
  if (rows.in !== rows.out + rows.quarantined + rows.duplicates) {
    problems.push(
      `in ${rows.in} != out ${rows.out} + quarantined ${rows.quarantined} + duplicates ${rows.duplicates}`,
    );
  }
  const written = m.outputs.reduce((a, o) => a + o.rows, 0);
  if (written !== rows.out)
    problems.push(`silver files hold ${written} rows, the manifest says ${rows.out} out`);
  const byReason = Object.values(m.quarantinedByReason).reduce((a, n) => a + n, 0);
  if (byReason !== rows.quarantined) {
    problems.push(`quarantined by reason adds up to ${byReason}, not ${rows.quarantined}`);
  }
  if (rows.quarantined > 0 && m.quarantine?.rows !== undefined && m.quarantine.rows !== rows.quarantined) {
    problems.push(`the quarantine file holds ${m.quarantine.rows} rows, not ${rows.quarantined}`);
  }
  const missing = m.outputs.filter((o) => !silverKeys.has(o.key));
  if (missing.length > 0) problems.push(`missing from silver: ${missing.map((o) => o.key).join(', ')}`);
  return { ok: problems.length === 0, problems };
}

/** The human-readable summary printed after a run. */
export function formatSummary(r: PipelineReport): string[] {
  const lines: string[] = [''];
  const table: string[][] = [['dataset', 'files', 'rows in', 'out', 'quarantined', 'duplicates']];
  for (const d of r.datasets) {
    table.push([
      `${d.domain}/${d.dataset}`,
      ...[d.files, d.rows.in, d.rows.out, d.rows.quarantined, d.rows.duplicates].map(String),
    ]);
  }
  const t = r.totals.rows;
  table.push(['total', ...[r.totals.files, t.in, t.out, t.quarantined, t.duplicates].map(String)]);
  lines.push(...alignTable(table));

  lines.push('', 'quarantined rows by reason (column|rule):');
  for (const d of r.datasets) {
    const reasons = Object.entries(d.quarantinedByReason).sort(([a], [b]) => a.localeCompare(b));
    lines.push(
      `  ${d.domain}/${d.dataset}: ${reasons.length ? reasons.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}`,
    );
  }
  lines.push('', 'silver partitions (rows):');
  for (const d of r.datasets) {
    const parts = Object.entries(d.partitions).sort(([a], [b]) => a.localeCompare(b));
    lines.push(
      `  ${d.domain}/${d.dataset}: ${parts.length ? parts.map(([p, n]) => `dt=${p} (${n})`).join(', ') : 'none'}`,
    );
  }

  lines.push('', 'conservation per file (in = out + quarantined + duplicates, from silver _manifests/):');
  const fileRows = r.files.map((f) => {
    const x = f.rows;
    const equation = f.status === 'missing' ? '-' : `${x.in} = ${x.out} + ${x.quarantined} + ${x.duplicates}`;
    const notes = [
      f.landing === 'already-landed' ? 'already in bronze' : '',
      f.status === 'quarantined' ? `FILE QUARANTINED: ${f.reason ?? ''}` : '',
      ...f.conservation.problems,
    ].filter(Boolean);
    return [f.conservation.ok ? 'ok' : 'FAIL', f.path, `via ${f.door}`, equation, notes.join('; ')];
  });
  lines.push(...alignTable(fileRows, false).map((l) => `  ${l}`));

  lines.push('');
  if (r.deadLetters.length === 0) lines.push('dead-lettered messages: none');
  else {
    lines.push(`dead-lettered messages: ${r.deadLetters.length}`);
    for (const d of r.deadLetters) {
      lines.push(
        `  ${d.keys.join(', ') || d.messageId} after ${d.receiveCount} receives${d.lastError ? `: ${d.lastError}` : ''}`,
      );
    }
  }
  if (r.landingFailures.length > 0) {
    lines.push(`landing failures: ${r.landingFailures.length}`);
    for (const f of r.landingFailures) lines.push(`  ${f.path}: ${f.error}`);
  }
  if (!r.ok && r.functionLogs) lines.push(`function logs: ${shown(r.functionLogs)}`);
  if (r.gold) {
    const g = r.gold;
    lines.push('', `gold (execution ${g.executionName}): ${g.status}${g.error ? ` - ${g.error}` : ''}`);
    for (const [table, t] of Object.entries(g.tables)) {
      lines.push(`${table}: ${t.rows} row(s), published at ${t.location ?? '(never)'}`, ...t.preview);
    }
    if (g.alarms) lines.push(`alarms raised: ${g.alarms}`);
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const tm = r.timingsMs;
  const gold = tm.gold === undefined ? '' : `, gold ${s(tm.gold)}`;
  lines.push(
    `wall time ${s(tm.total)} (start ${s(tm.start)}, ingest ${s(tm.ingest)}, transform ${s(tm.transform)}${gold}, report ${s(tm.report)})`,
  );
  lines.push(r.ok ? 'OK' : 'FAILED');
  return lines;
}

function alignTable(rows: string[][], numeric = true): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (numeric && c > 0 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd(),
  );
}

function indexKey(input: InputFile): string {
  return bronzeContentIndexKey(input.contract.domain, input.contract.dataset, input.sha256);
}

async function readText(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await got.Body?.transformToString('utf8')) ?? '';
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

function isNotFound(e: unknown): boolean {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;
}

async function listKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.NextContinuationToken;
    } while (token);
  } catch (e) {
    if (!isNotFound(e)) throw e; // no such bucket: nothing to list
  }
  return keys.sort();
}

function keysInMessage(body: string): string[] {
  try {
    const event = JSON.parse(body) as { Records?: { s3: { object: { key: string } } }[] };
    return (event.Records ?? []).map((r) => decodeEventKey(r.s3.object.key));
  } catch {
    return [];
  }
}

function messageOf(body: string | undefined): string {
  try {
    return (JSON.parse(body ?? '') as { message?: string }).message ?? String(body);
  } catch {
    return String(body);
  }
}

function addRows(to: Rows, from: Rows): void {
  to.in += from.in;
  to.out += from.out;
  to.quarantined += from.quarantined;
  to.duplicates += from.duplicates;
}

function addCounts(to: Record<string, number>, from: Record<string, number>): void {
  for (const [k, n] of Object.entries(from)) to[k] = (to[k] ?? 0) + n;
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** A path as the user would like to read it: relative to the working directory when inside it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !rel.startsWith(sep) ? rel : path;
}
