import { CfnOutput, Duration, RemovalPolicy, Size, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { DatasetContract } from '../lambdas/shared/dataset-contract';
import { BronzeToSilverPipeline } from './bronze-to-silver-pipeline';
import { contractsDirectory, type MedallionConfig } from './config';
import { CostGuardrails } from './cost-guardrails';
import { DataCatalog } from './data-catalog';
import { IngestApi } from './ingest-api';
import { loadContracts } from './lake-access';
import { LakeStorage } from './lake-storage';
import { DEAD_LETTER_RUNBOOKS, PipelineMonitoring } from './monitoring';

/** Properties of {@link MedallionStack}. */
export interface MedallionStackProps extends StackProps {
  /** The validated configuration (see `readMedallionConfig`). */
  readonly config: MedallionConfig;
}

/**
 * The medallion pipeline's stack: lake storage, the ingest API and the landing -> bronze -> silver
 * pipeline, configured from one `MedallionConfig`. The data contracts are loaded and validated here, at
 * synth: they decide the bronze notification filters and every prefix-scoped grant.
 */
export class MedallionStack extends Stack {
  public readonly config: MedallionConfig;
  public readonly contracts: DatasetContract[];
  public readonly storage: LakeStorage;
  public readonly ingestApi: IngestApi;
  public readonly pipeline: BronzeToSilverPipeline;
  public readonly catalog: DataCatalog;
  public readonly monitoring: PipelineMonitoring;
  public readonly costGuardrails: CostGuardrails;

  constructor(scope: Construct, id: string, props: MedallionStackProps) {
    super(scope, id, {
      description: `medallion (${props.config.environment}): serverless bronze/silver/gold data pipeline`,
      ...props,
    });
    const { config } = props;
    this.config = config;
    const contractsDir = contractsDirectory(config);
    this.contracts = loadContracts(contractsDir);

    Tags.of(this).add('pipeline', 'medallion');
    Tags.of(this).add('environment', config.environment);

    const r = config.retention;
    const removalPolicy = config.allowDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const logRetention = r.logDays as logs.RetentionDays;

    this.storage = new LakeStorage(this, 'Storage', {
      landingExpiration: Duration.days(r.landingDays),
      quarantineExpiration: Duration.days(r.quarantineDays),
      athenaResultsExpiration: Duration.days(r.athenaResultsDays),
      noncurrentVersionExpiration: Duration.days(r.noncurrentVersionDays),
      bronzeInfrequentAccessAfter: Duration.days(r.bronzeInfrequentAccessDays),
      bronzeGlacierInstantRetrievalAfter: Duration.days(r.bronzeGlacierIrDays),
      accessLogsExpiration: Duration.days(r.accessLogsDays),
      bronzeObjectLockRetention: config.bronzeObjectLock ? Duration.days(r.bronzeObjectLockDays) : undefined,
      allowDestroy: config.allowDestroy,
    });
    const {
      landingBucket,
      bronzeBucket,
      silverBucket,
      goldBucket,
      quarantineBucket,
      athenaResultsBucket,
      key,
    } = this.storage;

    this.ingestApi = new IngestApi(this, 'IngestApi', {
      landingBucket,
      bronzeBucket,
      quarantineBucket,
      key,
      contracts: this.contracts,
      contractsDir,
      maxBodyBytes: config.maxBodyBytes,
      throttleRateLimit: config.api.throttleRateLimit,
      throttleBurstLimit: config.api.throttleBurstLimit,
      logRetention,
      logRemovalPolicy: removalPolicy,
    });

    this.pipeline = new BronzeToSilverPipeline(this, 'BronzeToSilver', {
      landingBucket,
      bronzeBucket,
      silverBucket,
      quarantineBucket,
      key,
      contracts: this.contracts,
      contractsDir,
      transformMemorySize: config.transform.memoryMb,
      transformTimeout: Duration.seconds(config.transform.timeoutSeconds),
      transformReservedConcurrency: config.transform.reservedConcurrency,
      transformEphemeralStorage: Size.mebibytes(4096),
      logRetention,
      removalPolicy,
    });

    this.catalog = new DataCatalog(this, 'Catalog', {
      environment: config.environment,
      contracts: this.contracts,
      silverBucket,
      goldBucket,
      athenaResultsBucket,
      key,
    });

    // Every alarm in one place; the gold workflow registers its own with `monitorGoldWorkflow` once composed.
    this.monitoring = new PipelineMonitoring(this, 'Monitoring', {
      contracts: this.contracts,
      functions: [
        { name: 'IngestApi', function: this.ingestApi.handler.function, layer: 'ingest' },
        { name: 'Landing', function: this.pipeline.landingFunction.function, layer: 'ingest' },
        {
          name: 'Transform',
          function: this.pipeline.transformFunction.function,
          layer: 'silver',
          maxErrorRate: 0.05,
        },
      ],
      deadLetterQueues: [
        {
          name: 'LandingFailures',
          queue: this.pipeline.landingFailureQueue,
          layer: 'ingest',
          runbook: DEAD_LETTER_RUNBOOKS.landingFailures,
        },
        {
          name: 'TransformDeadLetters',
          queue: this.pipeline.deadLetterQueue,
          layer: 'silver',
          runbook: DEAD_LETTER_RUNBOOKS.transformDeadLetters,
        },
      ],
      workQueues: [{ name: 'TransformQueue', queue: this.pipeline.queue, layer: 'silver' }],
      api: this.ingestApi.api,
      athenaWorkGroup: this.catalog.workGroupName,
      freshnessSlo: Duration.minutes(config.freshnessSloMinutes),
      alarmEmail: config.alarmEmail,
      removalPolicy,
    });
    this.costGuardrails = new CostGuardrails(this, 'CostGuardrails', {
      monthlyBudgetUsd: config.monthlyBudgetUsd,
      // The alarm e-mail is subscribed to the topic, so budget alerts reach it too.
      topic: this.monitoring.alarmTopic,
    });

    // The API, the functions and the queues serve every domain that has a contract (tag values cannot
    // hold commas: space-separated). Buckets carry their `layer` tag instead.
    const domains = [...new Set(this.contracts.map((c) => c.domain))].sort().join(' ');
    Tags.of(this.ingestApi).add('domain', domains);
    Tags.of(this.pipeline).add('domain', domains);
    Tags.of(this.ingestApi).add('layer', 'bronze');

    new CfnOutput(this, 'RecordsUrl', {
      description: 'POST /datasets/{dataset}/records (SigV4-signed, execute-api)',
      value: this.ingestApi.recordsUrl,
    });
    new CfnOutput(this, 'LandingBucketName', {
      description: 'Upload files under <domain>/<dataset>/',
      value: landingBucket.bucketName,
    });
    new CfnOutput(this, 'BronzeBucketName', { value: bronzeBucket.bucketName });
    new CfnOutput(this, 'SilverBucketName', { value: silverBucket.bucketName });
    new CfnOutput(this, 'QuarantineBucketName', { value: quarantineBucket.bucketName });
    new CfnOutput(this, 'TransformDeadLetterQueueUrl', { value: this.pipeline.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'LandingFailureQueueUrl', { value: this.pipeline.landingFailureQueue.queueUrl });
    new CfnOutput(this, 'GlueDatabaseName', { value: this.catalog.databaseName });
    new CfnOutput(this, 'AthenaWorkGroupName', { value: this.catalog.workGroupName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.alarmTopic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
  }
}
