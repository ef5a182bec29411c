/**
 * Gold model tests in the gold workflow: a tested model's candidate is staged in `<database>_staging`,
 * tested by one Athena query whose results come back through GetQueryResults, and published only when no
 * test failed (else the model's alarm, error GoldTestFailed); full and incremental models; IAM scoped to
 * the staging table and what the tests read; valid ASL; cdk-nag clean. Models without tests are unchanged.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, type Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type ModelTestContext, parseModelTest } from '../../../core/gold/model-tests';
import type { GoldModel } from '../../../core/gold/models';
import { WINDOW_MARKER } from '../../../core/gold/models';
import { GoldPlanner } from '../../../lib/gold/gold-planner';
import { asArray, definitionOf } from '../../support/cdk';
import {
  allStates,
  build,
  DATABASE,
  type Json,
  MODELS,
  WORKGROUP,
  walk,
  workflowIam,
} from '../../support/cdk-gold-workflow';
import { itemsContract } from '../../support/items-contract';

// asl-validator ships no types: (definition) => { isValid, errorsText(separator) }.
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

const STAGING = `${DATABASE}_staging`;
const context = (model: string): ModelTestContext => ({
  model,
  columns: [
    { name: 'id', type: 'string' },
    { name: 'n', type: 'bigint' },
    { name: 'd', type: 'date' },
  ],
  goldModels: new Map([['a', ['id']]]),
  silverTables: new Set(['orders']),
});
const tests = (model: string, ...values: string[]) =>
  values.flatMap((v) => parseModelTest(v, 3, context(model)));

/** The fixture's models with tests on `c` (it reads a and b): one relationship to gold, one to silver. */
const TESTED: GoldModel[] = MODELS.map((m) =>
  m.name === 'c'
    ? {
        ...m,
        tests: tests(
          'c',
          'unique(id)',
          'not_null(id)',
          'relationships(id, a.id)',
          'relationships(id, orders.id)',
          'expression(n >= 0)',
        ),
      }
    : m,
);

const daily: GoldModel = {
  name: 'daily',
  sql: `SELECT n, d FROM "${DATABASE}"."orders"`,
  dependsOn: [],
  incremental: {
    column: 'd',
    lookbackDays: 1,
    alignedTables: ['orders'],
    otherTables: [],
    windowSql: `SELECT n, d FROM (SELECT * FROM "${DATABASE}"."orders" WHERE "dt" IN (${WINDOW_MARKER}))`,
    outputColumns: ['n', 'd'],
    columns: [{ Name: 'n', Type: 'bigint' }],
  },
  tests: tests('daily', 'not_null(d)', 'expression(n > 0)'),
};
const planner = (stack: Stack) =>
  new lambda.Function(stack, 'Planner', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    timeout: Duration.minutes(1),
  });

/** A branch starts with the model's version, or with the check of the gold models it reads. */
const startsModel = (b: Json, model: string) =>
  b.StartAt === `${model}: version` || b.StartAt === `${model}: upstream`;

const statesOf = (def: Json, model: string) => {
  const wave = Object.values(def.States as Record<string, Json>).find(
    (s) => s.Type === 'Parallel' && s.Branches.some((b: Json) => startsModel(b, model)),
  );
  const branch = wave.Branches.find((b: Json) => startsModel(b, model));
  return { branch, states: Object.fromEntries(allStates(branch).map((s) => [s.name, s.state])) };
};

describe('a full model with tests', () => {
  const built = build({ models: TESTED });
  const t = built.template();
  const def = definitionOf(t) as Json;
  const { branch, states } = statesOf(def, 'c');
  const next = (n: string) => states[`c: ${n}`].Next;

  test('the definition is valid ASL', () => {
    const { isValid, errorsText } = aslValidator(structuredClone(def));
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  test('write, the definition to publish, stage it, test it, then publish only when nothing failed', () => {
    expect(
      walk(branch.States, branch.StartAt).filter(
        (n) => !/: (alarm|failed|upstream|upstream published\?|skipped)$/.test(n),
      ),
    ).toEqual([
      'c: version',
      'c: write',
      'c: read table',
      'c: merge',
      'c: has owner?',
      'c: input+owner',
      'c: input',
      'c: clear staging',
      'c: create staging',
      'c: test',
      'c: test results',
      'c: tests passed?',
      'c: publish',
      'c: tests failed',
      'c: metric',
      'c: done',
    ]);
    expect(next('input')).toBe('c: clear staging');
    expect(next('input+owner')).toBe('c: clear staging');
    expect(next('clear staging')).toBe('c: create staging');
    expect(next('create staging')).toBe('c: test');
    expect(next('test')).toBe('c: test results');
    expect(next('test results')).toBe('c: tests passed?');
    expect(states['c: tests passed?']).toMatchObject({
      Choices: [{ Variable: '$.tests.failed', StringEquals: '0', Next: 'c: publish' }],
      Default: 'c: tests failed',
    });
    expect(next('tests failed')).toBe('c: alarm');
    expect(states['c: publish'].Next).toBe('c: metric');
  });

  test('the staging table is dropped (absent is fine), then created from the definition to publish', () => {
    const clear = states['c: clear staging'];
    expect(clear).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:glue:deleteTable',
      Parameters: { DatabaseName: STAGING, Name: 'c' },
    });
    expect(clear.Catch.map((c: Json) => [c.ErrorEquals, c.Next])).toEqual([
      [['Glue.EntityNotFoundException'], 'c: create staging'],
      [['States.ALL'], 'c: alarm'],
    ]);
    const create = states['c: create staging'];
    expect(create).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:glue:createTable',
      Parameters: { DatabaseName: STAGING, 'TableInput.$': '$.tableInput' },
    });
    // A retry whose first attempt created it: on to the test.
    expect(create.Catch[0]).toMatchObject({ ErrorEquals: ['Glue.AlreadyExistsException'], Next: 'c: test' });
    // Permanent Glue errors are not retried; the others are.
    expect(create.Retry[0]).toMatchObject({ MaxAttempts: 0 });
    expect(create.Retry[1]).toMatchObject({ ErrorEquals: ['States.TaskFailed'], MaxAttempts: 5 });
  });

  test('one Athena query over the staging table; its one row read with GetQueryResults', () => {
    const query = states['c: test'];
    expect(query.Resource).toBe('arn:aws:states:::athena:startQueryExecution.sync');
    const sql: string = query.Parameters.QueryString;
    expect(query.Parameters['QueryString.$']).toBeUndefined();
    expect(query.Parameters.WorkGroup).toBe(WORKGROUP);
    expect(sql).toContain(`FROM "${STAGING}"."c"`);
    expect(sql).toContain(`FROM "${DATABASE}"."a" parent`);
    expect(sql).toContain(`FROM "${DATABASE}"."orders" parent`);
    expect(sql).toContain("'; expression(n >= 0): '");
    expect(query.Catch[0].Next).toBe('c: alarm');
    const results = states['c: test results'];
    expect(results).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:athena:getQueryResults',
      Parameters: { 'QueryExecutionId.$': '$.testQuery.QueryExecutionId' },
      ResultSelector: {
        'failed.$': '$.ResultSet.Rows[1].Data[0].VarCharValue',
        'failures.$': '$.ResultSet.Rows[1].Data[1].VarCharValue',
        'results.$': '$.ResultSet.Rows[1].Data[2].VarCharValue',
      },
      ResultPath: '$.tests',
    });
    expect(results.Catch[0].Next).toBe('c: alarm');
  });

  test('a failure is the error GoldTestFailed, its cause the failing tests with their counts', () => {
    const failed = states['c: tests failed'];
    expect(failed.Parameters.Error).toBe('GoldTestFailed');
    expect(failed.Parameters['Cause.$']).toBe(
      `States.Format('{} of 5 test(s) failed: {}. Every count: {}. Not published: the version {} stays queryable as ${STAGING}.c until the next run.', $.tests.failed, $.tests.failures, $.tests.results, $.location)`,
    );
    expect(failed.ResultPath).toBe('$.error');
    // The alarm sends $.error's Error and Cause, as for any other failure of the model.
    expect(states['c: alarm'].Parameters.Message).toMatchObject({
      'error.$': '$.error.Error',
      'cause.$': '$.error.Cause',
    });
  });

  test('models without tests are published right after the write, as before', () => {
    const { states: a } = statesOf(def, 'a');
    expect(a['a: input'].Next).toBe('a: publish');
    expect(Object.keys(a).some((n) => n.includes('staging') || n.includes('test'))).toBe(false);
  });

  test('the staging database exists before the state machine', () => {
    const dbs = t.findResources('AWS::Glue::Database');
    const [id, db] = Object.entries(dbs)[0] as [string, Json];
    expect(Object.keys(dbs)).toHaveLength(1);
    expect(db.Properties.DatabaseInput.Name).toBe(STAGING);
    const machine = Object.values(t.findResources('AWS::StepFunctions::StateMachine'))[0] as Json;
    expect(machine.DependsOn).toContain(id);
    expect(built.workflow.modelTests?.databaseName).toBe(STAGING);
    // Without a tested model there is no staging database.
    expect(Object.keys(build().template().findResources('AWS::Glue::Database'))).toEqual([]);
  });

  test('IAM: Glue writes on the staging table only; the test reads it, its candidate and its relationships', () => {
    const { resourcesOf, mine } = workflowIam(t);
    for (const action of ['glue:DeleteTable', 'glue:CreateTable']) {
      const tables = resourcesOf(action).filter((r) => r.includes(':table/'));
      expect([action, tables]).toEqual([action, [expect.stringContaining(`:table/${STAGING}/c"`)]]);
    }
    expect(resourcesOf('glue:UpdateTable').some((r) => r.includes(STAGING))).toBe(false);
    expect(resourcesOf('athena:GetQueryResults')).toEqual([
      expect.stringContaining(`:workgroup/${WORKGROUP}`),
    ]);
    const getTable = resourcesOf('glue:GetTable').join(' ');
    expect(getTable).toContain(`:table/${STAGING}/c"`);
    expect(getTable).toContain(`:table/${DATABASE}/a"`);
    expect(getTable).toContain(`:table/${DATABASE}/orders"`);
    const reads = mine
      .filter((s) => asArray(s.Action).includes('s3:GetObject'))
      .map((s) => JSON.stringify(s.Resource))
      .join(' ');
    expect(reads).toContain('/c/*');
    expect(reads).toContain('/a/*');
  });
});

describe('an incremental model with tests', () => {
  const t = build((stack) => ({ models: [daily], goldPlanner: planner(stack) })).template();
  const def = definitionOf(t) as Json;
  const { branch, states } = statesOf(def, 'daily');
  const next = (n: string) => states[`daily: ${n}`].Next;

  test('the definition is valid ASL', () => {
    const { isValid, errorsText } = aslValidator(structuredClone(def));
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  test('after the write, its partitions are staged and tested before the first partition is switched', () => {
    expect(next('write')).toBe('daily: test needed?');
    expect(states['daily: test needed?']).toMatchObject({
      Choices: [{ Variable: '$.plan.statements[0]', IsPresent: true, Next: 'daily: clear staging' }],
      Default: 'daily: first batch',
    });
    expect(['clear staging', 'create staging', 'first staged', 'stage list'].map(next)).toEqual([
      'daily: create staging',
      'daily: first staged',
      'daily: stage list',
      'daily: any to stage?',
    ]);
    expect(states['daily: any to stage?']).toMatchObject({
      Choices: [{ Variable: '$.stage.create[0]', IsPresent: true, Next: 'daily: stage batch' }],
      Default: 'daily: more to stage?',
    });
    expect(next('stage batch')).toBe('daily: more to stage?');
    expect(states['daily: more to stage?']).toMatchObject({
      Choices: [{ Variable: '$.stage.more', BooleanEquals: true, Next: 'daily: stage list' }],
      Default: 'daily: test',
    });
    expect(states['daily: tests passed?'].Choices[0].Next).toBe('daily: first batch');
    expect(states['daily: tests passed?'].Default).toBe('daily: tests failed');
    expect(walk(branch.States, branch.StartAt)).toContain('daily: create partitions');
  });

  test('the staging table is the model’s partitioned table, its partitions those the planner would publish', () => {
    expect(states['daily: create staging'].Parameters).toEqual({
      DatabaseName: STAGING,
      TableInput: {
        Name: 'daily',
        TableType: 'EXTERNAL_TABLE',
        Parameters: { EXTERNAL: 'TRUE', classification: 'parquet' },
        PartitionKeys: [{ Name: 'd', Type: 'date' }],
        StorageDescriptor: {
          'Location.$': '$.location',
          Columns: [{ Name: 'n', Type: 'bigint' }],
          InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          SerdeInfo: {
            SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
            Parameters: { 'serialization.format': '1' },
          },
        },
      },
    });
    expect(states['daily: stage list'].Parameters.Payload).toMatchObject({
      action: 'stage',
      'model.$': '$.spec',
      'batch.$': '$.stage.next',
    });
    expect(states['daily: stage batch']).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:glue:batchCreatePartition',
      Parameters: { DatabaseName: STAGING, TableName: 'daily', 'PartitionInputList.$': '$.stage.create' },
    });
    for (const n of [
      'clear staging',
      'create staging',
      'stage list',
      'stage batch',
      'test',
      'test results',
    ]) {
      expect([n, states[`daily: ${n}`].Catch.at(-1).Next]).toEqual([n, 'daily: alarm']);
    }
    const { resourcesOf } = workflowIam(t);
    const staged = resourcesOf('glue:BatchCreatePartition').filter((r) => r.includes(`:table/${STAGING}`));
    expect(staged).toEqual([expect.stringContaining(`:table/${STAGING}/daily"`)]);
  });
});

describe('cdk-nag AwsSolutions', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'medallion-model-tests-nag-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const check = (extra: Parameters<typeof build>[0], dir: string) => {
    const outdir = join(tmp, dir);
    const { app } = build(extra, outdir);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
    const report = (
      JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
        pluginReports: { pluginName: string; conclusion: string; violations: unknown[] }[];
      }
    ).pluginReports.find((r) => r.pluginName === 'AwsSolutions');
    expect(report?.conclusion).toBe('success');
    expect(report?.violations).toEqual([]);
  };

  test('full models with tests (relationships to gold and silver): no unacknowledged finding', () => {
    check({ models: TESTED }, 'full');
    check({ models: TESTED, silverPrefixes: ['retail/orders/'], sourceTables: ['orders'] }, 'narrowed');
  });

  test('an incremental model with tests: no unacknowledged finding', () => {
    check(
      (stack, storage) => ({
        models: [daily],
        goldPlanner: new GoldPlanner(stack, 'GoldPlanner', {
          contractsDir: 'samples/contracts',
          contracts: [itemsContract()],
          silverBucket: storage.silverBucket,
          goldBucket: storage.goldBucket,
          key: storage.key,
          models: ['daily'],
        }).function,
      }),
      'incremental',
    );
  });
});
