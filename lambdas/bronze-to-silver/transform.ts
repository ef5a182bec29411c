/**
 * Bronze -> silver for one bronze object: the core of the transform Lambda, free of Lambda and SQS types.
 *
 *   spool (stream, gunzip with cap, UTF-8 check)  ->  header check  ->  DuckDB passes:
 *   1. count rows per rule broken  2. valid rows, de-duplicated, to partitioned Parquet  3. rejected rows to NDJSON
 *   ->  check the source is unchanged  ->  upload  ->  delete outputs an earlier run wrote that this one did
 *   not  ->  manifest (written last and conditionally: it is the commit record, see `manifest-store.ts`).
 *
 * A problem with the file itself (`FileRejection`) quarantines the whole file and counts as done: retrying
 * cannot fix it. Anything else (S3, the engine running out of disk, the invocation's deadline) is thrown,
 * so the message is retried.
 *
 * A failed attempt rolls back (see `attempt.ts`): it deletes the silver and quarantine objects it wrote that
 * no committed manifest lists. What a rollback cannot cover (the process killed with no time left, or a
 * write aborted on the client that the server still applies) is covered by the retry, which writes the same
 * keys again.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { contractHash } from '../../core/contracts/contract-hash';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import type { ContractRegistry } from '../../core/contracts/load-contracts';
import { FileRejection, ObjectChangedError } from '../../core/errors';
import { quarantineRowsKey, sourceId } from '../../core/lake/layout';
import type { Manifest } from '../../core/lake/manifest';
import { createLogger, type Logger } from '../../core/telemetry/logger';
import { unquoteETag } from '../aws/s3';
import { Attempt } from './attempt';
import type { BronzeObject } from './bronze-object';
import { Engine } from './duckdb-engine';
import { type FailureReasonDeps, recordFailureReason } from './failure-reason';
import { type FileQuarantineDeps, quarantineWholeFile } from './file-quarantine';
import { type ManifestOutcome, ManifestStore } from './manifest-store';
import { uploadFile, uploadSilver } from './silver-upload';
import { checkSourceUnchanged } from './source-check';
import { spoolToFile } from './spool';
import { statedRowCount } from './stated-rows';
import { Timer } from './timer';
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
  /** Where rollbacks, quarantined files and unrecorded failures are logged; default: the console. */
  readonly logger?: Logger;
}

export interface ProcessOptions {
  /**
   * Aborted when the invocation must stop (its deadline is near): in-flight S3 calls and the engine are
   * interrupted, no further step starts, the attempt rolls back and `process` throws the signal's reason.
   */
  readonly signal?: AbortSignal;
}

export class BronzeToSilver {
  private readonly now: () => Date;
  private readonly logger: Logger;
  private readonly manifests: ManifestStore;
  /** What writing records to the quarantine bucket needs (whole files, dead-letter reasons). */
  private readonly quarantineWriter: FileQuarantineDeps & FailureReasonDeps;

  constructor(private readonly deps: TransformDeps) {
    this.now = deps.now ?? (() => new Date());
    this.logger = deps.logger ?? createLogger();
    this.manifests = new ManifestStore(deps.s3, deps.config);
    this.quarantineWriter = {
      s3: deps.s3,
      quarantineBucket: deps.config.quarantineBucket,
      now: this.now,
      logger: this.logger,
    };
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
      const stored = await this.manifests.read(contract, id, attempt.signal);
      if (stored.problem) {
        this.logger.warn('unreadable manifest taken as absent: the file is transformed again', {
          key: obj.key,
          manifestKey: stored.key,
          problem: stored.problem,
        });
      }
      previous = stored.manifest;
      let result: ManifestOutcome;
      try {
        result = await this.transform(obj, contract, id, work, timer, attempt);
      } catch (err) {
        if (!(err instanceof FileRejection) || attempt.signal?.aborted) throw err;
        result = await quarantineWholeFile(this.quarantineWriter, obj, contract, id, err, attempt);
      }
      const manifest: Manifest = {
        ...result,
        // The contract this file was transformed under: a later run can tell silver built under another.
        contractHash: contractHash(contract),
        durationsMs: { ...timer.laps, total: timer.total() },
        startedAt: started.toISOString(),
        finishedAt: this.now().toISOString(),
        engine: `duckdb ${Engine.version}`,
      };
      // Stale outputs go before the new manifest is written: if a delete fails, the retry still reads the
      // previous manifest and so still knows which files to delete (deleting a missing key succeeds).
      attempt.check();
      await this.manifests.deleteStale(previous, manifest, attempt.signal);
      attempt.check();
      // Replaces exactly what was read (a broken manifest included), or creates: never a manifest another
      // attempt committed since.
      const won = await this.manifests.write(contract, id, manifest, stored.etag, attempt.signal);
      const committed = won ? manifest : await this.committedMeanwhile(contract, id, manifest, attempt);
      // Another attempt's manifest: it logged its commit itself.
      if (committed !== manifest) return committed;
      attempt.check();
      await this.manifests.logCommit(contract, id, manifest, this.now(), attempt.signal, previous);
      return manifest;
    } catch (err) {
      // An interrupted engine or an aborted request says "aborted"; the deadline is the reason worth telling.
      const reason = attempt.signal?.aborted ? attempt.signal.reason : err;
      await attempt.rollBack(
        {
          s3: this.deps.s3,
          silverBucket: this.deps.config.silverBucket,
          logger: this.logger,
          readCommitted: async () => {
            const committed = await this.manifests.read(contract, id);
            // What an unreadable manifest lists is unknown: the rollback then deletes nothing.
            if (committed.problem) throw new Error(`${committed.key} is unreadable: ${committed.problem}`);
            return committed.manifest;
          },
        },
        obj.key,
        previous,
        reason,
      );
      throw reason;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /**
   * After this attempt's manifest lost its write condition (412): another attempt of the same object
   * committed since this one read the manifest. Returns the manifest to answer with:
   *  - `mine` itself when the committed manifest is this attempt's own (its write landed, the answer was
   *    lost and the SDK's retry of it met the condition it had just made false): the commit goes on;
   *  - the winner's manifest when it was made from the same bronze bytes: then it lists the same outputs,
   *    under the same keys (silver keys are deterministic per source id and partition) and with the same
   *    bytes (the transform is deterministic), so this attempt's uploads only rewrote the winner's files
   *    as they were. Nothing is overwritten, rolled back or logged again: the winner logged the commit.
   * A winner made from other bytes (another version of the key) throws `ObjectChangedError`: the retry
   * reads the winner's manifest as the previous one and reconciles its outputs.
   */
  private async committedMeanwhile(
    contract: DatasetContract,
    id: string,
    mine: Manifest,
    attempt: Attempt,
  ): Promise<Manifest> {
    const committed = await this.manifests.read(contract, id, attempt.signal);
    const winner = committed.manifest;
    if (winner && JSON.stringify(winner) === JSON.stringify(mine)) return mine;
    if (winner && sameBronzeBytes(winner.source, mine.source)) {
      this.logger.info('another attempt committed this object first; its manifest stands', {
        key: mine.source.key,
        manifestKey: committed.key,
        committedAt: winner.finishedAt,
      });
      return winner;
    }
    throw new ObjectChangedError(
      `another attempt committed ${committed.key} meanwhile, ` +
        `${winner ? 'from other bytes of the source' : `unreadable (${committed.problem ?? 'gone'})`}; retry`,
    );
  }

  /**
   * Records why `obj` keeps failing, on the last receive before SQS dead-letters its message (the
   * dead-letter queue keeps the message, not the error). Best effort: never throws.
   */
  async recordFailure(obj: BronzeObject, error: unknown, attempts: number): Promise<string | undefined> {
    const contract = this.deps.contracts.forKey(obj.key);
    return recordFailureReason(this.quarantineWriter, obj, contract, error, attempts);
  }

  private async transform(
    obj: BronzeObject,
    contract: DatasetContract,
    id: string,
    work: string,
    timer: Timer,
    attempt: Attempt,
  ): Promise<ManifestOutcome> {
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
    // Before the engine reads the file: a trailer line is removed here.
    const expectedRows = await statedRowCount(local, contract.source, got.Metadata);
    const receivedAt = got.Metadata?.['received-at'];
    const lineage = {
      bronzeKey: obj.key,
      ingestedAt:
        receivedAt && !Number.isNaN(Date.parse(receivedAt))
          ? new Date(receivedAt)
          : (got.LastModified ?? this.now()),
      piiSalt: config.piiSalt,
    };
    const readETag = unquoteETag(got.ETag);
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
      await checkSourceUnchanged(s3, obj, readETag, signal);
      const silver = { s3, bucket: config.silverBucket };
      const outputs = await uploadSilver(silver, conn, contract, id, run.outDir, run.files, attempt);
      timer.lap('upload');
      let quarantine: Manifest['quarantine'];
      if (run.quarantineFile) {
        const key = quarantineRowsKey(contract.domain, contract.dataset, id);
        attempt.check();
        await uploadFile(
          { s3, bucket: config.quarantineBucket },
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
        ...(expectedRows === undefined ? {} : { expectedRows }),
        rows: { in: rowsIn, out, quarantined, duplicates: valid - out },
        quarantinedByReason: byReason,
        outputs,
        quarantine,
      };
    });
  }
}

/** Whether two manifests were made from the same bronze bytes: same SHA-256, or (without one) same ETag. */
function sameBronzeBytes(a: Manifest['source'], b: Manifest['source']): boolean {
  if (a.bucket !== b.bucket || a.key !== b.key) return false;
  if (a.sha256 !== undefined && b.sha256 !== undefined) return a.sha256 === b.sha256;
  return a.eTag !== undefined && a.eTag === b.eTag;
}
