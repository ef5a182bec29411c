/**
 * What `medallion smoke` runs against: a deployed stack (`aws-target.ts`) or the local cloud
 * (`local-target.ts`). Both give the stack's outputs and an S3 client, with which the checks use the same
 * doors (`lake-doors.ts`); gold, the query and the alarm topic's policy are each target's own way.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ApiSigning } from './lake-doors';
import type { StackOutputs } from './stack-outputs';
import type { TopicContext } from './topic-policy';

export interface SmokeTarget {
  /** One line: what is being tested (stack and outputs file, or the local cloud and its state). */
  readonly description: string;
  readonly outputs: StackOutputs;
  /** A client of the target's S3 (the landing, bronze and silver buckets). */
  readonly s3: S3Client;
  /** How often the waits look again. */
  readonly pollMs: number;
  /** The credentials and region the API requests are signed with. */
  apiSigning(): Promise<ApiSigning>;
  /**
   * Runs the gold workflow once (merging the current state, then the models) and resolves with one line
   * about the run; rejects, saying why, when it did not succeed within `timeoutMs`.
   */
  runGold(executionName: string, timeoutMs: number): Promise<string>;
  /** Runs SQL over the gold database (tables named without the database) and returns the rows. */
  query(sql: string, timeoutMs: number): Promise<Record<string, unknown>[]>;
  /** The alarm topic's policy (JSON text or the document) and the topic it belongs to. */
  alarmTopicPolicy(): Promise<{ policy: unknown; topic: TopicContext }>;
  /**
   * Releases the target; `failed` says whether a check failed (the local target then keeps its state).
   * Resolves with a line for the user, if any.
   */
  close(failed: boolean): Promise<string | undefined>;
}
