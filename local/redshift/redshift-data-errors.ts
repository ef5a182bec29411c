/**
 * Errors of the local Redshift Data API, named as a Step Functions SDK integration names them
 * (`RedshiftData.<Exception>`), so the synthesized `Retry`/`Catch` clauses match them locally as they
 * would in AWS. A statement that fails in the database is no such error: it ends FAILED, and
 * `describeStatement` reports it (see {@link RedshiftSqlError}).
 */

/** The Data API exceptions the stand-in throws. */
export type RedshiftDataException = 'ResourceNotFoundException' | 'ValidationException';

/** An error as the `aws-sdk:redshiftdata:*` integrations name it. */
export class RedshiftDataError extends Error {
  constructor(
    readonly exception: RedshiftDataException,
    message: string,
  ) {
    super(message);
    this.name = `RedshiftData.${exception}`;
  }
}

/**
 * A statement the stand-in refuses or cannot run the way Redshift would (an UNLOAD into a prefix that
 * holds objects, a Spectrum table of a nested type, ...): the statement ends FAILED with `ERROR: <message>`,
 * as a database error does.
 */
export class RedshiftSqlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedshiftSqlError';
  }
}
