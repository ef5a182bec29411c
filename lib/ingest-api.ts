import { RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV } from '../core/config/env';
import type { DatasetContract } from '../core/contracts/dataset-contract';
import { datasetPrefixes, domainPrefixes, lakeDomains } from '../core/lake/layout';
import { MAX_API_BODY_BYTES } from './config';
import { grantLakeKeyViaS3, grantListBucket, grantObjects } from './lake-access';
import { type LogSettings, logGroupProps } from './log-settings';
import { type FunctionSettings, MedallionFunction } from './medallion-function';
import { acknowledge, acknowledgePrefixScopedObjectArns } from './nag';

/** Properties of {@link IngestApi}; its log settings apply to the access log and the function's log. */
export interface IngestApiProps extends LogSettings, FunctionSettings {
  /** Named in the landing function's configuration (the API door does not read it). */
  readonly landingBucket: s3.IBucket;
  /** Where accepted bodies are stored, with their content and idempotency index markers. */
  readonly bronzeBucket: s3.IBucket;
  /** Named in the landing function's configuration (the API door does not write to it). */
  readonly quarantineBucket: s3.IBucket;
  /** The key encrypting the buckets. */
  readonly key: kms.IKey;
  /** The validated contracts: the API function may write only to these datasets' prefixes. */
  readonly contracts: DatasetContract[];
  /** The contracts directory, shipped with the function. */
  readonly contractsDir: string;
  /**
   * Largest accepted request body, in bytes; at most ~4.5 MB (`MAX_API_BODY_BYTES`): bodies reach
   * Lambda base64-encoded and Lambda refuses synchronous requests over 6 MB.
   * @default 4 MiB
   */
  readonly maxBodyBytes?: number;
  /**
   * Steady-state request rate of the stage, per second.
   * @default 50
   */
  readonly throttleRateLimit?: number;
  /**
   * Burst of the stage's token bucket.
   * @default 100
   */
  readonly throttleBurstLimit?: number;
  /**
   * Execution log level of the stage. INFO logs every request's execution trace; the access log
   * already records each request, so errors are enough by default.
   * @default apigw.MethodLoggingLevel.ERROR
   */
  readonly executionLogLevel?: apigw.MethodLoggingLevel;
  /**
   * Create (and retain) the account-wide role API Gateway needs to write execution logs. It is one
   * setting per account and region: turn this off when another stack already manages it.
   * @default true
   */
  readonly manageAccountCloudWatchRole?: boolean;
  /** @default 'v1' */
  readonly stageName?: string;
}

/**
 * The ingest API: `POST /datasets/{dataset}/records` into bronze, through the landing function's API door.
 *
 * Callers sign their requests (AWS_IAM authorization on every method): producers are AWS principals
 * granted `execute-api:Invoke`. The stage is throttled, traced with X-Ray, writes a JSON access log and
 * execution logs (never request bodies: `dataTraceEnabled` stays off because bodies hold personal data).
 */
export class IngestApi extends Construct {
  public readonly api: apigw.RestApi;
  public readonly handler: MedallionFunction;
  public readonly accessLogGroup: logs.LogGroup;
  /** The POST method, for granting `execute-api:Invoke` to producers. */
  public readonly recordsMethod: apigw.Method;

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id);
    const maxBodyBytes = props.maxBodyBytes ?? 4 * 1024 * 1024;
    if (maxBodyBytes > MAX_API_BODY_BYTES) {
      throw new Error(
        `maxBodyBytes ${maxBodyBytes} is over what the API can pass to Lambda (${MAX_API_BODY_BYTES})`,
      );
    }

    this.handler = new MedallionFunction(this, 'Handler', {
      architecture: props.architecture,
      entry: 'lambdas/landing/handler.ts',
      handler: 'apiHandler',
      description: 'medallion: lands POST /datasets/{dataset}/records bodies into bronze',
      contractsDir: props.contractsDir,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      environment: {
        [ENV.LANDING_BUCKET]: props.landingBucket.bucketName,
        [ENV.BRONZE_BUCKET]: props.bronzeBucket.bucketName,
        [ENV.QUARANTINE_BUCKET]: props.quarantineBucket.bucketName,
        [ENV.MAX_BODY_BYTES]: String(maxBodyBytes),
      },
    });
    const fn = this.handler.function;
    // The API door only writes new bronze objects and reads/writes its index markers.
    grantObjects(
      fn,
      props.bronzeBucket,
      ['s3:GetObject', 's3:PutObject'],
      // Per domain: the policy grows with domains, not datasets.
      [
        datasetPrefixes.data,
        datasetPrefixes.bronzeContentIndex,
        datasetPrefixes.bronzeIdempotencyIndex,
      ].flatMap((p) => domainPrefixes(p, lakeDomains(props.contracts))),
    );
    grantListBucket(fn, props.bronzeBucket);
    grantLakeKeyViaS3(fn, props.key);
    acknowledgePrefixScopedObjectArns(this.handler);

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', logGroupProps(props));
    const manageRole = props.manageAccountCloudWatchRole ?? true;
    this.api = new apigw.RestApi(this, 'Api', {
      description: 'medallion ingest API: POST /datasets/{dataset}/records',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // Every body reaches Lambda base64-encoded and byte for byte: gzip and non-UTF-8 bytes survive,
      // and the landing function hashes exactly what the producer sent.
      binaryMediaTypes: ['*/*'],
      cloudWatchRole: manageRole,
      // Account-wide: other APIs in the account may rely on it after this stack is gone.
      cloudWatchRoleRemovalPolicy: manageRole ? RemovalPolicy.RETAIN : undefined,
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
      deployOptions: {
        stageName: props.stageName ?? 'v1',
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: props.executionLogLevel ?? apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        throttlingRateLimit: props.throttleRateLimit ?? 50,
        throttlingBurstLimit: props.throttleBurstLimit ?? 100,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields({
          caller: true,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
      },
    });

    // Rejects a request without a dataset or a Content-Type before it costs an invocation. The body is
    // CSV, NDJSON or JSON checked against the dataset's contract by the handler: API Gateway models are
    // JSON Schema only, so body validation stays off rather than pretending.
    const validator = this.api.addRequestValidator('Validator', {
      requestValidatorName: 'path-and-headers',
      validateRequestParameters: true,
      validateRequestBody: false,
    });
    const records = this.api.root.addResource('datasets').addResource('{dataset}').addResource('records');
    this.recordsMethod = records.addMethod('POST', new apigw.LambdaIntegration(fn, { proxy: true }), {
      authorizationType: apigw.AuthorizationType.IAM,
      requestValidator: validator,
      requestParameters: {
        'method.request.path.dataset': true,
        'method.request.header.Content-Type': true,
      },
    });

    acknowledge(
      this.api,
      'APIG2',
      'Parameters and headers are validated; bodies are CSV/NDJSON/JSON checked against the data contract by the handler, which API Gateway models (JSON Schema) cannot express.',
    );
    acknowledge(
      this.api,
      'APIG3',
      'No WAF: every method requires SigV4 (AWS_IAM) from known AWS principals and the stage is throttled; a web ACL adds cost without a public surface to protect. Revisit if the API is ever opened to the internet.',
    );
    acknowledge(
      this.api,
      'COG4',
      'Producers are AWS principals authorized with AWS_IAM (SigV4 + execute-api:Invoke), not end users in a Cognito user pool.',
    );
    if (manageRole) {
      acknowledge(
        this.api,
        'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        "API Gateway's account-level logging role: this AWS managed policy is the documented way to let API Gateway write execution and access logs.",
      );
    }
  }

  /** The invoke URL of `POST /datasets/{dataset}/records`, with the dataset left as a placeholder. */
  public get recordsUrl(): string {
    return this.api.urlForPath('/datasets/{dataset}/records');
  }
}
