/**
 * Land once: the same bytes delivered twice land once, through either door. Two kinds of marker object
 * in the bronze bucket make it so, each holding a bronze key as its body and the sha256 in its metadata:
 *  - the content index maps a hash to the bronze key its bytes landed under;
 *  - an idempotency marker maps an API Idempotency-Key to what the request with that key landed.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { LandingError } from '../../core/errors';
import {
  bronzeContentIndexKey,
  bronzeExtension,
  bronzeKey,
  idempotencyIndexKey,
} from '../../core/lake/layout';
import { isNotFound, putIfAbsent, recoverWhen } from '../aws/s3';
import type { Landed, LandingConfig } from './landing-config';

/**
 * Lands content once: when the content index knows the hash, the earlier bronze key is returned;
 * otherwise `write` stores the bytes under the new key (false: it was already there) and the index
 * marker is written after it, so a crash in between only costs a retry, never a dangling marker.
 */
export async function landOnce(
  config: LandingConfig,
  content: { contract: DatasetContract; sha256: string; gzip: boolean; receivedAt: Date },
  write: (key: string) => Promise<boolean>,
): Promise<Landed> {
  const { contract, sha256 } = content;
  const indexKey = bronzeContentIndexKey(contract.domain, contract.dataset, sha256);
  const indexed = await readMarker(config.s3, config.bronzeBucket, indexKey);
  if (indexed) return { bronzeKey: indexed.value, sha256, duplicate: true };

  const key = bronzeKey({
    domain: contract.domain,
    dataset: contract.dataset,
    receivedAt: content.receivedAt,
    sha256,
    extension: bronzeExtension(contract.source.format, content.gzip),
  });
  const created = await write(key);
  await putMarker(config, indexKey, key, sha256);
  return { bronzeKey: key, sha256, duplicate: !created };
}

/** What an earlier request with this Idempotency-Key landed, refusing the key's reuse for other bytes. */
export async function idempotentReplay(
  config: LandingConfig,
  contract: DatasetContract,
  idempotencyKey: string,
  sha256: string,
): Promise<Landed | undefined> {
  const marker = await readMarker(
    config.s3,
    config.bronzeBucket,
    idempotencyIndexKey(contract.domain, contract.dataset, idempotencyKey),
  );
  if (!marker) return undefined;
  if (marker.sha256 !== sha256) {
    throw new LandingError(409, 'this Idempotency-Key was already used with a different body');
  }
  return { bronzeKey: marker.value, sha256, duplicate: true };
}

export async function rememberIdempotencyKey(
  config: LandingConfig,
  contract: DatasetContract,
  idempotencyKey: string,
  landed: Landed,
): Promise<void> {
  const key = idempotencyIndexKey(contract.domain, contract.dataset, idempotencyKey);
  const created = await putMarker(config, key, landed.bronzeKey, landed.sha256);
  // Lost a race with a concurrent request using the same key: only the same bytes may share it.
  if (!created) await idempotentReplay(config, contract, idempotencyKey, landed.sha256);
}

/** Writes a marker unless one is there already (false then): markers, like bronze objects, never change. */
function putMarker(config: LandingConfig, key: string, value: string, sha256: string): Promise<boolean> {
  return putIfAbsent(config.s3, {
    Bucket: config.bronzeBucket,
    Key: key,
    Body: value,
    ContentType: 'text/plain',
    Metadata: { sha256 },
  });
}

/** A marker object: its body (a bronze key) and the sha256 in its metadata; `undefined` when absent. */
function readMarker(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<{ value: string; sha256: string | undefined } | undefined> {
  const read = s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })).then(async (out) => ({
    value: (await out.Body?.transformToString('utf8')) ?? '',
    sha256: out.Metadata?.sha256,
  }));
  return recoverWhen(read, isNotFound, undefined);
}
