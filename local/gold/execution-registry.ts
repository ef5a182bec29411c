/**
 * The local stand-in for Step Functions' list of RUNNING executions of the gold state machine: one file
 * per running local execution in `<stateDir>/gold/executions/`, naming the process that runs it. An entry
 * whose process is gone (killed, even with `kill -9`) is not running: it is removed when next listed. So
 * two `medallion pipeline` processes on one state directory see each other's runs, as executions of one
 * state machine do in AWS.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** An execution as `states:ListExecutions` returns it. */
export interface ExecutionListItem {
  readonly ExecutionArn: string;
  readonly StateMachineArn: string;
  readonly Name: string;
  readonly Status: 'RUNNING';
  readonly StartDate: string;
}

interface Entry extends ExecutionListItem {
  readonly pid: number;
}

export class LocalExecutionRegistry {
  constructor(private readonly dir: string) {}

  /** Records `execution` as running in this process; the function returned ends it. */
  begin(execution: Omit<ExecutionListItem, 'Status'>): () => void {
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, `${execution.Name}.json`);
    const entry: Entry = { ...execution, Status: 'RUNNING', pid: process.pid };
    writeFileSync(file, JSON.stringify(entry));
    return () => rmSync(file, { force: true });
  }

  /** The running executions, newest first (as ListExecutions sorts them); stale entries are removed. */
  running(): ExecutionListItem[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((f) => f.endsWith('.json'));
    } catch {
      return [];
    }
    const out: Entry[] = [];
    for (const name of names) {
      const file = join(this.dir, name);
      let entry: Entry;
      try {
        entry = JSON.parse(readFileSync(file, 'utf8')) as Entry;
      } catch {
        continue; // being written or removed right now
      }
      if (alive(entry.pid)) out.push(entry);
      else rmSync(file, { force: true });
    }
    return out
      .sort((a, b) => (a.StartDate < b.StartDate ? 1 : a.StartDate > b.StartDate ? -1 : 0))
      .map(({ pid: _pid, ...item }) => item);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
