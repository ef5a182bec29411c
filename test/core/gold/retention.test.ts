import {
  parsePublishedRegistry,
  recordPublished,
  versionOfPrefix,
  versionsToDelete,
} from '../../../core/gold/retention';
import { goldPublishedRegistryKey, goldVersionPrefix } from '../../../core/lake/layout';

const v = (version: string) => goldVersionPrefix('sales', version);

describe('the published-versions registry', () => {
  it('lives next to the versions of its model, outside every version prefix', () => {
    expect(goldPublishedRegistryKey('sales')).toBe('sales/_published.json');
    expect(versionOfPrefix('sales', 'sales/_published.json')).toBeUndefined();
  });

  it('starts with the first version published', () => {
    expect(recordPublished(undefined, 'run-1', 3)).toEqual({ published: ['run-1'] });
    expect(recordPublished({ published: [] }, 'run-1', 3)).toEqual({ published: ['run-1'] });
  });

  it('puts each new version first and keeps the newest K only', () => {
    let registry = recordPublished(undefined, 'run-1', 3);
    for (const version of ['run-2', 'run-3', 'run-4', 'run-5']) {
      registry = recordPublished(registry, version, 3);
    }
    expect(registry).toEqual({ published: ['run-5', 'run-4', 'run-3'] });
  });

  it('does not list a version twice when it is recorded again', () => {
    const registry = { published: ['run-3', 'run-2', 'run-1'] };
    expect(recordPublished(registry, 'run-3', 3)).toEqual(registry);
    expect(recordPublished(registry, 'run-2', 3)).toEqual({ published: ['run-2', 'run-3', 'run-1'] });
  });

  it('cuts a registry written with a larger K down to the current K', () => {
    expect(recordPublished({ published: ['c', 'b', 'a'] }, 'd', 1)).toEqual({ published: ['d'] });
  });

  it('refuses K below 1 (the version the table reads is always kept)', () => {
    expect(() => recordPublished(undefined, 'run-1', 0)).toThrow(RangeError);
    expect(() => recordPublished(undefined, 'run-1', 1.5)).toThrow(RangeError);
  });

  it('does not change the registry it was given', () => {
    const registry = { published: ['run-1'] };
    recordPublished(registry, 'run-2', 3);
    expect(registry).toEqual({ published: ['run-1'] });
  });

  it('reads a stored registry and refuses one of another shape instead of reading it as empty', () => {
    expect(parsePublishedRegistry({ published: ['b', 'a'] }, 'x')).toEqual({ published: ['b', 'a'] });
    for (const bad of [null, [], {}, { published: 'a' }, { published: [1] }, { published: [''] }]) {
      expect(() => parsePublishedRegistry(bad, 's3://gold/sales/_published.json')).toThrow(
        's3://gold/sales/_published.json: not a published-versions registry',
      );
    }
  });
});

describe('versionsToDelete', () => {
  const registry = { published: ['run-5', 'run-4', 'run-3'] };

  it('deletes the published versions older than the newest K', () => {
    const versionPrefixes = ['run-1', 'run-2', 'run-3', 'run-4', 'run-5'].map(v);
    expect(versionsToDelete({ model: 'sales', versionPrefixes, registry })).toEqual([
      'sales/v=run-1/',
      'sales/v=run-2/',
    ]);
  });

  it("deletes the version of a run that never published (it is in no registry), even a newer one's", () => {
    const versionPrefixes = [v('run-3'), v('run-4'), v('failed-run'), v('run-5'), v('zz-failed-later')];
    expect(versionsToDelete({ model: 'sales', versionPrefixes, registry })).toEqual([
      'sales/v=failed-run/',
      'sales/v=zz-failed-later/',
    ]);
  });

  it('deletes nothing when only kept versions are there', () => {
    const versionPrefixes = [v('run-3'), v('run-4'), v('run-5')];
    expect(versionsToDelete({ model: 'sales', versionPrefixes, registry })).toEqual([]);
  });

  it('never deletes the _unpublished/ placeholder, other directories or keys that are not a version prefix', () => {
    const versionPrefixes = [
      'sales/_unpublished/',
      'sales/_published.json',
      'sales/data/',
      'sales/version=old/',
      'sales/v=old', // a key, not a directory
      'sales/v=/', // no version
      'sales/v=a%2Fb/', // not a safe segment
      'sales/v=old/nested/',
      'other/v=old/', // another model's version
      'salesX/v=old/',
      'v=old/',
    ];
    expect(versionsToDelete({ model: 'sales', versionPrefixes, registry })).toEqual([]);
  });

  it('returns each prefix once, sorted', () => {
    const versionPrefixes = [v('b'), v('a'), v('b')];
    expect(versionsToDelete({ model: 'sales', versionPrefixes, registry })).toEqual([
      'sales/v=a/',
      'sales/v=b/',
    ]);
  });

  it('refuses an empty registry, which would delete the version the table reads', () => {
    expect(() =>
      versionsToDelete({ model: 'sales', versionPrefixes: [v('run-1')], registry: { published: [] } }),
    ).toThrow('gold model sales: no published version recorded');
  });
});

describe('versionOfPrefix', () => {
  it('is the version of a `<model>/v=<version>/` prefix', () => {
    expect(versionOfPrefix('sales', 'sales/v=run-1/')).toBe('run-1');
    expect(versionOfPrefix('sales', 'sales/v=a=b/')).toBe('a=b');
  });
});
