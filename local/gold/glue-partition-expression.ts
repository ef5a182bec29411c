/**
 * The `Expression` of Glue's `GetPartitions`, locally: a subset of Glue's syntax. Comparisons (`=`, `<>`,
 * `!=`, `<`, `<=`, `>`, `>=`) of a partition key with a literal (`'text'` or a number), `IN (...)`,
 * `NOT IN (...)`, `BETWEEN ... AND ...`, combined with `AND`, `OR` and parentheses. A key of an integer
 * type compares as a number, any other (string, date: `YYYY-MM-DD`) as text. Anything else (`LIKE`,
 * `NOT (...)`, functions) is refused with `Glue.InvalidInputException` naming it as not emulated.
 */
import type { GlueColumn } from './glue-catalog';
import { GlueError } from './service-errors';

const INTEGER_TYPE = /^(tinyint|smallint|int|integer|bigint)$/i;

/** Compares one key's values: integer keys as numbers, others as text. */
export function valueComparator(key: GlueColumn | undefined): (a: string, b: string) => number {
  if (INTEGER_TYPE.test(key?.Type ?? '')) return (a, b) => Number(a) - Number(b);
  return (a, b) => (a < b ? -1 : a > b ? 1 : 0);
}

type Token = { kind: 'word' | 'string' | 'number' | 'op'; text: string };

/** A predicate over a partition's values from a GetPartitions expression (the subset of the module comment). */
export function partitionFilter(
  expression: string,
  keys: readonly GlueColumn[],
): (values: string[]) => boolean {
  const refuse = (why: string): never => {
    throw new GlueError('InvalidInputException', `Expression '${expression}': ${why}`);
  };
  const tokens: Token[] = [];
  const lexer =
    /\s*(?:(`[^`]+`|[A-Za-z_][A-Za-z0-9_]*)|('(?:[^']|'')*')|(-?\d+(?:\.\d+)?)|(<=|>=|<>|!=|[=<>(),]))/y;
  let at = 0;
  while (at < expression.length && expression.slice(at).trim() !== '') {
    lexer.lastIndex = at;
    const m = lexer.exec(expression);
    if (!m) refuse(`cannot read it from '${expression.slice(at).trim()}' (not emulated locally)`);
    const [, word, text, number, op] = m as RegExpExecArray;
    if (word !== undefined) tokens.push({ kind: 'word', text: word });
    else if (text !== undefined) tokens.push({ kind: 'string', text: text.slice(1, -1).replace(/''/g, "'") });
    else if (number !== undefined) tokens.push({ kind: 'number', text: number });
    else tokens.push({ kind: 'op', text: op });
    at = lexer.lastIndex;
  }
  let i = 0;
  const peekWord = (w: string) => tokens[i]?.kind === 'word' && tokens[i].text.toUpperCase() === w;
  const expect = (text: string) => {
    if (tokens[i]?.text.toUpperCase() !== text)
      refuse(`expected ${text} at '${tokens[i]?.text ?? 'the end'}'`);
    i++;
  };
  const literal = (): string => {
    const t = tokens[i++];
    if (t?.kind !== 'string' && t?.kind !== 'number')
      return refuse(`expected a literal at '${t?.text ?? 'the end'}'`);
    return t.text;
  };
  type Predicate = (values: string[]) => boolean;
  const comparison = (): Predicate => {
    if (tokens[i]?.text === '(') {
      i++;
      const inner = disjunction();
      expect(')');
      return inner;
    }
    const t = tokens[i++];
    if (t?.kind !== 'word') return refuse(`expected a partition key at '${t?.text ?? 'the end'}'`);
    const name = t.text.replace(/^`|`$/g, '');
    const index = keys.findIndex((k) => k.Name.toLowerCase() === name.toLowerCase());
    if (index < 0) return refuse(`'${name}' is not a partition key (not emulated locally: ${t.text})`);
    const compare = valueComparator(keys[index]);
    const negated = peekWord('NOT');
    if (negated) i++;
    if (peekWord('IN')) {
      i++;
      expect('(');
      const list = [literal()];
      while (tokens[i]?.text === ',') {
        i++;
        list.push(literal());
      }
      expect(')');
      return (v) => list.some((x) => compare(v[index], x) === 0) !== negated;
    }
    if (negated) return refuse(`NOT is only emulated before IN`);
    if (peekWord('BETWEEN')) {
      i++;
      const low = literal();
      expect('AND');
      const high = literal();
      return (v) => compare(v[index], low) >= 0 && compare(v[index], high) <= 0;
    }
    const op = tokens[i++];
    if (op?.kind !== 'op' || ['(', ')', ','].includes(op.text)) {
      return refuse(`the operator '${op?.text ?? 'the end'}' is not emulated locally`);
    }
    const value = literal();
    const test: Record<string, (c: number) => boolean> = {
      '=': (c) => c === 0,
      '<>': (c) => c !== 0,
      '!=': (c) => c !== 0,
      '<': (c) => c < 0,
      '<=': (c) => c <= 0,
      '>': (c) => c > 0,
      '>=': (c) => c >= 0,
    };
    return (v) => test[op.text](compare(v[index], value));
  };
  const conjunction = (): Predicate => {
    const parts = [comparison()];
    while (peekWord('AND')) {
      i++;
      parts.push(comparison());
    }
    return (v) => parts.every((p) => p(v));
  };
  const disjunction = (): Predicate => {
    const parts = [conjunction()];
    while (peekWord('OR')) {
      i++;
      parts.push(conjunction());
    }
    return (v) => parts.some((p) => p(v));
  };
  const predicate = disjunction();
  if (i < tokens.length) refuse(`unexpected '${tokens[i].text}' (not emulated locally)`);
  return predicate;
}
