/**
 * Key policies for AWS services that publish to an encrypted SNS topic (the alarm topic): CloudWatch
 * alarms and AWS Budgets encrypt what they publish with the topic's key, so its policy must admit them.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';

/** Lets an AWS service encrypt messages for a topic encrypted with `key` (SNS server-side encryption). */
export function allowServiceToPublishEncrypted(key: kms.Key, service: string): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: `Allow${capitalized(service.split('.')[0])}ToPublishToEncryptedTopics`,
      principals: [new iam.ServicePrincipal(service)],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
    }),
  );
}

function capitalized(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
