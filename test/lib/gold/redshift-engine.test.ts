/**
 * The gold workflow on the Redshift engine: the synthesized states (setup before the first wave; per full
 * model build, unload, [tests], swap, then the Glue switch; every Data API statement polled until it
 * ends, FAILED/ABORTED/too long into the alarm), valid JSONPath ASL, runs on the offline runner's
 * interpreter with scripted Data API answers, IAM and cdk-nag, and the Athena workflow left as it was.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { loadContracts } from '../../../core/contracts/load-contracts';
import { type ModelTestContext, parseModelTest } from '../../../core/gold/model-tests';
import { type GoldModel, WINDOW_MARKER } from '../../../core/gold/models';
import {
  parseRedshiftUnload,
  redshiftBuildStatements,
  redshiftSchemaStatements,
  redshiftSwapStatements,
} from '../../../core/gold/redshift-sql';
import { CurrentStatePlanner } from '../../../lib/current-state';
import { GoldPlanner } from '../../../lib/gold/gold-planner';
import { modelTarget } from '../../../lib/gold/gold-tasks';
import { RedshiftEngine } from '../../../lib/gold/redshift-engine';
import { redshiftStatement } from '../../../lib/gold/redshift-statement';
import { asArray, definitionOf, logicalId, testContext } from '../../support/cdk';
import {
  allStates,
  build as buildAthenaWorkflow,
  DATABASE,
  type Json,
  MODELS,
  type State,
  sql,
  workflowIam,
} from '../../support/cdk-gold-workflow';
import { ADMIN_SECRET_ARN, buildRedshiftWorkflow, WORKGROUP_NAME } from '../../support/cdk-redshift-engine';
import { itemsContract } from '../../support/items-contract';
import { type Call, EXECUTION, runWorkflow } from '../../support/redshift-workflow-run';

// asl-validator ships no types: (definition) => { isValid, errorsText(separator) }.
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

const RETRYABLE = [
  'RedshiftData.ThrottlingException',
  'RedshiftData.InternalServerException',
  'RedshiftData.ActiveStatementsExceededException',
  'RedshiftData.ActiveSessionsExceededException',
  'RedshiftData.DatabaseConnectionException',
];

/** The state of a definition by name, branches included. */
const stateIn = (def: { States: Record<string, State> }) => {
  const states = Object.fromEntries(allStates(def).map((s) => [s.name, s.state]));
  return (name: string): State => {
    if (!states[name]) throw new Error(`no state ${name}`);
    return states[name];
  };
};

/** The states a run goes through when every statement FINISHED: FINISHED routes, else Next or Default. */
function happyPath(state: (name: string) => State, start: string): string[] {
  const path: string[] = [];
  for (let name: string | undefined = start; name; ) {
    path.push(name);
    const s = state(name);
    if (s.End || s.Type === 'Succeed' || s.Type === 'Fail') break;
    if (s.Type === 'Choice') {
      const finished = s.Choices.find((c: State) => c.StringEquals === 'FINISHED');
      name = finished ? finished.Next : s.Default;
    } else name = s.Next;
  }
  return path;
}

const loop = (step: string) => [step, `${step} wait`, `${step} status`, `${step} done?`];

describe('the gold workflow on Redshift', () => {
  const { t, report } = buildRedshiftWorkflow();
  const def = definitionOf(t) as Json;
  const state = stateIn(def);
  const goldRef = `ref-${logicalId(t, 'AWS::S3::Bucket', 'StorageGold').toLowerCase()}`;
  const keyRef = `ref-${logicalId(t, 'AWS::KMS::Key', 'StorageKey').toLowerCase()}`;

  test('the definition is valid ASL and JSONPath through and through', () => {
    const { isValid, errorsText } = aslValidator(structuredClone(def));
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
    expect(def.QueryLanguage).toBe('JSONPath');
    expect(JSON.stringify(def)).not.toMatch(/\{%|%\}|\$states\./);
    expect(def.Comment).toContain('on redshift');
  });

  test('setup: after the single-flight check, one transaction of the schema statements, then wave 1', () => {
    expect(state('single flight: alone?').Default).toBe('redshift setup: schemas');
    const setup = state('redshift setup: schemas');
    expect(setup.Resource).toBe('arn:aws:states:::aws-sdk:redshiftdata:batchExecuteStatement');
    expect(setup.Parameters).toEqual({
      WorkgroupName: WORKGROUP_NAME,
      Database: 'dev',
      SecretArn: ADMIN_SECRET_ARN,
      Sqls: redshiftSchemaStatements(DATABASE, 'gold'),
      StatementName: 'medallion-gold-setup',
    });
    expect(happyPath(state, 'redshift setup: schemas').slice(0, 5)).toEqual([
      ...loop('redshift setup: schemas'),
      'wave 1',
    ]);
  });

  test('setup: every failure (error, FAILED, ABORTED, timeout) sends "medallion gold: redshift setup failed", then fails the execution', () => {
    for (const name of ['redshift setup: schemas', 'redshift setup: schemas status']) {
      expect(state(name).Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'redshift setup: alarm' },
      ]);
    }
    for (const name of ['failed', 'aborted', 'timeout']) {
      expect(state(`redshift setup: schemas ${name}`).Next).toBe('redshift setup: alarm');
    }
    const alarm = state('redshift setup: alarm');
    expect(alarm.Resource).toBe('arn:aws:states:::sns:publish');
    expect(alarm.Parameters.Subject).toBe('medallion gold: redshift setup failed');
    expect(alarm.Next).toBe('redshift setup: failed');
    expect(state('redshift setup: failed')).toMatchObject({ Type: 'Fail', Error: 'GoldSetupFailed' });
  });

  test.each(['a', 'b', 'c'])(
    'model %s: version, build, unload, read table, merge, input, swap, publish; each statement polled until FINISHED',
    (m) => {
      expect(happyPath(state, `${m}: version`)).toEqual([
        `${m}: version`,
        ...loop(`${m}: build`),
        ...loop(`${m}: unload`),
        `${m}: read table`,
        `${m}: merge`,
        `${m}: has owner?`,
        `${m}: input`,
        ...loop(`${m}: swap`),
        `${m}: publish`,
        `${m}: metric`,
        `${m}: done`,
      ]);
      expect(state(`${m}: input+owner`).Next).toBe(`${m}: swap`);
    },
  );

  test('build: one transaction of the build statements of core/gold/redshift-sql, carried as plain values in the version', () => {
    const build = state('c: build');
    expect(build.Resource).toBe('arn:aws:states:::aws-sdk:redshiftdata:batchExecuteStatement');
    expect(build.Parameters).toEqual({
      WorkgroupName: WORKGROUP_NAME,
      Database: 'dev',
      SecretArn: ADMIN_SECRET_ARN,
      'Sqls.$': 'States.Array($.run.build1, $.run.build2, $.run.build3)',
      StatementName: 'medallion-gold-c-build',
    });
    const [build1, build2, build3] = redshiftBuildStatements('c', sql('c'));
    expect(state('c: version').Parameters.run).toMatchObject({ build1, build2, build3 });
    expect(build.ResultSelector).toEqual({ 'Id.$': '$.Id', Polls: 0 });
    expect(build.ResultPath).toBe('$.query');
  });

  test("unload: the version's location between the halves of an UNLOAD of <model>__next, encrypted with the lake key", () => {
    const unload = state('a: unload');
    expect(unload.Resource).toBe('arn:aws:states:::aws-sdk:redshiftdata:executeStatement');
    expect(unload.Parameters).toEqual({
      WorkgroupName: WORKGROUP_NAME,
      Database: 'dev',
      SecretArn: ADMIN_SECRET_ARN,
      'Sql.$': "States.Format('{}{}{}', $.run.before, $.location, $.run.after)",
      StatementName: 'medallion-gold-a-unload',
    });
    // The workflow's merge keeps the write's id as the model's queryExecutionId.
    expect(unload.ResultSelector).toEqual({ 'Id.$': '$.Id', 'QueryExecutionId.$': '$.Id', Polls: 0 });
    const { before, after } = state('a: version').Parameters.run;
    expect(parseRedshiftUnload(`${before}s3://gold/a/v=run-1/${after}`)).toEqual({
      select: 'SELECT * FROM "gold"."a__next"',
      location: 's3://gold/a/v=run-1/',
      partitionBy: [],
      kmsKeyId: keyRef,
    });
  });

  test('swap: one transaction of the swap statements', () => {
    expect(state('b: swap').Parameters).toEqual({
      WorkgroupName: WORKGROUP_NAME,
      Database: 'dev',
      SecretArn: ADMIN_SECRET_ARN,
      Sqls: redshiftSwapStatements('b'),
      StatementName: 'medallion-gold-b-swap',
    });
  });

  test.each([
    ['a: build', '$.query'],
    ['a: unload', '$.query'],
    ['a: swap', '$.redshiftSwap'],
    ['redshift setup: schemas', '$.redshiftSetup'],
  ])(
    '%s: waits 5 s (12 times, then 30 s), describes the statement, FAILED/ABORTED to the alarm, counts polls, cancels after 130 (1 h)',
    (step, at) => {
      const alarm = step.startsWith('redshift') ? 'redshift setup: alarm' : 'a: alarm';
      expect(state(step).Next).toBe(`${step} wait`);
      expect(state(`${step} wait`)).toEqual({ Type: 'Wait', Seconds: 5, Next: `${step} status` });
      expect(state(`${step} status`)).toMatchObject({
        Resource: 'arn:aws:states:::aws-sdk:redshiftdata:describeStatement',
        Parameters: { 'Id.$': `${at}.Id` },
        ResultPath: `${at}.Described`,
        Next: `${step} done?`,
      });
      const done = state(`${step} done?`);
      const status = `${at}.Described.Status`;
      expect(done.Choices.slice(0, 2)).toEqual([
        {
          And: [
            { Variable: status, StringEquals: 'FAILED' },
            { Variable: `${at}.Described.Error`, IsPresent: true },
          ],
          Next: `${step} failed`,
        },
        {
          Or: [
            { Variable: status, StringEquals: 'FAILED' },
            { Variable: status, StringEquals: 'ABORTED' },
          ],
          Next: `${step} aborted`,
        },
      ]);
      expect(done.Choices[2]).toMatchObject({ Variable: status, StringEquals: 'FINISHED' });
      expect(done.Default).toBe(`${step} polls`);
      expect(state(`${step} failed`)).toEqual({
        Type: 'Pass',
        Parameters: { Error: 'Redshift.StatementFailed', 'Cause.$': `${at}.Described.Error` },
        ResultPath: '$.error',
        Next: alarm,
      });
      expect(state(`${step} aborted`)).toMatchObject({
        Parameters: { Error: 'Redshift.StatementFailed' },
        ResultPath: '$.error',
        Next: alarm,
      });
      expect(state(`${step} polls`)).toMatchObject({
        Parameters: { 'Id.$': `${at}.Id`, 'Polls.$': `States.MathAdd(${at}.Polls, 1)` },
        ResultPath: at,
        Next: `${step} timed out?`,
      });
      // 12 polls 5 s apart (a minute), then one every 30 s: 12 + 118 polls make the hour.
      expect(state(`${step} timed out?`)).toMatchObject({
        Choices: [
          { Variable: `${at}.Polls`, NumericGreaterThanEquals: 130, Next: `${step} cancel` },
          { Variable: `${at}.Polls`, NumericLessThan: 12, Next: `${step} wait` },
        ],
        Default: `${step} wait longer`,
      });
      expect(state(`${step} wait longer`)).toEqual({ Type: 'Wait', Seconds: 30, Next: `${step} status` });
      expect(state(`${step} cancel`)).toMatchObject({
        Resource: 'arn:aws:states:::aws-sdk:redshiftdata:cancelStatement',
        Parameters: { 'Id.$': `${at}.Id` },
        ResultPath: null,
        Next: `${step} timeout`,
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.cancelError', Next: `${step} timeout` }],
      });
      expect(state(`${step} timeout`)).toMatchObject({
        Parameters: { Error: 'Redshift.StatementTimeout' },
        ResultPath: '$.error',
        Next: alarm,
      });
    },
  );

  test("a statement's Error is read only behind the Choice rule that found it present", () => {
    const errorReaders = allStates(def).filter(({ state: s }) =>
      /Described\.Error/.test(JSON.stringify(s.Parameters ?? {})),
    );
    expect(errorReaders.length).toBe(1 + 3 * 3); // setup, and build, unload, swap per model
    for (const { name, state: s } of errorReaders) {
      const path = s.Parameters['Cause.$'] as string;
      const guards = allStates(def).flatMap(({ state: c }) =>
        (c.Choices ?? []).filter((rule: State) => rule.Next === name),
      );
      expect([name, guards]).toEqual([
        name,
        [expect.objectContaining({ And: expect.arrayContaining([{ Variable: path, IsPresent: true }]) })],
      ]);
    }
  });

  test('every Data API task retries the "not now" errors with backoff; the workflow catches each into the alarm, the cancel into its timeout', () => {
    const dataApi = allStates(def).filter(({ state: s }) => String(s.Resource).includes(':redshiftdata:'));
    // Submit, status and cancel of each statement: the setup's, and build, unload and swap per model.
    expect(dataApi).toHaveLength(3 * (1 + 3 * 3));
    for (const { name, state: s } of dataApi) {
      const retry = s.Retry.find((r: State) => r.ErrorEquals.includes('RedshiftData.ThrottlingException'));
      expect([name, retry?.ErrorEquals, retry?.BackoffRate > 1, retry?.MaxAttempts]).toEqual([
        name,
        RETRYABLE,
        true,
        6,
      ]);
      expect(s.Catch).toHaveLength(1);
      const expected = name.endsWith(' cancel')
        ? name.replace(/cancel$/, 'timeout')
        : name.startsWith('redshift setup')
          ? 'redshift setup: alarm'
          : `${name.split(':')[0]}: alarm`;
      expect([name, s.Catch[0].ErrorEquals, s.Catch[0].Next]).toEqual([name, ['States.ALL'], expected]);
    }
  });

  test('cdk-nag: no unacknowledged finding; the acknowledgements are the reviewed ones', () => {
    const r = report();
    expect(r.conclusion).toBe('success');
    expect(r.violations).toEqual([]);
    const onWorkflow = (r.suppressedViolations ?? [])
      .filter((s) => s.violatingConstructs.some((c) => c.constructPath.startsWith('Test/Gold/')))
      .map((s) => [s.ruleName.replace(/[0-9A-F]{8}\.Arn>/, '.Arn>'), s.reason]);
    expect(onWorkflow.map(([rule]) => rule).sort()).toEqual(['AwsSolutions-IAM5[Resource::*]']);
    expect(onWorkflow[0][1]).toMatch(
      /redshift-data:DescribeStatement and CancelStatement support no resource type/,
    );
    const onSpectrum = (r.suppressedViolations ?? [])
      .filter((s) =>
        s.violatingConstructs.some((c) => c.constructPath.startsWith('Test/Redshift/SpectrumRole')),
      )
      .map((s) => s.ruleName.replace(/[0-9A-F]{8}\.Arn>/, '.Arn>'))
      .sort();
    expect(onSpectrum).toEqual(
      [
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/${DATABASE}/*]`,
        'AwsSolutions-IAM5[Resource::<StorageGold.Arn>/a/*]',
        'AwsSolutions-IAM5[Resource::<StorageGold.Arn>/b/*]',
        'AwsSolutions-IAM5[Resource::<StorageGold.Arn>/c/*]',
        'AwsSolutions-IAM5[Resource::<StorageSilver.Arn>/retail/orders/*]',
      ].sort(),
    );
  });

  describe('IAM', () => {
    const { mine, roleId } = workflowIam(t);
    const withAction = (prefix: string) =>
      mine.filter((s) => asArray(s.Action).some((a) => a.startsWith(prefix)));
    const workgroup = {
      'Fn::GetAtt': [
        logicalId(t, 'AWS::RedshiftServerless::Workgroup', 'RedshiftWorkgroup'),
        'Workgroup.WorkgroupArn',
      ],
    };

    test('Execute and BatchExecuteStatement on the workgroup only; Describe and CancelStatement on * for the statements of this role', () => {
      const data = withAction('redshift-data:');
      expect(data).toHaveLength(2);
      expect(data).toContainEqual({
        Effect: 'Allow',
        Action: ['redshift-data:BatchExecuteStatement', 'redshift-data:ExecuteStatement'],
        Resource: workgroup,
      });
      const role = { 'Fn::GetAtt': [roleId, 'RoleId'] };
      expect(data).toContainEqual({
        Effect: 'Allow',
        Action: ['redshift-data:CancelStatement', 'redshift-data:DescribeStatement'],
        Resource: '*',
        Condition: {
          StringLike: {
            'redshift-data:statement-owner-iam-userid': [role, { 'Fn::Join': ['', [role, ':*']] }],
          },
        },
      });
      const actions = data.flatMap((s) => asArray(s.Action));
      expect(actions).not.toContain('redshift-data:GetStatementResult');
      expect(JSON.stringify(mine)).not.toContain('redshift-serverless:GetCredentials');
    });

    test('the admin secret only, and its key only through Secrets Manager for that secret', () => {
      expect(withAction('secretsmanager:')).toEqual([
        { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: ADMIN_SECRET_ARN },
      ]);
      const key = { 'Fn::GetAtt': [logicalId(t, 'AWS::KMS::Key', 'StorageKey'), 'Arn'] };
      expect(
        withAction('kms:').filter((s) => JSON.stringify(s.Condition).includes('secretsmanager')),
      ).toEqual([
        {
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: key,
          Condition: {
            StringEquals: {
              'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com',
              'kms:EncryptionContext:SecretARN': ADMIN_SECRET_ARN,
            },
          },
        },
      ]);
    });

    test('no Athena, S3 or Glue read permissions on the state machine role: Redshift reads through its Spectrum role', () => {
      const actions = mine.flatMap((s) => asArray(s.Action));
      expect(actions.filter((a) => a.startsWith('athena:') || a.startsWith('s3:'))).toEqual([]);
      expect(actions.filter((a) => a.startsWith('glue:')).sort()).toEqual([
        'glue:GetTable',
        'glue:UpdateTable',
      ]);
    });

    test('the Spectrum role reads the gold prefixes of the models others depend on (a, b), not c', () => {
      const spectrum = Object.entries(t.findResources('AWS::IAM::Policy')).find(([id]) =>
        id.startsWith('RedshiftSpectrumRoleDefaultPolicy'),
      )?.[1].Properties.PolicyDocument.Statement as Json[];
      const gold = logicalId(t, 'AWS::S3::Bucket', 'StorageGold');
      const objects = (p: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [gold, 'Arn'] }, `/${p}/*`]] });
      expect(spectrum.find((s) => s.Sid === 'ReadGoldDependencies')).toEqual({
        Sid: 'ReadGoldDependencies',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: [objects('a'), objects('b')],
      });
    });
  });

  describe('a run on the offline interpreter (aws-local-stepfunctions), with scripted Data API answers', () => {
    const byState = (calls: Call[], prefix: string) => calls.filter((c) => c.state.startsWith(prefix));

    test('every statement FINISHED: setup, then per model build, unload, swap and the Glue switch to the new version', async () => {
      const { calls, failure, outputs } = await runWorkflow(def);
      expect(failure).toBeUndefined();
      expect(calls.slice(1, 4).map((c) => c.state)).toEqual([
        'redshift setup: schemas',
        'redshift setup: schemas status',
        'redshift setup: schemas status',
      ]);
      const a = byState(calls, 'a: ');
      expect(a.map((c) => c.state)).toEqual([
        'a: build',
        'a: build status',
        'a: build status',
        'a: unload',
        'a: unload status',
        'a: unload status',
        'a: read table',
        'a: swap',
        'a: swap status',
        'a: swap status',
        'a: publish',
        'a: metric',
      ]);
      expect(a[0].parameters.Sqls).toEqual(redshiftBuildStatements('a', sql('a')));
      const location = `s3://${goldRef}/a/v=${EXECUTION.Name}/`;
      expect(parseRedshiftUnload(a[3].parameters.Sql)).toMatchObject({
        select: 'SELECT * FROM "gold"."a__next"',
        location,
        kmsKeyId: keyRef,
      });
      expect(a[7].parameters.Sqls).toEqual(redshiftSwapStatements('a'));
      expect(a[10].parameters.TableInput.StorageDescriptor.Location).toBe(location);
      // The merge kept the UNLOAD's statement id as the model's queryExecutionId.
      expect(outputs.get('a: merge')).toMatchObject({
        queryExecutionId: expect.stringMatching(/^a: unload#/),
      });
      expect(calls.at(-1)?.state).toBe('metric: gold published');
    });

    test("a build that FAILED sends the statement's error to the model's alarm; nothing is unloaded, swapped or published", async () => {
      const error = 'ERROR: relation "medallion_test.orders" does not exist';
      const { calls, failure } = await runWorkflow(def, {
        statuses: { 'a: build': [{ Status: 'FAILED', Error: error }] },
      });
      expect(failure?.error).toBe('GoldModelFailed');
      expect(byState(calls, 'a: ').map((c) => c.state)).toEqual(['a: build', 'a: build status', 'a: alarm']);
      expect(byState(calls, 'a: alarm')[0].parameters.Message).toMatchObject({
        model: 'a',
        error: 'Redshift.StatementFailed',
        cause: error,
      });
      expect(byState(calls, 'b: ')).toEqual([]);
    });

    test('an UNLOAD ABORTED without an error message alarms Redshift.StatementFailed, its status in the cause', async () => {
      const { calls, failure } = await runWorkflow(def, {
        statuses: { 'a: unload': [{ Status: 'ABORTED' }] },
      });
      expect(failure?.error).toBe('GoldModelFailed');
      const message = byState(calls, 'a: alarm')[0].parameters.Message;
      expect(message.error).toBe('Redshift.StatementFailed');
      expect(message.cause).toMatch(
        /^Redshift statement a: unload#\d+ ended ABORTED without an error message/,
      );
      expect(calls.filter((c) => c.action === 'glue:updateTable')).toEqual([]);
    });

    test('a swap that FAILED without an error message takes the same route: the table is not switched', async () => {
      const { calls, failure } = await runWorkflow(def, { statuses: { 'a: swap': [{ Status: 'FAILED' }] } });
      expect(failure?.error).toBe('GoldModelFailed');
      expect(byState(calls, 'a: alarm')[0].parameters.Message.cause).toMatch(
        /ended FAILED without an error message/,
      );
      expect(byState(calls, 'a: publish')).toEqual([]);
    });

    test('a throttled or crowded submission is submitted again and goes on', async () => {
      const { calls, failure } = await runWorkflow(def, {
        submitErrors: {
          'a: build': ['RedshiftData.ThrottlingException', 'RedshiftData.ActiveStatementsExceededException'],
        },
      });
      expect(failure).toBeUndefined();
      expect(byState(calls, 'a: build').filter((c) => c.state === 'a: build')).toHaveLength(3);
    });

    test('a setup that FAILED alarms "redshift setup failed" and no model runs', async () => {
      const { calls, failure } = await runWorkflow(def, {
        statuses: { 'redshift setup: schemas': [{ Status: 'FAILED', Error: 'ERROR: permission denied' }] },
      });
      expect(failure?.error).toBe('GoldSetupFailed');
      const alarm = byState(calls, 'redshift setup: alarm')[0].parameters;
      expect(alarm.Subject).toBe('medallion gold: redshift setup failed');
      expect(alarm.Message).toMatchObject({
        error: 'Redshift.StatementFailed',
        cause: 'ERROR: permission denied',
      });
      expect(calls.filter((c) => /^[abc]: /.test(c.state))).toEqual([]);
    });
  });
});

describe('a statement running longer than queryTimeout', () => {
  // 15 s at one poll every 5 s: cancelled after the third status check.
  const def = definitionOf(
    buildRedshiftWorkflow({ engine: { queryTimeout: Duration.seconds(15) } }).t,
  ) as Json;

  test.each([
    ['is cancelled and alarms Redshift.StatementTimeout', undefined],
    ['alarms Redshift.StatementTimeout even when the cancel fails', 'RedshiftData.ValidationException'],
  ])('%s', async (_, cancelError) => {
    const { calls, failure } = await runWorkflow(def, {
      statuses: { 'a: build': [{ Status: 'STARTED' }] },
      cancelError,
    });
    expect(failure?.error).toBe('GoldModelFailed');
    const a = calls.filter((c) => c.state.startsWith('a: '));
    expect(a.map((c) => c.state)).toEqual([
      'a: build',
      'a: build status',
      'a: build status',
      'a: build status',
      'a: build cancel',
      'a: alarm',
    ]);
    expect(a[4].parameters.Id).toBe(a[1].parameters.Id);
    expect(a[5].parameters.Message).toMatchObject({
      error: 'Redshift.StatementTimeout',
      cause: expect.stringMatching(/ran longer than 15 seconds \(3 polls\) and was cancelled$/),
    });
  });
});

describe('with tests, a current-state stage, an incremental model', () => {
  const context = (model: string): ModelTestContext => ({
    model,
    columns: [
      { name: 'id', type: 'string' },
      { name: 'n', type: 'bigint' },
    ],
    goldModels: new Map(),
    silverTables: new Set(['orders']),
  });
  test('a tested model is swapped only once its tests passed, right before the catalog switch', () => {
    const tested = MODELS.map((m) =>
      m.name === 'c' ? { ...m, tests: parseModelTest('not_null(id)', 3, context('c')) } : m,
    );
    const def = definitionOf(buildRedshiftWorkflow({ models: tested }).t) as Json;
    const state = stateIn(def);
    const path = happyPath(state, 'c: version');
    expect(path.indexOf('c: unload')).toBeLessThan(path.indexOf('c: test'));
    expect(state('c: tests passed?').Choices[0].Next).toBe('c: swap');
    expect(happyPath(state, 'c: swap')).toEqual([...loop('c: swap'), 'c: publish', 'c: metric', 'c: done']);
    expect(aslValidator(structuredClone(def)).isValid).toBe(true);
  });

  test('the setup runs after the current-state stage, before wave 1', () => {
    const samples = `${__dirname}/../../../samples/contracts`;
    const contracts = loadContracts(samples);
    const { t } = buildRedshiftWorkflow({
      workflow: (stack, storage) => ({
        currentState: {
          planner: new CurrentStatePlanner(stack, 'CurrentState', {
            contracts,
            contractsDir: samples,
            silverBucket: storage.silverBucket,
            key: storage.key,
          }).function,
          contracts,
        },
      }),
    });
    const def = definitionOf(t) as Json;
    expect(def.States['single flight: alone?'].Default).toBe('current state: datasets');
    expect(def.States['current state'].Next).toBe('redshift setup: schemas');
    expect(happyPath(stateIn(def), 'redshift setup: schemas')[4]).toBe('wave 1');
  });

  test("an incremental model's statement runs polled inside the Map: it ends in Succeed, or in a Fail carrying the statement's error", () => {
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
    };
    const def = definitionOf(
      buildRedshiftWorkflow({
        models: [daily],
        workflow: (stack, storage) => ({
          goldPlanner: new GoldPlanner(stack, 'GoldPlanner', {
            contractsDir: 'samples/contracts',
            contracts: [itemsContract()],
            silverBucket: storage.silverBucket,
            goldBucket: storage.goldBucket,
            key: storage.key,
            models: ['daily'],
          }).function,
        }),
      }).t,
    ) as Json;
    expect(aslValidator(structuredClone(def)).errorsText('\n')).toBe('');
    const map = stateIn(def)('daily: write');
    const inside = map.ItemProcessor.States as Record<string, State>;
    expect(map.ItemProcessor.StartAt).toBe('daily: write batch');
    // One transaction per run, as the planner writes it for Redshift: the batch's statements.
    expect(inside['daily: write batch'].Resource).toMatch(/redshiftdata:batchExecuteStatement$/);
    expect(inside['daily: write batch'].Parameters['Sqls.$']).toBe('$.statement');
    expect(happyPath((n) => inside[n], 'daily: write batch')).toEqual([
      ...loop('daily: write batch'),
      'daily: write batch finished',
    ]);
    expect(inside['daily: write batch finished'].Type).toBe('Succeed');
    expect(inside['daily: write batch failed'].Next).toBe('daily: write batch error');
    expect(inside['daily: write batch error']).toEqual({
      Type: 'Fail',
      ErrorPath: '$.error.Error',
      CausePath: '$.error.Cause',
    });
    // Nothing inside catches into a state outside: the Map's catch sends the model's alarm.
    for (const [name, s] of Object.entries(inside)) {
      if (name.endsWith(' cancel')) continue;
      expect([name, s.Catch]).toEqual([name, undefined]);
    }
    expect(map.Catch[0]).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'daily: alarm' });
  });
});

describe('the engine on its own', () => {
  const engineProps = (stack: Stack) => ({
    workgroupName: 'wg',
    workgroupArn: 'arn:aws:redshift-serverless:eu-west-1:111111111111:workgroup/0000',
    database: 'dev',
    adminSecret: ADMIN_SECRET_ARN,
    glueDatabase: DATABASE,
    unloadKey: { keyId: 'key-1', keyArn: 'arn:aws:kms:eu-west-1:111111111111:key/key-1' } as never,
    spectrumRole: new iam.Role(stack, 'Spectrum', {
      assumedBy: new iam.ServicePrincipal('redshift.amazonaws.com'),
    }),
  });
  const stack = () => new Stack(new App({ context: testContext() }), 'Alone');

  test('modelInput: the build statements in order, and the UNLOAD of <model>__next around the location', () => {
    const s = stack();
    const input = new RedshiftEngine(engineProps(s)).modelInput({ name: 'a', sql: sql('a'), dependsOn: [] });
    const [build1, build2, build3] = redshiftBuildStatements('a', sql('a'));
    expect(input).toEqual({
      build1,
      build2,
      build3,
      before: `UNLOAD ('SELECT * FROM "gold"."a__next"') TO '`,
      after: "' IAM_ROLE default FORMAT AS PARQUET KMS_KEY_ID 'key-1' ENCRYPTED",
    });
  });

  test('a poll interval under a second, or a timeout shorter than it, is refused', () => {
    expect(() => new RedshiftEngine({ ...engineProps(stack()), pollInterval: Duration.millis(500) })).toThrow(
      'pollInterval must be a whole number of seconds',
    );
    expect(
      () =>
        new RedshiftEngine({
          ...engineProps(stack()),
          pollInterval: Duration.seconds(30),
          queryTimeout: Duration.seconds(10),
        }),
    ).toThrow('queryTimeout must be at least pollInterval');
  });

  test('an engine whose state machine never bound it fails synthesis (its status checks would be denied)', () => {
    const s = stack();
    const scope = new Construct(s, 'Workflow');
    const engine = new RedshiftEngine(engineProps(s));
    const bucket = new s3.Bucket(s, 'Gold');
    const alarm = sfn.Fail.jsonPath(scope, 'Alarm');
    const write = engine.runModelTask(
      scope,
      { name: 'a', sql: 'SELECT 1', dependsOn: [] },
      modelTarget(DATABASE, bucket, 'a'),
      alarm,
    );
    new sfn.StateMachine(s, 'Machine', {
      definitionBody: sfn.DefinitionBody.fromChainable(write.chain.next(sfn.Succeed.jsonPath(scope, 'Done'))),
    });
    expect(() => Template.fromStack(s)).toThrow(/bind\(\) was not called/);
  });

  test('a statement whose FINISHED route leads nowhere fails synthesis instead of polling forever', () => {
    const s = stack();
    const statement = redshiftStatement(s, {
      id: 'S',
      stateName: 's',
      action: 'executeStatement',
      parameters: { Sql: 'SELECT 1' },
      policies: () => [],
      resultPath: '$.s',
      pollInterval: Duration.seconds(5),
      timeout: Duration.minutes(1),
      failure: sfn.Fail.jsonPath(s, 'Failed'),
    });
    new sfn.StateMachine(s, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(statement.chain) });
    expect(() => Template.fromStack(s)).toThrow(/s done\?: no state follows a FINISHED statement/);
  });
});

describe('the Athena workflow', () => {
  test('is what it was: no setup, no swap, its write goes straight to the catalog switch, no Redshift in its IAM', () => {
    const t = buildAthenaWorkflow().template();
    const def = definitionOf(t) as Json;
    expect(def.States['single flight: alone?'].Default).toBe('wave 1');
    const names = allStates(def).map((s) => s.name);
    expect(names.filter((n) => /redshift|: (build|unload|swap)/.test(n))).toEqual([]);
    const branch = def.States['wave 1'].Branches[0].States;
    expect(branch['a: write']).toMatchObject({
      Resource: 'arn:aws:states:::athena:startQueryExecution.sync',
      Next: 'a: read table',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'a: alarm' }],
    });
    expect(branch['a: input'].Next).toBe('a: publish');
    expect(JSON.stringify(t.findResources('AWS::IAM::Policy'))).not.toContain('redshift-data');
  });
});
