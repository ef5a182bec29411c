/**
 * Tests on gold models, declared in the model's header as dbt users know them, and the one Athena query
 * that checks them all on a model's candidate version before it is published:
 *
 *   -- test: unique(sales_date, store_id, category)     no two rows share the key
 *   -- test: not_null(store_id, category)               one test per column: no NULL
 *   -- test: accepted_values(category, 'a', 'b')        no value outside the list (NULLs pass)
 *   -- test: relationships(store_id, stores.store_id)   every non-NULL value exists in another table
 *   -- test: expression(revenue >= 0)                   no row where the expression is false (NULL passes)
 *
 * The query (see {@link modelTestsQuery}) returns one row: how many tests failed, the failing tests with
 * their counts, and every test's count. It is Athena (Trino) SQL that DuckDB runs too, so the local
 * Athena checks it like any model.
 */
import { AthenaSqlError, GoldModelError } from '../errors';
import { splitSqlList, sqlIdent, sqlString } from '../sql/quote';
import { checkAthenaSql } from './dialect';

/** What every test has: how it reads (as it is reported) and where it was declared. */
interface ModelTestBase {
  /** The test as reported: `unique(a, b)`, `not_null(a)`, `expression(revenue >= 0)`... */
  readonly label: string;
  /** The line of the model's file that declares it. */
  readonly line?: number;
}

/** One test of a gold model (a `-- test:` header line; `not_null` of N columns is N tests). */
export type ModelTest =
  | (ModelTestBase & { readonly kind: 'unique'; readonly columns: readonly string[] })
  | (ModelTestBase & { readonly kind: 'not_null'; readonly column: string })
  | (ModelTestBase & {
      readonly kind: 'accepted_values';
      readonly column: string;
      /** SQL literals, as written: `'a'`, `3`, `-1.5`, `true`. */
      readonly values: readonly string[];
    })
  | (ModelTestBase & {
      readonly kind: 'relationships';
      readonly column: string;
      /** The table whose `tableColumn` must hold every value: a gold model or a silver table. */
      readonly table: string;
      readonly tableColumn: string;
    })
  | (ModelTestBase & { readonly kind: 'expression'; readonly expression: string });

/** The test kinds, in the order they are documented. */
export const MODEL_TEST_KINDS = [
  'unique',
  'not_null',
  'accepted_values',
  'relationships',
  'expression',
] as const;

/** What a test declaration is checked against. */
export interface ModelTestContext {
  /** The model's name (a relationship to itself is refused). */
  readonly model: string;
  /** The model's declared columns and their Athena types. */
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /** The other gold models' declared column names, by model. */
  readonly goldModels: ReadonlyMap<string, readonly string[]>;
  /** The silver tables a model may ref. */
  readonly silverTables: ReadonlySet<string>;
}

/** The staging database of `database`: one table per tested model, its candidate version. */
export function stagingDatabaseName(database: string): string {
  return `${database}_staging`;
}

const DECLARATION = /^([a-z_]+)\s*\(([\s\S]*)\)$/;
const NUMBER = /^-?\d+(\.\d+)?$/;
const STRING = /^'(?:[^']|'')*'$/;
const STRING_TYPE = /^(string|varchar(\(\d+\))?|char\(\d+\))$/;
const NUMBER_TYPE = /^(tinyint|smallint|int|integer|bigint|float|double|real|decimal\(\d+,\d+\))$/;

/**
 * The tests one `-- test:` value declares (`unique(a, b)` -> one test), checked against the model's
 * columns and the tables it may reference. Throws a {@link GoldModelError} saying what is wrong (the
 * caller adds the file and line).
 */
export function parseModelTest(value: string, line: number, ctx: ModelTestContext): ModelTest[] {
  const m = DECLARATION.exec(value.trim());
  if (!m) {
    throw new GoldModelError(
      `test must read '<kind>(<arguments>)' with kind ${MODEL_TEST_KINDS.join(', ')}; got '${value.trim()}'`,
    );
  }
  const [, kind, inner] = m;
  if (kind === 'expression') return [expressionTest(inner.trim(), line)];
  const args = splitSqlList(inner);
  if (args === undefined)
    throw new GoldModelError(`${kind}: unbalanced brackets or quotes in '${inner.trim()}'`);
  const column = (name: string, what: string): string => {
    if (!ctx.columns.some((c) => c.name === name)) {
      throw new GoldModelError(
        `${what}: '${name}' is not among the model's columns (${ctx.columns.map((c) => c.name).join(', ')})`,
      );
    }
    return name;
  };
  const atLeast = (n: number, usage: string) => {
    if (args.length < n || args.some((a) => a === '')) throw new GoldModelError(`${kind}: use ${usage}`);
  };
  switch (kind) {
    case 'unique': {
      atLeast(1, 'unique(<column>, ...)');
      const columns = args.map((a) => column(a, 'unique'));
      const twice = columns.find((c, i) => columns.indexOf(c) !== i);
      if (twice) throw new GoldModelError(`unique: column '${twice}' is listed twice`);
      return [{ kind, columns, label: `unique(${columns.join(', ')})`, line }];
    }
    case 'not_null':
      atLeast(1, 'not_null(<column>, ...)');
      return [...new Set(args)].map((a) => ({
        kind,
        column: column(a, 'not_null'),
        label: `not_null(${a})`,
        line,
      }));
    case 'accepted_values': {
      atLeast(2, "accepted_values(<column>, <value>, ...), e.g. accepted_values(status, 'open', 'closed')");
      const [name, ...values] = args;
      const type = ctx.columns.find((c) => c.name === column(name, 'accepted_values'))?.type ?? '';
      for (const v of values) checkLiteral(name, type, v);
      return [{ kind, column: name, values, label: `accepted_values(${args.join(', ')})`, line }];
    }
    case 'relationships': {
      const usage =
        'relationships(<column>, <table>.<column>), e.g. relationships(store_id, stores.store_id)';
      if (args.length !== 2) throw new GoldModelError(`relationships: use ${usage}`);
      const target = /^([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)$/.exec(args[1]);
      if (!target)
        throw new GoldModelError(`relationships: '${args[1]}' must be <table>.<column> (${usage})`);
      const [, table, tableColumn] = target;
      if (table === ctx.model) {
        throw new GoldModelError(
          'relationships: a model cannot reference itself (its candidate is not published yet)',
        );
      }
      const goldColumns = ctx.goldModels.get(table);
      if (goldColumns === undefined && !ctx.silverTables.has(table)) {
        const known = [...new Set([...ctx.goldModels.keys(), ...ctx.silverTables])].sort().join(', ');
        throw new GoldModelError(
          `relationships: '${table}' is neither a gold model nor a silver table (known: ${known})`,
        );
      }
      if (goldColumns && !goldColumns.includes(tableColumn)) {
        throw new GoldModelError(
          `relationships: '${tableColumn}' is not among the columns of gold model ${table} (${goldColumns.join(', ')})`,
        );
      }
      return [
        {
          kind,
          column: column(args[0], 'relationships'),
          table,
          tableColumn,
          label: `relationships(${args[0]}, ${table}.${tableColumn})`,
          line,
        },
      ];
    }
    default:
      throw new GoldModelError(`unknown test '${kind}' (expected ${MODEL_TEST_KINDS.join(', ')})`);
  }
}

/** `expression(<boolean SQL>)`: one expression, Athena SQL, nothing that could end the query early. */
function expressionTest(expression: string, line: number): ModelTest {
  if (expression === '')
    throw new GoldModelError('expression: use expression(<boolean SQL>), e.g. expression(revenue >= 0)');
  // Balanced brackets and quotes, no statement end or comment: the text goes inside `WHERE NOT (...)`.
  if (splitSqlList(expression) === undefined) {
    throw new GoldModelError(`expression: unbalanced brackets or quotes in '${expression}'`);
  }
  if (/;|--|\/\*|\{\{/.test(expression.replace(/'(?:[^']|'')*'/g, "''"))) {
    throw new GoldModelError(`expression: ';', comments and '{{' are not allowed in '${expression}'`);
  }
  try {
    checkAthenaSql(expression, 'expression');
  } catch (e) {
    if (e instanceof AthenaSqlError) throw new GoldModelError(e.message);
    throw e;
  }
  return { kind: 'expression', expression, label: `expression(${expression})`, line };
}

/** A value of `accepted_values` must be a literal of the column's kind: text, number or boolean. */
function checkLiteral(column: string, type: string, value: string): void {
  const t = type.replace(/\s+/g, '');
  const ok = STRING_TYPE.test(t)
    ? STRING.test(value)
    : NUMBER_TYPE.test(t)
      ? NUMBER.test(value)
      : t === 'boolean'
        ? /^(true|false)$/i.test(value)
        : undefined;
  if (ok === undefined) {
    throw new GoldModelError(
      `accepted_values: column '${column}' is a ${type}: only string, number and boolean columns are supported (use expression(...))`,
    );
  }
  if (!ok) {
    const expected = STRING_TYPE.test(t)
      ? "a quoted string ('a')"
      : NUMBER_TYPE.test(t)
        ? 'a number (3, -1.5)'
        : 'true or false';
    throw new GoldModelError(
      `accepted_values: ${value} is not a value of ${type} column '${column}': write ${expected}`,
    );
  }
}

/** What a test's count means, in the failure message. */
function unitOf(test: ModelTest): string {
  return test.kind === 'unique' ? 'duplicated key(s)' : 'failing row(s)';
}

/** The SELECT that counts `test`'s failures in `candidate` (rendered `"<db>"."<table>"`). */
export function failureCount(test: ModelTest, candidate: string, database: string): string {
  const q = sqlIdent;
  switch (test.kind) {
    case 'unique': {
      const key = test.columns.map(q).join(', ');
      // A key that is entirely NULL is not_null's business (as dbt's unique ignores NULLs).
      const allNull = test.columns.map((c) => `${q(c)} IS NULL`).join(' AND ');
      return `SELECT count(*) FROM (SELECT ${key} FROM ${candidate} WHERE NOT (${allNull}) GROUP BY ${key} HAVING count(*) > 1) duplicated`;
    }
    case 'not_null':
      return `SELECT count(*) FROM ${candidate} WHERE ${q(test.column)} IS NULL`;
    case 'accepted_values':
      return `SELECT count(*) FROM ${candidate} WHERE ${q(test.column)} NOT IN (${test.values.join(', ')})`;
    case 'relationships':
      return (
        `SELECT count(*) FROM ${candidate} child WHERE child.${q(test.column)} IS NOT NULL AND NOT EXISTS ` +
        `(SELECT 1 FROM ${q(database)}.${q(test.table)} parent WHERE parent.${q(test.tableColumn)} = child.${q(test.column)})`
      );
    case 'expression':
      return `SELECT count(*) FROM ${candidate} WHERE NOT (${test.expression})`;
  }
}

/** The columns of {@link modelTestsQuery}'s one row. */
export const MODEL_TESTS_COLUMNS = ['failed', 'failures', 'results'] as const;

/**
 * One query checking every test of a model on `candidate` (its staging table, rendered
 * `"<staging db>"."<model>"`); `database` holds the tables relationships point at. It returns one row:
 *
 *   failed     how many tests failed (0: publish)
 *   failures   the failing tests and their counts, `unique(a): 2 duplicated key(s); not_null(b): 1 failing
 *              row(s)`, or `none`
 *   results    every test's count, `unique(a)=2; not_null(b)=1; ...`
 *
 * Each count is a scalar subquery (Athena and DuckDB both plan them independently; string aggregation
 * differs between the two, so the listing is concatenated column by column).
 */
export function modelTestsQuery(
  tests: readonly ModelTest[],
  p: { readonly candidate: string; readonly database: string },
): string {
  if (tests.length === 0) throw new GoldModelError('modelTestsQuery: no test to run');
  const count = (i: number) => sqlIdent(`t${i + 1}`);
  const counts = tests.map((t, i) => `    (${failureCount(t, p.candidate, p.database)}) AS ${count(i)}`);
  const failed = tests.map((_, i) => `CASE WHEN ${count(i)} > 0 THEN 1 ELSE 0 END`).join(' + ');
  const listing = tests
    .map(
      (t, i) =>
        `CASE WHEN ${count(i)} > 0 THEN ${sqlString(`; ${t.label}: `)} || CAST(${count(i)} AS varchar) || ${sqlString(` ${unitOf(t)}`)} ELSE '' END`,
    )
    .join(' || ');
  const results = tests
    .map((t, i) => `${sqlString(`${i === 0 ? '' : '; '}${t.label}=`)} || CAST(${count(i)} AS varchar)`)
    .join(' || ');
  const [f, fs, rs] = MODEL_TESTS_COLUMNS.map((c) => sqlIdent(c));
  return [
    'WITH counts AS (',
    '  SELECT',
    counts.join(',\n'),
    '), summary AS (',
    `  SELECT ${failed} AS ${f},`,
    `    ${listing} AS "listing",`,
    `    ${results} AS ${rs}`,
    '  FROM counts',
    ')',
    `SELECT ${f}, CASE WHEN ${f} = 0 THEN 'none' ELSE substr("listing", 3) END AS ${fs}, ${rs}`,
    'FROM summary',
  ].join('\n');
}

/** The tables a model's tests read besides its candidate (relationships' targets), sorted. */
export function testedTables(tests: readonly ModelTest[] | undefined): string[] {
  return [...new Set((tests ?? []).flatMap((t) => (t.kind === 'relationships' ? [t.table] : [])))].sort();
}
