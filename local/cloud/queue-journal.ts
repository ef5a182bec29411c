/**
 * The on-disk journal that lets a {@link LocalQueue} survive its process being killed: one JSON file per
 * message in the queue's own directory, one per dead letter under `dead/`.
 *
 * Every write goes to a temporary file in the same directory and is renamed over the message's file, so a
 * reader sees either the old or the new content, never half of it, even when the process is killed
 * mid-write. There is no fsync: the files survive the process (`kill -9`), not a power cut or an OS crash,
 * which is what a local stand-in needs and keeps a send to one write and one rename.
 *
 * A journal belongs to one queue in one process at a time: two processes sharing a directory would
 * deliver the same messages twice and remove each other's temporary files.
 */

import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** A queued message as it is stored (`<messageId>.json`). */
export interface JournaledMessage {
  readonly messageId: string;
  readonly body: string;
  readonly sentTimestamp: number;
  readonly receiveCount: number;
  /** Receives that ended in a failure answer (the others were cut short by the process dying). */
  readonly failedReceives?: number;
  readonly firstReceiveTimestamp?: number;
  readonly lastError?: string;
}

/** A dead letter as it is stored (`dead/<messageId>.json`). */
export interface JournaledDeadLetter extends JournaledMessage {
  readonly deadLetteredAt: number;
}

/** A file the journal could not read, and where it was moved so that it stops getting in the way. */
export interface UnreadableJournalFile {
  readonly file: string;
  readonly movedTo: string;
  readonly reason: string;
}

/** What a journal held when it was loaded. */
export interface JournalContents {
  /** Queued and in-flight messages, oldest sent first. */
  readonly messages: JournaledMessage[];
  /** Dead letters, oldest first. */
  readonly deadLetters: JournaledDeadLetter[];
  readonly unreadable: UnreadableJournalFile[];
}

const DEAD = 'dead';
const UNREADABLE = 'unreadable';
const SUFFIX = '.json';
/** Temporary files start with a dot and end with `.tmp`: a load never mistakes one for a message. */
const TEMP = /^\..*\.tmp$/;

export class QueueJournal {
  /** The queue's own directory. */
  readonly dir: string;
  private readonly deadDir: string;
  private tempCounter = 0;

  constructor(dir: string) {
    this.dir = dir;
    this.deadDir = join(dir, DEAD);
    mkdirSync(this.deadDir, { recursive: true });
  }

  /**
   * Reads every message and dead letter, removing leftover temporary files (writes a killed process never
   * renamed) and moving unreadable files to `unreadable/`. A message whose dead letter was written but whose
   * own file was not yet removed (killed in between) counts as dead-lettered only.
   */
  load(): JournalContents {
    const unreadable: UnreadableJournalFile[] = [];
    const deadLetters = this.readAll(this.deadDir, parseDeadLetter, unreadable);
    const dead = new Set(deadLetters.map((d) => d.messageId));
    const messages: JournaledMessage[] = [];
    for (const m of this.readAll(this.dir, parseMessage, unreadable)) {
      if (dead.has(m.messageId)) rmSync(this.fileOf(m.messageId), { force: true });
      else messages.push(m);
    }
    messages.sort((a, b) => a.sentTimestamp - b.sentTimestamp || compare(a.messageId, b.messageId));
    deadLetters.sort((a, b) => a.deadLetteredAt - b.deadLetteredAt || compare(a.messageId, b.messageId));
    return { messages, deadLetters, unreadable };
  }

  /** Stores (or replaces) a queued message. */
  write(m: JournaledMessage): void {
    this.writeAtomically(this.dir, m.messageId, messageFields(m));
  }

  /** Forgets a message (deleted after its processing succeeded). */
  remove(messageId: string): void {
    rmSync(this.fileOf(messageId), { force: true });
  }

  /** Stores a dead letter, then forgets the message it was. */
  deadLetter(d: JournaledDeadLetter): void {
    this.writeAtomically(this.deadDir, d.messageId, {
      ...messageFields(d),
      deadLetteredAt: d.deadLetteredAt,
    });
    this.remove(d.messageId);
  }

  private fileOf(messageId: string): string {
    return join(this.dir, `${messageId}${SUFFIX}`);
  }

  private writeAtomically(dir: string, messageId: string, content: object): void {
    if (!isFileSafe(messageId))
      throw new Error(`queue journal: unusable message id ${JSON.stringify(messageId)}`);
    const temp = join(dir, `.${messageId}.${process.pid}.${this.tempCounter++}.tmp`);
    try {
      writeFileSync(temp, JSON.stringify(content));
      renameSync(temp, join(dir, `${messageId}${SUFFIX}`));
    } catch (e) {
      rmSync(temp, { force: true });
      throw e;
    }
  }

  private readAll<T extends JournaledMessage>(
    dir: string,
    parse: (value: unknown) => T | string,
    unreadable: UnreadableJournalFile[],
  ): T[] {
    const found: T[] = [];
    for (const name of readdirSync(dir)) {
      const file = join(dir, name);
      if (TEMP.test(name)) {
        rmSync(file, { force: true });
        continue;
      }
      if (!name.endsWith(SUFFIX) || !statSync(file).isFile()) continue;
      let parsed: T | string;
      try {
        parsed = parse(JSON.parse(readFileSync(file, 'utf8')));
      } catch (e) {
        parsed = `not JSON: ${(e as Error).message}`;
      }
      if (typeof parsed === 'string' || `${parsed.messageId}${SUFFIX}` !== name) {
        const reason = typeof parsed === 'string' ? parsed : `holds message ${parsed.messageId}`;
        unreadable.push({ file, movedTo: this.moveAside(file, name), reason });
      } else found.push(parsed);
    }
    return found;
  }

  private moveAside(file: string, name: string): string {
    const aside = join(this.dir, UNREADABLE);
    mkdirSync(aside, { recursive: true });
    let target = join(aside, name);
    for (let n = 1; existsSync(target); n++) target = join(aside, `${name}.${n}`);
    renameSync(file, target);
    return target;
  }
}

/** Only the stored fields: a held message carries more (its activity callback). */
function messageFields(m: JournaledMessage): JournaledMessage {
  return {
    messageId: m.messageId,
    body: m.body,
    sentTimestamp: m.sentTimestamp,
    receiveCount: m.receiveCount,
    ...(m.failedReceives === undefined ? {} : { failedReceives: m.failedReceives }),
    ...(m.firstReceiveTimestamp === undefined ? {} : { firstReceiveTimestamp: m.firstReceiveTimestamp }),
    ...(m.lastError === undefined ? {} : { lastError: m.lastError }),
  };
}

/** The message a file holds, or why it is not one. */
function parseMessage(value: unknown): JournaledMessage | string {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const v = value as Record<string, unknown>;
  if (typeof v.messageId !== 'string' || !isFileSafe(v.messageId)) return 'no usable messageId';
  if (typeof v.body !== 'string') return 'no body';
  if (!isTime(v.sentTimestamp)) return 'no sentTimestamp';
  if (!Number.isSafeInteger(v.receiveCount) || (v.receiveCount as number) < 0) return 'no receiveCount';
  if (
    v.failedReceives !== undefined &&
    (!Number.isSafeInteger(v.failedReceives) || (v.failedReceives as number) < 0)
  )
    return 'bad failedReceives';
  if (v.firstReceiveTimestamp !== undefined && !isTime(v.firstReceiveTimestamp))
    return 'bad firstReceiveTimestamp';
  if (v.lastError !== undefined && typeof v.lastError !== 'string') return 'bad lastError';
  return messageFields(v as unknown as JournaledMessage);
}

function parseDeadLetter(value: unknown): JournaledDeadLetter | string {
  const message = parseMessage(value);
  if (typeof message === 'string') return message;
  const deadLetteredAt = (value as Record<string, unknown>).deadLetteredAt;
  if (!isTime(deadLetteredAt)) return 'no deadLetteredAt';
  return { ...message, deadLetteredAt };
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** Message ids become file names: no separators, no leading dot (temporary files start with one). */
function isFileSafe(id: string): boolean {
  return /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/.test(id);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
