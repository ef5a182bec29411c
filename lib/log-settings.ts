/**
 * The log settings of the constructs that own log groups (the functions, the ingest API's access log,
 * the gold workflow's execution log): one retention and one removal policy, with the app's defaults.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';

/** How long a construct keeps its logs, and what happens to its log groups with the stack. */
export interface LogSettings {
  /**
   * Retention of the construct's log groups.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the construct's log groups when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** The properties of a log group following `settings`, defaults applied. */
export function logGroupProps(
  settings: LogSettings,
): Pick<logs.LogGroupProps, 'retention' | 'removalPolicy'> {
  return {
    retention: settings.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    removalPolicy: settings.logRemovalPolicy ?? RemovalPolicy.RETAIN,
  };
}
