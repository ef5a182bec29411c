/**
 * The partitions of a Hive table in the local Glue catalog (`glue-catalog.ts` keeps them with the table and
 * persists them): the requests and answers of `BatchCreatePartition`, `BatchUpdatePartition`,
 * `BatchDeletePartition` and `GetPartitions`, with Glue's limits (100 partitions created or updated, 25
 * deleted per request) and its per-partition errors (`Errors`, always present, empty when every
 * partition was changed).
 *
 * `GetPartitions`' `Expression` is a subset of Glue's: see `glue-partition-expression.ts`.
 */
import type { GlueColumn, GlueStorageDescriptor } from './glue-catalog';
import { partitionFilter, valueComparator } from './glue-partition-expression';
import { GlueError } from './service-errors';

/** The directory name of a NULL (or empty) partition value, Hive's. */
export const HIVE_DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';

/** Glue's limits on one batch request. */
export const MAX_PARTITIONS_CREATED = 100;
export const MAX_PARTITIONS_UPDATED = 100;
export const MAX_PARTITIONS_DELETED = 25;
/** GetPartitions' largest (and default) page. */
const MAX_PAGE = 1000;

/** A PartitionInput of BatchCreatePartition and BatchUpdatePartition. */
export interface GluePartitionInput {
  Values: string[];
  StorageDescriptor?: GlueStorageDescriptor;
  Parameters?: Record<string, string>;
  LastAccessTime?: string;
  LastAnalyzedTime?: string;
}

/** A partition as GetPartitions returns it. */
export interface GluePartition extends GluePartitionInput {
  DatabaseName: string;
  TableName: string;
  CatalogId: string;
  CreationTime: string;
}

/** A failed partition of a batch request. */
export interface PartitionErrorDetail {
  ErrorCode: 'AlreadyExistsException' | 'EntityNotFoundException';
  ErrorMessage: string;
}

/** The partitions of one table, by {@link partitionId} of their values. */
export type StoredPartitions = Record<string, GluePartition>;

/** The table a partition request is about: its name and partition keys. */
export interface PartitionedTable {
  readonly DatabaseName: string;
  readonly Name: string;
  readonly CatalogId: string;
  readonly PartitionKeys?: readonly GlueColumn[];
}

const PARTITION_INPUT_FIELDS = new Set([
  'Values',
  'StorageDescriptor',
  'Parameters',
  'LastAccessTime',
  'LastAnalyzedTime',
]);

/** The key a partition is stored by. */
export function partitionId(values: readonly string[]): string {
  return JSON.stringify(values);
}

/** BatchCreatePartition: creates the partitions that do not exist; the others are `Errors`. */
export function createPartitions(
  table: PartitionedTable,
  partitions: StoredPartitions,
  inputs: readonly GluePartitionInput[] | undefined,
): { Errors: { PartitionValues: string[]; ErrorDetail: PartitionErrorDetail }[] } {
  const list = checkedList(inputs, 'partitionInputList', MAX_PARTITIONS_CREATED);
  for (const input of list) checkInput(table, input);
  const Errors: { PartitionValues: string[]; ErrorDetail: PartitionErrorDetail }[] = [];
  const now = new Date().toISOString();
  for (const input of list) {
    const id = partitionId(input.Values);
    if (partitions[id]) {
      Errors.push({ PartitionValues: [...input.Values], ErrorDetail: alreadyExists() });
      continue;
    }
    partitions[id] = stored(table, input, now);
  }
  return { Errors };
}

/** BatchUpdatePartition: replaces the partitions that exist (their values may change); the others are `Errors`. */
export function updatePartitions(
  table: PartitionedTable,
  partitions: StoredPartitions,
  entries: readonly { PartitionValueList: string[]; PartitionInput: GluePartitionInput }[] | undefined,
): { Errors: { PartitionValueList: string[]; ErrorDetail: PartitionErrorDetail }[] } {
  const list = checkedList(entries, 'entries', MAX_PARTITIONS_UPDATED, 1);
  for (const entry of list) {
    checkValues(table, entry?.PartitionValueList);
    checkInput(table, entry.PartitionInput);
  }
  const Errors: { PartitionValueList: string[]; ErrorDetail: PartitionErrorDetail }[] = [];
  for (const { PartitionValueList, PartitionInput } of list) {
    const id = partitionId(PartitionValueList);
    const existing = partitions[id];
    const next = partitionId(PartitionInput.Values);
    if (!existing) {
      Errors.push({ PartitionValueList: [...PartitionValueList], ErrorDetail: notFound() });
    } else if (next !== id && partitions[next]) {
      Errors.push({ PartitionValueList: [...PartitionValueList], ErrorDetail: alreadyExists() });
    } else {
      delete partitions[id];
      partitions[next] = stored(table, PartitionInput, existing.CreationTime);
    }
  }
  return { Errors };
}

/** BatchDeletePartition: deletes the partitions that exist; the others are `Errors`. */
export function deletePartitions(
  table: PartitionedTable,
  partitions: StoredPartitions,
  toDelete: readonly { Values: string[] }[] | undefined,
): { Errors: { PartitionValues: string[]; ErrorDetail: PartitionErrorDetail }[] } {
  const list = checkedList(toDelete, 'partitionsToDelete', MAX_PARTITIONS_DELETED);
  for (const p of list) checkValues(table, p?.Values);
  const Errors: { PartitionValues: string[]; ErrorDetail: PartitionErrorDetail }[] = [];
  for (const { Values } of list) {
    const id = partitionId(Values);
    if (partitions[id]) delete partitions[id];
    else Errors.push({ PartitionValues: [...Values], ErrorDetail: notFound() });
  }
  return { Errors };
}

/**
 * GetPartitions: the partitions matching `Expression` (see the module comment), sorted by their values,
 * in pages of `MaxResults` (1 to 1000, default 1000); `NextToken` is absent on the last page.
 */
export function listPartitions(
  table: PartitionedTable,
  partitions: StoredPartitions,
  request: { Expression?: string; NextToken?: string; MaxResults?: number },
): { Partitions: GluePartition[]; NextToken?: string } {
  const max = request.MaxResults ?? MAX_PAGE;
  if (!Number.isInteger(max) || max < 1 || max > MAX_PAGE) {
    throw new GlueError('InvalidInputException', `MaxResults must be between 1 and ${MAX_PAGE}: ${max}`);
  }
  const keys = table.PartitionKeys ?? [];
  const matches =
    request.Expression === undefined || request.Expression.trim() === ''
      ? () => true
      : partitionFilter(request.Expression, keys);
  const all = sortedPartitions(table, partitions).filter((p) => matches(p.Values));
  let from = 0;
  if (request.NextToken !== undefined) {
    let after: string[];
    try {
      after = JSON.parse(Buffer.from(request.NextToken, 'base64url').toString('utf8')) as string[];
    } catch {
      throw new GlueError('InvalidInputException', 'Invalid NextToken.');
    }
    const compare = valuesComparator(keys);
    from = all.findIndex((p) => compare(p.Values, after) > 0);
    if (from < 0) from = all.length;
  }
  const page = all.slice(from, from + max);
  const more = from + max < all.length;
  return {
    Partitions: page,
    ...(more
      ? {
          NextToken: Buffer.from(JSON.stringify(page[page.length - 1].Values), 'utf8').toString('base64url'),
        }
      : {}),
  };
}

/** Every partition of a table, sorted by its values (integer keys as numbers). */
export function sortedPartitions(table: PartitionedTable, partitions: StoredPartitions): GluePartition[] {
  const compare = valuesComparator(table.PartitionKeys ?? []);
  return Object.values(partitions).sort((a, b) => compare(a.Values, b.Values));
}

/** Whether two lists of partition keys partition alike (names and types; comments aside). */
export function samePartitionKeys(
  a: readonly GlueColumn[] | undefined,
  b: readonly GlueColumn[] | undefined,
): boolean {
  const shape = (keys: readonly GlueColumn[] | undefined) =>
    JSON.stringify((keys ?? []).map((k) => [k.Name, (k.Type ?? '').toLowerCase()]));
  return shape(a) === shape(b);
}

function stored(table: PartitionedTable, input: GluePartitionInput, creationTime: string): GluePartition {
  const partition: GluePartition = {
    Values: [...input.Values],
    DatabaseName: table.DatabaseName,
    TableName: table.Name,
    CatalogId: table.CatalogId,
    CreationTime: creationTime,
  };
  if (input.StorageDescriptor)
    partition.StorageDescriptor = JSON.parse(JSON.stringify(input.StorageDescriptor));
  if (input.Parameters) partition.Parameters = { ...input.Parameters };
  if (input.LastAccessTime) partition.LastAccessTime = input.LastAccessTime;
  if (input.LastAnalyzedTime) partition.LastAnalyzedTime = input.LastAnalyzedTime;
  return partition;
}

/** The list of a batch request, within Glue's bounds (the SDK's validation error otherwise). */
function checkedList<T>(list: readonly T[] | undefined, member: string, max: number, min = 0): readonly T[] {
  if (!Array.isArray(list)) throw new GlueError('InvalidInputException', `${member} is required.`);
  if (list.length > max || list.length < min) {
    throw new GlueError(
      'InvalidInputException',
      `1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must have length ` +
        `${list.length > max ? `less than or equal to ${max}` : `greater than or equal to ${min}`} (got ${list.length})`,
    );
  }
  return list;
}

function checkInput(table: PartitionedTable, input: GluePartitionInput | undefined): void {
  if (!input || typeof input !== 'object') {
    throw new GlueError('InvalidInputException', 'PartitionInput is required.');
  }
  const unknown = Object.keys(input).filter((k) => !PARTITION_INPUT_FIELDS.has(k));
  if (unknown.length > 0) {
    throw new GlueError('InvalidInputException', `PartitionInput has unknown fields: ${unknown.join(', ')}`);
  }
  checkValues(table, input.Values);
}

/** Values must be strings, one per partition key of the table. */
function checkValues(table: PartitionedTable, values: readonly unknown[] | undefined): void {
  const keys = table.PartitionKeys ?? [];
  if (keys.length === 0) {
    throw new GlueError('InvalidInputException', `Table ${table.Name} is not partitioned.`);
  }
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
    throw new GlueError('InvalidInputException', 'Partition values must be a list of strings.');
  }
  if (values.length !== keys.length) {
    throw new GlueError(
      'InvalidInputException',
      `The number of partition values (${values.length}) does not match the number of partition keys of table ${table.Name} (${keys.length}).`,
    );
  }
}

const alreadyExists = (): PartitionErrorDetail => ({
  ErrorCode: 'AlreadyExistsException',
  ErrorMessage: 'Partition already exists.',
});
const notFound = (): PartitionErrorDetail => ({
  ErrorCode: 'EntityNotFoundException',
  ErrorMessage: 'Partition not found.',
});

function valuesComparator(
  keys: readonly GlueColumn[],
): (a: readonly string[], b: readonly string[]) => number {
  const compare = keys.map(valueComparator);
  return (a, b) => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const c = (compare[i] ?? valueComparator(undefined))(a[i] ?? '', b[i] ?? '');
      if (c !== 0) return c;
    }
    return 0;
  };
}

/** Characters Hive escapes in a partition directory name (`FileUtils.escapePathName`), besides controls. */
const HIVE_ESCAPED = new Set(['"', '#', '%', "'", '*', '/', ':', '=', '?', '\\', '{', '[', ']', '^']);

/** A partition column or value as a directory name part: Hive's escapes, as `%XX`. */
function hiveEscape(text: string): string {
  return [...text]
    .map((ch) => {
      const code = ch.charCodeAt(0);
      const escaped = (code >= 0x01 && code <= 0x1f) || code === 0x7f || HIVE_ESCAPED.has(ch);
      return escaped ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : ch;
    })
    .join('');
}

/**
 * The directories of a partition, `<column>=<value>/...`, as Hive and Athena name them: values escaped
 * like Hive's `escapePathName`, a NULL or empty value as {@link HIVE_DEFAULT_PARTITION}.
 */
export function hivePartitionPath(columns: readonly string[], values: readonly (string | null)[]): string {
  return columns
    .map((column, i) => {
      const value = values[i];
      return `${hiveEscape(column)}=${value === null || value === '' ? HIVE_DEFAULT_PARTITION : hiveEscape(value)}/`;
    })
    .join('');
}

/** A partition value read from a directory name (`%XX` unescaped; {@link HIVE_DEFAULT_PARTITION}: null). */
export function hivePathValue(text: string): string | null {
  if (text === HIVE_DEFAULT_PARTITION) return null;
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}
