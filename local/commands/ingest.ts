/**
 * Ingest through the two doors: CSV and gzip files are uploaded to the landing bucket
 * (`<domain>/<dataset>/<file>`), JSON and NDJSON files are POSTed to the ingest API.
 */

import { createReadStream, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { bronzeContentIndexKey, unsafeSegmentReason } from '../../core/lake/layout';
import { objectExists } from '../../lambdas/aws/s3';
import type { LocalCloud } from '../cloud/local-cloud';
import { type FileReport, pendingFileReport } from '../report/pipeline-report';
import type { InputFile } from './inputs';

/**
 * Files up to this size go up in one PutObject, from memory; larger ones as a multipart upload of parts
 * this size. Either way every request body is bytes in memory, which the SDK can send again: it never
 * retries a request whose body is a stream, so a transient S3 error (500 InternalError, 503 SlowDown) on a
 * streamed upload failed the run.
 */
const SINGLE_PUT_MAX_BYTES = 64 * 1024 ** 2;

const MEDIA_TYPES: Record<DatasetContract['source']['format'], string> = {
  csv: 'text/csv',
  ndjson: 'application/x-ndjson',
  json: 'application/json',
};

/**
 * Lands every input through its door and returns once each was handed over (uploads finish landing
 * asynchronously); progress keeps being reported until `unsubscribe`.
 */
export async function ingest(
  cloud: LocalCloud,
  inputs: InputFile[],
  out: (line: string) => void,
): Promise<{ files: FileReport[]; unsubscribe: () => void; toTransform: number }> {
  const reports = new Map<InputFile, FileReport>();
  // Bytes bronze already holds are not landed (nor transformed) again.
  const fresh = new Set<string>();
  for (const input of inputs) {
    const { domain, dataset } = input.contract;
    const before = await objectExists(
      cloud.s3,
      cloud.buckets.bronze,
      bronzeContentIndexKey(domain, dataset, input.sha256),
    );
    const report = pendingFileReport({
      path: input.path,
      domain,
      dataset,
      door: input.door,
      bytes: input.bytes,
      sha256: input.sha256,
      landing: before ? 'already-landed' : 'landed',
    });
    if (!before) fresh.add(`${input.contract.id}/${input.sha256}`);
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
          ContentType: /\.gz$/i.test(input.path)
            ? 'application/gzip'
            : MEDIA_TYPES[input.contract.source.format],
        };
        // One PUT when the file fits in memory comfortably: a multipart upload makes the local server write
        // every byte twice (the parts, then the assembled object).
        if (input.bytes <= SINGLE_PUT_MAX_BYTES) {
          const Body = await readFile(input.absolute);
          await cloud.s3.send(new PutObjectCommand({ ...params, Body, ContentLength: input.bytes }));
        } else {
          // lib-storage reads the stream into parts (buffers) before sending each one; two at a time.
          const Body = createReadStream(input.absolute);
          await new Upload({
            client: cloud.s3,
            params: { ...params, Body },
            partSize: SINGLE_PUT_MAX_BYTES,
            queueSize: 2,
          }).done();
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

/** The `message` of an API's JSON error answer, or the answer itself. */
function messageOf(body: string | undefined): string {
  try {
    return (JSON.parse(body ?? '') as { message?: string }).message ?? String(body);
  } catch {
    return String(body);
  }
}
