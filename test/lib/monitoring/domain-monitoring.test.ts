/** A domain's monitoring: its datasets' alarms to the platform's topic, and dashboards of 20 datasets a page. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { loadContracts } from '../../../core/contracts/load-contracts';
import { DATASETS_PER_DASHBOARD } from '../../../lib/monitoring/domain-dashboard';
import { DomainMonitoring } from '../../../lib/monitoring/domain-monitoring';
import { testContext } from '../../support/cdk';
import { writeGeneratedContracts } from '../../support/generated-contracts';

interface Widget {
  type: string;
  properties: { metrics?: unknown[][]; alarms?: unknown[]; title?: string };
}

function domainOf(datasets: number) {
  const dir = mkdtempSync(join(tmpdir(), 'medallion-domain-monitoring-'));
  writeGeneratedContracts(dir, { domains: 1, perDomain: datasets });
  const contracts = loadContracts(dir);
  rmSync(dir, { recursive: true, force: true });
  const app = new App({ context: testContext() });
  const stack = new Stack(app, 'Domain');
  const monitoring = new DomainMonitoring(stack, 'DomainMonitoring', {
    domain: 'retail',
    contracts,
    alarmTopic: sns.Topic.fromTopicArn(stack, 'Topic', 'arn:aws:sns:eu-west-1:111111111111:alarms'),
    alarmNamePrefix: 'Medallion-dev',
    dashboardName: 'Medallion-dev-retail',
  });
  const t = Template.fromStack(stack);
  const bodies = Object.values(t.findResources('AWS::CloudWatch::Dashboard')).map((d) => {
    const body = d.Properties.DashboardBody;
    const text =
      typeof body === 'string'
        ? body
        : (body['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'ref')).join('');
    return {
      name: d.Properties.DashboardName as string,
      widgets: (JSON.parse(text) as { widgets: Widget[] }).widgets,
    };
  });
  return { monitoring, t, bodies, contracts };
}

describe('DomainMonitoring', () => {
  test('two alarms per dataset, both transitions sent to the given topic', () => {
    const { monitoring, t } = domainOf(3);
    expect(Object.keys(monitoring.alarms).sort()).toEqual(
      ['retail_events_000', 'retail_events_001', 'retail_events_002']
        .flatMap((d) => [`FilesRejected-${d}`, `QuarantineRatio-${d}`])
        .sort(),
    );
    for (const a of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) {
      expect(a.Properties.AlarmActions).toEqual(['arn:aws:sns:eu-west-1:111111111111:alarms']);
      expect(a.Properties.OKActions).toEqual(a.Properties.AlarmActions);
      expect(a.Properties.AlarmName).toMatch(
        /^Medallion-dev-(QuarantineRatio|FilesRejected)-retail_events_\d{3}$/,
      );
    }
  });

  test('a dashboard row per dataset: landed files and bytes, rows, the quarantine ratio alarm, lag', () => {
    const { bodies } = domainOf(2);
    expect(bodies.map((b) => b.name)).toEqual(['Medallion-dev-retail']);
    const metrics = bodies[0].widgets.flatMap((w) =>
      (w.properties.metrics ?? []).flatMap((m) => m.filter((x): x is string => typeof x === 'string')),
    );
    for (const name of [
      'FilesLanded',
      'BytesLanded',
      'RowsIn',
      'RowsOut',
      'RowsQuarantined',
      'TransformLagSeconds',
    ])
      expect(metrics).toContain(name);
    const status = bodies[0].widgets.filter((w) => w.type === 'alarm');
    expect(status).toHaveLength(1);
    expect(status[0].properties.alarms).toHaveLength(4);
  });

  test(`45 datasets: pages of ${DATASETS_PER_DASHBOARD}, each within 100 widgets and its status within 100 alarms`, () => {
    const { bodies, monitoring } = domainOf(45);
    expect(bodies.map((b) => b.name).sort()).toEqual(
      ['Medallion-dev-retail', 'Medallion-dev-retail-2', 'Medallion-dev-retail-3'].sort(),
    );
    expect(monitoring.dashboards.map((d) => d.node.id)).toEqual(['Dashboard', 'Dashboard2', 'Dashboard3']);
    for (const b of bodies) {
      expect(b.widgets.length).toBeLessThanOrEqual(100);
      for (const w of b.widgets.filter((x) => x.type === 'alarm'))
        expect(w.properties.alarms?.length).toBeLessThanOrEqual(100);
    }
    // Every dataset's alarms are on exactly one page.
    const onPages = bodies.flatMap((b) =>
      b.widgets.filter((w) => w.type === 'alarm').flatMap((w) => w.properties.alarms),
    );
    expect(onPages).toHaveLength(90);
  });
});
