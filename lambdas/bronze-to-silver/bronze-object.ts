/** A bronze object an S3 event announced: what the transform is asked to process. */
export interface BronzeObject {
  readonly bucket: string;
  /** Decoded key. */
  readonly key: string;
  readonly versionId?: string;
  readonly eTag?: string;
  /** When the event says the object was created (to measure lag). */
  readonly eventTime?: string;
}
