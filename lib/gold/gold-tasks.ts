/**
 * The states of the gold workflow around the engine's write, whatever the engine: a model's version,
 * the catalog switch that publishes it (Glue GetTable, then UpdateTable), its failure alarm, and the
 * `GoldPublished` metric sent once every model is published. States are created in the workflow's scope,
 * named after the model.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { LINEAGE_PARAMETERS } from '../../core/gold/lineage';
import type { GoldModel } from '../../core/gold/models';
import { goldModelPrefix } from '../../core/lake/layout';
import { METRIC_DIMENSIONS, METRIC_NAMES, METRICS_NAMESPACE } from '../../core/telemetry/metrics';
import { acknowledge, flattenReference } from '../nag';
import type { GoldModelTarget } from './gold-engine';

/** Empty values for the TableInput fields GetTable leaves out when a table does not have them. */
const TABLE_DEFAULTS = {
  Description: '',
  Retention: 0,
  PartitionKeys: [],
  TableType: 'EXTERNAL_TABLE',
  Parameters: {},
};

/** The TableInput fields UpdateTable accepts, in the order they are written (GetTable returns more). */
const TABLE_INPUT_FIELDS = [
  'Name',
  'Description',
  'Owner',
  'Retention',
  'StorageDescriptor',
  'PartitionKeys',
  'TableType',
  'Parameters',
] as const;

/** Where a model's branch keeps, in its state, what the engine reads and writes (see {@link modelVersion}). */
export const MODEL_STATE_PATHS = {
  /** The version's location, `s3://<gold>/<model>/v=<execution name>/`. */
  location: '$.location',
  /** The engine's static values (`GoldEngine.modelInput`). */
  engineInput: '$.run',
  /** The engine's result, with its `QueryExecutionId`. */
  engineResult: '$.query',
} as const;

/** Where the engine writes `name`'s version, with the state paths of {@link MODEL_STATE_PATHS}. */
export function modelTarget(database: string, bucket: s3.IBucket, name: string): GoldModelTarget {
  return {
    database,
    bucket,
    prefix: goldModelPrefix(name),
    locationPath: MODEL_STATE_PATHS.location,
    inputPath: MODEL_STATE_PATHS.engineInput,
    resultPath: MODEL_STATE_PATHS.engineResult,
  };
}

/** Adds the catch of a model's task: any error goes to the model's alarm, with the error at `$.error`. */
export type CatchIntoAlarm = (task: sfn.TaskStateBase) => void;

/**
 * (1) The model's version: the execution's name, unique per state machine, so the prefix at `location`
 * is new and empty. The state also carries what the later states need: the patch of the table's storage
 * descriptor, defaults for absent table fields, and the engine's static values (`run`).
 */
export function modelVersion(
  scope: Construct,
  name: string,
  location: string,
  run: Record<string, string>,
): sfn.Pass {
  return sfn.Pass.jsonPath(scope, `${name}-Version`, {
    stateName: `${name}: version`,
    parameters: {
      model: name,
      version: sfn.JsonPath.executionName,
      location,
      // What the table's storage descriptor gets merged with, and defaults for absent table fields.
      patch: { Location: location },
      defaults: TABLE_DEFAULTS,
      // Lineage: the run that built the version, merged into the table's parameters when it is published
      // (its sources are in the table's definition, from the model's refs).
      lineage: { [LINEAGE_PARAMETERS.run]: sfn.JsonPath.executionName },
      // The engine's static values: keys without '.$' are never evaluated as paths or intrinsics.
      run,
    },
  });
}

/** What a model's branch ends with: `ok` once published, else the model's name (failed or skipped). */
export const MODEL_OK = 'ok';

/**
 * A model's failure path: its error is published to the alarm topic, then the branch ends with the
 * model's name as its outcome (the model's previous version stays published). The branch does not fail:
 * a failing branch would fail its wave, and Step Functions would stop the wave's other models midway;
 * the workflow fails at the end instead, once every model that could run has (`gold-workflow.ts`).
 * Returns the alarm state, which the model's tasks catch into.
 */
export function modelFailureAlarm(
  scope: Construct,
  model: Pick<GoldModel, 'name' | 'source'>,
  alarmTopic: sns.ITopic,
): sfn.TaskStateBase {
  const name = model.name;
  return alarmThen(
    scope,
    name,
    {
      stateName: name,
      topic: alarmTopic,
      subject: `medallion gold: model ${name} failed`,
      // Where the SQL is: the engine counts lines from its statement (UNLOAD's line 2 is the SQL's line 1).
      message: model.source
        ? { model: name, file: model.source.file, sqlStartsAtLine: String(model.source.sqlLine) }
        : { model: name },
      published: 'no: the previous version of the table stays published',
    },
    modelOutcome(scope, name, 'failed', name),
  );
}

/** The last state of a model's branch: its outcome (`ok`, or the model's name), and nothing else. */
export function modelOutcome(scope: Construct, model: string, what: string, outcome: string): sfn.Pass {
  return sfn.Pass.jsonPath(scope, `${model}-Outcome-${what}`, {
    stateName: `${model}: ${what}`,
    result: sfn.Result.fromString(outcome),
  });
}

/**
 * A failure path: `<stateName>: alarm` publishes the error at `$.error` (with the execution and `message`)
 * to the topic, then `<stateName>: failed` fails the execution with `error`; the alarm is retried, and even
 * if it cannot be sent the execution fails (its failure metric still shows it). Returns the alarm state,
 * which the failing states catch into.
 */
export function alarmThenFail(
  scope: Construct,
  idPrefix: string,
  props: AlarmProps & {
    error: string;
    cause: string;
  },
): sfn.TaskStateBase {
  const failed = sfn.Fail.jsonPath(scope, `${idPrefix}-Failed`, {
    stateName: `${props.stateName}: failed`,
    error: props.error,
    cause: props.cause,
  });
  return alarmThen(scope, idPrefix, props, failed);
}

/** What an alarm says: its subject, its message, and what stays readable. */
interface AlarmProps {
  readonly stateName: string;
  readonly topic: sns.ITopic;
  readonly subject: string;
  readonly message: Record<string, string>;
  /** What stays readable, said in the alarm. */
  readonly published: string;
}

/** `<stateName>: alarm` publishes the error at `$.error`, then `next` (also when the alarm cannot be sent). */
function alarmThen(
  scope: Construct,
  idPrefix: string,
  props: AlarmProps,
  next: sfn.State,
): sfn.TaskStateBase {
  const alarm = tasks.SnsPublish.jsonPath(scope, `${idPrefix}-Alarm`, {
    stateName: `${props.stateName}: alarm`,
    topic: props.topic,
    subject: props.subject,
    message: sfn.TaskInput.fromObject({
      ...props.message,
      execution: sfn.JsonPath.executionId,
      error: sfn.JsonPath.stringAt('$.error.Error'),
      cause: sfn.JsonPath.stringAt('$.error.Cause'),
      published: props.published,
    }),
    resultPath: sfn.JsonPath.DISCARD,
  });
  retryTaskFailures(alarm, 5, 4);
  alarm.addCatch(next, { errors: [sfn.Errors.ALL], resultPath: '$.alarmError' });
  alarm.next(next);
  return alarm;
}

/**
 * (3) Publish: the model's Glue table as it is now, with only the new location changed (read table,
 * merge, input with or without an owner, UpdateTable). `beforePublish` (the model's tests) runs once the
 * new definition is at `$.tableInput`, and returns the state to start with, which leads to `publish`.
 */
export function publishVersion(
  scope: Construct,
  name: string,
  database: string,
  catchIntoAlarm: CatchIntoAlarm,
  beforePublish?: (publish: sfn.IChainable) => sfn.IChainable,
): sfn.Chain {
  const stack = Stack.of(scope);
  const glueResources = [
    stack.formatArn({ service: 'glue', resource: 'catalog' }),
    stack.formatArn({ service: 'glue', resource: 'database', resourceName: database }),
    stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${database}/${name}` }),
  ];
  const glueRetry = (task: sfn.TaskStateBase) => {
    // Permanent: retrying cannot help (a missing table is a deployment problem).
    task.addRetry({
      errors: ['Glue.EntityNotFoundException', 'Glue.InvalidInputException', 'Glue.AccessDeniedException'],
      maxAttempts: 0,
      backoffRate: 2,
    });
    // Both calls are idempotent: the same definition can be read or written again.
    task.addRetry({
      errors: [sfn.Errors.TASKS_FAILED],
      interval: Duration.seconds(2),
      maxAttempts: 5,
      backoffRate: 2,
    });
    catchIntoAlarm(task);
  };
  const readTable = tasks.CallAwsService.jsonPath(scope, `${name}-ReadTable`, {
    stateName: `${name}: read table`,
    service: 'glue',
    action: 'getTable',
    iamAction: 'glue:GetTable',
    parameters: { DatabaseName: database, Name: name },
    iamResources: glueResources,
    resultSelector: { 'Table.$': '$.Table' },
    resultPath: '$.current',
  });
  glueRetry(readTable);

  // GetTable returns more than UpdateTable accepts (DatabaseName, CreateTime, VersionId...), and leaves
  // out unset fields; JSONPath cannot drop keys nor default a missing one, so: merge the defaults under
  // the table, merge the new location over its storage descriptor, then copy the accepted fields.
  // The merge also drops what is no longer needed (the statement, the defaults) from the state.
  const merge = sfn.Pass.jsonPath(scope, `${name}-Merge`, {
    stateName: `${name}: merge`,
    parameters: {
      ...copiedFields('$', ['model', 'version', 'location', 'lineage']),
      'queryExecutionId.$': `${MODEL_STATE_PATHS.engineResult}.QueryExecutionId`,
      'table.$': 'States.JsonMerge($.defaults, $.current.Table, false)',
      'storage.$': 'States.JsonMerge($.current.Table.StorageDescriptor, $.patch, false)',
    },
  });
  // Owner has no empty value (Glue wants 1-255 characters): it is copied only when the table has one.
  const tableInput = (withOwner: boolean) =>
    sfn.Pass.jsonPath(scope, `${name}-Input${withOwner ? 'Owner' : ''}`, {
      stateName: `${name}: input${withOwner ? '+owner' : ''}`,
      parameters: Object.fromEntries(
        TABLE_INPUT_FIELDS.filter((f) => withOwner || f !== 'Owner').map((f) => [
          `${f}.$`,
          // The merged storage descriptor (new location), the parameters with the run that built it; the
          // other fields as the table has them.
          f === 'StorageDescriptor'
            ? '$.storage'
            : f === 'Parameters'
              ? 'States.JsonMerge($.table.Parameters, $.lineage, false)'
              : `$.table.${f}`,
        ]),
      ),
      resultPath: '$.tableInput',
    });
  const publish = tasks.CallAwsService.jsonPath(scope, `${name}-Publish`, {
    stateName: `${name}: publish`,
    comment: 'Switches the table to the new version: one catalog update, after the write succeeded.',
    service: 'glue',
    action: 'updateTable',
    iamAction: 'glue:UpdateTable',
    // SkipArchive: Glue would otherwise keep every previous definition of the table, one per run, forever.
    parameters: {
      DatabaseName: database,
      TableInput: sfn.JsonPath.objectAt('$.tableInput'),
      SkipArchive: true,
    },
    iamResources: glueResources,
    resultPath: sfn.JsonPath.DISCARD,
  });
  glueRetry(publish);

  const hasOwner = sfn.Choice.jsonPath(scope, `${name}-HasOwner`, { stateName: `${name}: has owner?` })
    .when(sfn.Condition.isPresent('$.table.Owner'), tableInput(true))
    .otherwise(tableInput(false))
    .afterwards();
  if (!beforePublish) return sfn.Chain.start(readTable).next(merge).next(hasOwner).next(publish);
  sfn.Chain.start(readTable).next(merge).next(hasOwner).next(beforePublish(publish));
  return sfn.Chain.custom(readTable, [publish], publish);
}

/**
 * After the last wave: `GoldPublished` = 1 (namespace `Medallion`, no dimension, Count), the one stream
 * the freshness alarm watches. PutMetricData supports no resource-level permission: the role may only
 * put metrics into the pipeline's namespace. A duplicate (a retried call that had succeeded) only adds to
 * a sum that the alarm compares with 1. If it still fails after its retries, the execution fails (the
 * tables are published; the failure alarm says so, before the freshness alarm would).
 */
export function goldPublishedMetric(scope: Construct): sfn.TaskStateBase {
  const task = countMetricTask(scope, 'PublishedMetric', {
    stateName: 'metric: gold published',
    comment: `Every model is published: ${METRICS_NAMESPACE}/${METRIC_NAMES.GoldPublished} = 1 (the freshness alarm watches it).`,
    metric: METRIC_NAMES.GoldPublished,
    maxAttempts: 4,
  });
  const failed = sfn.Fail.jsonPath(scope, 'MetricFailed', {
    stateName: 'metric: failed',
    error: 'GoldMetricFailed',
    cause: `every gold model was published, but ${METRIC_NAMES.GoldPublished} could not be sent: the freshness alarm may fire although gold is fresh`,
  });
  task.addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  return task;
}

/**
 * After the last wave: the retention Lambda records this run's version of every model and deletes the
 * versions beyond the newest kept ones. The tables are published already, so a failure (after its
 * retries) does not fail the run: `next` follows either way, and the next run deletes what this one left.
 */
export function retentionTask(
  scope: Construct,
  janitor: lambda.IFunction,
  models: { name: string }[],
  next: sfn.IChainable,
): sfn.TaskStateBase {
  const task = tasks.LambdaInvoke.jsonPath(scope, 'Retention', {
    stateName: 'retention: old versions',
    comment: 'Deletes gold versions beyond the newest published ones, and those of failed runs.',
    lambdaFunction: janitor,
    payload: sfn.TaskInput.fromObject({
      executionName: sfn.JsonPath.executionName,
      models: models.map((m) => m.name),
    }),
    resultSelector: { 'models.$': '$.Payload.models' },
    resultPath: '$.retention',
  });
  retryTaskFailures(task, 10, 2);
  task.addCatch(next, { errors: [sfn.Errors.ALL], resultPath: '$.retentionError' });
  acknowledgeInvoke(scope, janitor, 'the gold retention function');
  return task;
}

/** Retries a task's failures (`States.TaskFailed`) `maxAttempts` times, from `intervalSeconds`, doubling. */
export function retryTaskFailures(
  task: sfn.TaskStateBase,
  intervalSeconds: number,
  maxAttempts: number,
): void {
  task.addRetry({
    errors: [sfn.Errors.TASKS_FAILED],
    interval: Duration.seconds(intervalSeconds),
    maxAttempts,
    backoffRate: 2,
  });
}

/** cdk-nag: Step Functions' invoke grant covers the function's versions (`<arn>:*`), of this function only. */
export function acknowledgeInvoke(scope: Construct, fn: lambda.IFunction, what: string): void {
  acknowledge(
    scope,
    `IAM5[Resource::${flattenReference(Stack.of(scope).resolve(fn.functionArn))}:*]`,
    `Step Functions invokes ${what}; the grant covers its versions (":*"), this one function only.`,
  );
}

/**
 * `<metric>` = 1 in the pipeline's namespace (Count; no dimension unless given), retried `maxAttempts`
 * times: the workflow's own signals (published, skipped, a model published).
 */
export function countMetricTask(
  scope: Construct,
  id: string,
  props: {
    stateName: string;
    metric: string;
    comment?: string;
    maxAttempts: number;
    dimensions?: Record<string, string>;
  },
): sfn.TaskStateBase {
  const dimensions = Object.entries(props.dimensions ?? {}).map(([Name, Value]) => ({ Name, Value }));
  const task = new PutMetricDataTask(scope, id, {
    stateName: props.stateName,
    comment: props.comment,
    service: 'cloudwatch',
    action: 'putMetricData',
    iamAction: 'cloudwatch:PutMetricData',
    iamResources: ['*'],
    parameters: {
      Namespace: METRICS_NAMESPACE,
      MetricData: [
        {
          MetricName: props.metric,
          ...(dimensions.length > 0 ? { Dimensions: dimensions } : {}),
          Value: 1,
          Unit: 'Count',
        },
      ],
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  retryTaskFailures(task, 5, props.maxAttempts);
  return task;
}

/**
 * After a model is published: `ModelPublished` = 1 with the dimension `Model` (its freshness SLO watches
 * it). The table is published already, so a metric that cannot be sent (after its retries) does not fail
 * the model: the branch ends either way (the SLO may then count a stale period; the failure shows in the
 * execution's history).
 */
export function modelPublishedMetric(scope: Construct, model: string): sfn.IChainable {
  const task = countMetricTask(scope, `${model}-PublishedMetric`, {
    stateName: `${model}: metric`,
    comment: `${METRICS_NAMESPACE}/${METRIC_NAMES.ModelPublished} = 1 for ${model} (its freshness SLO watches it).`,
    metric: METRIC_NAMES.ModelPublished,
    dimensions: { [METRIC_DIMENSIONS.Model]: model },
    maxAttempts: 3,
  });
  const sent = modelOutcome(scope, model, 'done', MODEL_OK);
  task.addCatch(sent, { errors: [sfn.Errors.ALL], resultPath: '$.metricError' });
  return task.next(sent);
}

/** `cloudwatch:putMetricData`, its policy limited to the pipeline's namespace (a condition key). */
export class PutMetricDataTask extends tasks.CallAwsService {
  constructor(scope: Construct, id: string, props: tasks.CallAwsServiceJsonPathProps) {
    super(scope, id, { ...props, queryLanguage: sfn.QueryLanguage.JSON_PATH });
    for (const statement of this.taskPolicies ?? []) {
      statement.addCondition('StringEquals', { 'cloudwatch:namespace': METRICS_NAMESPACE });
    }
  }
}

/** JSONPath parameters copying each of `fields` from the object at `from`: `{ '<f>.$': '<from>.<f>' }`. */
function copiedFields(from: string, fields: readonly string[]): Record<string, string> {
  return Object.fromEntries(fields.map((f) => [`${f}.$`, `${from}.${f}`]));
}
