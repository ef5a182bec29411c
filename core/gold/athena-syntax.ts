/**
 * Is this SQL something Athena (Trino) parses? A positive check, next to the deny-list of DuckDB-only
 * syntax (`dialect.ts`), for the gold models and for queries meant for Athena.
 *
 * Three layers, each reporting the line and column:
 *
 * 1. The deny-list of DuckDB-only constructs (`DUCKDB_ONLY_SYNTAX`), every match, outside string literals,
 *    quoted identifiers and comments: it says what to write instead.
 * 2. Token rules of Trino's grammar the parsers below do not enforce: backquoted identifiers, `==`, more
 *    than one statement.
 * 3. A parse with node-sql-parser's `trino` grammar, then its `athena` grammar: a query neither parses is
 *    refused at the position the parser stopped. Neither grammar is complete (measured: of 114 valid
 *    Trino queries, the trino grammar rejects 19 and the athena grammar 26, among them `AT TIME ZONE`,
 *    `sum(DISTINCT x)`, `INTERSECT`/`EXCEPT`, `IGNORE NULLS`, `WITH ORDINALITY`, `listagg ... WITHIN
 *    GROUP`, `RANGE ... INTERVAL` frames, `FETCH FIRST`, `GROUPING SETS`, ROW/MAP casts and `DOUBLE PRECISION`; and the trino
 *    grammar accepts `::`, `ILIKE` and `//`). So before parsing, those valid Trino constructs are
 *    rewritten into shapes the grammars know, at the same length (positions stay right), and layer 1
 *    catches what the trino grammar lets through. `test/core/gold/athena-syntax.test.ts` holds the corpus.
 *
 * What none of this sees: functions (a DuckDB-only function parses like any other; layer 1 lists the
 * common ones) and types; the engines do (`medallion check` describes every model with DuckDB).
 */
import { Parser as AthenaGrammar } from 'node-sql-parser/build/athena';
import { Parser as TrinoGrammar } from 'node-sql-parser/build/trino';
import { DUCKDB_ONLY_SYNTAX } from './dialect';

/** One problem of a query for Athena: where (1-based), what, and what to write instead. */
export interface AthenaSyntaxFinding {
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly fix: string;
}

/**
 * The places where `sql` is not Athena (Trino) SQL, each with its line and column (1-based) and a
 * message saying what to write instead; empty when Athena's grammar accepts it (see the module comment for
 * what is checked).
 */
export function athenaSyntaxProblems(sql: string): { line: number; column: number; message: string }[] {
  return athenaSyntaxFindings(sql).map((f) => ({
    line: f.line,
    column: f.column,
    message: `${f.message}: ${f.fix}`,
  }));
}

/** Like {@link athenaSyntaxProblems}, with the message and what to write instead kept apart. */
export function athenaSyntaxFindings(sql: string): AthenaSyntaxFinding[] {
  const code = maskLiterals(sql);
  const at = positions(sql);
  const findings: AthenaSyntaxFinding[] = [];
  for (const rule of DUCKDB_ONLY_SYNTAX) {
    // A rule anchored at the start applies to the whole statement, the others anywhere.
    const anchored = rule.pattern.source.startsWith('^');
    const pattern = new RegExp(
      rule.pattern.source,
      `${rule.pattern.flags.replace('g', '')}${anchored ? '' : 'g'}`,
    );
    for (const m of anchored ? [pattern.exec(code)].filter((x) => x !== null) : code.matchAll(pattern)) {
      const offset = (m.index ?? 0) + (m[0].length - m[0].trimStart().length);
      findings.push({
        ...at(offset),
        message: `DuckDB-only syntax, Athena refuses it: ${rule.what}${shown(m[0].trim(), rule.what)}`,
        fix: `use ${rule.instead}`,
      });
    }
  }
  for (const rule of TRINO_TOKEN_RULES) {
    for (const m of code.matchAll(rule.pattern)) {
      findings.push({
        ...at(m.index ?? 0),
        message: rule.what,
        fix: rule.instead,
      });
    }
  }
  const failure = parseFailure(sql, code);
  // A parse that stops where the deny-list already explained the line says nothing more.
  if (failure && !findings.some((f) => f.line === at(failure.offset).line)) {
    const near = tokenAt(sql, failure.offset);
    findings.push({
      ...at(failure.offset),
      message: `Athena (Trino) cannot parse this: unexpected ${near}`,
      fix: `correct the SQL at ${near} (the grammar stopped there: a typo, a missing comma or parenthesis, or syntax only DuckDB knows)`,
    });
  }
  return findings.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** The matched text, when the rule's name does not already say it: ` ('strftime(')`. */
const shown = (match: string, what: string) =>
  what.toLowerCase().includes(match.toLowerCase()) ? '' : ` ('${match}')`;

/** Trino grammar rules the parsers do not enforce (on the masked text). */
const TRINO_TOKEN_RULES: readonly {
  pattern: RegExp;
  what: string;
  instead: string;
}[] = [
  {
    pattern: /`[^`\n]*`?/g,
    what: 'backquoted identifiers are not Athena SQL (Trino quotes identifiers with double quotes)',
    instead: 'write "name" instead of `name`',
  },
  { pattern: /==/g, what: "'==' is not an operator in Athena SQL", instead: "compare with '='" },
  {
    pattern: /\bLIMIT\s+\d+\s*,/gi,
    what: "'LIMIT offset, count' is not Athena SQL",
    instead: 'write OFFSET <offset> LIMIT <count>',
  },
  {
    // A ';' followed by more SQL: Athena runs one statement per query.
    pattern: /;(?=[\s;]*[^\s;])/g,
    what: 'more than one statement: Athena runs one statement per query',
    instead: 'keep one statement (a gold model is one SELECT)',
  },
];

/** Where node-sql-parser's grammars stop on `sql`, or undefined when one of them parses it. */
function parseFailure(sql: string, code: string): { offset: number } | undefined {
  const text = normalizeForGrammar(sql, code);
  let furthest: { offset: number } | undefined;
  for (const [grammar, database] of GRAMMARS) {
    try {
      grammar.astify(text, { database });
      return undefined;
    } catch (e) {
      const offset = (e as { location?: { start?: { offset?: number } } }).location?.start?.offset ?? 0;
      if (!furthest || offset > furthest.offset) furthest = { offset };
    }
  }
  return furthest;
}

const GRAMMARS: readonly [{ astify(sql: string, opt: { database: string }): unknown }, string][] = [
  [new TrinoGrammar(), 'trino'],
  [new AthenaGrammar(), 'athena'],
];

/**
 * `sql` with the valid Trino constructs neither grammar knows rewritten into ones they do, each at the
 * same length (so a parse error's position is the original's). `code` is `sql` masked (`maskLiterals`):
 * matches are found there, so nothing inside a literal or a comment is rewritten.
 */
function normalizeForGrammar(sql: string, code: string): string {
  const out = sql.split('');
  const put = (start: number, end: number, replacement = '') => {
    for (let i = start; i < end; i++) {
      // Newlines stay, so lines stay.
      if (out[i] !== '\n') out[i] = i - start < replacement.length ? replacement[i - start] : ' ';
    }
  };
  const each = (pattern: RegExp, apply: (m: RegExpMatchArray, start: number) => void) => {
    for (const m of code.matchAll(pattern)) apply(m, m.index ?? 0);
  };
  // `x AT TIME ZONE 'UTC'` -> `x`
  each(/\bAT\s+TIME\s+ZONE\s+(?:'[^']*'|"[^"]*"|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)/gi, (m, s) =>
    put(s, s + m[0].length),
  );
  // `sum(DISTINCT x)` -> `sum(x)` (count(DISTINCT) parses, the other aggregates do not)
  each(/\(\s*(DISTINCT)\b/gi, (m, s) => {
    const word = s + m[0].length - m[1].length;
    put(word, word + m[1].length);
  });
  each(/\b(?:IGNORE|RESPECT)\s+NULLS\b|\bWITH\s+ORDINALITY\b/gi, (m, s) => put(s, s + m[0].length));
  each(/\b(?:INTERSECT|EXCEPT)\b/gi, (m, s) => put(s, s + m[0].length, 'UNION'));
  each(/\bGROUPING\s+SETS\b/gi, (m, s) => put(s, s + m[0].length, 'ROLLUP'));
  // The grammars know ROWS frames only: `RANGE BETWEEN ...` -> `ROWS  BETWEEN ...`
  each(/\bRANGE(?=\s+(?:BETWEEN|UNBOUNDED|CURRENT|INTERVAL|\d))/gi, (m, s) =>
    put(s, s + m[0].length, 'ROWS'),
  );
  // `FETCH FIRST 10 ROWS ONLY` -> `LIMIT 10`
  each(/\bFETCH\s+(?:FIRST|NEXT)\s+(\d+)\s+ROWS?\s+ONLY\b/gi, (m, s) =>
    put(s, s + m[0].length, `LIMIT ${m[1]}`),
  );
  // A window frame `RANGE BETWEEN INTERVAL '1' DAY PRECEDING ...` -> `RANGE BETWEEN 1 PRECEDING ...`
  each(/\bINTERVAL\s+'[^']*'\s+[A-Za-z]+(?=\s+(?:PRECEDING|FOLLOWING)\b)/gi, (m, s) =>
    put(s, s + m[0].length, '1'),
  );
  // `listagg(x, ',') WITHIN GROUP (ORDER BY x)` -> `listagg(x, ',')`
  each(/\bWITHIN\s+GROUP\s*\(/gi, (m, s) => {
    const close = closingParen(code, s + m[0].length - 1);
    if (close !== undefined) put(s, close + 1);
  });
  // `CAST(x AS ROW(a int))`, `map(varchar, int)`, `array(...)`, `... with time zone` -> `CAST(x AS int)`
  each(/\b(?:TRY_)?CAST\s*\(/gi, (m, s) => {
    const open = s + m[0].length - 1;
    const close = closingParen(code, open);
    if (close === undefined) return;
    const as = lastTopLevelAs(code, open + 1, close);
    if (as === undefined) return;
    const type = code.slice(as, close);
    if (/\b(?:row|map|array)\b|\bwith\s+time\s+zone\b/i.test(type)) put(as, close, ' int');
    // Trino's `DOUBLE PRECISION` (its grammar's doublePrecisionType, the spelling Redshift and PostgreSQL
    // share) -> `double`
    else if (/^\s*double\s+precision\s*$/i.test(type)) put(as, close, ' double');
  });
  return out.join('');
}

/** The offset of the ')' closing the '(' at `open` in masked code, if any. */
function closingParen(code: string, open: number): number | undefined {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === '(') depth++;
    else if (code[i] === ')' && --depth === 0) return i;
  }
  return undefined;
}

/** The offset just after the last `AS` at depth 0 between `from` and `to` (a CAST's type follows it). */
function lastTopLevelAs(code: string, from: number, to: number): number | undefined {
  let depth = 0;
  let found: number | undefined;
  for (let i = from; i < to; i++) {
    if (code[i] === '(') depth++;
    else if (code[i] === ')') depth--;
    else if (depth === 0 && /^AS\b/i.test(code.slice(i, i + 3)) && (i === 0 || /[\s)]/.test(code[i - 1]))) {
      found = i + 2;
    }
  }
  return found;
}

/**
 * `sql` with comments blanked and the inside of string literals and quoted identifiers replaced by `x`
 * (same length, newlines kept): patterns then match code only, at the original offsets.
 */
export function maskLiterals(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'?|"(?:[^"]|"")*"?|--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)/g, (m) => {
    if (m.startsWith('-') || m.startsWith('/')) return m.replace(/[^\n]/g, ' ');
    const quote = m[0];
    const closed = m.length > 1 && m.endsWith(quote);
    const inside = m.slice(1, closed ? -1 : undefined).replace(/[^\n]/g, 'x');
    return `${quote}${inside}${closed ? quote : ''}`;
  });
}

/** Offset -> 1-based line and column. */
function positions(sql: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = 0; i < sql.length; i++) if (sql[i] === '\n') starts.push(i + 1);
  return (offset) => {
    let line = 0;
    while (line + 1 < starts.length && starts[line + 1] <= offset) line++;
    return { line: line + 1, column: offset - starts[line] + 1 };
  };
}

/** The token at `offset`, quoted, for a message (`end of query` past the last one). */
function tokenAt(sql: string, offset: number): string {
  const rest = sql.slice(offset);
  if (rest.trim() === '') return 'end of query';
  const token =
    /^(?:\w+|'(?:[^']|'')*'|"(?:[^"]|"")*"|::|\/\/|[^\s\w])/.exec(rest.trimStart())?.[0] ?? rest[0];
  return `'${token.length > 30 ? `${token.slice(0, 30)}...` : token}'`;
}
