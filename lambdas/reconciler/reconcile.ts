/**
 * One reconciliation: find the stranded objects and re-drive each through the route it missed, the same
 * one a fresh event takes (the landing function for an upload, the transform queue for a bronze object).
 * The route is idempotent (landing is content-addressed, the transform rewrites the same keys), so an
 * object re-driven while its own event was merely slow costs a repeat, never a duplicate.
 *
 * How an object is re-driven is a port: an asynchronous Lambda invocation and an SQS message in AWS
 * (handler.ts), the local cloud's own router locally.
 */
import { errorMessage } from '../../core/errors';
import { encodeEventKey } from '../../core/lake/layout';
import type { StrandedObject, StrandedObjectFinder, StrandedScanSettings } from './stranded-objects';

/** Sends a stranded object back into its route; throws when it could not. */
export type Redrive = (object: StrandedObject) => Promise<void>;

export interface ReconcileReport {
  /** Objects found stranded (each was re-driven, or failed to be: see `failed`). */
  readonly stranded: number;
  readonly landing: string[];
  readonly bronze: string[];
  /** Bronze objects whose failure is recorded (dead-lettered): left to their own alarm and replay. */
  readonly deadLettered: number;
  readonly scanned: { readonly landing: number; readonly bronze: number };
  /** Objects whose re-drive failed, with why. */
  readonly failed: { key: string; error: string }[];
}

export class Reconciler {
  constructor(
    private readonly finder: StrandedObjectFinder,
    private readonly redrive: { readonly landing: Redrive; readonly bronze: Redrive },
  ) {}

  async run(
    now: Date,
    settings: StrandedScanSettings,
    pending?: (bucket: string, key: string) => boolean,
  ): Promise<ReconcileReport> {
    const scan = await this.finder.find(now, settings, pending);
    const failed: { key: string; error: string }[] = [];
    for (const o of [...scan.landing, ...scan.bronze]) {
      try {
        await this.redrive[o.layer](o);
      } catch (e) {
        failed.push({ key: `${o.bucket}/${o.key}`, error: errorMessage(e) });
      }
    }
    return {
      stranded: scan.landing.length + scan.bronze.length,
      landing: scan.landing.map((o) => o.key),
      bronze: scan.bronze.map((o) => o.key),
      deadLettered: scan.deadLettered,
      scanned: scan.scanned,
      failed,
    };
  }
}

/** S3's `ObjectCreated:Put` event for a stranded object, as the route would have received it. */
export function objectCreatedEventFor(o: StrandedObject, region: string) {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: region,
        // The upload's own time: landing dates bronze by it (`ingest_date`), as the lost event would have.
        eventTime: o.lastModified.toISOString(),
        eventName: 'ObjectCreated:Put',
        userIdentity: { principalId: 'medallion-reconciler' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': 'reconciler', 'x-amz-id-2': 'reconciler' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'medallion-reconciler',
          bucket: {
            name: o.bucket,
            ownerIdentity: { principalId: 'medallion-reconciler' },
            arn: `arn:aws:s3:::${o.bucket}`,
          },
          object: {
            key: encodeEventKey(o.key),
            size: o.size,
            ...(o.eTag ? { eTag: o.eTag } : {}),
            sequencer: '0',
          },
        },
      },
    ],
  };
}
