import { GoldModelError } from '../../../core/errors';
import { orderModels } from '../../../core/gold/graph';
import type { GoldModel } from '../../../core/gold/models';

const m = (name: string, ...dependsOn: string[]): GoldModel => ({ name, sql: 'SELECT 1', dependsOn });
const names = (waves: GoldModel[][]) => waves.map((w) => w.map((x) => x.name));
/** The shape of the CDK tests' fixture: c reads a and b, b reads a. */
const MODELS = [m('c', 'a', 'b'), m('a'), m('b', 'a')];

describe('orderModels', () => {
  test('the fixture runs in three waves: [a], [b], [c]', () => {
    expect(names(orderModels(MODELS))).toEqual([['a'], ['b'], ['c']]);
  });

  test('independent models share a wave, sorted by name, whatever the input order', () => {
    const models = [m('z'), m('y', 'x'), m('x'), m('w', 'x', 'z')];
    expect(names(orderModels(models))).toEqual([
      ['x', 'z'],
      ['w', 'y'],
    ]);
    expect(names(orderModels([...models].reverse()))).toEqual([
      ['x', 'z'],
      ['w', 'y'],
    ]);
  });

  test('a model runs in the first wave after all its dependencies (diamond)', () => {
    const waves = orderModels([m('top', 'left', 'right'), m('left', 'base'), m('right', 'base'), m('base')]);
    expect(names(waves)).toEqual([['base'], ['left', 'right'], ['top']]);
  });

  test('no model, no wave', () => {
    expect(orderModels([])).toEqual([]);
  });

  test('an unknown dependency is named, with the known models', () => {
    expect(() => orderModels([m('a'), m('b', 'a', 'nope')])).toThrow(
      "gold model 'b' depends on 'nope', which is not a gold model (known: a, b)",
    );
    expect(() => orderModels([m('b', 'nope')])).toThrow(GoldModelError);
  });

  test('a cycle is reported with its path', () => {
    expect(() => orderModels([m('a', 'c'), m('b', 'a'), m('c', 'b'), m('d')])).toThrow(
      'gold models form a dependency cycle: a -> c -> b -> a',
    );
    expect(() => orderModels([m('a', 'a')])).toThrow('dependency cycle: a -> a');
    // A model that only depends on a cycle is not part of the reported path.
    expect(() => orderModels([m('a', 'b'), m('b', 'c'), m('c', 'b')])).toThrow(
      'dependency cycle: b -> c -> b',
    );
  });

  test('invalid names, duplicates and empty SQL are all listed at once', () => {
    let message = '';
    try {
      orderModels([m('Bad-Name'), m('a'), m('a'), { name: 'e', sql: ' ;\n', dependsOn: [] }]);
    } catch (e) {
      expect(e).toBeInstanceOf(GoldModelError);
      message = (e as Error).message;
    }
    expect(message).toContain("gold model 'Bad-Name': the name must be lower-case letters");
    expect(message).toContain("gold model 'a' is defined twice");
    expect(message).toContain("gold model 'e' has no SQL");
  });
});
