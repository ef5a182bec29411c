import type { Environment } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { DatasetContract } from '../core/contracts/dataset-contract';
import { loadContracts } from '../core/contracts/load-contracts';
import { lakeDomains } from '../core/lake/layout';
import { contractsDirectory, type MedallionConfig } from './config';
import { DomainStack, domainStackName } from './domain-stack';
import { PlatformStack } from './platform-stack';

/** Properties of {@link MedallionPipeline}. */
export interface MedallionPipelineProps {
  /**
   * The validated configuration: `parseMedallionConfig({...})` turns a plain object (the shape of
   * `config/*.json`, checked by schema/medallion-config.schema.json) into one, with every default.
   */
  readonly config: MedallionConfig;
  /**
   * The platform stack's name; each domain's stack is `<name>-<domain>`.
   * @default `Medallion-<environment>`
   */
  readonly stackName?: string;
  /**
   * Account and region of every stack.
   * @default - `config.account`/`config.region`, else the CLI's (CDK_DEFAULT_ACCOUNT/REGION)
   */
  readonly env?: Environment;
}

/**
 * The whole medallion pipeline as one construct, for any CDK app: a platform stack (`PlatformStack`:
 * storage, keys, the ingest API, queues, shared functions, catalog database, gold workflow, alarm topic,
 * budget) and one stack per domain (`DomainStack`: its datasets' tables, alarms and dashboard), the data-mesh
 * split: domains own their data, the platform provides the shared infrastructure. The domains come from
 * the contracts in `config.contractsDir`. The stacks are created in `scope` (an App or a Stage) beside
 * this construct: `cdk deploy --all` deploys the platform first, then the domains.
 */
export class MedallionPipeline extends Construct {
  public readonly config: MedallionConfig;
  public readonly contracts: DatasetContract[];
  public readonly platform: PlatformStack;
  /** One stack per domain, by domain name (sorted). */
  public readonly domains: ReadonlyMap<string, DomainStack>;

  constructor(scope: Construct, id: string, props: MedallionPipelineProps) {
    super(scope, id);
    const { config } = props;
    this.config = config;
    this.contracts = loadContracts(contractsDirectory(config));
    const env = props.env ?? {
      account: config.account ?? process.env.CDK_DEFAULT_ACCOUNT,
      region: config.region ?? process.env.CDK_DEFAULT_REGION,
    };
    const platformName = props.stackName ?? `Medallion-${config.environment}`;
    const domainNames = lakeDomains(this.contracts);
    const dashboards = domainNames.map((d) => domainStackName(platformName, d));
    // The stacks are the scope's children (the app's, usually), not this construct's: their paths, and so
    // the names `cdk deploy` and `cdk list` show, are their stack names.
    this.platform = new PlatformStack(scope, platformName, {
      stackName: platformName,
      config,
      contracts: this.contracts,
      domainDashboards: dashboards,
      env,
    });
    const domains = new Map<string, DomainStack>();
    for (const domain of domainNames) {
      const name = domainStackName(platformName, domain);
      const stack = new DomainStack(scope, name, {
        stackName: name,
        env,
        domain,
        contracts: this.contracts.filter((c) => c.domain === domain),
        environment: config.environment,
        databaseName: this.platform.catalog.databaseName,
        silverBucket: this.platform.storage.silverBucket,
        alarmTopic: this.platform.monitoring.alarmTopic,
        alarmNamePrefix: this.platform.stackName,
        arrivalsExpiration: this.platform.arrivalsExpiration,
        products: {
          contracts: this.contracts,
          models: this.platform.goldModels?.models ?? [],
          lake: this.platform.lakeExports,
          removalPolicy: this.platform.removalPolicy,
        },
      });
      // The tables go into the platform's database (named, not referenced).
      stack.addStackDependency(this.platform);
      domains.set(domain, stack);
    }
    this.domains = domains;
  }

  /** Every stack of the pipeline: the platform first, then the domains. */
  public get stacks(): (PlatformStack | DomainStack)[] {
    return [this.platform, ...this.domains.values()];
  }
}
