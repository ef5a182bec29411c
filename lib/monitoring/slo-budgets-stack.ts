/**
 * A domain's error-budget dashboards (the SLO alerts' status, then each product's budget left and
 * burn-down, `slo-widgets.ts`) in a nested stack of the domain's stack. The widgets cost ~5 KB of template
 * per product with three SLOs (~150 KB for 30 products), which would otherwise grow the domain's stack;
 * here the domain's stack pays one resource for all of them.
 *
 * The status widget names the alerts by ARN, built from their fixed names, instead of referencing them:
 * a reference to an alarm of a product's nested stack would cost an output there and a parameter here
 * (200 at most: the alerts of 33 products with three SLOs). The nested stack depends on the products'
 * stacks, so CloudFormation creates the alarms before the dashboard that shows them.
 */
import { type CfnResource, NestedStack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { nestedStackLogicalId } from './nested-stack-id';
import type { Slo } from './slo-definitions';
import { sloWidgets } from './slo-widgets';

/** CloudWatch takes at most 100 widgets a dashboard. */
const WIDGETS_PER_DASHBOARD = 99;

/** Properties of {@link SloBudgetsStack}. */
export interface SloBudgetsStackProps {
  /** The domain (in the dashboards' names). */
  readonly domain: string;
  /** The dashboards are `<prefix>-<domain>-slos`, then `-slos-2`, ... (one per 99 widgets). */
  readonly dashboardNamePrefix: string;
  /** The domain's SLOs, a row of widgets per product. */
  readonly slos: readonly Slo[];
  /** The alerts whose status the dashboards show first (the products' composite alarms). */
  readonly alerts: readonly cloudwatch.CompositeAlarm[];
  /**
   * Nested stacks to create first (the products' SLO stacks, whose alerts the dashboards show).
   * @default - none
   */
  readonly after?: readonly NestedStack[];
}

/** See the module comment. */
export class SloBudgetsStack extends NestedStack {
  /** The dashboards' widgets: the alerts' status, then the budget left per product. */
  public readonly widgets: readonly cloudwatch.IWidget[];
  /** One page per 99 widgets. */
  public readonly dashboards: readonly cloudwatch.Dashboard[];

  constructor(scope: Construct, id: string, props: SloBudgetsStackProps) {
    super(scope, id, {
      description: `medallion: the error budgets of the ${props.domain} domain's products`,
    });
    const { domain } = props;
    const resource = this.nestedStackResource as CfnResource;
    resource.overrideLogicalId(nestedStackLogicalId('SloBudgets', domain, `budgets/${domain}`));
    for (const stack of props.after ?? [])
      resource.addResourceDependency(stack.nestedStackResource as CfnResource);
    const alerts = props.alerts.map((alert) => {
      // The name the alarm was given (a literal), not `alarmName` (a reference to its stack's resource).
      const name = (alert.node.defaultChild as cloudwatch.CfnCompositeAlarm).alarmName;
      if (typeof name !== 'string') throw new Error(`${alert.node.path} has no fixed name`);
      return cloudwatch.CompositeAlarm.fromCompositeAlarmName(this, `Alert-${name}`, name);
    });
    this.widgets = sloWidgets(props.slos, { alarms: alerts });
    const dashboards: cloudwatch.Dashboard[] = [];
    const base = `${props.dashboardNamePrefix}-${domain.replace(/_/g, '-')}-slos`;
    for (let page = 0; page * WIDGETS_PER_DASHBOARD < this.widgets.length; page++) {
      // Ids naming the domain: logical ids unique across the stacks (the local cloud merges their templates).
      dashboards.push(
        new cloudwatch.Dashboard(this, `Budgets-${domain}-${page + 1}`, {
          dashboardName: page === 0 ? base : `${base}-${page + 1}`,
          widgets: [this.widgets.slice(page * WIDGETS_PER_DASHBOARD, (page + 1) * WIDGETS_PER_DASHBOARD)],
        }),
      );
    }
    this.dashboards = dashboards;
  }
}
