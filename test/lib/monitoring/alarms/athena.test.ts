/** The cost alarm of the Athena workgroup: in the composed stack, then alone. */
import { Size } from 'aws-cdk-lib';
import { addAthenaBytesScannedAlarm } from '../../../../lib/monitoring/alarms/athena';
import { alarmNamed, alarmsAlone } from '../../../support/cdk-alarms-alone';
import { synthesizeComposedStack, WORKGROUP } from '../../../support/cdk-composed-stack';

const { alarm } = synthesizeComposedStack();

describe('the Athena alarm of the composed stack', () => {
  test('AthenaBytesScanned: ProcessedBytes of the workgroup summed over a day, above 100 GiB', () => {
    expect(alarm('AthenaBytesScanned')).toMatchObject({
      Namespace: 'AWS/Athena',
      MetricName: 'ProcessedBytes',
      Dimensions: [{ Name: 'WorkGroup', Value: WORKGROUP }],
      Statistic: 'Sum',
      Period: 86400,
      Threshold: 100 * 1024 ** 3,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });
});

describe('addAthenaBytesScannedAlarm alone', () => {
  test('the threshold is the daily size in bytes; the description gives it in GiB and in USD', () => {
    const { alarms, template } = alarmsAlone();
    addAthenaBytesScannedAlarm(alarms, 'wg', Size.gibibytes(7));
    const a = alarmNamed(template(), 'AthenaBytesScanned');
    expect(a).toMatchObject({
      Threshold: 7 * 1024 ** 3,
      Period: 86400,
      Dimensions: [{ Name: 'WorkGroup', Value: 'wg' }],
    });
    expect(a.AlarmDescription).toMatch(
      /^Athena queries of workgroup wg scanned more than 7 GiB in a day \(about 0\.04 USD at 5 USD per TB\)\./,
    );
  });

  test('sizes that are not whole GiB are rounded to a tenth', () => {
    const { alarms, template } = alarmsAlone();
    addAthenaBytesScannedAlarm(alarms, 'wg', Size.mebibytes(1536 + 100));
    expect(alarmNamed(template(), 'AthenaBytesScanned').AlarmDescription).toContain(
      'more than 1.6 GiB in a day',
    );
  });
});
