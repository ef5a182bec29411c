import { LandingError } from '../../../core/errors';
import { parseJson } from '../../../lambdas/landing/parse-json';

/** The error `parseJson` throws for `text`, which must be a 400. */
function failure(text: string): LandingError {
  try {
    parseJson(text, 'the body');
  } catch (e) {
    expect(e).toBeInstanceOf(LandingError);
    expect((e as LandingError).statusCode).toBe(400);
    return e as LandingError;
  }
  throw new Error(`parsed: ${JSON.stringify(text)}`);
}

describe('parseJson', () => {
  it('returns what JSON.parse returns for valid JSON', () => {
    expect(parseJson('{"a":[1,"x",null,true]}', 'the body')).toEqual({ a: [1, 'x', null, true] });
  });

  it.each([
    ['{"id": tru}', "the body at column 11: Unexpected token '}'"],
    ['{"a":1,}', 'the body at column 8: Expected double-quoted property name'],
    ['{"a" 1}', "the body at column 6: Expected ':' after property name"],
    ['[1, 2', "the body at column 6: Expected ',' or ']' after array element"],
    ['01', 'the body at column 2: Unexpected number'],
    ['"x" y', 'the body at column 5: Unexpected non-whitespace character after JSON'],
    ['', 'the body at column 1: Unexpected end of JSON input'],
  ])('names the column where a one-line text (an NDJSON record) %j breaks', (text, message) => {
    expect(failure(text).message).toBe(message);
  });

  it('names the line and column where a text of several lines breaks', () => {
    expect(failure('[1,\n 2,\n 3 x]').message).toBe(
      "the body at line 3 column 4: Expected ',' or ']' after array element",
    );
    expect(failure('{\n  "a": 1\n  "b": 2\n}').message).toBe(
      "the body at line 3 column 3: Expected ',' or '}' after property value",
    );
  });

  it('keeps no quote of the body and no character offset from the parser message', () => {
    const { message } = failure('{"secret": "s3cr3t", "x": tru}');
    expect(message).not.toMatch(/s3cr3t|position/);
    expect(message).toBe("the body at column 30: Unexpected token '}'");
  });
});
