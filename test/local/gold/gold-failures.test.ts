import { join } from 'node:path';
import { explainGoldFailures, formatGoldFailures } from '../../../local/gold/gold-failures';

const queryExecutionCause = (reason: string) =>
  JSON.stringify({
    QueryExecution: {
      Status: { State: 'FAILED', StateChangeReason: reason, AthenaError: { ErrorMessage: reason } },
    },
  });

describe('explainGoldFailures', () => {
  it("gives the engine's reason and the model file's line from a Trino error (UNLOAD line 2 = the SQL's first line)", () => {
    const [f] = explainGoldFailures(
      [
        {
          topicArn: 'arn:topic',
          message: {
            model: 'daily_sales',
            file: 'daily_sales.sql',
            sqlStartsAtLine: '7',
            error: 'States.TaskFailed',
            cause: queryExecutionCause("line 4:12: Column 'revenu' cannot be resolved"),
          },
        },
      ],
      'models',
    );
    expect(f).toEqual({
      model: 'daily_sales',
      error: 'States.TaskFailed',
      message: "line 4:12: Column 'revenu' cannot be resolved",
      file: join('models', 'daily_sales.sql'),
      line: 9,
    });
  });

  it("reads DuckDB's 'LINE n:' and the dialect check's '(line n:' the same way", () => {
    const alarm = (reason: string) => ({
      topicArn: 't',
      message: {
        model: 'm',
        file: 'm.sql',
        sqlStartsAtLine: '3',
        error: 'States.TaskFailed',
        cause: queryExecutionCause(reason),
      },
    });
    const [duck, dialect] = explainGoldFailures([
      alarm('Binder Error: Referenced column "x" not found\n\nLINE 3: SELECT x FROM t'),
      alarm(
        "DuckDB-only syntax, Athena would refuse it:\n  - '::' casts (line 2: '::'): use CAST(x AS type)",
      ),
    ]);
    expect(duck.line).toBe(4);
    expect(dialect.line).toBe(3);
    expect(duck.file).toBe('m.sql');
  });

  it('keeps a cause that is not a query execution, and leaves the line out when none is named', () => {
    const [f] = explainGoldFailures([
      {
        topicArn: 't',
        message: { model: 'm', error: 'Glue.EntityNotFoundException', cause: 'Table m not found' },
      },
    ]);
    expect(f).toEqual({ model: 'm', error: 'Glue.EntityNotFoundException', message: 'Table m not found' });
  });

  it('ignores alarms that are neither about a model nor a stage', () => {
    expect(
      explainGoldFailures([
        { topicArn: 't', message: 'plain text' },
        { topicArn: 't', message: {} },
      ]),
    ).toEqual([]);
  });

  it("explains a stage that failed before any model (the Redshift setup), with the engine's error", () => {
    const [f] = explainGoldFailures([
      {
        topicArn: 't',
        message: {
          stage: 'redshift setup',
          error: 'Redshift.StatementTimeout',
          cause: 'ran longer than 1 hour',
        },
      },
    ]);
    expect(f).toEqual({
      model: 'redshift setup',
      stage: true,
      error: 'Redshift.StatementTimeout',
      message: 'ran longer than 1 hour',
    });
    expect(formatGoldFailures([f], (p) => p)).toEqual([
      'gold redshift setup failed (Redshift.StatementTimeout):',
      '    ran longer than 1 hour',
    ]);
  });

  it('prints the model and file:line first, then the message indented', () => {
    expect(
      formatGoldFailures(
        [{ model: 'm', error: 'States.TaskFailed', message: 'a\nb', file: 'models/m.sql', line: 4 }],
        (p) => p,
      ),
    ).toEqual(['gold model m failed at models/m.sql:4 (States.TaskFailed):', '    a', '    b']);
  });
});
