/**
 * Datasets and gold models as data products: version, owner (with a contact), SLA objectives and access,
 * in contracts and in model headers, with defaults and clear refusals.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { durationMinutes, majorOf, ratio } from '../../../core/contracts/data-product';
import { parseContract } from '../../../core/contracts/dataset-contract';
import { loadContracts } from '../../../core/contracts/load-contracts';
import { loadGoldModels } from '../../../core/gold/models';
import { PROJECT_ROOT } from '../../../lib/config';

const BASE = {
  domain: 'retail',
  dataset: 'orders',
  source: { format: 'csv' },
  columns: [
    { name: 'id', type: 'string', required: true },
    { name: 'ts', type: 'timestamp', required: true },
  ],
  primaryKey: ['id'],
  partition: { column: 'ts' },
};
const parse = (extra: Record<string, unknown>) => parseContract({ ...BASE, ...extra }, 'orders.yaml');

describe('durations and objectives', () => {
  test.each([
    ['30 minutes', 30],
    ['1 hour', 60],
    ['2 hours', 120],
    ['7 days', 10_080],
    ['1hour', 60],
  ])('%s is %d minutes', (text, minutes) => expect(durationMinutes(text)).toBe(minutes));
  test.each(['', '0 hours', 'an hour', '1 week', '2 h'])("'%s' is no duration", (text) =>
    expect(durationMinutes(text)).toBeUndefined(),
  );
  test('objectives are ratios below 1: 99.9% is 0.999; 100% and 0 leave no budget or no objective', () => {
    expect(ratio('99.9%')).toBeCloseTo(0.999, 10);
    expect(ratio(0.95)).toBe(0.95);
    for (const bad of ['100%', '0%', 1, 0, '99.9', 'x%']) expect(ratio(bad)).toBeUndefined();
  });
  test('the major part of a version', () => expect(majorOf('12.3.4')).toBe(12));
});

describe('a contract as a data product', () => {
  test('defaults: version 1.0.0, no owner, no SLA, readable by its own domain only', () => {
    const c = parse({});
    expect(c.version).toBe('1.0.0');
    expect(c.owner).toBeUndefined();
    expect(c.sla).toBeUndefined();
    expect(c.access).toEqual({ readers: [], bronze: false, quarantine: false });
  });

  test('an owner given as a contact or as { team, contact }; an SLA read into minutes and ratios', () => {
    expect(parse({ owner: 'ops@example.com' }).owner).toEqual({ contact: 'ops@example.com' });
    const c = parse({
      version: '2.1.0',
      owner: { team: 'retail-data', contact: 'retail@example.com' },
      sla: { freshness: '2 hours', completeness: '99.9%', quality: 0.99 },
      access: { readers: ['finance'], quarantine: true },
    });
    expect(c.owner).toEqual({ team: 'retail-data', contact: 'retail@example.com' });
    expect(c.sla).toEqual({ freshness: 120, completeness: 0.999, quality: 0.99, window: 43_200 });
    expect(c.access).toEqual({ readers: ['finance'], bronze: false, quarantine: true });
    expect(c.version).toBe('2.1.0');
  });

  test.each([
    [{ version: '1.0' }, /version.*MAJOR\.MINOR\.PATCH/],
    [{ sla: { freshness: 'soon' } }, /sla\.freshness must read like '30 minutes'/],
    [{ sla: { quality: '100%' } }, /sla\.quality must be a percentage below 100%/],
    [{ sla: { latency: '1 hour' } }, /latency/],
    [{ access: { readers: ['Finance'] } }, /access/],
    [{ owner: { team: 'x' } }, /contact/],
  ])('refuses %j', (extra, message) => expect(() => parse(extra)).toThrow(message));

  test('the sample contracts declare a version, an owner team and contact, and an SLA', () => {
    for (const c of loadContracts(join(PROJECT_ROOT, 'samples', 'contracts'))) {
      expect(c.version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(c.owner?.contact).toMatch(/@example\.com$/);
      expect(c.sla?.freshness).toBeGreaterThan(0);
      expect(c.sla?.quality).toBeGreaterThan(0);
    }
  });
});

describe('a gold model as a data product (its header)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'medallion-product-models-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const load = (header: string) => {
    writeFileSync(join(dir, 'm.sql'), `${header}-- columns: n bigint\nSELECT 1 AS n\n`);
    return loadGoldModels(dir, { database: 'db' }).models[0];
  };

  test('domain, owner, version, SLA and readers from the header; defaults without them', () => {
    expect(load('').product).toEqual({ version: '1.0.0', readers: [] });
    expect(
      load(
        '-- domain: retail\n-- owner: retail@example.com\n-- version: 2.0.1\n-- sla: freshness 2 hours, window 7 days\n-- access: finance, marketing\n',
      ).product,
    ).toEqual({
      domain: 'retail',
      owner: { contact: 'retail@example.com' },
      version: '2.0.1',
      sla: { freshness: 120, window: 10_080 },
      readers: ['finance', 'marketing'],
    });
  });

  test.each([
    ['-- version: 2\n', /m\.sql:1: version must be MAJOR\.MINOR\.PATCH/],
    ['-- sla: latency 1 hour\n', /m\.sql:1: cannot read 'latency 1 hour'/],
    ['-- sla: freshness soon\n', /m\.sql:1: 'soon' is no duration/],
    ['-- domain: Retail\n', /m\.sql:1: domain must be lower-case/],
    ['-- access: finance, Other\n', /m\.sql:1: 'Other' is no domain name/],
    ['-- owner: a@x\n-- owner: b@x\n', /m\.sql:2: owner is given twice/],
  ])('refuses %j at its line', (header, message) => expect(() => load(header)).toThrow(message));

  test('the sample models name their domain, owner, version and freshness objective', () => {
    const { models } = loadGoldModels(join(PROJECT_ROOT, 'samples', 'models'), {
      database: 'db',
      silverTables: ['orders', 'products', 'customers'],
    });
    for (const m of models) {
      expect({ model: m.name, domain: m.product?.domain }).toEqual({ model: m.name, domain: 'retail' });
      expect(m.product?.sla?.freshness).toBeGreaterThan(0);
    }
  });
});
