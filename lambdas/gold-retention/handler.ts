/**
 * The gold-retention Lambda, invoked by the gold workflow once every model of a run was published (runs
 * never overlap):
 *
 *   { executionName, models }   -> RetentionReport (per model: the versions kept and those deleted)
 *
 * The execution name is the run's version (`<model>/v=<execution name>/`). Configuration and the S3 client
 * are set up at module load.
 */
import { ENV, positiveInt, readEnv } from '../../core/config/env';
import { ConfigError } from '../../core/errors';
import { unsafeSegmentReason } from '../../core/lake/layout';
import { createS3Client } from '../aws/s3';
import { type RetentionReport, VersionJanitor } from './version-janitor';

export interface GoldRetentionEvent {
  /** The workflow execution's name: the version its models were published as. */
  readonly executionName: string;
  /** The models the execution published. */
  readonly models: readonly string[];
}

const settings = readEnv({
  goldBucket: { name: ENV.GOLD_BUCKET },
  versionsKept: { name: ENV.GOLD_VERSIONS_KEPT, default: '3' },
});
const janitor = new VersionJanitor({
  s3: createS3Client(),
  goldBucket: settings.goldBucket,
  versionsKept: positiveInt(ENV.GOLD_VERSIONS_KEPT, settings.versionsKept),
});

export async function handler(event: GoldRetentionEvent): Promise<RetentionReport> {
  const executionName = checkedSegment('execution name', event?.executionName);
  if (!Array.isArray(event.models)) throw new ConfigError('gold retention: models must be a list of names');
  const models = event.models.map((model: unknown) => checkedSegment('model name', model));
  return janitor.run(executionName, models);
}

/**
 * `name` when it is one safe path segment: it is put into keys whose prefixes are deleted, so a name that
 * could reach outside its model's prefix is refused before anything is read or written.
 */
function checkedSegment(what: string, name: unknown): string {
  if (typeof name !== 'string') throw new ConfigError(`gold retention: the ${what} must be a string`);
  const reason = unsafeSegmentReason(name);
  if (reason) throw new ConfigError(`gold retention: the ${what} ${JSON.stringify(name)} ${reason}`);
  return name;
}
