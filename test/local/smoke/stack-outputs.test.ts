/** The outputs file `cdk deploy --outputs-file` writes: read, and every problem named with its fix. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PipelineUsageError } from '../../../core/errors';
import { apiRegion } from '../../../local/smoke/aws-target';
import { REQUIRED_OUTPUTS, readStackOutputs, writeStackOutputs } from '../../../local/smoke/stack-outputs';

const OUTPUTS: Record<string, string> = {
  RecordsUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/datasets/{dataset}/records',
  LandingBucketName: 'medallion-prod-landing',
  BronzeBucketName: 'medallion-prod-bronze',
  SilverBucketName: 'medallion-prod-silver',
  QuarantineBucketName: 'medallion-prod-quarantine',
  GlueDatabaseName: 'medallion_prod',
  AthenaWorkGroupName: 'medallion-prod',
  AlarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:alarms',
  DashboardName: 'medallion-prod',
  GoldStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:medallion-prod-gold',
};

describe('readStackOutputs', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-outputs-'));
    file = join(dir, 'out.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const problem = (stack?: string): string => {
    try {
      readStackOutputs(file, stack);
    } catch (e) {
      expect(e).toBeInstanceOf(PipelineUsageError);
      return (e as Error).message;
    }
    throw new Error('expected a usage error');
  };

  it('reads the outputs of the named stack, and of the only stack when none is named', () => {
    writeStackOutputs(file, 'Medallion-prod', OUTPUTS);
    expect(readStackOutputs(file, 'Medallion-prod')).toEqual({ stack: 'Medallion-prod', outputs: OUTPUTS });
    expect(readStackOutputs(file).stack).toBe('Medallion-prod');
  });

  it('names a missing file and the deploy command that writes it', () => {
    expect(problem('Medallion-prod')).toBe(
      `outputs file ${file} does not exist: run \`npx cdk deploy --outputs-file ${file}\` (or pass the file it wrote)`,
    );
  });

  it('names a file that is not JSON', () => {
    writeFileSync(file, '{"Medallion-prod": {');
    expect(problem('Medallion-prod')).toMatch(
      new RegExp(`^outputs file ${file} is not JSON \\(.+\\): run \`npx cdk deploy --outputs-file`),
    );
  });

  it('names an unknown stack and the stacks the file holds', () => {
    writeStackOutputs(file, 'Medallion-dev', OUTPUTS);
    expect(problem('Medallion-prod')).toBe(
      `outputs file ${file} has no stack Medallion-prod (stacks: Medallion-dev): pass --stack with one of them, or deploy Medallion-prod with --outputs-file`,
    );
  });

  it("picks the platform stack among its domains' stacks, and asks for --stack when that is not enough", () => {
    const domain = { DashboardNames: 'medallion-prod-retail' };
    writeFileSync(file, JSON.stringify({ 'Medallion-prod-retail': domain, 'Medallion-prod': OUTPUTS }));
    expect(readStackOutputs(file).stack).toBe('Medallion-prod');
    writeFileSync(file, JSON.stringify({ 'Medallion-prod': OUTPUTS, 'Medallion-dev': OUTPUTS }));
    expect(problem()).toBe(
      `outputs file ${file} holds 2 stacks (Medallion-prod, Medallion-dev): choose one with --stack`,
    );
    expect(readStackOutputs(file, 'Medallion-dev').stack).toBe('Medallion-dev');
  });

  it('names a missing output, with what deploys it', () => {
    const { GoldStateMachineArn: _, ...withoutGold } = OUTPUTS;
    writeStackOutputs(file, 'Medallion-prod', withoutGold);
    expect(problem('Medallion-prod')).toBe(
      `stack Medallion-prod in ${file} has no output GoldStateMachineArn: the stack has no gold workflow: deploy it with gold models (gold.enabled, gold.modelsDir), then write the file again with \`npx cdk deploy Medallion-prod --outputs-file ${file}\``,
    );
    const { RecordsUrl: __, ...withoutApi } = OUTPUTS;
    writeStackOutputs(file, 'Medallion-prod', withoutApi);
    expect(problem('Medallion-prod')).toMatch(/has no output RecordsUrl: redeploy the current stack, then /);
  });

  it('requires every output the checks use', () => {
    expect([...REQUIRED_OUTPUTS].sort()).toEqual(
      [
        'AlarmTopicArn',
        'AthenaWorkGroupName',
        'BronzeBucketName',
        'GlueDatabaseName',
        'GoldStateMachineArn',
        'LandingBucketName',
        'RecordsUrl',
        'SilverBucketName',
      ].sort(),
    );
  });
});

describe('apiRegion', () => {
  it('reads the region of an API Gateway invoke URL, and nothing from another URL', () => {
    expect(apiRegion(OUTPUTS.RecordsUrl)).toBe('eu-west-1');
    expect(apiRegion('http://127.0.0.1:4567/datasets/{dataset}/records')).toBeUndefined();
  });
});
