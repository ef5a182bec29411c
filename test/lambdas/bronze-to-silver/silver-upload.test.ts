import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silverFileKey } from '../../../core/lake/layout';
import { sqlString } from '../../../core/sql/quote';
import { Attempt } from '../../../lambdas/bronze-to-silver/attempt';
import { Engine } from '../../../lambdas/bronze-to-silver/duckdb-engine';
import {
  PART_SIZE,
  UPLOAD_CONCURRENCY,
  uploadFile,
  uploadSilver,
} from '../../../lambdas/bronze-to-silver/silver-upload';
import { faultyS3Client } from '../../support/evidence/s3-faults';
import { withLocalS3 } from '../../support/local-s3';

const SILVER = 'silver';
const ORDERS = { domain: 'retail', dataset: 'orders' };
const PARQUET = 'application/vnd.apache.parquet';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('silver uploads', () => {
  const s3 = withLocalS3([SILVER]);
  let scratch: string;
  let engine: Engine;
  let dirs = 0;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'medallion-upload-test-'));
    engine = await Engine.create({ memoryLimit: '256MB', threads: 2, tempDirectory: join(scratch, 'spill') });
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** Writes real Parquet files under a fresh `outDir/dt=<partition>/<name>`, `rows` rows each. */
  const writeRun = async (files: { partition: string; name: string; rows: number }[]) => {
    const outDir = join(scratch, `run-${++dirs}`, 'silver');
    const paths: string[] = [];
    await engine.withConnection(async (conn) => {
      for (const f of files) {
        const dir = join(outDir, `dt=${f.partition}`);
        mkdirSync(dir, { recursive: true });
        const path = join(dir, f.name);
        await conn.run(
          `COPY (SELECT range AS n FROM range(${f.rows})) TO ${sqlString(path)} (FORMAT parquet)`,
        );
        paths.push(path);
      }
    });
    return { outDir, files: paths };
  };

  it('uploads one object per partition file, with rows from the footer, bytes and sha256', async () => {
    const run = await writeRun([
      { partition: '2026-11-02', name: 'data_0.parquet', rows: 1 },
      { partition: '2026-11-01', name: 'data_0.parquet', rows: 3 },
    ]);
    const attempt = new Attempt(undefined);

    const outputs = await engine.withConnection((conn) =>
      uploadSilver({ s3: s3.client, bucket: SILVER }, conn, ORDERS, 's1', run.outDir, run.files, attempt),
    );

    expect(outputs.map(({ key, partition, rows }) => ({ key, partition, rows }))).toEqual([
      { key: silverFileKey('retail', 'orders', '2026-11-01', 's1'), partition: '2026-11-01', rows: 3 },
      { key: silverFileKey('retail', 'orders', '2026-11-02', 's1'), partition: '2026-11-02', rows: 1 },
    ]);
    for (const o of outputs) {
      const stored = await s3.get(SILVER, o.key);
      const local = readFileSync(run.files.find((f) => f.includes(`dt=${o.partition}`)) as string);
      expect(stored?.equals(local)).toBe(true);
      expect(o.bytes).toBe(local.length);
      expect(o.sha256).toBe(sha256(local));
      const head = await s3.head(SILVER, o.key);
      expect(head?.Metadata?.sha256).toBe(o.sha256);
      expect(head?.ContentType).toBe(PARQUET);
    }
    expect(attempt.written.map((w) => w.key).sort()).toEqual(outputs.map((o) => o.key));
  });

  it('gives a second file of the same partition a numbered suffix', async () => {
    const run = await writeRun([
      { partition: '2026-11-01', name: 'data_0.parquet', rows: 2 },
      { partition: '2026-11-01', name: 'data_1.parquet', rows: 5 },
    ]);

    const outputs = await engine.withConnection((conn) =>
      uploadSilver(
        { s3: s3.client, bucket: SILVER },
        conn,
        ORDERS,
        's2',
        run.outDir,
        run.files,
        new Attempt(undefined),
      ),
    );

    expect(outputs.map((o) => [o.key, o.rows])).toEqual([
      [silverFileKey('retail', 'orders', '2026-11-01', 's2'), 2],
      [silverFileKey('retail', 'orders', '2026-11-01', 's2-1'), 5],
    ]);
  });

  it(`after a failed upload starts no new one, and throws once the ${UPLOAD_CONCURRENCY} in flight have settled`, async () => {
    const run = await writeRun(
      Array.from({ length: UPLOAD_CONCURRENCY + 4 }, (_, i) => ({
        partition: `2026-11-${String(i + 1).padStart(2, '0')}`,
        name: 'data_0.parquet',
        rows: 1,
      })),
    );
    const faults = faultyS3Client(s3.env, { failWrite: 1, delayWriteMs: (c) => (c.write === 1 ? 0 : 50) });
    try {
      await expect(
        engine.withConnection((conn) =>
          uploadSilver(
            { s3: faults.client, bucket: SILVER },
            conn,
            ORDERS,
            's3',
            run.outDir,
            run.files,
            new Attempt(undefined),
          ),
        ),
      ).rejects.toThrow(/injected S3 fault/);

      expect(faults.writes().length).toBeLessThanOrEqual(UPLOAD_CONCURRENCY);
      expect(faults.calls.every((c) => c.outcome !== undefined)).toBe(true);
    } finally {
      faults.destroy();
    }
  });

  it('starts nothing once the attempt is aborted', async () => {
    const run = await writeRun([{ partition: '2026-11-01', name: 'data_0.parquet', rows: 1 }]);
    const attempt = new Attempt(AbortSignal.abort(new Error('out of time')));

    await expect(
      engine.withConnection((conn) =>
        uploadSilver({ s3: s3.client, bucket: SILVER }, conn, ORDERS, 's4', run.outDir, run.files, attempt),
      ),
    ).rejects.toThrow('out of time');
    expect(attempt.written).toEqual([]);
    expect(await s3.keys(SILVER, 'retail/orders/')).not.toContainEqual(expect.stringContaining('s4'));
  });

  /** The S3 commands `uploadFile` sends for `file`, through the real client (a plan without faults). */
  const commandsOf = async (key: string, file: string, contentType: string, attempt: Attempt) => {
    const observed = faultyS3Client(s3.env);
    try {
      const sent = await uploadFile({ s3: observed.client, bucket: SILVER }, key, file, contentType, attempt);
      return { sent, commands: observed.calls.map((c) => c.command) };
    } finally {
      observed.destroy();
    }
  };

  it(`uploadFile sends a file over ${PART_SIZE / 1024 / 1024} MiB as a multipart upload, with its sha256`, async () => {
    const file = join(scratch, 'large.bin');
    const bytes = randomBytes(PART_SIZE + 1024);
    writeFileSync(file, bytes);
    const attempt = new Attempt(undefined);

    const { sent, commands } = await commandsOf('large/file.bin', file, PARQUET, attempt);

    expect(commands).toEqual([
      'CreateMultipartUpload',
      'UploadPart',
      'UploadPart',
      'CompleteMultipartUpload',
    ]);
    expect(sent).toEqual({ sha256: sha256(bytes), bytes: bytes.length });
    expect((await s3.get(SILVER, 'large/file.bin'))?.equals(bytes)).toBe(true);
    const head = await s3.head(SILVER, 'large/file.bin');
    expect(head?.Metadata?.sha256).toBe(sha256(bytes));
    expect(head?.ContentType).toBe(PARQUET);
    expect(attempt.written).toEqual([{ bucket: SILVER, key: 'large/file.bin' }]);
  });

  it('uploadFile sends a file up to the part size in one PutObject', async () => {
    const file = join(scratch, 'small.ndjson');
    writeFileSync(file, '{"line":1}\n');

    const { sent, commands } = await commandsOf(
      'small/file.ndjson',
      file,
      'application/x-ndjson',
      new Attempt(undefined),
    );

    expect(commands).toEqual(['PutObject']);
    expect(sent).toEqual({ sha256: sha256(Buffer.from('{"line":1}\n')), bytes: 11 });
    const head = await s3.head(SILVER, 'small/file.ndjson');
    expect(head?.Metadata?.sha256).toBe(sent.sha256);
    expect(head?.ContentType).toBe('application/x-ndjson');
  });
});
