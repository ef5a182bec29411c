/**
 * Bucket listings of the local S3 server while the bucket is loaded: 2,000 concurrent uploads (300 in
 * flight), then 500 concurrent deletes, with ListObjectsV2 asked all the while in six ways (paged by
 * StartAfter or by continuation token, 1,000 or 250 keys a page, delimited). As S3 does, every listing
 * answers 200, in key order, with every object whose PUT succeeded before it began, none deleted before
 * it began, and nothing but keys. The uploads run in this process, then from a child process (its own
 * event loop and sockets). Each test prints the upload throughput and the listing latencies.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import {
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createS3Client, listObjects, mapLimited } from '../../../lambdas/aws/s3';
import { LocalS3Server, localS3Env } from '../../../local/cloud/s3-server';
import {
  describeAnswer,
  loadBody,
  loadKey,
  recordResponses,
  statusOf,
  uploadClients,
} from '../../support/s3-upload-load';

const ROOT = resolve(__dirname, '..', '..', '..');
const UPLOADS = 2000;
const DELETES = 500;
const IN_FLIGHT = 300;
/** The SDK's three-line note that a client's sockets are all in use and requests wait for one. */
const SOCKET_USAGE_WARNING =
  /@smithy\/node-http-handler:WARN - socket usage at capacity[^\n]*\n(?:See [^\n]*\n)?(?:or increase [^\n]*\n)?/g;
const SETTLED_LISTINGS = 20;
const INDEXES = Array.from({ length: UPLOADS }, (_, i) => i);
const ALL_KEYS = INDEXES.map(loadKey);

/** What a name the server keeps for itself looks like: its suffixes, temporary files, escapes. */
const INTERNAL_NAME = /\._S3rver_|\.partial|\.tmp|\.md5$|metadata\.json|&/;

/** Which keys a listing may and must show, from the PUTs and DELETEs as they complete. */
class KeyLedger {
  readonly written = new Set<string>();
  readonly deleting = new Set<string>();
  readonly deleted = new Set<string>();

  constructor(readonly all: readonly string[]) {}

  /** Call as a listing starts; call what it returns as the listing ends. */
  begin(): () => { may: string[]; must: string[] } {
    const writtenBefore = [...this.written];
    const deletedBefore = new Set(this.deleted);
    return () => ({
      may: this.all.filter((k) => !deletedBefore.has(k)),
      // A key whose delete began before the listing ended may be listed or not.
      must: writtenBefore.filter((k) => !this.deleting.has(k)),
    });
  }
}

/** Keys under `prefix` as a listing with `delimiter` shows them: each folded into its common prefix. */
function entriesOf(keys: Iterable<string>, prefix: string, delimiter: string): Set<string> {
  const entries = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const at = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    entries.add(at >= 0 ? key.slice(0, at + delimiter.length) : key);
  }
  return entries;
}

type Listed = { keys: string[]; prefixes: string[] };
type PagedRequest = { prefix: string; delimiter: string; maxKeys: number; chain: 'token' | 'StartAfter' };
interface ListingMode {
  name: string;
  prefix: string;
  delimiter: string;
  list(client: S3Client, bucket: string): Promise<Listed>;
}

/** Every page of one listing, chained by continuation token or by the last key (StartAfter). */
async function listPages(client: S3Client, bucket: string, request: PagedRequest): Promise<Listed> {
  const listed: Listed = { keys: [], prefixes: [] };
  let token: string | undefined;
  let startAfter: string | undefined;
  for (let page = 1; ; page++) {
    const out = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: request.prefix || undefined,
        Delimiter: request.delimiter || undefined,
        MaxKeys: request.maxKeys,
        ContinuationToken: token,
        StartAfter: startAfter,
      }),
    );
    listed.keys.push(...(out.Contents ?? []).map((o) => o.Key ?? ''));
    listed.prefixes.push(...(out.CommonPrefixes ?? []).map((p) => p.Prefix ?? ''));
    if (!out.IsTruncated) return listed;
    if (page > 50) throw new Error('more than 50 pages: the listing does not advance');
    if (request.chain === 'token') token = out.NextContinuationToken;
    else startAfter = listed.keys.at(-1);
  }
}

const paged = (request: PagedRequest): ListingMode => ({
  name: `Prefix '${request.prefix}' Delimiter '${request.delimiter}' MaxKeys ${request.maxKeys} by ${request.chain}`,
  prefix: request.prefix,
  delimiter: request.delimiter,
  list: (client, bucket) => listPages(client, bucket, request),
});

const MODES: ListingMode[] = [
  {
    name: 'listObjects of lambdas/aws/s3.ts',
    prefix: '',
    delimiter: '',
    async list(client, bucket) {
      const keys: string[] = [];
      for await (const object of listObjects(client, bucket)) keys.push(object.Key ?? '');
      return { keys, prefixes: [] };
    },
  },
  paged({ prefix: '', delimiter: '', maxKeys: 1000, chain: 'token' }),
  paged({ prefix: '', delimiter: '', maxKeys: 250, chain: 'StartAfter' }),
  paged({ prefix: '', delimiter: '/', maxKeys: 1000, chain: 'token' }),
  paged({ prefix: 'a/', delimiter: '/', maxKeys: 1000, chain: 'token' }),
  paged({ prefix: 'c/', delimiter: '/', maxKeys: 1000, chain: 'token' }),
];

/** What is wrong with one listing: order, repeats, internal names, entries it may not or must show. */
function problemsOf(mode: ListingMode, listed: Listed, expected: { may: string[]; must: string[] }) {
  const problems: string[] = [];
  const note = (what: string, names: string[]) => {
    if (names.length > 0) problems.push(`${mode.name}: ${what} (${names.length}): ${names.slice(0, 5)}`);
  };
  note(
    'keys out of order or repeated',
    listed.keys.filter((k, i) => i > 0 && !(listed.keys[i - 1] < k)),
  );
  note(
    'common prefixes repeated',
    listed.prefixes.filter((p, i) => listed.prefixes.indexOf(p) !== i),
  );
  note(
    'internal names',
    [...listed.keys, ...listed.prefixes].filter((n) => INTERNAL_NAME.test(n)),
  );
  const shown = new Set([...listed.keys, ...listed.prefixes]);
  const may = entriesOf(expected.may, mode.prefix, mode.delimiter);
  note(
    'entries that do not (or no longer) exist',
    [...shown].filter((n) => !may.has(n)),
  );
  const must = entriesOf(expected.must, mode.prefix, mode.delimiter);
  note(
    'completed uploads missing',
    [...must].filter((n) => !shown.has(n)),
  );
  return problems;
}

type ListingReport = {
  listings: number;
  /** Listings that failed or showed the wrong entries. */
  failures: string[];
  /** Every ListObjectsV2 exchange (retries included): its time, and those not answered 200. */
  latencies: number[];
  refused: string[];
  /** Listing requests whose connection was reset (retried by the SDK). */
  resets: string[];
};

/**
 * Lists in each mode in turn until `load` settles (and at least `minimum` times), checking each listing
 * against the ledger.
 */
async function listWhile(
  client: S3Client,
  bucket: string,
  ledger: KeyLedger,
  load: Promise<unknown>,
  minimum = 1,
): Promise<ListingReport> {
  let settled = false;
  const settle = () => {
    settled = true;
  };
  load.then(settle, settle);
  const report: ListingReport = { listings: 0, failures: [], latencies: [], refused: [], resets: [] };
  recordResponses(client, (command, status, milliseconds, error) => {
    if (command !== 'ListObjectsV2Command') return;
    report.latencies.push(milliseconds);
    // A connection reset (status 0) is no answer: the SDK retries it, as against S3 (the listing's own
    // outcome is checked below). Under load a kept-alive socket can be closed as it is reused.
    if (status === 0) report.resets.push(describeAnswer(status, error));
    else if (status !== 200) report.refused.push(describeAnswer(status, error));
  });
  try {
    while (!settled || report.listings < minimum) {
      const mode = MODES[report.listings++ % MODES.length];
      const expected = ledger.begin();
      try {
        report.failures.push(...problemsOf(mode, await mode.list(client, bucket), expected()));
      } catch (e) {
        report.failures.push(`${mode.name}: ${describeAnswer(statusOf(e), e as Error)}`);
      }
    }
  } finally {
    client.middlewareStack.remove('recordResponses');
  }
  await load;
  return report;
}

/**
 * The exchanges of `clients` not answered `expected`: HTTP answers, and network errors (a connection
 * reset: the SDK retries those, as it does against S3).
 */
function recordAnswers(clients: S3Client[], expected: number): { refused: string[]; resets: string[] } {
  const answers = { refused: [] as string[], resets: [] as string[] };
  for (const client of clients) {
    recordResponses(client, (command, status, _ms, error) => {
      if (status === expected) return;
      (status === 0 ? answers.resets : answers.refused).push(`${command} ${describeAnswer(status, error)}`);
    });
  }
  return answers;
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];

function summary(what: string, report: ListingReport, extra = ''): string {
  return (
    `${what}: ${report.listings} listings, ${report.latencies.length} ListObjectsV2 requests, ` +
    `${report.refused.length} not answered 200 (${report.resets.length} reset and retried), latency p50 ${percentile(report.latencies, 50)?.toFixed(0)} ms ` +
    `p99 ${percentile(report.latencies, 99)?.toFixed(0)} ms${extra}`
  );
}

describe('listing a bucket of the local S3 server under load', () => {
  const server = new LocalS3Server();
  let directory: string;
  let endpoint: string;
  let lister: S3Client;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'medallion-s3-load-'));
    // No injected faults, whatever the environment asks for: every answer here must be the server's own.
    ({ endpoint } = await server.start({
      directory,
      buckets: ['in-process', 'from-child'],
      faults: { rate: 0 },
    }));
    lister = createS3Client(localS3Env(endpoint));
  });

  afterAll(async () => {
    lister.destroy();
    await server.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  /** `times` listings (cycling through the modes) of a bucket nobody changes: each 200 and exactly `keys`. */
  async function expectSettled(bucket: string, keys: string[], times: number): Promise<ListingReport> {
    const ledger = new KeyLedger(keys);
    for (const key of keys) ledger.written.add(key);
    const report = await listWhile(lister, bucket, ledger, Promise.resolve(), times);
    expect({ failures: report.failures, refused: report.refused }).toEqual({ failures: [], refused: [] });
    const everything = await MODES[1].list(lister, bucket); // paged by continuation token
    expect(everything.keys).toEqual([...keys].sort());
    return report;
  }

  describe('with the uploads in this process', () => {
    const bucket = 'in-process';
    const ledger = new KeyLedger(ALL_KEYS);

    /**
     * `work` on each item, `IN_FLIGHT` at once through their own clients, while `lister` lists: the
     * listings' report, the items done a second, and the exchanges not answered `expected`.
     */
    async function loadWhileListing<T>(
      items: readonly T[],
      expected: number,
      work: (client: S3Client, item: T) => Promise<void>,
    ) {
      const clients = uploadClients(IN_FLIGHT, localS3Env(endpoint));
      const answers = recordAnswers(clients, expected);
      const started = performance.now();
      let next = 0;
      const load = mapLimited(items, IN_FLIGHT, (item) => work(clients[next++ % clients.length], item)).then(
        () => performance.now() - started,
      );
      const report = await listWhile(lister, bucket, ledger, load).finally(() => {
        for (const client of clients) client.destroy();
      });
      const perSecond = items.length / ((await load) / 1000);
      expect({ failures: report.failures, refused: report.refused, load: answers.refused }).toEqual({
        failures: [],
        refused: [],
        load: [],
      });
      return { report, perSecond, answers };
    }

    it('answers every listing 200 with every completed upload and nothing else during 2,000 uploads', async () => {
      const { report, perSecond, answers } = await loadWhileListing(INDEXES, 200, async (client, index) => {
        await client.send(
          new PutObjectCommand({ Bucket: bucket, Key: ALL_KEYS[index], Body: loadBody(index) }),
        );
        ledger.written.add(ALL_KEYS[index]);
      });
      console.log(
        summary(
          `${bucket}, during 2,000 uploads`,
          report,
          `; ${perSecond.toFixed(0)} uploads/s, ${answers.refused.length} upload answers not 200, ` +
            `${answers.resets.length} connections reset (retried)`,
        ),
      );
      expect(report.listings).toBeGreaterThan(MODES.length);
    });

    it('lists exactly the 2,000 keys, twenty times over, once the uploads have settled', async () => {
      const report = await expectSettled(bucket, ALL_KEYS, SETTLED_LISTINGS);
      console.log(summary(`${bucket}, settled`, report));
    });

    it('answers every listing 200 without the deleted keys while 500 keys are deleted concurrently', async () => {
      const doomed = ALL_KEYS.filter((_, i) => i % 4 === 1);
      expect(doomed).toHaveLength(DELETES);
      const { report, perSecond, answers } = await loadWhileListing(doomed, 204, async (client, key) => {
        ledger.deleting.add(key);
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
        ledger.deleted.add(key);
      });
      console.log(
        summary(
          `${bucket}, during 500 deletes`,
          report,
          `; ${perSecond.toFixed(0)} deletes/s, ${answers.refused.length} not answered 204`,
        ),
      );
      // Once in each mode, after the deletes.
      await expectSettled(
        bucket,
        ALL_KEYS.filter((k) => !doomed.includes(k)),
        MODES.length,
      );
    });
  });

  describe('with the uploads from a child process', () => {
    const bucket = 'from-child';
    const ledger = new KeyLedger(ALL_KEYS);

    it('answers every listing 200 with every completed upload and nothing else during 2,000 uploads', async () => {
      const child = spawn(
        join(ROOT, 'node_modules', '.bin', 'tsx'),
        ['test/support/s3-upload-load.ts', bucket, String(UPLOADS), String(IN_FLIGHT)],
        {
          cwd: ROOT,
          // Without Node's warnings (the SDK's notice about Node 20), stderr is empty unless it fails.
          env: { ...process.env, ...localS3Env(endpoint), NODE_NO_WARNINGS: '1' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (chunk) => {
        stderr += String(chunk);
      });
      const failed: string[] = [];
      const uploadAnswers = { refused: [] as string[], resets: [] as string[] };
      let milliseconds = Number.NaN;
      let uploading: () => void = () => {};
      const firstPut = new Promise<void>((resolve) => {
        uploading = resolve;
      });
      createInterface({ input: child.stdout }).on('line', (line) => {
        const [word, rest] = [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)];
        if (word === 'put') {
          ledger.written.add(loadKey(Number(rest)));
          uploading();
        } else if (word === 'failed') failed.push(rest);
        else if (word === 'answer')
          (rest.startsWith('0 ') ? uploadAnswers.resets : uploadAnswers.refused).push(rest);
        else if (word === 'done') milliseconds = Number(rest);
      });
      const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
      // From the first upload on: listing the empty bucket while the child starts measures nothing.
      await Promise.race([firstPut, exited]);
      const report = await listWhile(lister, bucket, ledger, exited);
      console.log(
        summary(
          `${bucket}, during 2,000 uploads`,
          report,
          `; ${(UPLOADS / (milliseconds / 1000)).toFixed(0)} uploads/s, ${uploadAnswers.refused.length} upload ` +
            `answers not 200, ${uploadAnswers.resets.length} connections reset (retried)`,
        ),
      );
      // The SDK warns when a client's 50 sockets are all busy and requests queue: load, not a failure.
      const unexpected = stderr.replace(SOCKET_USAGE_WARNING, '');
      expect({ code: await exited, stderr: unexpected, failed }).toEqual({ code: 0, stderr: '', failed: [] });
      expect(ledger.written.size).toBe(UPLOADS);
      expect({ failures: report.failures, refused: report.refused, uploads: uploadAnswers.refused }).toEqual({
        failures: [],
        refused: [],
        uploads: [],
      });
      // Once in each mode, after the uploads.
      await expectSettled(bucket, ALL_KEYS, MODES.length);
    });
  });
});
