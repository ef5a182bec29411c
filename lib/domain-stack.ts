import { CfnOutput, type Duration, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { DatasetContract } from '../core/contracts/dataset-contract';
import { DatasetTables } from './dataset-tables';
import { DomainProducts, type DomainProductsProps } from './domain-products';
import { DomainMonitoring } from './monitoring/domain-monitoring';

/** Properties of {@link DomainStack}. */
export interface DomainStackProps extends StackProps {
  /** The domain (the `domain` of its contracts). */
  readonly domain: string;
  /** The domain's validated contracts (at least one). */
  readonly contracts: DatasetContract[];
  /** The deployment's name (`MedallionConfig.environment`), for tags. */
  readonly environment: string;
  /** The platform's Glue database, where the domain's tables are declared. */
  readonly databaseName: string;
  /** The platform's silver bucket (the tables' locations). */
  readonly silverBucket: s3.IBucket;
  /** The platform's alarm topic: the datasets' alarms reach the platform's subscribers. */
  readonly alarmTopic: sns.ITopic;
  /** Prefix of the alarm names: the platform stack's name, so every alarm of the lake is named alike. */
  readonly alarmNamePrefix: string;
  /**
   * How long silver keeps the arrivals (said in the tables' descriptions).
   * @default - kept
   */
  readonly arrivalsExpiration?: Duration;
  /**
   * The domain's data products (topics, reader role; SLO alarms in a nested stack per product, budgets
   * dashboards in one more): every contract and gold model of the lake (a domain may read what another
   * shares with it) and the platform's lake.
   * @default - none of them
   */
  readonly products?: Pick<DomainProductsProps, 'contracts' | 'models' | 'lake' | 'removalPolicy'>;
}

/**
 * What one domain owns, deployed apart from the platform and from other domains: its datasets' arrivals
 * tables in the lake's Glue database, their alarms (quarantine ratio, rejected files) and the domain's
 * dashboard, and its data products (`DomainProducts`). A domain with many datasets never pushes the
 * platform's template past CloudFormation's limits, and a change to one domain's datasets updates that
 * domain's stack (and the platform's functions, which bundle the contracts). Its products' SLO alarms,
 * ~8 resources per SLO, are in nested stacks (one per product), so they do not count against this
 * stack's 500 resources and 1 MB either.
 */
export class DomainStack extends Stack {
  public readonly domain: string;
  public readonly contracts: DatasetContract[];
  public readonly tables: DatasetTables;
  public readonly monitoring: DomainMonitoring;
  public readonly products?: DomainProducts;

  constructor(scope: Construct, id: string, props: DomainStackProps) {
    super(scope, id, {
      description: `medallion (${props.environment}): the ${props.domain} domain's tables, alarms and dashboard`,
      ...props,
    });
    if (props.contracts.length === 0) throw new Error(`domain '${props.domain}' has no contract`);
    const foreign = props.contracts.find((c) => c.domain !== props.domain);
    if (foreign) throw new Error(`contract ${foreign.id} is not of domain '${props.domain}'`);
    this.domain = props.domain;
    this.contracts = props.contracts;
    Tags.of(this).add('pipeline', 'medallion');
    Tags.of(this).add('environment', props.environment);
    Tags.of(this).add('domain', props.domain);

    // Ids naming the domain: logical ids unique across the stacks (the local cloud merges their templates).
    this.tables = new DatasetTables(this, `Tables-${props.domain}`, {
      databaseName: props.databaseName,
      contracts: props.contracts,
      silverBucket: props.silverBucket,
      arrivalsExpiration: props.arrivalsExpiration,
    });
    Tags.of(this.tables).add('layer', 'silver');
    this.monitoring = new DomainMonitoring(this, `Monitoring-${props.domain}`, {
      domain: props.domain,
      contracts: props.contracts,
      alarmTopic: props.alarmTopic,
      alarmNamePrefix: props.alarmNamePrefix,
      dashboardName: this.stackName,
    });
    Tags.of(this.monitoring).add('layer', 'ops');

    if (props.products) {
      this.products = new DomainProducts(this, `Products-${props.domain}`, {
        ...props.products,
        domain: props.domain,
        namePrefix: props.alarmNamePrefix,
        platformTopic: props.alarmTopic,
      });
      const roles = [...this.products.readers.roles.values()];
      if (roles.length > 0) {
        new CfnOutput(this, 'ReaderRoleArn', {
          description: "The domain's reader role (its silver and gold, and what other domains share with it)",
          value: roles[0].roleArn,
        });
      }
    }

    new CfnOutput(this, 'DashboardNames', {
      description: "The domain's dashboards (its datasets' alarms and graphs)",
      value: this.monitoring.dashboards.map((d) => d.dashboardName).join(' '),
    });
  }
}

/** The stack name of a domain: `<platform stack>-<domain>`, '_' as '-' (CloudFormation allows no '_'). */
export function domainStackName(platformStackName: string, domain: string): string {
  return `${platformStackName}-${domain.replace(/_/g, '-')}`;
}
