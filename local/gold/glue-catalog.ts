/**
 * A local Glue Data Catalog: databases and tables persisted as JSON in the state directory, seeded from
 * the synthesized template's `AWS::Glue::Database` / `AWS::Glue::Table` resources, with `getTable` and
 * `updateTable` taking and returning what the Step Functions SDK integrations (`aws-sdk:glue:getTable`,
 * `aws-sdk:glue:updateTable`) do. Errors carry the names a state machine matches in Retry/Catch
 * (`Glue.EntityNotFoundException`, `Glue.InvalidInputException`).
 *
 * Seeding follows CloudFormation: a table the catalog does not hold is created; a table whose template
 * definition changed is replaced (its published location reset to the template's placeholder, as a stack
 * update would); an unchanged one keeps its location (what the gold workflow published).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { GlueError } from './service-errors';
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

/** One published location of a table (every UpdateTable, in order). */
export interface TableVersion {
  readonly versionId: string;
  readonly location: string | undefined;
  readonly at: string;
}

interface StoredTable {
  table: GlueTable;
  /** Hash of the template's TableInput it was created from. */
  templateHash?: string;
  versions: TableVersion[];
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
      const props = resolver.resolve(r.Properties) as { DatabaseName: string; TableInput: TableInput };
      this.data.databases[props.DatabaseName] ??= { tables: {} };
      const db = this.data.databases[props.DatabaseName];
      const hash = createHash('sha256').update(stableJson(props.TableInput)).digest('hex');
      const existing = db.tables[props.TableInput.Name];
      if (existing && existing.templateHash === hash) continue;
      const now = new Date().toISOString();
      db.tables[props.TableInput.Name] = {
        table: this.fromInput(props.DatabaseName, props.TableInput, { CreateTime: now, version: 1 }),
        templateHash: hash,
        versions: [{ versionId: '1', location: props.TableInput.StorageDescriptor?.Location, at: now }],
      };
    }
    this.save();
  }

  /** `glue:GetTable`: `{ DatabaseName, Name }` -> `{ Table }`. */
  getTable(request: { DatabaseName: string; Name: string; CatalogId?: string }): { Table: GlueTable } {
    const stored = this.stored(request.DatabaseName, request.Name);
    return { Table: cloneJson(stored.table) };
  }

  /** `glue:UpdateTable`: `{ DatabaseName, TableInput }` -> `{}`. The table must exist. */
  updateTable(request: {
    DatabaseName: string;
    TableInput: TableInput;
    CatalogId?: string;
  }): Record<string, never> {
    const input = request.TableInput;
    if (!input || typeof input.Name !== 'string') {
      throw new GlueError('InvalidInputException', 'TableInput.Name is required');
    }
    const unknown = Object.keys(input).filter((k) => !TABLE_INPUT_FIELDS.has(k));
    if (unknown.length > 0) {
      throw new GlueError(
        'InvalidInputException',
        `TableInput has fields UpdateTable does not accept: ${unknown.join(', ')}`,
      );
    }
    if (input.Owner !== undefined && (typeof input.Owner !== 'string' || input.Owner.length === 0)) {
      throw new GlueError('InvalidInputException', 'TableInput.Owner must be 1-255 characters');
    }
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
