/** A small stack with the pipeline's alarm set (its action: a plain topic), for the alarm-kind tests. */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { PipelineAlarms } from '../../lib/monitoring/alarms/pipeline-alarms';
import { testContext } from './cdk';

export function alarmsAlone(): { stack: Stack; alarms: PipelineAlarms; template: () => Template } {
  const app = new App({ context: testContext() });
  const stack = new Stack(app, 'Small');
  const topic = new sns.Topic(stack, 'Topic', { enforceSSL: true });
  const alarms = new PipelineAlarms(stack, 'Small', new cloudwatchActions.SnsAction(topic));
  return { stack, alarms, template: () => Template.fromStack(stack) };
}

/** The properties of the template's alarm named `Small-<id>`. */
export function alarmNamed(template: Template, id: string): Record<string, unknown> {
  const found = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
    (a) => a.Properties.AlarmName === `Small-${id}`,
  );
  if (found.length !== 1) throw new Error(`expected one alarm named Small-${id}, found ${found.length}`);
  return found[0].Properties;
}
