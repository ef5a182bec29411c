/**
 * A PGlite in a worker thread (`pglite-host.ts`; why a worker: see there), used from the main thread
 * like PGlite itself: `exec`, `query` (with `COPY ... '/dev/blob'` bytes in and out), `isInTransaction`,
 * `close`. Requests are answered in order. The worker loads its TypeScript through tsx's CommonJS hook,
 * as the CLI and the tests run this code from source.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { HostRequest, HostResponse, WorkerError, WorkerResults } from './pglite-protocol';

/** PostgreSQL's error, rebuilt from the worker's: `code` is the SQLSTATE (`42501`, `22012`, ...). */
export class PostgresError extends Error {
  readonly code?: string;
  readonly detail?: string;
  readonly hint?: string;

  constructor(error: WorkerError) {
    super(error.message);
    this.name = 'PostgresError';
    this.code = error.code;
    this.detail = error.detail;
    this.hint = error.hint;
  }
}

/** Distributes a request's fields but `id` and `op` (TypeScript does not distribute Omit over a union). */
type RequestOf<Op extends HostRequest['op']> = Omit<Extract<HostRequest, { op: Op }>, 'id' | 'op'>;

export interface QueryOptions {
  readonly rowMode?: 'array' | 'object';
  /** Every value as PostgreSQL's text. */
  readonly text?: boolean;
  /** What `COPY ... FROM '/dev/blob'` reads. */
  readonly blob?: Uint8Array;
}

/** The worker's entry: tsx's CommonJS hook, then the host. */
const BOOTSTRAP = `require(${JSON.stringify(require.resolve('tsx/cjs'))});
require(${JSON.stringify(join(__dirname, 'pglite-host.ts'))});`;

export class PgliteWorker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  private inTransaction = false;
  private exited: Error | undefined;

  private constructor(private readonly worker: Worker) {
    // Referenced only while a request waits: an idle worker never keeps the process alive.
    worker.unref();
    worker.on('message', (response: HostResponse) => {
      const waiting = this.pending.get(response.id);
      if (!waiting) return;
      this.pending.delete(response.id);
      if (this.pending.size === 0) worker.unref();
      this.inTransaction = response.inTransaction;
      if (response.ok) waiting.resolve(response.result);
      else waiting.reject(new PostgresError(response.error));
    });
    const fail = (e: Error) => {
      this.exited = e;
      for (const { reject } of this.pending.values()) reject(e);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the PGlite worker exited (code ${code})`)));
  }

  /** Starts a worker and opens the PGlite persisted in `dir` (created when it does not exist). */
  static async open(dir: string): Promise<PgliteWorker> {
    const pg = new PgliteWorker(new Worker(BOOTSTRAP, { eval: true }));
    try {
      await pg.request('open', { dir });
    } catch (e) {
      await pg.worker.terminate();
      throw e;
    }
    return pg;
  }

  /** Runs one or more statements (simple protocol), no result. */
  async exec(sql: string): Promise<void> {
    await this.request('exec', { sql });
  }

  /** Runs one statement (extended protocol, so exactly one) with `params`. */
  async query<T = Record<string, unknown>>(
    sql: string,
    params: readonly unknown[] = [],
    options: QueryOptions = {},
  ): Promise<WorkerResults<T>> {
    const blob = options.blob
      ? (options.blob.buffer.slice(
          options.blob.byteOffset,
          options.blob.byteOffset + options.blob.byteLength,
        ) as ArrayBuffer)
      : undefined;
    return (await this.request(
      'query',
      { sql, params, rowMode: options.rowMode, text: options.text, ...(blob ? { blob } : {}) },
      blob ? [blob] : [],
    )) as WorkerResults<T>;
  }

  /** False once the worker ended (closed, or crashed). */
  get alive(): boolean {
    return this.exited === undefined;
  }

  /** Whether the session was in a transaction (or a failed one) when the last request ended. */
  isInTransaction(): boolean {
    return this.inTransaction;
  }

  /** Closes PGlite (flushing its files) and ends the worker. */
  async close(): Promise<void> {
    if (!this.exited) await this.request('close', {});
    await this.worker.terminate();
  }

  private request<Op extends HostRequest['op']>(
    op: Op,
    fields: RequestOf<Op>,
    transfer: ArrayBuffer[] = [],
  ): Promise<unknown> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, ...fields }, transfer);
    });
  }
}
