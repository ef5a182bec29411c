/**
 * How the transform commits its manifest: conditionally (create only if absent, or replace only what it
 * read), taking an unreadable manifest as absent, and answering with the winner's manifest when another
 * attempt of the same object committed first. Against the real local S3 server and DuckDB.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { ContractRegistry } from '../../../core/contracts/load-contracts';
import { manifestKey, sourceId } from '../../../core/lake/layout';
import type { Manifest } from '../../../core/lake/manifest';
import { sqlString } from '../../../core/sql/quote';
import { createLogger, type LogEntry } from '../../../core/telemetry/logger';
import { createS3Client } from '../../../lambdas/aws/s3';
import { Engine, queryRows } from '../../../lambdas/bronze-to-silver/duckdb-engine';
import { BronzeToSilver } from '../../../lambdas/bronze-to-silver/transform';
import { faultyS3Client } from '../../support/evidence/s3-faults';
import { withLocalS3 } from '../../support/local-s3';

const BRONZE = 'bronze';
const SILVER = 'silver';
const QUARANTINE = 'quarantine';
const SAMPLES = join(__dirname, '../../../samples');
const ORDERS = readFileSync(join(SAMPLES, 'data', 'orders', 'orders-2026-11-01.csv'));

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const bronzeKeyOf = (name: string) => `retail/orders/ingest_date=2026-11-01/${name}`;

describe('BronzeToSilver: committing the manifest', () => {
  const s3 = withLocalS3([BRONZE, SILVER, QUARANTINE]);
  const contracts = ContractRegistry.fromDirectory(join(SAMPLES, 'contracts'));
  let scratch: string;
  let engine: Engine;
  let logs: LogEntry[];

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'medallion-b2s-commit-'));
    engine = await Engine.create({ memoryLimit: '256MB', threads: 2, tempDirectory: join(scratch, 'spill') });
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  beforeEach(() => {
    logs = [];
  });

  const transformer = (client: S3Client = s3.client) =>
    new BronzeToSilver({
      s3: client,
      engine,
      contracts,
      logger: createLogger({ sink: (entry) => logs.push(entry) }),
      config: {
        silverBucket: SILVER,
        quarantineBucket: QUARANTINE,
        scratchDir: scratch,
        maxDecompressedBytes: 64 * 1024 * 1024,
        piiSalt: 'test-salt',
      },
    });

  const manifestOf = (key: string) => manifestKey('retail', 'orders', sourceId(BRONZE, key));
  const storedManifest = async (key: string) => (await s3.get(SILVER, manifestOf(key)))?.toString();
  const commitEntries = (key: string) =>
    s3
      .keys(SILVER, '_commits/retail/orders/')
      .then((keys) => keys.filter((k) => k.endsWith(`-${sourceId(BRONZE, key)}.json`)));

  /** Every output the manifest lists is in silver with its bytes, and DuckDB reads its rows. */
  const expectReadableOutputs = async (m: Manifest) => {
    expect(m.outputs.length).toBeGreaterThan(0);
    for (const o of m.outputs) {
      const bytes = await s3.get(SILVER, o.key);
      expect(bytes && sha256(bytes)).toBe(o.sha256);
      const file = join(scratch, `${o.sha256}.parquet`);
      writeFileSync(file, bytes as Buffer);
      const [{ n }] = await engine.withConnection((conn) =>
        queryRows<{ n: bigint }>(conn, `SELECT count(*) AS n FROM read_parquet(${sqlString(file)})`),
      );
      rmSync(file, { force: true });
      expect(Number(n)).toBe(o.rows);
    }
  };

  describe('an unreadable manifest counts as absent', () => {
    it.each([
      ['valid JSON followed by a stray }', 'brace.csv', (m: string) => `${m}}`],
      ['cut short', 'cut.csv', (m: string) => m.slice(0, Math.floor(m.length / 3))],
      ['an empty object', 'empty-object.csv', () => '{}'],
    ])(
      'a manifest that is %s: the file is transformed again and the manifest replaced, with one warning',
      async (_, name, spoil) => {
        const key = bronzeKeyOf(name);
        await s3.put(BRONZE, key, ORDERS);
        const first = await transformer().process({ bucket: BRONZE, key });
        await s3.put(SILVER, manifestOf(key), spoil((await storedManifest(key)) as string));
        logs = [];

        const again = await transformer().process({ bucket: BRONZE, key });

        expect(again.rows).toEqual({ in: 44, out: 34, quarantined: 8, duplicates: 2 });
        expect(again.outputs.map((o) => [o.key, o.sha256])).toEqual(
          first.outputs.map((o) => [o.key, o.sha256]),
        );
        expect(JSON.parse((await storedManifest(key)) as string)).toEqual(JSON.parse(JSON.stringify(again)));
        await expectReadableOutputs(again);
        const warnings = logs.filter((l) => l.level === 'WARN');
        expect(warnings).toEqual([
          expect.objectContaining({
            message: 'unreadable manifest taken as absent: the file is transformed again',
            key,
            manifestKey: manifestOf(key),
            problem: expect.stringMatching(/^not (JSON|a manifest)/),
          }),
        ]);
        expect(await commitEntries(key)).toHaveLength(2);
      },
    );

    it('a broken manifest with no transform before it is replaced by the first one', async () => {
      const key = bronzeKeyOf('broken from the start.csv');
      await s3.put(BRONZE, key, ORDERS);
      await s3.put(SILVER, manifestOf(key), '{"manifestVersion": 1, "status": "ok"');

      const m = await transformer().process({ bucket: BRONZE, key });

      expect(JSON.parse((await storedManifest(key)) as string)).toEqual(JSON.parse(JSON.stringify(m)));
      await expectReadableOutputs(m);
    });
  });

  describe('attempts of one object committing at once', () => {
    it('10 concurrent first transforms all resolve with the one manifest committed, logged once', async () => {
      const key = bronzeKeyOf('ten at once.csv');
      await s3.put(BRONZE, key, ORDERS);

      const results = await Promise.all(
        Array.from({ length: 10 }, () => transformer().process({ bucket: BRONZE, key })),
      );

      const stored = JSON.parse((await storedManifest(key)) as string);
      for (const m of results) expect(JSON.parse(JSON.stringify(m))).toEqual(stored);
      expect(await s3.keys(SILVER, '_manifests/retail/orders/')).toContain(manifestOf(key));
      expect(
        (await s3.keys(SILVER, '_manifests/retail/orders/')).filter((k) => k === manifestOf(key)),
      ).toHaveLength(1);
      await expectReadableOutputs(stored);
      expect(await s3.keys(SILVER, 'retail/orders/')).toEqual(
        expect.arrayContaining(stored.outputs.map((o: { key: string }) => o.key)),
      );
      expect(await commitEntries(key)).toHaveLength(1);
      const messages = logs.map((l) => l.message);
      expect(
        messages.filter((m) => m.startsWith('another attempt committed this object first')),
      ).toHaveLength(9);
      expect(messages).not.toContain('failed attempt rolled back');
    });

    it('5 concurrent re-runs over a committed manifest: one replaces it, the others answer with its manifest', async () => {
      const key = bronzeKeyOf('five re-runs.csv');
      await s3.put(BRONZE, key, ORDERS);
      const first = await transformer().process({ bucket: BRONZE, key });

      const results = await Promise.all(
        Array.from({ length: 5 }, () => transformer().process({ bucket: BRONZE, key })),
      );

      const stored = JSON.parse((await storedManifest(key)) as string);
      expect(stored.startedAt).not.toBe(first.startedAt);
      for (const m of results) expect(JSON.parse(JSON.stringify(m))).toEqual(stored);
      await expectReadableOutputs(stored);
      expect(await commitEntries(key)).toHaveLength(2);
    });

    it('a winner made from other bytes of the source is not taken: the attempt throws to be retried and leaves it in place', async () => {
      const key = bronzeKeyOf('other bytes won.csv');
      await s3.put(BRONZE, key, ORDERS);
      const first = await transformer().process({ bucket: BRONZE, key });
      // Just before this attempt commits, another one commits a manifest of other bytes of the key.
      const winner = JSON.stringify({
        ...first,
        source: { ...first.source, sha256: 'other', eTag: 'other' },
      });
      const faults = faultyS3Client(s3.env, {
        beforeCall: async (call) => {
          if (call.command === 'PutObject' && call.key === manifestOf(key))
            await s3.put(SILVER, manifestOf(key), winner);
        },
      });
      try {
        await expect(transformer(faults.client).process({ bucket: BRONZE, key })).rejects.toThrow(
          `another attempt committed ${manifestOf(key)} meanwhile, from other bytes of the source; retry`,
        );
      } finally {
        faults.destroy();
      }

      expect(await storedManifest(key)).toBe(winner);
      expect(await commitEntries(key)).toHaveLength(1);
      // The outputs both manifests list stay.
      await expectReadableOutputs(first);
    });

    it('a manifest write whose answer was lost, retried by the SDK into its own manifest (412), commits and logs once', async () => {
      const key = bronzeKeyOf('answer lost.csv');
      await s3.put(BRONZE, key, ORDERS);
      // Inside the SDK's retry loop: the first manifest PUT lands, then its answer is replaced by a 500,
      // so the SDK sends it again and meets the manifest it has just created.
      const client = createS3Client(s3.env);
      const manifestPuts: number[] = [];
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const out = await next(args);
          const isManifestPut =
            (context as { commandName?: string }).commandName === 'PutObjectCommand' &&
            (args.input as { Key?: string }).Key === manifestOf(key);
          if (!isManifestPut) return out;
          manifestPuts.push((out.response as { statusCode: number }).statusCode);
          if (manifestPuts.length > 1) return out;
          throw Object.assign(new Error('We encountered an internal error. Please try again.'), {
            name: 'InternalError',
            $fault: 'server',
            $metadata: { httpStatusCode: 500 },
          });
        },
        { step: 'deserialize', name: 'loseFirstManifestAnswer' },
      );
      try {
        const m = await transformer(client).process({ bucket: BRONZE, key });

        expect(manifestPuts).toEqual([200, 412]); // landed with its answer lost, then the SDK's retry
        expect(JSON.parse((await storedManifest(key)) as string)).toEqual(JSON.parse(JSON.stringify(m)));
        expect(await commitEntries(key)).toHaveLength(1);
      } finally {
        client.destroy();
      }
    });
  });
});
