/** Dataset alarms (quarantine ratio, rejected files), against each contract: composed stack, then alone. */
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { loadContracts } from '../../../../core/contracts/load-contracts';
import { contractsDirectory } from '../../../../lib/config';
import { createMedallionApp } from '../../../../lib/medallion-app';
import { addDatasetAlarms, quarantineRatioAlarmId } from '../../../../lib/monitoring/alarms/datasets';
import { testContext } from '../../../support/cdk';
import { alarmNamed, alarmsAlone } from '../../../support/cdk-alarms-alone';
import { expression, mathMetrics } from '../../../support/cdk-composed-stack';

// The samples' domain stack, as `cdk synth` builds it.
const [retail] = createMedallionApp({ context: testContext() }).domainStacks;
const { monitoring } = retail;
const alarmResources = Template.fromStack(retail).findResources('AWS::CloudWatch::Alarm');
function alarm(id: string): Record<string, unknown> {
  const found = Object.values(alarmResources).filter((a) => a.Properties.AlarmName === `Medallion-dev-${id}`);
  if (found.length !== 1)
    throw new Error(`expected one alarm named Medallion-dev-${id}, found ${found.length}`);
  return found[0].Properties;
}

describe("the dataset alarms of the samples' domain stack", () => {
  test("one quarantine-ratio alarm per contract, at the contract's maxQuarantineRatio", () => {
    const contracts = loadContracts(contractsDirectory({ contractsDir: 'samples/contracts' }));
    expect(contracts.map((c) => c.dataset).sort()).toEqual(['customers', 'orders', 'products']);
    const ratioAlarms = Object.keys(monitoring.alarms).filter((id) => id.startsWith('QuarantineRatio-'));
    expect(ratioAlarms).toHaveLength(contracts.length);
    for (const c of contracts) {
      const a = alarm(`QuarantineRatio-${c.dataset}`);
      expect(a).toMatchObject({
        Threshold: c.quality.maxQuarantineRatio,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
      expect(expression(a)).toBe('IF(rowsIn > 0, quarantined / rowsIn, 0)');
      const m = mathMetrics(a);
      for (const [id, name] of [
        ['rowsIn', 'RowsIn'],
        ['quarantined', 'RowsQuarantined'],
      ]) {
        expect(m[id]).toEqual({
          Metric: {
            Namespace: 'Medallion',
            MetricName: name,
            Dimensions: [{ Name: 'Dataset', Value: c.dataset }],
          },
          Period: 300,
          Stat: 'Sum',
        });
      }
      expect(a.AlarmDescription).toContain(`quarantine bucket under rows/${c.id}/`);
    }
    // orders declares 0.2 and customers 0.1; products takes the default.
    expect(alarm('QuarantineRatio-orders').Threshold).toBe(0.2);
    expect(alarm('QuarantineRatio-customers').Threshold).toBe(0.1);
    expect(alarm('QuarantineRatio-products').Threshold).toBe(0.05);
  });

  test('FilesRejected-<dataset>: any whole file quarantined', () => {
    expect(alarm('FilesRejected-orders')).toMatchObject({
      Namespace: 'Medallion',
      MetricName: 'FilesQuarantined',
      Dimensions: [{ Name: 'Dataset', Value: 'orders' }],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });
});

describe('addDatasetAlarms alone', () => {
  test('the quarantine-ratio alarm is QuarantineRatio-<dataset>', () => {
    expect(quarantineRatioAlarmId('orders')).toBe('QuarantineRatio-orders');
  });

  test("the descriptions name the contract's owner when it has one", () => {
    const [owned] = loadContracts(contractsDirectory({ contractsDir: 'samples/contracts' })).filter(
      (c) => c.dataset === 'orders',
    );
    const [unowned] = loadContracts(join(__dirname, '..', '..', 'fixtures', 'two-domains')).filter(
      (c) => c.dataset === 'shipments',
    );
    expect(owned.owner).toBeDefined();
    expect(unowned.owner).toBeUndefined();
    const { alarms, template } = alarmsAlone();
    addDatasetAlarms(alarms, owned);
    addDatasetAlarms(alarms, unowned);
    const description = (id: string) => alarmNamed(template(), id).AlarmDescription as string;
    expect(description('QuarantineRatio-orders')).toContain(
      `tell the producer (owner: ${owned.owner?.contact}) and`,
    );
    expect(description('FilesRejected-orders')).toContain(
      `have the producer (owner: ${owned.owner?.contact}) send`,
    );
    expect(description('QuarantineRatio-shipments')).toContain('tell the producer and');
    expect(description('FilesRejected-shipments')).toContain('have the producer send');
  });
});
