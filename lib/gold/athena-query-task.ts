/**
 * `athena:startQueryExecution.sync` rendered by hand, with exactly the IAM policies given:
 * `tasks.AthenaStartQueryExecution` grants `s3:CreateBucket`/`s3:GetObject` on `*`, `lakeformation:GetDataAccess`
 * on `*` and glue:Delete* on the whole database, where each query here may only touch what it reads and
 * writes.
 */
import { Aws, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { lakeKeyViaS3Statement, objectArns } from '../lake-access';

/** What writing objects takes (single and multipart uploads). */
export const S3_WRITE_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];

/**
 * What any query of the workflow needs besides its own reads and writes: to run in the workgroup (and be
 * stopped by Step Functions on timeout), to list the buckets it reads or writes, to write and read its
 * results under the workgroup's prefix, the data catalog, Lake Formation's data access (for accounts that
 * use it), and the lake key through S3 only.
 */
export function athenaQueryBasePolicies(
  scope: Construct,
  props: {
    readonly workGroup: string;
    readonly resultsBucket: s3.IBucket;
    readonly resultsPrefix: string;
    readonly key: kms.IKey;
    readonly listedBuckets: s3.IBucket[];
  },
): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:StopQueryExecution'],
      resources: [
        Stack.of(scope).formatArn({
          service: 'athena',
          resource: 'workgroup',
          resourceName: props.workGroup,
        }),
      ],
    }),
    new iam.PolicyStatement({
      actions: ['s3:ListBucket', 's3:GetBucketLocation'],
      resources: [...props.listedBuckets, props.resultsBucket].map((b) => b.bucketArn),
    }),
    new iam.PolicyStatement({
      actions: [...S3_WRITE_ACTIONS, 's3:GetObject'],
      resources: objectArns(props.resultsBucket, [props.resultsPrefix]),
    }),
    // Athena resolves the query's default catalog (AwsDataCatalog) with the caller's permissions.
    new iam.PolicyStatement({
      actions: ['athena:GetDataCatalog'],
      resources: [
        Stack.of(scope).formatArn({
          service: 'athena',
          resource: 'datacatalog',
          resourceName: 'AwsDataCatalog',
        }),
      ],
    }),
    // When the lake's locations are registered with Lake Formation, Athena asks it for temporary data access
    // (it supports no resource-level scoping).
    new iam.PolicyStatement({ actions: ['lakeformation:GetDataAccess'], resources: ['*'] }),
    lakeKeyViaS3Statement(props.key),
  ];
}

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
