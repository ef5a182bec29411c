/**
 * The report of a `medallion pipeline` run: what each input file became, read back from the lake after
 * the run (the bronze content index, the silver manifests), summed per dataset and in total.
 */

import type { S3Client } from '@aws-sdk/client-s3';
import { bronzeContentIndexKey, decodeEventKey, manifestKey, sourceId } from '../../core/lake/layout';
import type { Manifest } from '../../core/lake/manifest';
import { isNotFound, listKeys, readObjectText, recoverWhen } from '../../lambdas/aws/s3';
import { parseManifest } from '../../lambdas/bronze-to-silver/manifest-store';
import type { LocalCloud } from '../cloud/local-cloud';
import type { GoldFailure } from '../gold/gold-failures';
import { checkConservation } from './conservation';

/** How a file is ingested: uploaded to the landing bucket, or POSTed to the ingest API. */
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
  /** The manifest's status; `missing` when no manifest was found, or none that can be read. */
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
  /**
   * What AWS would have alarmed on, one line each: the template's alarms in ALARM on the run's metrics
   * (`QuarantineRatio-stores 50% > 5%`), then the gold workflow's own, by subject (`medallion gold: model daily_sales failed`).
   * Any makes the run not `ok`. See local/monitoring/.
   */
  wouldAlarm?: string[];
  /** Every alarm of the template, evaluated on the run's metrics (NOT_EVALUATED ones say why). */
  alarmStates?: { alarmId: string; state: string; line: string }[];
  /**
   * The data products' SLIs on this run and what their SLO alarms would do (`local/monitoring/
   * product-slis.ts`); an SLO that would page or open a ticket makes the run not `ok`.
   */
  slos?: {
    product: string;
    sli: string;
    value?: number;
    objective: number;
    burnRate?: number;
    alert: string;
    line: string;
  }[];
  timingsMs: {
    start: number;
    ingest: number;
    transform: number;
    gold?: number;
    /** Evaluating the alarms (a first run on a state synthesizes the template for them). */
    alarms?: number;
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
  /** When the run did nothing because other runs were in progress (single flight): their names. */
  skipped?: string[];
  /** Per gold table: where the catalog publishes it and how many rows it has there. */
  tables: Record<
    string,
    {
      /** Where the catalog publishes the table now (this run's version or an earlier one). */
      location?: string;
      /** Whether this run published a new version (false: the model failed or did not run). */
      publishedNow?: boolean;
      /** The tables its model reads (its lineage, from the catalog). */
      sources?: string[];
      rows: number;
      bytesRead?: number;
      /** An incremental model's run: full, incremental or unchanged, why, and how many dates it recomputed. */
      plan?: { mode: string; reason: string; dates: number };
      preview: string[];
    }
  >;
  /**
   * Per dataset (`<domain>/<dataset>`): the keys its current-state table holds and the versions its history
   * holds, once the workflow merged (absent when the table could not be read).
   */
  currentState: Record<string, { keys: number; versions: number }>;
  alarms: number;
  /** The subject of each alarm the workflow published to the alarm topic (what its subscribers receive). */
  alarmSubjects: string[];
  /** The models that failed: the engine's error, and the file and line it points at. */
  failures: GoldFailure[];
}

/** The part of the report read back from the lake once everything settled. */
export type LakeReport = Pick<
  PipelineReport,
  'ok' | 'files' | 'datasets' | 'totals' | 'deadLetters' | 'landingFailures' | 'silverObjects'
>;

/** The file's report before anything is known of its fate: nothing counted yet, no manifest. */
export function pendingFileReport(
  file: Pick<FileReport, 'path' | 'domain' | 'dataset' | 'door' | 'bytes' | 'sha256' | 'landing'>,
): FileReport {
  return {
    ...file,
    status: 'missing',
    rows: emptyRows(),
    quarantinedByReason: {},
    partitions: {},
    conservation: { ok: false, problems: [] },
  };
}

/** What the report reads of the local cloud once it settled: its buckets and the messages it gave up on. */
export type SettledCloud = Pick<LocalCloud, 's3' | 'buckets' | 'deadLetters'>;

/** Completes each file's report from the lake (the bronze content index, its manifest), then sums them up. */
export async function buildReport(cloud: SettledCloud, files: FileReport[]): Promise<LakeReport> {
  const silverObjects = await keysOrNone(cloud.s3, cloud.buckets.silver);
  const silver = new Set(silverObjects);
  for (const file of files) {
    if (file.landing === 'failed') {
      file.conservation = { ok: false, problems: ['the file did not land'] };
      continue;
    }
    const indexKey = bronzeContentIndexKey(file.domain, file.dataset, file.sha256);
    const bronzeKey = await readObjectText(cloud.s3, cloud.buckets.bronze, indexKey);
    if (bronzeKey === undefined) {
      file.conservation = { ok: false, problems: ['no bronze object holds these bytes'] };
      continue;
    }
    file.bronzeKey = bronzeKey;
    file.manifestKey = manifestKey(file.domain, file.dataset, sourceId(cloud.buckets.bronze, bronzeKey));
    const text = await readObjectText(cloud.s3, cloud.buckets.silver, file.manifestKey);
    if (text === undefined) {
      file.conservation = {
        ok: false,
        problems: [`no manifest ${file.manifestKey}: the file never reached silver`],
      };
      continue;
    }
    // An unreadable manifest counts as none, as the transform takes it (and replaces it on a re-run).
    const manifest = parseManifest(text);
    if (typeof manifest === 'string') {
      file.conservation = {
        ok: false,
        problems: [`unreadable manifest ${file.manifestKey} (${manifest}): taken as none`],
      };
      continue;
    }
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
      rows: emptyRows(),
      quarantinedByReason: {},
      partitions: {},
    };
    d.files++;
    addRows(d.rows, f.rows);
    addCounts(d.quarantinedByReason, f.quarantinedByReason);
    addCounts(d.partitions, f.partitions);
    datasets.set(id, d);
  }
  const totals = { files: files.length, rows: emptyRows() };
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

/** No such bucket: nothing to list. */
function keysOrNone(s3: S3Client, bucket: string): Promise<string[]> {
  return recoverWhen(listKeys(s3, bucket), isNotFound, []);
}

function keysInMessage(body: string): string[] {
  try {
    const event = JSON.parse(body) as { Records?: { s3: { object: { key: string } } }[] };
    return (event.Records ?? []).map((r) => decodeEventKey(r.s3.object.key));
  } catch {
    return [];
  }
}

function emptyRows(): Rows {
  return { in: 0, out: 0, quarantined: 0, duplicates: 0 };
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
