/** What landing writes to its log: one entry per landing (carrying the landing metrics) or quarantine. */
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { createLogger, type Logger } from '../../core/telemetry/logger';
import {
  METRIC_DIMENSIONS,
  METRIC_NAMES,
  METRICS_NAMESPACE,
  metricsDocument,
} from '../../core/telemetry/metrics';
import { type Landed, type LandingConfig, type LandingSource, now } from './landing-config';

/** The logger writing to the configured sink (tests inject one), by default JSON lines on the console. */
export function landingLogger(config: LandingConfig): Logger {
  return createLogger({ sink: config.log });
}

export function logLanding(
  config: LandingConfig,
  p: { source: LandingSource; contract: DatasetContract; landed: Landed; bytes: number; requestId: string },
): void {
  // INFO: the default sink writes it with console.log, where CloudWatch picks up EMF documents.
  landingLogger(config).info(p.landed.duplicate ? 'already landed' : 'landed', {
    source: p.source,
    domain: p.contract.domain,
    dataset: p.contract.dataset,
    bronzeKey: p.landed.bronzeKey,
    sha256: p.landed.sha256,
    bytes: p.bytes,
    duplicate: p.landed.duplicate,
    requestId: p.requestId,
    // The same entry carries the landing metrics (EMF). Bytes that had already landed store nothing new.
    ...metricsDocument(
      METRICS_NAMESPACE,
      { [METRIC_DIMENSIONS.Dataset]: p.contract.dataset },
      [
        { name: METRIC_NAMES.FilesLanded, value: p.landed.duplicate ? 0 : 1, unit: 'Count' },
        { name: METRIC_NAMES.BytesLanded, value: p.landed.duplicate ? 0 : p.bytes, unit: 'Bytes' },
      ],
      now(config).getTime(),
    ),
  });
}
