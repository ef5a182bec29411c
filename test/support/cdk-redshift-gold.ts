/**
 * The Redshift Serverless gold tests' shared fixture: the construct synthesized on its own (a lake, a key,
 * cdk-nag on), and helpers to read its template. Importing it registers an `afterAll` that removes the
 * synthesis output of the importing test file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Tags, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RedshiftServerlessGold, type RedshiftServerlessGoldProps } from '../../lib/gold/redshift-serverless';
import { LakeStorage } from '../../lib/lake-storage';
import { logicalId, testContext } from './cdk';

const tmp = mkdtempSync(join(tmpdir(), 'medallion-redshift-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let runs = 0;

export type Overrides = Partial<RedshiftServerlessGoldProps> & {
  withAlarmTopic?: boolean;
  envAgnostic?: boolean;
  ownNamespaceKey?: boolean;
  /** Runs on the construct before synthesis. */
  change?: (gold: RedshiftServerlessGold, storage: LakeStorage) => void;
};

/** A stack with the lake (buckets, key) and the construct, cdk-nag on; synthesized by `Template.fromStack`. */
export function build({ withAlarmTopic, envAgnostic, ownNamespaceKey, change, ...props }: Overrides = {}) {
  runs += 1;
  const outdir = join(tmp, `run-${runs}`);
  const app = new App({ outdir, context: testContext() });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const env = envAgnostic ? undefined : { account: '111111111111', region: 'eu-west-1' };
  const stack = new Stack(app, 'Lake', { env });
  Tags.of(stack).add('pipeline', 'medallion');
  const storage = new LakeStorage(stack, 'Storage');
  const topic = withAlarmTopic ? new sns.Topic(stack, 'Alarms', { enforceSSL: true }) : undefined;
  const namespaceKey = ownNamespaceKey
    ? new kms.Key(stack, 'WarehouseKey', { enableKeyRotation: true })
    : undefined;
  const gold = new RedshiftServerlessGold(stack, 'Redshift', {
    silverBucket: storage.silverBucket,
    goldBucket: storage.goldBucket,
    key: storage.key,
    database: 'medallion_dev',
    silverPrefixes: ['retail/orders/', 'retail/customers/'],
    goldPrefixes: ['daily_sales/'],
    alarmAction: topic ? new actions.SnsAction(topic) : undefined,
    namespaceKey,
    ...props,
  });
  change?.(gold, storage);
  const t = Template.fromStack(stack);
  type Report = { violations: unknown[]; suppressedViolations?: { ruleName: string; reason: string }[] };
  const report = (): Report =>
    JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')).pluginReports[0];
  return { stack, storage, gold, t, topic, namespaceKey, report };
}

/** The one resource of `type` whose logical id starts with `prefix`. */
export function only(t: Template, type: string, prefix: string) {
  return t.findResources(type)[logicalId(t, type, prefix)];
}

/** `Fn::GetAtt` of the one resource of `type` whose logical id starts with `prefix`. */
export const getAtt = (t: Template, type: string, prefix: string, attribute: string) => ({
  'Fn::GetAtt': [logicalId(t, type, prefix), attribute],
});

/** An AwsCustomResource's SDK call, tokens written `<LogicalId>` or `<LogicalId.Attribute>`. */
export function sdkCall(t: Template, prefix: string, phase: 'Create' | 'Update' | 'Delete') {
  const value = only(t, 'Custom::AWS', prefix).Properties[phase];
  if (typeof value === 'string') return JSON.parse(value);
  const token = (o: { Ref?: string; 'Fn::GetAtt'?: string[] }) => `<${o.Ref ?? o['Fn::GetAtt']?.join('.')}>`;
  const parts = value['Fn::Join'][1] as (string | object)[];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : token(p))).join(''));
}

/** An Allow statement as the template writes it: a single action or resource is not in an array. */
export const allow = (Action: string[], Resource: unknown[], Sid?: string, Condition?: object) => ({
  Sid,
  Effect: 'Allow',
  Action: Action.length === 1 ? Action[0] : Action,
  Resource: Resource.length === 1 ? Resource[0] : Resource,
  Condition,
});

/** The statements of the one identity policy whose logical id starts with `prefix`. */
export const statementsOf = (t: Template, prefix: string) =>
  only(t, 'AWS::IAM::Policy', prefix).Properties.PolicyDocument.Statement;
