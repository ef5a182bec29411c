/**
 * The evidence suite's figures. Each scenario test records what it injected and what it observed; when
 * `MEDALLION_EVIDENCE_DIR` is set (by `npm run evidence`), every record is appended as one JSON line to
 * `<dir>/figures.ndjson`, and `bench/evidence.ts` turns them into the README's Reliability section.
 * Without the variable recording is a no-op, so the suite runs the same in `npm test` and CI.
 *
 * Test names start with `scenario <n>:` so the report can map jest's results back to the list.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const EVIDENCE_DIR_ENV = 'MEDALLION_EVIDENCE_DIR';

export type EvidenceRecord =
  /** Scenarios 1-3, 21: the same data delivered more than once. Duplicate rows must be 0. */
  | {
      kind: 'duplicates';
      scenario: number;
      delivered: number;
      duplicateDeliveries: number;
      duplicateRows: number;
    }
  /** Every transform run: rows in = out + quarantined + de-duplicated; `lost` must be 0. */
  | {
      kind: 'conservation';
      scenario: number;
      file: string;
      in: number;
      out: number;
      quarantined: number;
      duplicates: number;
      /** True when the whole file was quarantined (its rows are then counted as 0 in and out). */
      fileQuarantined?: boolean;
    }
  /** Scenarios 5-7: faults injected and partial or orphaned objects visible afterwards (must be 0). */
  | { kind: 'faults'; scenario: number; injected: number; partialObjectsLeft: number; recovered: number }
  /** Scenario 25: concurrent ingests and how many landed, with latencies in ms. */
  | {
      kind: 'concurrency';
      scenario: number;
      door: 'api' | 's3';
      attempted: number;
      landed: number;
      transformed: number;
      latenciesMs: number[];
    }
  /**
   * Scenario 27: the local cloud killed with SIGKILL and restarted on the same state; rows sent in acknowledged
   * files against rows found in silver afterwards (`lost` must be 0), with what each kill left mid-way.
   */
  | {
      kind: 'crashes';
      scenario: number;
      crashes: number;
      filesAcknowledged: number;
      rowsSent: number;
      rowsFound: number;
      /** Per kill: uploads left in landing, bronze objects without a manifest, queued messages. */
      leftInFlight: { landing: number; bronze: number; queued: number }[];
    }
  /** Scenario 11: awkward keys tried and read back correctly. */
  | { kind: 'keys'; scenario: number; tried: number; read: number }
  /** Anything else worth a line in the report (e.g. a retry count, a memory peak). */
  | { kind: 'note'; scenario: number; name: string; value: number | string; unit?: string };

export function recordEvidence(record: EvidenceRecord): void {
  const dir = process.env[EVIDENCE_DIR_ENV];
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  // One small line per append: O_APPEND keeps lines whole when jest workers write concurrently.
  appendFileSync(join(dir, 'figures.ndjson'), `${JSON.stringify(record)}\n`);
}

/** A manifest's row counts as a conservation record (works for any object shaped like a manifest). */
export function recordManifest(
  scenario: number,
  manifest: {
    status: string;
    source: { key: string };
    rows: { in: number; out: number; quarantined: number; duplicates: number };
  },
): void {
  recordEvidence({
    kind: 'conservation',
    scenario,
    file: manifest.source.key,
    ...manifest.rows,
    fileQuarantined: manifest.status === 'quarantined' || undefined,
  });
}
