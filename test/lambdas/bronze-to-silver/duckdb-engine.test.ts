import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { version } from '@duckdb/node-api';
import { Engine, queryRows } from '../../../lambdas/bronze-to-silver/duckdb-engine';

describe('Engine', () => {
  let scratch: string;
  let engine: Engine;
  const spill = () => join(scratch, 'nested', 'spill');

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'medallion-engine-test-'));
    engine = await Engine.create({ memoryLimit: '128MB', threads: 2, tempDirectory: spill() });
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const setting = (name: string) =>
    engine.withConnection(
      async (conn) =>
        (await queryRows<{ value: string }>(conn, `SELECT current_setting('${name}') AS value`))[0]?.value,
    );

  it('creates its spill directory, and applies the memory limit, threads and spill directory given', async () => {
    expect(existsSync(spill())).toBe(true);
    expect(await setting('memory_limit')).toBe('122.0 MiB'); // 128 MB (10^6 bytes) in MiB
    expect(Number(await setting('threads'))).toBe(2);
    expect(await setting('temp_directory')).toBe(spill());
  });

  it('never installs extensions at run time', async () => {
    expect(String(await setting('autoinstall_known_extensions'))).toBe('false');
  });

  it('runs every connection in UTC, whatever the machine zone', async () => {
    expect(await setting('TimeZone')).toBe('UTC');
    const [row] = await engine.withConnection((conn) =>
      queryRows<{ day: string }>(
        conn,
        "SELECT strftime(TIMESTAMPTZ '2026-11-01 23:30:00+00', '%Y-%m-%d') AS day",
      ),
    );
    expect(row?.day).toBe('2026-11-01');
  });

  it("gives each piece of work a fresh connection: one's temp tables are gone for the next", async () => {
    await engine.withConnection((conn) => conn.run('CREATE TEMP TABLE rejects AS SELECT 1 AS n'));

    await expect(engine.withConnection((conn) => queryRows(conn, 'SELECT * FROM rejects'))).rejects.toThrow(
      /rejects/,
    );
  });

  it("returns the work's result, and passes its error on (the connection closed either way)", async () => {
    expect(await engine.withConnection(async () => 42)).toBe(42);
    await expect(
      engine.withConnection(async () => {
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
  });

  it('reports the DuckDB library version', () => {
    expect(Engine.version).toBe(version());
    expect(Engine.version).toMatch(/^v?\d+\.\d+\.\d+/);
  });
});

describe('queryRows', () => {
  it('returns the rows as plain objects keyed by column name, BIGINT as bigint', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'medallion-engine-rows-'));
    try {
      const engine = await Engine.create({ memoryLimit: '128MB', threads: 1, tempDirectory: scratch });
      const rows = await engine.withConnection((conn) =>
        queryRows<{ n: bigint; s: string | null }>(
          conn,
          "SELECT * FROM (VALUES (1::BIGINT, 'a'), (2::BIGINT, NULL)) t(n, s) ORDER BY n",
        ),
      );
      expect(rows).toEqual([
        { n: 1n, s: 'a' },
        { n: 2n, s: null },
      ]);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
