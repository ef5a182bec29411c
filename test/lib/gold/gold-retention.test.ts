import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { GoldRetention } from '../../../lib/gold/gold-retention';
import { LakeStorage } from '../../../lib/lake-storage';
import { asArray, definitionOf, identityStatements, testContext } from '../../support/cdk';
import { build } from '../../support/cdk-gold-workflow';

const CONTRACTS = join(__dirname, '..', '..', '..', 'samples', 'contracts');

function retention(models: string[], versionsKept?: number) {
  const app = new App({ context: testContext() });
  const stack = new Stack(app, 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  const storage = new LakeStorage(stack, 'Storage');
  const construct = new GoldRetention(stack, 'GoldRetention', {
    contractsDir: CONTRACTS,
    goldBucket: storage.goldBucket,
    key: storage.key,
    models,
    versionsKept,
  });
  return { construct, t: Template.fromStack(stack) };
}

describe('GoldRetention', () => {
  it('may delete only under the models’ prefixes and write only their registries; K comes from the props', () => {
    const { t } = retention(['daily_sales', 'category_sales'], 5);
    const statements = identityStatements(t)
      .filter(({ resource }) => resource.startsWith('GoldRetentionJanitor'))
      .map(({ statement }) => statement);
    const on = (action: string) =>
      statements
        .filter((s) => asArray(s.Action).includes(action))
        .flatMap((s) => asArray(s.Resource).map((r) => JSON.stringify(r)));
    expect(
      on('s3:DeleteObject')
        .map((r) => /\/([a-z_]+)\/\*"/.exec(r)?.[1])
        .sort(),
    ).toEqual(['category_sales', 'daily_sales']);
    expect(
      on('s3:PutObject')
        .map((r) => /\/([a-z_]+\/_published\.json)"/.exec(r)?.[1])
        .sort(),
    ).toEqual(['category_sales/_published.json', 'daily_sales/_published.json']);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { MEDALLION_GOLD_VERSIONS_KEPT: '5' } },
    });
  });

  it('refuses to keep fewer than one version', () => {
    expect(() => retention(['a'], 0)).toThrow('versionsKept must be at least 1');
  });
});

describe('the gold workflow with retention', () => {
  it('runs retention once every model published (before the freshness metric); its failure does not fail the run', () => {
    const janitor = lambda.Function.fromFunctionArn(
      new Stack(new App(), 'Elsewhere'),
      'Janitor',
      'arn:aws:lambda:eu-west-1:111111111111:function:janitor',
    );
    const { workflow, template } = build({ retention: janitor });
    expect(workflow).toBeDefined();
    const def = definitionOf(template());
    // It records this run's version as every model's newest: only when all published (a failed model's
    // table still reads an older version, which must stay).
    expect(def.States['wave 3'].Next).toBe('gold: outcomes');
    expect(def.States['gold: all published?'].Choices[0].Next).toBe('retention: old versions');
    expect(def.States['gold: all published?'].Default).toBe('gold: models failed');
    const task = def.States['retention: old versions'];
    expect(task.Resource).toBe('arn:aws:states:::lambda:invoke');
    expect(task.Parameters.Payload).toEqual({
      'executionName.$': '$$.Execution.Name',
      models: ['c', 'a', 'b'],
    });
    expect(task.Next).toBe('metric: gold published');
    expect(task.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.retentionError', Next: 'metric: gold published' },
    ]);
  });
});
