import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalExecutionRegistry } from '../../../local/gold/execution-registry';

const ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:gold';
const item = (name: string, start: string) => ({
  ExecutionArn: `${ARN.replace('stateMachine', 'execution')}:${name}`,
  StateMachineArn: ARN,
  Name: name,
  StartDate: start,
});

describe('LocalExecutionRegistry', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-executions-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lists the running executions newest first, and forgets one once it ended', () => {
    const registry = new LocalExecutionRegistry(dir);
    expect(registry.running()).toEqual([]);
    const endOld = registry.begin(item('old', '2026-12-06T10:00:00.000Z'));
    const endNew = registry.begin(item('new', '2026-12-06T10:05:00.000Z'));
    expect(registry.running().map((e) => [e.Name, e.Status])).toEqual([
      ['new', 'RUNNING'],
      ['old', 'RUNNING'],
    ]);
    endNew();
    expect(registry.running().map((e) => e.Name)).toEqual(['old']);
    endOld();
    expect(registry.running()).toEqual([]);
  });

  it('sees a run of another process, and no longer once that process was killed with SIGKILL', async () => {
    // Another `medallion` process running gold on the same state directory: the registry's own code, in a
    // real child process that never ends its execution.
    const script = `
      const { LocalExecutionRegistry } = require(${JSON.stringify(join(__dirname, '..', '..', '..', 'local', 'gold', 'execution-registry'))});
      new LocalExecutionRegistry(${JSON.stringify(dir)}).begin(${JSON.stringify(item('other-process', '2026-12-06T10:00:00.000Z'))});
      process.stdout.write('running\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('running') && resolve());
        child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
      });
      const registry = new LocalExecutionRegistry(dir);
      expect(registry.running().map((e) => e.Name)).toEqual(['other-process']);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      expect(registry.running()).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});
