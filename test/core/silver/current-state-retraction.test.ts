import type { DuckDBConnection } from '@duckdb/node-api';
import { rng } from '../../../bench/generate-orders';
import { currentStateRetractionStatements } from '../../../core/silver/current-state-retraction';
import {
  contract,
  current,
  lake,
  land,
  merge,
  oracle,
  type Version,
  WITH_DELETES,
} from '../../support/current-state-lake';

const v = (id: string, version: number, file: string, op: string | null = null): Version => ({
  id,
  name: `${id}${version}`,
  version,
  op,
  dt: '2026-01-01',
  file,
  ingested: version,
});

/** Lands and merges each file in turn. */
async function landAll(c: DuckDBConnection, c2: typeof WITH_DELETES, files: Version[][]) {
  for (const rows of files) {
    await land(c, rows);
    await merge(c, c2, {
      kind: 'files',
      partitions: [...new Set(rows.map((r) => r.dt))],
      bronzeKeys: [...new Set(rows.map((r) => r.file))],
    });
  }
}

/** What a re-run's history append does to the rows it no longer writes: deletes them from the history. */
async function retractFromHistory(c: DuckDBConnection, rows: Version[]) {
  for (const r of rows)
    await c.run(`DELETE FROM items_history WHERE id = '${r.id}' AND _bronze_key = '${r.file}'`);
}

async function retract(c: DuckDBConnection, c2: typeof WITH_DELETES, files: string[]) {
  for (const s of currentStateRetractionStatements(c2, files, ['2026-01-01', '2026-01-02', '2026-02-01']))
    await c.run(s);
}

const deleted = async (c: DuckDBConnection) =>
  (await c.runAndReadAll('SELECT id, version FROM items_deleted ORDER BY id')).getRowObjectsJson();

describe('currentStateRetractionStatements', () => {
  it('a key whose current version was retracted goes back to its latest remaining version, or away', async () => {
    const { c, close } = await lake();
    try {
      const kept = [v('a', 1, 'f1'), v('b', 1, 'f1')];
      const rerun = [v('a', 3, 'f3'), v('c', 1, 'f3'), v('d', 1, 'f3')];
      await landAll(c, contract(), [kept, rerun]);
      expect((await current(c)).map((r) => r.name)).toEqual(['a3', 'b1', 'c1', 'd1']);
      // f3 re-run under a stricter contract: a3 and c1 are now quarantined, d1 stays.
      await retractFromHistory(c, [rerun[0] as Version, rerun[1] as Version]);
      await retract(c, contract(), ['f3']);
      expect((await current(c)).map((r) => r.name)).toEqual(['a1', 'b1', 'd1']);
      // Nothing else stale: running it again changes nothing.
      await retract(c, contract(), ['f3']);
      expect((await current(c)).map((r) => r.name)).toEqual(['a1', 'b1', 'd1']);
    } finally {
      close();
    }
  });

  it('a retracted delete brings its key back; a delete that becomes the latest version removes it', async () => {
    const { c, close } = await lake();
    try {
      const files = [
        [v('a', 1, 'f1'), v('b', 1, 'f1')],
        [v('a', 2, 'f2', 'D')],
        [v('b', 2, 'f3', 'D')],
        [v('b', 3, 'f4')],
      ];
      await landAll(c, WITH_DELETES, files);
      expect((await current(c)).map((r) => r.name)).toEqual(['b3']);
      expect(await deleted(c)).toEqual([
        { id: 'a', version: '2' },
        { id: 'b', version: '2' },
      ]);
      // a's delete (f2) and b's re-insert (f4) are retracted.
      await retractFromHistory(c, [files[1]?.[0] as Version, files[3]?.[0] as Version]);
      await retract(c, WITH_DELETES, ['f2', 'f4']);
      const remaining = [files[0], files[2]].flat() as Version[];
      expect(await current(c)).toEqual(oracle(remaining, true));
      expect((await current(c)).map((r) => r.name)).toEqual(['a1']);
      expect(await deleted(c)).toEqual([{ id: 'b', version: '2' }]);
    } finally {
      close();
    }
  });

  it.each(Array.from({ length: 15 }, (_, i) => i + 1))(
    'equals the oracle after random retractions %i, and merges go on equal to it',
    async (seed) => {
      const random = rng(seed);
      const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)] as T;
      const file = (f: number): Version[] => {
        const name = `file-${seed}-${f}`;
        const ingested = Math.floor(random() * 5);
        const ids = new Set(Array.from({ length: 5 }, () => pick(['a', 'b', 'c', 'd', 'e', 'f'])));
        return [...ids].map((id) => ({
          id,
          name: `${id}@${name}`,
          version: random() < 0.15 ? null : Math.floor(random() * 4),
          op: random() < 0.25 ? 'D' : pick([null, 'U']),
          dt: pick(['2026-01-01', '2026-01-02', '2026-02-01']),
          file: name,
          ingested,
        }));
      };
      const { c, close } = await lake();
      try {
        let landed = Array.from({ length: 6 }, (_, f) => file(f));
        await landAll(c, WITH_DELETES, landed);
        // Two files re-run: each loses some of its rows.
        const rerun = [...new Set([pick(landed), pick(landed)])];
        const lost = rerun.flatMap((rows) => rows.filter(() => random() < 0.5));
        await retractFromHistory(c, lost);
        await retract(
          c,
          WITH_DELETES,
          rerun.map((rows) => rows[0]?.file as string),
        );
        landed = landed.map((rows) => rows.filter((r) => !lost.includes(r)));
        expect(await current(c)).toEqual(oracle(landed.flat(), true));
        // Later arrivals merge onto the corrected state as onto one that never held the retracted rows.
        const later = [file(6), file(7)];
        await landAll(c, WITH_DELETES, later);
        expect(await current(c)).toEqual(oracle([...landed, ...later].flat(), true));
      } finally {
        close();
      }
    },
  );

  it('runs nothing without re-run objects, and reads no deleted-keys table without deletes', () => {
    expect(currentStateRetractionStatements(WITH_DELETES, [], ['2026-01-01'])).toEqual([]);
    const [only, ...rest] = currentStateRetractionStatements(contract(), ['f1'], ['2026-01-01']);
    expect(rest).toEqual([]);
    expect(only).not.toContain('items_deleted');
  });
});
