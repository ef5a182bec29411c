/**
 * The worker thread PGlite runs in (started by `pglite-worker.ts`): it opens one PGlite and answers the
 * main thread's requests (`pglite-protocol.ts`) one at a time, in order.
 *
 * PGlite lives in a worker for two reasons: its Node build loads its WASM through dynamic `import()` of
 * Node's modules, which Jest's module sandbox refuses, and a long statement would otherwise hold the main
 * event loop, so DescribeStatement could not answer STARTED while it runs.
 */
import { parentPort } from 'node:worker_threads';
import { PGlite, type Results } from '@electric-sql/pglite';
import type { HostRequest, HostResponse, WorkerError, WorkerResults } from './pglite-protocol';

/** PGlite's parsers for every type it would parse, as the identity: values stay PostgreSQL's text. */
const TEXT_PARSERS: Record<number, (text: string) => string> = Object.fromEntries(
  [16, 17, 20, 21, 23, 25, 26, 114, 700, 701, 1042, 1043, 1082, 1114, 1184, 3802].map((oid) => [
    oid,
    (text: string) => text,
  ]),
);

let pg: PGlite | undefined;

const opened = (): PGlite => {
  if (!pg) throw new Error('PGlite is not open');
  return pg;
};

async function answer(request: HostRequest): Promise<{ result: unknown; transfer: ArrayBuffer[] }> {
  switch (request.op) {
    case 'open':
      pg = await PGlite.create(request.dir);
      return { result: undefined, transfer: [] };
    case 'exec':
      await opened().exec(request.sql);
      return { result: undefined, transfer: [] };
    case 'query': {
      const results: Results<unknown> = await opened().query(request.sql, [...(request.params ?? [])], {
        rowMode: request.rowMode,
        ...(request.text ? { parsers: TEXT_PARSERS } : {}),
        ...(request.blob ? { blob: new Blob([request.blob]) } : {}),
      });
      const blob = results.blob ? await results.blob.arrayBuffer() : undefined;
      const result: WorkerResults = {
        rows: results.rows,
        fields: results.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
        affectedRows: results.affectedRows ?? 0,
        ...(blob ? { blob } : {}),
      };
      return { result, transfer: blob ? [blob] : [] };
    }
    case 'close':
      await pg?.close();
      pg = undefined;
      return { result: undefined, transfer: [] };
  }
}

/** A thrown value as the main thread rebuilds it: PostgreSQL's fields kept (`code`, `detail`, ...). */
function workerError(e: unknown): WorkerError {
  if (!(e instanceof Error)) return { message: String(e) };
  const fields = e as unknown as Record<string, unknown>;
  const pick = (key: string) => (typeof fields[key] === 'string' ? (fields[key] as string) : undefined);
  return {
    message: e.message,
    code: pick('code'),
    detail: pick('detail'),
    hint: pick('hint'),
    severity: pick('severity'),
  };
}

const port = parentPort;
if (!port) throw new Error('pglite-host.ts runs as a worker thread (see pglite-worker.ts)');
let queue: Promise<void> = Promise.resolve();
port.on('message', (request: HostRequest) => {
  queue = queue.then(async () => {
    let response: HostResponse;
    let transfer: ArrayBuffer[] = [];
    try {
      const answered = await answer(request);
      transfer = answered.transfer;
      response = {
        id: request.id,
        ok: true,
        result: answered.result,
        inTransaction: pg?.isInTransaction() ?? false,
      };
    } catch (e) {
      response = {
        id: request.id,
        ok: false,
        error: workerError(e),
        inTransaction: pg?.isInTransaction() ?? false,
      };
    }
    port.postMessage(response, transfer);
  });
});
