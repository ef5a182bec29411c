/**
 * The gold planner Lambda, invoked by the gold workflow for each incremental model (never concurrently for
 * one model: runs never overlap):
 *
 *   { action: 'plan', model, location, input }            -> IncrementalPlan (mode, UNLOAD statements)
 *   { action: 'publish', model, location, plan, batch }   -> PublishStep (Glue partition calls of a batch;
 *                                                            batch 0 first marks the run pending in the state)
 *   { action: 'stage', model, location, plan, batch }     -> PublishStep (the same calls, for the tests'
 *                                                            staging table: no pending mark)
 *   { action: 'commit', model, location, plan }           -> { model, partitions } once all are published
 *                                                            (the state stored without the pending mark)
 *
 * `model` is the model's static description (from its file, in the state machine's definition),
 * `location` the run's version `s3://<gold>/<model>/v=<execution>/`, `input` the execution's input (a full
 * rebuild when it says `"fullRefresh": true`). Configuration, the S3 client and the contracts are set up
 * at module load.
 */
import { ENV, readEnv } from '../../core/config/env';
import { ContractRegistry } from '../../core/contracts/load-contracts';
import { ConfigError } from '../../core/errors';
import type { IncrementalModelSpec, IncrementalPlan, PlanDialect } from '../../core/gold/incremental-plan';
import { createS3Client } from '../aws/s3';
import { IncrementalPlanner, type PlanSummary, type PublishStep } from './incremental-planner';

export type GoldPlannerEvent =
  | {
      readonly action: 'plan';
      readonly model: IncrementalModelSpec;
      readonly location: string;
      readonly input?: unknown;
    }
  | {
      readonly action: 'publish' | 'stage';
      readonly model: IncrementalModelSpec;
      readonly location: string;
      readonly plan: PlanSummary;
      readonly batch?: number;
    }
  | {
      readonly action: 'commit';
      readonly model: IncrementalModelSpec;
      readonly location: string;
      readonly plan: PlanSummary;
    };

const settings = readEnv({
  silverBucket: { name: ENV.SILVER_BUCKET },
  goldBucket: { name: ENV.GOLD_BUCKET },
  contractsDir: { name: ENV.CONTRACTS_DIR },
  engine: { name: ENV.GOLD_ENGINE, default: 'athena' },
});
const planner = new IncrementalPlanner({
  s3: createS3Client(),
  silverBucket: settings.silverBucket,
  goldBucket: settings.goldBucket,
  contracts: ContractRegistry.fromDirectory(settings.contractsDir),
  dialect: planDialect(settings.engine),
});

/** The engine the plans are written for, checked at start-up (Redshift's UNLOADs need the lake key). */
function planDialect(engine: string): PlanDialect {
  if (engine === 'athena') return { engine };
  if (engine === 'redshift') {
    return { engine, kmsKeyId: readEnv({ key: { name: ENV.GOLD_UNLOAD_KEY_ID } }).key };
  }
  throw new ConfigError(`gold planner: ${ENV.GOLD_ENGINE} must be athena or redshift (got '${engine}')`);
}

export async function handler(
  event: GoldPlannerEvent,
): Promise<IncrementalPlan | PublishStep | { model: string; partitions: number }> {
  if (typeof event?.model?.name !== 'string' || typeof event.location !== 'string') {
    throw new ConfigError('gold planner: the event needs model and location');
  }
  switch (event.action) {
    case 'plan':
      return planner.plan(event.model, event.location, fullRefreshAsked(event.input));
    case 'publish':
      return planner.publish(event.model, event.location, event.plan, event.batch ?? 0);
    case 'stage':
      return planner.stage(event.model, event.location, event.plan, event.batch ?? 0);
    case 'commit': {
      const state = await planner.commit(event.model, event.location, event.plan);
      return { model: event.model.name, partitions: Object.keys(state.partitions).length };
    }
    default:
      throw new ConfigError(`gold planner: unknown action '${(event as { action: unknown }).action}'`);
  }
}

/** The execution input asks for a full rebuild: `{ "fullRefresh": true }`. */
function fullRefreshAsked(input: unknown): boolean {
  return (input as { fullRefresh?: unknown } | null | undefined)?.fullRefresh === true;
}
