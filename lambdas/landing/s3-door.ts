/**
 * The S3 door: an upload to the landing bucket, streamed through the hash and copied server-side into
 * bronze (in parts above CopyObject's 5 GiB, see `copy-object.ts`), then removed from landing. An upload
 * no contract claims is moved to quarantine with its reason: nothing is lost.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import type { ContractRegistry } from '../../core/contracts/load-contracts';
import { EXPECTED_ROWS_METADATA } from '../../core/lake/expected-rows';
import { quarantineUnknownKey } from '../../core/lake/layout';
import { type CopyOptions, copyObject, sourceForCopy } from '../aws/copy-object';
import { deleteIfUnchanged, isNotFound, openObjectStream, recoverWhen } from '../aws/s3';
import { bronzeContentType, bronzeMetadata, headerSafe } from './bronze-object';
import { digestStream } from './content-digest';
import { landOnce } from './land-once';
import { type Landed, type LandingConfig, now } from './landing-config';
import { landingLogger, logLanding } from './landing-log';

export interface LandingObject {
  bucket: string;
  /** The decoded object key (see `decodeEventKey`). */
  key: string;
  requestId: string;
  /** When S3 received the object (the event time); default: now. */
  receivedAt?: Date;
}

export type S3LandingOutcome =
  | ({ outcome: 'landed' } & Landed)
  | { outcome: 'quarantined'; quarantineKey: string; reason: string }
  /** The object is no longer in landing: an earlier delivery of the same event already handled it. */
  | { outcome: 'gone' };

/**
 * Lands one upload (or quarantines it). `copy` tunes the server-side copies: the handler uses the
 * defaults, tests lower the multipart threshold.
 */
export async function landS3Object(
  config: LandingConfig,
  object: LandingObject,
  copy: CopyOptions = {},
): Promise<S3LandingOutcome> {
  const receivedAt = object.receivedAt ?? now(config);
  const route = routeLandingKey(config.contracts, object.key);
  if ('reason' in route) return quarantine(config, object, route.reason, receivedAt, copy);

  const source = await openObjectStream(config.s3, object.bucket, object.key);
  if (!source) return { outcome: 'gone' };
  const digest = await digestStream(source.body);
  const { contract } = route;
  const metadata = bronzeMetadata({
    source: 's3-upload',
    originalName: route.name,
    receivedAt,
    sha256: digest.sha256,
    requestId: object.requestId,
    contentType: source.contentType ?? 'application/octet-stream',
    // As uploaded (`x-amz-meta-expected-rows`): the transform checks it, and quarantines the file with the
    // reason when it is not a count, while bronze keeps what was sent.
    expectedRows: source.metadata[EXPECTED_ROWS_METADATA],
  });
  const landed = await landOnce(
    config,
    { contract, sha256: digest.sha256, gzip: digest.gzip, receivedAt },
    (key) =>
      copyToBronze(
        config,
        object,
        { etag: source.etag, size: digest.bytes },
        { key, metadata, contentType: bronzeContentType(contract.source.format, digest.gzip) },
        copy,
      ),
  );
  // Only if it still holds the bytes just landed: an upload that replaced it has its own event coming.
  await deleteIfUnchanged(config.s3, object.bucket, object.key, source.etag);
  logLanding(config, {
    source: 's3-upload',
    contract,
    landed,
    bytes: digest.bytes,
    requestId: object.requestId,
  });
  return { outcome: 'landed', ...landed };
}

type Route = { contract: DatasetContract; name: string } | { reason: string };

/** Which contract owns a landing key `<domain>/<dataset>/<name...>`, or why none does. */
export function routeLandingKey(contracts: ContractRegistry, key: string): Route {
  const segments = key.split('/');
  const name = segments[segments.length - 1];
  if (segments.length < 3 || name === '') {
    return { reason: 'the key is not <domain>/<dataset>/<file name>' };
  }
  const [domain, dataset] = segments;
  const contract = contracts.byName(dataset);
  if (!contract) return { reason: `no data contract declares dataset '${dataset}'` };
  if (contract.domain !== domain) {
    return { reason: `dataset '${dataset}' belongs to domain '${contract.domain}', not '${domain}'` };
  }
  return { contract, name };
}

/**
 * Server-side copy into bronze: no bytes pass through the Lambda. The copy is pinned to the bytes that
 * were hashed (`ifMatch`; `ObjectChangedError` once the upload was overwritten, so the next attempt hashes
 * it again); `ifNoneMatch` keeps an existing bronze object as it is (false: an earlier attempt copied it).
 */
async function copyToBronze(
  config: LandingConfig,
  object: LandingObject,
  hashed: { etag: string | undefined; size: number },
  target: { key: string; metadata: Record<string, string>; contentType: string },
  copy: CopyOptions,
): Promise<boolean> {
  const outcome = await copyObject(
    config.s3,
    {
      source: { bucket: object.bucket, key: object.key },
      target: { bucket: config.bronzeBucket, key: target.key },
      sourceSize: hashed.size,
      ifMatch: hashed.etag,
      ifNoneMatch: '*',
      metadata: target.metadata,
      contentType: target.contentType,
    },
    copy,
  );
  return outcome === 'copied';
}

/** Moves an upload no contract claims into quarantine, with its reason beside it. */
async function quarantine(
  config: LandingConfig,
  object: LandingObject,
  reason: string,
  receivedAt: Date,
  copy: CopyOptions,
): Promise<S3LandingOutcome> {
  const found = await recoverWhen(sourceForCopy(config.s3, object), isNotFound, undefined);
  if (found === undefined) return { outcome: 'gone' };
  const etag = found.eTag;
  const quarantineKey = quarantineUnknownKey(object.key);
  await copyObject(
    config.s3,
    {
      source: { bucket: object.bucket, key: object.key },
      target: { bucket: config.quarantineBucket, key: quarantineKey },
      sourceSize: found.size,
      ifMatch: etag,
      metadata: { reason: headerSafe(reason), 'received-at': receivedAt.toISOString() },
    },
    copy,
  );
  const why = {
    reason,
    sourceBucket: object.bucket,
    sourceKey: object.key,
    receivedAt: receivedAt.toISOString(),
  };
  await config.s3.send(
    new PutObjectCommand({
      Bucket: config.quarantineBucket,
      Key: `${quarantineKey}.reason.json`,
      Body: JSON.stringify(why, null, 2),
      ContentType: 'application/json',
    }),
  );
  await deleteIfUnchanged(config.s3, object.bucket, object.key, etag);
  landingLogger(config).warn('quarantined', { ...why, quarantineKey, requestId: object.requestId });
  return { outcome: 'quarantined', quarantineKey, reason };
}
