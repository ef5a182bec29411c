/** The key policy statement that lets a service publish to a topic encrypted with the key. */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { allowServiceToPublishEncrypted } from '../../lib/encryption';
import { testContext } from '../support/cdk';

function keyWith(services: string[]): Template {
  const stack = new Stack(new App({ context: testContext() }), 'Keys');
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  for (const service of services) allowServiceToPublishEncrypted(key, service);
  return Template.fromStack(stack);
}

describe('allowServiceToPublishEncrypted', () => {
  test('the service principal may decrypt and generate data keys, in a statement named after it', () => {
    keyWith(['cloudwatch.amazonaws.com']).hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowCloudwatchToPublishToEncryptedTopics',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Resource: '*',
          },
        ]),
      },
    });
  });

  test('each service gets its own statement', () => {
    const [key] = Object.values(
      keyWith(['cloudwatch.amazonaws.com', 'budgets.amazonaws.com']).findResources('AWS::KMS::Key'),
    );
    const sids = (key.Properties.KeyPolicy.Statement as { Sid?: string }[]).map((s) => s.Sid);
    expect(sids).toEqual(
      expect.arrayContaining([
        'AllowCloudwatchToPublishToEncryptedTopics',
        'AllowBudgetsToPublishToEncryptedTopics',
      ]),
    );
  });
});
