/**
 * The AWS API calls the Redshift Serverless gold construct makes at deploy time (the S3 prefix list's id,
 * the usage limit): AwsCustomResources sharing one execution role.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { type LogSettings, logGroupProps } from '../log-settings';
import { acknowledge } from '../nag';

/**
 * Creates one AwsCustomResource of the gold construct (sharing its execution role) whose policy needs a
 * '*' resource, for the reason given.
 */
export type AwsCall = (
  id: string,
  props: Omit<cr.AwsCustomResourceProps, 'role' | 'logGroup' | 'installLatestAwsSdk'>,
  wildcardReason: string,
) => cr.AwsCustomResource;

/**
 * Makes AwsCustomResources in `scope` that share one execution role (its own log group and the statements
 * each call adds, no managed policy). The role and log group are created by the first call, next to the
 * first custom resource, where the template has always had them. Every call here needs a '*' resource,
 * acknowledged with `wildcardReason`.
 */
export function customResourceCalls(scope: Construct, logSettings: LogSettings): AwsCall {
  let execution: { role: iam.Role; logGroup: logs.LogGroup } | undefined;
  return (id, callProps, wildcardReason) => {
    if (!execution) {
      const role = new iam.Role(scope, 'CustomResourceRole', {
        description: 'AwsCustomResource calls of the Redshift Serverless gold construct',
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      });
      const logGroup = new logs.LogGroup(scope, 'CustomResourceLogs', logGroupProps(logSettings));
      logGroup.grantWrite(role);
      execution = { role, logGroup };
    }
    const call = new cr.AwsCustomResource(scope, id, {
      ...callProps,
      ...execution,
      installLatestAwsSdk: false,
    });
    acknowledge(call, 'IAM5[Resource::*]', wildcardReason);
    return call;
  };
}
