/**
 * The one structured logger: a JSON object a line, with Powertools for AWS Lambda's key names and level
 * spellings (`level: 'INFO'`, `message`), so CloudWatch Logs Insights queries work the same on every
 * function. Entries go to a sink; the default writes one JSON line to the console stream of its level
 * (`console.log` for INFO, which is also where EMF metric documents must go, see `metrics.ts`).
 */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export type LogFields = Record<string, unknown>;

export interface LogEntry extends LogFields {
  readonly level: LogLevel;
  readonly message: string;
}

export type LogSink = (entry: LogEntry) => void;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  /** `error`, when given, is written as `error` (its message) and `stack`. */
  error(message: string, fields?: LogFields & { error?: unknown }): void;
  /** A logger that adds `fields` to every entry. */
  child(fields: LogFields): Logger;
}

const CONSOLE_METHOD: Record<LogLevel, 'debug' | 'log' | 'warn' | 'error'> = {
  DEBUG: 'debug',
  INFO: 'log',
  WARN: 'warn',
  ERROR: 'error',
};

/** One JSON line per entry, on the console stream of its level. */
export const consoleSink: LogSink = (entry) => console[CONSOLE_METHOD[entry.level]](JSON.stringify(entry));

export function createLogger(options: { sink?: LogSink; fields?: LogFields } = {}): Logger {
  const sink = options.sink ?? consoleSink;
  const base = options.fields ?? {};
  const write = (level: LogLevel, message: string, fields: LogFields = {}) => {
    const { error, ...rest } = fields;
    const failure =
      error === undefined
        ? {}
        : error instanceof Error
          ? { error: error.message, stack: error.stack }
          : { error: String(error) };
    sink({ level, message, ...base, ...rest, ...failure });
  };
  return {
    debug: (m, f) => write('DEBUG', m, f),
    info: (m, f) => write('INFO', m, f),
    warn: (m, f) => write('WARN', m, f),
    error: (m, f) => write('ERROR', m, f),
    child: (fields) => createLogger({ sink, fields: { ...base, ...fields } }),
  };
}
