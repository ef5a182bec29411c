/**
 * `athena:startQueryExecution.sync` rendered by hand, with exactly the IAM policies given:
 * `tasks.AthenaStartQueryExecution` grants `s3:CreateBucket`/`s3:GetObject` on `*`, `lakeformation:GetDataAccess`
 * on `*` and glue:Delete* on the whole database, where each query here may only touch what it reads and
 * writes.
 */
import { Aws, Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

export interface AthenaQueryTaskProps extends sfn.TaskStateJsonPathBaseProps {
  /** The statement: a JSONPath (`$.statement`) or an intrinsic (`States.Format(...)`). */
  readonly queryString: string;
  readonly workGroup: string;
  readonly database: string;
  readonly policies: iam.PolicyStatement[];
}

/** Runs one Athena statement and waits until it ended (the task fails when the query FAILED). */
export class AthenaQueryTask extends sfn.TaskStateBase {
  protected readonly taskMetrics?: sfn.TaskMetricsConfig;
  protected readonly taskPolicies?: iam.PolicyStatement[];
  private readonly query: { queryString: string; workGroup: string; database: string };

  constructor(scope: Construct, id: string, props: AthenaQueryTaskProps) {
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

/**
 * Throttled or failed submissions: nothing ran, the same query can simply be sent again (10 s, doubling,
 * 6 times).
 */
export function retryAthenaSubmission(task: sfn.TaskStateBase): void {
  task.addRetry({
    errors: ['Athena.TooManyRequestsException', 'Athena.InternalServerException'],
    interval: Duration.seconds(10),
    maxAttempts: 6,
    backoffRate: 2,
  });
}
