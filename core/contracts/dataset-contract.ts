/**
 * The declarative data contract of one dataset: what producers send, and the rules that turn it into silver.
 *
 * One YAML (or JSON) file per dataset. The zod schema below is the single source of truth: it validates
 * contracts at load time (and at `cdk synth`), and `contractJsonSchema()` exports it as JSON Schema so
 * editors can complete and check contract files.
 */
import { z } from 'zod';
import { ContractError } from '../errors';
import { trailerPatternProblem } from '../lake/expected-rows';
import { accessSchema, ownerSchema, slaSchema, versionSchema } from './data-product';

/** Lower-case identifiers: safe as S3 prefixes, URL segments, Glue and Athena names. */
const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;
const identifier = (what: string) =>
  z
    .string()
    .regex(IDENTIFIER, `${what} must be lower-case letters, digits and '_', starting with a letter (max 63)`);

/** Column types a contract can declare; `decimal(p,s)` carries its precision and scale in the string. */
export const SCALAR_TYPES = ['string', 'int32', 'int64', 'double', 'boolean', 'date', 'timestamp'] as const;
const DECIMAL = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/;

export type ColumnType =
  | { kind: (typeof SCALAR_TYPES)[number] }
  | { kind: 'decimal'; precision: number; scale: number };

export function parseColumnType(text: string): ColumnType | string {
  if ((SCALAR_TYPES as readonly string[]).includes(text)) {
    return { kind: text as (typeof SCALAR_TYPES)[number] };
  }
  const m = DECIMAL.exec(text);
  if (!m) return `unknown type '${text}': use one of ${SCALAR_TYPES.join(', ')} or decimal(p,s)`;
  const precision = Number(m[1]);
  const scale = Number(m[2]);
  if (precision < 1 || precision > 38) return `decimal precision must be 1..38, got ${precision}`;
  if (scale > precision) return `decimal scale (${scale}) cannot exceed precision (${precision})`;
  return { kind: 'decimal', precision, scale };
}

const columnTypeSchema = z
  .string()
  .describe('string | int32 | int64 | double | decimal(p,s) | boolean | date | timestamp')
  .superRefine((text, ctx) => {
    const parsed = parseColumnType(text.trim());
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
  });

const checksSchema = z
  .object({
    min: z.union([z.number(), z.string()]).optional().describe('Smallest allowed value (numbers, dates).'),
    max: z.union([z.number(), z.string()]).optional().describe('Largest allowed value (numbers, dates).'),
    allowed: z
      .array(z.union([z.string(), z.number(), z.boolean()]))
      .min(1)
      .optional()
      .describe('The value must be one of these (after normalization).'),
    regex: z.string().optional().describe('The whole value must match this regular expression (RE2 syntax).'),
    maxLength: z.number().int().positive().optional().describe('Maximum length in characters (strings).'),
  })
  .strict();

export const columnSchema = z
  .object({
    name: identifier('column name'),
    type: columnTypeSchema,
    from: z
      .string()
      .min(1)
      .optional()
      .describe('Name of the field in the source, when it differs from `name` (e.g. "Order ID").'),
    description: z.string().optional(),
    required: z.boolean().default(false).describe('A row without a value is quarantined.'),
    normalize: z
      .array(z.enum(['trim', 'upper', 'lower']))
      .default([])
      .describe('Applied in order before casting and checks. Empty strings become null.'),
    format: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Input format for date/timestamp columns, strftime-style (e.g. "%d/%m/%Y %H:%M"). Default ISO 8601.',
      ),
    timezone: z
      .string()
      .min(1)
      .optional()
      .describe('IANA time zone of timestamps that carry no offset (e.g. "Europe/Paris"). Default UTC.'),
    checks: checksSchema.optional(),
    pii: z
      .enum(['hash', 'mask', 'drop'])
      .optional()
      .describe(
        'hash: salted SHA-256 hex; mask: all but the last 4 characters replaced by *; drop: not written.',
      ),
  })
  .strict();

const csvOptionsSchema = z
  .object({
    header: z.boolean().default(true).describe('The first line names the columns.'),
    delimiter: z.string().length(1).default(','),
    quote: z.string().length(1).default('"'),
    escape: z
      .string()
      .length(1)
      .optional()
      .describe('Escape character inside quotes. Default: the quote itself.'),
  })
  .strict();

export const datasetContractSchema = z
  .object({
    domain: identifier('domain'),
    dataset: identifier('dataset'),
    description: z.string().optional(),
    version: versionSchema.default('1.0.0'),
    owner: ownerSchema.optional(),
    sla: slaSchema.optional(),
    access: accessSchema.default({ readers: [], bronze: false, quarantine: false }),
    source: z
      .object({
        format: z.enum(['csv', 'ndjson', 'json']).describe('json means one JSON array of objects.'),
        csv: csvOptionsSchema.default({ header: true, delimiter: ',', quote: '"' }),
        trailer: z
          .object({
            pattern: z
              .string()
              .min(1)
              .describe(
                'A regular expression the last line must match, with one capture group: the number of data rows the file holds (e.g. "^TRAILER,(\\d+)$").',
              ),
          })
          .strict()
          .optional()
          .describe(
            "Every file ends with a trailer line stating its row count (csv and ndjson): the transform removes it, and measures the file's completeness against it. A file without it is quarantined whole (it may be cut short).",
          ),
      })
      .strict()
      .describe('Gzip-compressed files (.gz or gzip magic bytes) are always accepted.'),
    columns: z.array(columnSchema).min(1),
    primaryKey: z.array(z.string()).min(1).describe('Columns that identify a row; duplicates are removed.'),
    latestBy: z.string().optional().describe('Among duplicates the row with the greatest value here wins.'),
    deletes: z
      .object({
        column: z.string().describe('A string column of the contract.'),
        values: z.array(z.string()).min(1).describe('Values (after normalization) that mark a delete.'),
      })
      .strict()
      .optional()
      .describe(
        'Rows whose column holds one of the values delete their key from the current state (<dataset>); history keeps them.',
      ),
    partition: z
      .object({
        column: z.string().describe('A required date or timestamp column.'),
        granularity: z.enum(['day', 'month']).default('day'),
        fixedPerKey: z
          .boolean()
          .optional()
          .describe(
            "Every version of a key has the same partition value (the column never changes for a key, like an order's order_ts): the current-state merge then reads only the partitions of the rows it merges, so its cost follows new data instead of history. Default false (the merge reads every partition): with true, a key whose column does change would be kept twice.",
          ),
      })
      .strict(),
    unknownColumns: z
      .enum(['ignore', 'keep', 'reject'])
      .default('ignore')
      .describe(
        'Source fields the contract does not declare. ignore: drop them; keep: carry them in the `_extra` JSON column, their values as `unknownValues` says; reject: quarantine the whole file.',
      ),
    unknownValues: z
      .enum(['hash', 'keep'])
      .default('hash')
      .describe(
        'Under `unknownColumns: keep`, what `_extra` holds for each undeclared field. hash (default): the key as sent and the value as a declared `pii: hash` column would hold it (salted SHA-256 hex; a null or empty value becomes null), since an undeclared field can carry personal data nobody reviewed. keep: values in clear; an explicit opt-in, for sources known to send no personal data outside the declared columns.',
      ),
    quality: z
      .object({
        maxQuarantineRatio: z
          .number()
          .min(0)
          .max(1)
          .default(0.05)
          .describe('Share of quarantined rows above which the dataset alarms.'),
      })
      .strict()
      .default({ maxQuarantineRatio: 0.05 }),
  })
  .strict()
  .superRefine((c, ctx) => {
    const byName = new Map(c.columns.map((col) => [col.name, col]));
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    c.columns.forEach((col, i) => {
      if (c.columns.findIndex((o) => o.name === col.name) !== i)
        issue(['columns', i, 'name'], `duplicate column '${col.name}'`);
      const type = parseColumnType(col.type.trim());
      if (typeof type === 'string') return;
      const temporal = type.kind === 'date' || type.kind === 'timestamp';
      const numeric = ['int32', 'int64', 'double', 'decimal'].includes(type.kind);
      if ((col.format || col.timezone) && !temporal) {
        issue(['columns', i, 'format'], 'format and timezone apply only to date and timestamp columns');
      }
      if (col.timezone && !isValidTimeZone(col.timezone)) {
        issue(['columns', i, 'timezone'], `unknown time zone '${col.timezone}'`);
      }
      const checks = col.checks ?? {};
      for (const bound of ['min', 'max'] as const) {
        const v = checks[bound];
        if (v === undefined) continue;
        if (numeric && typeof v !== 'number')
          issue(['columns', i, 'checks', bound], `${bound} must be a number`);
        if (temporal && (typeof v !== 'string' || Number.isNaN(Date.parse(v)))) {
          issue(['columns', i, 'checks', bound], `${bound} must be an ISO date`);
        }
        if (!numeric && !temporal)
          issue(['columns', i, 'checks', bound], `${bound} applies to numbers and dates`);
      }
      if (checks.min !== undefined && checks.max !== undefined) {
        const [lo, hi] = numeric
          ? [Number(checks.min), Number(checks.max)]
          : [Date.parse(String(checks.min)), Date.parse(String(checks.max))];
        // Every row would be quarantined: almost certainly the two bounds swapped.
        if (lo > hi)
          issue(['columns', i, 'checks', 'min'], `min (${checks.min}) is greater than max (${checks.max})`);
      }
      if (checks.maxLength !== undefined && type.kind !== 'string') {
        issue(['columns', i, 'checks', 'maxLength'], 'maxLength applies to string columns');
      }
      if (checks.regex !== undefined) {
        if (type.kind !== 'string')
          issue(['columns', i, 'checks', 'regex'], 'regex applies to string columns');
        try {
          new RegExp(checks.regex);
        } catch (e) {
          issue(['columns', i, 'checks', 'regex'], `invalid regular expression: ${(e as Error).message}`);
        }
      }
      if (col.normalize.some((n) => n === 'upper' || n === 'lower') && type.kind !== 'string') {
        issue(['columns', i, 'normalize'], 'upper and lower apply to string columns');
      }
      if (col.pii && type.kind !== 'string' && col.pii !== 'drop') {
        issue(['columns', i, 'pii'], 'hash and mask apply to string columns');
      }
    });
    const mustExist = (path: (string | number)[], name: string, role: string) => {
      const col = byName.get(name);
      if (!col) issue(path, `${role} '${name}' is not a declared column`);
      return col;
    };
    c.primaryKey.forEach((name, i) => {
      const col = mustExist(['primaryKey', i], name, 'primary key column');
      if (col && !col.required) issue(['primaryKey', i], `primary key column '${name}' must be required`);
      if (col && (col.pii === 'drop' || col.pii === 'mask')) {
        issue(
          ['primaryKey', i],
          `primary key column '${name}' cannot be masked or dropped (hash keeps it unique)`,
        );
      }
    });
    if (c.latestBy) {
      const col = mustExist(['latestBy'], c.latestBy, 'latestBy column');
      if (col?.pii) issue(['latestBy'], `latestBy column '${c.latestBy}' cannot carry a pii rule`);
    }
    if (c.deletes) {
      const col = mustExist(['deletes', 'column'], c.deletes.column, 'deletes column');
      const kind = col ? parseColumnType(col.type.trim()) : undefined;
      if (col && (typeof kind === 'string' || kind?.kind !== 'string')) {
        issue(['deletes', 'column'], `deletes column '${col.name}' must be a string column`);
      }
      if (col?.pii) issue(['deletes', 'column'], `deletes column '${col.name}' cannot carry a pii rule`);
    }
    const part = mustExist(['partition', 'column'], c.partition.column, 'partition column');
    if (part) {
      const t = parseColumnType(part.type.trim());
      if (typeof t !== 'string' && t.kind !== 'date' && t.kind !== 'timestamp') {
        issue(['partition', 'column'], `partition column '${part.name}' must be a date or timestamp`);
      }
      if (!part.required) issue(['partition', 'column'], `partition column '${part.name}' must be required`);
      if (part.pii) issue(['partition', 'column'], `partition column '${part.name}' cannot carry a pii rule`);
    }
    if (c.source.trailer) {
      if (c.source.format === 'json') {
        issue(['source', 'trailer'], 'a trailer line applies to csv and ndjson (a json file is one array)');
      }
      const problem = trailerPatternProblem(c.source.trailer.pattern);
      if (problem) issue(['source', 'trailer', 'pattern'], problem);
    }
    if (c.columns.some((col) => col.name === 'dt')) {
      issue(['columns'], "'dt' is reserved for the partition column of silver");
    }
  });

export type DatasetContractInput = z.input<typeof datasetContractSchema>;
type ParsedContract = z.output<typeof datasetContractSchema>;

/** A column as the transform uses it: its type parsed. */
export type ContractColumn = Omit<ParsedContract['columns'][number], 'type'> & {
  type: ColumnType;
  typeText: string;
};

export type DatasetContract = Omit<ParsedContract, 'columns'> & {
  columns: ContractColumn[];
  /** `<domain>/<dataset>`: the prefix of this dataset in every bucket. */
  readonly id: string;
  /** Where the contract was read from, for error messages. */
  readonly file: string;
};

function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A field's path as contracts' messages write it: `columns[2].checks.regex`. */
export function formatContractPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  );
}

/** One problem zod found in a contract: the field, zod's message, and what a reader needs to reword it. */
export interface ContractIssue {
  /** The field, e.g. `['columns', 2, 'type']` (empty: the contract itself). */
  readonly path: readonly (string | number)[];
  /** The message as `parseContract` reports it (after the path). */
  readonly message: string;
  /** zod's issue code: `invalid_type`, `unrecognized_keys`, `invalid_value`, `too_small`, `custom`... */
  readonly code: string;
  /** `unrecognized_keys`: the fields the schema does not know. */
  readonly keys?: readonly string[];
  /** `invalid_value`: the values allowed. */
  readonly values?: readonly unknown[];
  /** `invalid_type`: the type expected, and whether the field is missing altogether. */
  readonly expected?: string;
  readonly missing?: boolean;
}

/** What {@link validateContract} found: the contract, or every issue. */
export type ContractValidation =
  | { readonly ok: true; readonly contract: DatasetContract }
  | { readonly ok: false; readonly issues: ContractIssue[] };

/** Validates an already-parsed contract object, returning every issue instead of throwing. */
export function validateContract(raw: unknown, file: string): ContractValidation {
  const result = datasetContractSchema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    return {
      ok: false,
      issues: result.error.issues.map((i) => {
        const detail = i as { keys?: string[]; values?: unknown[]; expected?: unknown; input?: unknown };
        return {
          path: i.path.filter((p): p is string | number => typeof p !== 'symbol'),
          message: i.message,
          code: i.code,
          ...(detail.keys ? { keys: detail.keys } : {}),
          ...(detail.values ? { values: detail.values } : {}),
          ...(i.code === 'invalid_type'
            ? { expected: String(detail.expected), missing: detail.input === undefined }
            : {}),
        };
      }),
    };
  }
  const c = result.data;
  return {
    ok: true,
    contract: {
      ...c,
      columns: c.columns.map((col) => ({
        ...col,
        typeText: col.type.trim(),
        type: parseColumnType(col.type.trim()) as ColumnType,
      })),
      id: `${c.domain}/${c.dataset}`,
      file,
    },
  };
}

/** Validates an already-parsed contract object. `file` is only used to name the source in errors. */
export function parseContract(raw: unknown, file: string): DatasetContract {
  const validation = validateContract(raw, file);
  if (!validation.ok) {
    throw new ContractError(
      file,
      validation.issues.map((i) => `${formatContractPath(i.path) || '(root)'}: ${i.message}`),
    );
  }
  return validation.contract;
}

/** JSON Schema of contract files, for editor completion (`npm run contracts:schema`). */
export function contractJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(datasetContractSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
}
