/**
 * The first stage of the gold workflow: bring every dataset's history (`<dataset>_history`) and current
 * state (`<dataset>`), Iceberg tables, up to date with its arrivals, before any model reads them.
 *
 * Per dataset (a Map over the datasets, a few at a time; one dataset's merges never overlap):
 *   tables    Glue GetTables: the dataset's Iceberg tables as they are (absent before the first run);
 *   plan      the planner Lambda returns the DDL that makes them match the contract (CREATE TABLE,
 *             ALTER TABLE ADD COLUMNS), the MERGE statements that append the arrivals committed since the
 *             dataset's watermark to the history and fold them into the current state (or that rebuild a
 *             missing table), the tables' maintenance, and the next watermark;
 *   merge     each statement runs on Athena, one after the other (Iceberg commits of one table from
 *             concurrent writers would conflict: only this serial loop writes the tables);
 *   commit    once every statement succeeded, the planner stores the next watermark;
 *   more?     a plan is bounded (its statements must fit Athena's query size): while commits are left,
 *             plan again.
 * A failure anywhere sends an alarm and fails the execution before any model runs: the current state
 * stays as the last successful merge left it (each MERGE is one Iceberg commit), and the next run
 * merges again from the stored watermark (merges are idempotent).
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { datasetPrefixes, domainPrefixes, lakeDomains } from '../../core/lake/layout';
import { objectArns } from '../lake-access';
import { acknowledge, flattenReference } from '../nag';
import {
  AthenaQueryTask,
  athenaQueryBasePolicies,
  retryAthenaSubmission,
  S3_WRITE_ACTIONS,
} from './athena-query-task';
import { acknowledgeInvoke, alarmThenFail, retryTaskFailures } from './gold-tasks';

/** Properties of {@link currentStateStage}. */
export interface CurrentStateStageProps {
  /** The planner Lambda (`lambdas/current-state/handler.ts`). */
  readonly planner: lambda.IFunction;
  /** The datasets whose current state is merged. */
  readonly contracts: DatasetContract[];
  readonly database: string;
  readonly workGroup: string;
  readonly silverBucket: s3.IBucket;
  readonly resultsBucket: s3.IBucket;
  /** The workgroup's result prefix in `resultsBucket`, ending with '/'. */
  readonly resultsPrefix: string;
  readonly key: kms.IKey;
  readonly alarmTopic: sns.ITopic;
  /**
   * Datasets merged at once (different tables never conflict).
   * @default 4
   */
  readonly maxConcurrency?: number;
  /**
   * How long one MERGE may run.
   * @default Duration.hours(1)
   */
  readonly queryTimeout?: Duration;
}

/** The stage's states, in `scope` (the workflow): a chain to put before the first wave of models. */
export function currentStateStage(scope: Construct, props: CurrentStateStageProps): sfn.Chain {
  const datasets = sfn.Pass.jsonPath(scope, 'CurrentState-Datasets', {
    stateName: 'current state: datasets',
    result: sfn.Result.fromObject({ datasets: props.contracts.map((c) => c.dataset) }),
    resultPath: '$.currentState',
  });
  const perDataset = sfn.Map.jsonPath(scope, 'CurrentState-Map', {
    stateName: 'current state',
    comment:
      'Appends the arrivals committed since the last run to each dataset’s history and merges them into its current state.',
    itemsPath: '$.currentState.datasets',
    maxConcurrency: props.maxConcurrency ?? 4,
    itemSelector: { 'dataset.$': '$$.Map.Item.Value' },
    resultPath: sfn.JsonPath.DISCARD,
  });
  perDataset.itemProcessor(datasetMerge(scope, props));

  const alarm = alarmThenFail(scope, 'CurrentState', {
    stateName: 'current state',
    topic: props.alarmTopic,
    subject: 'medallion: current-state merge failed',
    message: { stage: 'current state' },
    published: 'no gold model ran; the current-state tables keep their last merge',
    error: 'CurrentStateFailed',
    cause: 'the current state of a dataset could not be merged (see the alarm topic); no gold model ran',
  });
  perDataset.addCatch(alarm, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  return sfn.Chain.start(datasets).next(perDataset);
}

/** One dataset: plan, merge statement by statement, commit the watermark, again while more is left. */
function datasetMerge(scope: Construct, props: CurrentStateStageProps): sfn.IChainable {
  // LambdaInvoke retries Lambda's own transient errors by default (retryOnServiceExceptions).
  const stack = Stack.of(scope);
  const glueArn = (resource: string, resourceName?: string) =>
    stack.formatArn({ service: 'glue', resource, resourceName });
  const tables = tasks.CallAwsService.jsonPath(scope, 'CurrentState-Tables', {
    stateName: 'current state: tables',
    comment: 'The dataset’s Iceberg tables as the catalog holds them (the plan creates or alters them).',
    service: 'glue',
    action: 'getTables',
    iamAction: 'glue:GetTables',
    parameters: {
      DatabaseName: props.database,
      // Dataset names are [a-z][a-z0-9_]*: nothing to escape in the pattern. The planner tells a missing
      // table (to create, and rebuild) from the ones listed: every Iceberg table of the dataset.
      Expression: sfn.JsonPath.format(
        '^({}|{}_history|{}_deleted)$',
        sfn.JsonPath.stringAt('$.dataset'),
        sfn.JsonPath.stringAt('$.dataset'),
        sfn.JsonPath.stringAt('$.dataset'),
      ),
    },
    // GetTables is authorized on every table of the database (it cannot be narrowed to a name).
    iamResources: [
      glueArn('catalog'),
      glueArn('database', props.database),
      glueArn('table', `${props.database}/*`),
    ],
    resultSelector: { 'tables.$': '$.TableList' },
    resultPath: '$.catalog',
  });
  retryTaskFailures(tables, 2, 5);
  const plan = tasks.LambdaInvoke.jsonPath(scope, 'CurrentState-Plan', {
    stateName: 'current state: plan',
    lambdaFunction: props.planner,
    payload: sfn.TaskInput.fromObject({
      action: 'plan',
      dataset: sfn.JsonPath.stringAt('$.dataset'),
      tables: sfn.JsonPath.objectAt('$.catalog.tables'),
    }),
    // The plan's statements and counts, without Lambda's response envelope.
    resultSelector: {
      'statements.$': '$.Payload.statements',
      'commits.$': '$.Payload.commits',
      'partitions.$': '$.Payload.partitions',
      'next.$': '$.Payload.next',
      'more.$': '$.Payload.more',
    },
    resultPath: '$.plan',
  });

  const statements = sfn.Map.jsonPath(scope, 'CurrentState-Statements', {
    stateName: 'current state: merge',
    comment: 'One statement at a time: only this loop commits to the dataset’s Iceberg tables.',
    itemsPath: '$.plan.statements',
    maxConcurrency: 1,
    itemSelector: { 'statement.$': '$$.Map.Item.Value' },
    resultPath: sfn.JsonPath.DISCARD,
  });
  statements.itemProcessor(mergeQuery(scope, props));

  const commit = tasks.LambdaInvoke.jsonPath(scope, 'CurrentState-Commit', {
    stateName: 'current state: commit',
    lambdaFunction: props.planner,
    payload: sfn.TaskInput.fromObject({
      action: 'commit',
      dataset: sfn.JsonPath.stringAt('$.dataset'),
      next: sfn.JsonPath.objectAt('$.plan.next'),
    }),
    resultPath: sfn.JsonPath.DISCARD,
  });

  acknowledgeInvoke(scope, props.planner, 'the current-state planner');
  const done = sfn.Succeed.jsonPath(scope, 'CurrentState-Done', { stateName: 'current state: merged' });
  const more = sfn.Choice.jsonPath(scope, 'CurrentState-More', { stateName: 'current state: more?' })
    .when(sfn.Condition.booleanEquals('$.plan.more', true), tables)
    .otherwise(done);
  return sfn.Chain.start(tables).next(plan).next(statements).next(commit).next(more);
}

/**
 * A statement of a plan, on Athena, under policies limited to the dataset tables it touches: it reads the
 * arrivals (Hive) and writes the Iceberg tables (history, current state, deleted keys).
 */
function mergeQuery(scope: Construct, props: CurrentStateStageProps): sfn.TaskStateBase {
  const stack = Stack.of(scope);
  const glueArn = (resource: string, resourceName?: string) =>
    stack.formatArn({ service: 'glue', resource, resourceName });
  // Every table of the database: the dataset tables' names carry no domain, so per-table ARNs would grow
  // the role's policy by ~0.5 KB per dataset (past IAM's limits at a few dozen datasets). The data stays
  // scoped: S3 access is granted on the domains' table prefixes only.
  const tables = glueArn('table', `${props.database}/*`);
  const domains = lakeDomains(props.contracts);
  const tablePrefixes = [
    datasetPrefixes.history,
    datasetPrefixes.currentState,
    datasetPrefixes.deletedKeys,
  ].flatMap((p) => domainPrefixes(p, domains));
  const policies = [
    ...athenaQueryBasePolicies(scope, {
      workGroup: props.workGroup,
      resultsBucket: props.resultsBucket,
      resultsPrefix: props.resultsPrefix,
      key: props.key,
      listedBuckets: [props.silverBucket],
    }),
    new iam.PolicyStatement({
      actions: ['glue:GetDatabase'],
      resources: [glueArn('catalog'), glueArn('database', props.database)],
    }),
    new iam.PolicyStatement({
      actions: ['glue:GetTable', 'glue:GetPartitions'],
      resources: [glueArn('catalog'), glueArn('database', props.database), tables],
    }),
    // CREATE TABLE creates them; an Iceberg commit (MERGE) and ALTER TABLE swap the table's metadata
    // location.
    new iam.PolicyStatement({
      actions: ['glue:CreateTable', 'glue:UpdateTable'],
      resources: [glueArn('catalog'), glueArn('database', props.database), tables],
    }),
    // The arrivals, read only (the lifecycle expires them, nothing here deletes them).
    new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: objectArns(props.silverBucket, domainPrefixes(datasetPrefixes.data, domains)),
    }),
    // Iceberg writes data, delete and metadata files under the table location and reads them back;
    // OPTIMIZE and VACUUM delete the files they replace or expire.
    new iam.PolicyStatement({
      actions: [...S3_WRITE_ACTIONS, 's3:GetObject', 's3:DeleteObject'],
      resources: objectArns(props.silverBucket, tablePrefixes),
    }),
  ];
  const task = new AthenaQueryTask(scope, 'CurrentState-Merge', {
    stateName: 'current state: MERGE INTO',
    comment:
      'One statement of the plan: DDL, or an Iceberg commit of the dataset’s history, current state or deleted keys.',
    queryString: sfn.JsonPath.stringAt('$.statement'),
    workGroup: props.workGroup,
    database: props.database,
    policies,
    taskTimeout: sfn.Timeout.duration(props.queryTimeout ?? Duration.hours(1)),
    resultPath: sfn.JsonPath.DISCARD,
  });
  retryAthenaSubmission(task);
  // A failed MERGE committed nothing (Iceberg commits are atomic) and merging again is idempotent.
  retryTaskFailures(task, 30, 2);
  acknowledge(
    scope,
    `IAM5[Resource::${flattenReference(stack.resolve(glueArn('table', `${props.database}/*`)))}]`,
    "glue:GetTables lists the dataset tables by name pattern (authorized on every table of the database); the merge reads, creates and updates the datasets' tables, whose names carry no domain to scope by (their data is scoped by S3 prefix, per domain).",
  );
  return task;
}
