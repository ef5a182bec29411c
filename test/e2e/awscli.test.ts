/**
 * A real S3 client against the local cloud: the aws CLI (Debian's awscli; .ci/run installs it) uploads a
 * file whose name needs URL-encoding to the landing bucket, and the pipeline carries it to silver.
 * Skipped, saying so, when no `aws` binary is installed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { manifestKey, sourceId } from '../../core/lake/layout';
import { LocalCloud } from '../../local/cloud/local-cloud';

const SAMPLES = resolve(__dirname, '..', '..', 'samples');

/** Debian's aws CLI when installed (a pip-installed one may shadow it on PATH), else any `aws` on PATH. */
function awsBinary(): string | undefined {
  if (existsSync('/usr/bin/aws')) return '/usr/bin/aws';
  try {
    return execFileSync('sh', ['-c', 'command -v aws'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const aws = awsBinary();
if (!aws && process.env.CI) {
  // CI installs it (.ci/run): missing there is a broken setup, not a reason to skip.
  throw new Error('test/e2e/awscli.test.ts: no `aws` binary in CI (.ci/run installs Debian awscli)');
}
if (!aws) {
  console.warn('test/e2e/awscli.test.ts skipped: no `aws` binary (apt-get install -y awscli; .ci/run does)');
}
const describeWithAws = aws ? describe : describe.skip;

describeWithAws('the aws CLI against the local cloud', () => {
  let cloud: LocalCloud;
  let state: string;

  beforeAll(async () => {
    state = mkdtempSync(join(tmpdir(), 'medallion-awscli-'));
    cloud = await LocalCloud.start({
      stateDir: state,
      contractsDir: join(SAMPLES, 'contracts'),
      s3Port: 0,
      apiPort: null,
      retryDelayMs: 1,
    });
  });

  afterAll(async () => {
    await cloud?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it('uploads with `aws s3 cp` (a key with a space, + and é) and the file reaches silver', async () => {
    const version = await promisify(execFile)(aws as string, ['--version'], { encoding: 'utf8' });
    console.log(`${aws}: ${version.stdout.trim()}`);
    const file = join(state, 'orders.csv');
    copyFileSync(join(SAMPLES, 'data', 'orders', 'orders-2026-11-01.csv'), file);
    const key = 'retail/orders/my orders+é.csv';
    const t0 = Date.now();
    // Asynchronously: the S3 server runs in this process, a synchronous child would block it.
    const { stdout } = await promisify(execFile)(
      aws as string,
      ['--endpoint-url', cloud.endpoints.s3, 's3', 'cp', file, `s3://${cloud.buckets.landing}/${key}`],
      {
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: 'S3RVER',
          AWS_SECRET_ACCESS_KEY: 'S3RVER',
          AWS_DEFAULT_REGION: 'us-east-1',
          // awscli 2.9 only sends checksums when required; newer ones (>= 2.23) need to be told so for s3rver.
          AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required',
          AWS_RESPONSE_CHECKSUM_VALIDATION: 'when_required',
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        },
      },
    );
    expect(stdout).toContain('upload:');
    await cloud.whenIdle();
    console.log(`aws s3 cp + landing + transform: ${Date.now() - t0} ms`);
    expect(cloud.landingFailures).toEqual([]);
    expect(cloud.deadLetters).toEqual([]);

    const transformed: string[] = [];
    const page = await cloud.s3.send(
      new ListObjectsV2Command({ Bucket: cloud.buckets.bronze, Prefix: 'retail/orders/ingest_date=' }),
    );
    for (const o of page.Contents ?? []) transformed.push(o.Key as string);
    expect(transformed).toHaveLength(1);
    const got = await cloud.s3.send(
      new GetObjectCommand({
        Bucket: cloud.buckets.silver,
        Key: manifestKey('retail', 'orders', sourceId(cloud.buckets.bronze, transformed[0])),
      }),
    );
    const manifest = JSON.parse(await (got.Body?.transformToString() ?? '')) as {
      status: string;
      rows: Record<string, number>;
    };
    expect(manifest.status).toBe('ok');
    expect(manifest.rows).toEqual({ in: 44, out: 34, quarantined: 8, duplicates: 2 });
  });
});
