/**
 * The states around the engine's write: the version, the catalog switch, the model's alarm and the
 * GoldPublished metric, with their IAM; in the workflow, then composed alone around no engine.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import {
  goldPublishedMetric,
  modelFailureAlarm,
  modelVersion,
  publishVersion,
} from '../../../lib/gold/gold-tasks';
import { asArray, definitionOf, logicalId, testContext } from '../../support/cdk';
import { DATABASE, synthesizedWorkflow, workflowIam } from '../../support/cdk-gold-workflow';

describe('the gold tasks in the workflow', () => {
  const { t, byName } = synthesizedWorkflow();

  test('the version is a new prefix per execution: s3://<gold>/<model>/v=<execution name>/', () => {
    const goldRef = `ref-${logicalId(t, 'AWS::S3::Bucket', 'StorageGold').toLowerCase()}`;
    const version = byName('b: version').state;
    expect(version.Type).toBe('Pass');
    expect(version.Parameters['version.$']).toBe('$$.Execution.Name');
    const expected = `States.Format('s3://${goldRef}/b/v={}/', $$.Execution.Name)`;
    expect(version.Parameters['location.$']).toBe(expected);
    expect(version.Parameters.patch).toEqual({ 'Location.$': expected });
  });

  test('publishing reads the table, then updates it with only the fields UpdateTable accepts', () => {
    const read = byName('c: read table').state;
    expect(read.Resource).toBe('arn:aws:states:::aws-sdk:glue:getTable');
    expect(read.Parameters).toEqual({ DatabaseName: DATABASE, Name: 'c' });
    const merge = byName('c: merge').state;
    expect(merge.ResultPath).toBeUndefined(); // replaces the state: the statement and defaults are dropped
    expect(merge.Parameters).toEqual({
      'model.$': '$.model',
      'version.$': '$.version',
      'location.$': '$.location',
      'lineage.$': '$.lineage',
      'queryExecutionId.$': '$.query.QueryExecutionId',
      'table.$': 'States.JsonMerge($.defaults, $.current.Table, false)',
      'storage.$': 'States.JsonMerge($.current.Table.StorageDescriptor, $.patch, false)',
    });
    expect(byName('c: version').state.Parameters.defaults).toEqual({
      Description: '',
      Retention: 0,
      PartitionKeys: [],
      TableType: 'EXTERNAL_TABLE',
      Parameters: {},
    });
    expect(byName('c: has owner?').state.Choices).toEqual([
      { Variable: '$.table.Owner', IsPresent: true, Next: 'c: input+owner' },
    ]);
    const accepted = [
      'Name',
      'Description',
      'Retention',
      'StorageDescriptor',
      'PartitionKeys',
      'TableType',
      'Parameters',
    ];
    const fields = (state: string) =>
      Object.keys(byName(state).state.Parameters)
        .map((k) => k.replace(/\.\$$/, ''))
        .sort();
    expect(fields('c: input')).toEqual([...accepted].sort());
    expect(fields('c: input+owner')).toEqual([...accepted, 'Owner'].sort());
    expect(byName('c: input').state.Parameters['StorageDescriptor.$']).toBe('$.storage');
    // Lineage: the run that built the version joins the table's parameters (its sources are there already).
    expect(byName('c: version').state.Parameters.lineage).toEqual({ 'medallion.run.$': '$$.Execution.Name' });
    expect(byName('c: input').state.Parameters['Parameters.$']).toBe(
      'States.JsonMerge($.table.Parameters, $.lineage, false)',
    );
    const publish = byName('c: publish').state;
    expect(publish.Resource).toBe('arn:aws:states:::aws-sdk:glue:updateTable');
    // SkipArchive: no archived table version per run (Glue would keep them all).
    expect(publish.Parameters).toEqual({
      DatabaseName: DATABASE,
      'TableInput.$': '$.tableInput',
      SkipArchive: true,
    });
  });

  test('once every wave is done, GoldPublished = 1 is sent (Medallion, no dimension, Count)', () => {
    const metric = byName('metric: gold published').state;
    expect(metric.Resource).toBe('arn:aws:states:::aws-sdk:cloudwatch:putMetricData');
    expect(metric.Parameters).toEqual({
      Namespace: 'Medallion',
      MetricData: [{ MetricName: 'GoldPublished', Value: 1, Unit: 'Count' }],
    });
    expect(metric.ResultPath).toBeNull();
    expect(metric.Next).toBe('published');
    expect(metric.Retry).toEqual([
      { ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 5, MaxAttempts: 4, BackoffRate: 2 },
    ]);
    // Not sent: the tables are published, but the execution fails (and its failure alarm says why).
    expect(metric.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'metric: failed' },
    ]);
    expect(byName('metric: failed').state).toMatchObject({ Type: 'Fail', Error: 'GoldMetricFailed' });
  });

  test('the alarm names the model, the execution, the error and its cause', () => {
    const alarm = byName('b: alarm').state;
    expect(alarm.Parameters.TopicArn).toBe(`ref-${logicalId(t, 'AWS::SNS::Topic', 'Alarms').toLowerCase()}`);
    expect(alarm.Parameters.Subject).toBe('medallion gold: model b failed');
    expect(alarm.Parameters.Message).toMatchObject({
      model: 'b',
      'execution.$': '$$.Execution.Id',
      'error.$': '$.error.Error',
      'cause.$': '$.error.Cause',
    });
  });

  describe('IAM', () => {
    const { mine, resourcesOf } = workflowIam(t);

    test('Glue: UpdateTable on the catalog, the database and the three gold tables only', () => {
      const resources = resourcesOf('glue:UpdateTable');
      expect(resources).toHaveLength(5);
      expect(resources.filter((r) => r.includes(':table/'))).toEqual(
        ['a', 'b', 'c'].map((n) => expect.stringContaining(`:table/${DATABASE}/${n}"`)),
      );
      expect(resources.some((r) => /:catalog"(\]\]\})?$/.test(r))).toBe(true);
      expect(resources.some((r) => r.includes(`:database/${DATABASE}"`))).toBe(true);
      expect(resourcesOf('glue:GetDatabase').length).toBeGreaterThan(0);
      expect(resourcesOf('glue:GetPartitions').length).toBeGreaterThan(0);
    });

    test('CloudWatch: PutMetricData into the Medallion namespace only', () => {
      const put = mine.filter((s) => asArray(s.Action).includes('cloudwatch:PutMetricData'));
      expect(put).toEqual([
        {
          Effect: 'Allow',
          Action: 'cloudwatch:PutMetricData',
          Resource: '*',
          Condition: { StringEquals: { 'cloudwatch:namespace': 'Medallion' } },
        },
      ]);
    });

    test('SNS: publish to the alarm topic only', () => {
      expect(resourcesOf('sns:Publish')).toEqual([
        JSON.stringify({ Ref: logicalId(t, 'AWS::SNS::Topic', 'Alarms') }),
      ]);
    });
  });
});

describe('the gold tasks alone', () => {
  const stack = new Stack(new App({ context: testContext() }), 'Tasks', {
    env: { account: '111111111111', region: 'eu-west-1' },
  });
  const topic = new sns.Topic(stack, 'Topic', { enforceSSL: true });
  const alarm = modelFailureAlarm(stack, { name: 'm', source: { file: 'm.sql', sqlLine: 4 } }, topic);
  const catchIntoAlarm = (task: sfn.TaskStateBase) =>
    task.addCatch(alarm, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  const definition = sfn.Chain.start(
    modelVersion(stack, 'm', 's3://gold/m/v=1/', { before: 'B', after: 'A' }),
  )
    .next(publishVersion(stack, 'm', 'db', catchIntoAlarm))
    .next(goldPublishedMetric(stack));
  new sfn.StateMachine(stack, 'StateMachine', {
    queryLanguage: sfn.QueryLanguage.JSON_PATH,
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
  });
  const t = Template.fromStack(stack);
  const def = definitionOf(t);

  test('the alarm says where the SQL starts in its file, so an engine error line can be traced to it', () => {
    expect(def.States['m: alarm'].Parameters.Message).toMatchObject({
      model: 'm',
      file: 'm.sql',
      sqlStartsAtLine: '4',
    });
  });

  test("the version carries the location, its patch, the table defaults and the engine's values", () => {
    expect(def.StartAt).toBe('m: version');
    expect(def.States['m: version'].Parameters).toMatchObject({
      model: 'm',
      'version.$': '$$.Execution.Name',
      location: 's3://gold/m/v=1/',
      patch: { Location: 's3://gold/m/v=1/' },
      run: { before: 'B', after: 'A' },
    });
  });

  test('both Glue calls give up at once on permanent errors, retry the others, and catch into the alarm', () => {
    for (const name of ['m: read table', 'm: publish']) {
      expect(def.States[name].Retry).toEqual([
        {
          ErrorEquals: [
            'Glue.EntityNotFoundException',
            'Glue.InvalidInputException',
            'Glue.AccessDeniedException',
          ],
          MaxAttempts: 0,
          BackoffRate: 2,
        },
        { ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 2, MaxAttempts: 5, BackoffRate: 2 },
      ]);
      expect(def.States[name].Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'm: alarm' },
      ]);
    }
    expect(def.States['m: alarm'].Next).toBe('m: failed');
    expect(def.States['m: alarm'].Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.alarmError', Next: 'm: failed' },
    ]);
  });

  test('publishing leads to the metric; the table input without an owner copies the other fields', () => {
    expect(def.States['m: publish'].Next).toBe('metric: gold published');
    expect(def.States['m: input'].Parameters).toEqual({
      'Name.$': '$.table.Name',
      'Description.$': '$.table.Description',
      'Retention.$': '$.table.Retention',
      'StorageDescriptor.$': '$.storage',
      'PartitionKeys.$': '$.table.PartitionKeys',
      'TableType.$': '$.table.TableType',
      'Parameters.$': 'States.JsonMerge($.table.Parameters, $.lineage, false)',
    });
    expect(Object.keys(def.States['m: input+owner'].Parameters)).toEqual([
      'Name.$',
      'Description.$',
      'Owner.$',
      'Retention.$',
      'StorageDescriptor.$',
      'PartitionKeys.$',
      'TableType.$',
      'Parameters.$',
    ]);
  });

  test("the role may read and update the model's table, publish to the topic and put the metric, nothing more", () => {
    const policy = logicalId(t, 'AWS::IAM::Policy', 'StateMachineRoleDefaultPolicy');
    const statements = t.findResources('AWS::IAM::Policy')[policy].Properties.PolicyDocument.Statement as {
      Action: string | string[];
    }[];
    expect(statements.flatMap((s) => asArray(s.Action)).sort()).toEqual(
      ['cloudwatch:PutMetricData', 'glue:GetTable', 'glue:UpdateTable', 'sns:Publish'].sort(),
    );
    expect(JSON.stringify(statements)).toContain(':table/db/m');
  });
});
