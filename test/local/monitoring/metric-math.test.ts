import {
  evaluateMathExpression,
  expressionIds,
  parseMathExpression,
  UnsupportedExpressionError,
} from '../../../local/monitoring/metric-math';

/** The expression's value with these metric values (absent: no data point). */
function value(expression: string, values: Record<string, number> = {}) {
  return evaluateMathExpression(parseMathExpression(expression), (id) => values[id]);
}

describe('metric math', () => {
  it('computes the ratio alarms of the template: IF(rowsIn > 0, quarantined / rowsIn, 0)', () => {
    const ratio = 'IF(rowsIn > 0, quarantined / rowsIn, 0)';
    expect(value(ratio, { rowsIn: 10, quarantined: 5 })).toBe(0.5);
    expect(value(ratio, { rowsIn: 0, quarantined: 0 })).toBe(0);
    expect(value(ratio, {})).toBeUndefined(); // no file in the period: no data point
    expect(expressionIds(parseMathExpression(ratio)).sort()).toEqual(['quarantined', 'rowsIn']);
  });

  it('fills missing values with FILL, as the gold failure alarm does', () => {
    const failures = 'FILL(failed, 0) + FILL(timedOut, 0)';
    expect(value(failures, {})).toBe(0);
    expect(value(failures, { failed: 1 })).toBe(1);
    expect(value(failures, { failed: 1, timedOut: 2 })).toBe(3);
  });

  it('follows the usual precedence, with unary minus, powers and parentheses', () => {
    expect(value('1 + 2 * 3')).toBe(7);
    expect(value('(1 + 2) * 3')).toBe(9);
    expect(value('2 ^ 3 ^ 2')).toBe(512);
    expect(value('-a + 10 / 4', { a: 1 })).toBe(1.5);
    expect(value('ABS(a - 5)', { a: 2 })).toBe(3);
  });

  it('compares and combines to 1 or 0', () => {
    expect(value('a >= 2 AND b < 1', { a: 2, b: 0 })).toBe(1);
    expect(value('a == 1 || NOT b', { a: 2, b: 0 })).toBe(1);
    expect(value('a != 2 OR !b', { a: 2, b: 3 })).toBe(0);
    expect(value('IF(a <= 1, 10)', { a: 3 })).toBeUndefined();
  });

  it('leaves a missing value missing and drops a division by zero', () => {
    expect(value('a + 1')).toBeUndefined();
    expect(value('a > 1')).toBeUndefined();
    expect(value('a / b', { a: 1, b: 0 })).toBeUndefined();
  });

  it.each([
    ['ANOMALY_DETECTION_BAND(m, 2)', /function ANOMALY_DETECTION_BAND is not supported locally/],
    ['SUM(METRICS())', /function SUM is not supported locally/],
    ["SEARCH('{AWS/Lambda} Errors', 'Sum', 300)", /unexpected/],
    ['FILL(m, REPEAT)', /'REPEAT' is not a metric id/],
    ['FILL(m, other)', /FILL is supported with a number only/],
    ['IF(a)', /IF takes 2-3 arguments/],
    ['a +', /unexpected end/],
    ['M1 + 1', /not a metric id/],
  ])('refuses %s', (expression, reason) => {
    expect(() => parseMathExpression(expression)).toThrow(UnsupportedExpressionError);
    expect(() => parseMathExpression(expression)).toThrow(reason);
  });
});
