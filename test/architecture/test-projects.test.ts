/**
 * Every test file belongs to exactly one jest project (jest.config.js): a file outside them all would never run,
 * in `npm test` or anywhere else.
 */
import { readdirSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

interface JestProject {
  displayName: string;
  roots: string[];
}

const config = require(join(ROOT, 'jest.config.js')) as { projects: JestProject[] };

function projectsOf(file: string): string[] {
  return config.projects
    .filter((project) =>
      project.roots.some((root) => file.startsWith(`${root.replace('<rootDir>', ROOT)}${sep}`)),
    )
    .map((project) => project.displayName);
}

describe('the jest projects', () => {
  it('hold every test file under test/ in exactly one project', () => {
    const testFiles = (readdirSync(join(ROOT, 'test'), { recursive: true }) as string[])
      .filter((path) => path.endsWith('.test.ts'))
      .map((path) => join(ROOT, 'test', path));
    expect(testFiles.length).toBeGreaterThan(0);

    const misplaced = testFiles
      .map((file) => ({ file: relative(ROOT, file), projects: projectsOf(file) }))
      .filter(({ projects }) => projects.length !== 1);

    expect(misplaced).toEqual([]);
  });
});
