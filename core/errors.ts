/**
 * Every error medallion raises on purpose, in one module. Each class says what its catcher should do:
 *
 * - `reject`: the input is wrong (a file, a request, a contract, a model, a command line). The same input
 *   fails the same way every time, so it is not retried: a file is quarantined, a request answered 4xx,
 *   a command exits 2, a synth fails with the message.
 * - `retry`: the world moved under the call (an object changed while it was read). The same call may
 *   succeed later, so the message goes back to the queue.
 *
 * An error that is not a `MedallionError` (an SDK or engine failure) is treated as `retry`: SQS redelivers
 * it and the dead-letter queue catches what never succeeds.
 */
export type Disposition = 'retry' | 'reject';

export abstract class MedallionError extends Error {
  abstract readonly disposition: Disposition;

  constructor(message: string, name: string) {
    super(message);
    this.name = name;
  }
}

/** Wrong input: retrying the same input cannot help. */
export abstract class RejectError extends MedallionError {
  readonly disposition = 'reject' as const;
}

/** A transient condition: the same call may succeed later. */
export abstract class RetryError extends MedallionError {
  readonly disposition = 'retry' as const;
}

/** The message of any thrown value (an Error's message, anything else as text). */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** What to do with any thrown value (see the module comment). */
export function dispositionOf(e: unknown): Disposition {
  return e instanceof MedallionError ? e.disposition : 'retry';
}

/** A mistake in the configuration or the data contracts: the message alone says what to fix. */
export class MedallionConfigError extends RejectError {
  constructor(message: string, name = 'MedallionConfigError') {
    super(message, name);
  }
}

/** A mistake in the gold models (the message says which model and what to fix). */
export class GoldModelError extends MedallionConfigError {
  constructor(message: string) {
    super(message, 'GoldModelError');
  }
}

/** A data contract file that does not load: every problem, each naming its field. */
export class ContractError extends RejectError {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`invalid data contract ${file}:\n  - ${problems.join('\n  - ')}`, 'ContractError');
  }
}

/** A function's environment is missing or malformed (checked once, at start-up). */
export class ConfigError extends RejectError {
  constructor(message: string) {
    super(message, 'ConfigError');
  }
}

/** A deterministic problem with the file itself: retrying cannot help, so it is quarantined. */
export class FileRejection extends RejectError {
  constructor(
    readonly code:
      | 'empty'
      | 'encoding'
      | 'compression'
      | 'too-large'
      | 'format'
      | 'header'
      | 'unknown-columns'
      | 'trailer'
      | 'expected-rows',
    message: string,
  ) {
    super(message, 'FileRejection');
  }
}

/** A refusal the client can act on; `statusCode` is the HTTP status the API door answers with. */
export class LandingError extends RejectError {
  constructor(
    readonly statusCode: 400 | 404 | 409 | 413 | 415,
    message: string,
  ) {
    super(message, 'LandingError');
  }
}

/** An object changed while it was being read: the next attempt reads the new version. */
export class ObjectChangedError extends RetryError {
  constructor(message: string) {
    super(message, 'ObjectChangedError');
  }
}

/** SQL that Athena would refuse (or that only DuckDB understands). */
export class AthenaSqlError extends RejectError {
  constructor(message: string) {
    super(message, 'AthenaSqlError');
  }
}

/** The pipeline command was asked something it cannot do: nothing ran. */
export class PipelineUsageError extends RejectError {
  constructor(message: string) {
    super(message, 'PipelineUsageError');
  }
}

/** The query command cannot run (no state, bad contract, bad SQL): one line says why. */
export class QueryError extends RejectError {
  constructor(message: string) {
    super(message, 'QueryError');
  }
}

/** The replay command cannot run: one line says why. */
export class ReplayError extends RejectError {
  constructor(message: string) {
    super(message, 'ReplayError');
  }
}

/** `start` was asked for a port something else already listens on. */
export class PortInUseError extends RejectError {
  constructor(
    readonly port: number,
    readonly address: string,
    /** What wanted the port, e.g. 'S3'. */
    readonly service = 'S3',
  ) {
    super(`port ${port} on ${address} (${service}) is already in use`, 'PortInUseError');
  }
}
