/**
 * What happened in the local cloud, one entry per file or gold run: what `medallion local` prints a line
 * for and what the local dashboard counts. Built by `cloud-feed.ts` from the cloud's events, its functions'
 * logs and the manifests the transform writes.
 */

/** The rows of one transformed file (a silver manifest's `rows`): in = out + quarantined + duplicates. */
export interface RowCounts {
  readonly in: number;
  readonly out: number;
  readonly quarantined: number;
  readonly duplicates: number;
}

/** A file the landing function stored in bronze (or had stored already: `duplicate`). */
export interface LandedFile {
  readonly kind: 'landed';
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly domain: string;
  readonly dataset: string;
  /**
   * `<domain>/<dataset>/<original file name>`: what a user uploaded or named. For a `duplicate`, the name
   * the bytes first landed under (the log of a landing does not name the upload).
   */
  readonly name: string;
  readonly bronzeKey: string;
  readonly bytes: number;
  /** The same bytes had landed before: nothing new was stored. */
  readonly duplicate: boolean;
  readonly source: string;
}

/** The transform's outcome for one bronze object, from its silver manifest. */
export interface TransformedFile {
  readonly kind: 'transformed';
  readonly at: number;
  readonly domain: string;
  readonly dataset: string;
  readonly name: string;
  readonly bronzeKey: string;
  /** `quarantined`: the whole file was rejected (`reason` says why). */
  readonly status: 'ok' | 'quarantined';
  readonly reason?: string;
  readonly rows: RowCounts;
  /** Quarantined rows by `<column>|<rule>` (`parse` for rows that could not be split). */
  readonly quarantinedByReason: Readonly<Record<string, number>>;
  /** From the bronze object's creation to the end of its transform (the TransformLagSeconds metric). */
  readonly lagMs?: number;
  /** Bytes of the bronze object (from the manifest), for files landed before this process started. */
  readonly bytes?: number;
}

/** An upload no data contract claims: the landing function moved it to quarantine. */
export interface UnroutedUpload {
  readonly kind: 'unrouted';
  readonly at: number;
  /** The landing key. */
  readonly name: string;
  readonly reason: string;
}

/** An upload the landing function failed on, every retry included. */
export interface LandingFailed {
  readonly kind: 'landing-failed';
  readonly at: number;
  readonly name: string;
  readonly error: string;
}

/** A transform message that used up its receives (the dead-letter queue holds it). */
export interface DeadLettered {
  readonly kind: 'dead-lettered';
  readonly at: number;
  /** The files the message was about (bronze keys shown as names when known). */
  readonly names: readonly string[];
  readonly error: string;
}

/** A gold run that published models (seen in the gold bucket's `<model>/_published.json` registries). */
export interface GoldRunPublished {
  readonly kind: 'gold-run';
  readonly at: number;
  /** The execution's name: the version `v=<execution>` of every model it wrote. */
  readonly execution: string;
  readonly models: readonly string[];
}

export type PipelineActivity =
  | LandedFile
  | TransformedFile
  | UnroutedUpload
  | LandingFailed
  | DeadLettered
  | GoldRunPublished;
