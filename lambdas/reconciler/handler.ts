/**
 * The reconciler Lambda, run on a schedule (EventBridge): re-drives the uploads and bronze objects the
 * event route lost (see stranded-objects.ts) and publishes how many as the `Stranded` metric, which alarms.
 *
 *   stranded upload         ->  the landing function, invoked asynchronously with the upload's S3 event
 *   stranded bronze object  ->  the transform queue, as the S3 event message its notification would be
 *
 * Configuration, the clients and the contracts are set up at module load.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ENV, positiveInt, readEnv } from '../../core/config/env';
import { ContractRegistry } from '../../core/contracts/load-contracts';
import { emitMetrics, METRIC_NAMES, METRICS_NAMESPACE } from '../../core/telemetry/metrics';
import { createS3Client } from '../aws/s3';
import { objectCreatedEventFor, type ReconcileReport, Reconciler } from './reconcile';
import { StrandedObjectFinder } from './stranded-objects';

const settings = readEnv({
  landingBucket: { name: ENV.LANDING_BUCKET },
  bronzeBucket: { name: ENV.BRONZE_BUCKET },
  silverBucket: { name: ENV.SILVER_BUCKET },
  quarantineBucket: { name: ENV.QUARANTINE_BUCKET },
  contractsDir: { name: ENV.CONTRACTS_DIR },
  queueUrl: { name: ENV.TRANSFORM_QUEUE_URL },
  landingFunction: { name: ENV.LANDING_FUNCTION_NAME },
  landingAfter: { name: ENV.STRANDED_LANDING_AFTER_MINUTES },
  bronzeAfter: { name: ENV.STRANDED_BRONZE_AFTER_MINUTES },
  lookbackDays: { name: ENV.RECONCILE_LOOKBACK_DAYS, default: '3' },
});
const scan = {
  landingAfterMs: positiveInt(ENV.STRANDED_LANDING_AFTER_MINUTES, settings.landingAfter) * 60_000,
  bronzeAfterMs: positiveInt(ENV.STRANDED_BRONZE_AFTER_MINUTES, settings.bronzeAfter) * 60_000,
  lookbackDays: positiveInt(ENV.RECONCILE_LOOKBACK_DAYS, settings.lookbackDays),
};
const region = process.env.AWS_REGION ?? 'us-east-1';
const s3 = createS3Client();
const sqs = new SQSClient({ maxAttempts: 5 });
const lambda = new LambdaClient({ maxAttempts: 5 });
const contracts = ContractRegistry.fromDirectory(settings.contractsDir).all;
const reconciler = new Reconciler(
  new StrandedObjectFinder({
    s3,
    buckets: {
      landing: settings.landingBucket,
      bronze: settings.bronzeBucket,
      silver: settings.silverBucket,
      quarantine: settings.quarantineBucket,
    },
    contracts,
  }),
  {
    landing: async (o) => {
      await lambda.send(
        new InvokeCommand({
          FunctionName: settings.landingFunction,
          InvocationType: 'Event',
          Payload: Buffer.from(JSON.stringify(objectCreatedEventFor(o, region))),
        }),
      );
    },
    bronze: async (o) => {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: settings.queueUrl,
          MessageBody: JSON.stringify(objectCreatedEventFor(o, region)),
        }),
      );
    },
  },
);

export async function handler(): Promise<ReconcileReport> {
  const report = await reconciler.run(new Date(), scan);
  emitMetrics(METRICS_NAMESPACE, {}, [
    { name: METRIC_NAMES.Stranded, value: report.stranded, unit: 'Count' },
  ]);
  console.log(JSON.stringify({ message: 'reconciled', ...report }));
  // A re-drive that failed leaves the object stranded: fail the invocation so that it shows as an error.
  if (report.failed.length > 0) {
    throw new Error(
      `could not re-drive ${report.failed.length} stranded object(s): ${report.failed[0].error}`,
    );
  }
  return report;
}
