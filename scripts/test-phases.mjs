#!/usr/bin/env node
// `npm test`: the static checks and the five jest projects in two streams side by side, so that a 2-core
// machine stays busy until the end:
// - stream 1: the type check, Biome, the import rule and `medallion check --against` the merge base with
//   origin/main; then the fast projects (unit, cdk, local) with jest's workers; then the end-to-end files
//   listed in LATE_E2E, one at a time;
// - stream 2: the other end-to-end and evidence files, one at a time from the start (they start local
//   clouds, child processes and browsers, and measure time).
// A stream goes on after a failing step (every failure is reported); the exit code is the first non-zero
// one (0 when everything passed). Output: every line prefixed with its stream.
// LATE_E2E balances the streams: long files with no time budget, moved to the end of stream 1 (measured
// on a fresh 2-core clone: stream 1 ~680 s before them, stream 2 ~1,000 s with them). The compaction test
// (500 landings) also must not overlap the S3 listing load test of stream 1: together each took 3-4x.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const LATE_E2E = ['test/e2e/readme-commands.test.ts', 'test/e2e/compaction.test.ts'];
const jest = 'node_modules/.bin/jest';
const extra = process.argv.slice(2);
const serial = ['--maxWorkers=1', '--cache'];
const streams = [
  {
    name: 'checks+unit/cdk/local',
    steps: [
      ['node_modules/.bin/tsc', ['--noEmit']],
      ['node_modules/.bin/biome', ['check', '.']],
      ['npm', ['run', '--silent', 'lint:imports']],
      ...againstMergeBase('checks+unit/cdk/local'),
      [jest, ['--selectProjects', 'unit', 'cdk', 'local', '--cache', ...extra]],
      [jest, ['--selectProjects', 'e2e', 'evidence', ...serial, '--runTestsByPath', ...LATE_E2E, ...extra]],
    ],
  },
  {
    name: 'e2e/evidence',
    steps: [
      [
        jest,
        [
          '--selectProjects',
          'e2e',
          'evidence',
          ...serial,
          ...LATE_E2E.flatMap((path) => ['--testPathIgnorePatterns', path]),
          ...extra,
        ],
      ],
    ],
  },
];
/**
 * `medallion check --against` the merge base with origin/main: a contract or model change that breaks
 * readers fails unless its major version went up. Without origin/main there is nothing to compare with: no
 * step, one line saying so. When there is no merge base (a clone too shallow), the step is git's own
 * failing `merge-base`, so that the stream reports it.
 */
function againstMergeBase(stream) {
  const git = (...args) =>
    execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    git('rev-parse', '--verify', '--quiet', 'origin/main^{commit}');
  } catch {
    process.stdout.write(`[${stream}] check --against: skipped, no origin/main to take a merge base with\n`);
    return [];
  }
  try {
    return [
      ['npm', ['run', '--silent', 'check', '--', '--against', git('merge-base', 'HEAD', 'origin/main')]],
    ];
  } catch {
    return [['git', ['merge-base', 'HEAD', 'origin/main']]];
  }
}

// One cache of synthesized templates for every test's temporary state (local/cloud/cache-dir.ts): files
// named by a hash of what decides them, so sharing is safe, and each synthesis runs once, not per state.
const cacheDir = process.env.MEDALLION_CACHE_DIR || mkdtempSync(join(tmpdir(), 'medallion-test-cache-'));
// The crash scenario kills the local cloud 10 times here (random points, a new seed each run); `npm run
// evidence` runs the 20 the README reports.
const env = {
  ...process.env,
  MEDALLION_CACHE_DIR: cacheDir,
  MEDALLION_CRASH_ITERATIONS: process.env.MEDALLION_CRASH_ITERATIONS || '10',
};

const started = Date.now();
const seconds = () => ((Date.now() - started) / 1000).toFixed(0);

function run(stream, [command, args]) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const output of [child.stdout, child.stderr]) {
      createInterface({ input: output }).on('line', (line) => process.stdout.write(`[${stream}] ${line}\n`));
    }
    child.on('error', (e) => {
      process.stdout.write(`[${stream}] ${command}: ${e.message}\n`);
      resolve(1);
    });
    child.on('close', (code, signal) => {
      const what = [command.replace('node_modules/.bin/', ''), ...args.slice(0, 3)].join(' ');
      const outcome = code === 0 ? 'passed' : `FAILED (${signal ?? `exit ${code}`})`;
      process.stdout.write(`[${stream}] ${what}: ${outcome} at ${seconds()} s\n`);
      resolve(code ?? 1);
    });
  });
}

const results = await Promise.all(
  streams.map(async (stream) => {
    const codes = [];
    for (const step of stream.steps) codes.push(await run(stream.name, step));
    process.stdout.write(`[${stream.name}] finished in ${seconds()} s\n`);
    return codes.find((code) => code !== 0) ?? 0;
  }),
);
if (!process.env.MEDALLION_CACHE_DIR) rmSync(cacheDir, { recursive: true, force: true });
process.exitCode = results.find((code) => code !== 0) ?? 0;
