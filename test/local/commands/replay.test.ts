import { join } from 'node:path';
import type { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { S3Event } from 'aws-lambda';
import { ReplayError } from '../../../core/errors';
import { decodeEventKey } from '../../../core/lake/layout';
import { replayToQueue } from '../../../local/commands/replay';
import { withLocalS3 } from '../../support/local-s3';

const CONTRACTS = join(__dirname, '..', '..', '..', 'samples', 'contracts');
const BRONZE = 'bronze';

/** SQS cannot run on this machine: a client that records what it is sent (and can refuse one entry). */
function recordingSqs(refuseId?: string) {
  const batches: SendMessageBatchCommand['input'][] = [];
  const client = {
    send: async (c: SendMessageBatchCommand) => {
      batches.push(c.input);
      const failed = (c.input.Entries ?? []).filter((e) => e.Id === refuseId);
      return {
        Successful: [],
        Failed: failed.map((e) => ({ Id: e.Id, Code: 'KMS.AccessDenied', SenderFault: false })),
      };
    },
  };
  return { batches, client: client as unknown as SQSClient };
}

describe('replay against a deployed stack (replayToQueue)', () => {
  const s3 = withLocalS3([BRONZE]);
  const keys = [
    ...Array.from(
      { length: 12 },
      (_, i) => `retail/orders/ingest_date=2026-11-0${i < 6 ? 1 : 2}/${String(i).padStart(64, 'a')}.csv`,
    ),
    'retail/orders/ingest_date=2026-11-02/with space+plus é.csv',
    'retail/customers/ingest_date=2026-11-02/c.ndjson',
    '_index/sha256/retail/orders/abc',
  ];

  /** Replays the orders dataset through `sqs` (options such as `since` added). */
  const replayOrders = (sqs: ReturnType<typeof recordingSqs>, extra: { since?: string } = {}) =>
    replayToQueue({
      dataset: 'orders',
      contractsDir: CONTRACTS,
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/111111111111/transform',
      bronzeBucket: BRONZE,
      s3: s3.client,
      sqs: sqs.client,
      out: () => undefined,
      ...extra,
    });

  beforeAll(async () => {
    for (const k of keys) await s3.put(BRONZE, k, 'order_id\n1\n');
  });

  it('sends one S3-shaped message per bronze object of the dataset, in batches of at most 10, keys URL-encoded', async () => {
    const sqs = recordingSqs();
    const sent = await replayOrders(sqs);
    expect(sent).toHaveLength(13);
    expect(sqs.batches.map((b) => b.Entries?.length)).toEqual([10, 3]);
    const records = sqs.batches
      .flatMap((b) => b.Entries ?? [])
      .map((e) => (JSON.parse(e.MessageBody as string) as S3Event).Records[0]);
    expect(records.every((r) => r?.eventName === 'ObjectCreated:Put' && r.s3.bucket.name === BRONZE)).toBe(
      true,
    );
    const odd = records.find((r) => r?.s3.object.key.includes('with'));
    expect(odd?.s3.object.key).toBe('retail/orders/ingest_date%3D2026-11-02/with+space%2Bplus+%C3%A9.csv');
    expect(decodeEventKey(odd?.s3.object.key as string)).toBe(
      'retail/orders/ingest_date=2026-11-02/with space+plus é.csv',
    );
  });

  it('says what becomes of gold: the next scheduled run, or a full refresh started once the queue is empty', async () => {
    const lines: string[] = [];
    await replayToQueue({
      dataset: 'orders',
      contractsDir: CONTRACTS,
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/111111111111/transform',
      bronzeBucket: BRONZE,
      s3: s3.client,
      sqs: recordingSqs().client,
      out: (line) => lines.push(line),
    });
    expect(lines[0]).toMatch(/^sent 13 bronze object\(s\) of retail\/orders to https:/);
    expect(lines[1]).toContain('the next scheduled run of the gold workflow merges');
    expect(lines[1]).toContain(`--input '{"fullRefresh": true}'`);
  });

  it('keeps only objects ingested on or after --since', async () => {
    const sqs = recordingSqs();
    const sent = await replayOrders(sqs, { since: '2026-11-02' });
    expect(sent).toHaveLength(7);
    expect(sent.every((k) => k.includes('ingest_date=2026-11-02'))).toBe(true);
  });

  it('fails naming the objects the queue refused', async () => {
    const sqs = recordingSqs('1');
    await expect(replayOrders(sqs)).rejects.toThrow(ReplayError);
  });
});
