/** The log settings of the constructs that own log groups: the app's defaults, and what overrides them. */
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { logGroupProps } from '../../lib/log-settings';
import { testContext } from '../support/cdk';

describe('logGroupProps', () => {
  test('by default, three months of retention and the log group is retained with the stack', () => {
    expect(logGroupProps({})).toEqual({
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  });

  test('the settings given win', () => {
    expect(
      logGroupProps({ logRetention: logs.RetentionDays.ONE_WEEK, logRemovalPolicy: RemovalPolicy.DESTROY }),
    ).toEqual({ retention: logs.RetentionDays.ONE_WEEK, removalPolicy: RemovalPolicy.DESTROY });
  });

  test('a log group built from them carries them', () => {
    const stack = new Stack(new App({ context: testContext() }), 'Logs');
    new logs.LogGroup(stack, 'Defaults', logGroupProps({}));
    new logs.LogGroup(stack, 'Short', logGroupProps({ logRetention: logs.RetentionDays.ONE_DAY }));
    const t = Template.fromStack(stack);
    t.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 90 }, DeletionPolicy: 'Retain' });
    t.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 1 }, DeletionPolicy: 'Retain' });
  });
});
