/**
 * `npm run local` stops whole on SIGTERM and on SIGINT sent to npm alone (a service manager, `kill`, a
 * CI job's timeout): every process it started is gone within seconds, the state directory's lock is
 * released and its ports are closed. Real processes: npm, its shell, node. The first start, on an empty
 * state, says that it synthesizes the CDK app and how long that took; the second start does not.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { wiringKey } from '../../local/cloud/template-wiring';

const ROOT = resolve(__dirname, '..', '..');
const CONTRACTS = join(ROOT, 'samples', 'contracts');
/** How long the processes may take to be gone after the signal. */
const GONE_WITHIN_MS = 8000;

/** A started `npm run local`, its output so far, and the endpoints its banner printed. */
interface Started {
  readonly npm: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly ports: number[];
}

/** Starts `npm run local` in a process group of its own and waits for its banner. */
async function startLocal(state: string): Promise<Started> {
  const npm = spawn(
    'npm',
    ['run', 'local', '--', '--state', state, '--port', '0', '--api-port', '0', '--dashboard-port', '0'],
    {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own cache (not the suite's shared one, see local/cloud/cache-dir.ts): the first start synthesizes.
      env: { ...process.env, npm_config_update_notifier: 'false', MEDALLION_CACHE_DIR: join(state, 'cache') },
    },
  );
  let output = '';
  npm.stdout?.on('data', (c) => {
    output += String(c);
  });
  npm.stderr?.on('data', (c) => {
    output += String(c);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    npm.on('exit', (code, signal) => r({ code, signal })),
  );
  await new Promise<void>((ready, fail) => {
    const timer = setInterval(() => {
      if (/aws --endpoint-url/.test(output)) {
        clearInterval(timer);
        ready();
      }
    }, 50);
    void exited.then(({ code }) => {
      clearInterval(timer);
      fail(new Error(`npm run local exited ${code} before its banner:\n${output}`));
    });
  });
  const ports = ['S3', 'ingest API', 'dashboard'].map((name) => {
    const m = new RegExp(`^  ${name}\\s+http://127\\.0\\.0\\.1:(\\d+)`, 'm').exec(output);
    if (!m) throw new Error(`no ${name} endpoint in the banner:\n${output}`);
    return Number(m[1]);
  });
  return { npm, output: () => output, exited, ports };
}

/** The processes of a process group, from /proc (pid and command line). */
function groupMembers(pgid: number): string[] {
  const members: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // `pid (comm) state ppid pgrp ...`: comm may hold spaces and parentheses, so split after the last ')'.
      const [, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) !== pgid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      members.push(`${entry} ${cmdline}`);
    } catch {
      // gone while listed
    }
  }
  return members;
}

/** Resolves true when something accepts a connection on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

async function goneWithin(pgid: number, ms: number): Promise<string[]> {
  const deadline = Date.now() + ms;
  let members = groupMembers(pgid);
  while (members.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    members = groupMembers(pgid);
  }
  return members;
}

describe('npm run local, stopped by a signal to npm', () => {
  let dir: string;
  let state: string;
  const started: ChildProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-signals-'));
    state = join(dir, 'state');
  });

  afterAll(() => {
    // Whatever a failed test left running (only the groups this test started).
    for (const p of started) {
      try {
        if (p.pid) process.kill(-p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['SIGTERM', true],
    ['SIGINT', false],
  ] as const)(
    'on %s: every process gone, the lock released, the ports closed (first start synthesizes: %s)',
    async (signal, firstStart) => {
      // The wiring cached by the first start, unless lib/ or core/ changed since (as while editing them).
      const cached = existsSync(
        join(state, 'cache', `wiring-${wiringKey(CONTRACTS, 'medallion-local')}.json`),
      );
      const t0 = Date.now();
      const local = await startLocal(state);
      started.push(local.npm);
      const pgid = local.npm.pid as number;
      const up = Date.now() - t0;
      const lock = join(state, 'medallion.lock');
      expect(existsSync(lock)).toBe(true);
      expect(await Promise.all(local.ports.map(listening))).toEqual([true, true, true]);
      // npm, its shell and node (one process: `node --import tsx`, no tsx parent in between).
      const members = groupMembers(pgid);
      expect(members.filter((m) => /bin\/medallion\.ts local/.test(m))).toHaveLength(1);

      const synthesizing = /^synthesizing the CDK app to wire the local cloud \(first run, ~15 s\)\.\.\.$/m;
      const synthesized = /^synthesized in \d+\.\d s \(cached for the next starts\)$/m;
      if (firstStart) {
        const out = local.output();
        expect(out).toMatch(synthesizing);
        expect(out).toMatch(synthesized);
        expect(out.search(synthesizing)).toBeLessThan(out.search(synthesized));
        expect(out.search(synthesized)).toBeLessThan(out.search(/local cloud running/));
      } else if (cached) {
        expect(local.output()).not.toMatch(synthesizing);
      }

      const t1 = Date.now();
      process.kill(pgid, signal); // npm only: it forwards the signal to its script
      const left = await goneWithin(pgid, GONE_WITHIN_MS);
      const stopped = Date.now() - t1;
      expect(left).toEqual([]);
      expect(await local.exited).toEqual({ code: 0, signal: null });
      expect(local.output()).toContain('stopping the local cloud...');
      expect(existsSync(lock)).toBe(false);
      expect(await Promise.all(local.ports.map(listening))).toEqual([false, false, false]);
      process.stdout.write(`npm run local: up in ${up} ms, gone ${stopped} ms after ${signal}\n`);
    },
    90_000,
  );
});
