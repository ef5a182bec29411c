/**
 * The one place every alarm of the pipeline is created: same naming, same actions, same checks. The
 * files next to this one define the alarms of each kind of resource and add them here.
 */
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';

/** How an alarm is defined: the one shape every alarm of the pipeline goes through ({@link PipelineAlarms.add}). */
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

/** The comparison of most alarms: any value above the threshold. */
export const GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
/** For metrics that only have data when something happens: no data is no problem. */
export const MISSING_IS_FINE = cloudwatch.TreatMissingData.NOT_BREACHING;

/**
 * The pipeline's alarms: each named `<prefix>-<id>`, created under one `Alarms` construct, with both its
 * ALARM and OK transitions sent to one action (the alarm topic).
 */
export class PipelineAlarms {
  /** Every alarm, by id (e.g. `QuarantineRatio-orders`, `DeadLetters-TransformDeadLetters`). */
  public readonly byId: Record<string, cloudwatch.Alarm> = {};
  /** Every alarm in the order added; read when the dashboard is synthesized, so later alarms appear too. */
  public readonly list: cloudwatch.Alarm[] = [];
  private readonly scope: Construct;

  /** Creates the `Alarms` construct in `parent`, where the alarms will be. */
  constructor(
    parent: Construct,
    private readonly namePrefix: string,
    private readonly action: cloudwatch.IAlarmAction,
  ) {
    this.scope = new Construct(parent, 'Alarms');
  }

  /** Adds an alarm; an id already taken or a description over CloudWatch's 1024 characters throws. */
  public add(id: string, def: AlarmDefinition): cloudwatch.Alarm {
    if (this.byId[id]) throw new Error(`alarm '${id}' is already defined`);
    if (def.description.length > 1024) {
      throw new Error(`the description of alarm '${id}' is ${def.description.length} characters (max 1024)`);
    }
    const alarm = new cloudwatch.Alarm(this.scope, id, {
      alarmName: `${this.namePrefix}-${id}`,
      alarmDescription: def.description,
      metric: def.metric,
      threshold: def.threshold,
      comparisonOperator: def.comparisonOperator,
      evaluationPeriods: def.evaluationPeriods ?? 1,
      datapointsToAlarm: def.datapointsToAlarm,
      treatMissingData: def.treatMissingData,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.byId[id] = alarm;
    this.list.push(alarm);
    return alarm;
  }
}

/** A share (0..1) as the alarm texts write it: `0.05` is `5%`, `0.125` is `12.5%`. */
export function pct(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}
