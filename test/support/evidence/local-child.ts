/**
 * `medallion local` as a real child process, in its own process group (tsx runs the CLI in a grandchild:
 * a kill must reach the whole group, as `kill -9` of a terminal's job would), with its endpoints read
 * from the banner it prints.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..', '..');

export interface LocalChild {
  readonly pid: number;
  readonly s3: string;
  readonly api: string;
  /** Everything it printed so far. */
  readonly output: () => string;
  /** SIGKILL to the whole process group; resolves once the group leader is gone. */
  kill9(): Promise<void>;
  /** Ctrl-C, and the exit code. */
  stop(): Promise<number | null>;
}

export async function startLocalChild(stateDir: string, timeoutMs = 120_000): Promise<LocalChild> {
  const child: ChildProcess = spawn(
    resolve(ROOT, 'node_modules', '.bin', 'tsx'),
    ['bin/medallion.ts', 'local', '--port', '0', '--api-port', '0', '--state', stateDir],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let output = '';
  child.stdout?.on('data', (c) => {
    output += String(c);
  });
  child.stderr?.on('data', (c) => {
    output += String(c);
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const endpoints = await new Promise<{ s3: string; api: string }>((ok, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`medallion local did not start in ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const check = () => {
      const s3 = /S3\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      const api = /ingest API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (s3 && api && /aws --endpoint-url/.test(output)) {
        clearTimeout(timer);
        ok({ s3, api });
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`medallion local exited ${code} before it started:\n${output}`));
    });
  });
  const pid = child.pid as number;
  return {
    pid,
    ...endpoints,
    output: () => output,
    async kill9() {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    },
    async stop() {
      // To tsx only: it relays the signal to the CLI (a second SIGINT would end it before it cleaned up).
      child.kill('SIGINT');
      return exited;
    },
  };
}
