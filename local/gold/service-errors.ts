/**
 * Errors of the emulated AWS services, shaped as Step Functions reports them to a state machine, so the
 * synthesized `Retry`/`Catch` clauses match them locally as they would in AWS. They are not medallion's
 * own errors (those are in `core/errors.ts`): their names are AWS's.
 */
import type { QueryExecutionOutput } from './athena-on-duckdb';

/**
 * A failed `.sync` Athena task, as Step Functions reports it: error `States.TaskFailed`, the cause the
 * GetQueryExecution output (JSON) with the FAILED status and its reason.
 */
export class AthenaTaskFailed extends Error {
  constructor(
    readonly output: QueryExecutionOutput,
    readonly reason: string,
  ) {
    super(JSON.stringify(output));
    this.name = 'States.TaskFailed';
  }
}

/** An error as a Step Functions SDK integration names it (`Glue.<Exception>`). */
export class GlueError extends Error {
  constructor(exception: string, message: string) {
    super(message);
    this.name = `Glue.${exception}`;
  }
}
