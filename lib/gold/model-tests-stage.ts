/**
 * The tests of a gold model (`-- test:` in its header, see `core/gold/model-tests.ts`), run in the gold
 * workflow after the model is written and before it is published:
 *
 *   clear staging     Glue DeleteTable of `<database>_staging.<model>` (absent: fine), so nothing of an
 *                     earlier run (a partition) is tested again;
 *   create staging    Glue CreateTable there: the gold table's definition at the version just written
 *                     (a full model: the definition read for the publication; an incremental model: its
 *                     partitioned definition, then its recomputed partitions, batch by batch from the
 *                     planner, with BatchCreatePartition);
 *   test              one Athena query counting every test's failures on the staging table (`.sync`);
 *   test results      Athena GetQueryResults: one row, how many tests failed and which;
 *   tests passed?     none failed: on to the publication; otherwise `tests failed` sets the error
 *                     `GoldTestFailed` (the failing tests and their counts) and the model's alarm follows:
 *                     the previous version stays published.
 *
 * The staging table keeps the last candidate until the model's next run: after a failure, its failing rows
 * can be queried there.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import {
  MODEL_TESTS_COLUMNS,
  modelTestsQuery,
  stagingDatabaseName,
  testedTables,
} from '../../core/gold/model-tests';
import type { GoldModel } from '../../core/gold/models';
import { goldModelPrefix } from '../../core/lake/layout';
import { sqlIdent } from '../../core/sql/quote';
import { PARQUET } from '../data-catalog';
import { objectArns } from '../lake-access';
import { acknowledge, flattenReference } from '../nag';
import { AthenaQueryTask, athenaQueryBasePolicies, retryAthenaSubmission } from './athena-query-task';
import { type CatchIntoAlarm, retryTaskFailures } from './gold-tasks';

/** What the test states need from the workflow. */
export interface ModelTestStatesProps {
  /** The Glue database of the silver and gold tables; the staging database is `<database>_staging`. */
  readonly database: string;
  readonly workGroup: string;
  readonly resultsBucket: s3.IBucket;
  /** The workgroup's results prefix in `resultsBucket`, ending with '/'. */
  readonly resultsPrefix: string;
  readonly key: kms.IKey;
  readonly goldBucket: s3.IBucket;
  readonly silverBucket: s3.IBucket;
  /** The names of the gold models (a relationship's table is one of them or a silver table). */
  readonly goldModels: readonly string[];
  /**
   * The silver prefixes the models may read, granted to tests whose relationships point at a silver table.
   * @default [''] - the whole silver bucket (read only), acknowledged
   */
  readonly silverPrefixes?: string[];
  /** @default Duration.hours(1) */
  readonly queryTimeout?: Duration;
}

/** A model's failure path, as its branch has it. */
export interface ModelFailurePath {
  /** Routes a task's errors to the model's alarm. */
  readonly catchIntoAlarm: CatchIntoAlarm;
  /** The model's alarm state. */
  readonly alarm: sfn.IChainable;
}

/** The error of a model whose tests failed (the alarm's `error`). */
export const GOLD_TEST_FAILED = 'GoldTestFailed';

/** Where the test states keep their results in the model's state. */
const PATHS = { query: '$.testQuery', results: '$.tests', stage: '$.stage' } as const;

/**
 * The staging database (`<database>_staging`) and the test states of the models that declare tests.
 * Create it once per workflow; its states are created in the workflow's scope, named after the model.
 */
export class ModelTestStates extends Construct {
  /** The staging database: one table per tested model, created by the workflow. */
  public readonly database: glue.CfnDatabase;
  public readonly databaseName: string;
  private readonly props: ModelTestStatesProps;

  constructor(scope: Construct, id: string, props: ModelTestStatesProps) {
    super(scope, id);
    this.props = props;
    this.databaseName = stagingDatabaseName(props.database);
    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Stack.of(this).account,
      databaseInput: {
        name: this.databaseName,
        description: `medallion: the candidate version of each tested gold model of ${props.database}, as its tests saw it (kept by the gold workflow)`,
      },
    });
  }

  /**
   * A full model's tests, between the definition read for its publication (`$.tableInput`) and `publish`.
   * Returns the first state.
   */
  public fullModel(
    scope: Construct,
    model: GoldModel,
    failure: ModelFailurePath,
    publish: sfn.IChainable,
  ): sfn.IChainable {
    const tests = this.testStates(scope, model, failure, publish);
    const create = this.createStaging(scope, model, failure, sfn.JsonPath.objectAt('$.tableInput'), tests);
    return this.clearStaging(scope, model, failure, create);
  }

  /**
   * An incremental model's tests, after its statements ran and before `next` (its publication): skipped
   * when the plan wrote nothing; else the staging table gets the model's partitioned definition and
   * the partitions the planner would publish (`stageBatch`: the planner's `publish` call, batch at
   * `$.stage.next`), batch by batch.
   */
  public incrementalModel(
    scope: Construct,
    model: GoldModel,
    failure: ModelFailurePath,
    planner: { readonly fn: lambda.IFunction; readonly stageBatch: sfn.TaskInput },
    next: sfn.IChainable,
  ): sfn.IChainable {
    const { incremental } = model;
    if (!incremental) throw new Error(`gold model ${model.name} is not incremental`);
    const name = model.name;
    const first = sfn.Pass.jsonPath(scope, `${name}-FirstStaged`, {
      stateName: `${name}: first staged`,
      result: sfn.Result.fromObject({ next: 0 }),
      resultPath: PATHS.stage,
    });
    const create = this.createStaging(
      scope,
      model,
      failure,
      {
        Name: name,
        TableType: 'EXTERNAL_TABLE',
        Parameters: { EXTERNAL: 'TRUE', classification: 'parquet' },
        PartitionKeys: [{ Name: incremental.column, Type: 'date' }],
        StorageDescriptor: {
          Location: sfn.JsonPath.stringAt('$.location'),
          Columns: incremental.columns,
          InputFormat: PARQUET.inputFormat,
          OutputFormat: PARQUET.outputFormat,
          SerdeInfo: {
            SerializationLibrary: PARQUET.serdeInfo.serializationLibrary,
            Parameters: PARQUET.serdeInfo.parameters,
          },
        },
      },
      first,
    );
    const list = tasks.LambdaInvoke.jsonPath(scope, `${name}-StageList`, {
      stateName: `${name}: stage list`,
      comment: 'The partitions of the next batch the publication would switch (written by this run).',
      lambdaFunction: planner.fn,
      payload: planner.stageBatch,
      resultSelector: {
        'create.$': '$.Payload.create',
        'more.$': '$.Payload.more',
        'next.$': '$.Payload.next',
      },
      resultPath: PATHS.stage,
    });
    failure.catchIntoAlarm(list);
    const stage = this.glueTask(scope, name, 'StageBatch', 'stage batch', 'batchCreatePartition', {
      TableName: name,
      PartitionInputList: sfn.JsonPath.listAt(`${PATHS.stage}.create`),
    });
    failure.catchIntoAlarm(stage);
    const tests = this.testStates(scope, model, failure, next);
    const more = sfn.Choice.jsonPath(scope, `${name}-MoreToStage`, { stateName: `${name}: more to stage?` })
      .when(sfn.Condition.booleanEquals(`${PATHS.stage}.more`, true), list)
      .otherwise(tests);
    const any = sfn.Choice.jsonPath(scope, `${name}-AnyToStage`, { stateName: `${name}: any to stage?` })
      .when(sfn.Condition.isPresent(`${PATHS.stage}.create[0]`), stage.next(more))
      .otherwise(more);
    first.next(list).next(any);
    return sfn.Choice.jsonPath(scope, `${name}-TestNeeded`, { stateName: `${name}: test needed?` })
      .when(sfn.Condition.isPresent('$.plan.statements[0]'), this.clearStaging(scope, model, failure, create))
      .otherwise(next);
  }

  /** `clear staging`: DeleteTable of the model's staging table; an absent table goes on to `then`. */
  private clearStaging(
    scope: Construct,
    model: GoldModel,
    failure: ModelFailurePath,
    then: sfn.IChainable,
  ): sfn.TaskStateBase {
    const task = this.glueTask(scope, model.name, 'ClearStaging', 'clear staging', 'deleteTable', {
      Name: model.name,
    });
    task.addCatch(then, { errors: ['Glue.EntityNotFoundException'], resultPath: sfn.JsonPath.DISCARD });
    failure.catchIntoAlarm(task);
    task.next(then);
    return task;
  }

  /** `create staging`: CreateTable of the model's staging table from `tableInput`, then `then`. */
  private createStaging(
    scope: Construct,
    model: GoldModel,
    failure: ModelFailurePath,
    tableInput: unknown,
    then: sfn.IChainable,
  ): sfn.TaskStateBase {
    const task = this.glueTask(scope, model.name, 'CreateStaging', 'create staging', 'createTable', {
      TableInput: tableInput,
    });
    // A retried call whose first attempt created the table: runs never overlap, so it is this run's.
    task.addCatch(then, { errors: ['Glue.AlreadyExistsException'], resultPath: sfn.JsonPath.DISCARD });
    failure.catchIntoAlarm(task);
    task.next(then);
    return task;
  }

  /** A Glue call on the model's staging table, retried unless the error is permanent. */
  private glueTask(
    scope: Construct,
    name: string,
    id: string,
    stateName: string,
    action: string,
    parameters: Record<string, unknown>,
  ): sfn.TaskStateBase {
    const stack = Stack.of(scope);
    const task = tasks.CallAwsService.jsonPath(scope, `${name}-${id}`, {
      stateName: `${name}: ${stateName}`,
      service: 'glue',
      action,
      iamAction: `glue:${action[0].toUpperCase()}${action.slice(1)}`,
      parameters: { DatabaseName: this.databaseName, ...parameters },
      iamResources: [
        stack.formatArn({ service: 'glue', resource: 'catalog' }),
        stack.formatArn({ service: 'glue', resource: 'database', resourceName: this.databaseName }),
        stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${this.databaseName}/${name}` }),
      ],
      resultPath: sfn.JsonPath.DISCARD,
    });
    task.addRetry({
      errors: [
        'Glue.EntityNotFoundException',
        'Glue.AlreadyExistsException',
        'Glue.InvalidInputException',
        'Glue.AccessDeniedException',
      ],
      maxAttempts: 0,
    });
    retryTaskFailures(task, 2, 5);
    return task;
  }

  /** `test`, `test results`, `tests passed?` (-> `passed`) and `tests failed` (-> the alarm). */
  private testStates(
    scope: Construct,
    model: GoldModel,
    failure: ModelFailurePath,
    passed: sfn.IChainable,
  ): sfn.IChainable {
    const { props } = this;
    const name = model.name;
    const tests = model.tests ?? [];
    const stack = Stack.of(scope);
    const query = new AthenaQueryTask(scope, `${name}-Test`, {
      stateName: `${name}: test`,
      comment: `Counts the failures of ${tests.length} test(s) on the version just written (staging table ${this.databaseName}.${name}).`,
      queryString: modelTestsQuery(tests, {
        candidate: `${sqlIdent(this.databaseName)}.${sqlIdent(name)}`,
        database: props.database,
      }),
      workGroup: props.workGroup,
      database: props.database,
      policies: this.queryPolicies(scope, model),
      taskTimeout: sfn.Timeout.duration(props.queryTimeout ?? Duration.hours(1)),
      resultSelector: { 'QueryExecutionId.$': '$.QueryExecution.QueryExecutionId' },
      resultPath: PATHS.query,
    });
    retryAthenaSubmission(query);
    retryTaskFailures(query, 30, 2);
    failure.catchIntoAlarm(query);

    const row = (column: (typeof MODEL_TESTS_COLUMNS)[number]) =>
      `$.ResultSet.Rows[1].Data[${MODEL_TESTS_COLUMNS.indexOf(column)}].VarCharValue`;
    const results = tasks.CallAwsService.jsonPath(scope, `${name}-TestResults`, {
      stateName: `${name}: test results`,
      service: 'athena',
      action: 'getQueryResults',
      iamAction: 'athena:GetQueryResults',
      iamResources: [
        stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: props.workGroup }),
      ],
      parameters: {
        QueryExecutionId: sfn.JsonPath.stringAt(`${PATHS.query}.QueryExecutionId`),
        MaxResults: 2,
      },
      // Row 0 holds the column names; row 1 the counts.
      resultSelector: Object.fromEntries(MODEL_TESTS_COLUMNS.map((c) => [`${c}.$`, row(c)])),
      resultPath: PATHS.results,
    });
    retryTaskFailures(results, 2, 5);
    failure.catchIntoAlarm(results);

    const failed = sfn.Pass.jsonPath(scope, `${name}-TestsFailed`, {
      stateName: `${name}: tests failed`,
      parameters: {
        Error: GOLD_TEST_FAILED,
        'Cause.$': `States.Format('{} of ${tests.length} test(s) failed: {}. Every count: {}. Not published: the version {} stays queryable as ${this.databaseName}.${name} until the next run.', ${PATHS.results}.failed, ${PATHS.results}.failures, ${PATHS.results}.results, $.location)`,
      },
      resultPath: '$.error',
    });
    failed.next(failure.alarm);
    const verdict = sfn.Choice.jsonPath(scope, `${name}-TestsPassed`, { stateName: `${name}: tests passed?` })
      .when(sfn.Condition.stringEquals(`${PATHS.results}.failed`, '0'), passed)
      .otherwise(failed);
    return sfn.Chain.start(query).next(results).next(verdict);
  }

  /**
   * What the test query reads: the staging table and the model's gold prefix (the candidate), the tables
   * its relationships point at (their gold prefixes, or the silver prefixes), through Athena.
   */
  private queryPolicies(scope: Construct, model: GoldModel): iam.PolicyStatement[] {
    const { props } = this;
    const stack = Stack.of(scope);
    const glueArn = (resource: string, resourceName?: string) =>
      stack.formatArn({ service: 'glue', resource, resourceName });
    const targets = testedTables(model.tests);
    const goldTargets = targets.filter((t) => props.goldModels.includes(t));
    const silverTargets = targets.filter((t) => !props.goldModels.includes(t));
    const databases = [this.databaseName, ...(targets.length > 0 ? [props.database] : [])];
    const policies = [
      ...athenaQueryBasePolicies(scope, {
        workGroup: props.workGroup,
        resultsBucket: props.resultsBucket,
        resultsPrefix: props.resultsPrefix,
        key: props.key,
        listedBuckets: [props.goldBucket, ...(silverTargets.length > 0 ? [props.silverBucket] : [])],
      }),
      new iam.PolicyStatement({
        actions: ['glue:GetDatabase'],
        resources: [glueArn('catalog'), ...databases.map((d) => glueArn('database', d))],
      }),
      new iam.PolicyStatement({
        actions: ['glue:GetTable', 'glue:GetPartitions'],
        resources: [
          glueArn('catalog'),
          ...databases.map((d) => glueArn('database', d)),
          glueArn('table', `${this.databaseName}/${model.name}`),
          ...targets.map((t) => glueArn('table', `${props.database}/${t}`)),
        ],
      }),
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: objectArns(props.goldBucket, [model.name, ...goldTargets].map(goldModelPrefix)),
      }),
    ];
    if (silverTargets.length > 0) {
      const prefixes = props.silverPrefixes ?? [''];
      policies.push(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: objectArns(props.silverBucket, prefixes),
        }),
      );
      if (!props.silverPrefixes) {
        acknowledge(
          scope,
          `IAM5[Resource::${flattenReference(stack.resolve(props.silverBucket.arnForObjects('*')))}]`,
          'A gold model test whose relationship points at a silver table reads it (s3:GetObject only); pass silverPrefixes to narrow it to the datasets the models use.',
        );
      }
    }
    return policies;
  }
}
