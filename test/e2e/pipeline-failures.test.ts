/** What the pipeline reports when the transform cannot write to silver: dead letters, and not ok. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { runPipeline } from '../../local/commands/pipeline';

const SAMPLES = resolve(__dirname, '..', '..', 'samples');

describe('medallion pipeline when silver is unreachable', () => {
  let state: string;

  beforeAll(() => {
    state = mkdtempSync(join(tmpdir(), 'medallion-e2e-fail-'));
  });

  afterAll(() => rmSync(state, { recursive: true, force: true }));

  it('retries each message, dead-letters it, fails conservation and says FAILED', async () => {
    const lines: string[] = [];
    const report = await runPipeline({
      modelsDir: false,
      contractsDir: join(SAMPLES, 'contracts'),
      dataDir: join(SAMPLES, 'data'),
      stateDir: state,
      port: 0,
      apiPort: 0,
      out: (line) => lines.push(line),
      beforeIngest: async (cloud) => {
        await cloud.s3.send(new DeleteBucketCommand({ Bucket: cloud.buckets.silver }));
      },
    });

    expect(report.ok).toBe(false);
    expect(report.deadLetters).toHaveLength(4);
    for (const d of report.deadLetters) {
      expect(d.receiveCount).toBe(3);
      expect(d.keys).toHaveLength(1);
      expect(d.keys[0]).toMatch(/^retail\/(orders|customers|products)\/ingest_date=/);
      expect(d.lastError).toMatch(/bucket does not exist/);
    }
    expect(report.landingFailures).toEqual([]);
    for (const f of report.files) {
      expect(f.landing).toBe('landed');
      expect(f.status).toBe('missing');
      expect(f.conservation.ok).toBe(false);
      expect(f.conservation.problems[0]).toMatch(/never reached silver/);
    }
    expect(lines).toContain('dead-lettered messages: 4');
    expect(lines.some((l) => /dead-lettered\)$/.test(l))).toBe(true);
    expect(lines.at(-1)).toBe('FAILED');
  });
});
