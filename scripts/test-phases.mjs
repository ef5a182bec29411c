#!/usr/bin/env node
// The two jest phases of `npm test`, side by side: the fast projects (unit, cdk, local) with jest's workers,
// and the end-to-end and evidence projects one test file at a time (they start local clouds, child
// processes and browsers, and measure time). Each phase alone keeps about one core busy, so on a 2-core
// machine running them together takes the time of the longer one instead of the sum.
// Output: every line prefixed with its phase; exit code: the first non-zero of the two (0 if both pass).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const jest = 'node_modules/.bin/jest';
const phases = [
  { name: 'unit/cdk/local', args: ['--selectProjects', 'unit', 'cdk', 'local', '--cache'] },
  { name: 'e2e/evidence', args: ['--selectProjects', 'e2e', 'evidence', '--maxWorkers=1', '--cache'] },
];
const extra = process.argv.slice(2);
// One cache of synthesized templates for every test's temporary state (local/cloud/cache-dir.ts): files
// named by a hash of what decides them, so sharing is safe, and each synthesis runs once, not per state.
const cacheDir = process.env.MEDALLION_CACHE_DIR || mkdtempSync(join(tmpdir(), 'medallion-test-cache-'));
const env = { ...process.env, MEDALLION_CACHE_DIR: cacheDir };

const started = Date.now();
const results = await Promise.all(
  phases.map(
    (phase) =>
      new Promise((resolve) => {
        const child = spawn(jest, [...phase.args, ...extra], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        for (const stream of [child.stdout, child.stderr]) {
          createInterface({ input: stream }).on('line', (line) => {
            process.stdout.write(`[${phase.name}] ${line}\n`);
          });
        }
        child.on('close', (code, signal) => {
          const seconds = ((Date.now() - started) / 1000).toFixed(0);
          process.stdout.write(
            `[${phase.name}] finished in ${seconds} s: ${code === 0 ? 'passed' : `FAILED (${signal ?? `exit ${code}`})`}\n`,
          );
          resolve(code ?? 1);
        });
      }),
  ),
);
if (!process.env.MEDALLION_CACHE_DIR) rmSync(cacheDir, { recursive: true, force: true });
process.exitCode = results.find((code) => code !== 0) ?? 0;
