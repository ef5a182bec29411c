/**
 * One local cloud per state directory: two processes on one state (`replay` while `local` runs, two
 * `pipeline --keep-state`) would both load the queue journal and deliver its messages twice, and both
 * serve the same buckets. The lock is a file, `<state>/medallion.lock`, created exclusively and naming
 * its holder's pid; a holder that died (`kill -9`) leaves a lock whose pid is gone, which the next start
 * takes over at once. Local only: liveness is a signal-0 probe of the pid on this host.
 */
import { linkSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PipelineUsageError } from '../../core/errors';

export const STATE_LOCK_FILE = 'medallion.lock';

/** What the lock file holds. */
export interface StateLockHolder {
  readonly pid: number;
  readonly host: string;
  /** The command that holds it, e.g. `medallion local`. */
  readonly command: string;
  readonly since: string;
}

/** A held lock; `release` is idempotent and leaves a lock another process took over alone. */
export interface StateLock {
  readonly file: string;
  release(): void;
}

/**
 * Whether `pid` is a running process on this machine (EPERM: running, someone else's). A zombie (killed,
 * not yet reaped: what `kill -9` leaves for a moment) is not running.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "<pid> (<comm>) <state> ..."; Z zombie, X dead.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return true; // no /proc (not Linux): signal 0 is all we know
  }
}

/** Whether `pid` is still running after up to `ms` (a process just killed takes a moment to go). */
function stillAlive(pid: number, ms: number): boolean {
  for (let waited = 0; alive(pid); waited += 50) {
    if (waited >= ms) return true;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
  return false;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // gone
  }
}

function parseHolder(text: string): StateLockHolder | undefined {
  try {
    const holder = JSON.parse(text) as StateLockHolder;
    return Number.isInteger(holder.pid) ? holder : undefined;
  } catch {
    return undefined; // torn by a kill mid-write: not a live holder
  }
}

function readHolder(file: string): StateLockHolder | undefined {
  const text = readText(file);
  return text === undefined ? undefined : parseHolder(text);
}

/**
 * Removes the lock file if it still holds `stale`: renamed to a name of this process's first (atomic: of
 * several processes doing this, one moves it), then deleted; a lock another process took meanwhile is put
 * back (a hard link, which never replaces a lock created since).
 */
function setStaleLockAside(file: string, stale: string): void {
  const aside = `${file}.${process.pid}.aside`;
  try {
    renameSync(file, aside);
  } catch {
    return; // moved by another process already
  }
  if (readText(aside) !== stale) {
    try {
      linkSync(aside, file);
    } catch {
      // a newer lock is in place
    }
  }
  rmSync(aside, { force: true });
}

/**
 * Takes the lock of `stateDir` for this process, or throws a usage error naming the process that holds
 * it. A lock left by a dead process (or another host's, or unreadable) is taken over.
 */
export function acquireStateLock(stateDir: string, command: string): StateLock {
  const file = join(stateDir, STATE_LOCK_FILE);
  const me: StateLockHolder = {
    pid: process.pid,
    host: hostname(),
    command,
    since: new Date().toISOString(),
  };
  const text = `${JSON.stringify(me)}\n`;
  const mine = () => readHolder(file)?.pid === process.pid;
  // Only an exclusive create takes the lock, so two processes never both hold it. A stale lock is first
  // moved aside (a rename moves one file once) and deleted only if it is still the stale one read.
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, text, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const seen = readText(file);
    const holder = seen === undefined ? undefined : parseHolder(seen);
    if (holder && holder.host === me.host && holder.pid !== process.pid && stillAlive(holder.pid, 500))
      throw inUse(stateDir, holder);
    if (holder && holder.host === me.host && holder.pid === process.pid) throw inUse(stateDir, holder);
    if (attempt >= 5)
      throw inUse(stateDir, holder ?? { ...me, pid: -1, command: 'another medallion command' });
    if (seen !== undefined) setStaleLockAside(file, seen);
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    try {
      if (mine()) unlinkSync(file);
    } catch {
      // already gone
    }
  };
  // A process that exits without stopping the cloud (an uncaught error) still frees the state.
  process.on('exit', release);
  return { file, release };
}

/** Throws the usage error of {@link acquireStateLock} if a live process holds the lock of `stateDir`. */
export function assertStateFree(stateDir: string): void {
  const holder = readHolder(join(stateDir, STATE_LOCK_FILE));
  if (holder && holder.pid !== process.pid && holder.host === hostname() && alive(holder.pid))
    throw inUse(stateDir, holder);
}

function inUse(stateDir: string, holder: StateLockHolder): PipelineUsageError {
  return new PipelineUsageError(
    `the state directory ${stateDir} is in use by \`${holder.command}\` (pid ${holder.pid}, since ${holder.since}): ` +
      'stop it first, or give this command another --state',
  );
}
