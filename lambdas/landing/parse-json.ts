/** Parsing a request body's JSON, failing with a 400 that says where the text breaks. */
import { LandingError } from '../../core/errors';

/** `JSON.parse`, failing with a 400 that says where (V8's message does not always carry a position). */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const reason = (e as Error).message
      .replace(/, .*" is not valid JSON$/s, '') // a quote of the body: the position says where
      .replace(/ (?:in JSON )?at position \d+.*$/s, '');
    const at = jsonErrorOffset(text);
    const where = at === undefined ? '' : ` at ${lineAndColumn(text, at)}`;
    throw new LandingError(400, `${what}${where}: ${reason}`);
  }
}

/** `line L column C` (1-based), or `column C` for text on one line (an NDJSON record). */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const column = `column ${offset - before.lastIndexOf('\n')}`;
  return text.includes('\n') ? `line ${before.split('\n').length} ${column}` : column;
}

const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// biome-ignore lint/suspicious/noControlCharactersInRegex: raw control characters are what JSON forbids in strings
const JSON_STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/** Offset of the first syntax error in `text`, by a small recursive-descent scan; run only on failure. */
function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const token = (re: RegExp) => {
    re.lastIndex = i;
    if (!re.test(text)) throw i;
    i = re.lastIndex;
  };
  const expect = (char: string) => {
    space();
    if (text[i] !== char) throw i;
    i++;
  };
  /** `[...]` or `{...}`: the opening character, then items separated by commas, then `close`. */
  const list = (close: string, item: () => void) => {
    i++;
    space();
    if (text[i] !== close) {
      item();
      space();
      while (text[i] === ',') {
        i++;
        item();
        space();
      }
    }
    expect(close);
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{') {
      list('}', () => {
        space();
        token(JSON_STRING);
        expect(':');
        value();
      });
    } else if (c === '[') list(']', value);
    else if (c === '"') token(JSON_STRING);
    else if (c === '-' || (c >= '0' && c <= '9')) token(JSON_NUMBER);
    else {
      // Character by character, so that `tru}` fails at the '}' as the parser's message says.
      const literal = ['true', 'false', 'null'].find((l) => l[0] === c);
      if (!literal) throw i;
      for (const char of literal) {
        if (text[i] !== char) throw i;
        i++;
      }
    }
  };
  try {
    value();
    space();
    return i < text.length ? i : undefined;
  } catch (at) {
    return typeof at === 'number' ? at : undefined; // a RangeError: nested too deep to say
  }
}
