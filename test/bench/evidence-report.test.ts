import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type EvidenceFigures,
  percentile,
  renderPerformance,
  renderReliability,
  replaceSection,
  SCENARIOS,
  scenarioResults,
  sectionBody,
  summarise,
} from '../../bench/evidence-report';

const ROOT = join(__dirname, '..', '..');
const machine = { cores: 2, node: '20.20.0', duckdb: 'v1.5.6' };

describe('evidence report', () => {
  it('maps jest results to the 26 scenarios by their "scenario <n>:" names', () => {
    const r = scenarioResults({
      testResults: [
        {
          assertionResults: [
            {
              fullName: 'transform faults scenario 1: the same event 5 times',
              status: 'passed',
              duration: 10,
            },
            { fullName: 'scenario 1: another test of it', status: 'failed', duration: 5 },
            { fullName: 'scenario 26: drift', status: 'passed', duration: 1 },
            { fullName: 'not a scenario', status: 'passed', duration: 1 },
          ],
        },
      ],
    });
    expect(Object.keys(r)).toHaveLength(Object.keys(SCENARIOS).length);
    expect(r['1']).toEqual({ passed: 1, failed: 1, ms: 15 });
    expect(r['26']).toEqual({ passed: 1, failed: 0, ms: 1 });
    expect(r['2']).toEqual({ passed: 0, failed: 0, ms: 0 });
  });

  it('counts lost rows from every conservation record, and names the files that do not add up', () => {
    const f = summarise(
      [
        { kind: 'conservation', scenario: 1, file: 'a.csv', in: 10, out: 7, quarantined: 2, duplicates: 1 },
        { kind: 'conservation', scenario: 14, file: 'b.csv', in: 5, out: 3, quarantined: 1, duplicates: 0 },
        { kind: 'duplicates', scenario: 1, delivered: 5, duplicateDeliveries: 4, duplicateRows: 0 },
        {
          kind: 'concurrency',
          scenario: 25,
          door: 'api',
          attempted: 3,
          landed: 3,
          transformed: 3,
          latenciesMs: [5, 50, 10],
        },
      ],
      scenarioResults({ testResults: [] }),
      machine,
      '2026-11-21T00:00:00.000Z',
    );
    expect(f.conservation).toMatchObject({ files: 2, in: 15, out: 10, lost: 1 });
    expect(f.conservation.unbalanced).toEqual(['scenario 14: b.csv (1)']);
    expect(f.duplicates).toEqual({ delivered: 5, duplicateDeliveries: 4, duplicateRows: 0 });
    expect(f.concurrency.api).toMatchObject({ p50Ms: 10, p95Ms: 50, maxMs: 50 });
    expect(renderReliability(f)).toContain('| rows lost | 1 | 0 |');
  });

  it('takes the nearest-rank percentile', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(percentile([], 95)).toBe(0);
  });

  it('replaces only the body between the markers', () => {
    const readme = 'a\n<!-- evidence:x -->\nold\n<!-- /evidence:x -->\nb\n';
    const next = replaceSection(readme, 'x', 'new');
    expect(next).toBe('a\n<!-- evidence:x -->\nnew\n<!-- /evidence:x -->\nb\n');
    expect(sectionBody(next, 'x')).toBe('new');
    expect(() => replaceSection('no markers', 'x', 'y')).toThrow(/no <!-- evidence:x -->/);
  });

  it("the README's Reliability and Performance sections are exactly what bench/evidence.json renders to", () => {
    const file = join(ROOT, 'bench', 'evidence.json');
    expect(existsSync(file)).toBe(true);
    const figures = JSON.parse(readFileSync(file, 'utf8')) as EvidenceFigures;
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(sectionBody(readme, 'reliability')).toBe(renderReliability(figures));
    expect(sectionBody(readme, 'performance')).toBe(renderPerformance(figures));
  });
});
