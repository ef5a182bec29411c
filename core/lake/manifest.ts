import type { FileRejection } from '../errors';

export interface Manifest {
  readonly manifestVersion: 1;
  readonly status: 'ok' | 'quarantined';
  /** For a quarantined file: why, in one line. */
  readonly reason?: string;
  readonly reasonCode?: FileRejection['code'];
  readonly domain: string;
  readonly dataset: string;
  /**
   * The hash of the data contract the file was transformed under (`contractHash` in
   * core/contracts/contract-hash.ts): silver built under another version of the contract is stale.
   * Absent in manifests written before it was recorded: then unknown.
   */
  readonly contractHash?: string;
  readonly source: {
    bucket: string;
    key: string;
    versionId?: string;
    eTag?: string;
    sha256?: string;
    storedBytes?: number;
    bytes?: number;
    gzip?: boolean;
  };
  /**
   * The data rows the producer stated the file holds (a trailer, `X-Expected-Rows`, upload metadata
   * `expected-rows`: core/lake/expected-rows.ts); `rows.in` is measured against it. Absent: none stated.
   */
  readonly expectedRows?: number;
  /** Always: in = out + quarantined + duplicates. */
  readonly rows: { in: number; out: number; quarantined: number; duplicates: number };
  /** Quarantined rows by '<column>|<rule>' ('parse' for rows that could not be split into fields). */
  readonly quarantinedByReason: Record<string, number>;
  readonly outputs: OutputFile[];
  readonly quarantine?: { bucket: string; key: string; rows?: number };
  readonly durationsMs: Record<string, number>;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly engine: string;
}
export interface OutputFile {
  readonly key: string;
  readonly partition: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}
/** Why a message was dead-lettered: `failed/<domain>/<dataset>/<source id>.reason.json` in quarantine. */
export interface FailureReason {
  readonly error: string;
  /** Receives of the message, this one included. */
  readonly attempts: number;
  readonly sourceBucket: string;
  readonly sourceKey: string;
  readonly failedAt: string;
}
