/**
 * The deployed target's clients come from the SDK's usual environment: with `AWS_ENDPOINT_URL_S3` and
 * credentials pointing at a real local S3 server, its S3 door lands the sample there and the silver wait
 * finds the commit; the API is signed with the environment's credentials, in the API's region.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bronzeContentIndexKey, manifestKey, sourceId } from '../../../core/lake/layout';
import { startAwsTarget } from '../../../local/smoke/aws-target';
import { manifestProblem, uploadToLanding, waitForSilver } from '../../../local/smoke/lake-doors';
import { smokeSamples } from '../../../local/smoke/sample';
import { writeStackOutputs } from '../../../local/smoke/stack-outputs';
import { withLocalS3 } from '../../support/local-s3';

const SAMPLES = resolve(__dirname, '..', '..', '..', 'samples');
const s3 = withLocalS3(['prod-landing', 'prod-bronze', 'prod-silver']);

const outputs = (recordsUrl: string) => ({
  RecordsUrl: recordsUrl,
  LandingBucketName: 'prod-landing',
  BronzeBucketName: 'prod-bronze',
  SilverBucketName: 'prod-silver',
  GlueDatabaseName: 'medallion_prod',
  AthenaWorkGroupName: 'medallion-prod',
  AlarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:alarms',
  GoldStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:gold',
});

describe('the deployed target', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-aws-target-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const target = (recordsUrl: string) => {
    const file = join(dir, 'out.json');
    writeStackOutputs(file, 'Medallion-prod', outputs(recordsUrl));
    return startAwsTarget({ outputsFile: file, stack: 'Medallion-prod', pollMs: 20 });
  };

  it('lands the sample in the S3 of AWS_ENDPOINT_URL_S3 and waits for its silver commit', async () => {
    const t = target('https://abc.execute-api.eu-west-1.amazonaws.com/prod/datasets/{dataset}/records');
    try {
      const { s3: sample } = smokeSamples({
        contractsDir: join(SAMPLES, 'contracts'),
        dataDir: join(SAMPLES, 'data'),
        runId: '202611011200001234',
      });
      const uri = await uploadToLanding(t.s3, t.outputs.LandingBucketName, sample);
      expect(uri).toBe('s3://prod-landing/retail/orders/smoke-202611011200001234.csv');
      expect(await s3.get('prod-landing', 'retail/orders/smoke-202611011200001234.csv')).toEqual(sample.body);

      // What landing and the transform would write: the content index, then the manifest.
      const bronzeKey = `retail/orders/ingest_date=2026-11-01/${sample.sha256}.csv`;
      const waiting = waitForSilver(
        t.s3,
        { bronze: 'prod-bronze', silver: 'prod-silver' },
        sample,
        {},
        { pollMs: 20, timeoutMs: 10_000 },
      );
      await s3.put('prod-bronze', bronzeContentIndexKey('retail', 'orders', sample.sha256), bronzeKey);
      const manifest = {
        status: 'ok',
        rows: { in: 2, out: 2, quarantined: 0, duplicates: 0 },
        quarantinedByReason: {},
      };
      const key = manifestKey('retail', 'orders', sourceId('prod-bronze', bronzeKey));
      await s3.put('prod-silver', key, JSON.stringify(manifest));
      const committed = await waiting;
      expect(committed.bronzeKey).toBe(bronzeKey);
      expect(manifestProblem(committed.manifest, sample)).toBeUndefined();
      expect(
        manifestProblem(
          {
            ...committed.manifest,
            rows: { in: 2, out: 1, quarantined: 1, duplicates: 0 },
            quarantinedByReason: { 'currency|allowed': 1 },
          },
          sample,
        ),
      ).toBe('1/2 rows in silver, 1 quarantined (currency|allowed x1), 0 duplicate(s)');
    } finally {
      await t.close(false);
    }
  });

  it('gives up on silver after the timeout, saying what it waited for', async () => {
    const t = target('https://abc.execute-api.eu-west-1.amazonaws.com/prod/datasets/{dataset}/records');
    try {
      const { api } = smokeSamples({
        contractsDir: join(SAMPLES, 'contracts'),
        dataDir: join(SAMPLES, 'data'),
        runId: '1',
      });
      const buckets = { bronze: 'prod-bronze', silver: 'prod-silver' };
      await expect(waitForSilver(t.s3, buckets, api, {}, { pollMs: 20, timeoutMs: 100 })).rejects.toThrow(
        'nothing landed in bronze for smoke-1.ndjson after 0 s',
      );
      await expect(
        waitForSilver(
          t.s3,
          buckets,
          api,
          { bronzeKey: 'retail/customers/x.ndjson' },
          { pollMs: 20, timeoutMs: 100 },
        ),
      ).rejects.toThrow('no silver manifest for retail/customers/x.ndjson after 0 s');
    } finally {
      await t.close(false);
    }
  });

  it("signs the API with the environment's credentials, in the API's region (else the SDK's)", async () => {
    const deployed = target(
      'https://abc.execute-api.eu-west-1.amazonaws.com/prod/datasets/{dataset}/records',
    );
    const signing = await deployed.apiSigning();
    expect(signing.region).toBe('eu-west-1');
    expect(signing.credentials).toMatchObject({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
    await deployed.close(false);
    const custom = target('https://ingest.example.com/datasets/{dataset}/records');
    expect((await custom.apiSigning()).region).toBe(s3.env.AWS_REGION);
    await custom.close(false);
  });
});
