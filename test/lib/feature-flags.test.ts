/**
 * cdk.json decides every feature flag of the installed aws-cdk-lib (synth warned that 81 were not
 * configured): each at its recommended value, except the deviations below, each with its reason. An
 * upgrade that brings a new flag fails here until someone decides it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import { PROJECT_ROOT } from '../../lib/config';

const context = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;

/** Flags deliberately not at the recommended value. */
const DEVIATIONS: Record<string, { value: unknown; why: string }> = {
  '@aws-cdk/core:target-partitions': {
    value: ['aws'],
    why: 'the stacks target the commercial partition (cdk-nag and the tests check its ARNs)',
  },
  '@aws-cdk/core:defaultCrossStackReferences': {
    value: 'strong',
    why: "a domain stack's tables and alarms use the platform's bucket and topic: exports keep the platform from being deleted or replacing them under a domain (weak references would not), and the local cloud resolves exactly those imports",
  },
};

describe('feature flags (cdk.json)', () => {
  test('every flag aws-cdk-lib recommends is configured', () => {
    expect(Object.keys(CURRENTLY_RECOMMENDED_FLAGS).filter((flag) => !(flag in context))).toEqual([]);
  });

  test('each at its recommended value, but for the deviations listed with their reasons', () => {
    const differing = Object.entries(CURRENTLY_RECOMMENDED_FLAGS)
      .filter(([flag, value]) => JSON.stringify(context[flag]) !== JSON.stringify(value))
      .map(([flag]) => flag)
      .sort();
    expect(differing).toEqual(Object.keys(DEVIATIONS).sort());
    for (const [flag, { value }] of Object.entries(DEVIATIONS))
      expect([flag, context[flag]]).toEqual([flag, value]);
  });
});
