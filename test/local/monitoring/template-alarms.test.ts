/**
 * The alarms of the REAL app (the sample contracts and models, every stack merged), evaluated locally:
 * each one is either evaluated or listed here as not evaluated, with its reason. An alarm added to lib/
 * that this evaluator cannot read (an unknown metric, function or reference) fails this test.
 */
import { METRICS_NAMESPACE, metricsDocument } from '../../../core/telemetry/metrics';
import { deriveWiring } from '../../../local/cloud/template-wiring';
import { type CfnTemplate, synthesizeTemplate } from '../../../local/gold/state-machine-definition';
import { type AlarmResult, evaluateAlarms } from '../../../local/monitoring/alarm-evaluation';
import { CloudMetricsRecorder, recordGoldRun } from '../../../local/monitoring/cloud-metrics';
import { LocalMetrics } from '../../../local/monitoring/local-metrics';

/** The alarms a local run does not evaluate, and why (by alarm id). */
const NOT_EVALUATED: Record<string, RegExp> = {
  'Throttles-IngestApi': /concurrency limits are not emulated locally/,
  'Throttles-Landing': /concurrency limits are not emulated locally/,
  'Throttles-Reconciler': /concurrency limits are not emulated locally/,
  'Throttles-Transform': /concurrency limits are not emulated locally/,
  AthenaBytesScanned: /daily total of what Athena bills/,
  // The sample orders' completeness SLO: its trailing baseline is a model trained on weeks of history.
  'slo-orders-completeness-ticket-baseline': /anomaly detection band, .* a local run has no history/,
};
/** Alarms on missing data: not evaluated when the run has no data point for them. */
const ABSENCE_OF_DATA = ['Freshness', 'Stranded'];

let template: CfnTemplate;

// Synthesis takes ~8 s on an idle 2-core box, 35-40 s when the machine is loaded.
beforeAll(() => {
  ({ template } = synthesizeTemplate({
    config: { contractsDir: 'samples/contracts', gold: { modelsDir: 'samples/models' } },
  }));
}, 180_000);

const byId = (results: AlarmResult[]) => Object.fromEntries(results.map((r) => [r.alarmId, r]));

describe('the alarms of the synthesized app, evaluated locally', () => {
  it('evaluates every alarm, or says why not; none uses what the evaluator does not know', () => {
    const results = evaluateAlarms(template, new LocalMetrics());
    expect(results.length).toBeGreaterThanOrEqual(20);
    expect(results.filter((r) => r.unsupported).map((r) => `${r.alarmId}: ${r.reason}`)).toEqual([]);
    const notEvaluated = results.filter((r) => r.state === 'NOT_EVALUATED');
    expect(notEvaluated.map((r) => r.alarmId).sort()).toEqual(
      [...Object.keys(NOT_EVALUATED), ...ABSENCE_OF_DATA].sort(),
    );
    for (const r of notEvaluated) {
      expect(r.reason).toMatch(
        NOT_EVALUATED[r.alarmId] ?? /alarms on missing data, and a local run is too short/,
      );
      expect(r.line).toBe(`${r.alarmId} not evaluated locally: ${r.reason}`);
    }
    // A clean run with no data: nothing alarms but the gold models' freshness SLO windows (no model was
    // published: stale), which notify nobody themselves (their composites do; the run's SLOs are judged by
    // local/monitoring/product-slis.ts).
    const alarmed = results.filter((r) => r.state === 'ALARM').map((r) => r.alarmId);
    expect(alarmed.filter((id) => !/^slo-[a-z_]+-freshness-(page|ticket)-\w+$/.test(id))).toEqual([]);
    expect(alarmed).toHaveLength(3 * 6);
  });

  it('names the alarms as the pipeline does, without the stack prefix', () => {
    const ids = evaluateAlarms(template, new LocalMetrics()).map((r) => r.alarmId);
    expect(ids).toEqual(
      expect.arrayContaining([
        'QuarantineRatio-customers',
        'FilesRejected-orders',
        'DeadLetters-TransformDeadLetters',
        'DeadLetters-LandingFailures',
        'ErrorRate-Transform',
        'DurationNearTimeout-Transform',
        'GoldWorkflowFailures',
        'Freshness',
      ]),
    );
  });

  it('alarms on what a bad run records, under the names the local cloud records them with', () => {
    // The local cloud names what it records after its wiring (the same logical ids as the template).
    const wiring = deriveWiring(template);
    const drained = Object.values(wiring.queues).find((q) => q.consumer && q.deadLetterQueue);
    const landing = wiring.routes.find((r) => r.destination.type === 'function')?.destination.logicalId;
    if (!drained?.consumer || !drained.deadLetterQueue || !landing) throw new Error('unexpected wiring');

    const metrics = new LocalMetrics();
    const recorder = new CloudMetricsRecorder(metrics);
    const emf = (dataset: string, values: Record<string, number>) =>
      metrics.recordLogLine(
        JSON.stringify(
          metricsDocument(
            METRICS_NAMESPACE,
            { Dataset: dataset },
            Object.entries(values).map(([name, value]) => ({ name, value, unit: 'Count' as const })),
          ),
        ),
      );
    emf('products', { RowsIn: 10, RowsQuarantined: 5, FilesQuarantined: 0 });
    emf('orders', { RowsIn: 0, RowsQuarantined: 0, FilesQuarantined: 1 });
    emf('customers', { RowsIn: 11, RowsQuarantined: 0, FilesQuarantined: 0 });
    recorder.deadLetterDepth(drained.deadLetterQueue, 1);
    recorder.asyncInvocationsFailed(landing);
    const transform = drained.consumer.function;
    recorder.invocation({ logicalId: transform, at: Date.now(), durationMs: 800_000, failed: true });
    recorder.stranded(3);
    recordGoldRun(metrics, { status: 'FAILED', error: { error: 'GoldModelFailed' }, metrics: [] });

    const results = byId(evaluateAlarms(template, metrics));
    const alarmed = Object.values(results).filter((r) => r.state === 'ALARM');
    // The SLO windows: products' quality (50% quarantined, over every threshold at 99%) and the gold
    // models' freshness (nothing published).
    const slo = alarmed.filter((r) => r.alarmId.startsWith('slo-')).map((r) => r.alarmId);
    expect(slo.filter((id) => id.startsWith('slo-products-quality-'))).toHaveLength(6);
    expect(slo.filter((id) => /-freshness-/.test(id))).toHaveLength(3 * 6);
    expect(slo).toHaveLength(6 + 3 * 6);
    expect(
      alarmed
        .filter((r) => !r.alarmId.startsWith('slo-'))
        .map((r) => r.line)
        .sort(),
    ).toEqual(
      [
        'QuarantineRatio-products 50% > 5%',
        'FilesRejected-orders 1 > 0',
        'DeadLetters-TransformDeadLetters 1 > 0',
        'DeadLetters-LandingFailures 1 > 0',
        'DurationNearTimeout-Transform 800000 ms > 720000 ms',
        'GoldWorkflowFailures 1 > 0',
        'Stranded 3 > 0',
      ].sort(),
    );
    expect(results['ErrorRate-Transform']).toMatchObject({ state: 'OK', value: 1 }); // 1 period of the 2 needed
    expect(results['QuarantineRatio-customers']).toMatchObject({ state: 'OK', value: 0 });
    expect(results.Freshness.state).toBe('NOT_EVALUATED'); // the failed run published nothing
  });

  it('takes a successful gold run as a fresh publication', () => {
    const metrics = new LocalMetrics();
    recordGoldRun(metrics, {
      status: 'SUCCEEDED',
      metrics: [
        { Namespace: 'Medallion', MetricData: [{ MetricName: 'GoldPublished', Value: 1, Unit: 'Count' }] },
      ],
    });
    const results = byId(evaluateAlarms(template, metrics));
    expect(results.Freshness).toMatchObject({ state: 'OK', value: 1 });
    expect(results.GoldWorkflowFailures).toMatchObject({ state: 'OK', value: 0 });
  });

  it('is cheap enough to call on every refresh of a dashboard', () => {
    const metrics = new LocalMetrics();
    for (let i = 0; i < 1000; i++) {
      metrics.recordLogLine(
        JSON.stringify(
          metricsDocument(METRICS_NAMESPACE, { Dataset: 'orders' }, [{ name: 'RowsIn', value: i }]),
        ),
      );
    }
    evaluateAlarms(template, metrics);
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) evaluateAlarms(template, metrics);
    expect((performance.now() - t0) / 100).toBeLessThan(50); // ~2 ms outside Jest on the 2-core box
  });
});
