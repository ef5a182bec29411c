import { rng } from '../../../bench/generate-orders';
import {
  batchFilter,
  currentStateMergeStatements,
  type MergeBatch,
} from '../../../core/silver/current-state-merge';
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

describe('currentStateMergeStatements', () => {
  it('keeps one row per key, the latest by latestBy, whatever order two overlapping files arrive in', async () => {
    const { c, close } = await lake();
    try {
      const newer: Version[] = [
        { id: 'a', name: 'a2', version: 2, op: null, dt: '2026-01-02', file: 'f2', ingested: 100 },
        { id: 'b', name: 'b1', version: 1, op: null, dt: '2026-01-01', file: 'f2', ingested: 100 },
      ];
      const older: Version[] = [
        { id: 'a', name: 'a1', version: 1, op: null, dt: '2026-01-01', file: 'f1', ingested: 200 },
        { id: 'c', name: 'c1', version: 1, op: null, dt: '2026-01-01', file: 'f1', ingested: 200 },
      ];
      // The newer file lands and merges first; the older one arrives later (and is ingested later).
      await land(c, newer);
      await merge(c, contract(), {
        kind: 'files',
        partitions: ['2026-01-01', '2026-01-02'],
        bronzeKeys: ['f2'],
      });
      await land(c, older);
      await merge(c, contract(), { kind: 'files', partitions: ['2026-01-01'], bronzeKeys: ['f1'] });
      expect(await current(c)).toEqual(oracle([...newer, ...older], false));
      expect((await current(c)).find((r) => r.id === 'a')).toMatchObject({ name: 'a2', dt: '2026-01-02' });
      // Merging the same batch again changes nothing (idempotent).
      await merge(c, contract(), { kind: 'range' });
      expect(await current(c)).toEqual(oracle([...newer, ...older], false));
    } finally {
      close();
    }
  });

  it('removes deleted keys and never lets an older version that arrives after the delete bring them back', async () => {
    const { c, close } = await lake();
    try {
      const v1: Version = {
        id: 'a',
        name: 'a1',
        version: 1,
        op: null,
        dt: '2026-01-01',
        file: 'f1',
        ingested: 1,
      };
      const del: Version = {
        id: 'a',
        name: 'a3',
        version: 3,
        op: 'D',
        dt: '2026-01-01',
        file: 'f3',
        ingested: 3,
      };
      const lateV2: Version = {
        id: 'a',
        name: 'a2',
        version: 2,
        op: null,
        dt: '2026-01-01',
        file: 'f2',
        ingested: 4,
      };
      const reinsert: Version = {
        id: 'a',
        name: 'a4',
        version: 4,
        op: 'U',
        dt: '2026-01-05',
        file: 'f4',
        ingested: 5,
      };
      for (const [rows, file] of [
        [[v1], 'f1'],
        [[del], 'f3'],
        [[lateV2], 'f2'],
      ] as const) {
        await land(c, [...rows]);
        await merge(c, WITH_DELETES, { kind: 'files', partitions: ['2026-01-01'], bronzeKeys: [file] });
      }
      expect(await current(c)).toEqual([]);
      expect((await c.runAndReadAll('SELECT id, version FROM items_deleted')).getRowObjectsJson()).toEqual([
        { id: 'a', version: '3' },
      ]);
      await land(c, [reinsert]);
      await merge(c, WITH_DELETES, { kind: 'files', partitions: ['2026-01-05'], bronzeKeys: ['f4'] });
      expect(await current(c)).toEqual([{ id: 'a', name: 'a4', version: '4', op: 'U', dt: '2026-01-05' }]);
    } finally {
      close();
    }
  });

  it.each(Array.from({ length: 20 }, (_, i) => i + 1))(
    'equals the oracle after random arrival sequence %i (versions, ties, nulls, deletes, re-merges)',
    async (seed) => {
      const random = rng(seed);
      const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
      const files = Array.from({ length: 8 }, (_, f) => {
        const file = `file-${seed}-${f}`;
        const ingested = Math.floor(random() * 5); // ties in ingestion time are common
        const ids = new Set(Array.from({ length: 6 }, () => pick(['a', 'b', 'c', 'd', 'e', 'f', 'g'])));
        return [...ids].map(
          (id): Version => ({
            id,
            name: `${id}@${file}`,
            version: random() < 0.15 ? null : Math.floor(random() * 4),
            op: random() < 0.25 ? 'D' : pick([null, 'U']),
            dt: pick(['2026-01-01', '2026-01-02', '2026-02-01']),
            file,
            ingested,
          }),
        );
      });
      const { c, close } = await lake();
      try {
        const landed: Version[] = [];
        for (const rows of files) {
          await land(c, rows);
          landed.push(...rows);
          await merge(c, WITH_DELETES, {
            kind: 'files',
            partitions: [...new Set(rows.map((r) => r.dt))],
            bronzeKeys: [rows[0].file],
          });
          if (random() < 0.3) await merge(c, WITH_DELETES, { kind: 'range', from: '2026-01-02' });
        }
        expect(await current(c)).toEqual(oracle(landed, true));
        const counts = (
          await c.runAndReadAll('SELECT count(*) AS n, count(DISTINCT id) AS k FROM items')
        ).getRowObjectsJson()[0];
        expect(counts.n).toBe(counts.k);
      } finally {
        close();
      }
    },
  );
});

describe('currentStateMergeStatements with a partition fixed per key', () => {
  const FIXED = contract({
    deletes: { column: 'op', values: ['D'] },
    partition: { column: 'day', granularity: 'day', fixedPerKey: true },
  });
  /** Each key's one partition. */
  const dtOf = (id: string) => (id < 'd' ? '2026-01-01' : id < 'f' ? '2026-01-02' : '2026-02-01');

  it('names the batch partitions of the target in the ON clause (none for the default, or a range)', () => {
    const batch: MergeBatch = { kind: 'files', partitions: ['2026-01-01', '2026-01-02'], bronzeKeys: ['f'] };
    const [, merge] = currentStateMergeStatements(FIXED, batch);
    expect(merge).toContain(`ON (t."id" = s."id" AND t."dt" IN ('2026-01-01', '2026-01-02'))`);
    expect(currentStateMergeStatements(WITH_DELETES, batch)[1]).toContain(`ON (t."id" = s."id")\n`);
    expect(currentStateMergeStatements(FIXED, { kind: 'range', from: '2026-01-02' })[1]).toContain(
      `ON (t."id" = s."id")\n`,
    );
  });

  it.each(Array.from({ length: 10 }, (_, i) => i + 1))(
    'equals the oracle after random arrival sequence %i when every key keeps its partition',
    async (seed) => {
      const random = rng(1000 + seed);
      const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
      const { c, close } = await lake();
      try {
        const landed: Version[] = [];
        for (let f = 0; f < 8; f++) {
          const file = `file-${seed}-${f}`;
          const ingested = Math.floor(random() * 5);
          const ids = new Set(Array.from({ length: 6 }, () => pick(['a', 'b', 'c', 'd', 'e', 'f', 'g'])));
          const rows = [...ids].map(
            (id): Version => ({
              id,
              name: `${id}@${file}`,
              version: random() < 0.15 ? null : Math.floor(random() * 4),
              op: random() < 0.25 ? 'D' : pick([null, 'U']),
              dt: dtOf(id),
              file,
              ingested,
            }),
          );
          await land(c, rows);
          landed.push(...rows);
          await merge(c, FIXED, {
            kind: 'files',
            partitions: [...new Set(rows.map((r) => r.dt))],
            bronzeKeys: [file],
          });
        }
        expect(await current(c)).toEqual(oracle(landed, true));
      } finally {
        close();
      }
    },
  );

  it('keeps a key twice when its partition does change: why fixedPerKey is opt-in', async () => {
    const { c, close } = await lake();
    try {
      const v = (version: number, dt: string, file: string): Version => ({
        id: 'a',
        name: `a${version}`,
        version,
        op: null,
        dt,
        file,
        ingested: version,
      });
      await land(c, [v(1, '2026-01-01', 'f1'), v(2, '2026-01-02', 'f2')]);
      await merge(c, FIXED, { kind: 'files', partitions: ['2026-01-01'], bronzeKeys: ['f1'] });
      await merge(c, FIXED, { kind: 'files', partitions: ['2026-01-02'], bronzeKeys: ['f2'] });
      expect((await current(c)).map((r) => r.dt)).toEqual(['2026-01-01', '2026-01-02']);
    } finally {
      close();
    }
  });
});

describe('batchFilter', () => {
  it('reads only the named files in the named partitions, quoting every value', () => {
    expect(batchFilter({ kind: 'files', partitions: ['2026-01-01'], bronzeKeys: ["it's/x.csv"] })).toBe(
      `"dt" IN ('2026-01-01') AND "_bronze_key" IN ('it''s/x.csv')`,
    );
  });
  it('reads nothing for an empty batch, and a partition range for a rebuild', () => {
    expect(batchFilter({ kind: 'files', partitions: [], bronzeKeys: [] })).toBe('false');
    expect(batchFilter({ kind: 'range', from: '2026-01', to: '2026-02' })).toBe(
      `"dt" >= '2026-01' AND "dt" < '2026-02'`,
    );
    expect(batchFilter({ kind: 'range' })).toBe('true');
  });
});
