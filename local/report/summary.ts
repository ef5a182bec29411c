import { formatGoldFailures } from '../gold/gold-failures';
import { displayPath } from './display-path';
import type { PipelineReport } from './pipeline-report';

/** The human-readable summary printed after a run. */
export function formatSummary(r: PipelineReport): string[] {
  const lines: string[] = [''];
  const table: string[][] = [['dataset', 'files', 'rows in', 'out', 'quarantined', 'duplicates']];
  for (const d of r.datasets) {
    table.push([
      `${d.domain}/${d.dataset}`,
      ...[d.files, d.rows.in, d.rows.out, d.rows.quarantined, d.rows.duplicates].map(String),
    ]);
  }
  const t = r.totals.rows;
  table.push(['total', ...[r.totals.files, t.in, t.out, t.quarantined, t.duplicates].map(String)]);
  lines.push(...alignTable(table));

  lines.push('', 'quarantined rows by reason (column|rule):');
  for (const d of r.datasets) {
    const reasons = Object.entries(d.quarantinedByReason).sort(([a], [b]) => a.localeCompare(b));
    lines.push(
      `  ${d.domain}/${d.dataset}: ${reasons.length ? reasons.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}`,
    );
  }
  lines.push('', 'silver partitions (rows):');
  for (const d of r.datasets) {
    const parts = Object.entries(d.partitions).sort(([a], [b]) => a.localeCompare(b));
    lines.push(
      `  ${d.domain}/${d.dataset}: ${parts.length ? parts.map(([p, n]) => `dt=${p} (${n})`).join(', ') : 'none'}`,
    );
  }

  lines.push('', 'conservation per file (in = out + quarantined + duplicates, from silver _manifests/):');
  const fileRows = r.files.map((f) => {
    const x = f.rows;
    const equation = f.status === 'missing' ? '-' : `${x.in} = ${x.out} + ${x.quarantined} + ${x.duplicates}`;
    const notes = [
      f.landing === 'already-landed' ? 'already in bronze' : '',
      f.status === 'quarantined' ? `FILE QUARANTINED: ${f.reason ?? ''}` : '',
      ...f.conservation.problems,
    ].filter(Boolean);
    return [f.conservation.ok ? 'ok' : 'FAIL', f.path, `via ${f.door}`, equation, notes.join('; ')];
  });
  lines.push(...alignTable(fileRows, false).map((l) => `  ${l}`));

  lines.push('');
  if (r.deadLetters.length === 0) lines.push('dead-lettered messages: none');
  else {
    lines.push(`dead-lettered messages: ${r.deadLetters.length}`);
    for (const d of r.deadLetters) {
      lines.push(
        `  ${d.keys.join(', ') || d.messageId} after ${d.receiveCount} receives${d.lastError ? `: ${d.lastError}` : ''}`,
      );
    }
  }
  if (r.landingFailures.length > 0) {
    lines.push(`landing failures: ${r.landingFailures.length}`);
    for (const f of r.landingFailures) lines.push(`  ${f.path}: ${f.error}`);
  }
  if (!r.ok && r.functionLogs) lines.push(`function logs: ${displayPath(r.functionLogs)}`);
  if (r.gold) {
    const g = r.gold;
    lines.push('', `gold (execution ${g.executionName}): ${g.status}${g.error ? ` - ${g.error}` : ''}`);
    if (g.skipped) lines.push(`skipped: run ${g.skipped.join(', ')} in progress (one gold run at a time)`);
    const current = Object.entries(g.currentState);
    if (current.length > 0) {
      lines.push('current state (one row per key; every version stays in <dataset>_history):');
      const width = Math.max(...current.map(([d]) => d.length));
      for (const [dataset, c] of current) {
        lines.push(`  ${dataset.padEnd(width)}  ${c.keys} key(s), ${c.versions} version(s) in history`);
      }
    }
    // A stage before the models (an engine's setup) that failed: no model ran.
    const stage = (g.failures ?? []).find((f) => f.stage);
    for (const [table, t] of Object.entries(g.tables)) {
      const read = t.bytesRead === undefined ? '' : `, ${formatBytes(t.bytesRead)} read`;
      const failed = (g.failures ?? []).some((f) => f.model === table);
      const earlier =
        t.location === undefined || t.location.includes('/_unpublished/')
          ? 'no earlier version'
          : `${t.location} (an earlier run's version) stays published`;
      const where =
        t.publishedNow === false
          ? `not published: ${failed ? 'it failed (below)' : stage ? `gold ${stage.model} failed first (below)` : 'skipped: a gold model it reads did not publish in this run'}; ${earlier}`
          : t.plan
            ? `${t.plan.mode}${t.plan.mode === 'incremental' ? ` (${t.plan.dates} date(s) recomputed)` : ''}: ${t.plan.reason}`
            : `published at ${t.location ?? '(never)'}`;
      const reads = t.sources && t.sources.length > 0 ? ` (reads ${t.sources.join(', ')})` : '';
      lines.push(`${table}: ${t.rows} row(s)${read}, ${where}${reads}`, ...t.preview);
    }
    lines.push(...formatGoldFailures(g.failures ?? [], displayPath));
    if (g.alarms) lines.push(`alarms raised: ${g.alarms}`);
  }
  if (r.slos && r.slos.length > 0) {
    lines.push(
      '',
      'data products (SLIs of this run against their SLOs):',
      ...r.slos.map((s) => `  ${s.line}`),
    );
  }
  if (r.wouldAlarm) lines.push('', ...wouldAlarmLines(r.wouldAlarm, r.alarmStates ?? []));
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const tm = r.timingsMs;
  const goldAndAlarms =
    (tm.gold === undefined ? '' : `, gold ${s(tm.gold)}`) +
    (tm.alarms === undefined ? '' : `, alarms ${s(tm.alarms)}`);
  lines.push(
    `wall time ${s(tm.total)} (start ${s(tm.start)}, ingest ${s(tm.ingest)}, transform ${s(tm.transform)}${goldAndAlarms}, report ${s(tm.report)})`,
  );
  lines.push(r.ok ? 'OK' : 'FAILED');
  return lines;
}

/** `would alarm: <line>` per alarm AWS would have raised, or one line saying none would. */
function wouldAlarmLines(wouldAlarm: readonly string[], states: readonly { state: string }[]): string[] {
  // SLO alerts come worded already (`would page: ...`, `would open a ticket: ...`).
  if (wouldAlarm.length > 0)
    return wouldAlarm.map((line) => (/^would /.test(line) ? line : `would alarm: ${line}`));
  const skipped = states.filter((a) => a.state === 'NOT_EVALUATED').length;
  const evaluated = states.length - skipped;
  return [`alarms: none would fire (${evaluated} evaluated, ${skipped} not evaluated locally)`];
}

/** Columns padded to their widest cell; with `numeric`, every column but the first is right-aligned. */
export function alignTable(rows: string[][], numeric = true): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (numeric && c > 0 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd(),
  );
}

/** Bytes as B, KiB, MiB or GiB with one decimal. */
function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}
