/**
 * The EMF writer, and the metrics the handlers put on their log lines, checked against the Embedded
 * Metric Format specification (what CloudWatch Logs needs to extract a metric from a line).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { ContractRegistry } from '../../../core/contracts/load-contracts';
import type { Manifest } from '../../../core/lake/manifest';
import {
  emitMetrics,
  METRIC_DIMENSIONS,
  METRIC_NAMES,
  METRICS_NAMESPACE,
  metricsDocument,
} from '../../../core/telemetry/metrics';
import type { BronzeObject } from '../../../lambdas/bronze-to-silver/bronze-object';
import { processBatch } from '../../../lambdas/bronze-to-silver/sqs-batch';
import { landApiRequest } from '../../../lambdas/landing/api-door';
import type { LandingConfig } from '../../../lambdas/landing/landing-config';
import { s3Record, sqsRecord, writeMinimalContracts } from '../../support/aws-events';
import { withLocalS3 } from '../../support/local-s3';

const UNITS = new Set(
  'Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes Bits Kilobits Megabits Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second Gigabytes/Second Terabytes/Second Bits/Second Kilobits/Second Megabits/Second Gigabits/Second Terabits/Second Count/Second None'.split(
    ' ',
  ),
);

interface Extracted {
  namespace: string;
  dimensions: Record<string, string>;
  values: Record<string, { value: number; unit: string }>;
  timestamp: number;
}

/**
 * Validates an EMF document the way the specification states it and returns what CloudWatch would
 * extract (one directive, one dimension set: what this project writes).
 */
function extract(doc: Record<string, unknown>): Extracted {
  const aws = doc._aws as { Timestamp: unknown; CloudWatchMetrics: unknown };
  expect(aws).toEqual({ Timestamp: expect.any(Number), CloudWatchMetrics: expect.any(Array) });
  expect(Number.isInteger(aws.Timestamp)).toBe(true);
  const directives = aws.CloudWatchMetrics as {
    Namespace: string;
    Dimensions: string[][];
    Metrics: { Name: string; Unit?: string }[];
  }[];
  expect(directives).toHaveLength(1);
  const [d] = directives;
  expect(Object.keys(d).sort()).toEqual(['Dimensions', 'Metrics', 'Namespace']);
  expect(d.Namespace.length).toBeGreaterThan(0);
  expect(d.Dimensions).toHaveLength(1);
  expect(d.Dimensions[0].length).toBeLessThanOrEqual(30);
  expect(d.Metrics.length).toBeLessThanOrEqual(100);
  const dimensions: Record<string, string> = {};
  for (const name of d.Dimensions[0]) {
    // A dimension target is a root member holding a string.
    expect(typeof doc[name]).toBe('string');
    dimensions[name] = doc[name] as string;
  }
  const values: Extracted['values'] = {};
  for (const m of d.Metrics) {
    expect(Object.keys(m).every((k) => k === 'Name' || k === 'Unit')).toBe(true);
    if (m.Unit !== undefined) expect(UNITS.has(m.Unit)).toBe(true);
    // A metric target is a root member holding a number.
    expect(typeof doc[m.Name]).toBe('number');
    expect(Number.isFinite(doc[m.Name])).toBe(true);
    values[m.Name] = { value: doc[m.Name] as number, unit: m.Unit ?? 'None' };
  }
  return { namespace: d.Namespace, dimensions, values, timestamp: aws.Timestamp as number };
}

describe('emitMetrics', () => {
  it('prints exactly one JSON line, a valid EMF document', () => {
    const lines: string[] = [];
    emitMetrics(
      METRICS_NAMESPACE,
      { Dataset: 'orders' },
      [
        { name: 'RowsIn', value: 10, unit: 'Count' },
        { name: 'TransformLagSeconds', value: 2.5, unit: 'Seconds' },
      ],
      { timestamp: 1_793_527_200_123, write: (line) => lines.push(line) },
    );

    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    const doc = JSON.parse(lines[0]);
    expect(extract(doc)).toEqual({
      namespace: 'Medallion',
      dimensions: { Dataset: 'orders' },
      values: {
        RowsIn: { value: 10, unit: 'Count' },
        TransformLagSeconds: { value: 2.5, unit: 'Seconds' },
      },
      timestamp: 1_793_527_200_123,
    });
  });

  it('writes to stdout through console.log by default, stamped with the current time', () => {
    const lines: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((line: string) => lines.push(line));
    try {
      const before = Date.now();
      emitMetrics(METRICS_NAMESPACE, {}, [{ name: METRIC_NAMES.GoldPublished, value: 1, unit: 'Count' }]);
      const doc = JSON.parse(lines[0]);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(doc._aws.Timestamp).toBeGreaterThanOrEqual(before);
      expect(doc._aws.Timestamp).toBeLessThanOrEqual(Date.now());
    } finally {
      spy.mockRestore();
    }
  });

  it('publishes without dimensions as one empty dimension set (how GoldPublished is emitted)', () => {
    const doc = metricsDocument(METRICS_NAMESPACE, {}, [{ name: METRIC_NAMES.GoldPublished, value: 1 }], 0);
    expect(doc._aws).toEqual({
      Timestamp: 0,
      CloudWatchMetrics: [
        { Namespace: 'Medallion', Dimensions: [[]], Metrics: [{ Name: 'GoldPublished', Unit: 'None' }] },
      ],
    });
    expect(extract(doc).values).toEqual({ GoldPublished: { value: 1, unit: 'None' } });
  });

  it('leaves out values that are not finite numbers instead of writing an invalid document', () => {
    const doc = metricsDocument(
      METRICS_NAMESPACE,
      { Dataset: 'orders' },
      [
        { name: 'A', value: Number.NaN },
        { name: 'B', value: Number.POSITIVE_INFINITY },
        { name: 'C', value: 0, unit: 'Count' },
      ],
      1,
    );
    expect(Object.keys(extract(doc).values)).toEqual(['C']);
    expect(doc).not.toHaveProperty('A');
    expect(doc).not.toHaveProperty('B');
  });

  it('refuses calls that would produce an invalid or ambiguous document', () => {
    const one = [{ name: 'X', value: 1 }];
    expect(() => metricsDocument('', {}, one)).toThrow(/namespace/);
    expect(() => metricsDocument('N', { Dataset: '' }, one)).toThrow(/Dataset/);
    expect(() => metricsDocument('N', { X: 'x' }, one)).toThrow(/name of a dimension/);
    expect(() => metricsDocument('N', {}, [...one, ...one])).toThrow(/twice/);
    expect(() => metricsDocument('N', {}, [{ name: '_aws', value: 1 }])).toThrow(/invalid metric name/);
    const many = Array.from({ length: 101 }, (_, i) => ({ name: `m${i}`, value: i }));
    expect(() => metricsDocument('N', {}, many)).toThrow(/at most 100/);
    const wide = Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`d${i}`, 'v']));
    expect(() => metricsDocument('N', wide, one)).toThrow(/at most 30/);
  });

  it('names each metric by itself (the CDK side and the handlers share these constants)', () => {
    for (const [key, value] of Object.entries(METRIC_NAMES)) expect(value).toBe(key);
    expect(METRIC_DIMENSIONS.Dataset).toBe('Dataset');
  });
});

describe('the transform puts its metrics on its one log line per object', () => {
  let logs: string[];
  beforeEach(() => {
    logs = [];
    jest.spyOn(console, 'log').mockImplementation((line: string) => logs.push(line));
    jest.spyOn(console, 'error').mockImplementation(() => {});
  });
  afterEach(() => jest.restoreAllMocks());

  const manifest = (obj: BronzeObject, over: Partial<Manifest> = {}): Manifest => ({
    manifestVersion: 1,
    status: 'ok',
    domain: 'retail',
    dataset: 'orders',
    source: { bucket: obj.bucket, key: obj.key },
    rows: { in: 100, out: 90, quarantined: 6, duplicates: 4 },
    quarantinedByReason: { 'amount|min': 6 },
    outputs: [],
    durationsMs: { total: 5 },
    startedAt: '2026-11-01T10:00:01.000Z',
    finishedAt: '2026-11-01T10:00:01.005Z',
    engine: 'test',
    ...over,
  });
  const event = (eventTime?: string): SQSEvent => {
    const record = s3Record('bronze', 'retail/orders/ingest_date=2026-11-01/a.csv');
    return {
      Records: [sqsRecord('m1', { Records: [{ ...record, eventTime: eventTime ?? record.eventTime }] })],
    };
  };
  const now = () => new Date('2026-11-01T10:00:30.000Z');

  it('rows in, out, quarantined and duplicates, the lag in seconds, by dataset', async () => {
    await processBatch({ process: async (o) => manifest(o) }, event('2026-11-01T10:00:00.000Z'), now);

    expect(logs).toHaveLength(1);
    const doc = JSON.parse(logs[0]);
    expect(doc).toMatchObject({ level: 'INFO', dataset: 'orders', lagMs: 30_000 });
    expect(extract(doc)).toEqual({
      namespace: 'Medallion',
      dimensions: { Dataset: 'orders' },
      values: {
        RowsIn: { value: 100, unit: 'Count' },
        RowsOut: { value: 90, unit: 'Count' },
        RowsQuarantined: { value: 6, unit: 'Count' },
        DuplicatesRemoved: { value: 4, unit: 'Count' },
        FilesQuarantined: { value: 0, unit: 'Count' },
        TransformLagSeconds: { value: 30, unit: 'Seconds' },
      },
      timestamp: now().getTime(),
    });
  });

  it('counts a rejected file, and leaves the lag out when the event time is unusable', async () => {
    const rejected = (o: BronzeObject) =>
      manifest(o, { status: 'quarantined', rows: { in: 0, out: 0, quarantined: 0, duplicates: 0 } });
    await processBatch({ process: async (o) => rejected(o) }, event('not a date'), now);

    const { values } = extract(JSON.parse(logs[0]));
    expect(values.FilesQuarantined).toEqual({ value: 1, unit: 'Count' });
    expect(values).not.toHaveProperty('TransformLagSeconds');
  });
});

describe('landing puts FilesLanded and BytesLanded on its log entry', () => {
  const s3 = withLocalS3(['landing', 'bronze', 'quarantine']);
  const entries: Record<string, unknown>[] = [];
  let config: LandingConfig;
  let dir: string;
  const at = new Date('2026-11-21T10:00:00Z');

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-contracts-'));
    writeMinimalContracts(dir, [{ domain: 'sales', dataset: 'orders', format: 'csv' }]);
    config = {
      s3: s3.client,
      contracts: ContractRegistry.fromDirectory(dir),
      landingBucket: 'landing',
      bronzeBucket: 'bronze',
      quarantineBucket: 'quarantine',
      maxBodyBytes: 64 * 1024,
      now: () => at,
      log: (entry) => entries.push(entry),
    };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('one file and its bytes when new, zero for bytes that had already landed', async () => {
    const body = 'id,day\n1,2026-11-20\n';
    const request = {
      dataset: 'orders',
      headers: { 'Content-Type': 'text/csv' },
      body: Buffer.from(body),
      requestId: 'r1',
    };
    await landApiRequest(config, request);
    await landApiRequest(config, request);

    expect(entries).toHaveLength(2);
    const [first, again] = entries.map((e) => extract(JSON.parse(JSON.stringify(e))));
    expect(first).toEqual({
      namespace: 'Medallion',
      dimensions: { Dataset: 'orders' },
      values: {
        FilesLanded: { value: 1, unit: 'Count' },
        BytesLanded: { value: body.length, unit: 'Bytes' },
      },
      timestamp: at.getTime(),
    });
    expect(again.values).toEqual({
      FilesLanded: { value: 0, unit: 'Count' },
      BytesLanded: { value: 0, unit: 'Bytes' },
    });
    expect(entries[1]).toMatchObject({ duplicate: true, dataset: 'orders' });
  });
});
