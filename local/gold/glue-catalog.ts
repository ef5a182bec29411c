/**
 * A local Glue Data Catalog: databases and tables persisted as JSON in the state directory, seeded from
 * the synthesized template's `AWS::Glue::Database` / `AWS::Glue::Table` resources, with `getTable`,
 * `getTables` and `updateTable` taking and returning what the Step Functions SDK integrations
 * (`aws-sdk:glue:getTable`, `aws-sdk:glue:getTables`, `aws-sdk:glue:updateTable`) do; `createTable` and
 * `deleteTable` keep the gold workflow's staging tables (the candidates of tested models). Errors carry the
 * names a state machine matches in Retry/Catch (`Glue.EntityNotFoundException`, `Glue.InvalidInputException`).
 * Athena DDL (`athena-ddl.ts`) creates Iceberg tables and adds columns through
 * {@link LocalGlueCatalog.createIcebergTable} and {@link LocalGlueCatalog.addColumns}.
 *
 * Seeding follows CloudFormation: a table the catalog does not hold is created; a table whose template
 * definition changed is replaced (its published location reset to the template's placeholder, as a stack
 * update would); an unchanged one keeps its location (what the gold workflow published). A table the
 * template does not declare (one Athena DDL created: {@link LocalGlueCatalog.createIcebergTable}) is left
 * alone.
 *
 * A table declared with `OpenTableFormatInput.IcebergInput` is an Iceberg table, as Glue records one:
 * `Parameters.table_type = 'ICEBERG'`, and `Parameters.metadata_location` naming its current metadata
 * file once a first commit set it (until then it has no snapshot: it reads as empty). Its partition
 * columns (the source columns of the PartitionSpec's identity fields; no other transform is emulated)
 * are kept beside the Glue record ({@link LocalGlueCatalog.icebergPartitionColumns}). A commit swaps the
 * metadata location only if it is still the one the writer started from
 * ({@link LocalGlueCatalog.commitIcebergMetadata}), as Glue's conditional update does for Athena. A
 * re-seed that replaces an Iceberg table (its template changed) leaves it with no snapshot again.
 *
 * A Hive table with PartitionKeys and no partition projection (an incremental gold table) has partitions
 * registered one by one, each with its own location: `batchCreatePartition`, `batchUpdatePartition`,
 * `batchDeletePartition` and `getPartitions` take and return what the SDK integrations do (see
 * `glue-partitions.ts` for Glue's limits and the `Expression` subset emulated). They are persisted with
 * the table; a re-seed that replaces the table keeps them unless its PartitionKeys (names and types)
 * changed, and UpdateTable keeps them, as Glue does.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  createPartitions,
  deletePartitions,
  type GluePartition,
  type GluePartitionInput,
  listPartitions,
  type PartitionErrorDetail,
  type StoredPartitions,
  samePartitionKeys,
  sortedPartitions,
  updatePartitions,
} from './glue-partitions';
import { GlueError } from './service-errors';

export type { GluePartition, GluePartitionInput } from './glue-partitions';

import type { TemplateResolver } from './state-machine-definition';

export interface GlueColumn {
  Name: string;
  Type?: string;
  Comment?: string;
}

export interface GlueStorageDescriptor {
  Location?: string;
  Columns?: GlueColumn[];
  InputFormat?: string;
  OutputFormat?: string;
  SerdeInfo?: Record<string, unknown>;
  [other: string]: unknown;
}

/** The fields a table and an UpdateTable input share. */
interface TableFields {
  Name: string;
  Description?: string;
  Owner?: string;
  Retention?: number;
  StorageDescriptor?: GlueStorageDescriptor;
  PartitionKeys?: GlueColumn[];
  TableType?: string;
  Parameters?: Record<string, string>;
}

/** A table as GetTable returns it (fields Glue leaves out when unset are absent). */
export interface GlueTable extends TableFields {
  DatabaseName: string;
  CatalogId: string;
  CreateTime: string;
  UpdateTime: string;
  VersionId: string;
  IsRegisteredWithLakeFormation: boolean;
}

/** The fields UpdateTable accepts in its TableInput (anything else is refused, as by Glue). */
const TABLE_INPUT_FIELDS = new Set([
  'Name',
  'Description',
  'Owner',
  'LastAccessTime',
  'LastAnalyzedTime',
  'Retention',
  'StorageDescriptor',
  'PartitionKeys',
  'ViewOriginalText',
  'ViewExpandedText',
  'TableType',
  'Parameters',
  'TargetTable',
  'ViewDefinition',
]);

/** One published location of a table (every UpdateTable and Iceberg commit, in order). */
export interface TableVersion {
  readonly versionId: string;
  readonly location: string | undefined;
  /** An Iceberg commit's metadata location (`Parameters.metadata_location` from this version on). */
  readonly metadataLocation?: string;
  readonly at: string;
}

/** `OpenTableFormatInput` of CloudFormation's `AWS::Glue::Table`, once resolved (the part read here). */
export interface OpenTableFormatInput {
  IcebergInput?: {
    MetadataOperation?: string;
    Version?: string;
    IcebergTableInput?: {
      Location?: string;
      Schema?: { Type?: string; Fields?: { Id: number; Name: string; Type?: unknown; Required?: boolean }[] };
      PartitionSpec?: {
        SpecId?: number;
        Fields?: { Name: string; SourceId: number; Transform: string; FieldId?: number }[];
      };
      Properties?: Record<string, string>;
    };
  };
  [other: string]: unknown;
}

interface StoredTable {
  table: GlueTable;
  /** Hash of the template's definition (TableInput, plus OpenTableFormatInput when given) it was created from. */
  templateHash?: string;
  versions: TableVersion[];
  /** Set for an Iceberg table: its identity partition columns, in PartitionSpec order (none: unpartitioned). */
  iceberg?: { partitionColumns: string[] };
  /** The registered partitions of a Hive table, by `partitionId` of their values (none: absent). */
  partitions?: StoredPartitions;
}

interface CatalogFile {
  catalogId: string;
  databases: Record<string, { tables: Record<string, StoredTable> }>;
}

export class LocalGlueCatalog {
  private data: CatalogFile;

  /** Opens (or creates) the catalog persisted at `file`. */
  constructor(
    readonly file: string,
    catalogId = '000000000000',
  ) {
    this.data = existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as CatalogFile)
      : { catalogId, databases: {} };
  }

  /** Creates or refreshes the databases and tables the template declares (see the module comment). */
  seedFromTemplate(resolver: TemplateResolver): void {
    for (const r of Object.values(resolver.template.Resources)) {
      if (r.Type === 'AWS::Glue::Database') {
        const input = resolver.resolve(r.Properties?.DatabaseInput) as { Name: string };
        this.data.databases[input.Name] ??= { tables: {} };
      }
    }
    for (const r of Object.values(resolver.template.Resources)) {
      if (r.Type !== 'AWS::Glue::Table') continue;
      const props = resolver.resolve(r.Properties) as {
        DatabaseName: string;
        TableInput: TableInput;
        OpenTableFormatInput?: OpenTableFormatInput;
      };
      this.data.databases[props.DatabaseName] ??= { tables: {} };
      const db = this.data.databases[props.DatabaseName];
      // Without OpenTableFormatInput the hash is the TableInput's alone, as before it was read: a catalog
      // seeded earlier keeps its (Hive) tables.
      const definition =
        props.OpenTableFormatInput === undefined
          ? props.TableInput
          : { TableInput: props.TableInput, OpenTableFormatInput: props.OpenTableFormatInput };
      const hash = createHash('sha256').update(stableJson(definition)).digest('hex');
      const existing = db.tables[props.TableInput.Name];
      if (existing && existing.templateHash === hash) continue;
      const now = new Date().toISOString();
      const iceberg = props.OpenTableFormatInput?.IcebergInput;
      const input = iceberg
        ? icebergTableInput(props.DatabaseName, props.TableInput, iceberg)
        : props.TableInput;
      // The partitions stay registered while the table partitions alike (CloudFormation updates it in place).
      const partitions =
        !iceberg &&
        existing?.partitions &&
        !existing.iceberg &&
        samePartitionKeys(existing.table.PartitionKeys, input.PartitionKeys)
          ? existing.partitions
          : undefined;
      db.tables[input.Name] = {
        table: this.fromInput(props.DatabaseName, input, { CreateTime: now, version: 1 }),
        templateHash: hash,
        versions: [{ versionId: '1', location: input.StorageDescriptor?.Location, at: now }],
        ...(iceberg
          ? { iceberg: { partitionColumns: identityPartitionColumns(props.DatabaseName, input, iceberg) } }
          : {}),
        ...(partitions ? { partitions } : {}),
      };
    }
    this.save();
  }

  /** `glue:GetTable`: `{ DatabaseName, Name }` -> `{ Table }`. */
  getTable(request: { DatabaseName: string; Name: string; CatalogId?: string }): { Table: GlueTable } {
    const stored = this.stored(request.DatabaseName, request.Name);
    return { Table: cloneJson(stored.table) };
  }

  /**
   * `glue:GetTables`: `{ DatabaseName, Expression? }` -> `{ TableList }`, sorted by name; with `Expression`
   * (a regular expression), only the tables whose whole name matches it. One page: no `NextToken`.
   */
  getTables(request: { DatabaseName: string; Expression?: string; CatalogId?: string }): {
    TableList: GlueTable[];
  } {
    const db = this.data.databases[request.DatabaseName];
    if (!db) throw new GlueError('EntityNotFoundException', `Database ${request.DatabaseName} not found.`);
    let matches: RegExp | undefined;
    try {
      matches = request.Expression === undefined ? undefined : new RegExp(`^(?:${request.Expression})$`);
    } catch {
      throw new GlueError(
        'InvalidInputException',
        `Expression is not a regular expression: ${request.Expression}`,
      );
    }
    const names = this.tableNames(request.DatabaseName).filter((name) => !matches || matches.test(name));
    return { TableList: names.map((name) => cloneJson(db.tables[name].table)) };
  }

  /**
   * Creates an Iceberg table as Athena's `CREATE TABLE ... 'table_type' = 'ICEBERG'` records it in Glue:
   * `Parameters.table_type = 'ICEBERG'` (Athena keeps the other table properties in Iceberg's metadata),
   * the columns and location as given, no PartitionKeys (the partition columns are remembered for
   * {@link icebergPartitionColumns}), no metadata location until the first commit. Throws
   * `Glue.AlreadyExistsException` when the table exists.
   */
  createIcebergTable(
    database: string,
    table: { Name: string; Columns: GlueColumn[]; Location: string; PartitionColumns: string[] },
  ): void {
    const db = this.data.databases[database];
    if (!db) throw new GlueError('EntityNotFoundException', `Database ${database} not found.`);
    if (db.tables[table.Name]) throw new GlueError('AlreadyExistsException', 'Table already exists.');
    const now = new Date().toISOString();
    const input: TableInput = {
      Name: table.Name,
      TableType: 'EXTERNAL_TABLE',
      Parameters: { table_type: 'ICEBERG' },
      StorageDescriptor: { Columns: cloneJson(table.Columns), Location: table.Location },
    };
    db.tables[table.Name] = {
      table: this.fromInput(database, input, { CreateTime: now, version: 1 }),
      versions: [{ versionId: '1', location: table.Location, at: now }],
      iceberg: { partitionColumns: [...table.PartitionColumns] },
    };
    this.save();
  }

  /**
   * Appends columns to a table (Athena's `ALTER TABLE ... ADD COLUMNS`): a new table version, everything
   * else kept (an Iceberg table's snapshot too). Throws `Glue.InvalidInputException` when a name is taken.
   */
  addColumns(database: string, name: string, columns: GlueColumn[]): void {
    const stored = this.stored(database, name);
    const existing = stored.table.StorageDescriptor?.Columns ?? [];
    const taken = [...existing, ...(stored.table.PartitionKeys ?? [])].map((c) => c.Name);
    const clash = columns.find((c) => taken.includes(c.Name));
    if (clash) throw new GlueError('InvalidInputException', `Column ${clash.Name} already exists.`);
    const version = String(Number(stored.table.VersionId) + 1);
    const at = new Date().toISOString();
    stored.table = {
      ...stored.table,
      StorageDescriptor: { ...stored.table.StorageDescriptor, Columns: [...existing, ...cloneJson(columns)] },
      VersionId: version,
      UpdateTime: at,
    };
    stored.versions.push({ versionId: version, location: stored.table.StorageDescriptor?.Location, at });
    this.save();
  }

  /** `glue:UpdateTable`: `{ DatabaseName, TableInput }` -> `{}`. The table must exist. */
  updateTable(request: {
    DatabaseName: string;
    TableInput: TableInput;
    CatalogId?: string;
  }): Record<string, never> {
    const input = checkedTableInput(request.TableInput, 'UpdateTable');
    const stored = this.stored(request.DatabaseName, input.Name);
    const version = Number(stored.table.VersionId) + 1;
    stored.table = this.fromInput(request.DatabaseName, input, {
      CreateTime: stored.table.CreateTime,
      version,
    });
    stored.versions.push({
      versionId: String(version),
      location: input.StorageDescriptor?.Location,
      at: stored.table.UpdateTime,
    });
    this.save();
    return {};
  }

  /**
   * `glue:CreateTable`: `{ DatabaseName, TableInput }` -> `{}` (the gold workflow's staging tables). The
   * database must exist; throws `Glue.AlreadyExistsException` when the table does. A table created so is
   * not the template's: seeding leaves it alone.
   */
  createTable(request: {
    DatabaseName: string;
    TableInput: TableInput;
    CatalogId?: string;
  }): Record<string, never> {
    const input = checkedTableInput(request.TableInput, 'CreateTable');
    const db = this.data.databases[request.DatabaseName];
    if (!db) throw new GlueError('EntityNotFoundException', `Database ${request.DatabaseName} not found.`);
    if (db.tables[input.Name]) throw new GlueError('AlreadyExistsException', 'Table already exists.');
    const now = new Date().toISOString();
    db.tables[input.Name] = {
      table: this.fromInput(request.DatabaseName, input, { CreateTime: now, version: 1 }),
      versions: [{ versionId: '1', location: input.StorageDescriptor?.Location, at: now }],
    };
    this.save();
    return {};
  }

  /**
   * `glue:DeleteTable`: `{ DatabaseName, Name }` -> `{}`; the table's partitions go with it. Throws
   * `Glue.EntityNotFoundException` when there is no such table.
   */
  deleteTable(request: { DatabaseName: string; Name: string; CatalogId?: string }): Record<string, never> {
    this.stored(request.DatabaseName, request.Name);
    delete this.data.databases[request.DatabaseName].tables[request.Name];
    this.save();
    return {};
  }

  /**
   * `glue:BatchCreatePartition`: `{ DatabaseName, TableName, PartitionInputList }` (at most 100) ->
   * `{ Errors }`: the partitions that already exist (`AlreadyExistsException`); the others are created.
   */
  batchCreatePartition(request: {
    DatabaseName: string;
    TableName: string;
    PartitionInputList: GluePartitionInput[];
    CatalogId?: string;
  }): { Errors: { PartitionValues: string[]; ErrorDetail: PartitionErrorDetail }[] } {
    return this.changePartitions(request, (table, partitions) =>
      createPartitions(table, partitions, request.PartitionInputList),
    );
  }

  /**
   * `glue:BatchUpdatePartition`: `{ DatabaseName, TableName, Entries: [{ PartitionValueList,
   * PartitionInput }] }` (1 to 100) -> `{ Errors }`: the partitions that do not exist
   * (`EntityNotFoundException`); the others are replaced by their PartitionInput.
   */
  batchUpdatePartition(request: {
    DatabaseName: string;
    TableName: string;
    Entries: { PartitionValueList: string[]; PartitionInput: GluePartitionInput }[];
    CatalogId?: string;
  }): { Errors: { PartitionValueList: string[]; ErrorDetail: PartitionErrorDetail }[] } {
    return this.changePartitions(request, (table, partitions) =>
      updatePartitions(table, partitions, request.Entries),
    );
  }

  /**
   * `glue:BatchDeletePartition`: `{ DatabaseName, TableName, PartitionsToDelete: [{ Values }] }` (at most
   * 25) -> `{ Errors }`: the partitions that do not exist (`EntityNotFoundException`); the others are deleted.
   */
  batchDeletePartition(request: {
    DatabaseName: string;
    TableName: string;
    PartitionsToDelete: { Values: string[] }[];
    CatalogId?: string;
  }): { Errors: { PartitionValues: string[]; ErrorDetail: PartitionErrorDetail }[] } {
    return this.changePartitions(request, (table, partitions) =>
      deletePartitions(table, partitions, request.PartitionsToDelete),
    );
  }

  /**
   * `glue:GetPartitions`: `{ DatabaseName, TableName, Expression?, NextToken?, MaxResults? }` ->
   * `{ Partitions, NextToken? }`, sorted by values (the `Expression` subset is in `glue-partitions.ts`).
   */
  getPartitions(request: {
    DatabaseName: string;
    TableName: string;
    Expression?: string;
    NextToken?: string;
    MaxResults?: number;
    CatalogId?: string;
  }): { Partitions: GluePartition[]; NextToken?: string } {
    const stored = this.stored(request.DatabaseName, request.TableName);
    return cloneJson(listPartitions(stored.table, stored.partitions ?? {}, request));
  }

  /** Every registered partition of a table, sorted by values. */
  partitions(database: string, name: string): GluePartition[] {
    const stored = this.stored(database, name);
    return cloneJson(sortedPartitions(stored.table, stored.partitions ?? {}));
  }

  /**
   * The partition columns of an Iceberg table (empty when unpartitioned); undefined when the table is
   * not an Iceberg table.
   */
  icebergPartitionColumns(database: string, name: string): string[] | undefined {
    const iceberg = this.stored(database, name).iceberg;
    return iceberg ? [...iceberg.partitionColumns] : undefined;
  }

  /**
   * Commits an Iceberg snapshot: sets `Parameters.metadata_location` to `next` (and
   * `previous_metadata_location` to `expected`), only if the table's metadata location is still
   * `expected` (undefined: the table has no snapshot yet). Otherwise another commit won the race: throws
   * `Glue.ConcurrentModificationException` and changes nothing. The commit is a new table version.
   */
  commitIcebergMetadata(database: string, name: string, expected: string | undefined, next: string): void {
    const stored = this.stored(database, name);
    if (!stored.iceberg) {
      throw new GlueError('InvalidInputException', `Table ${database}.${name} is not an Iceberg table.`);
    }
    const current = stored.table.Parameters?.metadata_location;
    if (current !== expected) {
      throw new GlueError(
        'ConcurrentModificationException',
        `Table ${database}.${name} was modified concurrently: its metadata location is ${current ?? '(none)'}, the commit expected ${expected ?? '(none)'}.`,
      );
    }
    const parameters: Record<string, string> = { ...stored.table.Parameters, metadata_location: next };
    if (expected === undefined) delete parameters.previous_metadata_location;
    else parameters.previous_metadata_location = expected;
    const version = String(Number(stored.table.VersionId) + 1);
    const at = new Date().toISOString();
    stored.table = { ...stored.table, Parameters: parameters, VersionId: version, UpdateTime: at };
    stored.versions.push({
      versionId: version,
      location: stored.table.StorageDescriptor?.Location,
      metadataLocation: next,
      at,
    });
    this.save();
  }

  /** The table's location now. */
  location(database: string, name: string): string | undefined {
    return this.stored(database, name).table.StorageDescriptor?.Location;
  }

  /** Every location the table had, oldest first. */
  versions(database: string, name: string): TableVersion[] {
    return cloneJson(this.stored(database, name).versions);
  }

  /** The names of the databases, sorted. */
  databaseNames(): string[] {
    return Object.keys(this.data.databases).sort();
  }

  /** The names of the tables of a database, sorted. */
  tableNames(database: string): string[] {
    return Object.keys(this.data.databases[database]?.tables ?? {}).sort();
  }

  /** Runs a batch partition change on a Hive table and saves the catalog; the answer is the change's. */
  private changePartitions<T>(
    request: { DatabaseName: string; TableName: string },
    change: (table: GlueTable, partitions: StoredPartitions) => T,
  ): T {
    const stored = this.stored(request.DatabaseName, request.TableName);
    if (stored.iceberg) {
      throw new GlueError(
        'InvalidInputException',
        `Table ${request.DatabaseName}.${request.TableName} is an Iceberg table (its partitions are those of its data files).`,
      );
    }
    const partitions = { ...stored.partitions };
    const result = change(stored.table, partitions);
    stored.partitions = partitions;
    this.save();
    return cloneJson(result);
  }

  private stored(database: string, name: string): StoredTable {
    const db = this.data.databases[database];
    if (!db) throw new GlueError('EntityNotFoundException', `Database ${database} not found.`);
    const t = db.tables[name];
    if (!t) throw new GlueError('EntityNotFoundException', `Table ${name} not found.`);
    return t;
  }

  private fromInput(
    database: string,
    input: TableInput,
    meta: { CreateTime: string; version: number },
  ): GlueTable {
    const table: GlueTable = {
      Name: input.Name,
      DatabaseName: database,
      CatalogId: this.data.catalogId,
      CreateTime: meta.CreateTime,
      UpdateTime: new Date().toISOString(),
      VersionId: String(meta.version),
      IsRegisteredWithLakeFormation: false,
    };
    // Glue returns unset fields as absent (an empty Description or PartitionKeys is left out too).
    if (input.Description) table.Description = input.Description;
    if (input.Owner) table.Owner = input.Owner;
    table.Retention = input.Retention ?? 0;
    if (input.StorageDescriptor) table.StorageDescriptor = cloneJson(input.StorageDescriptor);
    if (input.PartitionKeys && input.PartitionKeys.length > 0) {
      table.PartitionKeys = cloneJson(input.PartitionKeys);
    }
    if (input.TableType) table.TableType = input.TableType;
    if (input.Parameters) table.Parameters = { ...input.Parameters };
    return table;
  }

  private save(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.data, null, 2)}\n`);
    renameSync(tmp, this.file);
  }
}

/** A TableInput (UpdateTable's, and CloudFormation's `AWS::Glue::Table` one once resolved). */
export interface TableInput extends TableFields {
  [other: string]: unknown;
}

/** `input` if CreateTable/UpdateTable (`action`) would take it; throws `Glue.InvalidInputException`. */
function checkedTableInput(input: TableInput | undefined, action: string): TableInput {
  if (!input || typeof input.Name !== 'string') {
    throw new GlueError('InvalidInputException', 'TableInput.Name is required');
  }
  const unknown = Object.keys(input).filter((k) => !TABLE_INPUT_FIELDS.has(k));
  if (unknown.length > 0) {
    throw new GlueError(
      'InvalidInputException',
      `TableInput has fields ${action} does not accept: ${unknown.join(', ')}`,
    );
  }
  if (input.Owner !== undefined && (typeof input.Owner !== 'string' || input.Owner.length === 0)) {
    throw new GlueError('InvalidInputException', 'TableInput.Owner must be 1-255 characters');
  }
  return input;
}

/**
 * An Iceberg table's TableInput as Glue holds it: `table_type = ICEBERG` over the template's parameters,
 * no metadata location (it has no snapshot yet), the Iceberg location when the storage descriptor names
 * none. Refuses PartitionKeys: an Iceberg table's partitioning is its PartitionSpec.
 */
function icebergTableInput(
  database: string,
  input: TableInput,
  iceberg: NonNullable<OpenTableFormatInput['IcebergInput']>,
): TableInput {
  if (input.PartitionKeys && input.PartitionKeys.length > 0) {
    throw new Error(
      `Glue table ${database}.${input.Name}: an Iceberg table has no PartitionKeys (its partitioning is OpenTableFormatInput's PartitionSpec)`,
    );
  }
  const parameters: Record<string, string> = { ...input.Parameters, table_type: 'ICEBERG' };
  delete parameters.metadata_location;
  delete parameters.previous_metadata_location;
  const location = input.StorageDescriptor?.Location ?? iceberg.IcebergTableInput?.Location;
  return {
    ...input,
    StorageDescriptor: { ...input.StorageDescriptor, ...(location ? { Location: location } : {}) },
    Parameters: parameters,
  };
}

/**
 * The source columns of an Iceberg PartitionSpec's fields, which must be identity transforms of columns
 * of the table (the only transform emulated locally).
 */
function identityPartitionColumns(
  database: string,
  input: TableInput,
  iceberg: NonNullable<OpenTableFormatInput['IcebergInput']>,
): string[] {
  const table = `${database}.${input.Name}`;
  const fields = iceberg.IcebergTableInput?.PartitionSpec?.Fields ?? [];
  const schema = new Map((iceberg.IcebergTableInput?.Schema?.Fields ?? []).map((f) => [f.Id, f.Name]));
  const columns = new Set((input.StorageDescriptor?.Columns ?? []).map((c) => c.Name));
  return fields.map((field) => {
    if (field.Transform !== 'identity') {
      throw new Error(
        `Glue table ${table}: the partition transform '${field.Transform}' (field ${field.Name}) is not emulated locally; only 'identity' is`,
      );
    }
    const source = schema.get(field.SourceId) ?? (schema.size === 0 ? field.Name : undefined);
    if (source === undefined || !columns.has(source)) {
      throw new Error(
        `Glue table ${table}: partition field ${field.Name} (source id ${field.SourceId}) is not a column of the table`,
      );
    }
    return source;
  });
}

/** JSON with sorted keys, so equal objects hash alike. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** `s3://bucket/some/prefix/` -> { bucket, prefix }. */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new Error(`not an s3:// URI: ${uri}`);
  return { bucket: m[1], prefix: m[2] };
}

/**
 * A deep copy through JSON: unlike `structuredClone` (which, under jest, makes objects of another realm
 * that the local Step Functions runtime does not take for plain objects) it stays in this realm.
 */
function cloneJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
