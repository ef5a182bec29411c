/**
 * What each model of a run came to, and what the run does with it. Every model's branch ends with its
 * outcome (`ok`, or the model's name when it failed or was skipped: `gold-tasks.ts`) instead of failing:
 * a failing branch fails its Parallel wave, and Step Functions then stops the wave's other branches
 * wherever they are, so one broken model would keep every model of its wave, and of the waves after, from
 * publishing. Instead:
 *   - each wave's outcomes are kept in the state (`$.wave<n>Outcomes`, one per branch, in branch order);
 *   - a model that reads a gold model which did not publish in this run is skipped (its outcome: its
 *     name, so what reads it is skipped too): it would otherwise mix the failed model's previous version
 *     with fresh data;
 *   - after the last wave, the run fails (`GoldModelFailed`) if any outcome is not `ok`, and only a run
 *     whose every model published sends `GoldPublished`.
 */
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { GoldModel } from '../../core/gold/models';
import { MODEL_OK, modelOutcome } from './gold-tasks';

/** Where wave `index` (0-based) keeps its outcomes. */
export const waveOutcomesPath = (index: number): string => `$.wave${index + 1}Outcomes`;

/**
 * `branch`, preceded by a check of the gold models `model` reads when it reads any: if one of them did not
 * publish in this run, the model is skipped. `waveOf`: the wave index of each model.
 */
export function skipIfUpstreamFailed(
  scope: Construct,
  model: Pick<GoldModel, 'name' | 'dependsOn'>,
  waveOf: ReadonlyMap<string, number>,
  branch: sfn.IChainable,
): sfn.IChainable {
  const upstream = [...new Set(model.dependsOn)].sort();
  if (upstream.length === 0) return branch;
  const name = model.name;
  const check = sfn.Pass.jsonPath(scope, `${name}-Upstream`, {
    stateName: `${name}: upstream`,
    comment: 'Whether each gold model it reads failed or was skipped in this run.',
    parameters: Object.fromEntries(
      upstream.map((u) => [
        `${u}.$`,
        `States.ArrayContains(${waveOutcomesPath(waveIndex(waveOf, u))}, '${u}')`,
      ]),
    ),
    resultPath: '$.upstreamFailed',
  });
  const skipped = modelOutcome(scope, name, 'skipped', name);
  const choice = sfn.Choice.jsonPath(scope, `${name}-UpstreamOk`, {
    stateName: `${name}: upstream published?`,
  })
    .when(
      sfn.Condition.or(...upstream.map((u) => sfn.Condition.booleanEquals(`$.upstreamFailed.${u}`, true))),
      skipped,
    )
    .otherwise(branch);
  return sfn.Chain.start(check).next(choice);
}

/**
 * After the waves: `then` when every model published, else the run fails with `GoldModelFailed` (each
 * failed model already sent its alarm). A wave published whole when its outcomes, de-duplicated, are just
 * `ok`: one distinct value, and that value `ok` (no dependence on how a list is written as text).
 */
export function goldVerdict(
  scope: Construct,
  waves: readonly GoldModel[][],
  then: sfn.IChainable,
): sfn.Chain {
  const outcomes = sfn.Pass.jsonPath(scope, 'GoldOutcomes', {
    stateName: 'gold: outcomes',
    comment: `Each wave's distinct outcomes: "${MODEL_OK}" per model published, else the model's name (failed or skipped).`,
    parameters: Object.fromEntries(
      waves.flatMap((_, i) => {
        const distinct = `States.ArrayUnique(${waveOutcomesPath(i)})`;
        return [
          [`wave${i + 1}.$`, distinct],
          [`wave${i + 1}Distinct.$`, `States.ArrayLength(${distinct})`],
          [`wave${i + 1}First.$`, `States.ArrayGetItem(${distinct}, 0)`],
        ];
      }),
    ),
    resultPath: '$.outcomes',
  });
  const failed = sfn.Fail.jsonPath(scope, 'GoldModelsFailed', {
    stateName: 'gold: models failed',
    error: 'GoldModelFailed',
    cause:
      "one or more gold models failed (each sent its alarm) or were skipped because a model they read failed; the state 'gold: outcomes' names them; the others were published",
  });
  const allPublished = waves.flatMap((_, i) => [
    sfn.Condition.numberEquals(`$.outcomes.wave${i + 1}Distinct`, 1),
    sfn.Condition.stringEquals(`$.outcomes.wave${i + 1}First`, MODEL_OK),
  ]);
  const verdict = sfn.Choice.jsonPath(scope, 'GoldAllPublished', { stateName: 'gold: all published?' })
    .when(allOf(allPublished), then)
    .otherwise(failed);
  return sfn.Chain.start(outcomes).next(verdict);
}

const allOf = (conditions: sfn.Condition[]): sfn.Condition =>
  conditions.length === 1 ? conditions[0] : sfn.Condition.and(...conditions);

function waveIndex(waveOf: ReadonlyMap<string, number>, model: string): number {
  const index = waveOf.get(model);
  if (index === undefined) throw new Error(`gold model ${model} is in no wave`);
  return index;
}
