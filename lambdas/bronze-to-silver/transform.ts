/**
 * Bronze -> silver for one bronze object: the core of the transform Lambda, free of Lambda and SQS types.
 *
 *   spool (stream, gunzip with cap, UTF-8 check)  ->  header check  ->  DuckDB passes:
 *   1. count rows per rule broken  2. valid rows, de-duplicated, to partitioned Parquet  3. rejected rows to NDJSON
 *   ->  upload  ->  delete outputs an earlier run wrote that this one did not  ->  manifest (written last).
 *
 * A problem with the file itself (`FileRejection`) quarantines the whole file and counts as done: retrying
 * cannot fix it. Anything else (S3, the engine running out of disk) is thrown, so the message is retried.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ContractRegistry, DatasetContract } from '../shared/dataset-contract';
import { Engine, queryRows } from '../shared/duckdb-engine';
import {
  manifestKey,
  quarantineFileKey,
  quarantineRowsKey,
  silverFileKey,
  sourceId,
} from '../shared/object-keys';
import { sqlString } from './silver-sql';
import { FileRejection, spoolToFile } from './spool';
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

export interface OutputFile {
  readonly key: string;
  readonly partition: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}

export interface Manifest {
  readonly manifestVersion: 1;
  readonly status: 'ok' | 'quarantined';
  /** For a quarantined file: why, in one line. */
  readonly reason?: string;
  readonly reasonCode?: FileRejection['code'];
  readonly domain: string;
  readonly dataset: string;
  readonly source: {
    bucket: string;
    key: string;
    versionId?: string;
    eTag?: string;
    sha256?: string;
    storedBytes?: number;
    bytes?: number;
    gzip?: boolean;
  };
  /** Always: in = out + quarantined + duplicates. */
  readonly rows: { in: number; out: number; quarantined: number; duplicates: number };
  /** Quarantined rows by '<column>|<rule>' ('parse' for rows that could not be split into fields). */
  readonly quarantinedByReason: Record<string, number>;
  readonly outputs: OutputFile[];
  readonly quarantine?: { bucket: string; key: string; rows?: number };
  readonly durationsMs: Record<string, number>;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly engine: string;
}

export class BronzeToSilver {
  private readonly now: () => Date;

  constructor(private readonly deps: TransformDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async process(obj: BronzeObject): Promise<Manifest> {
    const { contracts } = this.deps;
    const contract = contracts.forKey(obj.key);
    if (!contract) {
      // Landing only writes keys of known datasets; anything else is not ours to read.
      throw new Error(`no data contract owns bronze key '${obj.key}'`);
    }
    const id = sourceId(obj.bucket, obj.key);
    const work = await mkdtemp(join(this.deps.config.scratchDir, 'b2s-'));
    const started = this.now();
    const timer = new Timer();
    try {
      const previous = await this.readManifest(contract, id);
      let result: Omit<Manifest, 'startedAt' | 'finishedAt' | 'durationsMs' | 'engine'>;
      try {
        result = await this.transform(obj, contract, id, work, timer);
      } catch (err) {
        if (!(err instanceof FileRejection)) throw err;
        result = await this.quarantineFile(obj, contract, id, err);
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
      await this.deleteStale(previous, manifest);
      await this.putJson(
        this.deps.config.silverBucket,
        manifestKey(contract.domain, contract.dataset, id),
        manifest,
      );
      return manifest;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  private async transform(
    obj: BronzeObject,
    contract: DatasetContract,
    id: string,
    work: string,
    timer: Timer,
  ): Promise<Omit<Manifest, 'startedAt' | 'finishedAt' | 'durationsMs' | 'engine'>> {
    const { s3, engine, config } = this.deps;
    const local = join(work, 'source');
    const got = await s3.send(new GetObjectCommand({ Bucket: obj.bucket, Key: obj.key }));
    const spooled = await spoolToFile(
      got.Body as AsyncIterable<Uint8Array>,
      local,
      config.maxDecompressedBytes,
    );
    timer.lap('spool');
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
    const source = {
      bucket: obj.bucket,
      key: obj.key,
      versionId: obj.versionId ?? got.VersionId,
      eTag: obj.eTag ?? got.ETag?.replace(/"/g, ''),
      sha256: spooled.sha256,
      storedBytes: spooled.storedBytes,
      bytes: spooled.bytes,
      gzip: spooled.gzip,
    };

    return engine.withConnection(async (conn) => {
      const run = await validateAndWrite(conn, contract, local, lineage, {
        workDir: work,
        sourceKey: obj.key,
        lap: (name) => timer.lap(name),
      });
      const outputs = await this.uploadSilver(conn, contract, id, run.outDir, run.files);
      timer.lap('upload');
      let quarantine: Manifest['quarantine'];
      if (run.quarantineFile) {
        const key = quarantineRowsKey(contract.domain, contract.dataset, id);
        await this.uploadFile(config.quarantineBucket, key, run.quarantineFile, 'application/x-ndjson');
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
  ): Promise<OutputFile[]> {
    const perPartition = new Map<string, number>();
    const outputs: OutputFile[] = [];
    for (const file of [...files].sort()) {
      const rel = relative(outDir, file).split(sep);
      const partition = (rel[0] ?? '').replace(/^dt=/, '');
      const n = perPartition.get(partition) ?? 0;
      perPartition.set(partition, n + 1);
      // One file per partition is the norm; a second one (very large partitions) gets a suffix.
      const fileId = n === 0 ? id : `${id}-${n}`;
      const key = silverFileKey(contract.domain, contract.dataset, partition, fileId);
      const { sha256, bytes } = await this.uploadFile(
        this.deps.config.silverBucket,
        key,
        file,
        'application/vnd.apache.parquet',
      );
      outputs.push({ key, partition, rows: await parquetRows(conn, file), bytes, sha256 });
    }
    return outputs;
  }

  private async quarantineFile(
    obj: BronzeObject,
    contract: DatasetContract,
    id: string,
    err: FileRejection,
  ): Promise<Omit<Manifest, 'startedAt' | 'finishedAt' | 'durationsMs' | 'engine'>> {
    const { s3, config } = this.deps;
    const name = obj.key.split('/').pop() as string;
    const key = quarantineFileKey(contract.domain, contract.dataset, id, name);
    await s3.send(
      new CopyObjectCommand({
        Bucket: config.quarantineBucket,
        Key: key,
        CopySource: `${obj.bucket}/${encodeURIComponent(obj.key).replace(/%2F/g, '/')}`,
        MetadataDirective: 'REPLACE',
        Metadata: { reason: err.code, 'source-key': encodeURIComponent(obj.key) },
      }),
    );
    await this.putJson(config.quarantineBucket, `${key}.reason.json`, {
      reason: err.message,
      reasonCode: err.code,
      sourceBucket: obj.bucket,
      sourceKey: obj.key,
      quarantinedAt: this.now().toISOString(),
    });
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
      source: { bucket: obj.bucket, key: obj.key, versionId: obj.versionId, eTag: obj.eTag },
      rows: { in: 0, out: 0, quarantined: 0, duplicates: 0 },
      quarantinedByReason: {},
      outputs: [],
      quarantine: { bucket: config.quarantineBucket, key },
    };
  }

  private async readManifest(contract: DatasetContract, id: string): Promise<Manifest | undefined> {
    try {
      const got = await this.deps.s3.send(
        new GetObjectCommand({
          Bucket: this.deps.config.silverBucket,
          Key: manifestKey(contract.domain, contract.dataset, id),
        }),
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
  private async deleteStale(previous: Manifest | undefined, current: Manifest): Promise<void> {
    if (!previous) return;
    const keep = new Set(current.outputs.map((o) => o.key));
    const stale = previous.outputs.filter((o) => !keep.has(o.key));
    if (previous.quarantine?.rows !== undefined && current.quarantine?.key !== previous.quarantine.key) {
      stale.push({ key: previous.quarantine.key, partition: '', rows: 0, bytes: 0, sha256: '' });
    }
    for (const o of stale) {
      const bucket = o.partition === '' ? this.deps.config.quarantineBucket : this.deps.config.silverBucket;
      await this.deps.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.key }));
    }
  }

  private async putJson(bucket: string, key: string, body: unknown): Promise<void> {
    await this.deps.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: `${JSON.stringify(body, null, 2)}\n`,
        ContentType: 'application/json',
      }),
    );
  }

  /** Streams a local file to S3 (multipart when large), with its SHA-256 in the object's metadata. */
  private async uploadFile(
    bucket: string,
    key: string,
    file: string,
    contentType: string,
  ): Promise<{ sha256: string; bytes: number }> {
    const sha256 = await sha256File(file);
    const { size } = await stat(file);
    await new Upload({
      client: this.deps.s3,
      params: {
        Bucket: bucket,
        Key: key,
        Body: createReadStream(file),
        ContentType: contentType,
        Metadata: { sha256 },
      },
      partSize: 8 * 1024 * 1024,
      queueSize: 2,
    }).done();
    return { sha256, bytes: size };
  }
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
