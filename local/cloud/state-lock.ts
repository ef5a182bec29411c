/**
 * One local cloud per state directory: two processes on one state (`replay` while `local` runs, two
 * `pipeline --keep-state`) would both load the queue journal and deliver its messages twice, and both
 * serve the same buckets.
 *
 * On Linux the lock is held by the kernel: an abstract Unix socket named after the state directory. Binding
 * it is atomic (of 20 processes starting together exactly one gets it) and the kernel frees it the moment
 * its holder dies, `kill -9` included, so a dead holder never needs breaking. Elsewhere (macOS, no abstract
 * sockets) a file created exclusively with its whole content is the lock, and a dead holder's file is
 * moved aside by the next start; that protocol can still let two processes in when several take over the
 * same dead holder's file at the same instant.
 *
 * Either way `<state>/medallion.lock` names the holder (pid, command, since), for the message a refused
 * process prints.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  linkSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
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

/** How the lock is held: a kernel-held abstract socket (Linux) or an exclusively created file. */
export type StateLockMechanism = 'socket' | 'file';

export const DEFAULT_LOCK_MECHANISM: StateLockMechanism = process.platform === 'linux' ? 'socket' : 'file';

/**
 * Takes the lock of `stateDir` (which must exist) for this process, or rejects with a usage error naming
 * the process that holds it.
 */
export async function acquireStateLock(
  stateDir: string,
  command: string,
  mechanism: StateLockMechanism = DEFAULT_LOCK_MECHANISM,
): Promise<StateLock> {
  const file = join(stateDir, STATE_LOCK_FILE);
  const me: StateLockHolder = {
    pid: process.pid,
    host: hostname(),
    command,
    since: new Date().toISOString(),
  };
  const release = mechanism === 'socket' ? await holdSocket(stateDir, me) : holdFile(stateDir, me);
  let released = false;
  const releaseOnce = () => {
    if (released) return;
    released = true;
    process.removeListener('exit', releaseOnce);
    release();
  };
  // A process that exits without stopping the cloud (an uncaught error) still frees the state.
  process.on('exit', releaseOnce);
  return { file, release: releaseOnce };
}

/** Throws the usage error of {@link acquireStateLock} if another live process holds the lock of `stateDir`. */
export function assertStateFree(
  stateDir: string,
  mechanism: StateLockMechanism = DEFAULT_LOCK_MECHANISM,
): void {
  const file = join(stateDir, STATE_LOCK_FILE);
  if (mechanism === 'socket') {
    if (!existsSync(stateDir)) return;
    const bound = socketBound(socketName(stateDir));
    const holder = readHolder(file);
    // Without /proc/net/unix, the holder's file is all there is to go by (its pid, alive or not).
    const held = bound ?? (holder !== undefined && holder.host === hostname() && alive(holder.pid));
    if (held && holder?.pid !== process.pid) throw inUse(stateDir, holder);
    return;
  }
  const holder = readHolder(file);
  if (holder && holder.pid !== process.pid && holder.host === hostname() && alive(holder.pid))
    throw inUse(stateDir, holder);
}

// --- the kernel-held lock (Linux) ---

/** The abstract socket's name: the state directory's real path, hashed (names are at most 107 bytes). */
function socketName(stateDir: string): string {
  const digest = createHash('sha256').update(realpathSync(stateDir)).digest('hex').slice(0, 40);
  return `medallion-state-${digest}`;
}

async function holdSocket(stateDir: string, me: StateLockHolder): Promise<() => void> {
  const file = join(stateDir, STATE_LOCK_FILE);
  const server: Server = createServer((connection) => connection.destroy());
  const bound = await new Promise<boolean>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      e.code === 'EADDRINUSE' ? resolve(false) : reject(e),
    );
    server.listen(`\0${socketName(stateDir)}`, () => resolve(true));
  });
  if (!bound) throw inUse(stateDir, await holderOnceWritten(file));
  // The socket keeps no event loop alive: the cloud's servers and timers decide when the process ends.
  server.unref();
  writeAtomically(file, holderText(me));
  return () => {
    server.close();
    removeIfMine(file);
  };
}

/** The holder as its file names it; a holder that just bound the socket writes the file a moment later. */
async function holderOnceWritten(file: string): Promise<StateLockHolder | undefined> {
  for (let waited = 0; waited < 1_000; waited += 50) {
    const holder = readHolder(file);
    if (holder && alive(holder.pid)) return holder;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

/**
 * Whether the abstract socket `name` is bound by a process on this machine (`/proc/net/unix`: `@name`);
 * undefined when that table cannot be read.
 */
function socketBound(name: string): boolean | undefined {
  let table: string;
  try {
    table = readFileSync('/proc/net/unix', 'utf8');
  } catch {
    return undefined;
  }
  // Node pads the name with NULs, which the table shows as `@`.
  return table.split('\n').some((line) => new RegExp(`\\s@${name}(@*)$`).test(line));
}

// --- the file lock (elsewhere) ---

function holdFile(stateDir: string, me: StateLockHolder): () => void {
  const file = join(stateDir, STATE_LOCK_FILE);
  const text = holderText(me);
  // Only an exclusive create takes the lock, and it creates the file with its whole content (a hard link
  // to a written temporary file), so nobody ever reads a half-written live lock and mistakes it for a
  // stale one. A stale lock is moved aside (a rename moves one file once) and deleted only if it is still
  // the stale one read.
  for (let attempt = 0; ; attempt++) {
    if (createExclusively(file, text)) break;
    const seen = readText(file);
    const holder = seen === undefined ? undefined : parseHolder(seen);
    if (holder && holder.host === me.host && holder.pid !== process.pid && stillAlive(holder.pid, 500))
      throw inUse(stateDir, holder);
    if (holder && holder.host === me.host && holder.pid === process.pid) throw inUse(stateDir, holder);
    if (attempt >= 5) throw inUse(stateDir, holder);
    if (seen !== undefined) setStaleLockAside(file, seen);
  }
  return () => removeIfMine(file);
}

/** Creates `file` holding `text` unless it exists; whether it did. */
function createExclusively(file: string, text: string): boolean {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  try {
    linkSync(temp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(temp, { force: true });
  }
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

// --- the holder's file, shared ---

const holderText = (me: StateLockHolder) => `${JSON.stringify(me)}\n`;

/** Writes through a rename, so a reader sees the old content or the new, never half of it. */
function writeAtomically(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, file);
}

function removeIfMine(file: string): void {
  try {
    if (readHolder(file)?.pid === process.pid) unlinkSync(file);
  } catch {
    // already gone
  }
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
    return undefined; // torn or foreign: not a live holder
  }
}

function readHolder(file: string): StateLockHolder | undefined {
  const text = readText(file);
  return text === undefined ? undefined : parseHolder(text);
}

function inUse(stateDir: string, holder: StateLockHolder | undefined): PipelineUsageError {
  const who = holder
    ? `\`${holder.command}\` (pid ${holder.pid}, since ${holder.since})`
    : 'another medallion command';
  return new PipelineUsageError(
    `the state directory ${stateDir} is in use by ${who}: stop it first, or give this command another --state`,
  );
}
