import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { listKeys } from '../../../lambdas/aws/s3';
import {
  decodeKeyPath,
  encodeKeyPath,
  isPlainPrefix,
  MAX_SEGMENT_BYTES,
} from '../../../local/cloud/s3rver-key-paths';
import { withLocalS3 } from '../../support/local-s3';

/** Keys S3 accepts that a filesystem path does not hold as they are. */
const HOSTILE = [
  '../../../outside/x.csv',
  'a/../b/x.csv',
  '../medallion-local-bronze/retail/orders/x.csv',
  'a/b',
  'trailing/',
  './dot',
  `retail/orders/${'k'.repeat(1010)}`, // 1,024 bytes: S3's longest key, a 1,010-character segment
  `utf/${'é'.repeat(300)}.csv`, // multi-byte characters are never cut
  `x/${'y'.repeat(1010)}.csv`,
  'amp&26ersand/&/&-/&2e',
  'plain/key with spaces+plus.csv',
];

describe('mapping keys to paths', () => {
  it('is one to one, keeps ordinary keys as they are, and never leaves the bucket or a 255-byte name', () => {
    // Empty segments too (the server's router answers 404 to a path with '//' before the store is asked).
    const keys = [...HOSTILE, 'a//b', '/leading', '//'];
    const paths = keys.map(encodeKeyPath);
    expect(new Set(paths).size).toBe(keys.length);
    for (const [i, path] of paths.entries()) {
      expect(decodeKeyPath(path)).toBe(keys[i]);
      const inside = relative('/bucket', resolve('/bucket', path));
      expect(inside.startsWith('..')).toBe(false);
      for (const segment of path.split('/')) {
        expect(Buffer.byteLength(segment)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
        expect(['.', '..', '']).not.toContain(segment);
      }
    }
    expect(encodeKeyPath('retail/orders/dt=2026-11-01/part-x.parquet')).toBe(
      'retail/orders/dt=2026-11-01/part-x.parquet',
    );
  });

  it('says which prefixes can prune a listing walk', () => {
    expect(isPlainPrefix('retail/orders/')).toBe(true);
    expect(isPlainPrefix('retail/ord')).toBe(true);
    expect(isPlainPrefix('a/.')).toBe(false);
    expect(isPlainPrefix('a&b')).toBe(false);
  });
});

describe('the local S3 server with hostile keys', () => {
  const s3 = withLocalS3(['b', 'other']);
  const put = (Key: string, Body: string) => s3.client.send(new PutObjectCommand({ Bucket: 'b', Key, Body }));
  const get = async (Key: string) =>
    (await s3.client.send(new GetObjectCommand({ Bucket: 'b', Key }))).Body?.transformToString();

  it('stores every key inside its bucket, reads each back exactly, and lists them all', async () => {
    for (const [i, key] of HOSTILE.entries()) await put(key, `body ${i}`);
    for (const [i, key] of HOSTILE.entries()) expect(await get(key)).toBe(`body ${i}`);
    expect(await listKeys(s3.client, 'b')).toEqual([...HOSTILE].sort());
    // Nothing outside the bucket's directory, nothing in the other bucket.
    expect(readdirSync(s3.directory).sort()).toEqual(['b', 'other']);
    expect(await listKeys(s3.client, 'other')).toEqual([]);
    expect(existsSync(join(s3.directory, 'outside'))).toBe(false);
  });

  it('lists by a prefix that ends inside an escaped or cut segment', async () => {
    expect(await listKeys(s3.client, 'b', 'a/.')).toEqual(['a/../b/x.csv']);
    expect(await listKeys(s3.client, 'b', `x/${'y'.repeat(300)}`)).toEqual([`x/${'y'.repeat(1010)}.csv`]);
    expect(await listKeys(s3.client, 'b', 'amp&')).toEqual(['amp&26ersand/&/&-/&2e']);
  });

  it('deletes a hostile key without touching anything outside it', async () => {
    await s3.client.send(new DeleteObjectCommand({ Bucket: 'b', Key: '../../../outside/x.csv' }));
    await s3.client.send(new DeleteObjectCommand({ Bucket: 'b', Key: 'a/../b/x.csv' }));
    const left = await listKeys(s3.client, 'b');
    expect(left).not.toContain('../../../outside/x.csv');
    expect(left).toContain('a/b');
    expect(readdirSync(s3.directory).sort()).toEqual(['b', 'other']);
  });
});
