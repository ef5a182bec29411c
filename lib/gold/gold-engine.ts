/**
 * What the gold workflow asks of a query engine: write one model's full result, as Parquet, under a new
 * version prefix, and succeed only once it is complete. The workflow does the rest (versions, catalog
 * switch, alarms). An engine is one file next to this one (`athena-engine.ts`, `redshift-engine.ts`).
 */
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { GoldModel } from '../../core/gold/models';

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
  /**
   * JSONPath where the write puts its result: an object whose `QueryExecutionId` identifies the run in
   * the engine (Athena: the query execution id; Redshift: the UNLOAD's statement id); the workflow keeps
   * it in the model's output.
   */
  readonly resultPath: string;
}

/**
 * States an engine contributes to the workflow, for one step (a setup, a model's write, its swap): a
 * chain whose ends go on to the next step when the step succeeded. The states that find a failure in a
 * result rather than in an error (a statement that ended FAILED) go to the alarm they were given.
 */
export interface GoldEngineStates {
  readonly chain: sfn.Chain;
  /**
   * The chain's tasks whose errors the workflow catches into the alarm (`States.ALL`, the error at
   * `$.error`); each comes with its own retries and IAM policies.
   */
  readonly tasks: readonly sfn.TaskStateBase[];
}

/** A step as an engine returns it: a single task, or {@link GoldEngineStates}. */
export type GoldEngineStep = sfn.TaskStateBase | GoldEngineStates;

/** The states of `step`: a single task is a chain of one task, whose errors the workflow catches. */
export function engineStates(step: GoldEngineStep): GoldEngineStates {
  return step instanceof sfn.TaskStateBase ? { chain: sfn.Chain.start(step), tasks: [step] } : step;
}

/**
 * A query engine that materializes gold models: Athena (`UNLOAD` with `startQueryExecution.sync`) or
 * Redshift Serverless (Data API statements, polled).
 */
export interface GoldEngine {
  /** Shown in state names and descriptions. */
  readonly name: string;
  /**
   * Static values the model's states need in their input (at `target.inputPath`), e.g. its statement.
   * Text is better carried as plain JSON values than inside an intrinsic function's string literal: there
   * a backslash must be escaped as `\\`, which the ASL validator (bundled by the offline runner) refuses.
   */
  modelInput(model: GoldModel): Record<string, string>;
  /**
   * States that run once per execution, before the first wave (Redshift: the schemas). A failure goes
   * to `alarm`, the workflow's alarm for the setup; the workflow catches the tasks' errors into it.
   * @default - none
   */
  setup?(scope: Construct, alarm: sfn.IChainable): GoldEngineStates;
  /**
   * The states that write `model`'s whole result as Parquet under the target location and succeed only
   * once every file is written (a `.sync` integration, or a statement polled until it ends). They come
   * with their own retries and with IAM policies for what they call and read; a failure found in a result
   * goes to `alarm` (the model's), and the workflow catches the tasks' errors into it.
   *
   * @param scope the workflow: states are created in it and the engine acknowledges its own cdk-nag
   *   findings on it (it covers the state machine's role)
   */
  runModelTask(
    scope: Construct,
    model: GoldModel,
    target: GoldModelTarget,
    alarm: sfn.IChainable,
  ): GoldEngineStep;
  /**
   * States between the model's tests (when it has some) and its catalog switch, once its version is
   * written and tested (Redshift: the new table is swapped in). Same contract as {@link runModelTask}.
   * @default - none: the catalog switch follows the tests
   */
  beforePublish?(
    scope: Construct,
    model: GoldModel,
    target: GoldModelTarget,
    alarm: sfn.IChainable,
  ): GoldEngineStates;

  /**
   * What runs one statement the gold planner wrote for an incremental `model` (a partitioned UNLOAD
   * under the target location), found in the input at `statementPath`: the item processor of a Map
   * state, whose catch sends any failure to the model's alarm (so nothing in it catches, and a failure
   * found in a result ends it with a Fail state). Same retries and policies as {@link runModelTask}.
   */
  runStatementTask(
    scope: Construct,
    model: GoldModel,
    target: GoldModelTarget,
    statementPath: string,
  ): sfn.IChainable;

  /**
   * Called once the workflow's state machine exists, e.g. to scope a policy to its role.
   * @default - nothing
   */
  bind?(stateMachine: sfn.StateMachine): void;
}
