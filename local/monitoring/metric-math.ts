/**
 * The part of CloudWatch metric math the template's alarms use, on one value per metric (a local run
 * is one period, see `alarm-evaluation.ts`): numbers, metric ids, `+ - * / ^`, comparisons
 * (`> < >= <= == !=`, 1 or 0), `AND OR NOT` (also `&& || !`), parentheses, and the functions
 * `IF(condition, a[, b])`, `FILL(metric, number)` and `ABS(x)`. A missing value (a metric without data
 * points in the period) stays missing through arithmetic and comparisons, as a time step without a data
 * point does in CloudWatch; `FILL` replaces it, `IF` with a missing condition is missing. A result that is
 * not a finite number (a division by zero) is missing: CloudWatch drops such values.
 *
 * Anything else (another function, `METRICS()`, `SEARCH`, a string) is refused with an
 * {@link UnsupportedExpressionError} when the expression is parsed, so an alarm this cannot evaluate is
 * reported as such instead of being judged wrongly.
 */

/** An expression this module cannot evaluate. */
export class UnsupportedExpressionError extends Error {
  constructor(
    readonly expression: string,
    reason: string,
  ) {
    super(`metric math '${expression}': ${reason}`);
    this.name = 'UnsupportedExpressionError';
  }
}

/** A parsed expression. */
export type MathExpression =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'id'; readonly id: string }
  | { readonly kind: 'unary'; readonly op: '-' | 'NOT'; readonly operand: MathExpression }
  | {
      readonly kind: 'binary';
      readonly op: BinaryOperator;
      readonly left: MathExpression;
      readonly right: MathExpression;
    }
  | { readonly kind: 'call'; readonly fn: SupportedFunction; readonly args: readonly MathExpression[] };

type BinaryOperator = '+' | '-' | '*' | '/' | '^' | '>' | '<' | '>=' | '<=' | '==' | '!=' | 'AND' | 'OR';

/** The functions evaluated here, with how many arguments each takes. */
const FUNCTIONS = { IF: [2, 3], FILL: [2, 2], ABS: [1, 1] } as const;
type SupportedFunction = keyof typeof FUNCTIONS;

/** A value of the period: a number, or undefined when there is no data point. */
export type PeriodValue = number | undefined;

/** Parses `text`; throws {@link UnsupportedExpressionError} on anything outside the supported subset. */
export function parseMathExpression(text: string): MathExpression {
  const tokens = tokenize(text);
  let at = 0;
  const peek = () => tokens[at];
  const fail = (reason: string): never => {
    throw new UnsupportedExpressionError(text, reason);
  };
  const expect = (token: string) => {
    if (tokens[at] !== token) fail(`expected '${token}' at '${tokens.slice(at).join(' ') || 'the end'}'`);
    at++;
  };
  const binary = (ops: readonly string[], next: () => MathExpression) => (): MathExpression => {
    let left = next();
    while (ops.includes(peek() ?? '')) {
      const token = tokens[at++];
      const op = (token === '&&' ? 'AND' : token === '||' ? 'OR' : token) as BinaryOperator;
      left = { kind: 'binary', op, left, right: next() };
    }
    return left;
  };
  const primary = (): MathExpression => {
    const token = tokens[at++];
    if (token === undefined) return fail('unexpected end');
    if (token === '(') {
      const inner = or();
      expect(')');
      return inner;
    }
    if (/^(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(token)) return { kind: 'number', value: Number(token) };
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(token)) return fail(`unexpected '${token}'`);
    if (peek() !== '(') {
      if (/^[a-z]/.test(token)) return { kind: 'id', id: token };
      return fail(`'${token}' is not a metric id (ids start with a lower-case letter)`);
    }
    at++; // '('
    const name = token.toUpperCase();
    if (!Object.hasOwn(FUNCTIONS, name)) return fail(`function ${token} is not supported locally`);
    const args: MathExpression[] = [];
    if (peek() !== ')') {
      args.push(or());
      while (peek() === ',') {
        at++;
        args.push(or());
      }
    }
    expect(')');
    const [min, max] = FUNCTIONS[name as SupportedFunction];
    if (args.length < min || args.length > max) return fail(`${name} takes ${min}-${max} arguments`);
    if (name === 'FILL' && args[1].kind !== 'number')
      return fail('FILL is supported with a number only (not REPEAT, LINEAR or a metric)');
    return { kind: 'call', fn: name as SupportedFunction, args };
  };
  const unary = (): MathExpression => {
    const token = peek();
    if (token === '-') {
      at++;
      return { kind: 'unary', op: '-', operand: unary() };
    }
    if (token === '+') {
      at++;
      return unary();
    }
    return primary();
  };
  const power = (): MathExpression => {
    const base = unary();
    if (peek() !== '^') return base;
    at++;
    return { kind: 'binary', op: '^', left: base, right: power() };
  };
  const product = binary(['*', '/'], power);
  const sum = binary(['+', '-'], product);
  const comparison = (): MathExpression => {
    const left = sum();
    const op = peek();
    if (op && ['>', '<', '>=', '<=', '==', '!='].includes(op)) {
      at++;
      return { kind: 'binary', op: op as BinaryOperator, left, right: sum() };
    }
    return left;
  };
  const not = (): MathExpression => {
    const token = peek();
    if (token === '!' || token === 'NOT') {
      at++;
      return { kind: 'unary', op: 'NOT', operand: not() };
    }
    return comparison();
  };
  const and = binary(['AND', '&&'], not);
  const or: () => MathExpression = binary(['OR', '||'], and);
  const tree = or();
  if (at < tokens.length) fail(`unexpected '${tokens[at]}'`);
  return tree;
}

/** The metric ids an expression reads. */
export function expressionIds(e: MathExpression): string[] {
  switch (e.kind) {
    case 'number':
      return [];
    case 'id':
      return [e.id];
    case 'unary':
      return expressionIds(e.operand);
    case 'binary':
      return [...new Set([...expressionIds(e.left), ...expressionIds(e.right)])];
    case 'call':
      return [...new Set(e.args.flatMap(expressionIds))];
  }
}

/** The expression's value for the period, given each id's value (undefined: no data point). */
export function evaluateMathExpression(
  e: MathExpression,
  valueOfId: (id: string) => PeriodValue,
): PeriodValue {
  const finite = (v: number): PeriodValue => (Number.isFinite(v) ? v : undefined);
  const bool = (b: boolean) => (b ? 1 : 0);
  switch (e.kind) {
    case 'number':
      return e.value;
    case 'id':
      return valueOfId(e.id);
    case 'unary': {
      const v = evaluateMathExpression(e.operand, valueOfId);
      if (v === undefined) return undefined;
      return e.op === '-' ? -v : bool(v === 0);
    }
    case 'binary': {
      const a = evaluateMathExpression(e.left, valueOfId);
      const b = evaluateMathExpression(e.right, valueOfId);
      if (a === undefined || b === undefined) return undefined;
      switch (e.op) {
        case '+':
          return finite(a + b);
        case '-':
          return finite(a - b);
        case '*':
          return finite(a * b);
        case '/':
          return finite(a / b);
        case '^':
          return finite(a ** b);
        case '>':
          return bool(a > b);
        case '<':
          return bool(a < b);
        case '>=':
          return bool(a >= b);
        case '<=':
          return bool(a <= b);
        case '==':
          return bool(a === b);
        case '!=':
          return bool(a !== b);
        case 'AND':
          return bool(a !== 0 && b !== 0);
        case 'OR':
          return bool(a !== 0 || b !== 0);
      }
      return undefined;
    }
    case 'call': {
      const [first, second, third] = e.args;
      switch (e.fn) {
        case 'IF': {
          const condition = evaluateMathExpression(first, valueOfId);
          if (condition === undefined) return undefined;
          const branch = condition !== 0 ? second : third;
          return branch === undefined ? undefined : evaluateMathExpression(branch, valueOfId);
        }
        case 'FILL':
          return evaluateMathExpression(first, valueOfId) ?? evaluateMathExpression(second, valueOfId);
        case 'ABS': {
          const v = evaluateMathExpression(first, valueOfId);
          return v === undefined ? undefined : Math.abs(v);
        }
      }
    }
  }
}

/** Numbers, names, and the operators and punctuation of metric math; anything else is refused. */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const pattern =
    /\s*(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|[A-Za-z_][A-Za-z0-9_]*|>=|<=|==|!=|&&|\|\||[-+*/^()<>,!])/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (!match) throw new UnsupportedExpressionError(text, `unexpected '${text.slice(at).trim()}'`);
    tokens.push(match[1]);
    at = pattern.lastIndex;
  }
  return tokens;
}
