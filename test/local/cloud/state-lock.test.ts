/**
 * One process per state directory, with real processes, for both ways of holding it (the kernel-held
 * socket of Linux, the file of other systems): a live holder is named to whoever else tries, a holder
 * killed with SIGKILL leaves a lock the next process takes over at once, and of 20 processes starting
 * together exactly one gets it (on a fresh state; and on a dead holder's lock, with the socket: the file
 * protocol can let two in when several break the same dead holder's file at once).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import {
  acquireStateLock,
  assertStateFree,
  STATE_LOCK_FILE,
  type StateLockMechanism,
} from '../../../local/cloud/state-lock';

const ROOT = resolve(__dirname, '..', '..', '..');
const CHILD = join(ROOT, 'test', 'support', 'state-lock-child.ts');

// The child bundled once with esbuild: 20 processes start in ~50 ms each instead of ~0.5 s with tsx.
let childJs: string;
beforeAll(() => {
  childJs = join(mkdtempSync(join(tmpdir(), 'medallion-lock-child-')), 'child.js');
  buildSync({ entryPoints: [CHILD], bundle: true, platform: 'node', outfile: childJs, logLevel: 'error' });
});
afterAll(() => rmSync(dirname(childJs), { recursive: true, force: true }));

/** Starts a child that tries the lock; resolves with it and its one-line answer. */
function child(
  stateDir: string,
  mechanism: StateLockMechanism,
): Promise<{ proc: ChildProcess; answer: string }> {
  const proc = spawn(process.execPath, [childJs, stateDir, mechanism], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((ok, fail) => {
    let out = '';
    proc.stdout?.on('data', (c) => {
      out += String(c);
      if (out.includes('\n')) ok({ proc, answer: out.trim() });
    });
    proc.on('error', fail);
  });
}

const exited = (proc: ChildProcess) => new Promise((ok) => proc.once('exit', ok));

/** A pid no process has: one that just exited. */
async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ['-e', '0']);
  await exited(p);
  return p.pid as number;
}

describe.each(['socket', 'file'] as const)('the state directory lock (%s)', (mechanism) => {
  let state: string;
  beforeEach(() => {
    state = mkdtempSync(join(tmpdir(), 'medallion-state-lock-'));
  });
  afterEach(() => rmSync(state, { recursive: true, force: true }));

  test('a second taker is refused, naming the holder; released, the state is free again', async () => {
    const lock = await acquireStateLock(state, 'medallion local', mechanism);
    const holder = JSON.parse(readFileSync(join(state, STATE_LOCK_FILE), 'utf8'));
    expect(holder).toMatchObject({ pid: process.pid, command: 'medallion local' });
    await expect(acquireStateLock(state, 'medallion replay', mechanism)).rejects.toThrow(
      new RegExp(
        `in use by \`medallion local\` \\(pid ${process.pid}, since .*\\): stop it first, or give this command another --state`,
      ),
    );
    lock.release();
    lock.release(); // idempotent
    expect(() => assertStateFree(state, mechanism)).not.toThrow();
    (await acquireStateLock(state, 'medallion replay', mechanism)).release();
  });

  test.each([
    [
      'a dead process',
      async () =>
        JSON.stringify({
          pid: await deadPid(),
          host: require('node:os').hostname(),
          command: 'x',
          since: 'then',
        }),
    ],
    ['a kill mid-write (a torn file)', async () => '{"pid": 12'],
    [
      'another host',
      async () => JSON.stringify({ pid: process.pid, host: 'elsewhere', command: 'x', since: 'then' }),
    ],
  ])('a lock left by %s is taken over', async (_, content) => {
    writeFileSync(join(state, STATE_LOCK_FILE), await content());
    expect(() => assertStateFree(state, mechanism)).not.toThrow();
    const lock = await acquireStateLock(state, 'medallion local', mechanism);
    expect(JSON.parse(readFileSync(join(state, STATE_LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  test('another live process holds it; once it is killed with SIGKILL, the lock is taken over at once', async () => {
    const { proc, answer } = await child(state, mechanism);
    expect(answer).toBe(`locked ${proc.pid}`);
    await expect(acquireStateLock(state, 'medallion pipeline', mechanism)).rejects.toThrow(
      `state-lock child\` (pid ${proc.pid}`,
    );
    expect(() => assertStateFree(state, mechanism)).toThrow(`(pid ${proc.pid}`);
    proc.kill('SIGKILL');
    await exited(proc);
    expect(() => assertStateFree(state, mechanism)).not.toThrow();
    const lock = await acquireStateLock(state, 'medallion pipeline', mechanism);
    lock.release();
  }, 30_000);

  test.each(
    mechanism === 'socket'
      ? [
          ['a fresh state', false],
          ["a dead holder's lock", true],
        ]
      : [['a fresh state', false]],
  )(
    '20 processes starting together on %s: exactly one holds it, the others are refused',
    async (_, stale) => {
      if (stale)
        writeFileSync(
          join(state, STATE_LOCK_FILE),
          JSON.stringify({
            pid: await deadPid(),
            host: require('node:os').hostname(),
            command: 'x',
            since: 'then',
          }),
        );
      const runs = await Promise.all(Array.from({ length: 20 }, () => child(state, mechanism)));
      try {
        const locked = runs.filter((r) => r.answer.startsWith('locked '));
        expect(locked).toHaveLength(1);
        const winner = locked[0].proc.pid;
        for (const r of runs.filter((x) => x !== locked[0]))
          expect(r.answer).toMatch(/^refused the state directory .* is in use by/);
        expect(JSON.parse(readFileSync(join(state, STATE_LOCK_FILE), 'utf8')).pid).toBe(winner);
      } finally {
        for (const r of runs) r.proc.stdin?.end();
        await Promise.all(runs.map((r) => (r.proc.exitCode === null ? exited(r.proc) : undefined)));
      }
    },
    120_000,
  );
});
