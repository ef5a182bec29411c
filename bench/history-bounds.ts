/**
 * The bounds `npm run bench:history` checks, as pure functions of what it measured: an incremental gold run
 * takes at most 1/20 of the full rebuild's time, and an incremental model reads at most the silver of its
 * lookback window plus the new day's.
 */

/** The `-- incremental: <column> lookback <N> day(s) [from <table>, ...]` header line of a gold model. */
export interface IncrementalHeader {
  readonly column: string;
  readonly lookbackDays: number;
  /** The tables named after `from`, if any. */
  readonly from?: readonly string[];
}

const INCREMENTAL =
  /^--\s*incremental\s*:\s*([a-z][a-z0-9_]*)\s+lookback\s+(\d{1,3})\s+days?(?:\s+from\s+(.+?))?\s*$/i;

/** The incremental header of a model file's text (its leading comment lines), or undefined. */
export function readIncrementalHeader(sqlText: string): IncrementalHeader | undefined {
  for (const line of sqlText.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (!trimmed.startsWith('--')) return undefined; // the header ends at the first SQL line
    const m = INCREMENTAL.exec(trimmed);
    if (!m) continue;
    const [, column, days, from] = m as unknown as [string, string, string, string | undefined];
    return {
      column,
      lookbackDays: Number(days),
      ...(from ? { from: from.split(',').map((t) => t.trim()) } : {}),
    };
  }
  return undefined;
}

const DAY_MS = 86_400_000;

/**
 * The `dt` days an incremental run may read for the changed days: a change in partition D recomputes the
 * gold dates D-N..D+N, each of which reads N days either side, so D-2N..D+2N. Sorted, without repeats.
 */
export function lookbackWindow(changedDays: Iterable<string>, lookbackDays: number): string[] {
  const days = new Set<string>();
  for (const day of changedDays) {
    const ms = Date.parse(`${day}T00:00:00Z`);
    if (Number.isNaN(ms)) throw new RangeError(`not a YYYY-MM-DD day: ${day}`);
    for (let k = -2 * lookbackDays; k <= 2 * lookbackDays; k++) {
      days.add(new Date(ms + k * DAY_MS).toISOString().slice(0, 10));
    }
  }
  return [...days].sort();
}

/** A silver object as listed: its key and size. */
export interface SilverObject {
  readonly key: string;
  readonly size: number;
}

/** The `dt=` partition a key lies in, or undefined. */
export function partitionOf(key: string): string | undefined {
  return /(?:^|\/)dt=([^/]+)\//.exec(key)?.[1];
}

/** Total size of the objects whose `dt` partition is one of `days`. */
export function bytesInDays(objects: readonly SilverObject[], days: Iterable<string>): number {
  const wanted = new Set(days);
  let bytes = 0;
  for (const o of objects) {
    const dt = partitionOf(o.key);
    if (dt !== undefined && wanted.has(dt)) bytes += o.size;
  }
  return bytes;
}

/** One checked bound: `ok` is null when it does not apply. */
export interface BoundCheck {
  readonly bound: string;
  readonly ok: boolean | null;
  readonly actual?: number;
  readonly limit?: number;
  readonly note: string;
}

/** The incremental run must take at most this share of the full rebuild's time. */
export const MAX_TIME_SHARE = 1 / 20;

/** What the bounds are checked against. */
export interface BoundInputs {
  /** Whole workflow runs: reported beside the bounds (they include the current-state MERGE and full models). */
  readonly fullRunMs: number;
  readonly incrementalRunMs: number;
  /**
   * Per model: its incremental header (undefined: a full model), the time its own queries took in the full
   * rebuild and in the incremental run, the bytes the incremental run read, and the bytes of the sources its
   * date does not follow (read whole by design, e.g. a products dimension).
   */
  readonly models: readonly {
    readonly name: string;
    readonly header?: IncrementalHeader;
    readonly fullQueryMs?: number;
    readonly incrementalQueryMs?: number;
    readonly bytesRead?: number;
    readonly otherSourcesBytes?: number;
  }[];
  /** The history's objects before the new day landed. */
  readonly historyBefore: readonly SilverObject[];
  /** The objects the new day's file added to the history. */
  readonly newDay: readonly SilverObject[];
}

/**
 * Per incremental model: its incremental queries take at most 1/20 of its full rebuild's, and read at
 * most the silver of the lookback window plus the new day (plus the sources its date does not follow,
 * read whole). The whole runs' ratio is reported, not bounded (`ok: null`): it includes the current-state
 * merge and the full models, whose cost is not the incremental model's.
 */
export function checkBounds(inputs: BoundInputs): BoundCheck[] {
  const checks: BoundCheck[] = [
    {
      bound: 'whole gold run: full rebuild / incremental',
      ok: null,
      actual: inputs.incrementalRunMs,
      limit: inputs.fullRunMs,
      note: `ms (reported: includes the current-state merge and the full models); ratio ${(inputs.fullRunMs / Math.max(1, inputs.incrementalRunMs)).toFixed(1)}x`,
    },
  ];
  const changed = [...new Set(inputs.newDay.map((o) => partitionOf(o.key)).filter((d) => d !== undefined))];
  const newBytes = inputs.newDay.reduce((sum, o) => sum + o.size, 0);
  for (const m of inputs.models) {
    if (!m.header) {
      checks.push({
        bound: `${m.name}: bounds`,
        ok: null,
        note: 'not applicable: a full model (no `-- incremental:` header)',
      });
      continue;
    }
    const timeLimit = (m.fullQueryMs ?? 0) * MAX_TIME_SHARE;
    checks.push({
      bound: `${m.name}: incremental time <= full rebuild / 20`,
      ok:
        m.incrementalQueryMs !== undefined &&
        m.fullQueryMs !== undefined &&
        m.incrementalQueryMs <= timeLimit,
      ...(m.incrementalQueryMs === undefined ? {} : { actual: m.incrementalQueryMs }),
      limit: Math.floor(timeLimit),
      note: `ms of its queries; ratio ${((m.fullQueryMs ?? 0) / Math.max(1, m.incrementalQueryMs ?? 0)).toFixed(1)}x`,
    });
    const window = lookbackWindow(changed, m.header.lookbackDays);
    const other = m.otherSourcesBytes ?? 0;
    const limit = bytesInDays(inputs.historyBefore, window) + newBytes + other;
    checks.push({
      bound: `${m.name}: bytes read <= lookback window + new day`,
      ok: m.bytesRead !== undefined && m.bytesRead <= limit,
      ...(m.bytesRead === undefined ? {} : { actual: m.bytesRead }),
      limit,
      note:
        `bytes; window ${window[0]}..${window[window.length - 1]} (${window.length} days around ${changed.length} changed)` +
        (other > 0 ? `, plus ${other} bytes of sources read whole` : '') +
        (m.bytesRead === undefined ? '; the model did not run' : ''),
    });
  }
  return checks;
}
