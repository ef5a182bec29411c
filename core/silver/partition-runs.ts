/**
 * The set of a table's partition values kept as runs of consecutive values (`[first, last]`, inclusive):
 * a year of daily partitions is one run, so the set stays a few bytes however long the history grows,
 * and it still names every partition exactly. The history's partitions are kept this way in the
 * watermark: Athena lays Iceberg data files out under hashed prefixes, so they cannot be listed from S3.
 */
export type PartitionRun = readonly [first: string, last: string];
export type Granularity = 'day' | 'month';

/** The value after `value` (`YYYY-MM-DD` or `YYYY-MM`). */
export function nextPartition(value: string, granularity: Granularity): string {
  if (granularity === 'day') {
    const d = new Date(`${value}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString().slice(0, 10);
  }
  const [y, m] = value.split('-').map(Number);
  return m === 12
    ? `${String(y + 1).padStart(4, '0')}-01`
    : `${String(y).padStart(4, '0')}-${String(m + 1).padStart(2, '0')}`;
}

/** `runs` with `values` added, merged and sorted. */
export function addPartitions(
  runs: readonly PartitionRun[],
  values: readonly string[],
  granularity: Granularity,
): PartitionRun[] {
  const all = [
    ...runs.map((r) => [r[0], r[1]] as [string, string]),
    ...values.map((v) => [v, v] as [string, string]),
  ];
  all.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [string, string][] = [];
  for (const [first, last] of all) {
    const prev = out.at(-1);
    if (prev && (first <= prev[1] || first === nextPartition(prev[1], granularity))) {
      if (last > prev[1]) prev[1] = last;
    } else out.push([first, last]);
  }
  return out;
}

/** Every value the runs hold, in order. */
export function expandPartitions(runs: readonly PartitionRun[], granularity: Granularity): string[] {
  const values: string[] = [];
  for (const [first, last] of runs) {
    for (let v = first; v <= last; v = nextPartition(v, granularity)) values.push(v);
  }
  return values;
}
