/** The gold models as a dependency graph: names checked, cycles found, waves that may run in parallel. */
import { GoldModelError } from '../errors';
import type { GoldModel } from './models';

/** Same rule as the data catalog's table names; 63 also keeps `<name>: <step>` within Step Functions' 80. */
export const GOLD_MODEL_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * Orders gold models into waves: wave 1 holds the models that depend on no other model, and every later
 * wave the models whose dependencies are all in earlier waves (each model in the earliest such wave).
 * Models of one wave do not read each other and can run in parallel. Waves are sorted by name, so the
 * result does not depend on the input order.
 *
 * Throws a {@link GoldModelError} listing every problem: an invalid or duplicate name, an empty SQL text,
 * a dependency on an unknown model, or a dependency cycle (with its path, e.g. `a -> b -> a`).
 */
export function orderModels(models: readonly GoldModel[]): GoldModel[][] {
  const problems: string[] = [];
  const byName = new Map<string, GoldModel>();
  for (const m of models) {
    if (!GOLD_MODEL_NAME.test(m.name)) {
      problems.push(
        `gold model '${m.name}': the name must be lower-case letters, digits and '_', starting with a letter (max 63)`,
      );
    }
    if (byName.has(m.name)) problems.push(`gold model '${m.name}' is defined twice`);
    byName.set(m.name, m);
    if (m.sql.trim().replace(/;+$/, '').trim() === '') problems.push(`gold model '${m.name}' has no SQL`);
  }
  const known = [...byName.keys()].sort().join(', ');
  for (const m of byName.values()) {
    for (const dep of new Set(m.dependsOn)) {
      if (!byName.has(dep)) {
        problems.push(
          `gold model '${m.name}' depends on '${dep}', which is not a gold model (known: ${known})`,
        );
      }
    }
  }
  if (problems.length > 0) throw new GoldModelError(`invalid gold models:\n  - ${problems.join('\n  - ')}`);

  // Kahn's algorithm by layers: a model is placed once all its dependencies are.
  const waves: GoldModel[][] = [];
  const placed = new Set<string>();
  let remaining = [...byName.values()];
  while (remaining.length > 0) {
    const wave = remaining.filter((m) => m.dependsOn.every((d) => placed.has(d)));
    if (wave.length === 0) {
      throw new GoldModelError(`gold models form a dependency cycle: ${findCycle(remaining).join(' -> ')}`);
    }
    wave.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const m of wave) placed.add(m.name);
    remaining = remaining.filter((m) => !placed.has(m.name));
    waves.push(wave);
  }
  return waves;
}

/**
 * A cycle among models none of which could be placed: each of them depends on at least one other of
 * them (or on itself), so following those dependencies must come back to a model already visited.
 */
function findCycle(stuck: GoldModel[]): string[] {
  const byName = new Map(stuck.map((m) => [m.name, m]));
  const start = [...byName.keys()].sort()[0];
  const path: string[] = [];
  let current = start;
  while (!path.includes(current)) {
    path.push(current);
    const next = [...(byName.get(current)?.dependsOn ?? [])].sort().find((d) => byName.has(d));
    if (next === undefined) break; // unreachable: a stuck model has a stuck dependency
    current = next;
  }
  return [...path.slice(path.indexOf(current)), current];
}

// ---- model files --------------------------------------------------------------------------------------

/** Options of {@link loadGoldModels}. */
