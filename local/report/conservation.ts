import type { Manifest } from '../../core/lake/manifest';

/** Every row of the file is accounted for, and what the manifest lists is really in silver. */
export function checkConservation(
  m: Manifest,
  silverKeys: ReadonlySet<string>,
): { ok: boolean; problems: string[] } {
  const problems: string[] = [];
  const { rows } = m;
  if (rows.in !== rows.out + rows.quarantined + rows.duplicates) {
    problems.push(
      `in ${rows.in} != out ${rows.out} + quarantined ${rows.quarantined} + duplicates ${rows.duplicates}`,
    );
  }
  const written = m.outputs.reduce((a, o) => a + o.rows, 0);
  if (written !== rows.out)
    problems.push(`silver files hold ${written} rows, the manifest says ${rows.out} out`);
  const byReason = Object.values(m.quarantinedByReason).reduce((a, n) => a + n, 0);
  if (byReason !== rows.quarantined) {
    problems.push(`quarantined by reason adds up to ${byReason}, not ${rows.quarantined}`);
  }
  if (rows.quarantined > 0 && m.quarantine?.rows !== undefined && m.quarantine.rows !== rows.quarantined) {
    problems.push(`the quarantine file holds ${m.quarantine.rows} rows, not ${rows.quarantined}`);
  }
  const missing = m.outputs.filter((o) => !silverKeys.has(o.key));
  if (missing.length > 0) problems.push(`missing from silver: ${missing.map((o) => o.key).join(', ')}`);
  return { ok: problems.length === 0, problems };
}
