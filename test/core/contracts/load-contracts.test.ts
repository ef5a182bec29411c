import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadContractRegistry, loadContracts, readContracts } from '../../../core/contracts/load-contracts';
import { MedallionConfigError } from '../../../core/errors';

const SAMPLES = join(__dirname, '..', '..', '..', 'samples', 'contracts');

describe('loading a contracts directory (one loader, two wordings)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'contracts-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const fail = (message: string) => new Error(message);

  it('loads every sample contract, sorted by id for synth', () => {
    expect(loadContracts(SAMPLES).map((c) => c.id)).toEqual([
      'retail/customers',
      'retail/orders',
      'retail/products',
    ]);
    expect(readContracts(SAMPLES, fail).all).toHaveLength(3);
  });

  it('reports a missing directory, an empty one and an invalid contract in one line for the CLI', () => {
    expect(() => readContracts(join(dir, 'nope'), fail)).toThrow(
      /^contracts directory .*nope does not exist$/,
    );
    expect(() => readContracts(dir, fail)).toThrow(`no data contract in ${dir}`);
    cpSync(join(SAMPLES, 'orders.yaml'), join(dir, 'orders.yaml'));
    writeFileSync(join(dir, 'products.yaml'), 'domain: retail\ndataset: products\n');
    expect(() => readContracts(dir, fail, () => 'shown')).toThrow(/^invalid data contract shown: [^\n]+$/);
  });

  it('reports problems to synth as MedallionConfigError with the file and every problem', () => {
    expect(() => loadContracts(dir)).toThrow(MedallionConfigError);
    expect(() => loadContracts(dir)).toThrow(
      /^medallion: no data contract \(\*\.yaml, \*\.yml, \*\.json\) in /,
    );
    writeFileSync(join(dir, 'orders.yaml'), 'domain: retail\ndataset: orders\n');
    expect(() => loadContracts(dir)).toThrow(/^medallion: invalid data contract .*orders\.yaml:\n {2}- /);
  });

  it('hands the caller a typed problem', () => {
    const problems: string[] = [];
    expect(() =>
      loadContractRegistry(join(dir, 'missing'), (p) => {
        problems.push(p.kind);
        return new Error(p.kind);
      }),
    ).toThrow('unreadable');
    expect(problems).toEqual(['unreadable']);
  });
});
