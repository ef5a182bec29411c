import { goldAlarmLines, goldRunOutcome } from '../../../local/monitoring/run-alarms';

describe('the gold run in the alarms of a pipeline run', () => {
  it('names each alarm the workflow published after its failure path: models, then the current state', () => {
    const failure = (model: string) => ({ model, error: 'States.TaskFailed', message: 'boom' });
    expect(
      goldAlarmLines({ alarms: 2, failures: [failure('daily_sales'), failure('category_sales')] }),
    ).toEqual(['GoldModelFailed-daily_sales', 'GoldModelFailed-category_sales']);
    expect(goldAlarmLines({ alarms: 1, failures: [] })).toEqual(['CurrentStateFailed']);
    expect(goldAlarmLines({ alarms: 0, failures: [] })).toEqual([]);
  });

  it('counts a successful run as a publication, a skipped one as skipped, a failed one as neither', () => {
    const published = [
      { Namespace: 'Medallion', MetricData: [{ MetricName: 'GoldPublished', Value: 1, Unit: 'Count' }] },
    ];
    expect(goldRunOutcome({ status: 'SUCCEEDED' })).toEqual({ status: 'SUCCEEDED', metrics: published });
    expect(goldRunOutcome({ status: 'SUCCEEDED', skipped: ['local-1'] }).metrics).toEqual([
      { Namespace: 'Medallion', MetricData: [{ MetricName: 'GoldRunSkipped', Value: 1, Unit: 'Count' }] },
    ]);
    expect(
      goldRunOutcome({ status: 'FAILED', error: 'GoldModelFailed: gold model x was not published' }),
    ).toEqual({
      status: 'FAILED',
      error: { error: 'GoldModelFailed' },
      metrics: [],
    });
  });
});
