/**
 * The Athena engine of the gold workflow: each model is an `UNLOAD` run with
 * `athena:startQueryExecution.sync`, under IAM policies scoped to what the model reads and writes.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { GoldModel } from '../../core/gold/models';
import { unloadStatement } from '../../core/gold/unload';
import { goldModelPrefix } from '../../core/lake/layout';
import { objectArns } from '../lake-access';
import { acknowledge, flattenReference } from '../nag';
import {
  AthenaQueryTask,
  athenaQueryBasePolicies,
  retryAthenaSubmission,
  S3_WRITE_ACTIONS,
} from './athena-query-task';
import type { GoldEngine, GoldModelTarget } from './gold-engine';
import { retryTaskFailures } from './gold-tasks';

/** Properties of {@link AthenaEngine}. */
export interface AthenaEngineProps extends AthenaEngineOptions {
  /** The Athena workgroup the queries run in (its settings decide output location and encryption). */
  readonly workGroup: string;
  /** The bucket where the workgroup writes query results (and UNLOAD's manifests). */
  readonly resultsBucket: s3.IBucket;
  /** The lake key: silver, gold and query results are encrypted with it. */
  readonly key: kms.IKey;
  /** The silver bucket the models read. */
  readonly silverBucket: s3.IBucket;
}

/** The optional settings of {@link AthenaEngine}: what the models read, where results go, how long. */
export interface AthenaEngineOptions {
  /**
   * The key prefix of the workgroup's results in `resultsBucket`, ending with '/'.
   * @default `<workGroup>/` (the data catalog's convention)
   */
  readonly resultsPrefix?: string;
  /**
   * Key prefixes of the silver tables the models read (e.g. `_current/<domain>/<dataset>/`, see
   * `silverTableLocations`), ending with '/'.
   * @default [''] - the whole silver bucket (read only), acknowledged
   */
  readonly silverPrefixes?: string[];
  /**
   * Names of the silver tables the models read, in the workflow's database (the gold tables a model
   * depends on are added per model).
   * @default - every table of the database (read only), acknowledged
   */
  readonly sourceTables?: string[];
  /**
   * How long one model's query may run; Step Functions stops it when this passes.
   * @default Duration.hours(1)
   */
  readonly queryTimeout?: Duration;
}

/**
 * Runs gold models on Athena: one `UNLOAD (<sql>) TO '<new version>' WITH (format = 'PARQUET',
 * compression = 'ZSTD')` per model through `athena:startQueryExecution.sync`. The statement is assembled
 * at run time from the text before and after the location (static values of the model's input) and the
 * location, with `States.Format('{}{}{}', ...)`.
 *
 * The task is rendered by hand instead of with `tasks.AthenaStartQueryExecution`, whose policies include
 * `s3:CreateBucket`/`s3:GetObject` on `*`, `lakeformation:GetDataAccess` on `*` and glue:Delete* on the
 * whole database: here each model may only read its sources and write its own prefix.
 */
export class AthenaEngine implements GoldEngine {
  public readonly name = 'athena';
  private readonly props: AthenaEngineProps;
  private readonly resultsPrefix: string;

  constructor(props: AthenaEngineProps) {
    this.props = props;
    this.resultsPrefix = props.resultsPrefix ?? `${props.workGroup}/`;
    for (const p of [this.resultsPrefix, ...(props.silverPrefixes ?? [])]) {
      if (p !== '' && !p.endsWith('/')) throw new Error(`Athena engine: prefix '${p}' must end with '/'`);
    }
  }

  public modelInput(model: GoldModel): Record<string, string> {
    return unloadStatement(model.sql);
  }

  public runModelTask(scope: Construct, model: GoldModel, target: GoldModelTarget): sfn.TaskStateBase {
    return this.queryTask(scope, model, target, {
      id: `${model.name}-Write`,
      stateName: `${model.name}: write`,
      comment: `Writes ${model.name} as Parquet into the new version's prefix (UNLOAD, waits for the query).`,
      queryString: sfn.JsonPath.format(
        '{}{}{}',
        sfn.JsonPath.stringAt(`${target.inputPath}.before`),
        sfn.JsonPath.stringAt(target.locationPath),
        sfn.JsonPath.stringAt(`${target.inputPath}.after`),
      ),
    });
  }

  public runStatementTask(
    scope: Construct,
    model: GoldModel,
    target: GoldModelTarget,
    statementPath: string,
  ): sfn.TaskStateBase {
    return this.queryTask(scope, model, target, {
      id: `${model.name}-WriteBatch`,
      stateName: `${model.name}: write batch`,
      comment: `Writes a batch of ${model.name}'s partitions as Parquet under the new version (UNLOAD ... partitioned_by, waits for the query).`,
      queryString: sfn.JsonPath.stringAt(statementPath),
    });
  }

  /** A query of `model`'s, under the policies of what it reads and writes, with its retries. */
  private queryTask(
    scope: Construct,
    model: GoldModel,
    target: GoldModelTarget,
    state: { id: string; stateName: string; comment: string; queryString: string },
  ): sfn.TaskStateBase {
    const { props } = this;
    const stack = Stack.of(scope);
    const glueArn = (resource: string, resourceName?: string) =>
      stack.formatArn({ service: 'glue', resource, resourceName });
    const catalog = glueArn('catalog');
    const database = glueArn('database', target.database);
    const sourceTables = props.sourceTables
      ? props.sourceTables.map((t) => glueArn('table', `${target.database}/${t}`))
      : [glueArn('table', `${target.database}/*`)];
    const dependencyTables = model.dependsOn.map((d) => glueArn('table', `${target.database}/${d}`));
    const silverPrefixes = props.silverPrefixes ?? [''];
    const objects = objectArns;

    const policies = [
      // Stop: Step Functions stops the query when the task times out or the execution is stopped.
      // ListBucket also lets UNLOAD check that the new version's prefix is empty.
      ...athenaQueryBasePolicies(scope, {
        workGroup: props.workGroup,
        resultsBucket: props.resultsBucket,
        resultsPrefix: this.resultsPrefix,
        key: props.key,
        listedBuckets: [props.silverBucket, target.bucket],
      }),
      // Athena reads the catalog with the caller's permissions: the sources and the gold tables the model
      // depends on, nothing else (a model reading an undeclared gold table fails instead of racing it).
      new iam.PolicyStatement({ actions: ['glue:GetDatabase'], resources: [catalog, database] }),
      new iam.PolicyStatement({
        actions: ['glue:GetTable', 'glue:GetPartitions'],
        resources: [catalog, database, ...sourceTables, ...dependencyTables],
      }),
      // ...and S3 too: silver (read), the dependencies' gold prefixes (read), its own prefix (write).
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: objects(props.silverBucket, silverPrefixes),
      }),
      new iam.PolicyStatement({
        actions: S3_WRITE_ACTIONS,
        resources: objects(target.bucket, [target.prefix]),
      }),
    ];
    if (model.dependsOn.length > 0) {
      policies.push(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: objects(target.bucket, model.dependsOn.map(goldModelPrefix)),
        }),
      );
    }
    this.acknowledgeDefaults(scope, stack, target);

    const task = new AthenaQueryTask(scope, state.id, {
      stateName: state.stateName,
      comment: state.comment,
      queryString: state.queryString,
      workGroup: props.workGroup,
      database: target.database,
      policies,
      taskTimeout: sfn.Timeout.duration(props.queryTimeout ?? Duration.hours(1)),
      resultSelector: { 'QueryExecutionId.$': '$.QueryExecution.QueryExecutionId' },
      resultPath: target.resultPath,
    });
    retryAthenaSubmission(task);
    // A query that FAILED is sent twice more, 30 s then 60 s later: failures such as S3 throttling while
    // scanning or an internal error often clear within a minute, and a broken query (failing while
    // planning) scans nothing, so its retries only delay the alarm by 90 s. UNLOAD refuses a non-empty
    // target, so a retry only helps when the failed attempt wrote nothing (the usual case); otherwise it
    // fails at once and the model alarms.
    retryTaskFailures(task, 30, 2);
    return task;
  }

  /** The defaults grant whole-bucket (silver) and whole-database (tables) reads: acknowledged, once. */
  private acknowledgeDefaults(scope: Construct, stack: Stack, target: GoldModelTarget): void {
    if (ACKNOWLEDGED.has(scope)) return;
    ACKNOWLEDGED.add(scope);
    if (!this.props.silverPrefixes) {
      acknowledge(
        scope,
        `IAM5[Resource::${flattenReference(stack.resolve(this.props.silverBucket.arnForObjects('*')))}]`,
        'Gold models read whichever silver datasets their SQL selects (s3:GetObject only); pass silverPrefixes to narrow it to the datasets they use.',
      );
    }
    if (!this.props.sourceTables) {
      const tables = stack.formatArn({
        service: 'glue',
        resource: 'table',
        resourceName: `${target.database}/*`,
      });
      acknowledge(
        scope,
        `IAM5[Resource::${flattenReference(stack.resolve(tables))}]`,
        'Athena reads the catalog entries of the tables a model selects (glue:GetTable/GetPartitions only, one database); pass sourceTables to list them.',
      );
    }
  }
}

/** Workflows whose default-scope findings were acknowledged already (one engine, many models). */
const ACKNOWLEDGED = new WeakSet<Construct>();
