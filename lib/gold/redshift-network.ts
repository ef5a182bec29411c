/**
 * The private network of the Redshift Serverless gold workgroup: a VPC of isolated subnets with flow logs,
 * the endpoints enhanced VPC routing needs, and the workgroup's security group.
 *
 * Sources (AWS documentation):
 * - "Considerations when using Amazon Redshift Serverless" (redshift/latest/mgmt/serverless-usage-considerations):
 *   a workgroup with enhanced VPC routing needs subnets in three Availability Zones.
 * - "Redshift Spectrum and enhanced VPC routing" (redshift/latest/mgmt/spectrum-enhanced-vpc): Serverless
 *   routes Spectrum's S3 reads through the VPC, and reaches the Glue Data Catalog through an internet or NAT
 *   gateway or "an interface VPC endpoint for AWS Glue". "Enhanced VPC routing in Amazon Redshift" and
 *   "Working with VPC endpoints": COPY/UNLOAD reach same-Region S3 through an S3 gateway endpoint. No STS or
 *   KMS endpoint: Redshift assumes the role outside the VPC, and S3 itself calls KMS for SSE-KMS objects.
 */
import { Annotations, Aws, Fn, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { type LogSettings, logGroupProps } from '../log-settings';
import type { AwsCall } from './redshift-custom-resources';

/** Redshift's port (the workgroup's default). */
const REDSHIFT_PORT = 5439;

/** The network's settings a user of the gold construct may change. */
export interface RedshiftNetworkSettings {
  /**
   * The VPC's address range (a literal, so the security group rules name it and cdk-nag can check them).
   * @default '10.0.0.0/16'
   */
  readonly vpcCidr?: string;
  /**
   * Availability Zones of the VPC (one isolated subnet each). Redshift Serverless with enhanced VPC routing
   * needs three; fewer is refused at deploy time, so synth warns.
   * @default 3
   */
  readonly maxAzs?: number;
}

/** Properties of {@link createRedshiftNetwork}; its log settings are those of the VPC flow log. */
export interface RedshiftNetworkProps extends RedshiftNetworkSettings, LogSettings {
  /** Makes the custom resource that looks up the Region's S3 prefix list (the S3 egress rule's peer). */
  readonly awsCall: AwsCall;
}

/** What {@link createRedshiftNetwork} made. */
export interface RedshiftNetwork {
  /** Isolated subnets only: no NAT gateway, no internet gateway. */
  readonly vpc: ec2.Vpc;
  /** The workgroup's: Redshift's port from inside the VPC only; HTTPS out to S3 and the VPC endpoints. */
  readonly securityGroup: ec2.SecurityGroup;
  /** The Glue interface endpoint's: HTTPS from inside the VPC only. */
  readonly endpointSecurityGroup: ec2.SecurityGroup;
}

/**
 * Creates the network directly in `scope` (ids `FlowLogs`, `Vpc`, `EndpointSecurityGroup`, `SecurityGroup`,
 * `S3PrefixList`), so its resources keep the logical ids they had inside the gold construct. Warns on
 * `scope` when the VPC gets fewer than three subnets.
 */
export function createRedshiftNetwork(scope: Construct, props: RedshiftNetworkProps): RedshiftNetwork {
  // Isolated subnets only, so no NAT gateway and no internet gateway.
  const vpcCidr = props.vpcCidr ?? '10.0.0.0/16';
  const vpc = new ec2.Vpc(scope, 'Vpc', {
    ipAddresses: ec2.IpAddresses.cidr(vpcCidr),
    // An environment-agnostic stack knows two AZs only (CDK's default there): name three as the deploy-time
    // lookup Fn::GetAZs of the Region, since Redshift needs three.
    ...(Token.isUnresolved(Stack.of(scope).region) && (props.maxAzs ?? 3) === 3
      ? { availabilityZones: [0, 1, 2].map((i) => Fn.select(i, Fn.getAzs())) }
      : { maxAzs: props.maxAzs ?? 3 }),
    natGateways: 0,
    // No cidrMask: the range is split evenly, leaving room for the IPs a workgroup takes as it scales.
    subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    flowLogs: {
      all: {
        destination: ec2.FlowLogDestination.toCloudWatchLogs(
          new logs.LogGroup(scope, 'FlowLogs', logGroupProps(props)),
        ),
        trafficType: ec2.FlowLogTrafficType.ALL,
      },
    },
  });
  if (vpc.isolatedSubnets.length < 3) {
    Annotations.of(scope).addWarningV2(
      'medallion:redshift-three-azs',
      `the workgroup gets ${vpc.isolatedSubnets.length} subnets; with enhanced VPC routing Redshift Serverless ` +
        'needs three in three Availability Zones (give the stack an account and region, and maxAzs >= 3)',
    );
  }
  const isolated = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [isolated] });
  const endpointSecurityGroup = new ec2.SecurityGroup(scope, 'EndpointSecurityGroup', {
    vpc,
    description: 'Glue interface endpoint: HTTPS from inside the VPC only',
    allowAllOutbound: false,
  });
  endpointSecurityGroup.addIngressRule(ec2.Peer.ipv4(vpcCidr), ec2.Port.tcp(443), 'HTTPS from the VPC');
  vpc.addInterfaceEndpoint('Glue', {
    service: ec2.InterfaceVpcEndpointAwsService.GLUE,
    subnets: isolated,
    securityGroups: [endpointSecurityGroup],
    privateDnsEnabled: true,
    open: false,
  });

  const securityGroup = new ec2.SecurityGroup(scope, 'SecurityGroup', {
    vpc,
    description:
      'Redshift Serverless gold workgroup: Redshift port from the VPC; HTTPS to S3 and the endpoints',
    allowAllOutbound: false,
  });
  securityGroup.addIngressRule(
    ec2.Peer.ipv4(vpcCidr),
    ec2.Port.tcp(REDSHIFT_PORT),
    'Redshift clients inside the VPC',
  );
  securityGroup.addEgressRule(ec2.Peer.ipv4(vpcCidr), ec2.Port.tcp(443), 'Interface endpoints (Glue)');
  securityGroup.addEgressRule(
    ec2.Peer.prefixList(s3PrefixListId(props.awsCall)),
    ec2.Port.tcp(443),
    'S3 through the gateway endpoint',
  );
  return { vpc, securityGroup, endpointSecurityGroup };
}

/** The ID of the Region's AWS-managed S3 prefix list (`com.amazonaws.<region>.s3`): the S3 egress rule. */
function s3PrefixListId(awsCall: AwsCall): string {
  const name = `com.amazonaws.${Aws.REGION}.s3`;
  const lookup: cr.AwsSdkCall = {
    service: 'ec2',
    action: 'DescribeManagedPrefixLists',
    parameters: { Filters: [{ Name: 'prefix-list-name', Values: [name] }] },
    physicalResourceId: cr.PhysicalResourceId.of(name),
    outputPaths: ['PrefixLists.0.PrefixListId'],
  };
  const call = awsCall(
    'S3PrefixList',
    {
      onCreate: lookup,
      onUpdate: lookup,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['ec2:DescribeManagedPrefixLists'], resources: ['*'] }),
      ]),
    },
    'ec2:DescribeManagedPrefixLists supports no resource-level permissions (Service Authorization ' +
      "Reference): the resource must be *. It only reads the ID of the Region's S3 prefix list.",
  );
  return call.getResponseField('PrefixLists.0.PrefixListId');
}
