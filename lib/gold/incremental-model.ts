/**
 * The branch of an incremental gold model in the gold workflow (see `core/gold/incremental-plan.ts`):
 *
 *   version   the run's version prefix, `s3://<gold>/<model>/v=<execution>/`, and the model's description;
 *   plan      the gold planner decides full, incremental or unchanged (a full rebuild when the execution's
 *             input says `"fullRefresh": true`) and returns the UNLOAD statements, 100 partitions each;
 *   write     the statements run on the engine one after the other, each under its own prefix;
 *   test      a model that declares tests is tested on the partitions written, staged in its staging
 *             table (`model-tests-stage.ts`); a failing test sends the alarm before any partition moves;
 *   publish   batch after batch (the planner lists them from what was written): Glue BatchCreatePartition
 *             for the dates written (an existing partition refuses), BatchUpdatePartition for the same
 *             dates (each partition's location switches at once for its readers; any error fails the
 *             model), BatchDeletePartition for recomputed dates that produced no row;
 *   commit    the planner stores the model's state: its partitions and how far its sources were read.
 * A failure anywhere sends the model's alarm and ends the branch as failed (the run fails at its end):
 * partitions not yet switched keep their previous location, and the next run plans from the last
 * committed state again.
 */
import { Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { IncrementalModelSpec } from '../../core/gold/incremental-plan';
import type { GoldModel } from '../../core/gold/models';
import type { GoldEngine } from './gold-engine';
import {
  acknowledgeInvoke,
  type CatchIntoAlarm,
  MODEL_STATE_PATHS,
  modelPublishedMetric,
  modelTarget,
  retryTaskFailures,
} from './gold-tasks';
import type { ModelTestStates } from './model-tests-stage';

/** What an incremental model's branch needs from the workflow. */
export interface IncrementalBranchProps {
  readonly database: string;
  readonly goldBucket: s3.IBucket;
  /** The gold planner Lambda (`GoldPlanner`). */
  readonly planner: lambda.IFunction;
  readonly engine: GoldEngine;
  /** The version location, a `States.Format` of the execution name. */
  readonly location: string;
  /** Routes a task's errors to the model's alarm. */
  readonly catchIntoAlarm: CatchIntoAlarm;
  /** The model's alarm state (a failed publication goes there). */
  readonly alarm: sfn.IChainable;
  /**
   * The test states, for a model that declares tests.
   * @default - the model is published as soon as it is written
   */
  readonly tests?: ModelTestStates;
}

/** The states of `model`'s branch (the model must be incremental). */
export function incrementalModelBranch(
  scope: Construct,
  model: GoldModel,
  props: IncrementalBranchProps,
): sfn.IChainable {
  const { incremental } = model;
  if (!incremental) throw new Error(`gold model ${model.name} is not incremental`);
  const name = model.name;
  const spec: IncrementalModelSpec = { name, sql: model.sql, ...incremental };
  const stack = Stack.of(scope);
  const glueResources = [
    stack.formatArn({ service: 'glue', resource: 'catalog' }),
    stack.formatArn({ service: 'glue', resource: 'database', resourceName: props.database }),
    stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${props.database}/${name}` }),
  ];
  const plannerCall = (action: string, extra: Record<string, unknown>) =>
    sfn.TaskInput.fromObject({
      action,
      model: sfn.JsonPath.objectAt('$.spec'),
      location: sfn.JsonPath.stringAt(MODEL_STATE_PATHS.location),
      ...extra,
    });
  const planSummary = {
    mode: sfn.JsonPath.stringAt('$.plan.mode'),
    dates: sfn.JsonPath.listAt('$.plan.dates'),
    sources: sfn.JsonPath.objectAt('$.plan.sources'),
  };

  const version = sfn.Pass.jsonPath(scope, `${name}-Version`, {
    stateName: `${name}: version`,
    parameters: {
      model: name,
      version: sfn.JsonPath.executionName,
      location: props.location,
      // The model's description for the planner: plain JSON values, never evaluated as paths.
      spec,
      // The execution's input (`{"fullRefresh": true}`), from the workflow's first state.
      'execution.$': '$.execution',
    },
  });

  const plan = tasks.LambdaInvoke.jsonPath(scope, `${name}-Plan`, {
    stateName: `${name}: plan`,
    comment: 'Full, incremental or unchanged, and the UNLOAD statements (100 partitions each).',
    lambdaFunction: props.planner,
    payload: plannerCall('plan', { input: sfn.JsonPath.objectAt('$.execution') }),
    resultSelector: {
      'mode.$': '$.Payload.mode',
      'reason.$': '$.Payload.reason',
      'statements.$': '$.Payload.statements',
      'dates.$': '$.Payload.dates',
      'sources.$': '$.Payload.sources',
    },
    resultPath: '$.plan',
  });
  props.catchIntoAlarm(plan);

  const write = sfn.Map.jsonPath(scope, `${name}-Write`, {
    stateName: `${name}: write`,
    comment: 'One statement at a time: each writes at most 100 partitions under its own prefix.',
    itemsPath: '$.plan.statements',
    maxConcurrency: 1,
    itemSelector: { 'statement.$': '$$.Map.Item.Value' },
    resultPath: sfn.JsonPath.DISCARD,
  });
  write.itemProcessor(
    props.engine.runStatementTask(
      scope,
      model,
      modelTarget(props.database, props.goldBucket, name),
      '$.statement',
    ),
  );
  write.addCatch(props.alarm, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  const firstBatch = sfn.Pass.jsonPath(scope, `${name}-FirstBatch`, {
    stateName: `${name}: first batch`,
    result: sfn.Result.fromObject({ next: 0 }),
    resultPath: '$.step',
  });
  const batch = tasks.LambdaInvoke.jsonPath(scope, `${name}-Batch`, {
    stateName: `${name}: partitions`,
    comment: 'The Glue partition calls of the next batch, from what the statements wrote.',
    lambdaFunction: props.planner,
    payload: plannerCall('publish', { plan: planSummary, batch: sfn.JsonPath.numberAt('$.step.next') }),
    resultSelector: {
      'create.$': '$.Payload.create',
      'update.$': '$.Payload.update',
      'delete.$': '$.Payload.delete',
      'more.$': '$.Payload.more',
      'next.$': '$.Payload.next',
    },
    resultPath: '$.step',
  });
  props.catchIntoAlarm(batch);

  const glueCall = (id: string, stateName: string, action: string, parameters: Record<string, unknown>) => {
    const task = tasks.CallAwsService.jsonPath(scope, `${name}-${id}`, {
      stateName: `${name}: ${stateName}`,
      service: 'glue',
      action,
      iamAction: `glue:${action[0].toUpperCase()}${action.slice(1)}`,
      parameters: { DatabaseName: props.database, TableName: name, ...parameters },
      iamResources: glueResources,
      resultPath: action === 'batchUpdatePartition' ? '$.updated' : sfn.JsonPath.DISCARD,
    });
    // Each call can be repeated: creating what exists, updating to the same location, deleting what is gone.
    retryTaskFailures(task, 2, 5);
    props.catchIntoAlarm(task);
    return task;
  };
  const create = glueCall('Create', 'create partitions', 'batchCreatePartition', {
    PartitionInputList: sfn.JsonPath.listAt('$.step.create'),
  });
  const update = glueCall('Update', 'switch partitions', 'batchUpdatePartition', {
    Entries: sfn.JsonPath.listAt('$.step.update'),
  });
  const remove = glueCall('Delete', 'delete partitions', 'batchDeletePartition', {
    PartitionsToDelete: sfn.JsonPath.listAt('$.step.delete'),
  });
  // BatchUpdatePartition reports per-partition failures in its response, not as an error.
  const updateFailed = sfn.Pass.jsonPath(scope, `${name}-UpdateFailed`, {
    stateName: `${name}: switch failed`,
    parameters: {
      Error: 'GluePartitionUpdateFailed',
      'Cause.$': 'States.JsonToString($.updated.Errors)',
    },
    resultPath: '$.error',
  });
  updateFailed.next(props.alarm);

  const commit = tasks.LambdaInvoke.jsonPath(scope, `${name}-Commit`, {
    stateName: `${name}: commit`,
    comment: "Stores the model's state: its partitions' locations and how far its sources were read.",
    lambdaFunction: props.planner,
    payload: plannerCall('commit', { plan: planSummary }),
    resultSelector: { 'partitions.$': '$.Payload.partitions' },
    resultPath: '$.committed',
  });
  props.catchIntoAlarm(commit);
  commit.next(modelPublishedMetric(scope, name));
  acknowledgeInvoke(scope, props.planner, 'the gold planner');

  const more = sfn.Choice.jsonPath(scope, `${name}-More`, { stateName: `${name}: more partitions?` })
    .when(sfn.Condition.booleanEquals('$.step.more', true), batch)
    .otherwise(commit);
  const deleteSome = sfn.Choice.jsonPath(scope, `${name}-DeleteSome`, {
    stateName: `${name}: any to delete?`,
  })
    .when(sfn.Condition.isPresent('$.step.delete[0]'), remove.next(more))
    .otherwise(more);
  const switched = sfn.Choice.jsonPath(scope, `${name}-Switched`, { stateName: `${name}: switched?` })
    .when(sfn.Condition.isPresent('$.updated.Errors[0]'), updateFailed)
    .otherwise(deleteSome);
  const upsertSome = sfn.Choice.jsonPath(scope, `${name}-UpsertSome`, { stateName: `${name}: any written?` })
    .when(sfn.Condition.isPresent('$.step.create[0]'), create.next(update).next(switched))
    .otherwise(deleteSome);

  const publication = sfn.Chain.start(firstBatch).next(batch).next(upsertSome);
  const tested = props.tests?.incrementalModel(
    scope,
    model,
    props,
    {
      fn: props.planner,
      // The batches the publication will switch (the planner marks the run pending on batch 0).
      stageBatch: plannerCall('stage', { plan: planSummary, batch: sfn.JsonPath.numberAt('$.stage.next') }),
    },
    publication,
  );
  return sfn.Chain.start(version)
    .next(plan)
    .next(write)
    .next(tested ?? publication);
}
