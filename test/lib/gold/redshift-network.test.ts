/**
 * The Redshift Serverless gold construct's private network (createRedshiftNetwork): isolated subnets in
 * three AZs with flow logs, the S3 gateway and Glue interface endpoints enhanced VPC routing needs, the
 * security groups, and the warning when an environment-agnostic stack gets fewer than three AZs.
 */
import { Aws } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { build, getAtt, only, sdkCall } from '../../support/cdk-redshift-gold';

describe('the Redshift network, defaults', () => {
  const { stack, t } = build();
  const ref = (token: unknown) => stack.resolve(token);
  const subnets = Object.keys(t.findResources('AWS::EC2::Subnet')).map((id) => ({ Ref: id }));
  const workgroupSg = getAtt(t, 'AWS::EC2::SecurityGroup', 'RedshiftSecurityGroup', 'GroupId');
  const fromVpc = (port: number) => ({
    CidrIp: '10.0.0.0/16',
    IpProtocol: 'tcp',
    FromPort: port,
    ToPort: port,
    Description: Match.anyValue(),
  });

  test('the VPC has isolated subnets in three AZs only: no NAT gateway, no internet gateway, no route out', () => {
    t.resourceCountIs('AWS::EC2::VPC', 1);
    t.resourceCountIs('AWS::EC2::Subnet', 3);
    t.resourceCountIs('AWS::EC2::NatGateway', 0);
    t.resourceCountIs('AWS::EC2::InternetGateway', 0);
    t.resourceCountIs('AWS::EC2::VPCGatewayAttachment', 0);
    t.resourceCountIs('AWS::EC2::Route', 0);
    t.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
    t.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.0.0.0/16', EnableDnsSupport: true });
  });

  test('flow logs of all traffic go to a log group kept three months and retained', () => {
    t.hasResourceProperties('AWS::EC2::FlowLog', {
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
    });
    const flowLogs = only(t, 'AWS::Logs::LogGroup', 'RedshiftFlowLogs');
    expect(flowLogs.Properties.RetentionInDays).toBe(90);
    expect(flowLogs.DeletionPolicy).toBe('Retain');
  });

  test('an S3 gateway endpoint on every route table and a Glue interface endpoint, and nothing else', () => {
    t.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: ref(`com.amazonaws.${Aws.REGION}.s3`),
      RouteTableIds: Match.arrayWith([Match.objectLike({ Ref: Match.stringLikeRegexp('Isolated') })]),
    });
    expect(only(t, 'AWS::EC2::VPCEndpoint', 'RedshiftVpcS3').Properties.RouteTableIds).toHaveLength(3);
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Interface',
      ServiceName: 'com.amazonaws.eu-west-1.glue',
      PrivateDnsEnabled: true,
      SubnetIds: subnets,
    });
  });

  test('security groups: Redshift port and HTTPS from the VPC in; the workgroup sends HTTPS only to the VPC and S3', () => {
    const groups = t.findResources('AWS::EC2::SecurityGroup');
    const ingress = Object.values(groups).flatMap((g) => g.Properties.SecurityGroupIngress ?? []);
    // Nothing comes in from outside the VPC (and no ingress is added as a separate resource).
    expect(ingress.map((r: { CidrIp: string }) => r.CidrIp)).toEqual(['10.0.0.0/16', '10.0.0.0/16']);
    t.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Redshift Serverless gold workgroup'),
      SecurityGroupIngress: [fromVpc(5439)],
      SecurityGroupEgress: [fromVpc(443)],
    });
    t.resourceCountIs('AWS::EC2::SecurityGroupEgress', 1);
    t.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: workgroupSg,
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      DestinationPrefixListId: getAtt(t, 'Custom::AWS', 'RedshiftS3PrefixList', 'PrefixLists.0.PrefixListId'),
    });
    expect(sdkCall(t, 'RedshiftS3PrefixList', 'Create')).toMatchObject({
      action: 'DescribeManagedPrefixLists',
      parameters: { Filters: [{ Name: 'prefix-list-name', Values: ['com.amazonaws.<AWS::Region>.s3'] }] },
    });
  });
});

describe('the Redshift network warns about what Redshift Serverless would refuse', () => {
  test("an environment-agnostic stack gets three subnets in the Region's first three AZs, found at deploy time", () => {
    const { stack, t } = build({ envAgnostic: true });
    t.resourceCountIs('AWS::EC2::Subnet', 3);
    const azs = Object.values(t.findResources('AWS::EC2::Subnet')).map((s) => s.Properties.AvailabilityZone);
    expect(azs).toEqual([0, 1, 2].map((i) => ({ 'Fn::Select': [i, { 'Fn::GetAZs': '' }] })));
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  test('fewer than three AZs (maxAzs) warns: enhanced VPC routing needs three', () => {
    // Synthesis prints the warning too: kept out of the test output, and checked.
    const printed = jest.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const { stack, t } = build({ maxAzs: 2 });
      t.resourceCountIs('AWS::EC2::Subnet', 2);
      const warning = Match.stringLikeRegexp('needs three in three Availability Zones');
      Annotations.fromStack(stack).hasWarning('/Lake/Redshift', warning);
      expect(printed.mock.calls.flat().join('\n')).toContain('the workgroup gets 2 subnets');
    } finally {
      printed.mockRestore();
    }
  });
});
