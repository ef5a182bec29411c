/**
 * What the gold workflow asks of a query engine: write one model's full result, as Parquet, under a new
 * version prefix, and succeed only once it is complete. The workflow does the rest (versions, catalog
 * switch, alarms). An engine is one file next to this one (`athena-engine.ts`).
 */
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
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
   * JSONPath where the task puts its result: an object whose `QueryExecutionId` identifies the run in
   * the engine (Athena: the query execution id); the workflow keeps it in the model's output.
   */
  readonly resultPath: string;
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

  /**
   * The task that runs one statement the gold planner wrote for an incremental `model` (a partitioned
   * UNLOAD under the target location), found in the task's input at `statementPath`; same retries and
   * policies as {@link runModelTask}.
   */
  runStatementTask(
    scope: Construct,
    model: GoldModel,
    target: GoldModelTarget,
    statementPath: string,
  ): sfn.TaskStateBase;
}
