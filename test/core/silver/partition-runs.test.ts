import { addPartitions, expandPartitions, nextPartition } from '../../../core/silver/partition-runs';

describe('partition runs', () => {
  it('steps days across months, leap days and years, and months across years', () => {
    expect(nextPartition('2024-02-28', 'day')).toBe('2024-02-29');
    expect(nextPartition('2024-02-29', 'day')).toBe('2024-03-01');
    expect(nextPartition('2025-12-31', 'day')).toBe('2026-01-01');
    expect(nextPartition('2025-09', 'month')).toBe('2025-10');
    expect(nextPartition('2025-12', 'month')).toBe('2026-01');
  });

  it('keeps a year of daily partitions, added in any order and repeatedly, as one run', () => {
    const days = expandPartitions([['2025-01-01', '2025-12-31']], 'day');
    expect(days).toHaveLength(365);
    let runs = addPartitions([], [], 'day');
    const shuffled = [...days].sort((a, b) => (a.slice(8) + a < b.slice(8) + b ? -1 : 1));
    for (let i = 0; i < shuffled.length; i += 7) runs = addPartitions(runs, shuffled.slice(i, i + 9), 'day');
    expect(runs).toEqual([['2025-01-01', '2025-12-31']]);
    expect(JSON.stringify(runs).length).toBeLessThan(40);
  });

  it('keeps gaps as separate runs and names exactly the values added', () => {
    const values = ['2026-01', '2026-02', '2026-05', '2019-12', '2026-03'];
    const runs = addPartitions([], values, 'month');
    expect(runs).toEqual([
      ['2019-12', '2019-12'],
      ['2026-01', '2026-03'],
      ['2026-05', '2026-05'],
    ]);
    expect(expandPartitions(runs, 'month')).toEqual([...new Set(values)].sort());
  });
});
