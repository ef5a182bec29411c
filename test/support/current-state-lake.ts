/**
 * DuckDB playing Athena over a small dataset's current-state tables (`items_history`, `items`,
 * `items_deleted`), and the oracle of what the current state must be: for the merge tests.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { currentStateMergeStatements, type MergeBatch } from '../../core/silver/current-state-merge';
import { itemsContract } from './items-contract';

/** A small dataset with a delete marker column: key `id`, versions ordered by `version`. */
export const contract = (extra: Record<string, unknown> = {}) =>
  itemsContract(
    [
      { name: 'name', type: 'string' },
      { name: 'version', type: 'int64' },
      { name: 'op', type: 'string' },
    ],
    { latestBy: 'version', ...extra },
  );
export const WITH_DELETES = contract({ deletes: { column: 'op', values: ['D'] } });

export interface Version {
  id: string;
  name: string;
  version: number | null;
  op: string | null;
  dt: string;
  /** The bronze object (file) the row came from. */
  file: string;
  ingested: number;
}

/** Runs each statement in DuckDB over `items_history`, `items` and `items_deleted`. */
export async function lake(): Promise<{ c: DuckDBConnection; close: () => void }> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run("SET TimeZone = 'UTC'");
  const cols =
    'id VARCHAR, name VARCHAR, version BIGINT, op VARCHAR, day DATE, _bronze_key VARCHAR, _ingested_at TIMESTAMPTZ';
  await c.run(`CREATE TABLE items_history (${cols}, dt VARCHAR)`);
  await c.run(`CREATE TABLE items (${cols}, dt VARCHAR)`);
  await c.run(
    'CREATE TABLE items_deleted (id VARCHAR, version BIGINT, _bronze_key VARCHAR, _ingested_at TIMESTAMPTZ)',
  );
  return {
    c,
    close: () => {
      c.closeSync();
      db.closeSync();
    },
  };
}

const lit = (v: string | number | null) =>
  v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v}'`;

export async function land(c: DuckDBConnection, rows: Version[]): Promise<void> {
  for (const r of rows) {
    await c.run(
      `INSERT INTO items_history VALUES (${lit(r.id)}, ${lit(r.name)}, ${lit(r.version)}, ${lit(r.op)}, DATE ${lit(r.dt)}, ${lit(r.file)}, make_timestamptz(${r.ingested}::BIGINT * 1000000), ${lit(r.dt)})`,
    );
  }
}

export async function merge(c: DuckDBConnection, c2: ReturnType<typeof contract>, batch: MergeBatch) {
  for (const s of currentStateMergeStatements(c2, batch)) await c.run(s);
}

export const current = async (c: DuckDBConnection) =>
  (await c.runAndReadAll('SELECT id, name, version, op, dt FROM items ORDER BY id')).getRowObjectsJson();

/** What the current state must be: per key, the latest version over everything landed; deletes drop it. */
export function oracle(all: Version[], deletes: boolean) {
  const latest = new Map<string, Version>();
  const later = (a: Version, b: Version) => {
    const [va, vb] = [a.version ?? -Infinity, b.version ?? -Infinity];
    if (va !== vb) return va > vb;
    if (a.ingested !== b.ingested) return a.ingested > b.ingested;
    return a.file >= b.file;
  };
  for (const r of all) {
    const seen = latest.get(r.id);
    if (!seen || later(r, seen)) latest.set(r.id, r);
  }
  return [...latest.values()]
    .filter((r) => !(deletes && r.op === 'D'))
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((r) => ({
      id: r.id,
      name: r.name,
      version: r.version === null ? null : String(r.version),
      op: r.op,
      dt: r.dt,
    }));
}
