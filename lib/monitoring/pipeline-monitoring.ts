import { Duration, Size, Stack, Tags } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type AlarmTopicSettings, createAlarmTopic } from './alarm-topic';
import { addAthenaBytesScannedAlarm } from './alarms/athena';
import { addFunctionAlarms } from './alarms/functions';
import { addFreshnessAlarm, addGoldWorkflowAlarm } from './alarms/gold';
import { type AlarmDefinition, PipelineAlarms } from './alarms/pipeline-alarms';
import { addDeadLetterAlarm } from './alarms/queues';
import { addStrandedAlarm } from './alarms/stranded';
import { createPipelineDashboard, type WatchedWorkflow } from './dashboard';
import type { MonitoredFunction, MonitoredQueue, WorkQueue } from './monitored-resources';

/** Properties of {@link PipelineMonitoring}; those of the alarm topic (e-mail, key) are {@link AlarmTopicSettings}. */
export interface PipelineMonitoringProps extends AlarmTopicSettings {
  /**
   * The domains' dashboards, named on this one (the datasets' alarms and graphs are the domains': see
   * `DomainMonitoring`).
   * @default []
   */
  readonly domainDashboards?: string[];
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
   * How often the reconciler runs: its `Stranded` metric alarms (objects found stranded, or no report for
   * twice this long).
   * @default - no reconciler alarm
   */
  readonly reconcilerInterval?: Duration;
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
   * Prefix of the alarm names and the dashboard's name (alarm names are what an e-mail's subject shows).
   * @default - the stack's name
   */
  readonly namePrefix?: string;
}

/**
 * Monitoring of the medallion pipeline, in one place: one SNS topic, every alarm (each with what it
 * means and what to do, and both its ALARM and OK transitions sent to the topic), and one dashboard
 * with a row per layer (ingest/bronze, silver, gold, cost).
 *
 * The parts live apart: the topic in `alarm-topic.ts`, the alarms in `alarms/` (one file per kind of
 * resource, all created through `PipelineAlarms`), the dashboard in `dashboard.ts`, and the metrics in
 * `pipeline-metrics.ts`, so an alarm and the graph beside it watch the same series. Alarms added later
 * by other slices go through {@link addAlarm} and get the same treatment.
 */
export class PipelineMonitoring extends Construct {
  /** Receives every alarm and OK notification (and may be given to the budget). */
  public readonly alarmTopic: sns.Topic;
  /** The key encrypting the topic; services publishing to the topic need it in their key policy. */
  public readonly alarmTopicKey: kms.Key;
  /** Every alarm, by id (e.g. `QuarantineRatio-orders`, `DeadLetters-TransformDeadLetters`). */
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  public readonly dashboard: cloudwatch.Dashboard;

  private readonly pipelineAlarms: PipelineAlarms;
  private goldWorkflow?: WatchedWorkflow;

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    const namePrefix = props.namePrefix ?? Stack.of(this).stackName;
    Tags.of(this).add('layer', 'ops');
    checkUnique(
      'function',
      props.functions.map((f) => f.name),
    );
    checkUnique(
      'queue',
      [...props.deadLetterQueues, ...(props.workQueues ?? [])].map((q) => q.name),
    );

    const { topic, key } = createAlarmTopic(this, {
      namePrefix,
      alarmEmail: props.alarmEmail,
      topicKey: props.topicKey,
      removalPolicy: props.removalPolicy,
    });
    this.alarmTopic = topic;
    this.alarmTopicKey = key;
    this.pipelineAlarms = new PipelineAlarms(this, namePrefix, new cloudwatchActions.SnsAction(topic));
    this.alarms = this.pipelineAlarms.byId;

    for (const q of props.deadLetterQueues) addDeadLetterAlarm(this.pipelineAlarms, q);
    for (const f of props.functions) addFunctionAlarms(this.pipelineAlarms, f);
    if (props.reconcilerInterval)
      addStrandedAlarm(this.pipelineAlarms, Duration.minutes(props.reconcilerInterval.toMinutes() * 2));
    const freshness = addFreshnessAlarm(this.pipelineAlarms, props.freshnessSlo ?? Duration.minutes(60));
    if (props.stateMachine) this.monitorGoldWorkflow(props.stateMachine);
    const athena = props.athenaWorkGroup
      ? addAthenaBytesScannedAlarm(
          this.pipelineAlarms,
          props.athenaWorkGroup,
          props.athenaBytesScannedPerDay ?? Size.gibibytes(100),
        )
      : undefined;

    this.dashboard = createPipelineDashboard(this, {
      dashboardName: namePrefix,
      domainDashboards: props.domainDashboards ?? [],
      functions: props.functions,
      deadLetterQueues: props.deadLetterQueues,
      workQueues: props.workQueues ?? [],
      api: props.api,
      alarms: this.pipelineAlarms,
      freshness,
      athena,
      goldWorkflow: () => this.goldWorkflow,
    });
  }

  /**
   * Adds an alarm to the pipeline's set: named `<prefix>-<id>`, ALARM and OK sent to the topic, shown in
   * the dashboard's status widget. Other slices (gold, catalog) add theirs here too.
   */
  public addAlarm(id: string, def: AlarmDefinition): cloudwatch.Alarm {
    return this.pipelineAlarms.add(id, def);
  }

  /**
   * Watches the gold workflow: its failed or timed-out executions alarm (`GoldWorkflowFailures`) and its
   * executions are graphed in the dashboard's gold row. For a workflow built after this construct, since
   * it publishes to {@link alarmTopic}.
   */
  public monitorGoldWorkflow(stateMachine: sfn.IStateMachine): cloudwatch.Alarm {
    if (this.goldWorkflow) throw new Error('the gold workflow is already monitored');
    const failures = addGoldWorkflowAlarm(this.pipelineAlarms, stateMachine);
    this.goldWorkflow = { stateMachine, failures };
    return failures;
  }
}

function checkUnique(what: string, names: string[]): void {
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`two monitored ${what}s are named '${dup}'`);
}
