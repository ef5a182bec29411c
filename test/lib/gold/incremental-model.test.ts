/**
 * An incremental model's branch in the gold workflow: plan, write (one UNLOAD at a time), publish the
 * partitions batch by batch with Glue's batch calls (create, switch, delete), commit; every task into the
 * model's alarm; IAM on the model's table only; the planner's own grants; cdk-nag clean.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, type Stack, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { GoldModel } from '../../../core/gold/models';
import { WINDOW_MARKER } from '../../../core/gold/models';
import { GoldPlanner } from '../../../lib/gold/gold-planner';
import type { LakeStorage } from '../../../lib/lake-storage';
import { asArray, definitionOf } from '../../support/cdk';
import { allStates, build, DATABASE, type Json, walk, workflowIam } from '../../support/cdk-gold-workflow';
import { itemsContract } from '../../support/items-contract';

const daily: GoldModel = {
  name: 'daily',
  sql: `SELECT d, n FROM "${DATABASE}"."orders"`,
  dependsOn: [],
  incremental: {
    column: 'd',
    lookbackDays: 1,
    alignedTables: ['orders'],
    otherTables: [],
    windowSql: `SELECT d, n FROM (SELECT * FROM "${DATABASE}"."orders" WHERE "dt" IN (${WINDOW_MARKER}))`,
    outputColumns: ['n', 'd'],
    columns: [{ Name: 'n', Type: 'bigint' }],
  },
};

describe('an incremental model', () => {
  const built = build((stack) => ({
    models: [daily],
    goldPlanner: new lambda.Function(stack, 'Planner', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
      timeout: Duration.minutes(1),
    }),
  }));
  const t = built.template();
  const def = definitionOf(t) as Json;
  const branch = def.States['wave 1'].Branches[0];
  const states = Object.fromEntries(allStates(branch).map((s) => [s.name, s.state]));

  test('plans, writes, then publishes batch by batch, then commits', () => {
    const reached = walk(branch.States, branch.StartAt).filter((n) => !/: (alarm|failed)$/.test(n));
    expect(reached.sort()).toEqual(
      [
        'daily: version',
        'daily: plan',
        'daily: write',
        'daily: first batch',
        'daily: partitions',
        'daily: any written?',
        'daily: create partitions',
        'daily: switch partitions',
        'daily: switched?',
        'daily: switch failed',
        'daily: any to delete?',
        'daily: delete partitions',
        'daily: more partitions?',
        'daily: commit',
        'daily: metric',
        'daily: done',
      ].sort(),
    );
    const next = (n: string) => states[`daily: ${n}`].Next;
    expect(['version', 'plan', 'write', 'first batch', 'partitions'].map(next)).toEqual([
      'daily: plan',
      'daily: write',
      'daily: first batch',
      'daily: partitions',
      'daily: any written?',
    ]);
    expect(['create partitions', 'switch partitions', 'delete partitions'].map(next)).toEqual([
      'daily: switch partitions',
      'daily: switched?',
      'daily: more partitions?',
    ]);
    expect(states['daily: any written?'].Default).toBe('daily: any to delete?');
    expect(states['daily: more partitions?'].Default).toBe('daily: commit');
    expect(states['daily: version'].Parameters.spec).toMatchObject({
      name: 'daily',
      column: 'd',
      lookbackDays: 1,
    });
    expect(states['daily: plan'].Parameters.Payload).toMatchObject({
      action: 'plan',
      'model.$': '$.spec',
      'input.$': '$.execution',
    });
    expect(states['daily: more partitions?'].Choices[0]).toMatchObject({
      Variable: '$.step.more',
      BooleanEquals: true,
      Next: 'daily: partitions',
    });
  });

  test('the statements run one at a time on Athena (.sync), each a planner-written UNLOAD', () => {
    const write = states['daily: write'];
    expect(write).toMatchObject({ Type: 'Map', MaxConcurrency: 1, ItemsPath: '$.plan.statements' });
    const query = write.ItemProcessor.States['daily: write batch'];
    expect(query.Resource).toBe('arn:aws:states:::athena:startQueryExecution.sync');
    expect(query.Parameters['QueryString.$']).toBe('$.statement');
    expect(write.Catch[0].Next).toBe('daily: alarm');
  });

  test('Glue batch calls on the model table only, a per-partition switch failure goes to the alarm', () => {
    expect(states['daily: create partitions']).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:glue:batchCreatePartition',
      Parameters: { DatabaseName: DATABASE, TableName: 'daily', 'PartitionInputList.$': '$.step.create' },
    });
    expect(states['daily: switch partitions'].Parameters['Entries.$']).toBe('$.step.update');
    expect(states['daily: delete partitions'].Parameters['PartitionsToDelete.$']).toBe('$.step.delete');
    expect(states['daily: switched?'].Choices[0]).toMatchObject({
      Variable: '$.updated.Errors[0]',
      IsPresent: true,
      Next: 'daily: switch failed',
    });
    expect(states['daily: switch failed'].Next).toBe('daily: alarm');
    for (const n of [
      'plan',
      'partitions',
      'create partitions',
      'switch partitions',
      'delete partitions',
      'commit',
    ]) {
      expect([n, states[`daily: ${n}`].Catch?.[0]?.Next]).toEqual([n, 'daily: alarm']);
    }
    const { resourcesOf } = workflowIam(t);
    // AWS's documented Athena policy for Step Functions: the data catalog, and Lake Formation's data access.
    expect(resourcesOf('athena:GetDataCatalog').join(' ')).toContain('datacatalog/AwsDataCatalog');
    expect(resourcesOf('lakeformation:GetDataAccess')).toEqual(['"*"']);
    for (const action of [
      'glue:BatchCreatePartition',
      'glue:BatchUpdatePartition',
      'glue:BatchDeletePartition',
    ]) {
      const tables = resourcesOf(action).filter((r) => r.includes(':table/'));
      expect([action, tables.length, tables.every((r) => r.includes(`:table/${DATABASE}/daily`))]).toEqual([
        action,
        1,
        true,
      ]);
    }
  });

  test('without a planner, an incremental model is refused at synth', () => {
    expect(() => build({ models: [daily] })).toThrow(/model daily is incremental: pass goldPlanner/);
  });
});

/** Builds with cdk-nag's AwsSolutions as a validation plugin: synth throws on any unacknowledged finding. */
function synthWithNag(extra: Parameters<typeof build>[0]): void {
  const outdir = mkdtempSync(join(tmpdir(), 'medallion-incremental-nag-'));
  try {
    const { app } = build(extra, outdir);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    app.synth();
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('GoldPlanner', () => {
  const planner = (stack: Stack, storage: LakeStorage) => {
    const contract = itemsContract();
    return new GoldPlanner(stack, 'GoldPlanner', {
      contractsDir: 'samples/contracts',
      contracts: [contract],
      silverBucket: storage.silverBucket,
      goldBucket: storage.goldBucket,
      key: storage.key,
      models: ['daily'],
    }).function;
  };
  const t = build((stack, storage) => {
    planner(stack, storage);
    return {};
  }).template();

  test('reads commit logs and watermarks, writes only the models’ states, lists both buckets', () => {
    const policies = t.findResources('AWS::IAM::Policy', {
      Properties: { PolicyName: Match.stringLikeRegexp('GoldPlanner') },
    });
    const statements = Object.values(policies).flatMap(
      (p) => (p as Json).Properties.PolicyDocument.Statement,
    );
    const text = (s: Json) => JSON.stringify(s.Resource);
    const put = statements.filter((s: Json) => asArray(s.Action).includes('s3:PutObject'));
    expect(put).toHaveLength(1);
    expect(text(put[0])).toContain('daily/_incremental.json');
    const reads = statements
      .filter((s: Json) => asArray(s.Action).includes('s3:GetObject'))
      .map(text)
      .join(' ');
    expect(reads).toContain('_commits/');
    expect(reads).toContain('_state/current/');
    const listed = statements
      .filter((s: Json) => asArray(s.Action).includes('s3:ListBucket'))
      .map(text)
      .join(' ');
    expect(listed).toContain('StorageSilver');
    expect(listed).toContain('StorageGold');
  });

  test('cdk-nag: the planner and a workflow with an incremental model have no unacknowledged finding', () => {
    expect(() =>
      synthWithNag((stack, storage) => ({ models: [daily], goldPlanner: planner(stack, storage) })),
    ).not.toThrow();
  });
});
