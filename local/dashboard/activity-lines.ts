/**
 * One line per activity, as `medallion local` prints them: short, one line each whatever the error says,
 * and stable (scripts and tests match on them).
 *
 *   landed retail/orders/orders-2.csv -> bronze (1.2 KB)
 *   transformed retail/orders/orders-2.csv: 120 rows in, 118 out, 2 quarantined (order_id|required 2)
 *   quarantined file retail/orders/bad.csv: the file has no header row
 *   gold run local-20261207T000608887Z: published 3 models (category_sales, daily_sales, top_products)
 */
import type { PipelineActivity, RowCounts } from './activity';

/** Longest error or reason quoted in a line. */
const MAX_DETAIL_CHARS = 200;
/** Quarantine reasons named in a transformed line; the rest are counted. */
const REASONS_SHOWN = 3;

/** The line for one activity. */
export function activityLine(a: PipelineActivity): string {
  switch (a.kind) {
    case 'landed':
      return a.duplicate
        ? `landed a copy of ${a.name} (${formatBytes(a.bytes)}): already in bronze, nothing new stored`
        : `landed ${a.name} -> bronze (${formatBytes(a.bytes)})`;
    case 'transformed':
      return a.status === 'quarantined'
        ? `quarantined file ${a.name}: ${detail(a.reason ?? 'rejected by the transform')}`
        : `transformed ${a.name}: ${rowsText(a.rows, a.quarantinedByReason)}`;
    case 'unrouted':
      return `quarantined file ${a.name}: ${detail(a.reason)}`;
    case 'landing-failed':
      return `landing failed ${a.name}: ${detail(a.error)}`;
    case 'dead-lettered':
      return `dead-lettered ${a.names.join(', ') || 'a message'}: ${detail(a.error)}`;
    case 'gold-run':
      return `gold run ${a.execution}: published ${plural(a.models.length, 'model')} (${a.models.join(', ')})`;
  }
}

/** `120 rows in, 118 out, 2 quarantined (order_id|required 2), 1 duplicate`. */
function rowsText(rows: RowCounts, byReason: Readonly<Record<string, number>>): string {
  const reasons = Object.entries(byReason).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  const named = reasons.slice(0, REASONS_SHOWN).map(([reason, n]) => `${reason} ${n}`);
  if (reasons.length > REASONS_SHOWN) named.push(`+${reasons.length - REASONS_SHOWN} more`);
  return [
    `${plural(rows.in, 'row')} in`,
    `${rows.out} out`,
    `${rows.quarantined} quarantined${named.length > 0 ? ` (${named.join(', ')})` : ''}`,
    ...(rows.duplicates > 0 ? [plural(rows.duplicates, 'duplicate')] : []),
  ].join(', ');
}

/** An error or reason on one line, cut to a readable length. */
function detail(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_DETAIL_CHARS ? `${line.slice(0, MAX_DETAIL_CHARS - 3)}...` : line;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** `354 B`, `1.2 KB`, `3.4 MB`, `1.0 GB` (powers of 1024). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
