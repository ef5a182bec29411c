/**
 * The deployed smoke target: a stack's outputs from the file `cdk deploy --outputs-file` wrote, and the AWS
 * SDK's clients with their usual configuration (credentials, region, and `AWS_ENDPOINT_URL_<SERVICE>`
 * overrides, all from the environment). S3 and the API go through `lake-doors.ts`; gold is a Step Functions
 * execution of the gold workflow; the query runs on Athena in the stack's workgroup (its result location);
 * the alarm topic's policy is GetTopicAttributes' `Policy`.
 */
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { createS3Client } from '../../lambdas/aws/s3';
import { displayPath } from '../report/display-path';
import { sleep } from './lake-doors';
import { readStackOutputs } from './stack-outputs';
import type { SmokeTarget } from './target';

export interface AwsTargetOptions {
  /** What `cdk deploy --outputs-file` wrote. */
  readonly outputsFile: string;
  /** The stack (`Medallion-<environment>`); default the one stack of the file. */
  readonly stack?: string;
  /** How often the waits look again; default 2 s. */
  readonly pollMs?: number;
}

/** Reads the outputs (a usage error when they do not fit) and creates the clients. */
export function startAwsTarget(options: AwsTargetOptions): SmokeTarget {
  const { stack, outputs } = readStackOutputs(options.outputsFile, options.stack);
  const pollMs = options.pollMs ?? 2000;
  const s3: S3Client = createS3Client();
  const sfn = new SFNClient({});
  const athena = new AthenaClient({});
  const sns = new SNSClient({});

  return {
    description: `stack ${stack} (outputs ${displayPath(options.outputsFile)})`,
    outputs,
    s3,
    pollMs,
    apiSigning: async () => ({
      credentials: await s3.config.credentials(),
      region: apiRegion(outputs.RecordsUrl) ?? (await s3.config.region()),
    }),
    runGold: (executionName, timeoutMs) =>
      runGoldExecution(sfn, outputs.GoldStateMachineArn, executionName, { pollMs, timeoutMs }),
    query: (sql, timeoutMs) =>
      runAthenaQuery(athena, sql, {
        workGroup: outputs.AthenaWorkGroupName,
        database: outputs.GlueDatabaseName,
        pollMs: Math.min(pollMs, 1000),
        timeoutMs,
      }),
    alarmTopicPolicy: async () => {
      const topicArn = outputs.AlarmTopicArn;
      const { Attributes } = await sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }));
      const [, partition, , region, account] = topicArn.split(':');
      return { policy: Attributes?.Policy, topic: { topicArn, account, region, partition } };
    },
    close: async () => {
      for (const client of [s3, sfn, athena, sns]) client.destroy();
      return undefined;
    },
  };
}

/** The region of an API Gateway invoke URL (`https://<id>.execute-api.<region>.amazonaws.com/...`). */
export function apiRegion(url: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(
    new URL(url.replace('{dataset}', 'x')).hostname,
  )?.[1];
}

/**
 * Starts an execution and waits for it. A run the workflow skipped because another was in progress
 * (single flight: it succeeds at once, its output naming the running ones) waits for those, then starts
 * again, once.
 */
async function runGoldExecution(
  sfn: SFNClient,
  stateMachineArn: string,
  name: string,
  polling: { pollMs: number; timeoutMs: number },
): Promise<string> {
  const t0 = Date.now();
  const deadline = t0 + polling.timeoutMs;
  for (let attempt = 1; ; attempt++) {
    const executionName = attempt === 1 ? name : `${name}-${attempt}`;
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: executionName, input: '{}' }),
    );
    const done = await waitForExecution(sfn, started.executionArn as string, deadline, polling.pollMs);
    if (done.status !== 'SUCCEEDED') {
      throw new Error(
        `${executionName} ${done.status}: ${[done.error, done.cause].filter(Boolean).join(': ')}`.slice(
          0,
          500,
        ),
      );
    }
    const others = runningOthers(done.output, executionName);
    if (others.length === 0)
      return `${executionName} SUCCEEDED in ${((Date.now() - t0) / 1000).toFixed(0)} s`;
    if (attempt === 2)
      throw new Error(`${executionName} skipped: another run in progress (${others.join(', ')})`);
    for (const other of others)
      await waitForExecution(sfn, executionArnOf(stateMachineArn, other), deadline, polling.pollMs);
  }
}

async function waitForExecution(
  sfn: SFNClient,
  executionArn: string,
  deadline: number,
  pollMs: number,
): Promise<DescribeExecutionCommandOutput> {
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING' && described.status !== 'PENDING_REDRIVE') return described;
    if (Date.now() >= deadline) throw new Error(`${executionArn} still ${described.status} at the timeout`);
    await sleep(pollMs);
  }
}

/** The other executions a skipped run saw running (lib/gold/single-flight.ts: `$.singleFlight`). */
function runningOthers(output: string | undefined, own: string): string[] {
  try {
    const flight = (JSON.parse(output ?? '{}') as { singleFlight?: { count?: number; names?: string[] } })
      .singleFlight;
    return (flight?.count ?? 0) > 1 ? (flight?.names ?? []).filter((n) => n !== own) : [];
  } catch {
    return [];
  }
}

/** `arn:...:stateMachine:<machine>` -> `arn:...:execution:<machine>:<name>`. */
function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** Runs a query in the workgroup (which holds the result location) and returns its rows as objects. */
async function runAthenaQuery(
  athena: AthenaClient,
  sql: string,
  o: { workGroup: string; database: string; pollMs: number; timeoutMs: number },
): Promise<Record<string, unknown>[]> {
  const { QueryExecutionId } = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      WorkGroup: o.workGroup,
      QueryExecutionContext: { Database: o.database },
    }),
  );
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const { QueryExecution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId }));
    const state = QueryExecution?.Status?.State;
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED') {
      throw new Error(
        `query ${QueryExecutionId} ${state}: ${QueryExecution?.Status?.StateChangeReason ?? ''}`,
      );
    }
    if (Date.now() >= deadline) throw new Error(`query ${QueryExecutionId} still ${state} at the timeout`);
    await sleep(o.pollMs);
  }
  const { ResultSet } = await athena.send(new GetQueryResultsCommand({ QueryExecutionId }));
  const columns = (ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? '');
  // The first row of a SELECT's results repeats the column names.
  return (ResultSet?.Rows ?? [])
    .slice(1)
    .map((row) => Object.fromEntries(columns.map((c, i) => [c, row.Data?.[i]?.VarCharValue ?? null])));
}
