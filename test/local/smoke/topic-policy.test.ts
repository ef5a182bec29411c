/** The alarm topic policy check: CloudWatch alarms of the account may publish, other accounts' may not. */
import { topicAllowsCloudWatchAlarms } from '../../../local/smoke/topic-policy';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:Medallion-prod-alarms';
const CONTEXT = { topicArn: TOPIC, account: '123456789012', region: 'eu-west-1' };

/** The statement lib/monitoring/alarm-topic.ts adds, resolved. */
const cloudWatchStatement = (overrides: Record<string, unknown> = {}) => ({
  Sid: 'AllowCloudWatchAlarmsToPublish',
  Effect: 'Allow',
  Principal: { Service: 'cloudwatch.amazonaws.com' },
  Action: 'sns:Publish',
  Resource: TOPIC,
  Condition: {
    StringEquals: { 'aws:SourceAccount': '123456789012' },
    ArnLike: { 'aws:SourceArn': 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:*' },
  },
  ...overrides,
});

/** The TLS-only statement `enforceSSL` adds: it must not stop CloudWatch (which publishes over TLS). */
const tlsOnly = {
  Sid: 'AllowPublishThroughSSLOnly',
  Effect: 'Deny',
  Principal: '*',
  Action: 'sns:Publish',
  Resource: TOPIC,
  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
};

const policy = (...Statement: unknown[]) => ({ Version: '2012-10-17', Statement });

describe('topicAllowsCloudWatchAlarms', () => {
  it("allows the stack's policy (TLS only, CloudWatch scoped to the account's alarms), as JSON text too", () => {
    const document = policy(tlsOnly, cloudWatchStatement());
    for (const given of [document, JSON.stringify(document)]) {
      const verdict = topicAllowsCloudWatchAlarms(given, CONTEXT);
      expect(verdict).toEqual({
        ok: true,
        reason:
          "statement 'AllowCloudWatchAlarmsToPublish' allows alarms of 123456789012 in eu-west-1 to publish; other accounts' are refused",
      });
    }
  });

  it('refuses a policy without a statement for CloudWatch', () => {
    const verdict = topicAllowsCloudWatchAlarms(policy(tlsOnly), CONTEXT);
    expect(verdict.ok).toBe(false);
    expect(verdict.reason).toBe(`no statement allows cloudwatch.amazonaws.com to sns:Publish to ${TOPIC}`);
  });

  it('refuses a statement for another service', () => {
    const budgets = cloudWatchStatement({ Principal: { Service: 'budgets.amazonaws.com' } });
    const verdict = topicAllowsCloudWatchAlarms(policy(budgets), CONTEXT);
    expect(verdict.ok).toBe(false);
    expect(verdict.reason).toContain('no statement allows cloudwatch.amazonaws.com');
  });

  it('refuses a policy whose Deny statement covers CloudWatch, whatever allows it', () => {
    const deny = { Sid: 'NoPublish', Effect: 'Deny', Principal: '*', Action: 'sns:*', Resource: '*' };
    const verdict = topicAllowsCloudWatchAlarms(policy(cloudWatchStatement(), deny), CONTEXT);
    expect(verdict).toEqual({
      ok: false,
      reason: "statement 'NoPublish' denies CloudWatch alarms sns:Publish",
    });
  });

  it("refuses an aws:SourceArn that does not cover the account's alarms", () => {
    const dashboardsOnly = cloudWatchStatement({
      Condition: {
        StringEquals: { 'aws:SourceAccount': '123456789012' },
        ArnLike: { 'aws:SourceArn': 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:*' },
      },
    });
    const verdict = topicAllowsCloudWatchAlarms(policy(dashboardsOnly), CONTEXT);
    expect(verdict.ok).toBe(false);
    expect(verdict.reason).toBe(
      "statement 'AllowCloudWatchAlarmsToPublish' allows CloudWatch only when ArnLike aws:SourceArn match, " +
        'which alarms of 123456789012 do not (arn:aws:cloudwatch:eu-west-1:123456789012:alarm:medallion-smoke-probe)',
    );
  });

  it("refuses a statement without conditions: any account's alarms could publish", () => {
    const open = cloudWatchStatement({ Condition: undefined });
    const verdict = topicAllowsCloudWatchAlarms(policy(open), CONTEXT);
    expect(verdict.ok).toBe(false);
    expect(verdict.reason).toContain("also lets other accounts' alarms publish");
  });

  it('accepts wildcards in the action and resource, and the principal as a list', () => {
    const wide = cloudWatchStatement({
      Principal: { Service: ['events.amazonaws.com', 'cloudwatch.amazonaws.com'] },
      Action: ['sns:Pub*'],
      Resource: 'arn:aws:sns:eu-west-1:123456789012:*',
    });
    expect(topicAllowsCloudWatchAlarms(policy(wide), CONTEXT).ok).toBe(true);
  });

  it('refuses a statement for another topic', () => {
    const other = cloudWatchStatement({ Resource: 'arn:aws:sns:eu-west-1:123456789012:other' });
    expect(topicAllowsCloudWatchAlarms(policy(other), CONTEXT).ok).toBe(false);
  });

  it('says so when there is no policy, or it is not JSON', () => {
    expect(topicAllowsCloudWatchAlarms(undefined, CONTEXT)).toEqual({
      ok: false,
      reason: 'the topic has no policy',
    });
    expect(topicAllowsCloudWatchAlarms('{not json', CONTEXT).reason).toMatch(
      /^the topic policy is not JSON: /,
    );
  });

  it('errs towards "not allowed" on a condition operator it does not model', () => {
    const dated = { DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } };
    const deny = { ...tlsOnly, Sid: 'UntilLaunch', Condition: dated };
    expect(topicAllowsCloudWatchAlarms(policy(deny, cloudWatchStatement()), CONTEXT)).toEqual({
      ok: false,
      reason: "statement 'UntilLaunch' denies CloudWatch alarms sns:Publish",
    });
    const allow = cloudWatchStatement({ Condition: { ...cloudWatchStatement().Condition, ...dated } });
    expect(topicAllowsCloudWatchAlarms(policy(allow), CONTEXT).ok).toBe(false);
  });
});
