/**
 * Athena DDL, locally: the two statements the gold workflow runs to create and evolve the current-state
 * Iceberg tables, parsed as Athena's DDL engine (Hive's grammar) reads them and applied to the local Glue
 * catalog.
 *
 *   CREATE TABLE [IF NOT EXISTS] [`db`.]`table` (`col` type [COMMENT '...'], ...)
 *     [PARTITIONED BY (`col`, ...)] LOCATION 's3://...' TBLPROPERTIES ('table_type' = 'ICEBERG', ...)
 *   ALTER TABLE [`db`.]`table` ADD COLUMNS (`col` type [COMMENT '...'], ...)
 *
 * Hive's lexical rules apply, as on Athena: identifiers are quoted with backticks (a double-quoted name is a
 * string there, refused here with the reason); a string literal is C-escaped (`\'` is a quote, `\\` a
 * backslash) and adjacent literals are concatenated, so `'it''s'` reads `its` (Athena accepts it and drops
 * the quote); comments are `--` to the end of the line. Names are lower-cased, as Glue stores them.
 *
 * Only what the local lake can hold is accepted, and everything else is refused with what is not
 * emulated: types string, int, bigint, double, boolean, date, timestamp and decimal(p,s); identity
 * partitions (a column name, no transform); Iceberg tables only (`'table_type' = 'ICEBERG'`), stored as
 * Parquet. Other DDL (DROP, CREATE VIEW, other ALTER TABLE forms) is refused too, rather than run by DuckDB
 * on its in-memory views, where it would seem to succeed and change nothing.
 *
 * {@link runDdl} applies a statement to the catalog: CREATE makes an Iceberg table with no snapshot yet;
 * `IF NOT EXISTS` on an existing table does nothing, even when its columns differ (as on Athena). ADD
 * COLUMNS appends to the table's columns; the files already written lack them, and read as NULL there.
 */
import { AthenaSqlError } from '../../core/errors';
import type { LocalGlueCatalog } from './glue-catalog';

/** A column of a CREATE TABLE or an ADD COLUMNS, as Glue will hold it. */
export interface DdlColumn {
  readonly name: string;
  /** Lower-case, without spaces: `decimal(10,2)`. */
  readonly type: string;
  readonly comment?: string;
}

/** `CREATE TABLE` of an Iceberg table. */
export interface CreateTableStatement {
  readonly kind: 'CREATE_TABLE';
  /** Undefined when the table is not qualified (the query's database). */
  readonly database: string | undefined;
  readonly table: string;
  readonly ifNotExists: boolean;
  readonly columns: DdlColumn[];
  /** Identity partition columns, in PARTITIONED BY order (none: unpartitioned). */
  readonly partitionColumns: string[];
  readonly location: string;
  /** TBLPROPERTIES as written (`table_type` included). */
  readonly properties: Record<string, string>;
}

/** `ALTER TABLE ... ADD COLUMNS`. */
export interface AddColumnsStatement {
  readonly kind: 'ALTER_TABLE_ADD_COLUMNS';
  readonly database: string | undefined;
  readonly table: string;
  readonly columns: DdlColumn[];
}

/** A DDL statement the local Athena runs; `kind` is Athena's SubstatementType for it. */
export type DdlStatement = CreateTableStatement | AddColumnsStatement;

/** The column types emulated (what silver writes); decimal(p,s) besides. */
const TYPES = new Set(['string', 'int', 'bigint', 'double', 'boolean', 'date', 'timestamp']);

/** The first word of a statement, after whitespace and `--` comments. */
const FIRST_WORD = /^(?:\s+|--[^\n]*(?:\n|$))*([A-Za-z]+)/;

/** Whether `sql` is DDL (CREATE, ALTER or DROP): run by {@link runDdl}, never by DuckDB. */
export function isDdlStatement(sql: string): boolean {
  const word = FIRST_WORD.exec(sql)?.[1]?.toUpperCase();
  return word === 'CREATE' || word === 'ALTER' || word === 'DROP';
}

/** Parses a DDL statement (see the module comment); throws {@link AthenaSqlError} naming what is wrong. */
export function parseDdl(sql: string): DdlStatement {
  const p = new DdlParser(sql);
  if (p.acceptWords('CREATE')) {
    const external = p.acceptWords('EXTERNAL');
    if (!p.acceptWords('TABLE')) throw p.notEmulated('CREATE other than CREATE TABLE');
    return createTable(p, external);
  }
  if (p.acceptWords('ALTER', 'TABLE')) {
    const { database, table } = p.qualifiedName();
    if (!p.acceptWords('ADD', 'COLUMNS')) throw p.notEmulated('ALTER TABLE other than ADD COLUMNS');
    const columns = p.columnList();
    p.end();
    return { kind: 'ALTER_TABLE_ADD_COLUMNS', database, table, columns };
  }
  throw p.notEmulated(`${FIRST_WORD.exec(sql)?.[1]?.toUpperCase() ?? 'this'} statement`);
}

function createTable(p: DdlParser, external: boolean): CreateTableStatement {
  const ifNotExists = p.acceptWords('IF', 'NOT', 'EXISTS');
  const { database, table } = p.qualifiedName();
  if (!p.isPunct('(')) throw p.error('expected the column list (CREATE TABLE AS SELECT is not emulated)');
  const columns = p.columnList();
  const partitionColumns: string[] = [];
  if (p.acceptWords('PARTITIONED', 'BY')) {
    p.expectPunct('(');
    do {
      const name = p.name('partition column');
      if (p.isPunct('(')) {
        throw p.error(
          `the partition transform ${name}(...) is not emulated locally; only identity (a column) is`,
        );
      }
      if (!columns.some((c) => c.name === name)) {
        throw p.error(`the partition column '${name}' is not a column of the table`);
      }
      partitionColumns.push(name);
    } while (p.acceptPunct(','));
    p.expectPunct(')');
  }
  const location = p.acceptWords('LOCATION') ? p.string('LOCATION') : undefined;
  const properties: Record<string, string> = {};
  if (p.acceptWords('TBLPROPERTIES')) {
    p.expectPunct('(');
    do {
      const key = p.string('property name');
      p.expectPunct('=');
      properties[key] = p.string(`the value of '${key}'`);
    } while (p.acceptPunct(','));
    p.expectPunct(')');
  }
  p.end();
  if (properties.table_type?.toUpperCase() !== 'ICEBERG') {
    throw new AthenaSqlError(
      "CREATE TABLE: only Iceberg CREATE TABLE is emulated locally (TBLPROPERTIES ('table_type' = 'ICEBERG'))",
    );
  }
  if (external) throw new AthenaSqlError('External keyword not supported for table type ICEBERG');
  if (properties.format !== undefined && properties.format.toLowerCase() !== 'parquet') {
    throw new AthenaSqlError(
      `CREATE TABLE: the format '${properties.format}' is not emulated locally; only 'parquet' is`,
    );
  }
  if (location === undefined) throw new AthenaSqlError('CREATE TABLE: an Iceberg table needs a LOCATION');
  if (!/^s3:\/\/[^/]+\/?/.test(location)) {
    throw new AthenaSqlError(`CREATE TABLE: LOCATION '${location}' is not an s3:// location`);
  }
  return {
    kind: 'CREATE_TABLE',
    database,
    table,
    ifNotExists,
    columns,
    partitionColumns,
    location,
    properties,
  };
}

/** What {@link runDdl} did. */
export type DdlOutcome = 'created' | 'already exists' | 'columns added';

/**
 * Applies a DDL statement to the catalog (see the module comment), the table in `database` (the query's)
 * unless the statement qualifies it. Throws with Athena's message when the statement cannot apply.
 */
export function runDdl(
  catalog: LocalGlueCatalog,
  statement: DdlStatement,
  database: string | undefined,
): DdlOutcome {
  const db = statement.database ?? database;
  if (!db) {
    throw new AthenaSqlError(
      `${statement.kind}: no database (qualify the table as \`db\`.\`table\`, or set QueryExecutionContext.Database)`,
    );
  }
  if (!catalog.databaseNames().includes(db)) throw new Error(`Database does not exist: ${db}`);
  const exists = catalog.tableNames(db).includes(statement.table);
  const name = `${db}.${statement.table}`;
  const columns = statement.columns.map((c) => ({
    Name: c.name,
    Type: c.type,
    ...(c.comment === undefined ? {} : { Comment: c.comment }),
  }));
  if (statement.kind === 'CREATE_TABLE') {
    if (exists) {
      if (statement.ifNotExists) return 'already exists';
      throw new Error(`AlreadyExistsException: Table already exists: ${name}`);
    }
    catalog.createIcebergTable(db, {
      Name: statement.table,
      Columns: columns,
      Location: statement.location,
      PartitionColumns: statement.partitionColumns,
    });
    return 'created';
  }
  if (!exists) throw new Error(`TABLE_NOT_FOUND: Table 'awsdatacatalog.${name}' does not exist`);
  const { Table } = catalog.getTable({ DatabaseName: db, Name: statement.table });
  const have = new Set(
    [...(Table.StorageDescriptor?.Columns ?? []), ...(Table.PartitionKeys ?? [])].map((c) => c.Name),
  );
  const clash = statement.columns.find((c) => have.has(c.name));
  if (clash) throw new Error(`Column '${clash.name}' already exists`);
  catalog.addColumns(db, statement.table, columns);
  return 'columns added';
}

type Token =
  | { kind: 'word' | 'ident' | 'number' | 'punct'; text: string; at: number }
  /** A string literal, unescaped; `quote` is the first quote character (`"` cannot name anything). */
  | { kind: 'string'; text: string; at: number; quote: string };

/** A recursive-descent reader of the statements above, over Hive's tokens. */
class DdlParser {
  private readonly tokens: Token[];
  private i = 0;

  constructor(private readonly sql: string) {
    this.tokens = tokenize(sql, (at, message) => this.errorAt(at, message));
  }

  /** Consumes `words` (case-insensitive bare words) if they come next, all of them. */
  acceptWords(...words: string[]): boolean {
    const next = this.tokens.slice(this.i, this.i + words.length);
    const match =
      next.length === words.length &&
      next.every((t, k) => t.kind === 'word' && t.text.toUpperCase() === words[k]);
    if (match) this.i += words.length;
    return match;
  }

  isPunct(p: string): boolean {
    const t = this.tokens[this.i];
    return t?.kind === 'punct' && t.text === p;
  }

  acceptPunct(p: string): boolean {
    if (!this.isPunct(p)) return false;
    this.i++;
    return true;
  }

  expectPunct(p: string): void {
    if (!this.acceptPunct(p)) throw this.error(`expected '${p}'`);
  }

  /** A name (backticked or bare), lower-cased. */
  name(what: string): string {
    const t = this.tokens[this.i];
    if (t?.kind === 'string' && t.quote === '"') {
      throw this.error(`Athena DDL quotes names with backticks (\`${t.text}\`), not double quotes`);
    }
    if (t?.kind !== 'ident' && t?.kind !== 'word') throw this.error(`expected a ${what} name`);
    const name = t.text.toLowerCase();
    if (!/^[a-z0-9_]+$/.test(name)) {
      throw this.error(`the ${what} name '${t.text}' is not emulated locally (letters, digits and '_' only)`);
    }
    this.i++;
    return name;
  }

  /** `name` or `db.name`. */
  qualifiedName(): { database: string | undefined; table: string } {
    const first = this.name('table');
    if (!this.acceptPunct('.')) return { database: undefined, table: first };
    const table = this.name('table');
    if (this.isPunct('.'))
      throw this.error('name the table as `db`.`table` (a catalog name is not supported)');
    return { database: first, table };
  }

  /** `(name type [COMMENT 'text'], ...)`: at least one column, no name twice. */
  columnList(): DdlColumn[] {
    this.expectPunct('(');
    const columns: DdlColumn[] = [];
    do {
      const name = this.name('column');
      if (columns.some((c) => c.name === name)) throw this.error(`the column '${name}' is declared twice`);
      const type = this.type(name);
      const comment = this.acceptWords('COMMENT') ? this.string('COMMENT') : undefined;
      columns.push({ name, type, ...(comment === undefined ? {} : { comment }) });
    } while (this.acceptPunct(','));
    this.expectPunct(')');
    return columns;
  }

  string(what: string): string {
    const t = this.tokens[this.i];
    if (t?.kind !== 'string') throw this.error(`expected a string literal for ${what}`);
    this.i++;
    return t.text;
  }

  /** The end of the statement (an optional ';'). */
  end(): void {
    this.acceptPunct(';');
    const t = this.tokens[this.i];
    if (t) throw this.error(`'${t.text}' is not emulated locally here`);
  }

  notEmulated(what: string): AthenaSqlError {
    return new AthenaSqlError(
      `${what} is not emulated locally (the local Athena runs CREATE TABLE of an Iceberg table and ALTER TABLE ... ADD COLUMNS)`,
    );
  }

  /** An error at the current token. */
  error(message: string): AthenaSqlError {
    return this.errorAt(this.tokens[this.i]?.at ?? this.sql.length, message);
  }

  private type(column: string): string {
    const t = this.tokens[this.i];
    const base = t?.kind === 'word' ? t.text.toLowerCase() : undefined;
    this.i++;
    if (base === 'decimal' && this.acceptPunct('(')) {
      const precision = this.number();
      this.expectPunct(',');
      const scale = this.number();
      this.expectPunct(')');
      if (precision < 1 || precision > 38 || scale > precision) {
        throw this.error(`decimal(${precision},${scale}) of column '${column}' is not a valid decimal type`);
      }
      return `decimal(${precision},${scale})`;
    }
    if (base === undefined || !TYPES.has(base)) {
      this.i--;
      throw this.error(
        `the type '${t?.text ?? ''}' of column '${column}' is not emulated locally (${[...TYPES].join(', ')}, decimal(p,s))`,
      );
    }
    return base;
  }

  private number(): number {
    const t = this.tokens[this.i];
    if (t?.kind !== 'number') throw this.error('expected a number');
    this.i++;
    return Number(t.text);
  }

  private errorAt(at: number, message: string): AthenaSqlError {
    const before = this.sql.slice(0, at).split('\n');
    return new AthenaSqlError(`line ${before.length}:${before[before.length - 1].length + 1}: ${message}`);
  }
}

/** Hive's tokens of `sql` (see the module comment); `fail` makes the error of an unreadable character. */
function tokenize(sql: string, fail: (at: number, message: string) => Error): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i];
    const rest = sql.slice(i);
    if (/\s/.test(ch)) i++;
    else if (rest.startsWith('--')) i = sql.indexOf('\n', i) === -1 ? sql.length : sql.indexOf('\n', i);
    else if ('(),.=;'.includes(ch)) tokens.push({ kind: 'punct', text: ch, at: i++ });
    else if (ch === '`') {
      const m = /^`((?:[^`]|``)*)`/.exec(rest);
      if (!m) throw fail(i, 'unterminated `name`');
      tokens.push({ kind: 'ident', text: m[1].replace(/``/g, '`'), at: i });
      i += m[0].length;
    } else if (ch === "'" || ch === '"') {
      // One or more adjacent literals, each C-escaped (Hive's StringLiteral).
      const m = /^(?:'(?:[^'\\]|\\[\s\S])*'|"(?:[^"\\]|\\[\s\S])*")+/.exec(rest);
      if (!m) throw fail(i, 'unterminated string literal');
      tokens.push({ kind: 'string', text: unescapeHiveString(m[0]), at: i, quote: ch });
      i += m[0].length;
    } else {
      const m = /^[A-Za-z0-9][A-Za-z0-9_]*/.exec(rest);
      if (!m) throw fail(i, `unexpected character '${ch}'`);
      tokens.push({ kind: /^\d+$/.test(m[0]) ? 'number' : 'word', text: m[0], at: i });
      i += m[0].length;
    }
  }
  return tokens;
}

const ESCAPES: Record<string, string> = {
  '0': '\0',
  "'": "'",
  '"': '"',
  b: '\b',
  n: '\n',
  r: '\r',
  t: '\t',
  Z: '\u001a',
  '\\': '\\',
  '%': '\\%',
  _: '\\_',
};

/**
 * The text of a Hive string literal token: the quoted parts concatenated, `\x` escapes resolved (an
 * unknown one is the character itself; octal and `\u` escapes are not emulated).
 */
function unescapeHiveString(token: string): string {
  let text = '';
  let quote: string | undefined;
  for (let i = 0; i < token.length; i++) {
    const ch = token[i];
    if (quote === undefined) quote = ch;
    else if (ch === quote) quote = undefined;
    else if (ch === '\\') text += ESCAPES[token[++i]] ?? token[i];
    else text += ch;
  }
  return text;
}
