import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSRecord } from 'aws-lambda';
import { Activity } from '../../../local/cloud/activity';
import { FunctionLogs } from '../../../local/cloud/lambda-runtime';
import { LocalFunctions } from '../../../local/cloud/local-functions';
import { LocalQueue, type LocalQueueOptions, type QueueConsumer } from '../../../local/cloud/local-queue';
import { drainedQueues, MessageErrors } from '../../../local/cloud/queue-consumers';
import { fixtureFunction, fixtureWiring } from './fixtures/wiring';

const ROOT = join(__dirname, '..', '..', '..');
const CRASH_CHILD = join(ROOT, 'test', 'support', 'queue-crash-child.ts');

let dir: string;
/** Every queue a test made, closed after it so that no timer or delivery outlives it. */
let made: LocalQueue[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'queue-journal-'));
});
afterEach(() => {
  for (const queue of made) queue.close();
  made = [];
  rmSync(dir, { recursive: true, force: true });
});

/** A queue journaled in the test's directory. */
function journaled(options: Omit<LocalQueueOptions, 'name' | 'journalDir'>): LocalQueue {
  const queue = new LocalQueue({ name: 'q', journalDir: dir, ...options });
  made.push(queue);
  return queue;
}

/** The message files of a queue's journal directory (not its temp files or subdirectories). */
const messageFiles = (queueDir: string) =>
  readdirSync(queueDir)
    .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
    .sort();
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

/** A consumer that records what it got and lets `answer` decide each batch's fate. */
function recorder(answer: (records: SQSRecord[], call: number) => Promise<string[]> = async () => []) {
  const records: SQSRecord[] = [];
  let calls = 0;
  const consumer: QueueConsumer = async (event) => {
    records.push(...event.Records);
    const failed = await answer(event.Records, ++calls);
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  };
  return { records, consumer, calls: () => calls };
}

const never = () => new Promise<never>(() => undefined);
const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((r) => setTimeout(r, 2));
};

describe('LocalQueue with a journal', () => {
  it('journals a message before send returns and delivers it again from a restart on the same directory', async () => {
    const first = journaled({ consumer: never, batchWindowMs: 60_000 });
    const ids = ['a', 'b', 'c'].map((body) => first.send(body));
    expect(messageFiles(dir)).toEqual(ids.map((id) => `${id}.json`).sort());
    expect(readJson(join(dir, `${ids[0]}.json`))).toEqual({
      messageId: ids[0],
      body: 'a',
      sentTimestamp: expect.any(Number),
      receiveCount: 0,
    });
    const sentAt = readJson(join(dir, `${ids[0]}.json`)).sentTimestamp;
    expect(first.close()).toBe(3);

    const { records, consumer } = recorder();
    const second = journaled({ consumer });
    expect(second.depth).toBe(3);
    await second.whenIdle();
    expect(records.map((r) => [r.messageId, r.body, r.attributes.ApproximateReceiveCount]).sort()).toEqual(
      [
        [ids[0], 'a', '1'],
        [ids[1], 'b', '1'],
        [ids[2], 'c', '1'],
      ].sort(),
    );
    expect(records.find((r) => r.body === 'a')?.attributes.SentTimestamp).toBe(String(sentAt));
    expect(messageFiles(dir)).toEqual([]);
  });

  it('makes a restored message count as pending work in a shared activity until it is dealt with', async () => {
    const first = journaled({ consumer: never, batchWindowMs: 60_000 });
    first.send('x');
    first.close();
    const activity = new Activity();
    const { records, consumer } = recorder();
    journaled({ consumer, activity });
    expect(activity.pending).toBe(1);
    await activity.whenIdle();
    expect(records.map((r) => r.body)).toEqual(['x']);
  });

  it('keeps receive counts, the first receive time and the last error across a restart', async () => {
    const { records: before, consumer: failing } = recorder(async (_records, call) => {
      if (call === 3) return never(); // the third receive is in flight when the process stops
      throw new Error('boom');
    });
    const first = journaled({ consumer: failing, maxReceiveCount: 5 });
    const id = first.send('flaky');
    await until(() => before.length === 3);
    first.close();
    expect(readJson(join(dir, `${id}.json`))).toMatchObject({ receiveCount: 3, lastError: 'boom' });

    const { records: after, consumer } = recorder();
    const second = journaled({ consumer, maxReceiveCount: 5 });
    await second.whenIdle();
    expect(after.map((r) => r.attributes.ApproximateReceiveCount)).toEqual(['4']);
    expect(after[0].attributes.ApproximateFirstReceiveTimestamp).toBe(
      before[0].attributes.ApproximateFirstReceiveTimestamp,
    );
    expect(messageFiles(dir)).toEqual([]);
  });

  it('delivers again a restored message whose last receive was cut short by the process dying: only failed receives count toward the redrive policy', async () => {
    const { records: before, consumer: failing } = recorder(async (_records, call) => {
      if (call === 2) return never();
      throw new Error('boom');
    });
    const first = journaled({ consumer: failing, maxReceiveCount: 2 });
    const id = first.send('in flight at the kill');
    await until(() => before.length === 2);
    first.close();

    const { records, consumer } = recorder();
    const second = journaled({ consumer, maxReceiveCount: 2 });
    await second.whenIdle();
    expect(records.map((r) => [r.messageId, r.attributes.ApproximateReceiveCount])).toEqual([[id, '3']]);
    expect(second.deadLetters).toEqual([]);
    expect(messageFiles(dir)).toEqual([]);
  });

  it('dead-letters, without delivering it, a restored message that took the process down 5 x maxReceiveCount times', async () => {
    const { records: before, consumer: hanging } = recorder(() => never());
    let queue = journaled({ consumer: hanging, maxReceiveCount: 1 });
    const id = queue.send('poison');
    for (let kill = 1; kill <= 5; kill++) {
      await until(() => before.length === kill);
      queue.close();
      if (kill < 5) queue = journaled({ consumer: hanging, maxReceiveCount: 1 });
    }
    const { consumer, calls } = recorder();
    const last = journaled({ consumer, maxReceiveCount: 1 });
    await last.whenIdle();
    expect(calls()).toBe(0);
    expect(last.deadLetters).toEqual([
      expect.objectContaining({ messageId: id, body: 'poison', receiveCount: 5 }),
    ]);
    expect(messageFiles(join(dir, 'dead'))).toEqual([`${id}.json`]);
  });

  it('restores the dead letters of an earlier run', async () => {
    const first = journaled({
      maxReceiveCount: 1,
      consumer: async () => {
        throw new Error('engine out of memory');
      },
    });
    const id = first.send('doomed');
    await first.whenIdle();
    first.close();
    expect(messageFiles(dir)).toEqual([]);
    expect(readJson(join(dir, 'dead', `${id}.json`))).toEqual(first.deadLetters[0]);

    const { consumer, calls } = recorder();
    const second = journaled({ consumer });
    expect(second.idle).toBe(true);
    expect(second.deadLetters).toEqual(first.deadLetters);
    expect(second.deadLetters[0]).toMatchObject({ receiveCount: 1, lastError: 'engine out of memory' });
    await new Promise((r) => setTimeout(r, 10));
    expect(calls()).toBe(0);
  });

  it('leaves queued and in-flight messages in the journal when closed', async () => {
    let answer: (failed: string[]) => void = () => undefined;
    const { records, consumer } = recorder(() => new Promise((resolve) => (answer = resolve)));
    const first = journaled({ consumer, batchSize: 1 });
    const inFlight = first.send('in flight');
    const queued = first.send('queued');
    await until(() => records.length === 1);
    expect(first.close()).toBe(1); // the one queued; the one in flight is still the consumer's
    expect(messageFiles(dir)).toEqual([`${inFlight}.json`, `${queued}.json`].sort());
    // The consumer fails it after the close: it stays for the next start, its receive counted.
    answer([inFlight]);
    await first.whenIdle();
    expect(messageFiles(dir)).toEqual([`${inFlight}.json`, `${queued}.json`].sort());
    expect(readJson(join(dir, `${inFlight}.json`)).receiveCount).toBe(1);
    expect(readJson(join(dir, `${queued}.json`)).receiveCount).toBe(0);
  });

  it('forgets a message whose processing finished after the close', async () => {
    let answer: (failed: string[]) => void = () => undefined;
    const { records, consumer } = recorder(() => new Promise((resolve) => (answer = resolve)));
    const first = journaled({ consumer });
    first.send('done late');
    await until(() => records.length === 1);
    first.close();
    answer([]);
    await first.whenIdle();
    expect(messageFiles(dir)).toEqual([]);
  });

  it('tells the bodies it still holds: queued, in flight and dead-lettered, restored ones included', async () => {
    const first = journaled({ consumer: never, batchWindowMs: 60_000 });
    first.send('restored');
    first.close();
    let answer: (failed: string[]) => void = () => undefined;
    const { records, consumer } = recorder(() => new Promise((resolve) => (answer = resolve)));
    const queue = journaled({ consumer, batchSize: 1, maxReceiveCount: 1 });
    queue.send('queued');
    await until(() => records.length === 1);
    expect(records[0].body).toBe('restored');
    expect(queue.pendingBodies().sort()).toEqual(['queued', 'restored']);
    answer([records[0].messageId]);
    await until(() => records.length === 2);
    expect(queue.deadLetters.map((d) => d.body)).toEqual(['restored']);
    expect(queue.pendingBodies().sort()).toEqual(['queued', 'restored']);
    answer([]);
    await queue.whenIdle();
    expect(queue.pendingBodies()).toEqual(['restored']);
  });

  it('moves unreadable files aside, removes leftover temporary files and still starts', async () => {
    const good = journaled({ consumer: never, batchWindowMs: 60_000 });
    const goodId = good.send('good');
    good.close();
    const torn = '0b5e2d4c-0000-4000-8000-000000000001';
    writeFileSync(join(dir, `${torn}.json`), '{"messageId":"0b5e2d4c-');
    writeFileSync(join(dir, 'wrong-shape.json'), JSON.stringify({ messageId: 'wrong-shape', body: 42 }));
    writeFileSync(join(dir, 'elsewhere.json'), readFileSync(join(dir, `${goodId}.json`)));
    writeFileSync(join(dir, 'dead', 'no-date.json'), JSON.stringify({ messageId: 'no-date' }));
    writeFileSync(join(dir, `.${goodId}.123.0.tmp`), '{"half');
    writeFileSync(join(dir, 'dead', '.x.123.1.tmp'), '');

    const problems: string[] = [];
    const { records, consumer } = recorder();
    const queue = journaled({ consumer, onJournalProblem: (p) => problems.push(p) });
    await queue.whenIdle();

    expect(records.map((r) => r.messageId)).toEqual([goodId]);
    expect(problems).toHaveLength(4);
    expect(problems.find((p) => p.includes(torn))).toMatch(/^queue q: moved unreadable .* \(not JSON: .*\)$/);
    expect(problems.find((p) => p.includes('elsewhere'))).toContain(`holds message ${goodId}`);
    expect(readdirSync(join(dir, 'unreadable')).sort()).toEqual(
      [`${torn}.json`, 'elsewhere.json', 'no-date.json', 'wrong-shape.json'].sort(),
    );
    expect(readdirSync(dir).sort()).toEqual(['dead', 'unreadable']);
    expect(readdirSync(join(dir, 'dead'))).toEqual([]);
  });

  it('counts a message journaled both as queued and as dead (killed in between) as dead only', async () => {
    const first = journaled({ consumer: never, batchWindowMs: 60_000 });
    const id = first.send('both');
    first.close();
    const message = readJson(join(dir, `${id}.json`));
    writeFileSync(
      join(dir, 'dead', `${id}.json`),
      JSON.stringify({ ...message, deadLetteredAt: Date.now() }),
    );

    const { consumer, calls } = recorder();
    const second = journaled({ consumer });
    expect(second.idle).toBe(true);
    expect(second.deadLetters.map((d) => d.messageId)).toEqual([id]);
    expect(existsSync(join(dir, `${id}.json`))).toBe(false);
    await new Promise((r) => setTimeout(r, 10));
    expect(calls()).toBe(0);
  });
});

describe('drainedQueues with a journal directory', () => {
  const logs = new FunctionLogs(() => {});
  beforeAll(() => logs.install());
  afterAll(() => logs.uninstall());

  it('journals each queue under <journalDir>/<queue name>', async () => {
    const wiring = fixtureWiring({
      functions: { Transform: fixtureFunction('Transform', 'batch') },
      queues: {
        TransformQueueA1B2C3D4: {
          logicalId: 'TransformQueueA1B2C3D4',
          maxReceiveCount: 2,
          consumer: { function: 'Transform', batchSize: 5, reportBatchItemFailures: true },
        },
      },
      routes: [],
    });
    const functions = new LocalFunctions(
      wiring,
      { bucketPrefix: 'test', region: 'eu-west-1', accountId: '123456789012' },
      logs,
    );
    functions.load({});
    const activity = new Activity();
    const queues = drainedQueues(wiring, functions, {
      bucketPrefix: 'test',
      journalDir: dir,
      activity,
      errors: new MessageErrors(),
      onTransformed: () => {},
      onTransformFailed: () => {},
      onDeadLettered: () => {},
    });
    const queue = queues.get('TransformQueueA1B2C3D4');
    const id = queue?.send('{}');
    expect(messageFiles(join(dir, 'test-TransformQueue'))).toEqual([`${id}.json`]);
    await activity.whenIdle();
    queue?.close();
    expect(messageFiles(join(dir, 'test-TransformQueue'))).toEqual([]);
  });
});

/** A Node process running test/support/queue-crash-child.ts (tsx loaded in-process, so a kill reaches it). */
function crashChild(journalDir: string, log: string, toSend: number, msPerBatch: number) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', CRASH_CHILD, journalDir, log, String(toSend), String(msPerBatch)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.on('exit', () => {
      exited = true;
      resolve();
    }),
  );
  /** Resolves once the child printed `text`; fails if it exits first. */
  const printed = async (text: string) => {
    await until(() => output.includes(text) || exited);
    if (!output.includes(text)) throw new Error(`child exited before printing ${text}:\n${output}`);
  };
  return { child, exit, printed, output: () => output };
}

/** The log lines a crash child wrote: receives (body and count) and bodies it finished. */
function readLog(log: string) {
  const lines = existsSync(log) ? readFileSync(log, 'utf8').split('\n') : [];
  const receives = lines.filter((l) => l.startsWith('R ')).map((l) => l.split(' '));
  return {
    received: receives.map(([, body, count]) => ({ body, count: Number(count) })),
    done: new Set(lines.filter((l) => l.startsWith('D ')).map((l) => l.slice(2))),
  };
}

describe('a journaled queue killed with SIGKILL', () => {
  const MESSAGES = 200;

  it('loses nothing: a restart on the same journal finishes the work and counts the interrupted receives', async () => {
    let inFlightAtKills = 0;
    for (let round = 0; round < 5; round++) {
      const journal = join(dir, `round-${round}`, 'crash');
      mkdirSync(journal, { recursive: true });
      const firstLog = join(dir, `round-${round}`, 'first.log');
      const secondLog = join(dir, `round-${round}`, 'second.log');
      // Kill once the first process has finished somewhere between none and most of the messages.
      const killAfter = Math.floor(Math.random() * (MESSAGES - 20));
      const context = `round ${round}, killed after ${killAfter} messages done`;

      const first = crashChild(journal, firstLog, MESSAGES, 40);
      await first.printed('sent');
      await until(() => readLog(firstLog).done.size >= killAfter);
      first.child.kill('SIGKILL');
      await first.exit;
      expect({ context, signal: first.child.signalCode }).toEqual({ context, signal: 'SIGKILL' });
      const before = readLog(firstLog);

      const second = crashChild(journal, secondLog, 0, 0);
      await second.printed('idle');
      expect({ context, output: second.output().trim() }).toEqual({ context, output: 'sent\nidle 0' });
      await second.exit;
      const after = readLog(secondLog);

      const all = Array.from({ length: MESSAGES }, (_, i) => `msg-${i}`);
      const lost = all.filter((body) => !before.done.has(body) && !after.done.has(body));
      expect({ context, lost }).toEqual({ context, lost: [] });
      // Received before the kill but not finished: in flight. Each comes back with its receive counted.
      const inFlight = before.received.filter((r) => !before.done.has(r.body));
      inFlightAtKills += inFlight.length;
      const redelivered = new Map(after.received.map((r) => [r.body, r.count]));
      const undercounted = inFlight
        .map((r) => ({ body: r.body, before: r.count, after: redelivered.get(r.body) }))
        .filter((r) => r.after === undefined || r.after < 2 || r.after <= r.before);
      expect({ context, undercounted }).toEqual({ context, undercounted: [] });
      expect({ context, left: messageFiles(journal) }).toEqual({ context, left: [] });
    }
    // Two batches of 10 are worked on at once: a kill nearly always interrupts some.
    expect(inFlightAtKills).toBeGreaterThan(0);
  }, 60_000);
});
