/**
 * A load of objects for the local S3 server, shared by the listing-under-load test and the child process
 * it spawns to upload them (so the server sees real sockets from another event loop).
 *
 * As a script (`tsx test/support/s3-upload-load.ts <bucket> <count> <in flight>`, with the `localS3Env`
 * variables set) it uploads objects 0..count-1 and prints, one a line: `put <index>` as each PutObject
 * succeeds, `failed <index> <error>` when one fails for good, `answer <status> <error>` for each HTTP
 * exchange that did not answer 200 (retries included; 0 for a network error), and last `done <ms>`, the
 * time the uploads took. It exits 1 if any upload failed.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client, mapLimited } from '../../lambdas/aws/s3';

/**
 * Key `index` of the load: most under date partitions, some flat, and some whose stored files sort
 * unlike their keys (`c/3` is stored as `c/3._S3rver_object`, after `c/3-copy…` and the directory `c/3/`,
 * while S3 lists `c/3` < `c/3-copy` < `c/3/part.csv`).
 */
export function loadKey(index: number): string {
  switch (index % 5) {
    case 0:
    case 1:
      return `a/ingest_date=2026-01-0${1 + ((index % 7) % 5)}/${index}.csv`;
    case 2:
      return `b/${index}.json`;
    case 3:
      return `c/${index}`;
    default:
      return index % 2 === 0 ? `c/${index - 1}-copy` : `c/${index - 1}/part.csv`;
  }
}

/** Object `index`'s bytes: 100 B to 64 KB, spread over the load. */
export function loadBody(index: number): Buffer {
  const size = 100 + ((index * 7919) % (64 * 1024 - 100));
  return Buffer.alloc(size, index % 251);
}

/** The HTTP status of an SDK error, or 0 when no answer came (a reset connection). */
export function statusOf(e: unknown): number {
  const err = e as { $metadata?: { httpStatusCode?: number }; $response?: { statusCode?: number } };
  return err?.$metadata?.httpStatusCode ?? err?.$response?.statusCode ?? 0;
}

/** An HTTP exchange, for a report: `<status> <error name>: <message>`. */
export const describeAnswer = (status: number, error: Error | undefined) =>
  `${status} ${error?.name ?? ''}: ${error?.message ?? ''}`;

/**
 * Calls `record` with the status and duration of every HTTP exchange of `client`: each attempt, since
 * the SDK's retries (5 attempts) would otherwise hide a 500 answered once.
 */
export function recordResponses(
  client: S3Client,
  record: (command: string, status: number, milliseconds: number, error?: Error) => void,
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const started = performance.now();
      const command = String(context.commandName ?? '');
      try {
        const out = await next(args);
        const status = (out.response as { statusCode?: number } | undefined)?.statusCode ?? 0;
        record(command, status, performance.now() - started);
        return out;
      } catch (e) {
        record(command, statusOf(e), performance.now() - started, e as Error);
        throw e;
      }
    },
    { step: 'deserialize', name: 'recordResponses', priority: 'low' },
  );
}

/**
 * Clients for `inFlight` requests at once: the SDK keeps at most 50 sockets per client and queues the
 * rest.
 */
export function uploadClients(inFlight: number, env: NodeJS.ProcessEnv = process.env): S3Client[] {
  return Array.from({ length: Math.ceil(inFlight / 50) }, () => createS3Client(env));
}

async function uploadAsChild(bucket: string, count: number, inFlight: number): Promise<number> {
  const clients = uploadClients(inFlight);
  for (const client of clients) {
    recordResponses(client, (_command, status, _ms, error) => {
      if (status !== 200) process.stdout.write(`answer ${describeAnswer(status, error)}\n`);
    });
  }
  let failed = 0;
  const started = performance.now();
  await mapLimited(
    Array.from({ length: count }, (_, i) => i),
    inFlight,
    async (index) => {
      try {
        await clients[index % clients.length].send(
          new PutObjectCommand({ Bucket: bucket, Key: loadKey(index), Body: loadBody(index) }),
        );
        process.stdout.write(`put ${index}\n`);
      } catch (e) {
        failed++;
        process.stdout.write(`failed ${index} ${describeAnswer(statusOf(e), e as Error)}\n`);
      }
    },
  );
  process.stdout.write(`done ${(performance.now() - started).toFixed(0)}\n`);
  for (const client of clients) client.destroy();
  return failed === 0 ? 0 : 1;
}

if (require.main === module) {
  const [bucket, count, inFlight] = process.argv.slice(2);
  uploadAsChild(bucket, Number(count), Number(inFlight)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? e}\n`);
      process.exitCode = 2;
    },
  );
}
