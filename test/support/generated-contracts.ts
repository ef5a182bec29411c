/**
 * A lake of many datasets for the scale tests: `domains` domains of `perDomain` datasets each, written as
 * contracts of ordinary shape (CSV and NDJSON, a key, `latestBy`, day or month partitions, a PII column,
 * checks) with ordinary names, so the templates they synthesize are the size real ones would be. With
 * `sla`, each is a data product (a version and an SLA on quality, freshness and completeness), so the
 * SLO alarms it brings are synthesized too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Business-sounding domain names (more are numbered). */
const DOMAINS = [
  'retail',
  'finance',
  'logistics',
  'marketing',
  'customer_care',
  'supply_chain',
  'human_resources',
  'manufacturing',
  'procurement',
  'web_analytics',
];

/** The name of domain `i` (0-based). */
export function generatedDomainName(i: number): string {
  return DOMAINS[i] ?? `domain_${String(i).padStart(3, '0')}`;
}

/** What {@link writeGeneratedContracts} writes. */
export interface GeneratedContractsOptions {
  readonly domains: number;
  readonly perDomain: number;
  /**
   * Every dataset a data product: `version: 1.0.0` and `sla: { freshness: 1 hour, quality: 99%,
   * completeness: 99.9% }`.
   * @default false
   */
  readonly sla?: boolean;
}

/** Writes the contracts into `dir` (created) and returns their `<domain>/<dataset>` ids. */
export function writeGeneratedContracts(dir: string, o: GeneratedContractsOptions): string[] {
  mkdirSync(dir, { recursive: true });
  const ids: string[] = [];
  for (let d = 0; d < o.domains; d++) {
    const domain = generatedDomainName(d);
    for (let i = 0; i < o.perDomain; i++) {
      const dataset = `${domain}_events_${String(i).padStart(3, '0')}`;
      const csv = i % 2 === 0;
      const yaml = [
        `domain: ${domain}`,
        `dataset: ${dataset}`,
        `description: Generated dataset ${i} of the ${domain} domain.`,
        `owner: ${domain.replace(/_/g, '-')}-data@example.com`,
        ...(o.sla
          ? ['version: 1.0.0', 'sla:', '  freshness: 1 hour', '  quality: 99%', '  completeness: 99.9%']
          : []),
        'source:',
        csv ? '  format: csv\n  csv:\n    header: true' : '  format: ndjson',
        'columns:',
        '  - name: event_id\n    type: string\n    required: true\n    checks:\n      regex: "^E-[0-9]+$"',
        '  - name: occurred_at\n    type: timestamp\n    required: true',
        '  - name: updated_at\n    type: timestamp\n    required: true',
        '  - name: account_id\n    type: string\n    required: true',
        '  - name: email\n    type: string\n    pii: hash',
        '  - name: amount\n    type: decimal(12,2)\n    checks:\n      min: 0',
        '  - name: status\n    type: string\n    normalize: [trim, lower]\n    checks:\n      allowed: [open, closed]',
        'primaryKey: [event_id]',
        'latestBy: updated_at',
        'partition:',
        '  column: occurred_at',
        `  granularity: ${i % 3 === 0 ? 'month' : 'day'}`,
        'quality:\n  maxQuarantineRatio: 0.1',
        '',
      ].join('\n');
      writeFileSync(join(dir, `${dataset}.yaml`), yaml);
      ids.push(`${domain}/${dataset}`);
    }
  }
  return ids;
}
