/**
 * The gold slice: a scheduled Step Functions workflow that runs the gold models in dependency order and
 * publishes each one atomically.
 *
 * Per model, on every run:
 *   1. a new, empty version prefix is chosen: `s3://<gold>/<model>/v=<execution name>/`;
 *   2. the engine writes the model's full result there as Parquet (Athena: `UNLOAD ... TO`, `.sync`);
 *   3. only once that succeeded, the Glue table's location is switched to the new prefix (GetTable, then
 *      UpdateTable with the same definition and the new location).
 * Readers resolve a table's location when a query starts, so they see either the previous version or the
 * new one, complete: never a prefix being written. If anything fails, the location is not switched, the
 * previous version stays published, an alarm is sent and the execution fails.
 *
 * Once every model is published, the workflow sends the metric `Medallion/GoldPublished` = 1 (no
 * dimension): the freshness alarm watches it.
 */
import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { orderModels } from '../../core/gold/graph';
import type { GoldModel } from '../../core/gold/models';
import { unloadStatement } from '../../core/gold/unload';
import { goldModelPrefix, goldVersionPrefix } from '../../core/lake/layout';
import { METRIC_NAMES, METRICS_NAMESPACE } from '../../core/telemetry/metrics';
import { acknowledge, acknowledgePrefixScopedObjectArns, flattenReference } from '../nag';

/** Where an engine writes a model's new version. */
export interface GoldModelTarget {
  /** The Glue database of the gold table (and of the tables the SQL reads). */
  readonly database: string;
  /** The gold bucket. */
  readonly bucket: s3.IBucket;
  /** The model's key prefix in the gold bucket (`<model>/`); versions are written below it. */
  readonly prefix: string;
  /**
   * JSONPath, in the task's input, of this run's version location `s3://<gold>/<model>/v=<execution>/`
   * (with its trailing slash). The prefix is new on each run, so nothing is there yet.
   */
  readonly locationPath: string;
  /** JSONPath, in the task's input, of the values returned by {@link GoldEngine.modelInput}. */
  readonly inputPath: string;
}

/**
 * A query engine that materializes gold models. Athena is the only one implemented; a Redshift Serverless
 * engine (Data API `executeStatement` + `UNLOAD`) can implement the same contract later.
 */
export interface GoldEngine {
  /** Shown in state names and descriptions. */
  readonly name: string;
  /**
   * Static values the model's task needs in its input (at `target.inputPath`), e.g. its statement. Text
   * is better carried as plain JSON values than inside an intrinsic function's string literal: there a
   * backslash must be escaped as `\\`, which the ASL validator (bundled by the offline runner) refuses.
   */
  modelInput(model: GoldModel): Record<string, string>;
  /**
   * The task that writes `model`'s whole result as Parquet under the target location and succeeds only
   * once every file is written (a `.sync` integration or an equivalent wait). It comes with its own
   * retries and with IAM policies for what it calls and reads; the workflow adds the catch.
   *
   * @param scope the workflow: states are created in it and the engine acknowledges its own cdk-nag
   *   findings on it (it covers the state machine's role)
   */
  runModelTask(scope: Construct, model: GoldModel, target: GoldModelTarget): sfn.TaskStateBase;
}

/** Properties of {@link AthenaEngine}. */
export interface AthenaEngineProps {
  /** The Athena workgroup the queries run in (its settings decide output location and encryption). */
  readonly workGroup: string;
  /** The bucket where the workgroup writes query results (and UNLOAD's manifests). */
  readonly resultsBucket: s3.IBucket;
  /**
   * The key prefix of the workgroup's results in `resultsBucket`, ending with '/'.
   * @default `<workGroup>/` (the data catalog's convention)
   */
  readonly resultsPrefix?: string;
  /** The lake key: silver, gold and query results are encrypted with it. */
  readonly key: kms.IKey;
  /** The silver bucket the models read. */
  readonly silverBucket: s3.IBucket;
  /**
   * Key prefixes of the silver datasets the models read (`<domain>/<dataset>/`), ending with '/'.
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
    const objects = (bucket: s3.IBucket, prefixes: string[]) =>
      prefixes.map((p) => bucket.arnForObjects(`${p}*`));
    const bucketLevel = ['s3:ListBucket', 's3:GetBucketLocation'];
    const writes = ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];

    const policies = [
      new iam.PolicyStatement({
        // Stop: Step Functions stops the query when the task times out or the execution is stopped.
        actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:StopQueryExecution'],
        resources: [
          stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: props.workGroup }),
        ],
      }),
      // Athena reads the catalog with the caller's permissions: the sources and the gold tables the model
      // depends on, nothing else (a model reading an undeclared gold table fails instead of racing it).
      new iam.PolicyStatement({ actions: ['glue:GetDatabase'], resources: [catalog, database] }),
      new iam.PolicyStatement({
        actions: ['glue:GetTable', 'glue:GetPartitions'],
        resources: [catalog, database, ...sourceTables, ...dependencyTables],
      }),
      // ...and S3 too: silver (read), the dependencies' gold prefixes (read), its own prefix (write).
      // ListBucket also lets UNLOAD check that the new version's prefix is empty.
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: objects(props.silverBucket, silverPrefixes),
      }),
      new iam.PolicyStatement({
        actions: bucketLevel,
        resources: [props.silverBucket.bucketArn, target.bucket.bucketArn, props.resultsBucket.bucketArn],
      }),
      new iam.PolicyStatement({ actions: writes, resources: objects(target.bucket, [target.prefix]) }),
      new iam.PolicyStatement({
        actions: [...writes, 's3:GetObject'],
        resources: objects(props.resultsBucket, [this.resultsPrefix]),
      }),
      new iam.PolicyStatement({
        // S3 encrypts and decrypts with the lake key on Athena's behalf, and only S3 may use it here.
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [props.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(props.key).region}.amazonaws.com` } },
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

    const task = new AthenaUnloadTask(scope, `${model.name}-Write`, {
      stateName: `${model.name}: write`,
      comment: `Writes ${model.name} as Parquet into the new version's prefix (UNLOAD, waits for the query).`,
      queryString: sfn.JsonPath.format(
        '{}{}{}',
        sfn.JsonPath.stringAt(`${target.inputPath}.before`),
        sfn.JsonPath.stringAt(target.locationPath),
        sfn.JsonPath.stringAt(`${target.inputPath}.after`),
      ),
      workGroup: props.workGroup,
      database: target.database,
      policies,
      taskTimeout: sfn.Timeout.duration(props.queryTimeout ?? Duration.hours(1)),
      resultSelector: { 'QueryExecutionId.$': '$.QueryExecution.QueryExecutionId' },
      resultPath: '$.query',
    });
    // Throttled or failed submissions: nothing was written, the same query can simply be sent again.
    task.addRetry({
      errors: ['Athena.TooManyRequestsException', 'Athena.InternalServerException'],
      interval: Duration.seconds(10),
      maxAttempts: 6,
      backoffRate: 2,
    });
    // A query that FAILED is sent twice more, 30 s then 60 s later: failures such as S3 throttling while
    // scanning or an internal error often clear within a minute, and a broken query (failing while
    // planning) scans nothing, so its retries only delay the alarm by 90 s. UNLOAD refuses a non-empty
    // target, so a retry only helps when the failed attempt wrote nothing (the usual case); otherwise it
    // fails at once and the model alarms.
    task.addRetry({
      errors: [sfn.Errors.TASKS_FAILED],
      interval: Duration.seconds(30),
      maxAttempts: 2,
      backoffRate: 2,
    });
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

interface AthenaUnloadTaskProps extends sfn.TaskStateJsonPathBaseProps {
  readonly queryString: string;
  readonly workGroup: string;
  readonly database: string;
  readonly policies: iam.PolicyStatement[];
}

/** `athena:startQueryExecution.sync` with exactly the given policies (see {@link AthenaEngine}). */
class AthenaUnloadTask extends sfn.TaskStateBase {
  protected readonly taskMetrics?: sfn.TaskMetricsConfig;
  protected readonly taskPolicies?: iam.PolicyStatement[];
  private readonly query: { queryString: string; workGroup: string; database: string };

  constructor(scope: Construct, id: string, props: AthenaUnloadTaskProps) {
    super(scope, id, { ...props, queryLanguage: sfn.QueryLanguage.JSON_PATH });
    this.taskPolicies = props.policies;
    this.query = { queryString: props.queryString, workGroup: props.workGroup, database: props.database };
  }

  protected _renderTask(): unknown {
    return {
      Resource: `arn:${Aws.PARTITION}:states:::athena:startQueryExecution.sync`,
      ...this._renderParametersOrArguments(
        {
          QueryString: this.query.queryString,
          // Unqualified table names in the SQL resolve in the lake's database.
          QueryExecutionContext: { Database: this.query.database },
          // The workgroup enforces the result location and its encryption (lake key).
          WorkGroup: this.query.workGroup,
        },
        sfn.QueryLanguage.JSON_PATH,
      ),
    };
  }
}

/** `cloudwatch:putMetricData`, its policy limited to the pipeline's namespace (a condition key). */
class PutMetricDataTask extends tasks.CallAwsService {
  constructor(scope: Construct, id: string, props: tasks.CallAwsServiceJsonPathProps) {
    super(scope, id, { ...props, queryLanguage: sfn.QueryLanguage.JSON_PATH });
    for (const statement of this.taskPolicies ?? []) {
      statement.addCondition('StringEquals', { 'cloudwatch:namespace': METRICS_NAMESPACE });
    }
  }
}

/** Properties of {@link GoldWorkflow}. */
export interface GoldWorkflowProps {
  /** The Glue database holding the silver and gold tables. Every model's gold table must exist in it. */
  readonly database: string;
  /** The Athena workgroup the models run in. */
  readonly workGroup: string;
  /** Gold tables' data: `<model>/v=<execution name>/` per published version. */
  readonly goldBucket: s3.IBucket;
  /** The silver bucket the models read. */
  readonly silverBucket: s3.IBucket;
  /** Where the workgroup writes query results. */
  readonly resultsBucket: s3.IBucket;
  /** The lake key (encrypts silver, gold and query results). */
  readonly key: kms.IKey;
  /** Receives one message per failed model: the model, the execution, the error and its cause. */
  readonly alarmTopic: sns.ITopic;
  /** The models; they run in waves of {@link orderModels}. */
  readonly models: GoldModel[];
  /**
   * When the workflow runs.
   * @default events.Schedule.rate(Duration.hours(1))
   */
  readonly schedule?: events.Schedule;
  /**
   * The engine that materializes the models.
   * @default - an {@link AthenaEngine} on `workGroup`, reading `silverBucket`
   */
  readonly engine?: GoldEngine;
  /**
   * Key prefixes of the silver datasets the models read (default engine only), ending with '/'.
   * @default - the whole silver bucket (read only)
   */
  readonly silverPrefixes?: string[];
  /**
   * Silver tables the models read (default engine only).
   * @default - every table of the database (read only)
   */
  readonly sourceTables?: string[];
  /**
   * Key prefix of the workgroup's results in `resultsBucket` (default engine only).
   * @default `<workGroup>/`
   */
  readonly resultsPrefix?: string;
  /**
   * How long one model's query may run (default engine only).
   * @default Duration.hours(1)
   */
  readonly queryTimeout?: Duration;
  /** @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the execution log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** Empty values for the TableInput fields GetTable leaves out when a table does not have them. */
const TABLE_DEFAULTS = {
  Description: '',
  Retention: 0,
  PartitionKeys: [],
  TableType: 'EXTERNAL_TABLE',
  Parameters: {},
};

/**
 * Runs the gold models on a schedule, wave after wave (a Parallel state per wave, one branch per model),
 * and publishes each model atomically by switching its Glue table to the version it just wrote (see the
 * module comment). A failed model sends its error to the alarm topic and fails the execution; the models
 * already published in this run stay published (each is consistent on its own), the others keep their
 * previous version.
 *
 * The state machine is STANDARD and JSONPath (the local runner executes JSONPath only), logs every event
 * with execution data and is traced with X-Ray.
 *
 * Limits: gold tables must be unpartitioned (the location of the table is switched, not partitions);
 * previous versions are not deleted (a clean-up is for a later slice); two overlapping executions could
 * publish out of order, so the schedule must leave a run time to finish.
 */
export class GoldWorkflow extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly logGroup: logs.LogGroup;
  public readonly rule: events.Rule;
  /** The models, as they run: wave by wave. */
  public readonly waves: GoldModel[][];

  constructor(scope: Construct, id: string, props: GoldWorkflowProps) {
    super(scope, id);
    this.waves = orderModels(props.models);
    if (this.waves.length === 0) throw new Error('GoldWorkflow: no gold model to run');

    const engine =
      props.engine ??
      new AthenaEngine({
        workGroup: props.workGroup,
        resultsBucket: props.resultsBucket,
        resultsPrefix: props.resultsPrefix,
        key: props.key,
        silverBucket: props.silverBucket,
        silverPrefixes: props.silverPrefixes,
        sourceTables: props.sourceTables,
        queryTimeout: props.queryTimeout,
      });

    let definition: sfn.Chain | undefined;
    this.waves.forEach((models, i) => {
      const wave = sfn.Parallel.jsonPath(this, `Wave${i + 1}`, {
        stateName: `wave ${i + 1}`,
        comment: `Models whose dependencies were published in earlier waves: ${models.map((m) => m.name).join(', ')}`,
        // Branches pass nothing on: each reads the context and the catalog, not its input.
        resultPath: sfn.JsonPath.DISCARD,
      });
      for (const model of models) wave.branch(this.modelBranch(model, engine, props));
      definition = definition ? definition.next(wave) : sfn.Chain.start(wave);
    });
    const done = sfn.Succeed.jsonPath(this, 'Published', { stateName: 'published' });
    definition = (definition as sfn.Chain).next(this.publishedMetric()).next(done);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: `medallion gold: runs ${props.models.length} gold model(s) on ${engine.name} and publishes each atomically`,
      stateMachineType: sfn.StateMachineType.STANDARD,
      // Explicit: the offline runner executes JSONPath only (JSONata outputs would be silently ignored).
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });

    this.rule = new events.Rule(this, 'Schedule', {
      description: 'medallion gold: runs the gold workflow',
      schedule: props.schedule ?? events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.SfnStateMachine(this.stateMachine)],
    });

    // An encrypted alarm topic: SNS uses its key on the publisher's behalf, so publishing needs the key.
    const topicKey = props.alarmTopic.masterKey;
    if (topicKey) {
      this.stateMachine.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [topicKey.keyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': `sns.${Stack.of(topicKey).region}.amazonaws.com` },
          },
        }),
      );
    }

    acknowledgePrefixScopedObjectArns(this);
    acknowledge(
      this.stateMachine,
      'IAM5[Resource::*]',
      'Tracing and logging of the state machine: xray:PutTraceSegments/PutTelemetryRecords/GetSampling* and the CloudWatch Logs delivery actions (logs:CreateLogDelivery, ...) support no resource-level scoping; ' +
        `neither does cloudwatch:PutMetricData, limited by its cloudwatch:namespace condition to ${METRICS_NAMESPACE}.`,
    );
  }

  /**
   * After the last wave: `GoldPublished` = 1 (namespace `Medallion`, no dimension, Count), the one stream
   * the freshness alarm watches. PutMetricData supports no resource-level permission: the role may only
   * put metrics into the pipeline's namespace. A duplicate (a retried call that had succeeded) only adds to
   * a sum that the alarm compares with 1. If it still fails after its retries, the execution fails (the
   * tables are published; the failure alarm says so, before the freshness alarm would).
   */
  private publishedMetric(): sfn.TaskStateBase {
    const task = new PutMetricDataTask(this, 'PublishedMetric', {
      stateName: 'metric: gold published',
      comment: `Every model is published: ${METRICS_NAMESPACE}/${METRIC_NAMES.GoldPublished} = 1 (the freshness alarm watches it).`,
      service: 'cloudwatch',
      action: 'putMetricData',
      iamAction: 'cloudwatch:PutMetricData',
      iamResources: ['*'],
      parameters: {
        Namespace: METRICS_NAMESPACE,
        MetricData: [{ MetricName: METRIC_NAMES.GoldPublished, Value: 1, Unit: 'Count' }],
      },
      resultPath: sfn.JsonPath.DISCARD,
    });
    task.addRetry({
      errors: [sfn.Errors.TASKS_FAILED],
      interval: Duration.seconds(5),
      maxAttempts: 4,
      backoffRate: 2,
    });
    const failed = sfn.Fail.jsonPath(this, 'MetricFailed', {
      stateName: 'metric: failed',
      error: 'GoldMetricFailed',
      cause: `every gold model was published, but ${METRIC_NAMES.GoldPublished} could not be sent: the freshness alarm may fire although gold is fresh`,
    });
    task.addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    return task;
  }

  /** One model's branch: version, write, read table, rebuild its input, publish; alarm and fail on error. */
  private modelBranch(model: GoldModel, engine: GoldEngine, props: GoldWorkflowProps): sfn.IChainable {
    const name = model.name;
    const location = sfn.JsonPath.format(
      `s3://${props.goldBucket.bucketName}/${goldVersionPrefix(name, '{}')}`,
      sfn.JsonPath.executionName,
    );

    const failed = sfn.Fail.jsonPath(this, `${name}-Failed`, {
      stateName: `${name}: failed`,
      error: 'GoldModelFailed',
      cause: `gold model ${name} was not published (see the alarm topic); its previous version stays readable`,
    });
    const alarm = tasks.SnsPublish.jsonPath(this, `${name}-Alarm`, {
      stateName: `${name}: alarm`,
      topic: props.alarmTopic,
      subject: `medallion gold: model ${name} failed`,
      message: sfn.TaskInput.fromObject({
        model: name,
        execution: sfn.JsonPath.executionId,
        error: sfn.JsonPath.stringAt('$.error.Error'),
        cause: sfn.JsonPath.stringAt('$.error.Cause'),
        published: 'no: the previous version of the table stays published',
      }),
      resultPath: sfn.JsonPath.DISCARD,
    });
    alarm.addRetry({
      errors: [sfn.Errors.TASKS_FAILED],
      interval: Duration.seconds(5),
      maxAttempts: 4,
      backoffRate: 2,
    });
    // Even if the alarm cannot be sent, the execution fails (and its failure metric still shows it).
    alarm.addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: '$.alarmError' });
    alarm.next(failed);
    const onError = (task: sfn.TaskStateBase) =>
      task.addCatch(alarm, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

    // (1) The version: the execution's name, unique per state machine, so the prefix is new and empty.
    const version = sfn.Pass.jsonPath(this, `${name}-Version`, {
      stateName: `${name}: version`,
      parameters: {
        model: name,
        version: sfn.JsonPath.executionName,
        location,
        // What the table's storage descriptor gets merged with, and defaults for absent table fields.
        patch: { Location: location },
        defaults: TABLE_DEFAULTS,
        // The engine's static values: keys without '.$' are never evaluated as paths or intrinsics.
        run: engine.modelInput(model),
      },
    });

    // (2) The engine writes the version (and waits until it is complete).
    const write = engine.runModelTask(this, model, {
      database: props.database,
      bucket: props.goldBucket,
      prefix: goldModelPrefix(name),
      locationPath: '$.location',
      inputPath: '$.run',
    });
    onError(write);

    // (3) Publish: the table as it is now, with only the new location changed.
    const glueResources = [
      Stack.of(this).formatArn({ service: 'glue', resource: 'catalog' }),
      Stack.of(this).formatArn({ service: 'glue', resource: 'database', resourceName: props.database }),
      Stack.of(this).formatArn({
        service: 'glue',
        resource: 'table',
        resourceName: `${props.database}/${name}`,
      }),
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
      onError(task);
    };
    const readTable = tasks.CallAwsService.jsonPath(this, `${name}-ReadTable`, {
      stateName: `${name}: read table`,
      service: 'glue',
      action: 'getTable',
      iamAction: 'glue:GetTable',
      parameters: { DatabaseName: props.database, Name: name },
      iamResources: glueResources,
      resultSelector: { 'Table.$': '$.Table' },
      resultPath: '$.current',
    });
    glueRetry(readTable);

    // GetTable returns more than UpdateTable accepts (DatabaseName, CreateTime, VersionId...), and leaves
    // out unset fields; JSONPath cannot drop keys nor default a missing one, so: merge the defaults under
    // the table, merge the new location over its storage descriptor, then copy the accepted fields.
    // The merge also drops what is no longer needed (the statement, the defaults) from the state.
    const merge = sfn.Pass.jsonPath(this, `${name}-Merge`, {
      stateName: `${name}: merge`,
      parameters: {
        'model.$': '$.model',
        'version.$': '$.version',
        'location.$': '$.location',
        'queryExecutionId.$': '$.query.QueryExecutionId',
        'table.$': 'States.JsonMerge($.defaults, $.current.Table, false)',
        'storage.$': 'States.JsonMerge($.current.Table.StorageDescriptor, $.patch, false)',
      },
    });
    // Owner has no empty value (Glue wants 1-255 characters): it is copied only when the table has one.
    const tableInput = (withOwner: boolean) =>
      sfn.Pass.jsonPath(this, `${name}-Input${withOwner ? 'Owner' : ''}`, {
        stateName: `${name}: input${withOwner ? '+owner' : ''}`,
        parameters: {
          'Name.$': '$.table.Name',
          'Description.$': '$.table.Description',
          ...(withOwner ? { 'Owner.$': '$.table.Owner' } : {}),
          'Retention.$': '$.table.Retention',
          'StorageDescriptor.$': '$.storage',
          'PartitionKeys.$': '$.table.PartitionKeys',
          'TableType.$': '$.table.TableType',
          'Parameters.$': '$.table.Parameters',
        },
        resultPath: '$.tableInput',
      });
    const publish = tasks.CallAwsService.jsonPath(this, `${name}-Publish`, {
      stateName: `${name}: publish`,
      comment: 'Switches the table to the new version: one catalog update, after the write succeeded.',
      service: 'glue',
      action: 'updateTable',
      iamAction: 'glue:UpdateTable',
      parameters: { DatabaseName: props.database, TableInput: sfn.JsonPath.objectAt('$.tableInput') },
      iamResources: glueResources,
      resultPath: sfn.JsonPath.DISCARD,
    });
    glueRetry(publish);

    const hasOwner = sfn.Choice.jsonPath(this, `${name}-HasOwner`, { stateName: `${name}: has owner?` })
      .when(sfn.Condition.isPresent('$.table.Owner'), tableInput(true))
      .otherwise(tableInput(false))
      .afterwards();
    return sfn.Chain.start(version).next(write).next(readTable).next(merge).next(hasOwner).next(publish);
  }
}
