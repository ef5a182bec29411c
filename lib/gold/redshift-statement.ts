/**
 * One Redshift Data API statement as Step Functions states: submit it (`executeStatement`, or
 * `batchExecuteStatement` for several statements in one transaction), then poll `describeStatement`
 * until it ends. The Data API has no `.sync` integration, so the loop is written out:
 *
 *   <name>             submit; its id goes to `<resultPath>.Id`, and a poll count of 0 to `.Polls`
 *   <name> wait        the poll interval (the first 12 polls: a minute at 5 s)
 *   <name> wait longer six times the interval (at most 60 s): a long statement polls twice a minute
 *   <name> status      describeStatement, kept whole at `<resultPath>.Described`
 *   <name> done?       FINISHED: on to what follows; FAILED with an error message: `<name> failed`;
 *                      FAILED without one, or ABORTED: `<name> aborted`; anything else: `<name> polls`
 *   <name> polls       counts the poll
 *   <name> timed out?  once the polls cover `timeout`: `<name> cancel`, else back to a wait
 *   <name> cancel      cancelStatement, then `<name> timeout` (also when the cancel fails)
 *   <name> failed, <name> aborted, <name> timeout
 *                      `{ Error, Cause }` at `$.error` (`Redshift.StatementFailed` or
 *                      `Redshift.StatementTimeout`), then the failure state given
 *
 * DescribeStatement leaves `Error` out unless the statement failed, and a JSONPath that selects nothing
 * fails its state at run time (a `States.Runtime` error no Catch sees): so the response is kept whole and
 * `Error` is read only where the Choice found it present.
 */
import { Aws, Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { GoldEngineStates } from './gold-engine';
import { retryTaskFailures } from './gold-tasks';

/** The Data API calls the states make. */
export type RedshiftDataAction =
  | 'executeStatement'
  | 'batchExecuteStatement'
  | 'describeStatement'
  | 'cancelStatement';

/** The error of a statement that ended FAILED or ABORTED. */
/** Polls at the poll interval before the loop slows down to {@link SLOW_POLL_FACTOR} times it (max 60 s). */
export const QUICK_POLLS = 12;
export const SLOW_POLL_FACTOR = 6;

export const STATEMENT_FAILED = 'Redshift.StatementFailed';
/** The error of a statement cancelled for running longer than the timeout. */
export const STATEMENT_TIMEOUT = 'Redshift.StatementTimeout';

/**
 * Data API errors that say "not now" rather than "no": throttling, an internal error, too many active
 * statements or sessions, a connection that failed (a workgroup resuming). Named as Step Functions names
 * an AWS SDK integration's errors (`RedshiftData.<Exception>`).
 */
export const RETRYABLE_DATA_API_ERRORS = [
  'RedshiftData.ThrottlingException',
  'RedshiftData.InternalServerException',
  'RedshiftData.ActiveStatementsExceededException',
  'RedshiftData.ActiveSessionsExceededException',
  'RedshiftData.DatabaseConnectionException',
];

/** Properties of {@link redshiftStatement}. */
export interface RedshiftStatementProps {
  /** Construct ids of the states start with it (`<model>-Build`). */
  readonly id: string;
  /** State names start with it (`<model>: build`): unique in the state machine. */
  readonly stateName: string;
  readonly comment?: string;
  /** `executeStatement` (`Sql`) or `batchExecuteStatement` (`Sqls`, one transaction). */
  readonly action: 'executeStatement' | 'batchExecuteStatement';
  /** The call's parameters: WorkgroupName, Database, SecretArn, Sql or Sqls, StatementName. */
  readonly parameters: Record<string, unknown>;
  /** The IAM policies each call needs. */
  readonly policies: (action: RedshiftDataAction) => iam.PolicyStatement[];
  /** Where the statement's progress is kept: `{ Id, Polls, Described }`. */
  readonly resultPath: string;
  /** More keys under which the statement's id is kept at `resultPath` (e.g. `QueryExecutionId`). */
  readonly idAliases?: readonly string[];
  readonly pollInterval: Duration;
  /** The statement is cancelled once it has been polled for this long. */
  readonly timeout: Duration;
  /** Where a statement that FAILED, was ABORTED or timed out goes, with `{ Error, Cause }` at `$.error`. */
  readonly failure: sfn.IChainable;
}

/**
 * The states of one statement (see the module comment). The chain's end goes on to what is chained
 * after it once the statement FINISHED; its tasks are the submission and the status check (the cancel
 * catches its own errors into the timeout).
 */
export function redshiftStatement(scope: Construct, props: RedshiftStatementProps): GoldEngineStates {
  const { id, stateName: name, resultPath: at } = props;
  // Quick polls first (most statements end within a minute), then slower ones: a long statement costs
  // ~2 polls a minute, not 12, of the execution's 25,000-event history (a poll is ~13 events).
  const interval = props.pollInterval.toSeconds();
  const slowInterval = Math.min(interval * SLOW_POLL_FACTOR, 60);
  const limit = props.timeout.toSeconds();
  const maxPolls =
    limit <= QUICK_POLLS * interval
      ? Math.ceil(limit / interval)
      : QUICK_POLLS + Math.ceil((limit - QUICK_POLLS * interval) / slowInterval);
  const aliases = props.idAliases ?? [];
  const idFields = (from: string) =>
    Object.fromEntries(['Id', ...aliases].map((k) => [`${k}.$`, `${from}.Id`]));

  const submit = new RedshiftDataTask(scope, id, {
    stateName: name,
    comment: props.comment,
    action: props.action,
    parameters: props.parameters,
    policies: props.policies(props.action),
    resultSelector: { ...idFields('$'), Polls: 0 },
    resultPath: at,
  });
  // A submission that was refused ran nothing: sending it again is safe.
  retryDataApi(submit, 5);

  const wait = sfn.Wait.jsonPath(scope, `${id}-Wait`, {
    stateName: `${name} wait`,
    time: sfn.WaitTime.duration(props.pollInterval),
  });
  const describe = new RedshiftDataTask(scope, `${id}-Status`, {
    stateName: `${name} status`,
    action: 'describeStatement',
    parameters: { 'Id.$': `${at}.Id` },
    policies: props.policies('describeStatement'),
    resultPath: `${at}.Described`,
  });
  retryDataApi(describe, 2);
  // Reading a status can always be repeated.
  retryTaskFailures(describe, 2, 3);

  const error = (suffix: string, idSuffix: string, errorName: string, cause: string) =>
    sfn.Pass.jsonPath(scope, `${id}-${idSuffix}`, {
      stateName: `${name} ${suffix}`,
      parameters: { Error: errorName, 'Cause.$': cause },
      resultPath: '$.error',
    }).next(props.failure);
  const failed = error('failed', 'Failed', STATEMENT_FAILED, `${at}.Described.Error`);
  const aborted = error(
    'aborted',
    'Aborted',
    STATEMENT_FAILED,
    `States.Format('Redshift statement {} ended {} without an error message: cancelled, or stopped by Redshift', ${at}.Id, ${at}.Described.Status)`,
  );
  const timedOutCause = `States.Format('Redshift statement {} ran longer than ${props.timeout.toHumanString()} (${maxPolls} polls) and was cancelled', ${at}.Id)`;
  const timeout = error('timeout', 'Timeout', STATEMENT_TIMEOUT, timedOutCause);

  const cancel = new RedshiftDataTask(scope, `${id}-Cancel`, {
    stateName: `${name} cancel`,
    action: 'cancelStatement',
    parameters: { 'Id.$': `${at}.Id` },
    policies: props.policies('cancelStatement'),
    resultPath: sfn.JsonPath.DISCARD,
  });
  retryDataApi(cancel, 2);
  // A statement that ended meanwhile cannot be cancelled: it timed out all the same.
  cancel.addCatch(timeout, { errors: [sfn.Errors.ALL], resultPath: '$.cancelError' });
  cancel.next(timeout);

  const count = sfn.Pass.jsonPath(scope, `${id}-Polls`, {
    stateName: `${name} polls`,
    parameters: {
      ...Object.fromEntries(['Id', ...aliases].map((k) => [`${k}.$`, `${at}.${k}`])),
      'Polls.$': `States.MathAdd(${at}.Polls, 1)`,
    },
    resultPath: at,
  });
  const waitLonger = sfn.Wait.jsonPath(scope, `${id}-WaitLonger`, {
    stateName: `${name} wait longer`,
    time: sfn.WaitTime.duration(Duration.seconds(slowInterval)),
  });
  waitLonger.next(describe);
  const timedOut = sfn.Choice.jsonPath(scope, `${id}-TimedOut`, { stateName: `${name} timed out?` })
    .when(sfn.Condition.numberGreaterThanEquals(`${at}.Polls`, maxPolls), cancel)
    .when(sfn.Condition.numberLessThan(`${at}.Polls`, QUICK_POLLS), wait)
    .otherwise(waitLonger);
  count.next(timedOut);

  const status = `${at}.Described.Status`;
  const done = new StatementStatusChoice(scope, `${id}-Done`, {
    stateName: `${name} done?`,
    comment:
      'FINISHED goes on; FAILED and ABORTED go to the alarm; SUBMITTED, PICKED and STARTED poll again.',
  });
  done
    .when(
      sfn.Condition.and(
        sfn.Condition.stringEquals(status, 'FAILED'),
        sfn.Condition.isPresent(`${at}.Described.Error`),
      ),
      failed,
    )
    .when(
      sfn.Condition.or(
        sfn.Condition.stringEquals(status, 'FAILED'),
        sfn.Condition.stringEquals(status, 'ABORTED'),
      ),
      aborted,
    )
    .otherwise(count);
  submit.next(wait);
  wait.next(describe);
  describe.next(done);

  return {
    chain: sfn.Chain.custom(submit, [new WhenFinished(done, status)], done),
    tasks: [submit, describe],
  };
}

/** Retries the Data API's "not now" errors from `intervalSeconds`, doubling, 6 times. */
function retryDataApi(task: sfn.TaskStateBase, intervalSeconds: number): void {
  task.addRetry({
    errors: RETRYABLE_DATA_API_ERRORS,
    interval: Duration.seconds(intervalSeconds),
    maxAttempts: 6,
    backoffRate: 2,
  });
}

/** The status check: synthesis fails when nothing follows a FINISHED statement (it would poll forever). */
class StatementStatusChoice extends sfn.Choice {
  public finished = false;

  protected validateState(): string[] {
    return this.finished ? [] : [`${this.stateId}: no state follows a FINISHED statement`];
  }
}

/** The end of a statement's chain: chaining a state after it routes FINISHED to that state. */
class WhenFinished implements sfn.INextable {
  constructor(
    private readonly choice: StatementStatusChoice,
    private readonly statusPath: string,
  ) {}

  public next(state: sfn.IChainable): sfn.Chain {
    if (this.choice.finished) throw new Error(`${this.choice.stateId}: a FINISHED statement already goes on`);
    this.choice.when(sfn.Condition.stringEquals(this.statusPath, 'FINISHED'), state);
    this.choice.finished = true;
    return sfn.Chain.sequence(this.choice, state);
  }
}

/** Properties of {@link RedshiftDataTask}. */
export interface RedshiftDataTaskProps extends sfn.TaskStateJsonPathBaseProps {
  readonly action: RedshiftDataAction;
  /** The call's parameters (JSONPath payload template). */
  readonly parameters: Record<string, unknown>;
  /** Exactly the IAM policies the call needs. */
  readonly policies: iam.PolicyStatement[];
}

/**
 * `arn:<partition>:states:::aws-sdk:redshiftdata:<action>` with exactly the policies given (the generic
 * `CallAwsService` cannot put a condition on its statement).
 */
export class RedshiftDataTask extends sfn.TaskStateBase {
  protected readonly taskMetrics?: sfn.TaskMetricsConfig;
  protected readonly taskPolicies?: iam.PolicyStatement[];
  private readonly action: RedshiftDataAction;
  private readonly callParameters: Record<string, unknown>;

  constructor(scope: Construct, id: string, props: RedshiftDataTaskProps) {
    super(scope, id, { ...props, queryLanguage: sfn.QueryLanguage.JSON_PATH });
    this.action = props.action;
    this.callParameters = props.parameters;
    this.taskPolicies = props.policies;
  }

  protected _renderTask(): unknown {
    return {
      Resource: `arn:${Aws.PARTITION}:states:::aws-sdk:redshiftdata:${this.action}`,
      ...this._renderParametersOrArguments(this.callParameters, sfn.QueryLanguage.JSON_PATH),
    };
  }
}
