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
 *
 * `claim`, when given, runs before anything is stored, with the key the content would land under: it
 * returns the key to land under (another request's, for the same bytes) or throws to refuse the request
 * (an Idempotency-Key reused for other bytes), so a refused request stores nothing.
 */
export async function landOnce(
  config: LandingConfig,
  content: { contract: DatasetContract; sha256: string; gzip: boolean; receivedAt: Date },
  write: (key: string) => Promise<boolean>,
  claim?: (key: string) => Promise<string>,
): Promise<Landed> {
  const { contract, sha256 } = content;
  const indexKey = bronzeContentIndexKey(contract.domain, contract.dataset, sha256);
  const indexed = await readMarker(config.s3, config.bronzeBucket, indexKey);
  const intended =
    indexed?.value ??
    bronzeKey({
      domain: contract.domain,
      dataset: contract.dataset,
      receivedAt: content.receivedAt,
      sha256,
      extension: bronzeExtension(contract.source.format, content.gzip),
    });
  const key = claim ? await claim(intended) : intended;
  if (indexed && key === indexed.value) return { bronzeKey: key, sha256, duplicate: true };
  // Also when another request claimed the key: it may have stopped before storing the bytes, which are
  // these (the same hash), and the write never replaces an object.
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

/**
 * Claims an Idempotency-Key for `sha256`'s bytes landing under `key`, before anything is stored: the
 * marker is created only if absent (a conditional write, so of concurrent requests exactly one creates
 * it). Returns the key the bytes land under: `key`, or the one an earlier request with the same key and
 * the same bytes claimed; a request whose bytes differ from the claim's is refused (409) and stores nothing.
 */
export async function claimIdempotencyKey(
  config: LandingConfig,
  contract: DatasetContract,
  idempotencyKey: string,
  sha256: string,
  key: string,
): Promise<string> {
  const marker = idempotencyIndexKey(contract.domain, contract.dataset, idempotencyKey);
  if (await putMarker(config, marker, key, sha256)) return key;
  const earlier = await idempotentReplay(config, contract, idempotencyKey, sha256);
  return earlier?.bronzeKey ?? key;
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
