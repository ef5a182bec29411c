/**
 * `medallion check` on contracts: each problem at its file and line with what to do, regexes compiled by
 * DuckDB (the engine that validates rows), YAML errors with their code frame.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadContractFile } from '../../../core/contracts/load-contracts';
import { checkProject } from '../../../local/check/check';
import type { CheckProblem } from '../../../local/check/report';

const SAMPLE_CONTRACTS = join(__dirname, '..', '..', '..', 'samples', 'contracts');

describe('medallion check: contracts', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-check-contracts-'));
    cpSync(SAMPLE_CONTRACTS, dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Rewrites a sample contract of the copy (`edit` on its text) and returns its path. */
  const edit = (name: string, change: (text: string) => string) => {
    const file = join(dir, name);
    const before = readFileSync(file, 'utf8');
    const after = change(before);
    expect(after).not.toBe(before);
    writeFileSync(file, after);
    return file;
  };
  /** The 1-based line of the first line of `file` containing `text`. */
  const lineOf = (file: string, text: string) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .findIndex((l) => l.includes(text)) + 1;
  const problems = async (): Promise<CheckProblem[]> => (await checkProject({ contractsDir: dir })).problems;

  it('finds nothing wrong with the sample contracts', async () => {
    const result = await checkProject({ contractsDir: SAMPLE_CONTRACTS });
    expect(result.problems).toEqual([]);
    expect(result.contracts).toBe(3);
  });

  /** orders.yaml with another pattern for order_id (a function replacement: `$'` means something to replace). */
  const withOrderIdPattern = (pattern: string) =>
    edit('orders.yaml', (t) => t.replace("regex: '^O-\\d+$'", () => `regex: '${pattern}'`));

  it('refuses a regex that loads (JavaScript accepts it) but that DuckDB (RE2) refuses, at its line', async () => {
    const file = withOrderIdPattern('^(?=O-)O-\\d+$');
    // The loader accepts it (checked as a JavaScript RegExp): the transform would quarantine every file.
    expect(loadContractFile(file).columns[0].checks?.regex).toBe('^(?=O-)O-\\d+$');
    expect(await problems()).toEqual([
      {
        file,
        line: lineOf(file, 'regex:'),
        message:
          "columns[0].checks.regex: DuckDB (RE2, which validates the rows) refuses '^(?=O-)O-\\d+$': invalid perl operator: (?=; every file of orders would be quarantined",
        fix: expect.stringContaining('RE2 has no lookahead'),
      },
    ]);
  });

  it.each([
    ['^(?<prefix>O)-\\d+$', 'write a named group as (?P<name>...) (RE2 syntax)'],
    ['^(O)\\1-\\d+$', 'RE2 has no backreferences: spell the repeated part out'],
  ])('says how to write %s in RE2', async (pattern, fix) => {
    withOrderIdPattern(pattern);
    expect((await problems()).map((p) => p.fix)).toEqual([fix]);
  });

  it('shows a YAML error with its line, column and the parser code frame, only the first of a file', async () => {
    const file = edit('products.yaml', (t) =>
      t.replace('columns:\n', 'columns:\n  - { name: broken, type: string\n'),
    );
    const found = await problems();
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      file,
      // Where the parser noticed: the line after the unclosed '{'.
      line: lineOf(file, '{ name: broken') + 1,
      message: expect.stringMatching(
        /^not valid YAML: Flow map in block collection must be sufficiently indented/,
      ),
      fix: `correct the YAML at line ${lineOf(file, '{ name: broken') + 1}, column 3`,
    });
    expect(found[0].detail).toEqual(
      expect.arrayContaining([expect.stringContaining('{ name: broken, type: string')]),
    );
    expect(found[0].detail?.at(-1)).toMatch(/^\s*\^$/);
  });

  it('names each field zod refuses at the line of its key, reworded, with the likely name', async () => {
    const file = edit('orders.yaml', (t) =>
      t
        .replace('  format: csv\n', '  format: csvv\n')
        .replace('    normalize: [trim]\n', '    normalize: [trim]\n    requried: true\n'),
    );
    expect(await problems()).toEqual([
      {
        file,
        line: lineOf(file, 'format: csvv'),
        message: "source.format: 'csvv' is not one of csv, ndjson, json",
        fix: "did you mean 'csv'?",
      },
      {
        file,
        line: lineOf(file, 'requried:'),
        message: 'columns[0].requried: unknown field',
        fix: "did you mean 'required'?",
      },
    ]);
  });

  it("offers the contract's columns for a key that names none, and says what a missing field is", async () => {
    const orders = edit('orders.yaml', (t) => t.replace('primaryKey: [order_id]', 'primaryKey: [order_idd]'));
    const products = edit('products.yaml', (t) => t.replace(/^partition:\n( {2}.*\n)+/m, ''));
    expect(await problems()).toEqual([
      {
        file: orders,
        line: lineOf(orders, 'primaryKey:'),
        message: "primaryKey[0]: primary key column 'order_idd' is not a declared column",
        fix: "name a column of the contract: did you mean 'order_id'?",
      },
      {
        file: products,
        line: lineOf(products, 'domain:'), // the contract itself: its first key
        message: "partition: 'partition' is missing",
        fix: "add 'partition' (an object), see README 'Data contracts'",
      },
    ]);
  });

  it('says a dataset named unlike its file at the dataset line', async () => {
    const file = edit('customers.yaml', (t) => t.replace('dataset: customers', 'dataset: customer'));
    expect(await problems()).toEqual([
      {
        file,
        line: lineOf(file, 'dataset: customer'),
        message: "dataset: 'customer' must match the file name 'customers'",
        fix: "rename the file after its dataset, or write 'dataset: customers'",
      },
    ]);
  });

  it('leaves the loader errors as they were for synth and the commands (one line per problem)', () => {
    const file = edit('orders.yaml', (t) => t.replace('  format: csv\n', '  format: csvv\n'));
    expect(() => loadContractFile(file)).toThrow(
      `invalid data contract ${file}:\n  - source.format: Invalid option: expected one of "csv"|"ndjson"|"json"`,
    );
  });
});
