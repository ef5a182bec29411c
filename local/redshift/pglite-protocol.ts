/**
 * The messages between `pglite-worker.ts` (main thread) and `pglite-host.ts` (the worker thread PGlite
 * runs in). Every request carries an id its response repeats; every response tells whether the session
 * is in a transaction afterwards, so the main thread knows it without asking.
 */

export type HostRequest =
  | { readonly id: number; readonly op: 'open'; readonly dir: string }
  | { readonly id: number; readonly op: 'exec'; readonly sql: string }
  | {
      readonly id: number;
      readonly op: 'query';
      readonly sql: string;
      readonly params?: readonly unknown[];
      readonly rowMode?: 'array' | 'object';
      /** Every value as PostgreSQL's text (no parsing into numbers, dates, ...). */
      readonly text?: boolean;
      /** The bytes `COPY ... FROM '/dev/blob'` reads. */
      readonly blob?: ArrayBuffer;
    }
  | { readonly id: number; readonly op: 'close' };

/** A query's results, as PGlite gives them (the blob `COPY ... TO '/dev/blob'` wrote, as bytes). */
export interface WorkerResults<T = unknown> {
  readonly rows: T[];
  readonly fields: { readonly name: string; readonly dataTypeID: number }[];
  readonly affectedRows: number;
  readonly blob?: ArrayBuffer;
}

/** An error thrown in the worker; PostgreSQL's fields when it is a database error. */
export interface WorkerError {
  readonly message: string;
  readonly code?: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly severity?: string;
}

export type HostResponse =
  | { readonly id: number; readonly ok: true; readonly result: unknown; readonly inTransaction: boolean }
  | { readonly id: number; readonly ok: false; readonly error: WorkerError; readonly inTransaction: boolean };
