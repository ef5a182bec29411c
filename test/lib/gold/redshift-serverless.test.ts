/**
 * The Redshift Serverless gold construct synthesized on its own (a lake, a key): the encrypted namespace,
 * the private workgroup, the custom resources' shared role, tags, the external schema statement, the props
 * that override the defaults, and cdk-nag's AwsSolutions checks. Its parts have their own tests:
 * redshift-network, redshift-spectrum-role and redshift-usage-guardrails.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { RedshiftServerlessGoldProps } from '../../../lib/gold/redshift-serverless';
import { logicalId, roleStatements } from '../../support/cdk';
import { allow, build, getAtt, only, sdkCall, statementsOf } from '../../support/cdk-redshift-gold';

describe('RedshiftServerlessGold, defaults', () => {
  const { stack, storage, gold, t, report } = build();
  const ref = (token: unknown) => stack.resolve(token);
  const subnets = Object.keys(t.findResources('AWS::EC2::Subnet')).map((id) => ({ Ref: id }));
  const workgroupSg = getAtt(t, 'AWS::EC2::SecurityGroup', 'RedshiftSecurityGroup', 'GroupId');

  test('the namespace: encrypted, Redshift-managed admin password under the key, three logs, the Spectrum role as default, retained', () => {
    const namespace = only(t, 'AWS::RedshiftServerless::Namespace', 'RedshiftNamespace');
    const key = ref(storage.key.keyArn);
    const role = ref(gold.spectrumRole.roleArn);
    expect(namespace.Properties).toMatchObject({
      IamRoles: [role],
      DefaultIamRoleArn: role,
      NamespaceName: 'lake-gold',
      DbName: 'dev',
      AdminUsername: 'admin',
      ManageAdminPassword: true,
      KmsKeyId: key,
      AdminPasswordSecretKmsKeyId: key,
      LogExports: ['userlog', 'connectionlog', 'useractivitylog'],
    });
    expect(namespace.Properties.AdminUserPassword).toBeUndefined();
    expect(namespace.DeletionPolicy).toBe('Retain');
    expect(namespace.UpdateReplacePolicy).toBe('Retain');
  });

  test('the workgroup: not public, enhanced VPC routing, the isolated subnets and its group, 4 base RPUs', () => {
    const workgroup = only(t, 'AWS::RedshiftServerless::Workgroup', 'RedshiftWorkgroup').Properties;
    expect(workgroup).toEqual({
      WorkgroupName: 'lake-gold',
      NamespaceName: getAtt(t, 'AWS::RedshiftServerless::Namespace', 'Redshift', 'Namespace.NamespaceName'),
      BaseCapacity: 4,
      PubliclyAccessible: false,
      EnhancedVpcRouting: true,
      SubnetIds: subnets,
      SecurityGroupIds: [workgroupSg],
      ConfigParameters: [
        { ParameterKey: 'require_ssl', ParameterValue: 'true' },
        { ParameterKey: 'enable_user_activity_logging', ParameterValue: 'true' },
      ],
      Tags: [
        { Key: 'layer', Value: 'gold' },
        { Key: 'pipeline', Value: 'medallion' },
      ],
    });
    expect(gold.workgroupName).toBe('lake-gold');
  });

  test('the custom resources may manage usage limits and read prefix lists (on *: those APIs take no resource)', () => {
    const usageLimitActions = ['Create', 'Delete', 'Update'].map((a) => `redshift-serverless:${a}UsageLimit`);
    expect(statementsOf(t, 'RedshiftUsageLimitdailyCustomResourcePolicy')).toEqual([
      allow(usageLimitActions, ['*']),
    ]);
    expect(statementsOf(t, 'RedshiftS3PrefixListCustomResourcePolicy')).toEqual([
      allow(['ec2:DescribeManagedPrefixLists'], ['*']),
    ]);
    // Their function's own role: no managed policy, and writes its own log group only.
    const role = only(t, 'AWS::IAM::Role', 'RedshiftCustomResourceRole');
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const logGroup = getAtt(t, 'AWS::Logs::LogGroup', 'RedshiftCustomResourceLogs', 'Arn');
    expect(statementsOf(t, 'RedshiftCustomResourceRoleDefaultPolicy')).toEqual([
      allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [logGroup]),
    ]);
  });

  test('the Redshift resources carry the gold layer tag and the stack tags', () => {
    const tags = [
      { Key: 'layer', Value: 'gold' },
      { Key: 'pipeline', Value: 'medallion' },
    ];
    for (const type of ['AWS::RedshiftServerless::Namespace', 'AWS::EC2::VPC', 'AWS::CloudWatch::Alarm']) {
      t.hasResourceProperties(type, { Tags: Match.arrayWith(tags) });
    }
  });

  const logicalIdOf = (prefix: string) => logicalId(t, 'AWS::RedshiftServerless::Namespace', prefix);
  test('the admin secret ARN comes from GetNamespace (CloudFormation returns none), scoped to the namespace', () => {
    const call = {
      service: 'redshift-serverless',
      action: 'GetNamespace',
      parameters: { namespaceName: `<${logicalIdOf('RedshiftNamespace')}.Namespace.NamespaceName>` },
      physicalResourceId: { id: 'lake-gold' },
      outputPaths: ['namespace.adminPasswordSecretArn'],
    };
    expect(sdkCall(t, 'RedshiftAdminSecret', 'Create')).toEqual(call);
    expect(sdkCall(t, 'RedshiftAdminSecret', 'Update')).toEqual(call);
    expect(statementsOf(t, 'RedshiftAdminSecretCustomResourcePolicy')).toEqual([
      allow(
        ['redshift-serverless:GetNamespace'],
        [getAtt(t, 'AWS::RedshiftServerless::Namespace', 'RedshiftNamespace', 'Namespace.NamespaceArn')],
      ),
    ]);
    expect(ref(gold.adminSecretArn)).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^RedshiftAdminSecret/), 'namespace.adminPasswordSecretArn'],
    });
  });

  test('cdk-nag finds nothing unacknowledged, and acknowledges only the reviewed wildcards', () => {
    const r = report();
    expect(r.violations).toEqual([]);
    const suppressed = r.suppressedViolations ?? [];
    expect(suppressed.map((s) => s.ruleName.replace(/[0-9A-F]{8}\.Arn/, '.Arn')).sort()).toEqual(
      [
        'AwsSolutions-IAM5[Resource::*]', // usage limits
        'AwsSolutions-IAM5[Resource::*]', // prefix list lookup
        'AwsSolutions-IAM5[Resource::<StorageGold.Arn>/daily_sales/*]',
        'AwsSolutions-IAM5[Resource::<StorageSilver.Arn>/retail/customers/*]',
        'AwsSolutions-IAM5[Resource::<StorageSilver.Arn>/retail/orders/*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/medallion_dev/*]',
      ].sort(),
    );
    for (const s of suppressed) expect(s.reason.length).toBeGreaterThan(40);
  });
});

describe('RedshiftServerlessGold, props override the defaults', () => {
  const { stack, storage, t, topic, namespaceKey, report } = build({
    name: 'medallion-prod-gold',
    ownNamespaceKey: true,
    adminUsername: 'gold_admin',
    dbName: 'gold',
    vpcCidr: '10.42.0.0/16',
    baseCapacity: 32,
    maxCapacity: 128,
    usageLimitRpuHours: 200,
    usageLimitPeriod: 'weekly',
    usageLimitBreachAction: 'deactivate',
    costAlarmRpuHoursPerDay: 40,
    withAlarmTopic: true,
    removalPolicy: RemovalPolicy.DESTROY,
    logRetention: logs.RetentionDays.ONE_MONTH,
  });

  test('capacity, names, range, usage limit, alarm threshold and action, removal and log retention follow the props', () => {
    const workgroup = only(t, 'AWS::RedshiftServerless::Workgroup', 'Redshift').Properties;
    expect(workgroup).toMatchObject({
      WorkgroupName: 'medallion-prod-gold',
      BaseCapacity: 32,
      MaxCapacity: 128,
    });
    const namespace = only(t, 'AWS::RedshiftServerless::Namespace', 'Redshift');
    expect(namespace).toMatchObject({
      DeletionPolicy: 'Delete',
      Properties: { AdminUsername: 'gold_admin', DbName: 'gold' },
    });
    t.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.42.0.0/16' });
    const limit = sdkCall(t, 'RedshiftUsageLimitweekly', 'Create').parameters;
    expect(limit).toMatchObject({ amount: 200, period: 'weekly', breachAction: 'deactivate' });
    const alarm = only(t, 'AWS::CloudWatch::Alarm', 'Redshift').Properties;
    const topicArn = stack.resolve(topic?.topicArn);
    expect(alarm).toMatchObject({ Threshold: 40 * 3600, AlarmActions: [topicArn], OKActions: [topicArn] });
    expect(only(t, 'AWS::Logs::LogGroup', 'RedshiftFlowLogs').Properties.RetentionInDays).toBe(30);
    expect(report().violations).toEqual([]);
  });

  test('a namespace key of its own encrypts the namespace and the admin secret; the lake key stays for S3', () => {
    const own = stack.resolve(namespaceKey?.keyArn);
    const namespace = only(t, 'AWS::RedshiftServerless::Namespace', 'Redshift').Properties;
    expect(namespace).toMatchObject({ KmsKeyId: own, AdminPasswordSecretKmsKeyId: own });
    const keyUse = roleStatements(t, 'RedshiftSpectrumRole').find((s) => s.Action.includes('kms:Decrypt'));
    expect(keyUse?.Resource).toEqual(stack.resolve(storage.key.keyArn));
  });
});

describe('RedshiftServerlessGold refuses what Redshift Serverless would refuse', () => {
  test.each([
    [{ baseCapacity: 12 }, 'baseCapacity 12 must be 4, a multiple of 8'],
    [{ baseCapacity: 16, maxCapacity: 8 }, 'maxCapacity 8 is below baseCapacity 16'],
    [{ name: 'Gold_Warehouse' }, "name 'Gold_Warehouse' must be 3 to 64"],
  ] as [Partial<RedshiftServerlessGoldProps>, string][])('%j fails synth', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
