/**
 * A minimal data contract for tests: key `id`, partitioned by the required date `day`, with `columns`
 * between the two and any other contract fields in `over`. Dataset `shop/items` unless named otherwise.
 */
import {
  type DatasetContract,
  type DatasetContractInput,
  parseContract,
} from '../../core/contracts/dataset-contract';

export type ColumnInput = DatasetContractInput['columns'][number];

export function itemsContract(
  columns: ColumnInput[] = [],
  over: Partial<DatasetContractInput> = {},
  name: { domain: string; dataset: string } = { domain: 'shop', dataset: 'items' },
): DatasetContract {
  return parseContract(
    {
      ...name,
      source: { format: 'csv' },
      columns: [
        { name: 'id', type: 'string', required: true },
        ...columns,
        { name: 'day', type: 'date', required: true },
      ],
      primaryKey: ['id'],
      partition: { column: 'day', granularity: 'day' },
      ...over,
    },
    `${name.dataset}.yaml`,
  );
}
