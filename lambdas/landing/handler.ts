/**
 * The landing Lambda: translates its two event kinds into calls of the two doors (`api-door.ts`, `s3-door.ts`) and results into answers.
 *
 *  - `apiHandler`: API Gateway REST proxy, `POST /datasets/{dataset}/records`.
 *  - `s3Handler`: ObjectCreated notifications from the landing bucket.
 *  - `handler`: either, told apart by the event's shape (one function may serve both doors).
 *
 * Configuration, the S3 client and the contracts are read once per Lambda instance, at module load: a
 * missing variable or a broken contract fails the first invocation loudly, not a file half-way through.
 */
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Context,
  S3Event,
  S3EventRecord,
} from 'aws-lambda';
import { ENV, positiveInt, readEnv } from '../../core/config/env';
import { ContractRegistry } from '../../core/contracts/load-contracts';
import { LandingError } from '../../core/errors';
import { decodeEventKey } from '../../core/lake/layout';
import { createLogger } from '../../core/telemetry/logger';
import { createS3Client } from '../aws/s3';
import { landApiRequest } from './api-door';
import type { LandingConfig } from './landing-config';
import { landS3Object } from './s3-door';

const settings = readEnv({
  landingBucket: { name: ENV.LANDING_BUCKET },
  bronzeBucket: { name: ENV.BRONZE_BUCKET },
  quarantineBucket: { name: ENV.QUARANTINE_BUCKET },
  contractsDir: { name: ENV.CONTRACTS_DIR },
  maxBodyBytes: { name: ENV.MAX_BODY_BYTES, default: '6291456' },
});

const config: LandingConfig = {
  s3: createS3Client(),
  contracts: ContractRegistry.fromDirectory(settings.contractsDir),
  landingBucket: settings.landingBucket,
  bronzeBucket: settings.bronzeBucket,
  quarantineBucket: settings.quarantineBucket,
  maxBodyBytes: positiveInt(ENV.MAX_BODY_BYTES, settings.maxBodyBytes),
};

/** Failures the caller is not told the details of: JSON lines on stderr. */
const log = createLogger();

export async function apiHandler(
  event: APIGatewayProxyEvent,
  context: Context,
): Promise<APIGatewayProxyResult> {
  const requestId = event.requestContext?.requestId ?? context.awsRequestId;
  try {
    const landed = await landApiRequest(config, {
      dataset: event.pathParameters?.dataset,
      headers: event.headers,
      body: requestBody(event),
      requestId,
    });
    const message = landed.duplicate
      ? 'already landed: nothing new was stored'
      : 'accepted: stored in bronze';
    return respond(202, { message, ...landed });
  } catch (e) {
    if (e instanceof LandingError) return respond(e.statusCode, { message: e.message });
    log.error('API landing failed', { requestId, error: e });
    return respond(500, { message: 'internal error: the request was not stored, retry later', requestId });
  }
}

/**
 * Lands every record, then throws if any failed, so Lambda retries the event (or sends it to the
 * failure destination). Records that succeeded are safe to redo: their landing object is gone by then.
 */
export async function s3Handler(event: S3Event, context: Context): Promise<void> {
  const records = event.Records ?? [];
  const failures: string[] = [];
  for (const record of records) {
    try {
      await landRecord(record, context);
    } catch (e) {
      const key = record.s3?.object?.key;
      log.error('S3 landing failed', { bucket: record.s3?.bucket?.name, key, error: e });
      failures.push(`${key}: ${(e as Error).message}`);
    }
  }
  if (failures.length > 0) {
    throw new Error(
      `${failures.length} of ${records.length} uploads failed to land:\n  ${failures.join('\n  ')}`,
    );
  }
}

export async function handler(
  event: APIGatewayProxyEvent | S3Event,
  context: Context,
): Promise<APIGatewayProxyResult | undefined> {
  if (!('Records' in event)) return apiHandler(event, context);
  await s3Handler(event, context);
  return undefined;
}

async function landRecord(record: S3EventRecord, context: Context): Promise<void> {
  if (!record.eventName?.startsWith('ObjectCreated:')) return;
  const bucket = record.s3.bucket.name;
  // Landing deletes what it reads: refuse to touch any bucket but the one it owns.
  if (bucket !== config.landingBucket) {
    throw new Error(`event from bucket '${bucket}', but this function lands from '${config.landingBucket}'`);
  }
  const eventTime = new Date(record.eventTime);
  await landS3Object(config, {
    bucket,
    key: decodeEventKey(record.s3.object.key),
    requestId: record.responseElements?.['x-amz-request-id'] || context.awsRequestId,
    receivedAt: Number.isNaN(eventTime.getTime()) ? undefined : eventTime,
  });
}

function requestBody(event: APIGatewayProxyEvent): Buffer {
  if (event.body === null || event.body === undefined) return Buffer.alloc(0);
  return Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
}

function respond(statusCode: number, body: Record<string, unknown>): APIGatewayProxyResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
