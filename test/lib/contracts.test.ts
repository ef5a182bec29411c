/** The data contracts drive the bronze notification filters and the grants, and are validated at synth. */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { createMedallionApp } from '../../lib/medallion-app';
import { flattenReference } from '../../lib/nag';
import { asArray, logicalId, policyStatements, testContext } from '../support/cdk';

const FIXTURES = 'test/lib/fixtures';
// The sample gold models ref the sample datasets: not built over other contracts.
const appWith = (contractsDir: string) =>
  createMedallionApp({ context: testContext({ medallion: { contractsDir, gold: { enabled: false } } }) });

describe('two domains', () => {
  const { stack } = appWith(`${FIXTURES}/two-domains`);
  const t = Template.fromStack(stack);
  const bronze = logicalId(t, 'AWS::S3::Bucket', 'StorageBronze');

  test('one bronze notification filter per domain, nothing else', () => {
    const [notifications] = Object.values(
      t.findResources('Custom::S3BucketNotifications', { Properties: { BucketName: { Ref: bronze } } }),
    );
    const prefixes = notifications.Properties.NotificationConfiguration.QueueConfigurations.map(
      (c: { Filter: { Key: { FilterRules: { Name: string; Value: string }[] } } }) =>
        c.Filter.Key.FilterRules,
    );
    expect(prefixes).toEqual([
      [{ Name: 'prefix', Value: 'logistics/' }],
      [{ Name: 'prefix', Value: 'retail/' }],
    ]);
  });

  test("the transform reads exactly those bronze prefixes (its domains' datasets)", () => {
    const reads = policyStatements(t, 'BronzeToSilverTransformRoleDefaultPolicy')
      .filter((s) => asArray(s.Action).includes('s3:GetObject'))
      .flatMap((s) => asArray(s.Resource).map(flattenReference))
      .filter((r) => r.startsWith(`<${bronze}.`));
    expect(reads.sort()).toEqual([`<${bronze}.Arn>/logistics/*`, `<${bronze}.Arn>/retail/*`]);
  });

  test('with gold disabled nothing appends the arrivals to the history: silver keeps them (no expiry)', () => {
    const silver = t.findResources('AWS::S3::Bucket')[logicalId(t, 'AWS::S3::Bucket', 'StorageSilver')];
    const rules = silver.Properties.LifecycleConfiguration.Rules as { Id: string; Prefix?: string }[];
    expect(rules.filter((r) => r.Id.startsWith('expire-arrivals-'))).toEqual([]);
    expect(rules.filter((r) => r.Prefix !== undefined).map((r) => r.Prefix)).toEqual(['_commits/']);
  });

  test('pipeline resources are tagged with every domain', () => {
    const fn =
      t.findResources('AWS::Lambda::Function')[
        logicalId(t, 'AWS::Lambda::Function', 'BronzeToSilverTransformFunction')
      ];
    expect(fn.Properties.Tags).toContainEqual({ Key: 'domain', Value: 'logistics retail' });
  });
});

describe('synth fails clearly', () => {
  test('on an invalid contract, naming the file and the field', () => {
    expect(() => appWith(`${FIXTURES}/bad-contract`)).toThrow(
      /^medallion: invalid data contract .*bad-contract\/orders\.yaml:\n {2}- columns\[2\]\.type: decimal precision must be 1\.\.38, got 40$/,
    );
  });

  test('on a directory without contracts, or no directory', () => {
    expect(() => appWith(`${FIXTURES}/empty`)).toThrow(
      /^medallion: no data contract .* in .*fixtures\/empty/,
    );
    expect(() => appWith(`${FIXTURES}/missing`)).toThrow(
      /^medallion: cannot read the data contracts in .*missing: ENOENT/,
    );
  });

  test('never on a contracts directory outside the repository (another app keeps its own)', () => {
    const outside = mkdtempSync(join(tmpdir(), 'medallion-contracts-'));
    try {
      cpSync(join(__dirname, 'fixtures', 'two-domains'), outside, { recursive: true });
      expect(() => appWith(outside)).not.toThrow();
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
