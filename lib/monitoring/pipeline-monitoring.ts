import { Duration, RemovalPolicy, Size, SizeRoundingBehavior, Stack, Tags } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { datasetPrefixes } from '../../core/lake/layout';
import { METRIC_NAMES, METRICS_NAMESPACE } from '../../core/telemetry/metrics';
import * as metrics from './pipeline-metrics';

/** The dashboard row a function or a queue belongs to. */
export type PipelineLayer = 'ingest' | 'silver' | 'gold';

/** A Lambda function watched for throttles and duration (and, optionally, its error rate). */
export interface MonitoredFunction {
  /** Short name, unique among the functions: alarm names and widget titles use it (e.g. `Transform`). */
  readonly name: string;
  /** The function (its `timeout` sets the duration alarm's threshold). */
  readonly function: lambda.Function;
  /** The dashboard row it is shown in. */
  readonly layer: PipelineLayer;
  /**
   * Alarm when more than this share (0..1) of its invocations fail in 2 of 3 five-minute periods.
   * @default - no error-rate alarm: its failures are watched through its dead-letter queue
   */
  readonly maxErrorRate?: number;
}

/** A dead-letter (or failure) queue: any message in it alarms. */
export interface MonitoredQueue {
  /** Short name, unique among the queues: alarm names and widget titles use it. */
  readonly name: string;
  readonly queue: sqs.IQueue;
  /** The dashboard row it is shown in. */
  readonly layer: PipelineLayer;
  /**
   * What a message in this queue is and how to replay it, for the alarm's description.
   * @default - a generic redrive instruction
   */
  readonly runbook?: string;
}

/** A queue whose backlog is graphed (not alarmed: its failures end in a dead-letter queue). */
export interface WorkQueue {
  readonly name: string;
  readonly queue: sqs.IQueue;
  readonly layer: PipelineLayer;
}

/** Properties of {@link PipelineMonitoring}. */
export interface PipelineMonitoringProps {
  /** The data contracts: one quarantine-ratio alarm per dataset, at its `quality.maxQuarantineRatio`. */
  readonly contracts: DatasetContract[];
  /** Functions watched for throttles and duration near their timeout. */
  readonly functions: MonitoredFunction[];
  /** Dead-letter and failure queues: a message in any of them alarms. */
  readonly deadLetterQueues: MonitoredQueue[];
  /**
   * Work queues shown on the dashboard (backlog and age of the oldest message).
   * @default - none
   */
  readonly workQueues?: WorkQueue[];
  /**
   * The ingest API: requests, errors and latency on the dashboard.
   * @default - no API widgets
   */
  readonly api?: apigw.RestApi;
  /**
   * The gold workflow: failed or timed-out executions alarm. It may not exist yet, or be built after
   * this construct (it publishes to the alarm topic): then see {@link PipelineMonitoring.monitorGoldWorkflow}.
   * @default - no state-machine alarm
   */
  readonly stateMachine?: sfn.IStateMachine;
  /**
   * Gold must have been published within this window (the `GoldPublished` metric); whole minutes, at
   * most a day (or up to seven days in whole hours).
   * @default Duration.minutes(60)
   */
  readonly freshnessSlo?: Duration;
  /**
   * The Athena workgroup whose scanned bytes are watched (it must publish CloudWatch metrics).
   * @default - no Athena alarm
   */
  readonly athenaWorkGroup?: string;
  /**
   * Alarm when the workgroup's queries scan more than this in a day (Athena bills ~5 USD per TB).
   * @default Size.gibibytes(100)
   */
  readonly athenaBytesScannedPerDay?: Size;
  /**
   * Subscribed to the alarm topic (the address must confirm the subscription).
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * The customer-managed key encrypting the alarm topic. CloudWatch (and AWS Budgets) can only publish
   * to an encrypted topic whose key policy allows them, which an AWS managed key's policy does not; the
   * lake's key would work but would then admit those services on the key of the data itself.
   * @default - a key of its own, rotated yearly
   */
  readonly topicKey?: kms.Key;
  /**
   * What happens to the generated topic key when the stack is deleted. It only encrypts notifications in
   * flight, so destroying it loses nothing; retained by default like every key of the app.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Prefix of the alarm names and the dashboard's name (alarm names are what an e-mail's subject shows).
   * @default - the stack's name
   */
  readonly namePrefix?: string;
}

/** How an alarm is defined: the one shape every alarm of the pipeline goes through ({@link PipelineMonitoring.addAlarm}). */
export interface AlarmDefinition {
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly comparisonOperator: cloudwatch.ComparisonOperator;
  /** What it means and what to do, in plain words (max 1024 characters: CloudWatch's limit). */
  readonly description: string;
  readonly treatMissingData: cloudwatch.TreatMissingData;
  /** @default 1 */
  readonly evaluationPeriods?: number;
  /** @default - evaluationPeriods */
  readonly datapointsToAlarm?: number;
}

/**
 * What to do with the messages of the pipeline's failure queues (the `runbook` of a
 * {@link MonitoredQueue}): kept here with every other alarm text.
 */
export const DEAD_LETTER_RUNBOOKS = {
  /** The landing function's on-failure destination (async invocations that failed 3 attempts). */
  landingFailures:
    'each message is a Lambda on-failure record: requestPayload holds the S3 event of the upload, ' +
    'responsePayload the error. The upload is still in the landing bucket (until it expires). Fix the ' +
    'cause, then land it again by copying the object onto itself (aws s3 cp s3://<landing>/<key> ' +
    's3://<landing>/<key> --metadata-directive REPLACE raises a new event), and delete the message.',
  /** The transform queue's dead-letter queue (bronze objects the transform failed 3 times). */
  transformDeadLetters:
    'each message is the S3 event of a bronze object the transform failed on 3 times; its error is in ' +
    "the transform's log (level ERROR, with the message id). Fix the cause, then redrive the queue to " +
    'the transform queue (SQS console: Start DLQ redrive); transforming an object again is safe.',
} as const;

const GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
const MISSING_IS_FINE = cloudwatch.TreatMissingData.NOT_BREACHING;
const TIMEOUT_SHARE = 0.8;

/**
 * Monitoring of the medallion pipeline, in one place: one SNS topic, every alarm (each with what it
 * means and what to do, and both its ALARM and OK transitions sent to the topic), and one dashboard
 * with a row per layer (ingest/bronze, silver, gold, cost).
 *
 * The metrics come from `pipeline-metrics.ts`, so an alarm and the graph beside it watch the same
 * series. Alarms added later by other slices go through {@link addAlarm} and get the same treatment.
 */
export class PipelineMonitoring extends Construct {
  /** Receives every alarm and OK notification (and may be given to the budget). */
  public readonly alarmTopic: sns.Topic;
  /** The key encrypting the topic; services publishing to the topic need it in their key policy. */
  public readonly alarmTopicKey: kms.Key;
  /** Every alarm, by id (e.g. `QuarantineRatio-orders`, `DeadLetters-TransformDeadLetters`). */
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  public readonly dashboard: cloudwatch.Dashboard;

  private readonly namePrefix: string;
  private readonly alarmScope: Construct;
  private readonly alarmAction: cloudwatch.IAlarmAction;
  private readonly alarmById: Record<string, cloudwatch.Alarm> = {};
  /** Read when the dashboard is synthesized, so alarms added later still appear in its status widget. */
  private readonly alarmList: cloudwatch.Alarm[] = [];
  private goldWorkflow?: { stateMachine: sfn.IStateMachine; failures: cloudwatch.Alarm };

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    this.alarms = this.alarmById;
    this.namePrefix = props.namePrefix ?? Stack.of(this).stackName;
    Tags.of(this).add('layer', 'ops');
    checkUnique(
      'function',
      props.functions.map((f) => f.name),
    );
    checkUnique(
      'queue',
      [...props.deadLetterQueues, ...(props.workQueues ?? [])].map((q) => q.name),
    );

    // ---- the topic ----------------------------------------------------------------------------------
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.alarmTopicKey =
      props.topicKey ??
      new kms.Key(this, 'TopicKey', {
        description: 'medallion: encrypts the alarm topic',
        enableKeyRotation: true,
        removalPolicy,
        pendingWindow: removalPolicy === RemovalPolicy.DESTROY ? Duration.days(7) : undefined,
      });
    // CloudWatch encrypts what it publishes with the topic's key: it must be allowed in the key policy.
    allowServiceToPublishEncrypted(this.alarmTopicKey, 'cloudwatch.amazonaws.com');
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `medallion alarms (${this.namePrefix})`.slice(0, 100),
      masterKey: this.alarmTopicKey,
      enforceSSL: true,
    });
    if (props.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    this.alarmAction = new cloudwatchActions.SnsAction(this.alarmTopic);
    this.alarmScope = new Construct(this, 'Alarms');

    // ---- the alarms ---------------------------------------------------------------------------------
    for (const q of props.deadLetterQueues) this.addDeadLetterAlarm(q);
    for (const f of props.functions) this.addFunctionAlarms(f);
    for (const c of props.contracts) this.addDatasetAlarms(c);
    const freshness = this.addFreshnessAlarm(props.freshnessSlo ?? Duration.minutes(60));
    if (props.stateMachine) this.monitorGoldWorkflow(props.stateMachine);
    const athena = props.athenaWorkGroup
      ? this.addAthenaAlarm(props.athenaWorkGroup, props.athenaBytesScannedPerDay ?? Size.gibibytes(100))
      : undefined;

    // ---- the dashboard ------------------------------------------------------------------------------
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: this.namePrefix,
      defaultInterval: Duration.days(1),
    });
    const layer = (l: PipelineLayer) => ({
      functions: props.functions.filter((f) => f.layer === l),
      deadLetters: props.deadLetterQueues.filter((q) => q.layer === l),
      work: (props.workQueues ?? []).filter((q) => q.layer === l),
    });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms (descriptions say what to do)',
        alarms: this.alarmList,
        width: 24,
        height: Math.max(3, Math.ceil(this.alarmList.length / 4) + 1),
        sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
      }),
    );
    this.dashboard.addWidgets(
      header(
        'Ingest / bronze',
        'Files and bytes stored in bronze per dataset, the ingest API, the landing functions.',
      ),
      ...this.ingestWidgets(props.contracts, props.api),
      ...this.layerWidgets(layer('ingest')),
    );
    this.dashboard.addWidgets(
      header(
        'Silver',
        'Rows per dataset, the quarantine ratio against its contract, transform latency and health.',
      ),
      ...props.contracts.flatMap((c) => this.datasetWidgets(c)),
      ...this.layerWidgets(layer('silver')),
    );
    this.dashboard.addWidgets(
      header('Gold', 'Publications of the gold tables (freshness SLO) and the gold workflow.'),
      new cloudwatch.AlarmWidget({
        title: 'Gold publications (freshness)',
        alarm: freshness,
        width: 8,
        height: 6,
      }),
      // Decided at synthesis: the workflow may be added after this constructor (monitorGoldWorkflow).
      new DeferredWidgets(16, 6, () =>
        this.goldWorkflow
          ? workflowWidgets(this.goldWorkflow.stateMachine, this.goldWorkflow.failures)
          : [text('The gold workflow is not deployed yet: no state machine to show.', 16)],
      ),
      ...this.layerWidgets(layer('gold')),
    );
    this.dashboard.addWidgets(
      header(
        'Cost',
        'Usage that drives the bill: Athena bytes scanned, Lambda compute, API requests. The monthly budget is in AWS Budgets.',
      ),
      athena
        ? new cloudwatch.AlarmWidget({
            title: 'Athena bytes scanned per day',
            alarm: athena,
            width: 8,
            height: 6,
          })
        : text('No Athena workgroup is monitored yet.'),
      new cloudwatch.GraphWidget({
        title: 'Lambda compute per day (duration sum, ms)',
        left: props.functions.map((f) => metrics.lambdaDurationSum(f.function).with({ label: f.name })),
        width: 8,
        height: 6,
      }),
      ...(props.api
        ? [
            new cloudwatch.GraphWidget({
              title: 'API requests per day',
              left: [props.api.metricCount({ statistic: cloudwatch.Stats.SUM, period: Duration.days(1) })],
              width: 8,
              height: 6,
            }),
          ]
        : []),
    );
  }

  /**
   * Adds an alarm to the pipeline's set: named `<prefix>-<id>`, ALARM and OK sent to the topic, shown in
   * the dashboard's status widget. Other slices (gold, catalog) add theirs here too.
   */
  public addAlarm(id: string, def: AlarmDefinition): cloudwatch.Alarm {
    if (this.alarmById[id]) throw new Error(`alarm '${id}' is already defined`);
    if (def.description.length > 1024) {
      throw new Error(`the description of alarm '${id}' is ${def.description.length} characters (max 1024)`);
    }
    const alarm = new cloudwatch.Alarm(this.alarmScope, id, {
      alarmName: `${this.namePrefix}-${id}`,
      alarmDescription: def.description,
      metric: def.metric,
      threshold: def.threshold,
      comparisonOperator: def.comparisonOperator,
      evaluationPeriods: def.evaluationPeriods ?? 1,
      datapointsToAlarm: def.datapointsToAlarm,
      treatMissingData: def.treatMissingData,
    });
    alarm.addAlarmAction(this.alarmAction);
    alarm.addOkAction(this.alarmAction);
    this.alarmById[id] = alarm;
    this.alarmList.push(alarm);
    return alarm;
  }

  /**
   * Watches the gold workflow: its failed or timed-out executions alarm (`GoldWorkflowFailures`) and its
   * executions are graphed in the dashboard's gold row. For a workflow built after this construct, since
   * it publishes to {@link alarmTopic}.
   */
  public monitorGoldWorkflow(stateMachine: sfn.IStateMachine): cloudwatch.Alarm {
    if (this.goldWorkflow) throw new Error('the gold workflow is already monitored');
    const failures = this.addAlarm('GoldWorkflowFailures', {
      metric: metrics.stateMachineFailures(stateMachine),
      threshold: 0,
      comparisonOperator: GT,
      treatMissingData: MISSING_IS_FINE,
      description:
        'Executions of the gold workflow failed or timed out in the last 5 minutes: the gold tables were ' +
        'not (fully) refreshed, and the freshness alarm will follow if the next run fails too. What to ' +
        'do: open the failed execution in the Step Functions console, find the failed state and its error ' +
        '(Athena query, Glue, permissions), fix it, then start the workflow again.',
    });
    this.goldWorkflow = { stateMachine, failures };
    return failures;
  }

  // ---- alarms ---------------------------------------------------------------------------------------

  private addDeadLetterAlarm(q: MonitoredQueue): cloudwatch.Alarm {
    const runbook =
      q.runbook ??
      "find the error in the consuming function's log, fix its cause, then replay the messages (a queue's dead-letter queue: SQS console, Start DLQ redrive).";
    return this.addAlarm(`DeadLetters-${q.name}`, {
      metric: metrics.queueDepth(q.queue),
      threshold: 0,
      comparisonOperator: GT,
      // SQS stops publishing the metrics of a queue left untouched for hours, even with messages in it:
      // keep the alarm's state then, instead of reporting a false OK.
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      description:
        `Messages are waiting in the ${q.name} queue: each is an event that failed every retry, so its ` +
        'file did not reach the next layer. Nothing is lost yet: messages are kept 14 days. ' +
        `What to do: ${runbook}`,
    });
  }

  private addFunctionAlarms(f: MonitoredFunction): void {
    const fn = f.function;
    const timeout = fn.timeout ?? Duration.seconds(3); // Lambda's default
    if (f.maxErrorRate !== undefined) {
      if (f.maxErrorRate < 0 || f.maxErrorRate >= 1)
        throw new Error(`maxErrorRate of ${f.name} must be in [0, 1)`);
      this.addAlarm(`ErrorRate-${f.name}`, {
        metric: metrics.lambdaErrorRate(fn),
        threshold: f.maxErrorRate,
        comparisonOperator: GT,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: MISSING_IS_FINE,
        description:
          `More than ${pct(f.maxErrorRate)} of the invocations of the ${f.name} function failed (crashed, ` +
          'timed out or ran out of memory) in 2 of the last 3 five-minute periods. Failed work is retried, ' +
          'then dead-lettered. A file the data breaks fails alone (for the transform, partial batch ' +
          'responses), so a rising rate usually means a code, permission or capacity problem rather than ' +
          "bad data. What to do: read the function's log (ERROR lines, 'Task timed out', 'Runtime exited', " +
          'Max Memory Used in REPORT lines), fix the cause, then replay the dead-lettered messages.',
      });
    }
    this.addAlarm(`Throttles-${f.name}`, {
      metric: metrics.lambdaThrottles(fn),
      threshold: 0,
      comparisonOperator: GT,
      treatMissingData: MISSING_IS_FINE,
      description:
        `Lambda refused (throttled) invocations of the ${f.name} function in the last 5 minutes: it reached ` +
        "its reserved concurrency or the account's concurrency limit. Throttled S3 events are retried by " +
        'Lambda for hours; a throttled SQS delivery still counts as a receive and can dead-letter a healthy ' +
        'message; a throttled API call fails for the producer. What to do: compare ConcurrentExecutions ' +
        "with the function's reserved concurrency (for the transform: transform.reservedConcurrency in the " +
        "configuration) and the account's limit; raise the limit or slow the producers.",
    });
    const thresholdMs = Math.round(timeout.toMilliseconds() * TIMEOUT_SHARE);
    this.addAlarm(`DurationNearTimeout-${f.name}`, {
      metric: metrics.lambdaDurationP99(fn),
      threshold: thresholdMs,
      comparisonOperator: GT,
      treatMissingData: MISSING_IS_FINE,
      description:
        `The p99 duration of the ${f.name} function exceeded ${pct(TIMEOUT_SHARE)} of its ` +
        `${timeout.toSeconds()} s timeout (${thresholdMs} ms) in the last 5 minutes: a slightly larger file ` +
        'or a slower dependency will time out (an API request then fails; an event is retried and may be ' +
        'dead-lettered). ' +
        'What to do: look at the slowest invocations (REPORT lines of its log), give it more memory (and ' +
        'so CPU) or a longer timeout (for the transform: transform.memoryMb and transform.timeoutSeconds ' +
        'in the configuration), or ask producers for smaller files.',
    });
  }

  private addDatasetAlarms(c: DatasetContract): void {
    const owner = c.owner ? ` (owner: ${c.owner})` : '';
    const ratio = c.quality.maxQuarantineRatio;
    this.addAlarm(`QuarantineRatio-${c.dataset}`, {
      metric: metrics.quarantineRatio(c.dataset),
      threshold: ratio,
      comparisonOperator: GT,
      treatMissingData: MISSING_IS_FINE,
      description:
        `More than ${pct(ratio)} of the rows of ${c.id} read in the last 5 minutes were quarantined ` +
        "(the contract's quality.maxQuarantineRatio). The valid rows reached silver; the rejected ones are " +
        `in the quarantine bucket under ${datasetPrefixes.quarantineRows(c)}, with the rule each broke. ` +
        "What to do: read quarantinedByReason in the transform's log line for the file, tell the " +
        `producer${owner} and have only the corrected rows re-sent (the valid ones are already in ` +
        'silver), or correct the contract if the rule is wrong.',
    });
    this.addAlarm(`FilesRejected-${c.dataset}`, {
      metric: metrics.filesQuarantined(c.dataset),
      threshold: 0,
      comparisonOperator: GT,
      treatMissingData: MISSING_IS_FINE,
      description:
        `A whole file of ${c.id} was rejected in the last 5 minutes (unreadable, empty, over the size ` +
        'limit, or with columns the contract rejects): none of its rows reached silver. It is in the ' +
        `quarantine bucket under ${datasetPrefixes.quarantineFiles(c)} with a .reason.json next to it. ` +
        `What to do: read the reason, have the producer${owner} send a corrected file, or fix the ` +
        'contract: the bronze original is kept, and a re-run of the transform on it (its S3 event sent ' +
        'to the transform queue again) replaces what an earlier run wrote.',
    });
  }

  private addFreshnessAlarm(slo: Duration): cloudwatch.Alarm {
    const { period, evaluationPeriods } = metrics.freshnessWindow(slo);
    return this.addAlarm('Freshness', {
      metric: metrics.goldPublished(period),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods,
      datapointsToAlarm: evaluationPeriods,
      // No publication at all is the failure this alarm exists for.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      description:
        `No gold publication (metric ${METRICS_NAMESPACE}/${METRIC_NAMES.GoldPublished}) in the last ` +
        `${slo.toMinutes()} minutes, the freshness SLO: consumers may be reading stale gold tables. Missing ` +
        'data counts as breaching, so it also fires when nothing publishes at all (e.g. before the gold ' +
        "workflow is deployed, or when it is not scheduled). What to do: check the gold workflow's recent " +
        'executions (failed? never started?), then upstream: transform errors and dead letters, and ' +
        'whether files landed at all (dashboard rows Ingest and Silver).',
    });
  }

  private addAthenaAlarm(workGroup: string, perDay: Size): cloudwatch.Alarm {
    const bytes = perDay.toBytes();
    const gib = Math.round(perDay.toGibibytes({ rounding: SizeRoundingBehavior.NONE }) * 10) / 10;
    const usd = (bytes / 1e12) * 5;
    return this.addAlarm('AthenaBytesScanned', {
      metric: metrics.athenaProcessedBytes(workGroup),
      threshold: bytes,
      comparisonOperator: GT,
      treatMissingData: MISSING_IS_FINE,
      description:
        `Athena queries of workgroup ${workGroup} scanned more than ${gib} GiB in a day ` +
        `(about ${usd.toFixed(2)} USD at 5 USD per TB). What to do: find the expensive queries (Athena ` +
        'console, Recent queries, sort by data scanned), make sure they filter on the partition column ' +
        '(dt) and select only the columns they need; consider a per-query scan limit on the workgroup.',
    });
  }

  // ---- widgets --------------------------------------------------------------------------------------

  private ingestWidgets(contracts: DatasetContract[], api?: apigw.RestApi): cloudwatch.IWidget[] {
    const perDataset = (name: typeof METRIC_NAMES.FilesLanded | typeof METRIC_NAMES.BytesLanded) =>
      contracts.map((c) => metrics.datasetMetric(name, c.dataset, { label: c.dataset }));
    const widgets: cloudwatch.IWidget[] = [
      graph('Files landed in bronze', perDataset(METRIC_NAMES.FilesLanded)),
      graph('Bytes landed in bronze', perDataset(METRIC_NAMES.BytesLanded)),
    ];
    if (api) {
      const sum = { statistic: cloudwatch.Stats.SUM, period: metrics.METRIC_PERIOD };
      widgets.push(
        new cloudwatch.GraphWidget({
          title: 'Ingest API: requests and errors',
          left: [
            api.metricCount({ ...sum, label: 'requests' }),
            api.metricClientError({ ...sum, label: '4xx' }),
            api.metricServerError({ ...sum, label: '5xx' }),
          ],
          right: [api.metricLatency({ statistic: cloudwatch.Stats.p(99), label: 'latency p99 (ms)' })],
          width: 8,
          height: 6,
        }),
      );
    }
    return widgets;
  }

  private datasetWidgets(c: DatasetContract): cloudwatch.IWidget[] {
    const m = (name: (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES], label: string) =>
      metrics.datasetMetric(name, c.dataset, { label });
    return [
      graph(`${c.id}: rows`, [
        m(METRIC_NAMES.RowsIn, 'in'),
        m(METRIC_NAMES.RowsOut, 'out'),
        m(METRIC_NAMES.RowsQuarantined, 'quarantined'),
        m(METRIC_NAMES.DuplicatesRemoved, 'duplicates'),
      ]),
      new cloudwatch.AlarmWidget({
        title: `${c.id}: quarantine ratio (contract max ${c.quality.maxQuarantineRatio})`,
        alarm: this.alarmById[`QuarantineRatio-${c.dataset}`],
        leftYAxis: { min: 0, max: 1 },
        width: 8,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: `${c.id}: lag to silver (s) and rejected files`,
        left: [
          metrics.transformLag(c.dataset, cloudwatch.Stats.MAXIMUM).with({ label: 'lag max' }),
          metrics.transformLag(c.dataset, cloudwatch.Stats.p(90)).with({ label: 'lag p90' }),
        ],
        right: [metrics.filesQuarantined(c.dataset).with({ label: 'files rejected' })],
        width: 8,
        height: 6,
      }),
    ];
  }

  /** The functions and queues of one layer: health graphs, and their alarms drawn with thresholds. */
  private layerWidgets(l: {
    functions: MonitoredFunction[];
    deadLetters: MonitoredQueue[];
    work: WorkQueue[];
  }): cloudwatch.IWidget[] {
    return [
      ...l.work.map(
        (q) =>
          new cloudwatch.GraphWidget({
            title: `${q.name}: backlog`,
            left: [metrics.queueDepth(q.queue).with({ label: 'messages waiting' })],
            right: [metrics.queueOldestMessageAge(q.queue).with({ label: 'oldest message (s)' })],
            width: 8,
            height: 6,
          }),
      ),
      ...l.deadLetters.map(
        (q) =>
          new cloudwatch.AlarmWidget({
            title: `${q.name}: messages waiting`,
            alarm: this.alarmById[`DeadLetters-${q.name}`],
            width: 8,
            height: 6,
          }),
      ),
      ...l.functions.flatMap((f) => [
        graph(`${f.name}: invocations, errors, throttles`, [
          metrics.lambdaInvocations(f.function).with({ label: 'invocations' }),
          metrics.lambdaErrors(f.function).with({ label: 'errors' }),
          metrics.lambdaThrottles(f.function).with({ label: 'throttles' }),
        ]),
        new cloudwatch.AlarmWidget({
          title: `${f.name}: duration p99 vs ${pct(TIMEOUT_SHARE)} of timeout`,
          alarm: this.alarmById[`DurationNearTimeout-${f.name}`],
          width: 8,
          height: 6,
        }),
      ]),
    ];
  }
}

/** Lets an AWS service encrypt messages for a topic encrypted with `key` (SNS server-side encryption). */
export function allowServiceToPublishEncrypted(key: kms.Key, service: string): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: `Allow${capitalized(service.split('.')[0])}ToPublishToEncryptedTopics`,
      principals: [new iam.ServicePrincipal(service)],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
    }),
  );
}

function workflowWidgets(stateMachine: sfn.IStateMachine, failures: cloudwatch.Alarm): cloudwatch.IWidget[] {
  const sum = { statistic: cloudwatch.Stats.SUM, period: metrics.METRIC_PERIOD };
  return [
    graph('Gold workflow executions', [
      stateMachine.metricStarted({ ...sum, label: 'started' }),
      stateMachine.metricSucceeded({ ...sum, label: 'succeeded' }),
      stateMachine.metricFailed({ ...sum, label: 'failed' }),
      stateMachine.metricTimedOut({ ...sum, label: 'timed out' }),
    ]),
    new cloudwatch.AlarmWidget({ title: 'Gold workflow failures', alarm: failures, width: 8, height: 6 }),
  ];
}

function header(title: string, subtitle: string): cloudwatch.TextWidget {
  return new cloudwatch.TextWidget({ markdown: `## ${title}\n${subtitle}`, width: 24, height: 2 });
}

function text(markdown: string, width = 8): cloudwatch.TextWidget {
  return new cloudwatch.TextWidget({ markdown, width, height: 6 });
}

/**
 * A fixed-size slot of the dashboard whose widgets are chosen when the dashboard is rendered (the
 * dashboard's body is computed at synthesis, after every construct exists).
 */
class DeferredWidgets implements cloudwatch.IWidget {
  private row?: cloudwatch.Row;

  constructor(
    public readonly width: number,
    public readonly height: number,
    // Not named `widgets`: the dashboard walks the `widgets` of layout containers when they are added.
    private readonly choose: () => cloudwatch.IWidget[],
  ) {}

  position(x: number, y: number): void {
    this.row = new cloudwatch.Row(...this.choose());
    if (this.row.width > this.width || this.row.height > this.height) {
      throw new Error(
        `deferred widgets of ${this.row.width}x${this.row.height} exceed their ${this.width}x${this.height} slot`,
      );
    }
    this.row.position(x, y);
  }

  toJson(): unknown[] {
    return this.row?.toJson() ?? [];
  }
}

function graph(title: string, left: cloudwatch.IMetric[]): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left, width: 8, height: 6 });
}

function capitalized(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function pct(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

function checkUnique(what: string, names: string[]): void {
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`two monitored ${what}s are named '${dup}'`);
}
