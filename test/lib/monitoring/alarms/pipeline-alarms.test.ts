/** The one way alarms are made: names, actions and checks, over the composed stack's alarms and alone. */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { type AlarmDefinition, PipelineAlarms, pct } from '../../../../lib/monitoring/alarms/pipeline-alarms';
import { logicalId, testContext } from '../../../support/cdk';
import { synthesizeComposedStack } from '../../../support/cdk-composed-stack';

const { monitoring, topicId, alarmResources } = synthesizeComposedStack();

describe('the alarms of the composed stack', () => {
  test('every alarm sends ALARM and OK to the topic and says what it means and what to do', () => {
    const all = Object.values(alarmResources).map((a) => a.Properties);
    expect(all.length).toBe(Object.keys(monitoring.alarms).length);
    for (const a of all) {
      expect(a.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(a.OKActions).toEqual([{ Ref: topicId }]);
      expect(a.AlarmDescription.length).toBeGreaterThan(150);
      expect(a.AlarmDescription.length).toBeLessThanOrEqual(1024);
      expect(a.AlarmDescription).toMatch(/What to do: /);
    }
  });
});

describe('PipelineAlarms', () => {
  function build() {
    const app = new App({ context: testContext() });
    const stack = new Stack(app, 'Small');
    const parent = new Construct(stack, 'Monitoring');
    const topic = new sns.Topic(stack, 'Topic', { enforceSSL: true });
    const alarms = new PipelineAlarms(parent, 'prefix', new cloudwatchActions.SnsAction(topic));
    return { stack, parent, alarms, template: () => Template.fromStack(stack) };
  }
  const definition: AlarmDefinition = {
    metric: new cloudwatch.Metric({ namespace: 'Medallion', metricName: 'Other' }),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    description: 'Something happened. What to do: look.',
  };

  test('an alarm is named <prefix>-<id>, lives under Alarms, and sends ALARM and OK to the action', () => {
    const { parent, alarms, template } = build();
    const alarm = alarms.add('Other', definition);
    expect(alarm.node.scope).toBe(parent.node.findChild('Alarms'));
    const topic = logicalId(template(), 'AWS::SNS::Topic', 'Topic');
    template().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'prefix-Other',
      AlarmDescription: definition.description,
      EvaluationPeriods: 1,
      AlarmActions: [{ Ref: topic }],
      OKActions: [{ Ref: topic }],
    });
  });

  test('every alarm is kept by id and in the order added', () => {
    const { alarms } = build();
    const b = alarms.add('B', definition);
    const a = alarms.add('A', { ...definition, evaluationPeriods: 3, datapointsToAlarm: 2 });
    expect(alarms.byId).toEqual({ B: b, A: a });
    expect(alarms.list).toEqual([b, a]);
  });

  test('refuses an id twice and a description over 1024 characters', () => {
    const { alarms } = build();
    alarms.add('Other', definition);
    expect(() => alarms.add('Other', definition)).toThrow("alarm 'Other' is already defined");
    expect(() => alarms.add('Long', { ...definition, description: 'x'.repeat(1025) })).toThrow(
      "the description of alarm 'Long' is 1025 characters (max 1024)",
    );
    expect(() => alarms.add('Longest', { ...definition, description: 'x'.repeat(1024) })).not.toThrow();
  });

  test.each([
    [0.05, '5%'],
    [0.8, '80%'],
    [0.125, '12.5%'],
    [0.3333, '33.3%'],
  ])('pct(%s) is %s', (share, text) => {
    expect(pct(share)).toBe(text);
  });
});
