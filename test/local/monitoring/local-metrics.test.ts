import {
  emitMetrics,
  METRIC_NAMES,
  METRICS_NAMESPACE,
  metricsDocument,
} from '../../../core/telemetry/metrics';
import { LocalMetrics, MAX_POINTS_PER_METRIC, parseEmf } from '../../../local/monitoring/local-metrics';

const AT = Date.UTC(2026, 10, 1, 12, 0, 0);

describe('parseEmf', () => {
  it('reads the documents the handlers write: one data point per metric, with its dimensions and unit', () => {
    const line = JSON.stringify(
      metricsDocument(
        METRICS_NAMESPACE,
        { Dataset: 'stores' },
        [
          { name: METRIC_NAMES.RowsIn, value: 10, unit: 'Count' },
          { name: METRIC_NAMES.TransformLagSeconds, value: 2.5, unit: 'Seconds' },
        ],
        AT,
      ),
    );
    expect(parseEmf(line)).toEqual([
      {
        namespace: 'Medallion',
        name: 'RowsIn',
        dimensions: { Dataset: 'stores' },
        timestamp: AT,
        value: 10,
        unit: 'Count',
      },
      {
        namespace: 'Medallion',
        name: 'TransformLagSeconds',
        dimensions: { Dataset: 'stores' },
        timestamp: AT,
        value: 2.5,
        unit: 'Seconds',
      },
    ]);
  });

  it('reads a metric without dimensions (an empty dimension set) and skips text before the document', () => {
    const lines: string[] = [];
    emitMetrics(METRICS_NAMESPACE, {}, [{ name: METRIC_NAMES.Stranded, value: 0, unit: 'Count' }], {
      timestamp: AT,
      write: (l) => lines.push(l),
    });
    const prefixed = `2026-11-01T12:00:00.000Z\tabc-123\tINFO\t${lines[0]}`;
    expect(parseEmf(prefixed)).toEqual([
      { namespace: 'Medallion', name: 'Stranded', dimensions: {}, timestamp: AT, value: 0, unit: 'Count' },
    ]);
  });

  it('publishes each metric once per dimension set, and each value of an array', () => {
    const doc = {
      _aws: {
        Timestamp: AT,
        CloudWatchMetrics: [
          {
            Namespace: 'N',
            Dimensions: [['Dataset'], ['Dataset', 'Domain'], []],
            Metrics: [{ Name: 'Lag' }],
          },
        ],
      },
      Dataset: 'stores',
      Domain: 'retail',
      Lag: [1, 3],
    };
    const points = parseEmf(JSON.stringify(doc)) as { dimensions: object; value: number; unit: string }[];
    expect(points.map((p) => [p.dimensions, p.value, p.unit])).toEqual([
      [{ Dataset: 'stores' }, 1, 'None'],
      [{ Dataset: 'stores' }, 3, 'None'],
      [{ Dataset: 'stores', Domain: 'retail' }, 1, 'None'],
      [{ Dataset: 'stores', Domain: 'retail' }, 3, 'None'],
      [{}, 1, 'None'],
      [{}, 3, 'None'],
    ]);
  });

  it('takes the time it received the line when the document has no time stamp', () => {
    const doc = {
      _aws: { CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [[]], Metrics: [{ Name: 'x' }] }] },
      x: 1,
    };
    expect(parseEmf(JSON.stringify(doc), AT)).toEqual([
      { namespace: 'N', name: 'x', dimensions: {}, timestamp: AT, value: 1, unit: 'None' },
    ]);
  });

  it('ignores lines that are no EMF document', () => {
    expect(parseEmf('START RequestId: 1 Version: $LATEST')).toBeUndefined();
    expect(parseEmf(JSON.stringify({ level: 'INFO', message: 'transformed' }))).toBeUndefined();
    expect(parseEmf('{"_aws": not json')).toBeUndefined();
  });

  it('says why CloudWatch would publish nothing for a broken document', () => {
    const directive = (extra: object, members: object) =>
      JSON.stringify({
        _aws: {
          Timestamp: AT,
          CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [['D']], Metrics: [{ Name: 'x' }], ...extra }],
        },
        ...members,
      });
    expect(parseEmf(directive({}, { D: 5, x: 1 }))).toBe(
      'dimension D is not a string member of the document',
    );
    expect(parseEmf(directive({}, { D: 'a', x: 'one' }))).toBe(
      'metric x is not a number or an array of numbers',
    );
    expect(parseEmf(directive({ Namespace: '' }, { D: 'a', x: 1 }))).toBe(
      'a metric directive has no Namespace',
    );
    expect(parseEmf(JSON.stringify({ _aws: { CloudWatchMetrics: {} } }))).toBe(
      '_aws.CloudWatchMetrics is not an array',
    );
  });
});

describe('LocalMetrics', () => {
  const point = (dimensions: Record<string, string>, value: number, timestamp = AT, unit = 'Count') => ({
    namespace: 'Medallion',
    name: 'RowsIn',
    dimensions,
    timestamp,
    value,
    unit,
  });

  it('matches a metric by its whole dimension set, as CloudWatch does', () => {
    const metrics = new LocalMetrics();
    metrics.put(point({ Dataset: 'stores' }, 1));
    metrics.put(point({ Dataset: 'stores', Domain: 'retail' }, 2));
    metrics.put(point({}, 3));
    const values = (dimensions: Record<string, string>) =>
      metrics.query({ namespace: 'Medallion', name: 'RowsIn', dimensions }).map((p) => p.value);
    expect(values({ Dataset: 'stores' })).toEqual([1]);
    expect(values({ Domain: 'retail', Dataset: 'stores' })).toEqual([2]);
    expect(values({})).toEqual([3]);
    expect(values({ Dataset: 'orders' })).toEqual([]);
  });

  it('selects data points by time window and unit', () => {
    const metrics = new LocalMetrics();
    metrics.put(point({}, 1, AT - 1000));
    metrics.put(point({}, 2, AT));
    metrics.put(point({}, 3, AT, 'None'));
    const q = { namespace: 'Medallion', name: 'RowsIn', dimensions: {} };
    expect(metrics.query({ ...q, from: AT }).map((p) => p.value)).toEqual([2, 3]);
    expect(metrics.query({ ...q, to: AT - 1 }).map((p) => p.value)).toEqual([1]);
    expect(metrics.query({ ...q, unit: 'Count' }).map((p) => p.value)).toEqual([1, 2]);
  });

  it('stores the data points of log lines and counts the broken documents', () => {
    const metrics = new LocalMetrics();
    const line = JSON.stringify(
      metricsDocument('Medallion', { Dataset: 'stores' }, [{ name: 'RowsIn', value: 4 }], AT),
    );
    expect(metrics.recordLogLine(line)).toBe(1);
    expect(metrics.recordLogLine('{"level":"INFO","message":"hello"}')).toBe(0);
    expect(metrics.recordLogLine(JSON.stringify({ _aws: { CloudWatchMetrics: 'no' } }))).toBe(0);
    expect(metrics.all().map((p) => p.value)).toEqual([4]);
    expect(metrics.rejected).toEqual({ lines: 1, last: '_aws.CloudWatchMetrics is not an array' });
  });

  it('takes PutMetricData calls as the API does (the gold workflow publishes GoldPublished so)', () => {
    const metrics = new LocalMetrics();
    metrics.putMetricData('Medallion', [{ MetricName: 'GoldPublished', Value: 1, Unit: 'Count' }], AT);
    metrics.putMetricData('N', [
      {
        MetricName: 'x',
        Values: [1, 2],
        Dimensions: [{ Name: 'D', Value: 'a' }],
        Timestamp: new Date(AT - 5),
      },
    ]);
    expect(metrics.all()).toEqual([
      {
        namespace: 'Medallion',
        name: 'GoldPublished',
        dimensions: {},
        timestamp: AT,
        value: 1,
        unit: 'Count',
      },
      { namespace: 'N', name: 'x', dimensions: { D: 'a' }, timestamp: AT - 5, value: 1, unit: 'None' },
      { namespace: 'N', name: 'x', dimensions: { D: 'a' }, timestamp: AT - 5, value: 2, unit: 'None' },
    ]);
  });

  it('drops values that are not finite numbers and keeps a bounded number of points per metric', () => {
    const metrics = new LocalMetrics();
    metrics.put(point({}, Number.NaN));
    for (let i = 0; i < MAX_POINTS_PER_METRIC + 5; i++) metrics.put(point({}, i));
    const points = metrics.query({ namespace: 'Medallion', name: 'RowsIn', dimensions: {} });
    expect(points).toHaveLength(MAX_POINTS_PER_METRIC);
    expect(points[0].value).toBe(5);
  });
});
