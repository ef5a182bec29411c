import { join } from 'node:path';
import { localCloudBanner } from '../../../local/commands/local';

const BUCKETS = {
  landing: 'medallion-local-landing',
  bronze: 'medallion-local-bronze',
  silver: 'medallion-local-silver',
  quarantine: 'medallion-local-quarantine',
};

describe('localCloudBanner', () => {
  it('tells where the local cloud runs and how to point the aws CLI at it', () => {
    const banner = localCloudBanner({
      stateDir: join(process.cwd(), '.medallion', 'local'),
      endpoints: { s3: 'http://127.0.0.1:4566', api: 'http://127.0.0.1:4567' },
      buckets: BUCKETS,
    });
    expect(banner).toEqual([
      '',
      `local cloud running (state ${join('.medallion', 'local')}); Ctrl-C stops it`,
      '  S3          http://127.0.0.1:4566',
      '  ingest API  http://127.0.0.1:4567/datasets/{dataset}/records',
      '  buckets     medallion-local-landing, medallion-local-bronze, medallion-local-silver, medallion-local-quarantine',
      '',
      'for the aws CLI (and any SDK):',
      '  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1',
      '  export AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION=when_required',
      '  export AWS_ENDPOINT_URL_S3=http://127.0.0.1:4566   # SDKs and aws CLI >= 2.13; older: --endpoint-url',
      '  aws --endpoint-url http://127.0.0.1:4566 s3 cp orders.csv s3://medallion-local-landing/retail/orders/orders.csv',
    ]);
  });

  it('says so when the cloud runs without the ingest API', () => {
    const banner = localCloudBanner({
      stateDir: '/elsewhere/state',
      endpoints: { s3: 'http://127.0.0.1:4566' },
      buckets: BUCKETS,
    });
    expect(banner[1]).toBe('local cloud running (state /elsewhere/state); Ctrl-C stops it');
    expect(banner[3]).toBe('  ingest API  (none)');
  });
});
