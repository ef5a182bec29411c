/**
 * The files of a directory as they were at a git ref, read with the `git` command line (`rev-parse`,
 * `ls-tree`, `show`): what `medallion check --against <ref>` compares the working tree with.
 */
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { isAbsolute, posix, relative, sep } from 'node:path';

/**
 * Variables that point git at a repository other than the one holding the directory (a git hook sets
 * GIT_DIR, for one): the repository is found from the directory alone.
 */
const REPOSITORY_VARIABLES = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
];

/** One file at the ref: its path from the repository's root (`/`-separated) and its text. */
export interface FileAtRef {
  readonly path: string;
  readonly text: string;
}

/** A repository, found from a directory inside it. */
export class GitRepository {
  private constructor(
    /** The working tree's root (as git gives it: symbolic links resolved). */
    readonly root: string,
  ) {}

  /** The repository holding `dir`; undefined when it is in none (or git cannot run). */
  static containing(dir: string): GitRepository | undefined {
    const root = git(dir, ['rev-parse', '--show-toplevel']);
    return root === undefined ? undefined : new GitRepository(root.trim());
  }

  /** `dir` relative to the root, `/`-separated (`''` for the root); undefined when `dir` lies outside. */
  pathOf(dir: string): string | undefined {
    const rel = relative(this.root, realpathSync(dir));
    if (rel.startsWith('..') || isAbsolute(rel)) return undefined;
    return rel.split(sep).join('/');
  }

  /** The commit `ref` names (a branch, tag, commit or expression like `HEAD~1`); undefined when none. */
  commitOf(ref: string): string | undefined {
    // A ref starting with '-' would be read as an option.
    if (ref === '' || ref.startsWith('-')) return undefined;
    return git(this.root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])?.trim();
  }

  /**
   * The files directly in `dir` (relative to the root, `''` for the root) at `commit` whose name `keep`
   * accepts, sorted by path: as a check reads a directory (its subdirectories are not read).
   */
  filesAt(commit: string, dir: string, keep: (name: string) => boolean): FileAtRef[] {
    const listing = git(this.root, ['ls-tree', '-r', '-z', '--name-only', commit, '--', dir || '.']);
    if (listing === undefined) throw new Error(`git ls-tree ${commit} -- ${dir} failed in ${this.root}`);
    return listing
      .split('\0')
      .filter((path) => path !== '' && posix.dirname(path) === (dir || '.') && keep(posix.basename(path)))
      .sort()
      .map((path) => {
        const text = git(this.root, ['show', `${commit}:${path}`]);
        if (text === undefined) throw new Error(`git show ${commit}:${path} failed in ${this.root}`);
        return { path, text };
      });
  }
}

/** git's standard output, or undefined when it exits non-zero (its error output is not shown). */
function git(cwd: string, args: readonly string[]): string | undefined {
  const env = { ...process.env };
  for (const name of REPOSITORY_VARIABLES) delete env[name];
  try {
    return execFileSync('git', args, {
      cwd,
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 256 * 1024 * 1024,
    });
  } catch {
    return undefined;
  }
}
