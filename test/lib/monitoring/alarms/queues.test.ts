/** Dead-letter queue alarms: in the composed stack, then alone. */
import * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  addDeadLetterAlarm,
  DEAD_LETTER_RUNBOOKS,
  deadLetterAlarmId,
} from '../../../../lib/monitoring/alarms/queues';
import { logicalId } from '../../../support/cdk';
import { alarmNamed, alarmsAlone } from '../../../support/cdk-alarms-alone';
import { synthesizeComposedStack } from '../../../support/cdk-composed-stack';

const { t, alarm } = synthesizeComposedStack();

describe('the dead-letter alarms of the composed stack', () => {
  test.each([
    ['LandingFailures', 'BronzeToSilverLandingFailures'],
    ['TransformDeadLetters', 'BronzeToSilverTransformDeadLetters'],
  ])('DeadLetters-%s: any visible message, and the state kept while SQS publishes nothing', (name, queue) => {
    expect(alarm(`DeadLetters-${name}`)).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', queue), 'QueueName'] } },
      ],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'ignore',
    });
    expect(alarm(`DeadLetters-${name}`).AlarmDescription).toMatch(/What to do: each message is /);
  });
});

describe('addDeadLetterAlarm alone', () => {
  test('the id is DeadLetters-<queue name>', () => {
    expect(deadLetterAlarmId('Dlq')).toBe('DeadLetters-Dlq');
  });

  test("a queue's runbook ends the description; without one, a generic redrive instruction", () => {
    const { stack, alarms, template } = alarmsAlone();
    addDeadLetterAlarm(alarms, {
      name: 'Own',
      queue: new sqs.Queue(stack, 'Own'),
      layer: 'silver',
      runbook: 'Replay it.',
    });
    addDeadLetterAlarm(alarms, { name: 'Generic', queue: new sqs.Queue(stack, 'Generic'), layer: 'gold' });
    expect(alarmNamed(template(), 'DeadLetters-Own').AlarmDescription).toMatch(/What to do: Replay it\.$/);
    expect(alarmNamed(template(), 'DeadLetters-Generic').AlarmDescription).toMatch(
      /What to do: find the error in the consuming function's log, .*Start DLQ redrive\)\.$/,
    );
  });

  test('the runbooks of the pipeline say what a message is and how to replay it', () => {
    expect(DEAD_LETTER_RUNBOOKS.landingFailures).toMatch(/^each message is a Lambda on-failure record/);
    expect(DEAD_LETTER_RUNBOOKS.transformDeadLetters).toMatch(/Start DLQ redrive/);
  });
});
