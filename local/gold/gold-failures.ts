/**
 * Why gold models failed, in words a model's author can act on: the model, the engine's own error (not
 * the workflow's `GoldModelFailed`), and the file and line it points at.
 *
 * Read from the alarms the workflow published, exactly what an operator in AWS receives: the message
 * names the model, its file and the file's line where the SQL starts (`sqlStartsAtLine`); the cause of a
 * failed Athena task is the query execution (JSON), whose `StateChangeReason` is the engine's error.
 * Engines count lines from their statement, and a model's SELECT starts on the UNLOAD's second line, so
 * the statement's line L is the file's line `sqlStartsAtLine + L - 2`.
 */
import { join } from 'node:path';
import type { GoldAlarm } from './run-gold';

/** One failed model, explained. */
export interface GoldFailure {
  /** The failed model, or the workflow stage that failed before any model ran (`redshift setup`). */
  readonly model: string;
  /** Set when what failed is a stage of the workflow, not a model. */
  readonly stage?: boolean;
  /** The error as the workflow caught it (`States.TaskFailed`, `Glue.EntityNotFoundException`...). */
  readonly error: string;
  /** The engine's message (Athena's StateChangeReason), or the cause as the workflow recorded it. */
  readonly message: string;
  /** The model's file (in the models directory when it is known). */
  readonly file?: string;
  /** The file's line the engine's error points at, when it names one. */
  readonly line?: number;
}

/** A model alarm's message, as `modelFailureAlarm` (lib/gold/gold-tasks.ts) builds it. */
interface ModelAlarmMessage {
  readonly model?: unknown;
  /** An engine's setup alarm (`lib/gold/gold-workflow.ts`) names its stage instead of a model. */
  readonly stage?: unknown;
  readonly file?: unknown;
  readonly sqlStartsAtLine?: unknown;
  readonly error?: unknown;
  readonly cause?: unknown;
}

/** The statement line an engine error names: Trino's `line 3:14`, DuckDB's `LINE 3:`, ours `(line 3: `. */
const STATEMENT_LINE = /\bline (\d+):\d+|\bLINE (\d+):|\(line (\d+):/;

/** The failures among `alarms` (other alarms are ignored); `modelsDir` completes the files' paths. */
export function explainGoldFailures(alarms: readonly GoldAlarm[], modelsDir?: string): GoldFailure[] {
  const failures: GoldFailure[] = [];
  for (const alarm of alarms) {
    const m = alarm.message as ModelAlarmMessage | undefined;
    if (!m || typeof m !== 'object') continue;
    const stage = typeof m.model !== 'string' && typeof m.stage === 'string' ? m.stage : undefined;
    if (typeof m.model !== 'string' && stage === undefined) continue;
    const error = typeof m.error === 'string' ? m.error : 'unknown error';
    const message = engineMessage(typeof m.cause === 'string' ? m.cause : '');
    const file =
      typeof m.file === 'string' ? (modelsDir === undefined ? m.file : join(modelsDir, m.file)) : undefined;
    const sqlStart = Number(m.sqlStartsAtLine);
    const statementLine = lineOf(message);
    const line =
      statementLine !== undefined && Number.isInteger(sqlStart) && sqlStart > 0
        ? Math.max(sqlStart, sqlStart + statementLine - 2)
        : undefined;
    failures.push({
      model: stage ?? (m.model as string),
      ...(stage === undefined ? {} : { stage: true }),
      error,
      message,
      ...(file === undefined ? {} : { file }),
      ...(line === undefined ? {} : { line }),
    });
  }
  return failures;
}

/** The engine's error inside a task's cause: a query execution's reason, else the cause itself. */
function engineMessage(cause: string): string {
  try {
    const parsed = JSON.parse(cause) as {
      QueryExecution?: { Status?: { StateChangeReason?: string; AthenaError?: { ErrorMessage?: string } } };
      errorMessage?: string;
    };
    const status = parsed.QueryExecution?.Status;
    const reason = status?.StateChangeReason ?? status?.AthenaError?.ErrorMessage ?? parsed.errorMessage;
    if (typeof reason === 'string' && reason !== '') return reason;
  } catch {
    // not JSON: the cause is the message
  }
  return cause === '' ? '(no cause recorded)' : cause;
}

function lineOf(message: string): number | undefined {
  const m = STATEMENT_LINE.exec(message);
  if (!m) return undefined;
  return Number(m[1] ?? m[2] ?? m[3]);
}

/** Console lines for the failures: the model and file:line first, then the engine's message indented. */
export function formatGoldFailures(failures: readonly GoldFailure[], show: (p: string) => string): string[] {
  return failures.flatMap((f) => {
    const where =
      f.file === undefined ? '' : ` at ${show(f.file)}${f.line === undefined ? '' : `:${f.line}`}`;
    return [
      `${f.stage ? `gold ${f.model}` : `gold model ${f.model}`} failed${where} (${f.error}):`,
      ...f.message.split('\n').map((l) => (l.trim() === '' ? '' : `    ${l}`)),
    ];
  });
}
