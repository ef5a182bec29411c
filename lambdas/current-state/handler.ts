/**
 * The current-state Lambda, invoked by the gold workflow (never concurrently for one dataset):
 *
 *   { action: 'plan', dataset, tables }    -> MergePlan (DDL and MERGE statements, the next watermark)
 *   { action: 'commit', dataset, next }    -> { dataset, watermark } once every statement succeeded
 *
 * Configuration, the S3 client and the contracts are set up at module load.
 */
import { ENV, readEnv } from '../../core/config/env';
import { ContractRegistry } from '../../core/contracts/load-contracts';
import { ConfigError } from '../../core/errors';
import type { CatalogTable } from '../../core/silver/current-state-ddl';
import type { MergePlan, Watermark } from '../../core/silver/current-state-plan';
import { createS3Client } from '../aws/s3';
import { MergePlanner } from './merge-planner';

export type CurrentStateEvent =
  | { readonly action: 'plan'; readonly dataset: string; readonly tables?: readonly CatalogTable[] }
  | { readonly action: 'commit'; readonly dataset: string; readonly next: Watermark };

const settings = readEnv({
  silverBucket: { name: ENV.SILVER_BUCKET },
  contractsDir: { name: ENV.CONTRACTS_DIR },
});
const contracts = ContractRegistry.fromDirectory(settings.contractsDir);
const planner = new MergePlanner({ s3: createS3Client(), silverBucket: settings.silverBucket });

export async function handler(
  event: CurrentStateEvent,
): Promise<MergePlan | { dataset: string; watermark: Watermark }> {
  const contract = contracts.byName(event.dataset);
  if (!contract) throw new ConfigError(`current state: no data contract for dataset '${event.dataset}'`);
  switch (event.action) {
    case 'plan':
      // The dataset's tables as GetTables listed them (none yet: they are created).
      return planner.plan(contract, event.tables ?? []);
    case 'commit':
      await planner.commit(contract, event.next);
      return { dataset: contract.dataset, watermark: event.next };
    default:
      throw new ConfigError(`current state: unknown action '${(event as { action: unknown }).action}'`);
  }
}
