import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { addDatasetAlarms } from './alarms/datasets';
import { PipelineAlarms } from './alarms/pipeline-alarms';
import { createDomainDashboards } from './domain-dashboard';

/** Properties of {@link DomainMonitoring}. */
export interface DomainMonitoringProps {
  readonly domain: string;
  /** The domain's contracts: two alarms each (quarantine ratio, files rejected) and a dashboard row. */
  readonly contracts: DatasetContract[];
  /** The platform's alarm topic: the datasets' alarms reach the same people as the platform's. */
  readonly alarmTopic: sns.ITopic;
  /** Prefix of the alarm names (`<prefix>-QuarantineRatio-<dataset>`): the platform's, so names stay unique. */
  readonly alarmNamePrefix: string;
  /** The domain dashboard's name (its first page's; the next are `<name>-2`...). */
  readonly dashboardName: string;
}

/**
 * The monitoring a domain owns: its datasets' alarms, against their contracts, sent to the platform's
 * alarm topic, and the domain's dashboard. The alarms are defined in `alarms/datasets.ts` and created
 * through `PipelineAlarms`, like every other alarm of the pipeline.
 */
export class DomainMonitoring extends Construct {
  /** Every alarm of the domain, by id (e.g. `QuarantineRatio-orders`). */
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  /** The domain's dashboards: pages of up to `DATASETS_PER_DASHBOARD` datasets. */
  public readonly dashboards: cloudwatch.Dashboard[];

  constructor(scope: Construct, id: string, props: DomainMonitoringProps) {
    super(scope, id);
    const alarms = new PipelineAlarms(
      this,
      props.alarmNamePrefix,
      new cloudwatchActions.SnsAction(props.alarmTopic),
    );
    for (const c of props.contracts) addDatasetAlarms(alarms, c);
    this.alarms = alarms.byId;
    this.dashboards = createDomainDashboards(this, {
      dashboardName: props.dashboardName,
      domain: props.domain,
      contracts: props.contracts,
      alarms,
    });
  }
}
