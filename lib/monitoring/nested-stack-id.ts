/** Logical ids of the nested stacks a domain's stack holds (its products' SLO alarms, its budgets). */
import { createHash } from 'node:crypto';

/**
 * A nested stack's logical id in its parent: `<prefix><name><hash of key>`. Short (CloudFormation names
 * a nested stack `<parent>-<logical id>-<suffix>`, at most 128 characters, and CDK's default id repeats
 * the construct path twice), fixed by `name` and `key` alone (a product keeps its stack), and unique
 * across the lake's stacks (the local cloud merges them).
 */
export function nestedStackLogicalId(prefix: string, name: string, key: string): string {
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 8).toUpperCase();
  return `${prefix}${name.replace(/[^A-Za-z0-9]/g, '').slice(0, 40)}${hash}`;
}
