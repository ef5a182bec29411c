import type { LogEntry } from '../../../core/telemetry/logger';
import type { LandingConfig } from '../../../lambdas/landing/landing-config';
import { landingLogger, logLanding } from '../../../lambdas/landing/landing-log';
import { testContracts } from '../../support/landing-fixture';

const AT = new Date('2026-11-21T10:00:00Z');

describe('landing log entries', () => {
  const entries: LogEntry[] = [];
  let config: LandingConfig;
  beforeAll(() => {
    config = {
      s3: undefined as never, // nothing here reaches S3
      contracts: testContracts(),
      landingBucket: 'landing',
      bronzeBucket: 'bronze',
      quarantineBucket: 'quarantine',
      maxBodyBytes: 1024,
      now: () => AT,
      log: (entry) => entries.push(entry),
    };
  });
  beforeEach(() => {
    entries.length = 0;
  });
  afterEach(() => jest.restoreAllMocks());

  const orders = () => {
    const contract = config.contracts.byName('orders');
    if (!contract) throw new Error('no contract for orders');
    return contract;
  };
  const landing = (duplicate: boolean) => ({
    source: 'api' as const,
    contract: orders(),
    landed: { bronzeKey: 'sales/orders/ingest_date=2026-11-21/ab.csv', sha256: 'ab', duplicate },
    bytes: 42,
    requestId: 'r1',
  });

  it('writes one INFO entry per landing, to the configured sink, carrying the landing metrics', () => {
    logLanding(config, landing(false));
    expect(entries).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'landed',
        source: 'api',
        domain: 'sales',
        dataset: 'orders',
        bronzeKey: 'sales/orders/ingest_date=2026-11-21/ab.csv',
        sha256: 'ab',
        bytes: 42,
        duplicate: false,
        requestId: 'r1',
        Dataset: 'orders',
        FilesLanded: 1,
        BytesLanded: 42,
        _aws: expect.objectContaining({ Timestamp: AT.getTime() }),
      }),
    ]);
  });

  it('says "already landed" and counts nothing for bytes that had landed before', () => {
    logLanding(config, landing(true));
    expect(entries[0]).toMatchObject({ message: 'already landed', FilesLanded: 0, BytesLanded: 0 });
  });

  it('writes the landing entry with console.log by default, where CloudWatch reads EMF', () => {
    const lines: string[] = [];
    jest.spyOn(console, 'log').mockImplementation((line: string) => lines.push(line));
    logLanding({ ...config, log: undefined }, landing(false));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 'INFO', message: 'landed', FilesLanded: 1 });
  });

  it('gives a logger writing other entries to the same sink, level in capitals', () => {
    landingLogger(config).warn('quarantined', { reason: 'why' });
    expect(entries).toEqual([{ level: 'WARN', message: 'quarantined', reason: 'why' }]);
  });
});
