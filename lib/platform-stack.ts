import {
  ArnFormat,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Size,
  Stack,
  type StackProps,
  Tags,
} from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { DatasetContract } from '../core/contracts/dataset-contract';
import { loadContracts } from '../core/contracts/load-contracts';
import { type LoadedGoldModels, loadGoldModels } from '../core/gold/models';
import { checkPortableSql } from '../core/gold/portable-sql';
import { datasetPrefixes, domainPrefixes, lakeDomains } from '../core/lake/layout';
import { currentTableName, historyTableName } from '../core/silver/tables';
import { BronzeToSilverPipeline } from './bronze-to-silver-pipeline';
import {
  contractsDirectory,
  goldModelsDirectory,
  type MedallionConfig,
  scheduleIntervalMinutes,
} from './config';
import { CostGuardrails } from './cost-guardrails';
import { CurrentStatePlanner } from './current-state';
import { DataCatalog, defaultDatabaseName, silverTableLocations } from './data-catalog';
import type { DomainLake, DomainLakeExports } from './domain-products';
import { GoldPlanner } from './gold/gold-planner';
import { GoldRetention } from './gold/gold-retention';
import { GoldWorkflow } from './gold/gold-workflow';
import type { RedshiftEngine } from './gold/redshift-engine';
import { createRedshiftGold } from './gold/redshift-gold';
import type { RedshiftServerlessGold } from './gold/redshift-serverless';
import { IngestApi } from './ingest-api';
import { LakeReaders } from './lake-readers';
import { LakeStorage } from './lake-storage';
import { lambdaArchitecture } from './medallion-function';
import { DEAD_LETTER_RUNBOOKS } from './monitoring/alarms/queues';
import { PipelineMonitoring } from './monitoring/pipeline-monitoring';
import { Reconciler } from './reconciler';

/** Properties of {@link PlatformStack}. */
export interface PlatformStackProps extends StackProps {
  /** The validated configuration (see `parseMedallionConfig`). */
  readonly config: MedallionConfig;
  /**
   * The validated data contracts of every domain.
   * @default - loaded from `config.contractsDir`
   */
  readonly contracts?: DatasetContract[];
  /**
   * The domains' dashboards, named on the platform's.
   * @default []
   */
  readonly domainDashboards?: string[];
}

/**
 * The medallion pipeline's platform: what every domain shares. Lake storage and its key, the ingest API,
 * the landing -> bronze -> silver functions and queues, the reconciler, the Glue database and Athena
 * workgroup, the gold workflow (gold models read across domains), the alarm topic with the shared
 * alarms and dashboard, and the budget; configured from one `MedallionConfig`.
 *
 * The data contracts and the gold models are loaded and validated here, at synth. What is per dataset
 * (arrivals tables, alarms, dashboards) lives in each domain's `DomainStack`; the platform's grants,
 * notification filters and lifecycle rules are per domain, so its template and policies grow with the
 * number of domains, not datasets.
 */
export class PlatformStack extends Stack {
  public readonly config: MedallionConfig;
  public readonly contracts: DatasetContract[];
  public readonly storage: LakeStorage;
  public readonly ingestApi: IngestApi;
  public readonly pipeline: BronzeToSilverPipeline;
  public readonly catalog: DataCatalog;
  public readonly monitoring: PipelineMonitoring;
  public readonly costGuardrails: CostGuardrails;
  /** The gold models (with their tables), when gold is enabled and its directory holds models. */
  public readonly goldModels?: LoadedGoldModels;
  /** The gold workflow, built when {@link goldModels} is. */
  public readonly gold?: GoldWorkflow;
  /** The Redshift Serverless warehouse the models run on, when `gold.engine` is `redshift`. */
  public readonly redshift?: RedshiftServerlessGold;
  /** Plans each dataset's current-state merge (run by the gold workflow, before its models). */
  public readonly currentState: CurrentStatePlanner;
  /** Deletes gold versions beyond the newest published ones (run by the gold workflow). */
  public readonly goldRetention: GoldRetention;
  /** Plans and publishes the incremental gold models' runs. */
  public readonly goldPlanner: GoldPlanner;
  /** Re-drives the uploads and bronze objects the event route lost (the `Stranded` alarm). */
  public readonly reconciler: Reconciler;
  /** How long silver keeps the arrivals (none: kept), for the domains' table descriptions. */
  public readonly arrivalsExpiration?: Duration;
  /** The lake as the domains' reader roles read it (`DomainProducts`). */
  public readonly lake: DomainLake;
  /** The same, as another stack imports it (explicitly named exports). */
  public readonly lakeExports: DomainLakeExports;
  /** What happens to the stateful resources when the stack is deleted. */
  public readonly removalPolicy: RemovalPolicy;
  /**
   * Reader roles of the domains that own no dataset but read what others share (`access.readers`, a gold
   * model's readers or domain); the other domains' roles are in their stacks.
   */
  public readonly readers?: LakeReaders;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, {
      description: `medallion (${props.config.environment}): serverless bronze/silver/gold data pipeline`,
      ...props,
    });
    const { config } = props;
    this.config = config;
    const contractsDir = contractsDirectory(config);
    this.contracts = props.contracts ?? loadContracts(contractsDir);
    const domains = lakeDomains(this.contracts);

    Tags.of(this).add('pipeline', 'medallion');
    Tags.of(this).add('environment', config.environment);

    const r = config.retention;
    const removalPolicy = config.allowDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const logRetention = r.logDays as logs.RetentionDays;
    const architecture = lambdaArchitecture(config.lambdaArchitecture);
    // The gold workflow appends the arrivals to the history: without it they are silver's only copy, kept.
    const arrivalsExpiration = config.gold.enabled ? Duration.days(r.silverArrivalsDays) : undefined;

    this.storage = new LakeStorage(this, 'Storage', {
      landingExpiration: Duration.days(r.landingDays),
      quarantineExpiration: Duration.days(r.quarantineDays),
      athenaResultsExpiration: Duration.days(r.athenaResultsDays),
      silverArrivalPrefixes: arrivalsExpiration ? domainPrefixes(datasetPrefixes.data, domains) : [],
      silverArrivalsExpiration: arrivalsExpiration,
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
      architecture,
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

    // The salt of an earlier deployment, kept so every hash stays the same (see `piiSalt` in the config).
    const piiSaltSecret = config.piiSalt
      ? secretsmanager.Secret.fromSecretAttributes(this, 'ImportedPiiHashSalt', {
          secretPartialArn: this.formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            resourceName: config.piiSalt.secretName,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        })
      : undefined;
    this.pipeline = new BronzeToSilverPipeline(this, 'BronzeToSilver', {
      piiSaltSecret,
      architecture,
      landingBucket,
      bronzeBucket,
      silverBucket,
      quarantineBucket,
      key,
      contracts: this.contracts,
      contractsDir,
      transformMemorySize: config.transform.memoryMb,
      transformTimeout: Duration.seconds(config.transform.timeoutSeconds),
      transformMaxConcurrency: config.transform.maxConcurrency,
      transformReservedConcurrency: config.transform.reservedConcurrency,
      transformEphemeralStorage: Size.mebibytes(4096),
      logRetention,
      removalPolicy,
    });

    if (config.piiSalt?.keyArn) {
      // The retained key of the salt's first deployment: decrypting through Secrets Manager only (grantRead
      // of an imported secret adds no statement for an imported key).
      this.pipeline.transformFunction.function.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [config.piiSalt.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${this.region}.amazonaws.com` } },
        }),
      );
    }
    // A margin past the last retry, so that a slow retry is not re-driven while it runs.
    const strandedMargin = Duration.minutes(15);
    this.reconciler = new Reconciler(this, 'Reconciler', {
      architecture,
      contractsDir,
      landingBucket,
      bronzeBucket,
      silverBucket,
      quarantineBucket,
      key,
      landingFunction: this.pipeline.landingFunction.function,
      transformQueue: this.pipeline.queue,
      landingStrandedAfter: this.pipeline.landingRetryWindow.plus(strandedMargin),
      bronzeStrandedAfter: this.pipeline.transformRetryWindow.plus(strandedMargin),
      schedule: events.Schedule.expression(config.reconciler.schedule),
      lookbackDays: config.reconciler.lookbackDays,
      logRetention,
      logRemovalPolicy: removalPolicy,
    });

    // The models are read before the catalog, which declares their tables: `ref()` renders as
    // "<database>"."<table>", a table of a contract's dataset (current state, history, arrivals, deleted
    // keys) or another model. A model reading a table is granted its prefix (silverTableLocations).
    const databaseName = defaultDatabaseName(config.environment);
    const silverPrefixOf = new Map(
      this.contracts.flatMap((c) => silverTableLocations(c).map((t) => [t.name, t.prefix] as const)),
    );
    if (config.gold.enabled) {
      const loaded = loadGoldModels(goldModelsDirectory(config), {
        database: databaseName,
        silverTables: [...silverPrefixOf.keys()],
        // An incremental model's date can follow the `dt` of a dataset partitioned by day, in the tables
        // that keep every partition (not the arrivals, which expire: a full run would miss the older days).
        dayPartitionedTables: this.contracts
          .filter((c) => c.partition.granularity === 'day')
          .flatMap((c) => [currentTableName(c.dataset), historyTableName(c.dataset)]),
      });
      // On Redshift, the models must read alike on every engine (the check's rules, enforced at synth too).
      if (config.gold.engine === 'redshift') {
        for (const m of loaded.models) {
          checkPortableSql(m.sql, `gold model ${m.source?.file ?? m.name}`, m.source?.sqlLine ?? 1);
        }
      }
      if (loaded.models.length > 0) this.goldModels = loaded;
    }

    this.catalog = new DataCatalog(this, 'Catalog', {
      environment: config.environment,
      databaseName,
      contracts: this.contracts,
      goldBucket,
      athenaResultsBucket,
      key,
      goldTables: this.goldModels?.tables ?? [],
    });
    this.arrivalsExpiration = arrivalsExpiration;

    // Every alarm in one place; the gold workflow registers its own with `monitorGoldWorkflow` once composed.
    this.monitoring = new PipelineMonitoring(this, 'Monitoring', {
      domainDashboards: props.domainDashboards ?? [],
      functions: [
        { name: 'IngestApi', function: this.ingestApi.handler.function, layer: 'ingest' },
        { name: 'Landing', function: this.pipeline.landingFunction.function, layer: 'ingest' },
        { name: 'Reconciler', function: this.reconciler.function, layer: 'silver' },
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
      // A cron schedule whose interval cannot be told: judged hourly.
      reconcilerInterval: Duration.minutes(scheduleIntervalMinutes(config.reconciler.schedule) ?? 60),
      alarmEmail: config.alarmEmail,
      removalPolicy,
    });
    // Silver infrastructure, whether gold runs or not: the gold workflow invokes it before its models.
    this.currentState = new CurrentStatePlanner(this, 'CurrentState', {
      architecture,
      contracts: this.contracts,
      contractsDir,
      silverBucket,
      key,
      logRetention,
      logRemovalPolicy: removalPolicy,
    });
    // Like the planner, built whether gold runs or not (the local cloud's wiring has no models).
    this.goldRetention = new GoldRetention(this, 'GoldRetention', {
      architecture,
      contractsDir,
      goldBucket,
      key,
      models: this.goldModels?.models.map((m) => m.name) ?? [],
      versionsKept: config.gold.versionsKept,
      logRetention,
      logRemovalPolicy: removalPolicy,
    });
    // Like the planner, built whether gold runs or not.
    const incrementalModels = (this.goldModels?.models ?? []).filter((m) => m.incremental).map((m) => m.name);
    this.goldPlanner = new GoldPlanner(this, 'GoldPlanner', {
      architecture,
      contractsDir,
      contracts: this.contracts,
      silverBucket,
      goldBucket,
      key,
      models: incrementalModels,
      engine: config.gold.engine,
      logRetention,
      logRemovalPolicy: removalPolicy,
    });
    if (config.gold.enabled) {
      // Without a model the workflow still runs, to keep the datasets' current state up to date.
      // Only the silver tables the models ref are readable by them (tables and their prefixes).
      const models = this.goldModels?.models ?? [];
      const read = this.goldModels?.silverTables ?? [];
      const silverPrefixes = read.map((table) => silverPrefixOf.get(table) as string);
      let engine: RedshiftEngine | undefined;
      if (config.gold.engine === 'redshift') {
        ({ warehouse: this.redshift, engine } = createRedshiftGold(this, {
          settings: config.gold.redshift,
          silverBucket,
          goldBucket,
          key,
          database: this.catalog.databaseName,
          silverPrefixes,
          models: models.map((m) => m.name),
          alarmTopic: this.monitoring.alarmTopic,
          removalPolicy,
          logRetention,
          logRemovalPolicy: removalPolicy,
        }));
      }
      this.gold = new GoldWorkflow(this, 'Gold', {
        database: this.catalog.databaseName,
        workGroup: this.catalog.workGroupName,
        goldBucket,
        silverBucket,
        resultsBucket: athenaResultsBucket,
        resultsPrefix: this.catalog.queryResultsPrefix,
        key,
        // Built after the monitoring: a failed model publishes to its topic.
        alarmTopic: this.monitoring.alarmTopic,
        models,
        schedule: events.Schedule.expression(config.gold.schedule),
        silverPrefixes,
        sourceTables: read,
        engine,
        currentState: { planner: this.currentState.function, contracts: this.contracts },
        ...(models.length > 0 ? { retention: this.goldRetention.function } : {}),
        ...(incrementalModels.length > 0 ? { goldPlanner: this.goldPlanner.function } : {}),
        logRetention,
        logRemovalPolicy: removalPolicy,
      });
      // The schedule may start a run as soon as the rule exists: the tables and the workgroup come first.
      this.gold.node.addDependency(this.catalog);
      this.monitoring.monitorGoldWorkflow(this.gold.stateMachine);
      Tags.of(this.gold).add('layer', 'gold');
    }

    this.removalPolicy = removalPolicy;
    this.lake = {
      silverBucket,
      goldBucket,
      bronzeBucket,
      quarantineBucket,
      athenaResultsBucket,
      key,
      databaseName: this.catalog.databaseName,
      workGroupNamePrefix: this.catalog.workGroupName,
    };
    // What the domains' stacks import, by name (`<stack>-<Layer>BucketArn`, `<stack>-LakeKeyArn`): the
    // reader roles' prefix-scoped grants are then acknowledged by those names (lib/nag.ts).
    const exported = (id: string, value: string) =>
      this.exportValue(value, { name: `${this.stackName}-${id}` });
    this.lakeExports = {
      silverBucketArn: exported('SilverBucketArn', silverBucket.bucketArn),
      goldBucketArn: exported('GoldBucketArn', goldBucket.bucketArn),
      bronzeBucketArn: exported('BronzeBucketArn', bronzeBucket.bucketArn),
      quarantineBucketArn: exported('QuarantineBucketArn', quarantineBucket.bucketArn),
      athenaResultsBucketArn: exported('AthenaResultsBucketArn', athenaResultsBucket.bucketArn),
      keyArn: exported('LakeKeyArn', key.keyArn),
      databaseName: this.catalog.databaseName,
      workGroupNamePrefix: this.catalog.workGroupName,
    };
    const owning = new Set(domains);
    const goldModels = this.goldModels?.models ?? [];
    const readingOnly = [
      ...new Set([
        ...this.contracts.flatMap((c) => c.access.readers),
        ...goldModels.flatMap((m) => [
          ...(m.product?.readers ?? []),
          ...(m.product?.domain ? [m.product.domain] : []),
        ]),
      ]),
    ]
      .filter((d) => !owning.has(d))
      .sort();
    if (readingOnly.length > 0) {
      this.readers = new LakeReaders(this, 'Readers', {
        ...this.lake,
        contracts: this.contracts,
        goldModels,
        domains: readingOnly,
      });
      Tags.of(this.readers).add('layer', 'access');
    }

    this.costGuardrails = new CostGuardrails(this, 'CostGuardrails', {
      monthlyBudgetUsd: config.monthlyBudgetUsd,
      ...(config.budgetFilterByTags
        ? { costFilterTags: { pipeline: 'medallion', environment: config.environment } }
        : {}),
      // The alarm e-mail is subscribed to the topic, so budget alerts reach it too.
      topic: this.monitoring.alarmTopic,
    });

    // The API, the functions and the queues serve every domain that has a contract (tag values cannot
    // hold commas: space-separated). Buckets carry their `layer` tag instead.
    Tags.of(this.ingestApi).add('domain', domains.join(' '));
    Tags.of(this.pipeline).add('domain', domains.join(' '));
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
    new CfnOutput(this, 'TransformQueueUrl', {
      description: 'Where bronze events wait for the transform (medallion replay --queue-url)',
      value: this.pipeline.queue.queueUrl,
    });
    new CfnOutput(this, 'TransformDeadLetterQueueUrl', { value: this.pipeline.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'LandingFailureQueueUrl', { value: this.pipeline.landingFailureQueue.queueUrl });
    new CfnOutput(this, 'PiiSaltSecretName', {
      description:
        'The PII hashing salt (retained with the stack): set piiSalt.secretName to it (and piiSalt.keyArn to the retained lake key) to keep every hash when the stack is created again',
      value: this.pipeline.piiSaltSecret.secretName,
    });
    new CfnOutput(this, 'GlueDatabaseName', { value: this.catalog.databaseName });
    new CfnOutput(this, 'AthenaWorkGroupName', { value: this.catalog.workGroupName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.alarmTopic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
    if (this.gold) {
      new CfnOutput(this, 'GoldStateMachineArn', {
        description: 'The gold workflow (runs on its schedule; start an execution to publish gold now)',
        value: this.gold.stateMachine.stateMachineArn,
      });
    }
    if (this.redshift) {
      new CfnOutput(this, 'RedshiftWorkgroupName', {
        description: 'The Redshift Serverless workgroup of gold (its tables are in the schema gold)',
        value: this.redshift.workgroupName,
      });
    }
  }
}
