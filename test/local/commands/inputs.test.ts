import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ContractRegistry } from '../../../core/contracts/load-contracts';
import { PipelineUsageError } from '../../../core/errors';
import { discoverInputs, doorFor, hashInputs, prepareState } from '../../../local/commands/inputs';

const CONTRACTS = ContractRegistry.fromDirectory(
  resolve(__dirname, '..', '..', '..', 'samples', 'contracts'),
);
const MiB = 1024 * 1024;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'medallion-inputs-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `files` (path relative to `dir` -> content) and returns `dir`. */
function tree(files: Record<string, string>): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

describe('doorFor', () => {
  it('sends JSON, NDJSON and JSON Lines files to the ingest API, whatever the case of the extension', () => {
    expect(doorFor('a.json', 10)).toBe('api');
    expect(doorFor('a.ndjson', 10)).toBe('api');
    expect(doorFor('a.JSONL', 10)).toBe('api');
  });

  it('uploads CSV, gzip and any other file to the landing bucket', () => {
    expect(doorFor('a.csv', 10)).toBe('s3');
    expect(doorFor('a.ndjson.gz', 10)).toBe('s3');
    expect(doorFor('a.txt', 10)).toBe('s3');
  });

  it('uploads an empty JSON file, or one over the API body limit (6 MiB), to the landing bucket', () => {
    expect(doorFor('a.ndjson', 0)).toBe('s3');
    expect(doorFor('a.ndjson', 6 * MiB)).toBe('api');
    expect(doorFor('a.ndjson', 6 * MiB + 1)).toBe('s3');
  });
});

describe('discoverInputs', () => {
  it('finds the files of each dataset directory, sorted, nested ones included and dot files skipped', () => {
    const data = tree({
      'orders/b.csv': 'order_id\n1\n',
      'orders/a.csv.gz': 'x',
      'orders/2026/11/c.csv': 'order_id\n2\n',
      'orders/.hidden.csv': 'x',
      'customers/c.ndjson': '{}\n',
      '.DS_Store': 'x',
    });
    const inputs = discoverInputs(data, CONTRACTS);
    expect(inputs.map((i) => [i.path, i.contract.dataset, i.landingKey, i.door, i.bytes])).toEqual([
      ['customers/c.ndjson', 'customers', 'retail/customers/c.ndjson', 'api', 3],
      ['orders/2026/11/c.csv', 'orders', 'retail/orders/2026/11/c.csv', 's3', 11],
      ['orders/a.csv.gz', 'orders', 'retail/orders/a.csv.gz', 's3', 1],
      ['orders/b.csv', 'orders', 'retail/orders/b.csv', 's3', 11],
    ]);
    expect(inputs[0].absolute).toBe(join(data, 'customers', 'c.ndjson'));
    expect(inputs.every((i) => i.sha256 === '')).toBe(true);
  });

  it('refuses a dataset directory no contract declares, naming the known datasets', () => {
    const data = tree({ 'invoices/a.csv': 'x\n1\n', 'orders/a.csv': 'order_id\n1\n' });
    expect(() => discoverInputs(data, CONTRACTS)).toThrow(PipelineUsageError);
    expect(() => discoverInputs(data, CONTRACTS)).toThrow(
      /invoices: no data contract declares dataset 'invoices' \(known: customers, orders, products\)$/,
    );
  });

  it('refuses a file outside a dataset directory', () => {
    const data = tree({ 'a.csv': 'x\n1\n' });
    expect(() => discoverInputs(data, CONTRACTS)).toThrow(
      /a\.csv is not in a dataset directory: put files under /,
    );
  });

  it('refuses a data directory without any data file', () => {
    mkdirSync(join(dir, 'orders'));
    expect(() => discoverInputs(dir, CONTRACTS)).toThrow(/^no data files under .*\/<dataset>\/$/);
  });

  it('refuses a data directory that does not exist', () => {
    expect(() => discoverInputs(join(dir, 'nope'), CONTRACTS)).toThrow(
      /^data directory .*nope does not exist$/,
    );
  });
});

describe('hashInputs', () => {
  it("sets each input's SHA-256 of its bytes as stored", async () => {
    const data = tree({ 'orders/a.csv': 'order_id\n1\n' });
    const [input] = await hashInputs(discoverInputs(data, CONTRACTS));
    expect(input.sha256).toBe(createHash('sha256').update('order_id\n1\n').digest('hex'));
  });
});

describe('prepareState', () => {
  const MARKER = '.medallion-state';

  it('creates a missing state directory and marks it as ours', () => {
    const state = join(dir, 'a', 'state');
    prepareState(state, false);
    expect(existsSync(join(state, MARKER))).toBe(true);
  });

  it('takes an empty existing directory', () => {
    prepareState(dir, false);
    expect(readdirSync(dir)).toEqual([MARKER]);
  });

  it('empties a state directory of ours but keeps the derived wiring (cache/)', () => {
    prepareState(dir, false);
    tree({ 's3/bucket/key': 'x', 'logs/functions.log': 'x', 'cache/wiring.json': '{}' });
    prepareState(dir, false);
    expect(readdirSync(dir).sort()).toEqual([MARKER, 'cache']);
    expect(readFileSync(join(dir, 'cache', 'wiring.json'), 'utf8')).toBe('{}');
  });

  it('keeps everything in a state directory of ours when asked to', () => {
    prepareState(dir, false);
    tree({ 's3/bucket/key': 'x' });
    prepareState(dir, true);
    expect(readFileSync(join(dir, 's3', 'bucket', 'key'), 'utf8')).toBe('x');
  });

  it.each([false, true])(
    'refuses a non-empty directory it did not create (keep: %s), touching nothing',
    (keep) => {
      tree({ 'precious.txt': 'keep me' });
      expect(() => prepareState(dir, keep)).toThrow(
        /is not empty and is not a medallion state directory: refusing to use it$/,
      );
      expect(readdirSync(dir)).toEqual(['precious.txt']);
    },
  );
});
