import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { MergeBatch } from '../../../core/silver/current-state-merge';
import { historyAppendStatement } from '../../../core/silver/history-append';
import { itemsContract } from '../../support/items-contract';

const contract = itemsContract([{ name: 'name', type: 'string' }]);
const COLS = 'id VARCHAR, name VARCHAR, day DATE, _bronze_key VARCHAR, _ingested_at TIMESTAMPTZ, dt VARCHAR';

/** DuckDB playing Athena: `items_arrivals` (what transforms wrote) and `items_history` (plain tables). */
async function lake(): Promise<{ c: DuckDBConnection; close: () => void }> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run("SET TimeZone = 'UTC'");
  await c.run(`CREATE TABLE items_arrivals (${COLS})`);
  await c.run(`CREATE TABLE items_history (${COLS})`);
  return {
    c,
    close: () => {
      c.closeSync();
      db.closeSync();
    },
  };
}

/** What a transform writes for one bronze object: replaces that object's rows in the arrivals. */
async function arrive(c: DuckDBConnection, file: string, rows: { id: string; name: string; dt: string }[]) {
  await c.run(`DELETE FROM items_arrivals WHERE _bronze_key = '${file}'`);
  for (const r of rows)
    await c.run(
      `INSERT INTO items_arrivals VALUES ('${r.id}', '${r.name}', DATE '${r.dt}', '${file}', TIMESTAMPTZ '2026-12-06 10:00:00+00', '${r.dt}')`,
    );
}

const append = async (c: DuckDBConnection, batch: MergeBatch) =>
  c.run(historyAppendStatement(contract, batch));
const history = async (c: DuckDBConnection) =>
  (
    await c.runAndReadAll('SELECT _bronze_key, dt, id, name FROM items_history ORDER BY ALL')
  ).getRowObjectsJson();

describe('historyAppendStatement', () => {
  it('appends every arrival once: re-merging the same batch (the watermark overlap) adds nothing', async () => {
    const { c, close } = await lake();
    try {
      await arrive(c, 'b/1.csv', [
        { id: 'a', name: 'one', dt: '2026-12-01' },
        { id: 'b', name: 'two', dt: '2026-12-02' },
      ]);
      await arrive(c, 'b/2.csv', [{ id: 'a', name: 'one again', dt: '2026-12-01' }]);
      const batch: MergeBatch = {
        kind: 'files',
        partitions: ['2026-12-01', '2026-12-02'],
        bronzeKeys: ['b/1.csv', 'b/2.csv'],
      };
      await append(c, batch);
      const once = await history(c);
      // Two versions of key a (one per bronze object): the history keeps every version.
      expect(once).toEqual([
        { _bronze_key: 'b/1.csv', dt: '2026-12-01', id: 'a', name: 'one' },
        { _bronze_key: 'b/1.csv', dt: '2026-12-02', id: 'b', name: 'two' },
        { _bronze_key: 'b/2.csv', dt: '2026-12-01', id: 'a', name: 'one again' },
      ]);
      await append(c, batch);
      await append(c, { kind: 'partitions', partitions: ['2026-12-01', '2026-12-02'] });
      expect(await history(c)).toEqual(once);
    } finally {
      close();
    }
  });

  it('reads only the batch: other bronze objects and partitions wait for their own commit', async () => {
    const { c, close } = await lake();
    try {
      await arrive(c, 'b/1.csv', [
        { id: 'a', name: 'one', dt: '2026-12-01' },
        { id: 'b', name: 'two', dt: '2026-12-02' },
      ]);
      await arrive(c, 'b/2.csv', [{ id: 'c', name: 'three', dt: '2026-12-01' }]);
      await append(c, { kind: 'files', partitions: ['2026-12-01'], bronzeKeys: ['b/1.csv'] });
      expect(await history(c)).toEqual([{ _bronze_key: 'b/1.csv', dt: '2026-12-01', id: 'a', name: 'one' }]);
    } finally {
      close();
    }
  });

  it('replaces the rows a replay re-wrote with other values, without duplicating them', async () => {
    const { c, close } = await lake();
    try {
      const batch: MergeBatch = { kind: 'files', partitions: ['2026-12-01'], bronzeKeys: ['b/1.csv'] };
      await arrive(c, 'b/1.csv', [{ id: 'a', name: 'old rule', dt: '2026-12-01' }]);
      await append(c, batch);
      await arrive(c, 'b/1.csv', [
        { id: 'a', name: 'new rule', dt: '2026-12-01' },
        { id: 'd', name: 'now valid', dt: '2026-12-01' },
      ]);
      await append(c, batch);
      expect(await history(c)).toEqual([
        { _bronze_key: 'b/1.csv', dt: '2026-12-01', id: 'a', name: 'new rule' },
        { _bronze_key: 'b/1.csv', dt: '2026-12-01', id: 'd', name: 'now valid' },
      ]);
    } finally {
      close();
    }
  });

  it('deletes the rows a replay no longer writes (now quarantined, or moved to another partition), and only those', async () => {
    const { c, close } = await lake();
    try {
      await arrive(c, 'b/1.csv', [
        { id: 'a', name: 'kept', dt: '2026-12-01' },
        { id: 'q', name: 'quarantined later', dt: '2026-12-01' },
        { id: 'm', name: 'moves', dt: '2026-12-02' },
      ]);
      await arrive(c, 'b/2.csv', [{ id: 'q', name: 'another object', dt: '2026-12-01' }]);
      await append(c, {
        kind: 'files',
        partitions: ['2026-12-01', '2026-12-02'],
        bronzeKeys: ['b/1.csv', 'b/2.csv'],
      });
      expect(await history(c)).toHaveLength(4);
      // The replay of b/1.csv: q is quarantined, m now belongs to 2026-12-03 (its old file is deleted and
      // the commit names the partition it left).
      await arrive(c, 'b/1.csv', [
        { id: 'a', name: 'kept', dt: '2026-12-01' },
        { id: 'm', name: 'moves', dt: '2026-12-03' },
      ]);
      const replayed: MergeBatch = {
        kind: 'files',
        partitions: ['2026-12-01', '2026-12-02', '2026-12-03'],
        bronzeKeys: ['b/1.csv'],
      };
      await append(c, replayed);
      const after = await history(c);
      expect(after).toEqual([
        { _bronze_key: 'b/1.csv', dt: '2026-12-01', id: 'a', name: 'kept' },
        { _bronze_key: 'b/1.csv', dt: '2026-12-03', id: 'm', name: 'moves' },
        // Another object's version of the same key is not the replay's to remove.
        { _bronze_key: 'b/2.csv', dt: '2026-12-01', id: 'q', name: 'another object' },
      ]);
      await append(c, replayed);
      expect(await history(c)).toEqual(after);
    } finally {
      close();
    }
  });

  it('names the target partitions in its ON clause, so the engine prunes the history it reads', () => {
    const sql = historyAppendStatement(contract, {
      kind: 'files',
      partitions: ['2026-12-01'],
      bronzeKeys: ["b/it's.csv"],
    });
    expect(sql).toContain(
      `ON (t."_bronze_key" = s."_bronze_key" AND t."dt" = s."dt" AND t."id" = s."id" AND t."dt" IN ('2026-12-01'))`,
    );
    expect(sql).toContain(`"_bronze_key" IN ('b/it''s.csv')`);
  });
});
