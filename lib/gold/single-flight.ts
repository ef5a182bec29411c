/**
 * Single flight: an execution of the gold workflow that starts while another is running ends at once,
 * "skipped", and counts `Medallion/GoldRunSkipped` = 1. Two runs never overlap, so an older run can never
 * publish after a newer one, and the current-state merges (Iceberg commits) have one writer.
 *
 * Step Functions lists the state machine's RUNNING executions (newest first; this one included): more
 * than one means another run is in progress. Two executions starting within the same instant both see
 * each other and both skip; the next scheduled run goes ahead.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { METRIC_NAMES } from '../../core/telemetry/metrics';
import { countMetricTask, retryTaskFailures } from './gold-tasks';

/**
 * The states that open the workflow: list the running executions, skip (metric, then succeed) when
 * another one runs, else go on to `next`. `stateMachineName` is the workflow's own (explicit) name: its
 * ARN is built from it, since the role's policy cannot reference the state machine it belongs to.
 */
export function singleFlight(scope: Construct, stateMachineName: string, next: sfn.IChainable): sfn.Chain {
  const stack = Stack.of(scope);
  const running = tasks.CallAwsService.jsonPath(scope, 'SingleFlight-Running', {
    stateName: 'single flight: running executions',
    comment: 'The RUNNING executions of this state machine, newest first (this one included).',
    service: 'sfn',
    action: 'listExecutions',
    iamAction: 'states:ListExecutions',
    iamResources: [
      stack.formatArn({
        service: 'states',
        resource: 'stateMachine',
        resourceName: stateMachineName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    ],
    parameters: {
      StateMachineArn: sfn.JsonPath.stringAt('$$.StateMachine.Id'),
      StatusFilter: 'RUNNING',
      MaxResults: 10,
    },
    resultSelector: {
      'count.$': 'States.ArrayLength($.Executions)',
      'names.$': '$.Executions[*].Name',
    },
    resultPath: '$.singleFlight',
  });
  retryTaskFailures(running, 2, 5);

  const skippedMetric = countMetricTask(scope, 'SingleFlight-SkippedMetric', {
    stateName: 'single flight: skipped metric',
    metric: METRIC_NAMES.GoldRunSkipped,
    maxAttempts: 3,
  });
  const skipped = sfn.Succeed.jsonPath(scope, 'SingleFlight-Skipped', {
    stateName: 'skipped: another run in progress',
    comment: 'Another execution is RUNNING (see $.singleFlight.names): this one did nothing.',
  });
  // A metric that cannot be sent does not turn a skip into a failure.
  skippedMetric.addCatch(skipped, { errors: [sfn.Errors.ALL], resultPath: '$.metricError' });

  const choice = sfn.Choice.jsonPath(scope, 'SingleFlight-Alone', { stateName: 'single flight: alone?' })
    .when(sfn.Condition.numberGreaterThan('$.singleFlight.count', 1), skippedMetric.next(skipped))
    .otherwise(next);
  return sfn.Chain.start(running).next(choice);
}
