/**
 * What `medallion check` found, and how it is printed: one line per problem,
 * `<file>:<line>: <message>  fix: <what to do>`, then any code frame indented under it.
 */
import { closest, distance } from 'fastest-levenshtein';

/** One problem: where, what, and what to do about it. */
export interface CheckProblem {
  /** The file (absolute); a directory for a problem with the command's arguments. */
  readonly file: string;
  /** 1-based; 0 when the problem is about the file or directory as a whole. */
  readonly line: number;
  readonly message: string;
  readonly fix: string;
  /** Lines shown under the problem: the YAML parser's code frame, an engine's caret. */
  readonly detail?: readonly string[];
}

/** What `checkProject` found. */
export interface CheckResult {
  readonly problems: CheckProblem[];
  /** How many contracts and models were read. */
  readonly contracts: number;
  readonly models: number;
  readonly ms: number;
}

/** The problem's first line: `<file>:<line>: <message>  fix: <fix>` (`show` writes the path). */
export function problemLine(p: CheckProblem, show: (path: string) => string = (x) => x): string {
  return `${show(p.file)}${p.line > 0 ? `:${p.line}` : ''}: ${p.message}  fix: ${p.fix}`;
}

/** Every line of the report: the problems (each with its detail indented), then the summary. */
export function formatCheck(result: CheckResult, show: (path: string) => string = (x) => x): string[] {
  const lines: string[] = [];
  for (const p of sortProblems(result.problems)) {
    lines.push(problemLine(p, show));
    for (const d of p.detail ?? []) lines.push(`    ${d}`);
  }
  lines.push(summaryLine(result));
  return lines;
}

/** `check: 3 contracts, 3 models OK in 412 ms`, or how many problems. */
export function summaryLine(result: CheckResult): string {
  const what = `${plural(result.contracts, 'contract')}, ${plural(result.models, 'model')}`;
  return result.problems.length === 0
    ? `check: ${what} OK in ${result.ms} ms`
    : `check: ${plural(result.problems.length, 'problem')} in ${what} (${result.ms} ms)`;
}

/** Problems by file, then line (a file's problems read top to bottom). */
export function sortProblems(problems: readonly CheckProblem[]): CheckProblem[] {
  return [...problems].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The known name closest to `name`, when it is close enough to be a likely typo (at most a third of its
 * letters differ, at least one): `orderz` -> `orders`.
 */
export function didYouMean(name: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const best = closest(name, [...known]);
  return distance(name, best) <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

/** `did you mean 'orders'?` or, with no close name, the list of known ones. */
export function suggestion(name: string, known: readonly string[], what = 'known'): string {
  const best = didYouMean(name, known);
  if (best !== undefined) return `did you mean '${best}'?`;
  return known.length > 0 ? `${what}: ${[...known].sort().join(', ')}` : `there is none`;
}

/**
 * An engine's error message. DuckDB's errors come from the native module's realm, where `instanceof
 * Error` can fail (in jest's sandbox, for one): read `message` directly.
 */
export function engineMessage(e: unknown): string {
  const message = (e as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(e);
}
