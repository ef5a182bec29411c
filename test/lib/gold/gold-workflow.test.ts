/**
 * The gold workflow: model ordering (pure), the synthesized state machine (valid JSONPath ASL, waves in
 * dependency order, write before publish, retries and alarms), its IAM, schedule and cdk-nag. The Athena
 * engine and the states around its write have their own tests next to this one.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { GoldEngine } from '../../../lib/gold/gold-engine';
import type { GoldWorkflowProps } from '../../../lib/gold/gold-workflow';
import { asArray, definitionOf, logicalId } from '../../support/cdk';
import {
  build,
  DATABASE,
  type Json,
  names,
  type State,
  sql,
  synthesizedWorkflow,
  walk,
  workflowIam,
} from '../../support/cdk-gold-workflow';

// asl-validator ships no types: (definition) => { isValid, errorsText(separator) }.
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

// ---- the construct -------------------------------------------------------------------------------------

describe('GoldWorkflow', () => {
  const { built, t, def, states } = synthesizedWorkflow();

  test('a STANDARD state machine, traced, logging ALL events with execution data', () => {
    t.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [
          {
            CloudWatchLogsLogGroup: {
              LogGroupArn: { 'Fn::GetAtt': [logicalId(t, 'AWS::Logs::LogGroup', 'GoldLogs'), 'Arn'] },
            },
          },
        ],
      },
    });
    t.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain', Properties: { RetentionInDays: 90 } });
    // Under /aws/vendedlogs/: no entry in the account's 5,120-character CloudWatch Logs resource policy.
    expect(
      t.findResources('AWS::Logs::LogGroup')[logicalId(t, 'AWS::Logs::LogGroup', 'GoldLogs')].Properties
        .LogGroupName,
    ).toMatch(/^\/aws\/vendedlogs\/states\/.+-gold$/);
  });

  test('the definition is valid ASL', () => {
    // The validator annotates the states it checks: give it a copy.
    const { isValid, errorsText } = aslValidator(structuredClone(def));
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  test('the definition is JSONPath through and through (no JSONata anywhere)', () => {
    expect(def.QueryLanguage).toBe('JSONPath');
    for (const { name, state } of states) {
      expect([name, state.QueryLanguage ?? 'JSONPath']).toEqual([name, 'JSONPath']);
      expect(state.Arguments).toBeUndefined();
      expect(state.Output).toBeUndefined();
    }
    expect(JSON.stringify(def)).not.toMatch(/\{%|%\}|\$states\./);
  });

  test('after the single-flight check, the waves run the models in dependency order: [a], [b], [c], then the verdict, the metric, success', () => {
    // First the execution's input goes into the state (the incremental models' planner reads it there).
    expect(def.StartAt).toBe('execution input');
    expect(def.States['execution input']).toMatchObject({
      Parameters: { 'execution.$': '$$.Execution.Input' },
      Next: 'single flight: running executions',
    });
    expect(def.States['single flight: alone?'].Default).toBe('wave 1');
    const top = walk(def.States, 'wave 1');
    expect(top).toEqual([
      'wave 1',
      'wave 2',
      'wave 3',
      'gold: outcomes',
      'gold: all published?',
      'metric: gold published',
      'gold: models failed',
      'published',
    ]);
    const waveModels = top
      .filter((n) => def.States[n].Type === 'Parallel')
      .map((n) => def.States[n].Branches.map((b: State) => b.StartAt.replace(/: (version|upstream)$/, '')));
    expect(waveModels).toEqual([['a'], ['b'], ['c']]);
    expect(def.States.published.Type).toBe('Succeed');
    // Each wave keeps its branches' outcomes ("ok", or the model's name) for the waves after and the verdict.
    ['wave 1', 'wave 2', 'wave 3'].forEach((n, i) => {
      expect(def.States[n].ResultPath).toBe(`$.wave${i + 1}Outcomes`);
    });
    expect(def.States['gold: outcomes'].Parameters).toEqual(
      Object.fromEntries(
        [1, 2, 3].flatMap((w) => [
          [`wave${w}.$`, `States.ArrayUnique($.wave${w}Outcomes)`],
          [`wave${w}Distinct.$`, `States.ArrayLength(States.ArrayUnique($.wave${w}Outcomes))`],
          [`wave${w}First.$`, `States.ArrayGetItem(States.ArrayUnique($.wave${w}Outcomes), 0)`],
        ]),
      ),
    );
    // GoldPublished only when every wave's outcomes are "ok" alone; else the run fails, once all ran.
    expect(def.States['gold: all published?']).toEqual({
      Type: 'Choice',
      Choices: [
        {
          And: [1, 2, 3].flatMap((w) => [
            { Variable: `$.outcomes.wave${w}Distinct`, NumericEquals: 1 },
            { Variable: `$.outcomes.wave${w}First`, StringEquals: 'ok' },
          ]),
          Next: 'metric: gold published',
        },
      ],
      Default: 'gold: models failed',
    });
    expect(def.States['gold: models failed']).toMatchObject({ Type: 'Fail', Error: 'GoldModelFailed' });
  });

  test('a model reading gold models is skipped (its outcome: its name) when one of them did not publish', () => {
    const branch = def.States['wave 3'].Branches[0];
    expect(branch.StartAt).toBe('c: upstream');
    // c reads a (wave 1) and b (wave 2).
    expect(branch.States['c: upstream'].Parameters).toEqual({
      'a.$': "States.ArrayContains($.wave1Outcomes, 'a')",
      'b.$': "States.ArrayContains($.wave2Outcomes, 'b')",
    });
    expect(branch.States['c: upstream published?']).toMatchObject({
      Choices: [
        {
          Or: [
            { Variable: '$.upstreamFailed.a', BooleanEquals: true },
            { Variable: '$.upstreamFailed.b', BooleanEquals: true },
          ],
          Next: 'c: skipped',
        },
      ],
      Default: 'c: version',
    });
    expect(branch.States['c: skipped']).toMatchObject({ Type: 'Pass', Result: 'c', End: true });
    // A model reading no gold model starts with its version.
    expect(def.States['wave 1'].Branches[0].StartAt).toBe('a: version');
  });

  test.each(['a', 'b', 'c'])(
    'model %s: version, write, read table, rebuild the input, then publish',
    (model) => {
      const branch = def.States[`wave ${['a', 'b', 'c'].indexOf(model) + 1}`].Branches[0];
      const order = walk(branch.States, branch.StartAt).filter(
        (n) => !/: (alarm|failed|upstream|upstream published\?|skipped)$/.test(n),
      );
      expect(order).toEqual([
        `${model}: version`,
        `${model}: write`,
        `${model}: read table`,
        `${model}: merge`,
        `${model}: has owner?`,
        `${model}: input+owner`,
        `${model}: input`,
        `${model}: publish`,
        `${model}: metric`,
        `${model}: done`,
      ]);
      expect(order.indexOf(`${model}: write`)).toBeLessThan(order.indexOf(`${model}: publish`));
      // Once published, ModelPublished (dimension Model) for its freshness SLO; a failure to send it does
      // not undo the publication: the branch ends either way.
      expect(branch.States[`${model}: publish`].Next).toBe(`${model}: metric`);
      expect(branch.States[`${model}: metric`]).toMatchObject({
        Resource: 'arn:aws:states:::aws-sdk:cloudwatch:putMetricData',
        Parameters: {
          Namespace: 'Medallion',
          MetricData: [
            {
              MetricName: 'ModelPublished',
              Dimensions: [{ Name: 'Model', Value: model }],
              Value: 1,
              Unit: 'Count',
            },
          ],
        },
        Next: `${model}: done`,
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.metricError', Next: `${model}: done` }],
      });
      // The branch's outcome: "ok" (a failed model's is its name).
      expect(branch.States[`${model}: done`]).toMatchObject({ Type: 'Pass', Result: 'ok', End: true });
    },
  );

  test("every Task retries with backoff and catches into the SNS alarm, which ends the branch with the model's name", () => {
    const modelTasks = states.filter(
      (s) =>
        s.state.Type === 'Task' &&
        !s.name.startsWith('metric:') &&
        !s.name.endsWith(': metric') &&
        !s.name.startsWith('single flight:'),
    );
    expect(modelTasks).toHaveLength(3 * 4); // write, read table, publish, alarm per model
    for (const { name, state, scope } of modelTasks) {
      expect([name, state.Retry?.length > 0]).toEqual([name, true]);
      for (const r of state.Retry) expect([name, r.BackoffRate > 1]).toEqual([name, true]);
      expect(state.Catch).toHaveLength(1);
      expect(state.Catch[0].ErrorEquals).toEqual(['States.ALL']);
      const model = name.split(':')[0];
      if (name.endsWith(': alarm')) {
        expect(state.Resource).toBe('arn:aws:states:::sns:publish');
        expect(state.Next).toBe(`${model}: failed`);
        expect(state.Catch[0].Next).toBe(`${model}: failed`);
        // Not a Fail: that would fail the wave and stop its other models midway (model-outcomes.ts).
        expect(scope[`${model}: failed`]).toMatchObject({ Type: 'Pass', Result: model, End: true });
      } else {
        expect(state.Catch[0]).toEqual({
          ErrorEquals: ['States.ALL'],
          ResultPath: '$.error',
          Next: `${model}: alarm`,
        });
      }
    }
  });

  test('single flight: a run that finds another RUNNING execution counts GoldRunSkipped and succeeds without doing anything', () => {
    const list = def.States['single flight: running executions'];
    expect(list.Resource).toBe('arn:aws:states:::aws-sdk:sfn:listExecutions');
    expect(list.Parameters).toEqual({
      'StateMachineArn.$': '$$.StateMachine.Id',
      StatusFilter: 'RUNNING',
      MaxResults: 10,
    });
    expect(list.ResultSelector).toEqual({
      'count.$': 'States.ArrayLength($.Executions)',
      'names.$': '$.Executions[*].Name',
    });
    const alone = def.States['single flight: alone?'];
    expect(alone.Choices).toEqual([
      { Variable: '$.singleFlight.count', NumericGreaterThan: 1, Next: 'single flight: skipped metric' },
    ]);
    const metric = def.States['single flight: skipped metric'];
    expect(metric.Parameters.MetricData).toEqual([{ MetricName: 'GoldRunSkipped', Value: 1, Unit: 'Count' }]);
    expect(metric.Next).toBe('skipped: another run in progress');
    expect(def.States['skipped: another run in progress'].Type).toBe('Succeed');
    // The role lists the executions of this state machine only, known by its explicit name.
    const listing = workflowIam(t).statements.filter(({ statement }) =>
      asArray(statement.Action).includes('states:ListExecutions'),
    );
    expect(listing).toHaveLength(1);
    expect(JSON.stringify(listing[0].statement.Resource)).toContain(':stateMachine:Test-gold');
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'Test-gold' });
  });

  describe('IAM', () => {
    const { statements, roleId, mine } = workflowIam(t);

    test('no action of any policy in the stack is a wildcard', () => {
      for (const { statement } of statements) {
        for (const a of asArray(statement.Action)) expect(a).not.toContain('*');
      }
    });

    test('the state machine role is assumed by Step Functions only', () => {
      t.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [Match.objectLike({ Principal: { Service: 'states.amazonaws.com' } })],
        },
      });
      expect(t.findResources('AWS::IAM::Role')[roleId]).toBeDefined();
    });

    test("KMS: the lake key through S3 only, and the alarm topic's key", () => {
      const key = logicalId(t, 'AWS::KMS::Key', 'StorageKey');
      const kms = mine.filter((s) => asArray(s.Action).some((a) => a.startsWith('kms:')));
      expect(kms.length).toBeGreaterThan(0);
      for (const s of kms) {
        expect(asArray(s.Action).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
        expect(s.Resource).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
      }
      // S3 (silver, gold, results) and SNS (the encrypted alarm topic) use the key on the role's behalf.
      expect(kms.map((s) => (s.Condition as Json).StringEquals['kms:ViaService']).sort()).toEqual([
        's3.eu-west-1.amazonaws.com',
        'sns.eu-west-1.amazonaws.com',
      ]);
    });
  });

  test('an EventBridge rule starts the state machine every hour by default', () => {
    const sm = logicalId(t, 'AWS::StepFunctions::StateMachine', 'GoldStateMachine');
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { Ref: sm }, RoleArn: Match.anyValue() })],
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{ Action: 'states:StartExecution', Effect: 'Allow', Resource: { Ref: sm } }],
      },
    });
  });

  test('exposes the state machine, its log group, its rule and the waves', () => {
    const { workflow } = built;
    expect(workflow.stateMachine).toBeDefined();
    expect(workflow.logGroup).toBeDefined();
    expect(workflow.rule).toBeDefined();
    expect(names(workflow.waves)).toEqual([['a'], ['b'], ['c']]);
  });
});

/**
 * A minimal JSONPath interpreter for one model's branch (Pass, Task, Choice with IsPresent and
 * BooleanEquals, Fail; dotted paths; States.Format, States.JsonMerge and States.ArrayContains), enough to
 * follow the data from the version to UpdateTable with a realistic GetTable answer. Tasks answer from
 * `results` by state name; the calls are recorded, and each state's input.
 */
function runBranch(
  branch: { StartAt: string; States: Record<string, State> },
  context: Record<string, unknown>,
  results: Record<string, (parameters: Json) => unknown>,
  input: Json = {},
): {
  calls: { state: string; parameters: Json }[];
  end: string;
  output: unknown;
  inputs: Record<string, Json>;
} {
  const get = (path: string, input: unknown): unknown => {
    const [root, ...keys] = path.split('.');
    let value: Json = root === '$$' ? context : input;
    for (const k of keys) {
      if (value === null || typeof value !== 'object' || !(k in value))
        throw new Error(`States.Runtime: no ${path}`);
      value = value[k];
    }
    return value;
  };
  const evaluate = (expression: string, input: unknown): unknown => {
    const call = /^(States\.\w+)\((.*)\)$/s.exec(expression);
    if (!call) return get(expression, input);
    const args = call[2].match(/'(?:[^'\\]|\\.)*'|[^,\s]+/g) ?? [];
    const values = args.map((a) =>
      a.startsWith("'") ? a.slice(1, -1).replace(/\\(.)/g, '$1') : a === 'false' ? false : get(a, input),
    );
    if (call[1] === 'States.ArrayContains') return (values[0] as unknown[]).includes(values[1]);
    if (call[1] === 'States.JsonMerge') return { ...(values[0] as object), ...(values[1] as object) };
    if (call[1] === 'States.Format') {
      let i = 1;
      return (values[0] as string).replace(/\{\}/g, () => String(values[i++]));
    }
    throw new Error(`unsupported ${call[1]}`);
  };
  const template = (t: Json, input: unknown): Json => {
    if (Array.isArray(t)) return t.map((x) => template(x, input));
    if (t === null || typeof t !== 'object') return t;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(t)) {
      if (k.endsWith('.$')) out[k.slice(0, -2)] = evaluate(v as string, input);
      else out[k] = template(v, input);
    }
    return out;
  };
  const place = (resultPath: string | null | undefined, input: Json, result: unknown) => {
    if (resultPath === null) return input;
    if (resultPath === undefined || resultPath === '$') return result;
    const keys = resultPath.split('.').slice(1);
    const out = structuredClone(input);
    let at = out;
    for (const k of keys.slice(0, -1)) at = at[k] ??= {};
    at[keys[keys.length - 1]] = result;
    return out;
  };
  const calls: { state: string; parameters: Json }[] = [];
  let name = branch.StartAt;
  const inputs: Record<string, Json> = {};
  let data: Json = input;
  for (;;) {
    const s = branch.States[name];
    inputs[name] = data;
    if (s.Type === 'Fail' || s.Type === 'Succeed') return { calls, end: name, output: data, inputs };
    if (s.Type === 'Choice') {
      const matches = (c: State): boolean => {
        if (c.Or) return c.Or.some(matches);
        if (c.BooleanEquals !== undefined) return get(c.Variable, data) === c.BooleanEquals;
        try {
          get(c.Variable, data);
          return c.IsPresent === true;
        } catch {
          return c.IsPresent === false;
        }
      };
      const hit = s.Choices.find(matches);
      name = hit ? hit.Next : s.Default;
      continue;
    }
    let result: unknown;
    const parameters = s.Parameters ? template(s.Parameters, data) : data;
    if (s.Type === 'Pass') result = s.Result !== undefined ? s.Result : parameters;
    else {
      calls.push({ state: name, parameters });
      try {
        result = results[name](parameters);
      } catch (e) {
        if (!s.Catch) throw e;
        data = place(s.Catch[0].ResultPath, data, { Error: (e as Error).name, Cause: (e as Error).message });
        name = s.Catch[0].Next;
        continue;
      }
      if (s.ResultSelector) result = template(s.ResultSelector, result);
    }
    data = place(s.ResultPath, data, result);
    if (s.End) return { calls, end: name, output: data, inputs };
    name = s.Next;
  }
}

/** The state a wave-3 branch starts with when the models `c` reads (`a`, `b`) published. */
const UPSTREAM_PUBLISHED = { wave1Outcomes: ['ok'], wave2Outcomes: ['ok'] };

describe('one model, step by step (JSONPath semantics)', () => {
  const { template } = build();
  const t = template();
  const def = definitionOf(t);
  const branch = def.States['wave 3'].Branches[0];
  const goldRef = `ref-${logicalId(t, 'AWS::S3::Bucket', 'StorageGold').toLowerCase()}`;
  const context = {
    Execution: { Name: 'run-42', Id: 'arn:aws:states:eu-west-1:111111111111:execution:sm:run-42' },
  };
  const storage = {
    Columns: [{ Name: 'share_of_lifetime', Type: 'double' }],
    Location: `s3://${goldRef}/c/_unpublished/`,
    InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
    SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
    Compressed: false,
    NumberOfBuckets: 0,
    StoredAsSubDirectories: false,
  };
  /** What GetTable answers for the data catalog's gold table (no Owner, no Description, no PartitionKeys). */
  const table = {
    Name: 'c',
    DatabaseName: DATABASE,
    CreateTime: '2026-11-01T00:00:00Z',
    UpdateTime: '2026-11-01T00:00:00Z',
    Retention: 0,
    StorageDescriptor: storage,
    TableType: 'EXTERNAL_TABLE',
    Parameters: { EXTERNAL: 'TRUE', classification: 'parquet' },
    CreatedBy: 'arn:aws:sts::111111111111:assumed-role/cfn',
    IsRegisteredWithLakeFormation: false,
    CatalogId: '111111111111',
    VersionId: '0',
  };
  const answers = (overrides: Record<string, (p: Json) => unknown> = {}) => ({
    'c: write': () => ({ QueryExecution: { QueryExecutionId: 'q-1', Status: { State: 'SUCCEEDED' } } }),
    'c: read table': () => ({ Table: table }),
    'c: publish': () => ({}),
    'c: metric': () => ({}),
    'c: alarm': () => ({ MessageId: 'm-1' }),
    ...overrides,
  });

  test('the query writes to the new version; UpdateTable gets the same table with only the location changed', () => {
    const { calls, end, output, inputs } = runBranch(branch, context, answers(), UPSTREAM_PUBLISHED);
    expect(end).toBe('c: done');
    // The branch's outcome.
    expect(output).toBe('ok');
    expect(calls.map((c) => c.state)).toEqual(['c: write', 'c: read table', 'c: publish', 'c: metric']);
    const location = `s3://${goldRef}/c/v=run-42/`;
    expect(calls[0].parameters.QueryString).toBe(
      `UNLOAD (\n${sql('c').trim()}\n) TO '${location}' WITH (format = 'PARQUET', compression = 'ZSTD')`,
    );
    expect(calls[2].parameters).toEqual({
      DatabaseName: DATABASE,
      SkipArchive: true,
      TableInput: {
        Name: 'c',
        Description: '',
        Retention: 0,
        StorageDescriptor: { ...storage, Location: location },
        PartitionKeys: [],
        TableType: 'EXTERNAL_TABLE',
        // The run that built the version, for lineage.
        Parameters: { EXTERNAL: 'TRUE', classification: 'parquet', 'medallion.run': 'run-42' },
      },
    });
    expect(inputs['c: metric']).toMatchObject({
      model: 'c',
      version: 'run-42',
      location,
      queryExecutionId: 'q-1',
    });
  });

  test('a table with an owner, a description and partition keys keeps them', () => {
    const owned = {
      ...table,
      Owner: 'analytics',
      Description: 'Share',
      PartitionKeys: [{ Name: 'dt', Type: 'string' }],
    };
    const { calls } = runBranch(
      branch,
      context,
      answers({ 'c: read table': () => ({ Table: owned }) }),
      UPSTREAM_PUBLISHED,
    );
    expect(calls[2].parameters.TableInput).toMatchObject({
      Owner: 'analytics',
      Description: 'Share',
      PartitionKeys: [{ Name: 'dt', Type: 'string' }],
    });
  });

  test('a failed query never reaches the catalog: the alarm is sent and the branch ends with the failure as its outcome', () => {
    const failure = Object.assign(new Error('HIVE_BAD_DATA: ...'), { name: 'States.TaskFailed' });
    const { calls, end, output } = runBranch(
      branch,
      context,
      answers({
        'c: write': () => {
          throw failure;
        },
      }),
      UPSTREAM_PUBLISHED,
    );
    expect(calls.map((c) => c.state)).toEqual(['c: write', 'c: alarm']);
    expect(end).toBe('c: failed');
    // The branch ends (its wave's other models go on) with the model's name as its outcome.
    expect(output).toBe('c');
    expect(calls[1].parameters.Message).toEqual({
      model: 'c',
      execution: context.Execution.Id,
      error: 'States.TaskFailed',
      cause: 'HIVE_BAD_DATA: ...',
      published: 'no: the previous version of the table stays published',
    });
  });
});

describe('one model whose upstream did not publish', () => {
  const def = definitionOf(build().template());
  test('is skipped: no call at all, its outcome is its name (what reads it is skipped in turn)', () => {
    const branch = def.States['wave 3'].Branches[0];
    const { calls, end, output } = runBranch(branch, {}, {}, { wave1Outcomes: ['ok'], wave2Outcomes: ['b'] });
    expect(calls).toEqual([]);
    expect(end).toBe('c: skipped');
    expect(output).toBe('c');
  });
});

describe('GoldWorkflow options', () => {
  test('a custom schedule, narrowed sources, results prefix and query timeout', () => {
    const { template } = build({
      schedule: events.Schedule.cron({ minute: '15', hour: '*/2' }),
      silverPrefixes: ['retail/orders/'],
      sourceTables: ['orders'],
      resultsPrefix: 'gold-runs/',
      queryTimeout: Duration.minutes(20),
    });
    const t = template();
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(15 */2 * * ? *)' });
    const text = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(text).toContain('/retail/orders/*');
    expect(text).toContain(`:table/${DATABASE}/orders`);
    expect(text).not.toContain(`:table/${DATABASE}/*`);
    expect(text).toContain('/gold-runs/*');
    expect(definitionOf(t).States['wave 1'].Branches[0].States['a: write'].TimeoutSeconds).toBe(1200);
  });

  test('bad models fail synth with the model named', () => {
    expect(() => build({ models: [{ name: 'a', sql: 'SELECT 1', dependsOn: ['a'] }] })).toThrow(
      'dependency cycle: a -> a',
    );
    expect(() => build({ models: [] })).toThrow('no gold model');
  });
});

describe('cdk-nag AwsSolutions', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'medallion-gold-nag-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  interface Report {
    pluginReports: {
      pluginName: string;
      conclusion: string;
      violations: unknown[];
      suppressedViolations?: {
        ruleName: string;
        reason: string;
        violatingConstructs: { constructPath: string }[];
      }[];
    }[];
  }
  const check = (extra: Partial<GoldWorkflowProps>, dir: string) => {
    const outdir = join(tmp, dir);
    const { app } = build(extra, outdir);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
    const report = (
      JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as Report
    ).pluginReports.find((r) => r.pluginName === 'AwsSolutions');
    expect(report?.conclusion).toBe('success');
    expect(report?.violations).toEqual([]);
    const suppressed = (report?.suppressedViolations ?? []).filter((s) =>
      s.violatingConstructs.some((c) => c.constructPath.startsWith('Test/Gold/')),
    );
    for (const s of suppressed) expect(s.reason.length).toBeGreaterThan(40);
    return suppressed.map((s) => s.ruleName.replace(/[0-9A-F]{8}\.Arn>/, '.Arn>')).sort();
  };

  test('defaults: zero unacknowledged findings; SF1/SF2 satisfied; only the reviewed acknowledgements', () => {
    expect(check({}, 'defaults')).toEqual(
      [
        'AwsSolutions-IAM5[Resource::*]',
        'AwsSolutions-IAM5[Resource::<StorageAthenaResults.Arn>/medallion-test/*]',
        'AwsSolutions-IAM5[Resource::<StorageGold.Arn>/a/*]',
        'AwsSolutions-IAM5[Resource::<StorageGold.Arn>/b/*]',
        'AwsSolutions-IAM5[Resource::<StorageGold.Arn>/c/*]',
        'AwsSolutions-IAM5[Resource::<StorageSilver.Arn>/*]',
        // The partition is a literal once the region is known (@aws-cdk/core:enablePartitionLiterals).
        `AwsSolutions-IAM5[Resource::arn:aws:glue:eu-west-1:111111111111:table/${DATABASE}/*]`,
      ].sort(),
    );
  });

  test('narrowed sources: no whole-bucket or whole-database acknowledgement left', () => {
    const found = check({ silverPrefixes: ['retail/orders/'], sourceTables: ['orders'] }, 'narrowed');
    expect(found).toContain('AwsSolutions-IAM5[Resource::<StorageSilver.Arn>/retail/orders/*]');
    expect(found.filter((f) => f.endsWith('Silver.Arn>/*]') || f.includes(':table/'))).toEqual([]);
  });
});

describe('another engine', () => {
  test('any GoldEngine materializes the models: its name, its static input and its task are used', () => {
    const engine: GoldEngine = {
      name: 'test-engine',
      modelInput: (model) => ({ statement: `CREATE ${model.name}` }),
      runModelTask: (scope, model, target) =>
        tasks.CallAwsService.jsonPath(scope, `${model.name}-Write`, {
          stateName: `${model.name}: write`,
          service: 'redshiftdata',
          action: 'executeStatement',
          iamAction: 'redshift-data:ExecuteStatement',
          iamResources: ['arn:aws:redshift-serverless:eu-west-1:111111111111:workgroup/test'],
          parameters: {
            'Sql.$': `${target.inputPath}.statement`,
            'Location.$': target.locationPath,
            Database: target.database,
          },
          resultSelector: { 'QueryExecutionId.$': '$.Id' },
          resultPath: target.resultPath,
        }),
      runStatementTask: () => {
        throw new Error('no incremental model here');
      },
    };
    const { template } = build({ engine });
    const t = template();
    const def = definitionOf(t) as Json;
    expect(def.Comment).toContain('on test-engine');
    const branch = def.States['wave 1'].Branches[0].States;
    expect(branch['a: version'].Parameters.run).toEqual({ statement: 'CREATE a' });
    expect(branch['a: write']).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:redshiftdata:executeStatement',
      Parameters: { 'Sql.$': '$.run.statement', 'Location.$': '$.location', Database: DATABASE },
      ResultPath: '$.query',
      Next: 'a: read table',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'a: alarm' }],
    });
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('redshift-data:ExecuteStatement');
    expect(policies).not.toContain('athena:');
  });
});
