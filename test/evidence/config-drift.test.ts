/**
 * Evidence, configuration drift: the stack `cdk synth` builds keeps its guarantees on every bucket and
 * grant, and the checker that says so does fail when one of them drifts.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { checkConfigDrift, type DriftFinding, synthesizeForDrift } from '../support/evidence/config-drift';
import { recordEvidence } from '../support/evidence/evidence';

const sorted = (findings: DriftFinding[]) =>
  findings.map((f) => `${f.check} ${f.resource}: ${f.detail}`).sort();

describe('scenario 26: configuration drift: every bucket TLS-only, public access blocked, encrypted and versioned; no wildcard action on a data bucket; zero unacknowledged cdk-nag findings', () => {
  it('the default configuration has no finding', () => {
    const t0 = Date.now();
    const synth = synthesizeForDrift();
    const buckets = Object.values(synth.template.Resources).filter((r) => r.Type === 'AWS::S3::Bucket');
    // Landing, bronze, silver, gold, quarantine, Athena results, access logs.
    expect(buckets).toHaveLength(7);
    expect(synth.nagViolations).toEqual([]);
    expect(synth.nagAcknowledged).toBeGreaterThan(0);
    expect(sorted(checkConfigDrift(synth))).toEqual([]);
    recordEvidence({ kind: 'note', scenario: 26, name: 'buckets checked', value: buckets.length });
    recordEvidence({ kind: 'note', scenario: 26, name: 'unacknowledged cdk-nag findings', value: 0 });
    recordEvidence({
      kind: 'note',
      scenario: 26,
      name: 'synth and check',
      value: Date.now() - t0,
      unit: 'ms',
    });
  });

  it('the production-like configuration (Object Lock, alarm e-mail) has no finding either', () => {
    const synth = synthesizeForDrift(undefined, {
      environment: 'prod',
      bronzeObjectLock: true,
      alarmEmail: 'ops@example.com',
    });
    expect(sorted(checkConfigDrift(synth))).toEqual([]);
  });

  it('the checker reports each drift introduced into a copy of the stack', () => {
    const synth = synthesizeForDrift(({ stack }) => {
      const { storage } = stack;
      // Versioning suspended on gold, one public-access setting relaxed on bronze.
      (storage.goldBucket.node.defaultChild as s3.CfnBucket).addPropertyOverride(
        'VersioningConfiguration.Status',
        'Suspended',
      );
      (storage.bronzeBucket.node.defaultChild as s3.CfnBucket).addPropertyOverride(
        'PublicAccessBlockConfiguration.RestrictPublicBuckets',
        false,
      );
      // A wildcard action on a silver prefix the transform is granted (its domain's), and an s3:Get* on
      // every bucket.
      stack.pipeline.transformFunction.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:*'],
          resources: [storage.silverBucket.arnForObjects('retail/*')],
        }),
      );
      stack.pipeline.landingFunction.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['s3:Get*'], resources: ['*'] }),
      );
      // A bucket added with the construct's defaults: none of the lake's settings.
      new s3.Bucket(stack, 'Scratch');
    });
    const findings = sorted(checkConfigDrift(synth)).map((f) => f.replace(/[0-9A-F]{8}\b/g, ''));
    expect(findings).toEqual([
      'bucket-encryption Scratch: no default encryption',
      'bucket-public-access Scratch: not true: BlockPublicAcls, BlockPublicPolicy, IgnorePublicAcls, RestrictPublicBuckets',
      'bucket-public-access StorageBronze: not true: RestrictPublicBuckets',
      'bucket-tls-only Scratch: no bucket policy denies s3:* to everyone when aws:SecureTransport is false',
      'bucket-versioning Scratch: versioning not configured',
      'bucket-versioning StorageGold: versioning Suspended',
      // cdk-nag sees the wildcards and the new bucket, not the relaxed settings of existing buckets.
      'cdk-nag Medallion-dev/BronzeToSilver/Landing/Role/DefaultPolicy/Resource: AwsSolutions-IAM5[Action::s3:Get*]',
      'cdk-nag Medallion-dev/BronzeToSilver/Transform/Role/DefaultPolicy/Resource: AwsSolutions-IAM5[Action::s3:*]',
      'cdk-nag Medallion-dev/Scratch/Resource: AwsSolutions-S1',
      'cdk-nag Medallion-dev/Scratch/Resource: AwsSolutions-S10',
      'data-bucket-wildcard BronzeToSilverLandingRoleDefaultPolicy: s3:Get* on landing, bronze, silver, gold, quarantine',
      'data-bucket-wildcard BronzeToSilverTransformRoleDefaultPolicy: s3:* on silver',
    ]);
    recordEvidence({
      kind: 'note',
      scenario: 26,
      name: 'drifts injected / findings reported',
      value: '5 / 12',
    });
  });
});
