/**
 * A process that works a journaled LocalQueue, to be killed (`kill -9`) by local-queue-journal.test.ts and
 * started again on the same journal.
 *
 * Usage: tsx queue-crash-child.ts <journalDir> <logFile> <messagesToSend> <msPerBatch>
 *
 * It sends `msg-0`... `msg-<n-1>`, prints `sent` once they are all journaled, and appends to the log, with
 * synchronous writes so that a kill loses nothing written before it:
 *   `R <body> <receiveCount>` when the consumer gets a message,
 *   `D <body>` once the consumer is done with it (before the queue deletes it).
 * When the queue is idle it prints `idle <dead letter count>` and exits.
 */
import { appendFileSync } from 'node:fs';
import { LocalQueue } from '../../local/cloud/local-queue';

const [journalDir, logFile, toSend, msPerBatch] = process.argv.slice(2);

const queue = new LocalQueue({
  name: 'crash',
  journalDir,
  batchSize: 10,
  concurrency: 2,
  maxReceiveCount: 100,
  consumer: async (event) => {
    appendFileSync(
      logFile,
      event.Records.map((r) => `R ${r.body} ${r.attributes.ApproximateReceiveCount}\n`).join(''),
    );
    await new Promise((resolve) => setTimeout(resolve, Number(msPerBatch)));
    appendFileSync(logFile, event.Records.map((r) => `D ${r.body}\n`).join(''));
    return { batchItemFailures: [] };
  },
});

for (let i = 0; i < Number(toSend); i++) queue.send(`msg-${i}`);
process.stdout.write('sent\n');
void queue.whenIdle().then(() => {
  process.stdout.write(`idle ${queue.deadLetters.length}\n`);
});
