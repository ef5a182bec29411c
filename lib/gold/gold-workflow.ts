/**
 * The gold slice: a scheduled Step Functions workflow that runs the gold models in dependency order and
 * publishes each one atomically.
 *
 * Per model, on every run:
 *   1. a new, empty version prefix is chosen: `s3://<gold>/<model>/v=<execution name>/`;
 *   2. the engine writes the model's full result there as Parquet (Athena: `UNLOAD ... TO`, `.sync`;
 *      Redshift: build the table, then `UNLOAD` it, each statement polled until it ends);
 *   3. only once that succeeded, the Glue table's location is switched to the new prefix (GetTable, then
 *      UpdateTable with the same definition and the new location); a model that declares tests is
 *      tested on that version first (`model-tests-stage.ts`), and a failing test keeps it unpublished;
 *      an engine may run a step right before the switch (Redshift: swap the new table in).
 * An engine may also run a setup once per execution, before the first wave (Redshift: its schemas).
 * Readers resolve a table's location when a query starts, so they see either the previous version or the
 * new one, complete: never a prefix being written. If a model fails, its location is not switched, its
 * previous version stays published and its alarm is sent; the other models go on, those reading it are
 * skipped, and the execution fails once all that could run ran (`model-outcomes.ts`).
 *
 * Once every model is published, the workflow runs retention and sends the metric
 * `Medallion/GoldPublished` = 1 (no dimension): the freshness alarm watches it.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { orderModels } from '../../core/gold/graph';
import type { GoldModel } from '../../core/gold/models';
import { goldVersionPrefix } from '../../core/lake/layout';
import { METRICS_NAMESPACE } from '../../core/telemetry/metrics';
import { type LogSettings, logGroupProps } from '../log-settings';
import { acknowledge, acknowledgePrefixScopedObjectArns } from '../nag';
import { AthenaEngine, type AthenaEngineOptions } from './athena-engine';
import { currentStateStage } from './current-state-stage';
import { engineStates, type GoldEngine } from './gold-engine';
import {
  alarmThenFail,
  goldPublishedMetric,
  modelFailureAlarm,
  modelPublishedMetric,
  modelTarget,
  modelVersion,
  publishVersion,
  retentionTask,
} from './gold-tasks';
import { incrementalModelBranch } from './incremental-model';
import { goldVerdict, skipIfUpstreamFailed, waveOutcomesPath } from './model-outcomes';
import { ModelTestStates } from './model-tests-stage';
import { singleFlight } from './single-flight';

/**
 * Properties of {@link GoldWorkflow}; its log settings are those of its execution log. The options of
 * the Athena engine (`silverPrefixes`, `sourceTables`, `resultsPrefix`, `queryTimeout`) apply to the
 * default engine only.
 */
export interface GoldWorkflowProps extends LogSettings, AthenaEngineOptions {
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
   * Brings the datasets' current-state tables up to date before the first model runs (see
   * `current-state-stage.ts`).
   * @default - no current-state stage
   */
  readonly currentState?: {
    /** The planner Lambda (`CurrentStatePlanner`). */
    readonly planner: lambda.IFunction;
    /** The datasets to merge. */
    readonly contracts: DatasetContract[];
    /** @default 4 */
    readonly maxConcurrency?: number;
  };
  /**
   * After every model is published, deletes the versions beyond the newest published ones
   * (`GoldRetention`).
   * @default - versions are kept forever
   */
  readonly retention?: lambda.IFunction;
  /**
   * The gold planner Lambda (`GoldPlanner`): plans and publishes the incremental models.
   * @default - none: every model must be a full model
   */
  readonly goldPlanner?: lambda.IFunction;
  /**
   * The state machine's name (its ARN is built from it: the single-flight check lists its executions).
   * @default `<stack name>-gold`
   */
  readonly stateMachineName?: string;
  /**
   * The engine that materializes the models.
   * @default - an {@link AthenaEngine} on `workGroup`, reading `silverBucket`
   */
  readonly engine?: GoldEngine;
}

/**
 * Runs the gold models on a schedule, wave after wave (a Parallel state per wave, one branch per model),
 * and publishes each model atomically by switching its Glue table to the version it just wrote (see the
 * module comment). A failed model sends its error to the alarm topic; the models that do not read it are
 * published all the same (each is consistent on its own), those that do keep their previous version, and
 * the execution fails at the end.
 *
 * The state machine is STANDARD and JSONPath (the local runner executes JSONPath only), logs every event
 * with execution data and is traced with X-Ray.
 *
 * A full model's table is unpartitioned: its location is switched. An incremental model's table is
 * partitioned by its date, and only the partitions whose inputs changed are rewritten and switched (see
 * `incremental-model.ts`); an execution started with `{"fullRefresh": true}` rebuilds them all.
 */
export class GoldWorkflow extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly logGroup: logs.LogGroup;
  public readonly rule: events.Rule;
  /** The models, as they run: wave by wave. */
  public readonly waves: GoldModel[][];
  /** The staging database and test states, when a model declares tests. */
  public readonly modelTests?: ModelTestStates;

  constructor(scope: Construct, id: string, props: GoldWorkflowProps) {
    super(scope, id);
    this.waves = orderModels(props.models);
    if (this.waves.length === 0 && !props.currentState) throw new Error('GoldWorkflow: no gold model to run');

    const engine: GoldEngine =
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

    if (props.models.some((m) => (m.tests?.length ?? 0) > 0)) {
      this.modelTests = new ModelTestStates(this, 'ModelTests', {
        database: props.database,
        workGroup: props.workGroup,
        resultsBucket: props.resultsBucket,
        resultsPrefix: props.resultsPrefix ?? `${props.workGroup}/`,
        key: props.key,
        goldBucket: props.goldBucket,
        silverBucket: props.silverBucket,
        goldModels: props.models.map((m) => m.name),
        silverPrefixes: props.silverPrefixes,
        queryTimeout: props.queryTimeout,
      });
    }

    let definition: sfn.Chain | undefined;
    if (props.currentState) {
      definition = currentStateStage(this, {
        ...props.currentState,
        database: props.database,
        workGroup: props.workGroup,
        silverBucket: props.silverBucket,
        resultsBucket: props.resultsBucket,
        resultsPrefix: props.resultsPrefix ?? `${props.workGroup}/`,
        key: props.key,
        alarmTopic: props.alarmTopic,
        queryTimeout: props.queryTimeout,
      });
    }
    const setup = this.engineSetup(engine, props);
    if (setup) definition = definition ? definition.next(setup) : setup;
    const waveOf = new Map(this.waves.flatMap((models, i) => models.map((m) => [m.name, i] as const)));
    this.waves.forEach((models, i) => {
      const wave = sfn.Parallel.jsonPath(this, `Wave${i + 1}`, {
        stateName: `wave ${i + 1}`,
        comment: `Models whose dependencies ran in earlier waves: ${models.map((m) => m.name).join(', ')}`,
        // Each branch ends with its model's outcome (`model-outcomes.ts`): kept for the waves after.
        resultPath: waveOutcomesPath(i),
      });
      for (const model of models) {
        wave.branch(skipIfUpstreamFailed(this, model, waveOf, this.modelBranch(model, engine, props)));
      }
      definition = definition ? definition.next(wave) : sfn.Chain.start(wave);
    });
    const done = sfn.Succeed.jsonPath(this, 'Published', { stateName: 'published' });
    const published = goldPublishedMetric(this);
    // Retention records this run's version as each model's newest published one: it runs only once every
    // model published (a failed model's table still reads an older version, which must stay).
    const publishedThenDone = sfn.Chain.start(published).next(done);
    const allPublished = props.retention
      ? sfn.Chain.start(retentionTask(this, props.retention, props.models, published)).next(publishedThenDone)
      : publishedThenDone;
    // A run with a failed (or skipped) model fails at the verdict, after every model that could run ran.
    definition = (definition as sfn.Chain).next(
      this.waves.length > 0 ? goldVerdict(this, this.waves, allPublished) : allPublished,
    );
    const stateMachineName = props.stateMachineName ?? `${Stack.of(this).stackName}-gold`;
    // Never two runs at once: the first states skip this one if another is RUNNING.
    definition = singleFlight(this, stateMachineName, definition);
    // The execution's input (`{"fullRefresh": true}`), kept in the state for the models' planner: it
    // reaches every branch with the state, whichever way the runner scopes `$$.Execution.Input` in them.
    const start = sfn.Pass.jsonPath(this, 'ExecutionInput', {
      stateName: 'execution input',
      parameters: { 'execution.$': '$$.Execution.Input' },
    });
    definition = sfn.Chain.start(start).next(definition);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      ...logGroupProps(props),
      // Step Functions adds every logging state machine's group to the account's CloudWatch Logs resource
      // policy, limited to 5,120 characters; groups under /aws/vendedlogs/ need no entry there (AWS's
      // "Avoiding CloudWatch Logs resource policy size restrictions").
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      comment: `medallion gold: ${props.currentState ? 'merges the current state of the datasets, then ' : ''}runs ${props.models.length} gold model(s) on ${engine.name} and publishes each atomically`,
      stateMachineType: sfn.StateMachineType.STANDARD,
      // Explicit: the offline runner executes JSONPath only (JSONata outputs would be silently ignored).
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    // The schedule may start a run once the state machine exists: the staging database comes first.
    if (this.modelTests) this.stateMachine.node.addDependency(this.modelTests.database);
    engine.bind?.(this.stateMachine);

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
        `neither does cloudwatch:PutMetricData, limited by its cloudwatch:namespace condition to ${METRICS_NAMESPACE}, ` +
        'nor lakeformation:GetDataAccess, which Athena calls for locations registered with Lake Formation.',
    );
  }

  /**
   * The engine's setup, once per execution before the first wave (none without one, or without a
   * model); any failure sends the setup's alarm and fails the execution (no model ran).
   */
  private engineSetup(engine: GoldEngine, props: GoldWorkflowProps): sfn.Chain | undefined {
    if (!engine.setup || this.waves.length === 0) return undefined;
    const alarm = alarmThenFail(this, 'EngineSetup', {
      stateName: `${engine.name} setup`,
      topic: props.alarmTopic,
      subject: `medallion gold: ${engine.name} setup failed`,
      message: { stage: `${engine.name} setup` },
      published: 'no gold model ran: every table keeps its previous version',
      error: 'GoldSetupFailed',
      cause: `the ${engine.name} setup failed (see the alarm topic); no gold model ran`,
    });
    const setup = engine.setup(this, alarm);
    for (const task of setup.tasks) task.addCatch(alarm, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    return setup.chain;
  }

  /** One model's branch: version, write, read table, rebuild its input, publish; alarm and fail on error. */
  private modelBranch(model: GoldModel, engine: GoldEngine, props: GoldWorkflowProps): sfn.IChainable {
    const name = model.name;
    const location = sfn.JsonPath.format(
      `s3://${props.goldBucket.bucketName}/${goldVersionPrefix(name, '{}')}`,
      sfn.JsonPath.executionName,
    );
    const alarm = modelFailureAlarm(this, model, props.alarmTopic);
    const catchIntoAlarm = (task: sfn.TaskStateBase) =>
      task.addCatch(alarm, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    const tests = (model.tests?.length ?? 0) > 0 ? this.modelTests : undefined;
    if (model.incremental) {
      if (!props.goldPlanner) throw new Error(`GoldWorkflow: model ${name} is incremental: pass goldPlanner`);
      return incrementalModelBranch(this, model, {
        database: props.database,
        goldBucket: props.goldBucket,
        planner: props.goldPlanner,
        engine,
        location,
        catchIntoAlarm,
        alarm,
        tests,
      });
    }

    // (1) The version: a new, empty prefix.
    const version = modelVersion(this, name, location, engine.modelInput(model));

    // (2) The engine writes the version (and waits until it is complete).
    const target = modelTarget(props.database, props.goldBucket, name);
    const write = engineStates(engine.runModelTask(this, model, target, alarm));
    write.tasks.forEach(catchIntoAlarm);

    // (3) Publish: the table as it is now, with only the new location changed (once its tests passed and
    // the engine's step before publishing, if any, succeeded).
    const beforePublish =
      tests || engine.beforePublish
        ? (publish: sfn.IChainable) => {
            let next = publish;
            if (engine.beforePublish) {
              const step = engine.beforePublish(this, model, target, alarm);
              step.tasks.forEach(catchIntoAlarm);
              next = step.chain.next(publish);
            }
            return tests ? tests.fullModel(this, model, { catchIntoAlarm, alarm }, next) : next;
          }
        : undefined;
    return sfn.Chain.start(version)
      .next(write.chain)
      .next(publishVersion(this, name, props.database, catchIntoAlarm, beforePublish))
      .next(modelPublishedMetric(this, name));
  }
}
