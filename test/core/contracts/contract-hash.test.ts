import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson, contractHash } from '../../../core/contracts/contract-hash';
import { loadContractFile } from '../../../core/contracts/load-contracts';

const SAMPLE_ORDERS = join(__dirname, '../../../samples/contracts/orders.yaml');

/** A small contract, as YAML text. */
const SALES = `domain: retail
dataset: sales
description: Sales of the day
owner: sales@example.com
source:
  format: csv
columns:
  - name: sale_id
    type: string
    required: true
    normalize: [trim]
    checks:
      regex: '^S-\\d+$'
  - name: amount
    type: decimal(10,2)
    required: true
    checks:
      min: 0
  - name: day
    type: date
    required: true
primaryKey: [sale_id]
partition:
  column: day
`;

describe('contractHash', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-contract-hash-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The hash of the contract `text`, written to `<dir>/<sub>/sales.yaml` (its own file each time). */
  let n = 0;
  const hashOf = (text: string, name = 'sales') => {
    const sub = mkdtempSync(join(dir, `${n++}-`));
    const file = join(sub, `${name}.yaml`);
    writeFileSync(file, text);
    return contractHash(loadContractFile(file));
  };

  it('is the SHA-256 of the contract, 64 hex digits, the same on every load of the same file', () => {
    const h = hashOf(SALES);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(hashOf(SALES)).toBe(h);
    expect(contractHash(loadContractFile(SAMPLE_ORDERS))).toBe(contractHash(loadContractFile(SAMPLE_ORDERS)));
  });

  it('ignores formatting: comments, key order, quoting, flow style, spelled-out defaults, type spacing, JSON', () => {
    const h = hashOf(SALES);
    const reformatted = `# the sales contract, reformatted
partition: { column: day }   # same partition
primaryKey:
  - "sale_id"
dataset: "sales"
domain: retail
owner: sales@example.com
description: "Sales of the day"
source: { format: csv, csv: { header: true, delimiter: ",", quote: '"' } }
unknownColumns: ignore
columns:
  - { name: sale_id, required: true, type: string, normalize: [trim], checks: { regex: "^S-\\\\d+$" } }
  - name: amount
    type: "decimal( 10 , 2 )"
    required: true
    normalize: []
    checks: { min: 0.0 }
  - name: day
    required: true
    type: date
`;
    expect(hashOf(reformatted)).toBe(h);
    const asJson = JSON.stringify({
      domain: 'retail',
      dataset: 'sales',
      source: { format: 'csv' },
      columns: [
        {
          name: 'sale_id',
          type: 'string',
          required: true,
          normalize: ['trim'],
          checks: { regex: '^S-\\d+$' },
        },
        { name: 'amount', type: 'decimal(10,2)', required: true, checks: { min: 0 } },
        { name: 'day', type: 'date', required: true },
      ],
      primaryKey: ['sale_id'],
      partition: { column: 'day' },
    });
    const sub = mkdtempSync(join(dir, 'json-'));
    writeFileSync(join(sub, 'sales.json'), asJson);
    expect(contractHash(loadContractFile(join(sub, 'sales.json')))).toBe(h);
  });

  it('ignores what cannot change silver: descriptions, the owner, the quality threshold, the file it is in', () => {
    const h = hashOf(SALES);
    const described = SALES.replace('Sales of the day', 'Every sale, one row each')
      .replace('sales@example.com', 'someone-else@example.com')
      .replace('    type: date\n', '    type: date\n    description: the day of the sale\n')
      .concat('quality:\n  maxQuarantineRatio: 0.5\n');
    expect(hashOf(described)).toBe(h);
  });

  it('changes with any rule, column, type, key, partition or source option', () => {
    const h = hashOf(SALES);
    const changes: [string, string][] = [
      ['min: 0', 'min: 1'],
      ["regex: '^S-\\d+$'", "regex: '^S-\\d{3}$'"],
      ['normalize: [trim]', 'normalize: [trim, upper]'],
      ['type: decimal(10,2)', 'type: decimal(12,2)'],
      [
        '  - name: amount\n    type: decimal(10,2)\n    required: true',
        '  - name: amount\n    type: decimal(10,2)\n    required: false',
      ],
      ['  format: csv\n', '  format: csv\n  csv:\n    delimiter: ";"\n'],
      ['partition:\n  column: day\n', 'partition:\n  column: day\n  granularity: month\n'],
      ['primaryKey: [sale_id]', 'primaryKey: [sale_id]\nlatestBy: amount'],
    ];
    const hashes = changes.map(([from, to]) => {
      expect(SALES).toContain(from);
      return hashOf(SALES.replace(from, () => to));
    });
    for (const changed of hashes) expect(changed).not.toBe(h);
    expect(new Set(hashes).size).toBe(hashes.length);
    // Column order is the order of silver's columns: it counts.
    const swapped = SALES.replace(
      /( {2}- name: sale_id[\s\S]*?)( {2}- name: amount[\s\S]*?)( {2}- name: day)/,
      '$2$1$3',
    );
    expect(swapped).not.toBe(SALES);
    expect(hashOf(swapped)).not.toBe(h);
  });

  it('changes when a rule of the sample orders contract changes', () => {
    const text = readFileSync(SAMPLE_ORDERS, 'utf8');
    const stricter = text.replace('      min: 1\n      max: 1000', '      min: 1\n      max: 5');
    expect(stricter).not.toBe(text);
    expect(hashOf(stricter, 'orders')).not.toBe(contractHash(loadContractFile(SAMPLE_ORDERS)));
  });
});

describe('canonicalJson', () => {
  it('sorts object keys at every level, keeps array order and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });
});
