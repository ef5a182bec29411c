/**
 * Redshift Serverless as a second gold engine (issue 14): the warehouse (namespace and workgroup) and what
 * it is made of: its private network (redshift-network.ts), its Spectrum role (redshift-spectrum-role.ts)
 * and its usage guardrails (redshift-usage-guardrails.ts). The workflow that runs models on it (Data API +
 * UNLOAD) comes later; this is only the infrastructure.
 *
 * Sources (AWS documentation) behind the choices below:
 * - "Compute capacity for Amazon Redshift Serverless" (serverless-capacity): base capacity 4 RPUs, or 8 to
 *   512 in steps of 8 (up to 1024 in steps of 32 in some Regions).
 * - The admin secret's ARN is not a CloudFormation return value of AWS::RedshiftServerless::Namespace
 *   (aws-cdk issue 29930, cloudformation-coverage-roadmap 2021), so it is not exposed here.
 */
import { RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as redshiftserverless from 'aws-cdk-lib/aws-redshiftserverless';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { LogSettings } from '../log-settings';
import { customResourceCalls } from './redshift-custom-resources';
import { createRedshiftNetwork, type RedshiftNetworkSettings } from './redshift-network';
import {
  createSpectrumRole,
  type RedshiftSpectrumRoleProps,
  spectrumRoleProblems,
} from './redshift-spectrum-role';
import {
  createUsageGuardrails,
  type RedshiftUsageGuardrailSettings,
  usageGuardrailProblems,
} from './redshift-usage-guardrails';

/**
 * Properties of {@link RedshiftServerlessGold}: what the Spectrum role may read and write, the network's
 * and the guardrails' settings, and the warehouse's own. Its log settings are those of the VPC flow log and
 * of the custom resources' function.
 */
export interface RedshiftServerlessGoldProps
  extends RedshiftSpectrumRoleProps,
    RedshiftNetworkSettings,
    RedshiftUsageGuardrailSettings,
    LogSettings {
  /**
   * Encrypts the namespace's data and the admin password secret Redshift manages in Secrets Manager.
   * @default - the lake key (`key`)
   */
  readonly namespaceKey?: kms.IKey;
  /**
   * Name of the namespace and of the workgroup (lower-case letters, digits and '-', 3 to 64 characters).
   * @default - `<stack name, lower-cased>-gold`
   */
  readonly name?: string;
  /**
   * The admin user; its password is generated and rotated by Redshift in Secrets Manager.
   * @default 'admin'
   */
  readonly adminUsername?: string;
  /**
   * The warehouse database created in the namespace.
   * @default 'dev' (Redshift's default)
   */
  readonly dbName?: string;
  /**
   * Base capacity of the workgroup, in RPUs: 4, or a multiple of 8 from 8 to 512 (of 32 up to 1024).
   * @default 4 - the smallest Redshift Serverless allows
   */
  readonly baseCapacity?: number;
  /**
   * The most RPUs the workgroup may scale to.
   * @default - Redshift's default (no limit set)
   */
  readonly maxCapacity?: number;
  /**
   * What happens to the namespace (the warehouse's data) when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const NAME = /^[a-z0-9-]{3,64}$/;

/**
 * A Redshift Serverless namespace and workgroup for gold models: private (isolated subnets, no NAT, no
 * internet gateway, not publicly accessible), with enhanced VPC routing through an S3 gateway endpoint and a
 * Glue interface endpoint, KMS-encrypted with a Redshift-managed admin password, logging users,
 * connections and user activity, and a Spectrum role that reads only the given catalog database and silver
 * prefixes and writes only the given gold prefixes. Compute is capped by a usage limit and watched by a
 * daily cost alarm. The namespace is retained with the stack by default.
 */
export class RedshiftServerlessGold extends Construct {
  public readonly vpc: ec2.Vpc;
  /** The workgroup's: Redshift's port from inside the VPC only; HTTPS out to S3 and the VPC endpoints. */
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly namespace: redshiftserverless.CfnNamespace;
  public readonly workgroup: redshiftserverless.CfnWorkgroup;
  /** Attached to the namespace (and its default): what Spectrum, COPY and UNLOAD run as. */
  public readonly spectrumRole: iam.Role;
  /** RPU-hours per day over the threshold. */
  public readonly costAlarm: cloudwatch.Alarm;
  /** Also the namespace's name. */
  public readonly workgroupName: string;
  /** The warehouse database (what Data API calls name). */
  public readonly dbName: string;
  /** The one Glue database the Spectrum role may read. */
  public readonly catalogDatabase: string;
  /**
   * The ARN of the admin credentials' secret Redshift manages (what Data API callers authenticate with),
   * read from GetNamespace at deploy time: CloudFormation returns no such attribute.
   */
  public readonly adminSecretArn: string;
  /** Encrypts the namespace and its admin secret (a Data API caller decrypts the secret with it). */
  public readonly namespaceKey: kms.IKey;

  constructor(scope: Construct, id: string, props: RedshiftServerlessGoldProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const name = props.name ?? `${stack.stackName.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-gold`;
    const baseCapacity = props.baseCapacity ?? 4;
    validate(props, name, baseCapacity);
    this.workgroupName = name;
    this.dbName = props.dbName ?? 'dev';
    this.catalogDatabase = props.database;
    Tags.of(this).add('layer', 'gold');

    // The parts are created in this construct's scope, so their logical ids are the construct's own.
    const awsCall = customResourceCalls(this, props);
    const network = createRedshiftNetwork(this, { ...props, awsCall });
    this.vpc = network.vpc;
    this.securityGroup = network.securityGroup;
    this.spectrumRole = createSpectrumRole(this, props);

    const namespaceKey = props.namespaceKey ?? props.key;
    this.namespaceKey = namespaceKey;
    this.namespace = new redshiftserverless.CfnNamespace(this, 'Namespace', {
      namespaceName: name,
      dbName: this.dbName,
      adminUsername: props.adminUsername ?? 'admin',
      manageAdminPassword: true,
      adminPasswordSecretKmsKeyId: namespaceKey.keyArn,
      kmsKeyId: namespaceKey.keyArn,
      iamRoles: [this.spectrumRole.roleArn],
      defaultIamRoleArn: this.spectrumRole.roleArn,
      logExports: ['userlog', 'connectionlog', 'useractivitylog'],
    });
    this.namespace.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);

    this.workgroup = new redshiftserverless.CfnWorkgroup(this, 'Workgroup', {
      workgroupName: name,
      // The attribute (not the name) so the workgroup waits for its namespace.
      namespaceName: this.namespace.attrNamespaceNamespaceName,
      baseCapacity,
      maxCapacity: props.maxCapacity,
      publiclyAccessible: false,
      enhancedVpcRouting: true,
      subnetIds: this.vpc.isolatedSubnets.map((s) => s.subnetId),
      securityGroupIds: [this.securityGroup.securityGroupId],
      configParameters: [
        { parameterKey: 'require_ssl', parameterValue: 'true' },
        // useractivitylog is empty unless this is on.
        { parameterKey: 'enable_user_activity_logging', parameterValue: 'true' },
      ],
    });

    this.costAlarm = createUsageGuardrails(this, { ...props, workgroup: this.workgroup, awsCall }).costAlarm;

    const getNamespace = {
      service: 'redshift-serverless',
      action: 'GetNamespace',
      parameters: { namespaceName: this.namespace.attrNamespaceNamespaceName },
      physicalResourceId: cr.PhysicalResourceId.of(name),
      outputPaths: ['namespace.adminPasswordSecretArn'],
    };
    const adminSecret = awsCall(
      'AdminSecret',
      {
        onCreate: getNamespace,
        onUpdate: getNamespace,
        policy: cr.AwsCustomResourcePolicy.fromStatements([
          new iam.PolicyStatement({
            actions: ['redshift-serverless:GetNamespace'],
            resources: [this.namespace.attrNamespaceNamespaceArn],
          }),
        ]),
      },
      'GetNamespace is scoped to the namespace; the shared execution role acknowledges the other calls.',
    );
    this.adminSecretArn = adminSecret.getResponseField('namespace.adminPasswordSecretArn');
  }
}

/** Fails synth on what Redshift Serverless would refuse at deploy time, every problem at once. */
function validate(props: RedshiftServerlessGoldProps, name: string, base: number): void {
  const problems: string[] = [];
  if (!NAME.test(name)) problems.push(`name '${name}' must be 3 to 64 lower-case letters, digits or '-'`);
  const validBase =
    base === 4 ||
    (base >= 8 && base <= 512 && base % 8 === 0) ||
    (base > 512 && base <= 1024 && base % 32 === 0);
  if (!validBase)
    problems.push(`baseCapacity ${base} must be 4, a multiple of 8 up to 512, or of 32 up to 1024`);
  if (props.maxCapacity !== undefined && props.maxCapacity < base) {
    problems.push(`maxCapacity ${props.maxCapacity} is below baseCapacity ${base}`);
  }
  problems.push(...usageGuardrailProblems(props), ...spectrumRoleProblems(props));
  if (problems.length > 0) throw new Error(`invalid RedshiftServerlessGold:\n  - ${problems.join('\n  - ')}`);
}
