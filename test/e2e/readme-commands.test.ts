/**
 * Every command in the README's ```bash blocks runs verbatim, in a copy of the repository as a fresh clone
 * has it (tracked files, this checkout's node_modules linked): the local-cloud walk-through in the order a
 * reader follows it, the offline synth. A command that cannot run here (deploying needs an AWS account;
 * `npm test` is what runs this test) is listed with the reason; a command added to the README without a
 * decision here fails the test, so the README cannot grow an untested command.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

/** The README's shell commands: each non-empty, non-comment line of its ```bash blocks, verbatim. */
function readmeCommands(markdown: string): string[] {
  const commands: string[] = [];
  let inBlock = false;
  for (const line of markdown.split('\n')) {
    if (/^```(bash|sh|shell)\s*$/.test(line)) inBlock = true;
    else if (line.startsWith('```')) inBlock = false;
    else if (inBlock && line.trim() !== '' && !line.trim().startsWith('#')) commands.push(line);
  }
  return commands;
}

/** What the test does with a command, matched on the command without its trailing comment. */
type Plan =
  | { readonly run: 'foreground'; readonly expect?: RegExp }
  | { readonly run: 'background'; readonly ready: RegExp }
  | { readonly run: 'skip'; readonly why: string };

const withoutComment = (command: string) => command.replace(/\s+#.*$/, '').trim();

const PLANS: { readonly match: RegExp; readonly plan: Plan }[] = [
  {
    // `npm ci` is what a fresh clone starts with, and what CI ran before this test: the copy links its
    // node_modules instead of installing them again.
    match: /^npm ci && npm run pipeline$/,
    plan: { run: 'foreground', expect: /^OK$/m },
  },
  {
    match: /^npm test$/,
    plan: { run: 'skip', why: 'it is the suite running this test (CI runs it verbatim)' },
  },
  { match: /^npm run local$/, plan: { run: 'background', ready: /local cloud running/ } },
  { match: /^export /, plan: { run: 'foreground' } },
  { match: /^aws /, plan: { run: 'foreground', expect: /upload: / } },
  { match: /^npm run query -- /, plan: { run: 'foreground', expect: /count/ } },
  { match: /^npm run replay -- /, plan: { run: 'foreground' } },
  { match: /^npx cdk synth /, plan: { run: 'foreground' } },
  {
    match: /^npx cdk deploy /,
    plan: { run: 'skip', why: 'deploying needs credentials for an AWS account (none offline)' },
  },
];

function planOf(command: string): Plan | undefined {
  return PLANS.find((p) => p.match.test(withoutComment(command)))?.plan;
}

/** A copy of the repository's files as git tracks them (plus new, unignored ones), node_modules linked. */
function cloneLikeCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'medallion-readme-'));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => f !== '');
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    try {
      cpSync(join(ROOT, f), join(dir, f));
    } catch {
      // deleted in the working tree but still tracked: a fresh clone of the commit would have it, a
      // clone of the working tree would not; skip it like the working tree does
    }
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

describe('the README commands', () => {
  const commands = readmeCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));

  it('are each run below or skipped for a stated reason', () => {
    expect(commands.length).toBeGreaterThan(5);
    expect(commands.filter((c) => planOf(c) === undefined)).toEqual([]);
  });

  describe('run verbatim in a fresh copy', () => {
    let dir: string;
    let env: NodeJS.ProcessEnv;
    const background: ChildProcess[] = [];
    beforeAll(() => {
      dir = cloneLikeCopy();
      // The reader's shell: what `export` lines set carries over to the next commands (collected below).
      env = { ...process.env, CI: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true', FORCE_COLOR: '0' };
      delete env.AWS_ENDPOINT_URL_S3;
    });
    afterAll(async () => {
      for (const child of background) await stop(child);
      rmSync(dir, { recursive: true, force: true });
    });

    async function stop(child: ChildProcess): Promise<void> {
      if (child.exitCode !== null || child.pid === undefined) return;
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    }

    it('in order, each exiting 0 with what it promises', async () => {
      const ran: string[] = [];
      for (const command of commands) {
        const plan = planOf(command) as Plan;
        if (plan.run === 'skip') continue;
        // `npm run replay` needs the state the running local cloud holds: the README says to stop it first.
        if (/^npm run replay/.test(command)) for (const child of background.splice(0)) await stop(child);
        if (plan.run === 'background') {
          const child = spawn('bash', ['-c', command], { cwd: dir, env, detached: true, stdio: 'pipe' });
          background.push(child);
          let output = '';
          await new Promise<void>((ok, fail) => {
            const timer = setTimeout(
              () => fail(new Error(`${command}: not ready in 60 s:\n${output}`)),
              60_000,
            );
            const onData = (chunk: Buffer) => {
              output += String(chunk);
              if (plan.ready.test(output)) {
                clearTimeout(timer);
                ok();
              }
            };
            child.stdout?.on('data', onData);
            child.stderr?.on('data', onData);
            child.once('exit', (code) => fail(new Error(`${command}: exited ${code}:\n${output}`)));
          });
        } else if (/^export /.test(command)) {
          // Run in bash, read back what it exported.
          const out = spawnSync('bash', ['-c', `${command} && env -0`], { cwd: dir, env, encoding: 'utf8' });
          expect({ command, status: out.status, stderr: out.stderr }).toEqual({
            command,
            status: 0,
            stderr: '',
          });
          for (const entry of out.stdout.split('\0')) {
            const eq = entry.indexOf('=');
            if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
          }
        } else {
          // Never `npm ci` here: it would empty the linked node_modules of this very checkout.
          const runnable = command.replace(/^npm ci && /, '');
          expect(runnable).not.toMatch(/\bnpm (ci|install|i)\b/);
          const out = spawnSync('bash', ['-o', 'pipefail', '-c', runnable], {
            cwd: dir,
            env,
            encoding: 'utf8',
            timeout: 240_000,
          });
          const result = { command, status: out.status, output: `${out.stdout}\n${out.stderr}`.slice(-4000) };
          expect(result).toEqual({ command, status: 0, output: result.output });
          if (plan.expect) expect(result.output).toMatch(plan.expect);
        }
        ran.push(command);
      }
      expect(ran.length).toBeGreaterThanOrEqual(6);
    }, 600_000);
  });
});
