/**
 * Bronze -> silver for one bronze object: the core of the transform Lambda, free of Lambda and SQS types.
 *
 *   spool (stream, gunzip with cap, UTF-8 check)  ->  header check  ->  DuckDB passes:
 *   1. count rows per rule broken  2. valid rows, de-duplicated, to partitioned Parquet  3. rejected rows to NDJSON
 *   ->  check the source is unchanged  ->  upload  ->  delete outputs an earlier run wrote that this one did
 *   not  ->  manifest (written last: it is the commit record).
 *
 * A problem with the file itself (`FileRejection`) quarantines the whole file and counts as done: retrying
 * cannot fix it. Anything else (S3, the engine running out of disk, the invocation's deadline) is thrown,
 * so the message is retried.
 *
 * A failed attempt rolls back. S3 makes each object atomic but not a set of them, and one bronze file
 * becomes several partition objects, so an attempt that fails half-way deletes the silver and quarantine
 * objects it wrote that no committed manifest lists (readers never see a partial file set). Objects a
 * manifest lists were overwritten with the same bytes: bronze is immutable and the transform deterministic.
 * What a rollback cannot cover (the process killed with no time left, or a write aborted on the client
 * that the server still applies) is covered by the retry, which writes the same keys again.
 */

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import type { ContractRegistry } from '../../core/contracts/load-contracts';
import { FileRejection, ObjectChangedError } from '../../core/errors';
import {
  failedReasonKey,
  manifestKey,
  quarantineFileKey,
  quarantineRowsKey,
  silverFileKey,
  sourceId,
} from '../../core/lake/layout';
import type { FailureReason, Manifest, OutputFile } from '../../core/lake/manifest';
import { sqlString } from '../../core/sql/quote';
import { Engine, queryRows } from './duckdb-engine';
import { spoolToFile } from './spool';
import { validateAndWrite } from './validate-and-write';

export interface TransformConfig {
  readonly silverBucket: string;
  readonly quarantineBucket: string;
  readonly scratchDir: string;
  readonly maxDecompressedBytes: number;
  readonly piiSalt: string;
}

export interface TransformDeps {
  readonly s3: S3Client;
  readonly engine: Engine;
  readonly contracts: ContractRegistry;
  readonly config: TransformConfig;
  readonly now?: () => Date;
}

export interface BronzeObject {
  readonly bucket: string;
  /** Decoded key. */
  readonly key: string;
  readonly versionId?: string;
  readonly eTag?: string;
  /** When the event says the object was created (to measure lag). */
  readonly eventTime?: string;
}

export interface ProcessOptions {
  /**
   * Aborted when the invocation must stop (its deadline is near): in-flight S3 calls and the engine are
   * interrupted, no further step starts, the attempt rolls back and `process` throws the signal's reason.
   */
  readonly signal?: AbortSignal;
}

/** Silver objects uploaded at once. */
const UPLOAD_CONCURRENCY = 4;

/** Files of this size or less go up in one PutObject; larger ones as a multipart upload. */
const PART_SIZE = 8 * 1024 * 1024;

/** The objects one attempt wrote (or tried to write), so a failed attempt can take them back. */
class Attempt {
  readonly written: { bucket: string; key: string }[] = [];
  /** The version and ETag of the bronze object this attempt read, once it has. */
  read: { versionId?: string; eTag?: string } | undefined;

  constructor(readonly signal: AbortSignal | undefined) {}

  /** Called between steps: once the deadline fired, nothing more starts. */
  check(): void {
    this.signal?.throwIfAborted();
  }

  /** Recorded before the write is sent: a write whose answer is lost may still have landed. */
  writing(bucket: string, key: string): void {
    this.written.push({ bucket, key });
  }
}

export class BronzeToSilver {
  private readonly now: () => Date;

  constructor(private readonly deps: TransformDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async process(obj: BronzeObject, options: ProcessOptions = {}): Promise<Manifest> {
    const { contracts } = this.deps;
    const contract = contracts.forKey(obj.key);
    if (!contract) {
      // Landing only writes keys of known datasets; anything else is not ours to read.
      throw new Error(`no data contract owns bronze key '${obj.key}'`);
    }
    const id = sourceId(obj.bucket, obj.key);
    const attempt = new Attempt(options.signal);
    attempt.check();
    const work = await mkdtemp(join(this.deps.config.scratchDir, 'b2s-'));
    const started = this.now();
    const timer = new Timer();
    let previous: Manifest | undefined;
    try {
      previous = await this.readManifest(contract, id, attempt.signal);
      let result: Omit<Manifest, 'startedAt' | 'finishedAt' | 'durationsMs' | 'engine'>;
      try {
        result = await this.transform(obj, contract, id, work, timer, attempt);
      } catch (err) {
        if (!(err instanceof FileRejection) || attempt.signal?.aborted) throw err;
        result = await this.quarantineFile(obj, contract, id, err, attempt);
      }
      const manifest: Manifest = {
        ...result,
        durationsMs: { ...timer.laps, total: timer.total() },
        startedAt: started.toISOString(),
        finishedAt: this.now().toISOString(),
        engine: `duckdb ${Engine.version}`,
      };
      // Stale outputs go before the new manifest is written: if a delete fails, the retry still reads the
      // previous manifest and so still knows which files to delete (deleting a missing key succeeds).
      attempt.check();
      await this.deleteStale(previous, manifest, attempt.signal);
      attempt.check();
      await this.putJson(
        this.deps.config.silverBucket,
        manifestKey(contract.domain, contract.dataset, id),
        manifest,
        attempt.signal,
      );
      return manifest;
    } catch (err) {
      // An interrupted engine or an aborted request says "aborted"; the deadline is the reason worth telling.
      const reason = attempt.signal?.aborted ? attempt.signal.reason : err;
      await this.rollBack(obj, contract, id, previous, attempt, reason);
      throw reason;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /**
   * Records why `obj` keeps failing, on the last receive before SQS dead-letters its message (the
   * dead-letter queue keeps the message, not the error). Best effort: never throws.
   */
  async recordFailure(obj: BronzeObject, error: unknown, attempts: number): Promise<string | undefined> {
    const contract = this.deps.contracts.forKey(obj.key);
    // A key no contract owns still gets a reason, under the first two segments of its key.
    const [domain = 'unknown', dataset = 'unknown'] = contract
      ? [contract.domain, contract.dataset]
      : obj.key.split('/');
    const key = failedReasonKey(domain, dataset, sourceId(obj.bucket, obj.key));
    const reason: FailureReason = {
      error: error instanceof Error ? error.message : String(error),
      attempts,
      sourceBucket: obj.bucket,
      sourceKey: obj.key,
      failedAt: this.now().toISOString(),
    };
    try {
      await this.putJson(this.deps.config.quarantineBucket, key, reason);
      return key;
    } catch (e) {
      console.error(
        JSON.stringify({
          level: 'ERROR',
          message: 'could not record why the message is dead-lettered',
          key: obj.key,
          reasonKey: key,
          error: e instanceof Error ? e.message : String(e),
        }),
      );
      return undefined;
    }
  }

  /**
   * Deletes what a failed attempt wrote, except the objects a committed manifest lists: the one read at the
   * start, and the one there now (a concurrent run may have committed, or this attempt's own manifest may
   * have landed although its answer was lost). Best effort: what it cannot delete, the retry overwrites.
   */
  private async rollBack(
    obj: BronzeObject,
    contract: DatasetContract,
    id: string,
    previous: Manifest | undefined,
    attempt: Attempt,
    cause: unknown,
  ): Promise<void> {
    if (attempt.written.length === 0) return;
    let committed: Manifest | undefined;
    try {
      committed = await this.readManifest(contract, id);
    } catch (e) {
      // Without knowing what is committed, deleting could remove listed outputs: leave it to the retry.
      console.warn(
        JSON.stringify({
          level: 'WARN',
          message: 'rollback skipped: the manifest cannot be read',
          key: obj.key,
          error: e instanceof Error ? e.message : String(e),
        }),
      );
      return;
    }
    const silver = this.deps.config.silverBucket;
    const listed = new Set([...listedObjects(previous, silver), ...listedObjects(committed, silver)]);
    const deleted: string[] = [];
    const seen = new Set<string>();
    for (const w of attempt.written) {
      const ref = `${w.bucket}/${w.key}`;
      if (listed.has(ref) || seen.has(ref)) continue;
      seen.add(ref);
      try {
        await this.deps.s3.send(new DeleteObjectCommand({ Bucket: w.bucket, Key: w.key }));
        deleted.push(ref);
      } catch (e) {
        console.warn(
          JSON.stringify({
            level: 'WARN',
            message: 'rollback could not delete an object; the retry overwrites it',
            object: ref,
            error: e instanceof Error ? e.message : String(e),
          }),
        );
      }
    }
    console.warn(
      JSON.stringify({
        level: 'WARN',
        message: 'failed attempt rolled back',
        key: obj.key,
        deleted,
        error: cause instanceof Error ? cause.message : String(cause),
      }),
    );
  }

  private async transform(
    obj: BronzeObject,
    contract: DatasetContract,
    id: string,
    work: string,
    timer: Timer,
    attempt: Attempt,
  ): Promise<Omit<Manifest, 'startedAt' | 'finishedAt' | 'durationsMs' | 'engine'>> {
    const { s3, engine, config } = this.deps;
    const { signal } = attempt;
    const local = join(work, 'source');
    // The current object, whatever version the event named: a late event for an older version then
    // re-processes the newest data instead of bringing old data back.
    const got = await s3.send(new GetObjectCommand({ Bucket: obj.bucket, Key: obj.key }), {
      abortSignal: signal,
    });
    const spooled = await spoolToFile(
      got.Body as AsyncIterable<Uint8Array>,
      local,
      config.maxDecompressedBytes,
      contract.source,
    );
    timer.lap('spool');
    attempt.check();
    if (spooled.bytes === 0) throw new FileRejection('empty', 'the file is empty');
    const receivedAt = got.Metadata?.['received-at'];
    const lineage = {
      bronzeKey: obj.key,
      ingestedAt:
        receivedAt && !Number.isNaN(Date.parse(receivedAt))
          ? new Date(receivedAt)
          : (got.LastModified ?? this.now()),
      piiSalt: config.piiSalt,
    };
    const readETag = unquote(got.ETag);
    attempt.read = { versionId: got.VersionId, eTag: readETag };
    // What was actually read, not what the event said: with two versions of a key they differ.
    const source = {
      bucket: obj.bucket,
      key: obj.key,
      versionId: got.VersionId ?? obj.versionId,
      eTag: readETag ?? obj.eTag,
      sha256: spooled.sha256,
      storedBytes: spooled.storedBytes,
      bytes: spooled.bytes,
      gzip: spooled.gzip,
    };

    return engine.withConnection(async (conn) => {
      // The deadline interrupts a long query; validateAndWrite then throws and the attempt rolls back.
      const interrupt = () => conn.interrupt();
      signal?.addEventListener('abort', interrupt, { once: true });
      let run: Awaited<ReturnType<typeof validateAndWrite>>;
      try {
        run = await validateAndWrite(conn, contract, local, lineage, {
          workDir: work,
          sourceKey: obj.key,
          lap: (name) => timer.lap(name),
        });
      } finally {
        signal?.removeEventListener('abort', interrupt);
      }
      attempt.check();
      await this.checkSourceUnchanged(obj, readETag, signal);
      const outputs = await this.uploadSilver(conn, contract, id, run.outDir, run.files, attempt);
      timer.lap('upload');
      let quarantine: Manifest['quarantine'];
      if (run.quarantineFile) {
        const key = quarantineRowsKey(contract.domain, contract.dataset, id);
        attempt.check();
        await this.uploadFile(
          config.quarantineBucket,
          key,
          run.quarantineFile,
          'application/x-ndjson',
          attempt,
        );
        quarantine = { bucket: config.quarantineBucket, key, rows: run.quarantined };
        timer.lap('quarantine');
      }
      const { valid, quarantined, byReason } = run;
      const rowsIn = valid + quarantined;
      const out = outputs.reduce((a, o) => a + o.rows, 0);
      return {
        manifestVersion: 1 as const,
        status: 'ok' as const,
        domain: contract.domain,
        dataset: contract.dataset,
        source,
        rows: { in: rowsIn, out, quarantined, duplicates: valid - out },
        quarantinedByReason: byReason,
        outputs,
        quarantine,
      };
    });
  }

  private async uploadSilver(
    conn: DuckDBConnection,
    contract: DatasetContract,
    id: string,
    outDir: string,
    files: string[],
    attempt: Attempt,
  ): Promise<OutputFile[]> {
    const perPartition = new Map<string, number>();
    const planned: { file: string; key: string; partition: string; rows: number }[] = [];
    for (const file of [...files].sort()) {
      const rel = relative(outDir, file).split(sep);
      const partition = (rel[0] ?? '').replace(/^dt=/, '');
      const n = perPartition.get(partition) ?? 0;
      perPartition.set(partition, n + 1);
      // One file per partition is the norm; a second one (very large partitions) gets a suffix.
      const fileId = n === 0 ? id : `${id}-${n}`;
      const key = silverFileKey(contract.domain, contract.dataset, partition, fileId);
      planned.push({ file, key, partition, rows: await parquetRows(conn, file) });
    }
    // A few uploads at once: one file per partition makes many small objects, and each PUT mostly waits.
    // After a failure no new upload starts, and the error is thrown only once the others have settled, so
    // the rollback never races with a write still in flight.
    const outputs: OutputFile[] = new Array(planned.length);
    let next = 0;
    let failed: { error: unknown } | undefined;
    const uploader = async (): Promise<void> => {
      for (let i = next++; i < planned.length && !failed; i = next++) {
        const p = planned[i] as (typeof planned)[number];
        try {
          attempt.check();
          const { sha256, bytes } = await this.uploadFile(
            this.deps.config.silverBucket,
            p.key,
            p.file,
            'application/vnd.apache.parquet',
            attempt,
          );
          outputs[i] = { key: p.key, partition: p.partition, rows: p.rows, bytes, sha256 };
        } catch (error) {
          failed ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(UPLOAD_CONCURRENCY, planned.length) }, uploader));
    if (failed) throw failed.error;
    return outputs;
  }

  private async quarantineFile(
    obj: BronzeObject,
    contract: DatasetContract,
    id: string,
    err: FileRejection,
    attempt: Attempt,
  ): Promise<Omit<Manifest, 'startedAt' | 'finishedAt' | 'durationsMs' | 'engine'>> {
    const { s3, config } = this.deps;
    const name = obj.key.split('/').pop() as string;
    const key = quarantineFileKey(contract.domain, contract.dataset, id, name);
    attempt.check();
    attempt.writing(config.quarantineBucket, key);
    await s3.send(
      new CopyObjectCommand({
        Bucket: config.quarantineBucket,
        Key: key,
        CopySource: `${obj.bucket}/${encodeURIComponent(obj.key).replace(/%2F/g, '/')}`,
        MetadataDirective: 'REPLACE',
        Metadata: { reason: err.code, 'source-key': encodeURIComponent(obj.key) },
      }),
      { abortSignal: attempt.signal },
    );
    attempt.check();
    attempt.writing(config.quarantineBucket, `${key}.reason.json`);
    await this.putJson(
      config.quarantineBucket,
      `${key}.reason.json`,
      {
        reason: err.message,
        reasonCode: err.code,
        sourceBucket: obj.bucket,
        sourceKey: obj.key,
        quarantinedAt: this.now().toISOString(),
      },
      attempt.signal,
    );
    console.warn(
      JSON.stringify({ level: 'WARN', message: 'file quarantined', key: obj.key, reason: err.message }),
    );
    return {
      manifestVersion: 1,
      status: 'quarantined',
      reason: err.message,
      reasonCode: err.code,
      domain: contract.domain,
      dataset: contract.dataset,
      source: {
        bucket: obj.bucket,
        key: obj.key,
        versionId: attempt.read?.versionId ?? obj.versionId,
        eTag: attempt.read?.eTag ?? obj.eTag,
      },
      rows: { in: 0, out: 0, quarantined: 0, duplicates: 0 },
      quarantinedByReason: {},
      outputs: [],
      quarantine: { bucket: config.quarantineBucket, key },
    };
  }

  /**
   * Guards the race where a slow run read an older version of the key and would commit after a run that
   * read the newer one: just before uploading, the object must still be the one that was read.
   */
  private async checkSourceUnchanged(
    obj: BronzeObject,
    readETag: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (readETag === undefined) return;
    const head = await this.deps.s3.send(new HeadObjectCommand({ Bucket: obj.bucket, Key: obj.key }), {
      abortSignal: signal,
    });
    const now = unquote(head.ETag);
    if (now !== readETag) {
      throw new ObjectChangedError(
        `source changed while transforming; retry (s3://${obj.bucket}/${obj.key}: read ETag ${readETag}, now ${now})`,
      );
    }
  }

  private async readManifest(
    contract: DatasetContract,
    id: string,
    signal?: AbortSignal,
  ): Promise<Manifest | undefined> {
    try {
      const got = await this.deps.s3.send(
        new GetObjectCommand({
          Bucket: this.deps.config.silverBucket,
          Key: manifestKey(contract.domain, contract.dataset, id),
        }),
        { abortSignal: signal },
      );
      return JSON.parse(
        await (got.Body as { transformToString(): Promise<string> }).transformToString(),
      ) as Manifest;
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  /** A re-run that produced fewer partitions (or a file now quarantined) must not leave old files readable. */
  private async deleteStale(
    previous: Manifest | undefined,
    current: Manifest,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (!previous) return;
    const keep = new Set(current.outputs.map((o) => o.key));
    const stale = previous.outputs.filter((o) => !keep.has(o.key));
    if (previous.quarantine?.rows !== undefined && current.quarantine?.key !== previous.quarantine.key) {
      stale.push({ key: previous.quarantine.key, partition: '', rows: 0, bytes: 0, sha256: '' });
    }
    for (const o of stale) {
      const bucket = o.partition === '' ? this.deps.config.quarantineBucket : this.deps.config.silverBucket;
      await this.deps.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.key }), {
        abortSignal: signal,
      });
    }
  }

  private async putJson(bucket: string, key: string, body: unknown, signal?: AbortSignal): Promise<void> {
    await this.deps.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: `${JSON.stringify(body, null, 2)}\n`,
        ContentType: 'application/json',
      }),
      { abortSignal: signal },
    );
  }

  /**
   * Sends a local file to S3 with its SHA-256 in the object's metadata: one PutObject up to `PART_SIZE`,
   * a multipart upload beyond. The single put is sent with the deadline's signal and awaited, so an
   * aborted put is over (failed, or landed and then rolled back) before the rollback runs.
   */
  private async uploadFile(
    bucket: string,
    key: string,
    file: string,
    contentType: string,
    attempt: Attempt,
  ): Promise<{ sha256: string; bytes: number }> {
    const sha256 = await sha256File(file);
    const { size } = await stat(file);
    const params = { Bucket: bucket, Key: key, ContentType: contentType, Metadata: { sha256 } };
    attempt.writing(bucket, key);
    if (size <= PART_SIZE) {
      await this.deps.s3.send(
        new PutObjectCommand({ ...params, Body: await readFile(file), ContentLength: size }),
        { abortSignal: attempt.signal },
      );
      return { sha256, bytes: size };
    }
    // An aborted multipart upload is never completed (lib-storage checks before CompleteMultipartUpload)
    // and its parts are aborted; a completion already in flight is the retry's to overwrite.
    const abortController = new AbortController();
    const abort = () => abortController.abort();
    attempt.signal?.addEventListener('abort', abort, { once: true });
    try {
      await new Upload({
        client: this.deps.s3,
        params: { ...params, Body: createReadStream(file) },
        partSize: PART_SIZE,
        queueSize: 2,
        abortController,
      }).done();
    } finally {
      attempt.signal?.removeEventListener('abort', abort);
    }
    return { sha256, bytes: size };
  }
}

/** The silver and quarantine objects a manifest lists, as '<bucket>/<key>'. */
function listedObjects(m: Manifest | undefined, silverBucket: string): string[] {
  if (!m) return [];
  const listed = m.outputs.map((o) => `${silverBucket}/${o.key}`);
  if (m.quarantine) {
    listed.push(`${m.quarantine.bucket}/${m.quarantine.key}`);
    // A file quarantined whole has its reason next to it.
    if (m.status === 'quarantined') listed.push(`${m.quarantine.bucket}/${m.quarantine.key}.reason.json`);
  }
  return listed;
}

function unquote(eTag: string | undefined): string | undefined {
  return eTag?.replace(/"/g, '');
}

/** Row count from the Parquet footer. */
async function parquetRows(conn: DuckDBConnection, file: string): Promise<number> {
  const rows = await queryRows<{ n: bigint }>(
    conn,
    `SELECT num_rows AS n FROM parquet_file_metadata(${sqlString(file)})`,
  );
  return Number(rows[0]?.n ?? 0);
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

class Timer {
  private readonly start = Date.now();
  private last = this.start;
  readonly laps: Record<string, number> = {};

  lap(name: string): void {
    const t = Date.now();
    this.laps[name] = t - this.last;
    this.last = t;
  }

  total(): number {
    return Date.now() - this.start;
  }
}
