import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { contractSchemaText } from '../../../bin/write-contract-schema';
import {
  contractJsonSchema,
  type DatasetContract,
  type DatasetContractInput,
} from '../../../core/contracts/dataset-contract';
import { ContractRegistry, loadContractFile } from '../../../core/contracts/load-contracts';
import { ContractError } from '../../../core/errors';

const ROOT = join(__dirname, '..', '..', '..');
const SAMPLE_CONTRACTS = join(ROOT, 'samples', 'contracts');
const SCHEMA_FILE = join(ROOT, 'schema', 'dataset-contract.schema.json');

let tmp: string;
let dirCount = 0;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'dataset-contract-test-'));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** A fresh empty directory under the test's temporary directory. */
function freshDir(): string {
  dirCount += 1;
  const dir = join(tmp, `case-${dirCount}`);
  mkdirSync(dir);
  return dir;
}

/** A small valid contract; each test breaks one thing in a copy of it. */
function validContract(): DatasetContractInput {
  return {
    domain: 'retail',
    dataset: 'sales',
    source: { format: 'csv' },
    columns: [
      { name: 'sale_id', type: 'string', required: true },
      { name: 'sold_at', type: 'timestamp', required: true, timezone: 'Europe/Paris' },
      { name: 'amount', type: 'decimal(10,2)', required: true, checks: { min: 0 } },
      { name: 'label', type: 'string', normalize: ['trim'] },
    ],
    primaryKey: ['sale_id'],
    latestBy: 'sold_at',
    partition: { column: 'sold_at', granularity: 'day' },
  };
}

type Mutable = DatasetContractInput & Record<string, unknown>;

/** Writes `contract` as YAML to `<dir>/<name>` and returns the path. */
function writeContract(contract: unknown, name = 'sales.yaml', dir = freshDir()): string {
  const file = join(dir, name);
  writeFileSync(file, typeof contract === 'string' ? contract : stringify(contract));
  return file;
}

/** Loads a contract built by `mutate` from the valid one, and returns the ContractError it must throw. */
function contractErrorOf(mutate: (c: Mutable) => void): { error: ContractError; file: string } {
  const contract = validContract() as Mutable;
  mutate(contract);
  const file = writeContract(contract);
  return { error: expectContractError(() => loadContractFile(file)), file };
}

function expectContractError(fn: () => unknown): ContractError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ContractError);
    return e as ContractError;
  }
  throw new Error('expected a ContractError, but nothing was thrown');
}

describe('sample contracts', () => {
  const load = (name: string): DatasetContract => loadContractFile(join(SAMPLE_CONTRACTS, `${name}.yaml`));

  it('loads orders.yaml with its CSV options, decimal type, regex and local-time timestamp', () => {
    const c = load('orders');
    expect(c.id).toBe('retail/orders');
    expect(c.source).toEqual({ format: 'csv', csv: { header: true, delimiter: ',', quote: '"' } });
    const col = (name: string) => c.columns.find((x) => x.name === name);
    expect(col('unit_price')?.type).toEqual({ kind: 'decimal', precision: 10, scale: 2 });
    expect(col('order_ts')).toMatchObject({ format: '%Y-%m-%d %H:%M:%S', timezone: 'Europe/Paris' });
    expect(col('order_id')?.checks?.regex).toBe('^O-\\d+$');
    expect(col('currency')?.normalize).toEqual(['trim', 'upper']);
    expect(c.primaryKey).toEqual(['order_id']);
    expect(c.latestBy).toBe('updated_at');
    expect(c.partition).toEqual({ column: 'order_ts', granularity: 'day', fixedPerKey: true });
    expect(c.unknownColumns).toBe('ignore');
    expect(c.quality.maxQuarantineRatio).toBe(0.2);
  });

  it('loads customers.yaml as NDJSON with hash, mask and drop PII rules and monthly partitions', () => {
    const c = load('customers');
    expect(c.source.format).toBe('ndjson');
    expect(Object.fromEntries(c.columns.filter((x) => x.pii).map((x) => [x.name, x.pii]))).toEqual({
      email: 'hash',
      full_name: 'mask',
      phone: 'drop',
    });
    expect(c.partition).toEqual({ column: 'signup_date', granularity: 'month' });
    expect(c.unknownColumns).toBe('keep');
    expect(c.quality.maxQuarantineRatio).toBe(0.1);
  });

  it("loads products.yaml with a ';' delimiter and unknownColumns: reject", () => {
    const c = load('products');
    expect(c.source.csv.delimiter).toBe(';');
    expect(c.unknownColumns).toBe('reject');
    expect(c.columns.find((x) => x.name === 'active')?.type).toEqual({ kind: 'boolean' });
  });

  it('loads the sample directory into a registry holding exactly the three retail datasets', () => {
    const registry = ContractRegistry.fromDirectory(SAMPLE_CONTRACTS);
    expect(registry.all.map((c) => c.id).sort()).toEqual([
      'retail/customers',
      'retail/orders',
      'retail/products',
    ]);
  });
});

describe('invalid contracts fail with a ContractError naming the file and the field path', () => {
  const cases: { what: string; path: string; message: RegExp; mutate: (c: Mutable) => void }[] = [
    {
      what: 'an unknown column type',
      path: 'columns[2].type',
      message: /unknown type 'money'/,
      mutate: (c) => {
        c.columns[2].type = 'money';
      },
    },
    {
      what: 'a min greater than its max (every row would be quarantined)',
      path: 'columns[2].checks.min',
      message: /min \(10\) is greater than max \(1\)/,
      mutate: (c) => {
        c.columns[2].checks = { min: 10, max: 1 };
      },
    },
    {
      what: 'a decimal precision above 38',
      path: 'columns[2].type',
      message: /precision must be 1\.\.38, got 40/,
      mutate: (c) => {
        c.columns[2].type = 'decimal(40,2)';
      },
    },
    {
      what: 'a decimal scale above its precision',
      path: 'columns[2].type',
      message: /scale \(6\) cannot exceed precision \(5\)/,
      mutate: (c) => {
        c.columns[2].type = 'decimal(5,6)';
      },
    },
    {
      what: 'a column declared twice',
      path: 'columns[4].name',
      message: /duplicate column 'label'/,
      mutate: (c) => {
        c.columns.push({ name: 'label', type: 'string' });
      },
    },
    {
      what: 'a primary key column that is not declared',
      path: 'primaryKey[1]',
      message: /primary key column 'store_id' is not a declared column/,
      mutate: (c) => {
        c.primaryKey = ['sale_id', 'store_id'];
      },
    },
    {
      what: 'a primary key column that is not required',
      path: 'primaryKey[0]',
      message: /primary key column 'label' must be required/,
      mutate: (c) => {
        c.primaryKey = ['label'];
      },
    },
    {
      what: 'a primary key column that is masked',
      path: 'primaryKey[0]',
      message: /cannot be masked or dropped/,
      mutate: (c) => {
        c.columns[0].pii = 'mask';
      },
    },
    {
      what: 'a partition column that is not a date or timestamp',
      path: 'partition.column',
      message: /partition column 'amount' must be a date or timestamp/,
      mutate: (c) => {
        c.partition = { column: 'amount' };
      },
    },
    {
      what: 'a partition column that is not required',
      path: 'partition.column',
      message: /partition column 'sold_at' must be required/,
      mutate: (c) => {
        c.columns[1].required = false;
      },
    },
    {
      what: 'a partition column that is not declared',
      path: 'partition.column',
      message: /partition column 'dt_missing' is not a declared column/,
      mutate: (c) => {
        c.partition = { column: 'dt_missing' };
      },
    },
    {
      what: 'a latestBy column that is not declared',
      path: 'latestBy',
      message: /latestBy column 'changed_at' is not a declared column/,
      mutate: (c) => {
        c.latestBy = 'changed_at';
      },
    },
    {
      what: 'a min check on a string column',
      path: 'columns[3].checks.min',
      message: /min applies to numbers and dates/,
      mutate: (c) => {
        c.columns[3].checks = { min: 1 };
      },
    },
    {
      what: 'a string min on a numeric column',
      path: 'columns[2].checks.min',
      message: /min must be a number/,
      mutate: (c) => {
        c.columns[2].checks = { min: 'zero' };
      },
    },
    {
      what: 'a max on a timestamp column that is not an ISO date',
      path: 'columns[1].checks.max',
      message: /max must be an ISO date/,
      mutate: (c) => {
        c.columns[1].checks = { max: 'tomorrow' };
      },
    },
    {
      what: 'an invalid regular expression',
      path: 'columns[0].checks.regex',
      message: /invalid regular expression/,
      mutate: (c) => {
        c.columns[0].checks = { regex: 'S-(\\d+' };
      },
    },
    {
      what: 'a regex check on a non-string column',
      path: 'columns[2].checks.regex',
      message: /regex applies to string columns/,
      mutate: (c) => {
        c.columns[2].checks = { regex: '^\\d+$' };
      },
    },
    {
      what: 'a maxLength check on a non-string column',
      path: 'columns[2].checks.maxLength',
      message: /maxLength applies to string columns/,
      mutate: (c) => {
        c.columns[2].checks = { maxLength: 3 };
      },
    },
    {
      what: 'an unknown time zone',
      path: 'columns[1].timezone',
      message: /unknown time zone 'Europe\/Pariss'/,
      mutate: (c) => {
        c.columns[1].timezone = 'Europe/Pariss';
      },
    },
    {
      what: 'an empty time zone',
      path: 'columns[1].timezone',
      message: /too small/i,
      mutate: (c) => {
        c.columns[1].timezone = '';
      },
    },
    {
      what: 'an empty format',
      path: 'columns[1].format',
      message: /too small/i,
      mutate: (c) => {
        c.columns[1].format = '';
      },
    },
    {
      what: 'a format on a non-temporal column',
      path: 'columns[3].format',
      message: /apply only to date and timestamp columns/,
      mutate: (c) => {
        c.columns[3].format = '%Y';
      },
    },
    {
      what: 'upper normalization of an int column',
      path: 'columns[4].normalize',
      message: /upper and lower apply to string columns/,
      mutate: (c) => {
        c.columns.push({ name: 'quantity', type: 'int32', normalize: ['trim', 'upper'] });
      },
    },
    {
      what: 'a hash PII rule on a non-string column',
      path: 'columns[2].pii',
      message: /hash and mask apply to string columns/,
      mutate: (c) => {
        c.columns[2].pii = 'hash';
      },
    },
    {
      what: "a column named 'dt' (reserved for the silver partition)",
      path: 'columns',
      message: /'dt' is reserved/,
      mutate: (c) => {
        c.columns.push({ name: 'dt', type: 'date' });
      },
    },
    {
      what: 'a column name that is not a lower-case identifier',
      path: 'columns[3].name',
      message: /column name must be lower-case/,
      mutate: (c) => {
        c.columns[3].name = 'Label';
      },
    },
    {
      what: 'an unknown field inside a column (strict)',
      path: 'columns[3]',
      message: /requried/,
      mutate: (c) => {
        (c.columns[3] as Record<string, unknown>).requried = true;
      },
    },
    {
      what: 'an unknown CSV option (strict)',
      path: 'source.csv',
      message: /separator/,
      mutate: (c) => {
        c.source = { format: 'csv', csv: { separator: ';' } as never };
      },
    },
    {
      what: 'a trailer pattern without a capture group for the count',
      path: 'source.trailer.pattern',
      message: /exactly one capture group \(the row count\), not 0/,
      mutate: (c) => {
        c.source = { format: 'csv', trailer: { pattern: '^TRAILER,\\d+$' } };
      },
    },
    {
      what: 'a trailer pattern with two capture groups',
      path: 'source.trailer.pattern',
      message: /not 2/,
      mutate: (c) => {
        c.source = { format: 'csv', trailer: { pattern: '^(T|TRAILER),(\\d+)$' } };
      },
    },
    {
      what: 'a trailer pattern that is no regular expression',
      path: 'source.trailer.pattern',
      message: /invalid regular expression/,
      mutate: (c) => {
        c.source = { format: 'csv', trailer: { pattern: '^TRAILER,(\\d+$' } };
      },
    },
    {
      what: 'a trailer on a json source (one array: no last line)',
      path: 'source.trailer',
      message: /csv and ndjson/,
      mutate: (c) => {
        c.source = { format: 'json', trailer: { pattern: '^T,(\\d+)$' } };
      },
    },
    {
      what: 'a missing required top-level field',
      path: 'primaryKey',
      message: /expected array/,
      mutate: (c) => {
        delete (c as Partial<Mutable>).primaryKey;
      },
    },
  ];

  it.each(cases)('rejects $what at $path', ({ mutate, path, message }) => {
    const { error, file } = contractErrorOf(mutate);
    expect(error.file).toBe(file);
    expect(error.message).toContain(file);
    const problem = error.problems.find((p) => p.startsWith(`${path}: `));
    expect(problem).toBeDefined();
    expect(problem).toMatch(message);
  });

  it('rejects an unknown top-level field (strict), naming the field at (root)', () => {
    const { error, file } = contractErrorOf((c) => {
      c.partitions = { column: 'sold_at' };
    });
    expect(error.message).toContain(file);
    expect(error.problems).toEqual([expect.stringMatching(/^\(root\): .*"partitions"/)]);
  });

  it('reports every problem of a contract at once, not only the first', () => {
    const { error } = contractErrorOf((c) => {
      c.columns[1].timezone = 'Mars/Olympus';
      c.columns[3].checks = { min: 1 };
    });
    expect(error.problems.map((p) => p.split(':')[0])).toEqual([
      'columns[1].timezone',
      'columns[3].checks.min',
    ]);
  });

  it('rejects a file whose name differs from its dataset', () => {
    const file = writeContract(validContract(), 'orders.yaml');
    const error = expectContractError(() => loadContractFile(file));
    expect(error.message).toContain(file);
    expect(error.problems).toEqual(["dataset: 'sales' must match the file name 'orders'"]);
  });

  it('rejects a YAML syntax error with the file and the line of the error', () => {
    const file = writeContract('domain: retail\ndataset: sales\ncolumns: [\n  { name: a, type: string }\n');
    const error = expectContractError(() => loadContractFile(file));
    expect(error.message).toContain(file);
    expect(error.problems.length).toBeGreaterThan(0);
    expect(error.problems.join('\n')).toMatch(/line \d+/);
  });

  it('rejects a YAML mapping with a duplicated key instead of keeping the last value', () => {
    const yaml = stringify(validContract()).replace('domain: retail\n', 'domain: retail\ndomain: finance\n');
    const file = writeContract(yaml);
    const error = expectContractError(() => loadContractFile(file));
    expect(error.message).toContain(file);
    expect(error.problems.join('\n')).toMatch(/unique/i);
  });

  it('rejects a YAML alias to an undefined anchor as a ContractError naming the file', () => {
    const file = writeContract(
      stringify(validContract()).replace('domain: retail', 'domain: *retail_domain'),
    );
    const error = expectContractError(() => loadContractFile(file));
    expect(error.message).toContain(file);
    expect(error.problems.join('\n')).toMatch(/alias/i);
  });

  it('rejects an empty file as a contract that is not an object', () => {
    const file = writeContract('');
    const error = expectContractError(() => loadContractFile(file));
    expect(error.problems).toEqual([expect.stringMatching(/^\(root\): /)]);
  });
});

describe('loadContractFile', () => {
  it('accepts the same contract written as JSON, with defaults filled in', () => {
    const dir = freshDir();
    const file = join(dir, 'sales.json');
    writeFileSync(file, JSON.stringify(validContract()));
    const c = loadContractFile(file);
    expect(c.id).toBe('retail/sales');
    expect(c.file).toBe(file);
    expect(c.source.csv).toEqual({ header: true, delimiter: ',', quote: '"' });
    expect(c.unknownColumns).toBe('ignore');
    expect(c.unknownValues).toBe('hash');
    expect(c.quality).toEqual({ maxQuarantineRatio: 0.05 });
    expect(c.columns[3]).toMatchObject({ required: false, typeText: 'string', type: { kind: 'string' } });
  });

  it('hashes the values of kept unknown columns unless unknownValues: keep is written, and refuses other values', () => {
    const keep = { ...validContract(), unknownColumns: 'keep' as const };
    expect(loadContractFile(writeContract(keep)).unknownValues).toBe('hash');
    expect(loadContractFile(writeContract({ ...keep, unknownValues: 'keep' })).unknownValues).toBe('keep');
    const { error } = contractErrorOf((c) => {
      c.unknownColumns = 'keep';
      c.unknownValues = 'clear' as never;
    });
    expect(error.problems).toEqual([expect.stringMatching(/^unknownValues: /)]);
  });

  it('parses a decimal type written with spaces and keeps its trimmed text', () => {
    const contract = validContract();
    contract.columns[2].type = ' decimal( 12 , 4 ) ';
    const c = loadContractFile(writeContract(contract));
    expect(c.columns[2].type).toEqual({ kind: 'decimal', precision: 12, scale: 4 });
    expect(c.columns[2].typeText).toBe('decimal( 12 , 4 )');
  });
});

describe('ContractRegistry', () => {
  it('rejects two contracts for the same dataset, naming both files', () => {
    const a = loadContractFile(writeContract(validContract()));
    const b = loadContractFile(writeContract({ ...validContract(), domain: 'finance' }));
    const error = expectContractError(() => new ContractRegistry([a, b]));
    expect(error.file).toBe(b.file);
    expect(error.message).toContain(b.file);
    expect(error.problems).toEqual([`dataset: 'sales' is also defined in ${a.file}`]);
  });

  it('rejects a directory holding the same dataset as .yaml and .json', () => {
    const dir = freshDir();
    writeContract(validContract(), 'sales.yaml', dir);
    writeFileSync(join(dir, 'sales.json'), JSON.stringify(validContract()));
    const error = expectContractError(() => ContractRegistry.fromDirectory(dir));
    expect(error.message).toContain(join(dir, 'sales.yaml'));
    expect(error.message).toContain(join(dir, 'sales.json'));
  });

  it('reads only .yaml, .yml and .json files of a directory, skipping *.schema.json', () => {
    const dir = freshDir();
    writeContract(validContract(), 'sales.yml', dir);
    writeFileSync(join(dir, 'dataset-contract.schema.json'), '{"type": "object"}');
    writeFileSync(join(dir, 'README.md'), '# not a contract');
    const registry = ContractRegistry.fromDirectory(dir);
    expect(registry.all.map((c) => c.id)).toEqual(['retail/sales']);
  });

  it('fails to load a directory when one contract in it is invalid', () => {
    const dir = freshDir();
    writeContract(validContract(), 'sales.yaml', dir);
    const bad = writeContract(
      { ...validContract(), dataset: 'refunds', primaryKey: ['nope'] },
      'refunds.yaml',
      dir,
    );
    const error = expectContractError(() => ContractRegistry.fromDirectory(dir));
    expect(error.file).toBe(bad);
  });

  describe('forKey', () => {
    const registry = ContractRegistry.fromDirectory(SAMPLE_CONTRACTS);

    it('finds the contract owning a <domain>/<dataset>/... key', () => {
      expect(registry.forKey('retail/orders/orders-2026-11-01.csv')?.id).toBe('retail/orders');
      expect(registry.forKey('retail/customers/2026/11/customers.ndjson')?.id).toBe('retail/customers');
    });

    it('returns undefined when the domain does not match the dataset’s domain', () => {
      expect(registry.forKey('finance/orders/orders.csv')).toBeUndefined();
    });

    it('returns undefined for an unknown dataset or a key with no dataset segment', () => {
      expect(registry.forKey('retail/refunds/refunds.csv')).toBeUndefined();
      expect(registry.forKey('retail')).toBeUndefined();
      expect(registry.forKey('')).toBeUndefined();
    });

    it('finds datasets by name with byName', () => {
      expect(registry.byName('products')?.id).toBe('retail/products');
      expect(registry.byName('refunds')).toBeUndefined();
    });
  });
});

describe('contractJsonSchema', () => {
  const schema = contractJsonSchema() as {
    properties: Record<string, { items?: { required?: string[]; properties?: Record<string, unknown> } }>;
    required: string[];
    additionalProperties: unknown;
  };

  it('describes columns and lists the fields a contract must set (defaulted ones are optional)', () => {
    expect(schema.properties.columns).toBeDefined();
    expect(Object.keys(schema.properties.columns.items?.properties ?? {})).toEqual(
      expect.arrayContaining(['name', 'type', 'required', 'normalize', 'checks', 'pii']),
    );
    expect([...schema.required].sort()).toEqual([
      'columns',
      'dataset',
      'domain',
      'partition',
      'primaryKey',
      'source',
    ]);
    expect(schema.properties.columns.items?.required).toEqual(['name', 'type']);
  });

  it('documents unknownValues: hash by default, keep (values in clear) as an explicit opt-in', () => {
    const prop = schema.properties.unknownValues as unknown as {
      default: string;
      enum: string[];
      description: string;
    };
    expect(prop.default).toBe('hash');
    expect(prop.enum).toEqual(['hash', 'keep']);
    expect(prop.description).toMatch(/hash \(default\).*pii: hash/);
    expect(prop.description).toMatch(/keep: values in clear; an explicit opt-in/);
    expect(schema.required).not.toContain('unknownValues');
  });

  it('forbids unknown top-level fields, like the loader', () => {
    expect(schema.additionalProperties).toBe(false);
  });

  it('matches the committed schema/dataset-contract.schema.json (regenerate: npx tsx bin/write-contract-schema.ts)', () => {
    const fresh = `${JSON.stringify(contractJsonSchema(), null, 2)}\n`;
    expect(contractSchemaText()).toBe(fresh);
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(fresh);
  });
});
