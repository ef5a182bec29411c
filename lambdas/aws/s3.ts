import { type _Object, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/**
 * The one S3 client a handler creates at module load.
 *
 * Endpoint, region, credentials and checksum behaviour come from the SDK's standard variables
 * (`AWS_ENDPOINT_URL_S3`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`,
 * `AWS_REQUEST_CHECKSUM_CALCULATION`, `AWS_RESPONSE_CHECKSUM_VALIDATION`), so the handler code is the same
 * in AWS and against the local S3 server: only the environment differs. They are read from `env`, not
 * left to the SDK, because the SDK only ever looks at `process.env`: a caller passing another object (a
 * test, the local runner) would otherwise get a client pointed somewhere else. Unset variables fall back
 * to the SDK's own resolution. An endpoint override implies path-style addressing, which every
 * S3-compatible server understands.
 */
export function createS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const config: S3ClientConfig = { forcePathStyle: endpoint !== undefined, maxAttempts: 5 };
  if (endpoint) config.endpoint = endpoint;
  if (region) config.region = region;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    config.credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      sessionToken: env.AWS_SESSION_TOKEN,
    };
  }
  const requestChecksums = checksumSetting(env.AWS_REQUEST_CHECKSUM_CALCULATION);
  if (requestChecksums) config.requestChecksumCalculation = requestChecksums;
  const responseChecksums = checksumSetting(env.AWS_RESPONSE_CHECKSUM_VALIDATION);
  if (responseChecksums) config.responseChecksumValidation = responseChecksums;
  return new S3Client(config);
}

/** The SDK accepts these two values, case-insensitively, in the variables. */
function checksumSetting(value: string | undefined): 'WHEN_REQUIRED' | 'WHEN_SUPPORTED' | undefined {
  const upper = value?.toUpperCase();
  return upper === 'WHEN_REQUIRED' || upper === 'WHEN_SUPPORTED' ? upper : undefined;
}

/** The HTTP status of an SDK error, when the service answered. */
export function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/**
 * "No such key / bucket": a 404, whichever way the SDK shaped it (a modeled `NoSuchKey`, a HEAD's bare
 * `NotFound`, or only the status). Needs `s3:ListBucket`, without which S3 answers 403 for a missing key.
 */
export function isNotFound(e: unknown): boolean {
  const name = (e as { name?: string } | undefined)?.name;
  return httpStatus(e) === 404 || name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket';
}

/** A conditional write (`If-Match` / `If-None-Match`) lost: 412. */
export function isPreconditionFailed(e: unknown): boolean {
  return httpStatus(e) === 412 || (e as { name?: string } | undefined)?.name === 'PreconditionFailed';
}

/** Every object under `prefix` (all of the bucket by default), page by page (ListObjectsV2). */
export async function* listObjects(
  s3: S3Client,
  bucket: string,
  prefix?: string,
  options: { abortSignal?: AbortSignal } = {},
): AsyncGenerator<_Object> {
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      options,
    );
    yield* page.Contents ?? [];
    token = page.NextContinuationToken;
  } while (token);
}
