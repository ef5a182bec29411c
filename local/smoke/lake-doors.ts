/**
 * The smoke's way into the pipeline and back out of silver, the same code for every target (only the
 * clients and names differ): an upload to the landing bucket, a SigV4-signed POST to the ingest API, and
 * the wait for the silver commit (the manifest) of what either door landed.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { bronzeContentIndexKey, manifestKey, sourceId } from '../../core/lake/layout';
import type { Manifest } from '../../core/lake/manifest';
import { getJson, readObjectText } from '../../lambdas/aws/s3';
import { NodeSha256 } from '../cloud/api-gateway';
import type { SmokeSample } from './sample';

/** Credentials and region the API requests are signed with (`execute-api`). */
export interface ApiSigning {
  readonly credentials: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  readonly region: string;
}

/** How long to wait, and how often to look. */
export interface Polling {
  readonly pollMs: number;
  readonly timeoutMs: number;
}

/** Uploads the sample to `<domain>/<dataset>/<file name>` of the landing bucket; returns its S3 URI. */
export async function uploadToLanding(
  s3: S3Client,
  landingBucket: string,
  sample: SmokeSample,
): Promise<string> {
  const key = `${sample.contract.domain}/${sample.contract.dataset}/${sample.fileName}`;
  await s3.send(
    new PutObjectCommand({
      Bucket: landingBucket,
      Key: key,
      Body: sample.body,
      ContentType: sample.contentType,
      ContentLength: sample.body.length,
    }),
  );
  return `s3://${landingBucket}/${key}`;
}

/** What the API answered. */
export interface ApiAnswer {
  readonly status: number;
  readonly body: { message?: string; bronzeKey?: string; duplicate?: boolean; [k: string]: unknown };
}

/**
 * POSTs the sample to `RecordsUrl` (its `{dataset}` replaced), signed with SigV4 for `execute-api` as an
 * AWS_IAM API demands, with `X-File-Name` and an `Idempotency-Key` (the file name: a retried smoke run
 * lands once).
 */
export async function postRecords(
  recordsUrl: string,
  sample: SmokeSample,
  signing: ApiSigning,
): Promise<ApiAnswer> {
  const url = new URL(recordsUrl.replace('{dataset}', encodeURIComponent(sample.contract.dataset)));
  const headers = {
    'content-type': sample.contentType,
    'x-file-name': sample.fileName,
    'idempotency-key': sample.fileName,
  };
  const signer = new SignatureV4({
    credentials: signing.credentials,
    region: signing.region,
    service: 'execute-api',
    sha256: NodeSha256,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: { ...headers, host: url.host },
    body: sample.body,
  });
  // fetch sends Host itself, with the same value.
  const { host: _host, ...sent } = signed.headers;
  const response = await fetch(url, { method: 'POST', headers: sent, body: sample.body });
  const text = await response.text();
  let body: ApiAnswer['body'];
  try {
    body = JSON.parse(text) as ApiAnswer['body'];
  } catch {
    body = { message: text.slice(0, 200) };
  }
  return { status: response.status, body };
}

export interface SilverBuckets {
  readonly bronze: string;
  readonly silver: string;
}

/**
 * Waits for the silver commit of what the sample landed: the bronze key (given, or read from the content
 * index once landing wrote it), then the manifest of that bronze object in the silver bucket.
 */
export async function waitForSilver(
  s3: S3Client,
  buckets: SilverBuckets,
  sample: SmokeSample,
  landed: { bronzeKey?: string },
  polling: Polling,
): Promise<{ bronzeKey: string; manifest: Manifest }> {
  const { domain, dataset } = sample.contract;
  const deadline = Date.now() + polling.timeoutMs;
  let bronzeKey = landed.bronzeKey;
  for (;;) {
    bronzeKey ??= await readObjectText(
      s3,
      buckets.bronze,
      bronzeContentIndexKey(domain, dataset, sample.sha256),
    );
    if (bronzeKey) {
      const key = manifestKey(domain, dataset, sourceId(buckets.bronze, bronzeKey));
      const manifest = await getJson<Manifest>(s3, buckets.silver, key);
      if (manifest) return { bronzeKey, manifest };
    }
    if (Date.now() >= deadline) {
      throw new Error(
        bronzeKey
          ? `no silver manifest for ${bronzeKey} after ${Math.round(polling.timeoutMs / 1000)} s`
          : `nothing landed in bronze for ${sample.fileName} after ${Math.round(polling.timeoutMs / 1000)} s`,
      );
    }
    await sleep(polling.pollMs);
  }
}

/** Why a manifest is not the clean commit of the sample's rows; undefined when it is. */
export function manifestProblem(manifest: Manifest, sample: SmokeSample): string | undefined {
  if (manifest.status !== 'ok') return `file ${manifest.status}: ${manifest.reason ?? 'no reason given'}`;
  const { rows } = manifest;
  if (rows.out === sample.rows && rows.quarantined === 0) return undefined;
  const reasons = Object.entries(manifest.quarantinedByReason)
    .map(([reason, n]) => `${reason} x${n}`)
    .join(', ');
  return `${rows.out}/${sample.rows} rows in silver, ${rows.quarantined} quarantined${reasons ? ` (${reasons})` : ''}, ${rows.duplicates} duplicate(s)`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
