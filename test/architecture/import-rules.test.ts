/**
 * The import rule (`npm run lint:imports`) must bite: the real dependency-cruiser config and CLI, run exactly as
 * `npm test` runs them, against small project-shaped trees in a temp dir, and against the project itself.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const CONFIG = '.dependency-cruiser.cjs';
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

/** The arguments of `npm run lint:imports`, so the test checks what `npm test` checks. */
function lintImportsArgs(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const [command, ...args] = pkg.scripts['lint:imports'].split(/\s+/);
  expect(command).toBe('depcruise');
  return args;
}

interface Run {
  code: number;
  output: string;
}

function depcruise(cwd: string): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [DEPCRUISE, ...lintImportsArgs()], { cwd }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** Every folder `lint:imports` cruises, each with a placeholder module, so the CLI finds them all. */
const BASE_TREE: Record<string, string> = {
  'core/a.ts': "export const a = 'a';\n",
  'lib/b.ts': "export const b = 'b';\n",
  'lambdas/c.ts': "export const c = 'c';\n",
  'local/d.ts': "export const d = 'd';\n",
  'bin/e.ts': "export const e = 'e';\n",
  'bench/g.ts': "export const g = 'g';\n",
  'test/f.ts': "export const f = 'f';\n",
};

let dirs: string[] = [];

/** A temp project holding `files` (over the base tree), the real tsconfig and the real import-rule config. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'import-rules-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries({ ...BASE_TREE, ...files })) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  copyFileSync(join(ROOT, CONFIG), join(dir, CONFIG));
  copyFileSync(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  return dir;
}

afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

/** A line of the `err` report naming `rule` for the import `from` -> `to`. */
function violation(rule: string, from: string, to: string): RegExp {
  const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`error ${literal(rule)}: ${literal(from)} → ${literal(to)}`);
}

describe('the import rule', () => {
  it('fails, naming every broken rule and the offending import, on a tree that breaks the layout', async () => {
    const dir = tree({
      'core/a.ts': [
        "import { b } from '../lib/b';",
        "import { App } from 'aws-cdk-lib';",
        "import { S3Client } from '@aws-sdk/client-s3';",
        "import type { Context } from 'aws-lambda';",
        'export const a = [b, App, S3Client] as unknown[];',
        'export type A = Context;',
        '',
      ].join('\n'),
      'lib/b.ts': "import { c } from '../lambdas/c';\nexport const b = c;\n",
      'lambdas/c.ts': "import { d } from '../local/d';\nexport const c = d;\n",
      'local/d.ts': "import { e } from '../bin/e';\nexport const d = e;\n",
      'bin/e.ts': "import { f } from '../test/f';\nexport const e = f;\n",
      // A cycle made of value imports: it runs, so it is forbidden.
      'core/x.ts': "import { y } from './y';\nexport const x = () => y();\n",
      'core/y.ts': "import { x } from './x';\nexport const y = () => x;\n",
    });

    const { code, output } = await depcruise(dir);

    expect(code).not.toBe(0);
    expect(output).toMatch(violation('core-imports-only-core', 'core/a.ts', 'lib/b.ts'));
    expect(output).toMatch(violation('core-no-platform-packages', 'core/a.ts', 'aws-cdk-lib'));
    expect(output).toMatch(violation('core-no-platform-packages', 'core/a.ts', '@aws-sdk/client-s3'));
    expect(output).toMatch(violation('core-no-platform-packages', 'core/a.ts', 'aws-lambda'));
    expect(output).toMatch(violation('lib-not-to-lambdas-or-local', 'lib/b.ts', 'lambdas/c.ts'));
    expect(output).toMatch(violation('lambdas-not-to-tooling', 'lambdas/c.ts', 'local/d.ts'));
    expect(output).toMatch(violation('local-not-to-cli-bench-or-test', 'local/d.ts', 'bin/e.ts'));
    expect(output).toMatch(violation('production-not-to-test', 'bin/e.ts', 'test/f.ts'));
    expect(output).toMatch(/error no-circular: core\/x\.ts →\s+core\/y\.ts →\s+core\/x\.ts/);
  });

  it('passes a tree that keeps the layout, including a cycle closed only by a type-only import', async () => {
    const dir = tree({
      'core/a.ts': "import { join } from 'node:path';\nexport const a = join('a', 'b');\n",
      'lib/b.ts': "import { a } from '../core/a';\nexport const b = a;\n",
      'lambdas/c.ts': "import { a } from '../core/a';\nexport const c = a;\n",
      'local/d.ts': [
        "import { a } from '../core/a';",
        "import { c } from '../lambdas/c';",
        "import { b } from '../lib/b';",
        'export const d = [a, b, c];',
        '',
      ].join('\n'),
      'bin/e.ts': "import { d } from '../local/d';\nexport const e = d;\n",
      'bench/g.ts': "import { f } from '../test/f';\nexport const g = f;\n",
      // Erased at compile time, so the cycle cannot run.
      'core/x.ts':
        "import { y } from './y';\nexport interface X {\n  n: number;\n}\nexport const x = () => y();\n",
      'core/y.ts': "import type { X } from './x';\nexport const y = (): X => ({ n: 1 });\n",
    });

    const { code, output } = await depcruise(dir);

    expect(output).not.toMatch(/error /);
    expect(code).toBe(0);
  });

  it('passes on the project itself', async () => {
    const { code, output } = await depcruise(ROOT);

    expect(output).toContain('no dependency violations found');
    expect(code).toBe(0);
  });
});
