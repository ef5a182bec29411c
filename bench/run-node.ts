/** Runs a Node process for the bench scripts, asynchronously (a local S3 server in the caller keeps serving). */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');

export interface NodeRun {
  code: number;
  /** Wall time from spawn to exit. */
  ms: number;
  stdout: string;
  stderr: string;
}

/** `node <args>` in the project root; with `echo`, its output is also shown as it comes. */
export function runNode(args: string[], env: NodeJS.ProcessEnv = {}, echo = false): Promise<NodeRun> {
  return new Promise((done, fail) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (echo) process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      if (echo) process.stderr.write(d);
    });
    child.on('error', fail);
    child.on('close', (code) =>
      done({ code: code ?? 1, ms: Number(process.hrtime.bigint() - t0) / 1e6, stdout, stderr }),
    );
  });
}

/** The last line of a process's output, parsed as JSON (the bench children print one result line). */
export function lastJsonLine<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').pop() as string) as T;
}
