/**
 * The reconciler as `cdk synth` builds it (default configuration, sample contracts): its schedule, the
 * invoke permission EventBridge needs, exactly the access its re-drives need, and the `Stranded` alarm.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { createMedallionApp } from '../../lib/medallion-app';
import { asArray, logicalId, roleStatements, testContext } from '../support/cdk';

const { stack } = createMedallionApp({
  context: testContext({ medallion: { account: '111111111111', region: 'eu-west-1' } }),
});
const t = Template.fromStack(stack);
const fnId = (prefix: string) => logicalId(t, 'AWS::Lambda::Function', prefix);
const reconciler = fnId('ReconcilerFunction');
const statements = roleStatements(t, 'ReconcilerFunctionRole');
const on = (action: string) =>
  statements.filter((s) => asArray(s.Action).includes(action)).flatMap((s) => asArray(s.Resource));

describe('Reconciler', () => {
  test('runs every 15 minutes from an EventBridge rule, which alone may invoke it', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [reconciler, 'Arn'] } })],
    });
    // EventBridge -> Lambda needs the function's resource policy to name the rule (AWS's documented way).
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [reconciler, 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [logicalId(t, 'AWS::Events::Rule', 'ReconcilerSchedule'), 'Arn'] },
    });
  });

  test('stranded after the retry windows plus 15 minutes: 6 h 15 for uploads, 3 x 90 min + 15 for bronze', () => {
    const env = t.findResources('AWS::Lambda::Function')[reconciler].Properties.Environment.Variables;
    expect(env.MEDALLION_STRANDED_LANDING_AFTER_MINUTES).toBe('375');
    expect(env.MEDALLION_STRANDED_BRONZE_AFTER_MINUTES).toBe('285');
    expect(env.MEDALLION_RECONCILE_LOOKBACK_DAYS).toBe('3');
    expect(env.MEDALLION_TRANSFORM_QUEUE_URL).toEqual({
      Ref: logicalId(t, 'AWS::SQS::Queue', 'BronzeToSilverTransformQueue'),
    });
  });

  test('re-drives only through the landing function (unqualified) and the transform queue', () => {
    expect(on('lambda:InvokeFunction')).toEqual([
      { 'Fn::GetAtt': [fnId('BronzeToSilverLandingFunction'), 'Arn'] },
    ]);
    expect(on('sqs:SendMessage')).toEqual([
      { 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', 'BronzeToSilverTransformQueue'), 'Arn'] },
    ]);
    // No write or delete anywhere in the lake: it only lists and reads.
    const s3Actions = statements.flatMap((s) => asArray(s.Action)).filter((a) => a.startsWith('s3:'));
    expect([...new Set(s3Actions)].sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
    const reads = on('s3:GetObject').map((r) => JSON.stringify(r));
    expect(reads).toHaveLength(2);
    expect(reads).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/Silver.*\/_manifests\/\*/),
        expect.stringMatching(/Quarantine.*\/failed\/\*/),
      ]),
    );
  });

  test('the Stranded alarm fires on any stranded object, or when no run reported for 30 minutes', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Medallion-dev-Stranded',
      MetricName: 'Stranded',
      Namespace: 'Medallion',
      Statistic: 'Maximum',
      Period: 1800,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^MonitoringAlarmTopic') }],
    });
  });
});
