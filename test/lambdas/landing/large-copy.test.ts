import { randomBytes } from 'node:crypto';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { ObjectChangedError } from '../../../core/errors';
import type { CopyOptions } from '../../../lambdas/aws/copy-object';
import type { LandingConfig } from '../../../lambdas/landing/landing-config';
import { landS3Object } from '../../../lambdas/landing/s3-door';
import { BRONZE, LANDING, QUARANTINE, sha256, withLanding } from '../../support/landing-fixture';

const MIB = 1024 * 1024;
/** CopyObject's 5 GiB limit lowered to 1 MiB, 5 MiB parts: a 12 MiB upload is copied in 3 parts. */
const LOWERED: CopyOptions = { multipartThresholdBytes: MIB, partSizeBytes: 5 * MIB };

describe('landS3Object: uploads above the CopyObject limit (lowered) are copied in parts', () => {
  const landing = withLanding();
  const { s3 } = landing;
  let config: LandingConfig;
  beforeAll(() => {
    config = landing.config;
  });

  /** The commands the landing client sends while `work` runs. */
  async function commandsDuring<T>(work: () => Promise<T>, onPart?: () => Promise<void>) {
    const commands: string[] = [];
    const name = 'record-commands';
    config.s3.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(context.commandName ?? '?');
        const out = await next(args);
        if (context.commandName === 'UploadPartCopyCommand') await onPart?.();
        return out;
      },
      { step: 'initialize', name },
    );
    try {
      return { result: await work(), commands };
    } finally {
      config.s3.middlewareStack.remove(name);
    }
  }
  const openUploads = async (bucket: string) =>
    (await s3.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
  const bronzeKeyOf = (bytes: Uint8Array) => `sales/orders/ingest_date=2026-11-21/${sha256(bytes)}.csv`;

  it('lands a 12 MiB upload in bronze byte for byte, with its metadata, and removes it from landing', async () => {
    const bytes = randomBytes(12 * MIB);
    const key = 'sales/orders/huge.csv';
    await s3.put(LANDING, key, bytes, { ContentType: 'text/csv' });

    const { result, commands } = await commandsDuring(() =>
      landS3Object(config, { bucket: LANDING, key, requestId: 'big-req' }, LOWERED),
    );

    expect(result).toEqual({
      outcome: 'landed',
      bronzeKey: bronzeKeyOf(bytes),
      sha256: sha256(bytes),
      duplicate: false,
    });
    expect(commands.filter((c) => c === 'UploadPartCopyCommand')).toHaveLength(3);
    expect(commands).not.toContain('CopyObjectCommand');
    const landed = await s3.get(BRONZE, bronzeKeyOf(bytes));
    expect(landed && sha256(landed)).toBe(sha256(bytes));
    const head = await s3.head(BRONZE, bronzeKeyOf(bytes));
    expect(head?.ContentType).toBe('text/csv');
    expect(head?.Metadata).toMatchObject({
      source: 's3-upload',
      'original-name': 'huge.csv',
      sha256: sha256(bytes),
      'request-id': 'big-req',
    });
    expect(await s3.get(LANDING, key)).toBeUndefined();
    expect(await openUploads(BRONZE)).toEqual([]);
  });

  it('keeps a bronze object already there (an earlier attempt copied it) and reports a duplicate', async () => {
    const bytes = randomBytes(6 * MIB);
    const key = 'sales/orders/again.csv';
    await s3.put(BRONZE, bronzeKeyOf(bytes), bytes);
    await s3.put(LANDING, key, bytes);

    const result = await landS3Object(config, { bucket: LANDING, key, requestId: 'r' }, LOWERED);

    expect(result).toMatchObject({ outcome: 'landed', bronzeKey: bronzeKeyOf(bytes), duplicate: true });
    expect(await s3.get(LANDING, key)).toBeUndefined();
    expect(await openUploads(BRONZE)).toEqual([]);
  });

  it('fails with ObjectChangedError when the upload is overwritten mid-copy, leaving no parts and the upload in landing', async () => {
    const bytes = randomBytes(12 * MIB);
    const key = 'sales/orders/overwritten.csv';
    await s3.put(LANDING, key, bytes);
    let overwritten = false;

    const { result } = await commandsDuring(
      () =>
        landS3Object(config, { bucket: LANDING, key, requestId: 'r' }, { ...LOWERED, concurrency: 1 }).catch(
          (e: unknown) => e,
        ),
      async () => {
        if (overwritten) return;
        overwritten = true;
        await s3.put(LANDING, key, 'order_id\n2\n');
      },
    );

    expect(result).toBeInstanceOf(ObjectChangedError);
    expect(await s3.head(BRONZE, bronzeKeyOf(bytes))).toBeUndefined();
    expect(await openUploads(BRONZE)).toEqual([]);
    expect((await s3.get(LANDING, key))?.toString()).toBe('order_id\n2\n');
  });

  it('moves a 12 MiB upload no contract claims to quarantine in parts, byte for byte, with its reason', async () => {
    const bytes = randomBytes(12 * MIB);
    const key = 'nobody/nothing/huge.bin';
    await s3.put(LANDING, key, bytes);

    const { result, commands } = await commandsDuring(() =>
      landS3Object(config, { bucket: LANDING, key, requestId: 'r' }, LOWERED),
    );

    expect(result).toMatchObject({ outcome: 'quarantined', quarantineKey: `unknown/${key}` });
    expect(commands.filter((c) => c === 'UploadPartCopyCommand')).toHaveLength(3);
    const copy = await s3.get(QUARANTINE, `unknown/${key}`);
    expect(copy && sha256(copy)).toBe(sha256(bytes));
    expect((await s3.head(QUARANTINE, `unknown/${key}`))?.Metadata?.reason).toBe(
      "no data contract declares dataset 'nothing'",
    );
    expect(await s3.get(LANDING, key)).toBeUndefined();
    expect(await openUploads(QUARANTINE)).toEqual([]);
  });
});
