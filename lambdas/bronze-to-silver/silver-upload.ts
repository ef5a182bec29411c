/**
 * Sending a run's local files to S3: the partitioned Parquet files to silver (a few at a time) and single
 * files such as the quarantined rows. Each upload is recorded on the attempt before it is sent, so a
 * failed attempt can take it back.
 */

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { DuckDBConnection } from '@duckdb/node-api';
import { silverFileKey } from '../../core/lake/layout';
import type { OutputFile } from '../../core/lake/manifest';
import { sqlString } from '../../core/sql/quote';
import type { Attempt } from './attempt';
import { queryRows } from './duckdb-engine';
import type { DatasetRef } from './manifest-store';

/** Silver objects uploaded at once. */
export const UPLOAD_CONCURRENCY = 4;

/** Files of this size or less go up in one PutObject; larger ones as a multipart upload. */
export const PART_SIZE = 8 * 1024 * 1024;

/** Where uploads go. */
export interface UploadTarget {
  readonly s3: S3Client;
  readonly bucket: string;
}

/**
 * Uploads the Parquet files written under `outDir/dt=<partition>/` as the silver objects of source `id`,
 * with their row counts (read from each file's footer on `conn`), in the order of their local paths.
 */
export async function uploadSilver(
  to: UploadTarget,
  conn: DuckDBConnection,
  contract: DatasetRef,
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
        const { sha256, bytes } = await uploadFile(
          to,
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

/**
 * Sends a local file to S3 with its SHA-256 in the object's metadata: one PutObject up to `PART_SIZE`,
 * a multipart upload beyond. The single put is sent with the deadline's signal and awaited, so an
 * aborted put is over (failed, or landed and then rolled back) before the rollback runs.
 */
export async function uploadFile(
  to: UploadTarget,
  key: string,
  file: string,
  contentType: string,
  attempt: Attempt,
): Promise<{ sha256: string; bytes: number }> {
  const sha256 = await sha256File(file);
  const { size } = await stat(file);
  const params = { Bucket: to.bucket, Key: key, ContentType: contentType, Metadata: { sha256 } };
  attempt.writing(to.bucket, key);
  if (size <= PART_SIZE) {
    await to.s3.send(new PutObjectCommand({ ...params, Body: await readFile(file), ContentLength: size }), {
      abortSignal: attempt.signal,
    });
    return { sha256, bytes: size };
  }
  // An aborted multipart upload is never completed (lib-storage checks before CompleteMultipartUpload)
  // and its parts are aborted; a completion already in flight is the retry's to overwrite.
  const abortController = new AbortController();
  const abort = () => abortController.abort();
  attempt.signal?.addEventListener('abort', abort, { once: true });
  try {
    await new Upload({
      client: to.s3,
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
