/**
 * Runs a synthesized gold workflow on aws-local-stepfunctions (the offline runner's interpreter) with
 * scripted AWS answers: the Redshift Data API answers each statement's status checks from a script, Glue,
 * SNS, CloudWatch and Step Functions answer plainly. Every call is recorded, in order.
 */

import { polyfillWithResolvers } from '../../local/gold/run-gold';
import { allStates, type Json, type State } from './cdk-gold-workflow';

/** What describeStatement answers, poll after poll (the last answer repeats). */
export interface StatementAnswer {
  readonly Status: string;
  readonly Error?: string;
}

export interface DataApiScript {
  /** Per submitting state (`a: build`): the status checks' answers. @default STARTED, then FINISHED */
  readonly statuses?: Record<string, StatementAnswer[]>;
  /** Per submitting state: errors its first submissions throw (then it succeeds). */
  readonly submitErrors?: Record<string, string[]>;
  /** An error cancelStatement throws. */
  readonly cancelError?: string;
}

export interface Call {
  readonly state: string;
  readonly action: string;
  readonly parameters: Json;
}

export interface WorkflowRun {
  readonly calls: Call[];
  /** The execution's error, when it failed. */
  readonly failure?: { error: string; cause: string };
  /** The output of each state that exited (the last one, for states run more than once). */
  readonly outputs: Map<string, Json>;
}

export const EXECUTION = {
  Name: 'run-1',
  Id: 'arn:aws:states:eu-west-1:111111111111:execution:Test-gold:run-1',
};

/** An error named as Step Functions names an SDK integration's (`RedshiftData.ThrottlingException`). */
const named = (name: string, message = name) => Object.assign(new Error(message), { name });

/** Runs `definition` with the script; never waits (Wait states and retries take 0 ms). */
export async function runWorkflow(
  definition: { StartAt: string; States: Record<string, State> },
  script: DataApiScript = {},
): Promise<WorkflowRun> {
  polyfillWithResolvers();
  const calls: Call[] = [];
  const submitted = new Map<string, string>();
  const polls = new Map<string, number>();
  const submitErrors = Object.fromEntries(
    Object.entries(script.submitErrors ?? {}).map(([k, v]) => [k, [...v]]),
  );
  const handlers: Record<string, (input: Json) => Json> = {};
  const waits: Record<string, number> = {};
  const retries: Record<string, number> = {};
  for (const { name, state } of allStates(definition)) {
    if (state.Type === 'Wait') waits[name] = 0;
    if (state.Type !== 'Task') continue;
    retries[name] = 0;
    const action = String(state.Resource).split(':').slice(-2).join(':');
    handlers[name] = (parameters: Json) => {
      calls.push({ state: name, action, parameters });
      switch (action) {
        case 'redshiftdata:executeStatement':
        case 'redshiftdata:batchExecuteStatement': {
          const error = submitErrors[name]?.shift();
          if (error) throw named(error);
          const id = `${name}#${calls.length}`;
          submitted.set(id, name);
          return { Id: id, CreatedAt: '2026-01-01T00:00:00Z' };
        }
        case 'redshiftdata:describeStatement': {
          const by = submitted.get(parameters.Id);
          if (!by) throw named('RedshiftData.ResourceNotFoundException', `no statement ${parameters.Id}`);
          const n = polls.get(parameters.Id) ?? 0;
          polls.set(parameters.Id, n + 1);
          const answers = script.statuses?.[by] ?? [{ Status: 'STARTED' }, { Status: 'FINISHED' }];
          const answer = answers[Math.min(n, answers.length - 1)];
          return { Id: parameters.Id, QueryString: '...', HasResultSet: false, ...answer };
        }
        case 'redshiftdata:cancelStatement':
          if (script.cancelError) throw named(script.cancelError);
          return { Status: true };
        case 'glue:getTable':
          return {
            Table: {
              Name: parameters.Name,
              DatabaseName: parameters.DatabaseName,
              StorageDescriptor: { Columns: [], Location: `s3://gold/${parameters.Name}/_unpublished/` },
              TableType: 'EXTERNAL_TABLE',
              Parameters: { classification: 'parquet' },
            },
          };
        case 'glue:updateTable':
        case 'cloudwatch:putMetricData':
          return {};
        case 'sns:publish':
          return { MessageId: 'm-1' };
        case 'sfn:listExecutions':
          return { Executions: [{ Name: EXECUTION.Name }] };
        default:
          throw new Error(`no scripted answer for ${name} (${state.Resource})`);
      }
    };
  }

  const { StateMachine } = require('aws-local-stepfunctions') as typeof import('aws-local-stepfunctions');
  const execution = new StateMachine(definition as never).run({} as never, {
    overrides: {
      taskResourceLocalHandlers: handlers as never,
      waitTimeOverrides: waits,
      retryIntervalOverrides: retries,
    },
    context: {
      Execution: { ...EXECUTION, Input: {}, StartTime: '2026-01-01T00:00:00Z' },
      StateMachine: { Id: 'arn:aws:states:eu-west-1:111111111111:stateMachine:Test-gold', Name: 'Test-gold' },
    } as never,
  });
  const outputs = new Map<string, Json>();
  const recorded = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateExited') outputs.set(event.state.name, event.state.output);
    }
  })();
  let failure: WorkflowRun['failure'];
  try {
    await execution.result;
  } catch (e) {
    const inner = (e as Error & { cause?: { name?: string; message?: string } }).cause;
    failure = { error: inner?.name ?? (e as Error).name, cause: inner?.message ?? (e as Error).message };
  }
  await recorded;
  return { calls, failure, outputs };
}
