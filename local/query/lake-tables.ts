/**
 * The lake's tables as `medallion query` shows them, named as in Athena, each with exactly the columns its
 * Glue table declares (partition keys included) and nothing the storage layout adds:
 *
 *  - silver arrivals, `<dataset>_arrivals`, one per data contract: the Parquet objects under
 *    `<domain>/<dataset>/` of the silver bucket, the silver schema's columns and the `dt` partition key
 *    (read from the `dt=` directories, typed as DuckDB infers it: a DATE for daily partitions);
 *  - every table of a local Glue catalog, when one exists: silver history and current state (Iceberg:
 *    the data files its current snapshot lists), gold (the objects under its location, or under each
 *    registered partition's location for an incremental model). A gold version's `v=<execution>/`
 *    directory is no column. Two layouts are read: `<state>/glue-catalog.json` =
 *    `{ tables: { <name>: { StorageDescriptor: { Location } } } }`, and the gold runner's
 *    `<state>/gold/glue-catalog.json` = `{ databases: { <db>: { tables: { <name>: { table: {...} } } } } }`.
 *    A table that declares no column shows the files' columns.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { QueryError } from '../../core/errors';
import { LINEAGE_PARAMETERS, lineageSources } from '../../core/gold/lineage';
import { PARTITION_KEY } from '../../core/lake/layout';
import { arrivalsTableName } from '../../core/silver/tables';
import { sqlIdent, sqlString } from '../../core/sql/quote';
import { silverSchema } from '../../core/sql/silver-schema';
import { catalogTableSelect } from '../gold/catalog-views';
import type { GlueColumn } from '../gold/glue-catalog';
import { dataObjectFiles, hasObjects, locationDir, objectFileOfUri, objectsGlob } from './object-files';

/** A table `medallion query` defines as a view. */
export interface LakeTable {
  /** The object files (or globs) it reads. */
  readonly files: string[];
  /** The SELECT of its view (it may read the files' schemas first). */
  select(c: DuckDBConnection): Promise<string>;
}

/** The silver arrivals table of each contract whose directory holds objects. */
export function arrivalsTables(
  s3Dir: string,
  silverBucket: string,
  contracts: readonly DatasetContract[],
): Record<string, LakeTable> {
  const tables: Record<string, LakeTable> = {};
  for (const contract of contracts) {
    const dir = join(s3Dir, silverBucket, contract.domain, contract.dataset);
    if (!hasObjects(dir)) continue;
    const files = [objectsGlob(dir)];
    tables[arrivalsTableName(contract.dataset)] = {
      files,
      select: async (c) => {
        const source = parquetSource(files, 'hive_partitioning = true');
        const present = await fileColumns(c, source);
        const columns = [
          ...silverSchema(contract).map(({ name, type }) => ({ name, type })),
          { name: PARTITION_KEY, type: 'VARCHAR' },
        ];
        const select = columns.map(({ name, type }) =>
          present.has(name) ? sqlIdent(name) : `CAST(NULL AS ${type}) AS ${sqlIdent(name)}`,
        );
        return `SELECT ${select.join(', ')} FROM ${source}`;
      },
    };
  }
  return tables;
}

/** The tables of the local catalogs that hold data (see the module comment). */
export function catalogTables(stateDir: string, s3Dir: string): Record<string, LakeTable> {
  const tables: Record<string, LakeTable> = {};
  for (const [name, t] of Object.entries(catalogEntries(stateDir))) {
    const declared = { columns: t.columns, partitionKeys: t.partitionKeys, registered: t.registered };
    let files: string[] = [];
    let fileValues = new Map<string, string[]>();
    if (t.metadataLocation !== undefined) {
      const metadata = objectFileOfUri(s3Dir, t.metadataLocation);
      if (!metadata || !existsSync(metadata)) continue;
      const snapshot = JSON.parse(readFileSync(metadata, 'utf8')) as { files?: { path: string }[] };
      files = (snapshot.files ?? []).flatMap((f) => objectFileOfUri(s3Dir, f.path) ?? []);
    } else if (t.registered) {
      // Each registered partition's objects, with its values.
      for (const p of t.partitions) {
        const dir = locationDir(s3Dir, p.location);
        for (const file of dir ? dataObjectFiles(dir) : []) fileValues.set(file, p.values);
      }
      fileValues = new Map([...fileValues].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      files = [...fileValues.keys()];
    } else {
      const dir = locationDir(s3Dir, t.location);
      if (dir && hasObjects(dir)) files = [objectsGlob(dir)];
    }
    if (files.length === 0) continue;
    tables[name] = {
      files,
      select: async (c) => {
        if (declared.columns.length + declared.partitionKeys.length > 0) {
          return catalogTableSelect(c, declared, files, fileValues);
        }
        // Declares no column: the files' own, and none from their paths.
        return `SELECT * FROM ${parquetSource(files, 'hive_partitioning = false')}`;
      },
    };
  }
  return tables;
}

/** What a catalog says of one table. */
interface CatalogEntry {
  readonly location: string;
  readonly columns: GlueColumn[];
  readonly partitionKeys: GlueColumn[];
  /** Partition values from the registered partitions (not from `key=value` directories). */
  readonly registered: boolean;
  readonly partitions: { values: string[]; location: string }[];
  /** Iceberg: its current metadata file (a table without one has no snapshot yet: left out). */
  readonly metadataLocation?: string;
}

type Descriptor = {
  StorageDescriptor?: { Location?: string; Columns?: GlueColumn[] };
  PartitionKeys?: GlueColumn[];
  Parameters?: { table_type?: string; metadata_location?: string; 'projection.enabled'?: string } & Record<
    string,
    string
  >;
};
type Partitions = Record<
  string,
  { Values?: string[]; StorageDescriptor?: { Location?: string }; Parameters?: Record<string, string> }
>;
type CatalogFile = {
  tables?: Record<string, Descriptor>;
  databases?: Record<
    string,
    { tables?: Record<string, { table?: Descriptor; partitions?: Partitions } & Descriptor> }
  >;
};

/** Table name -> what the catalog files say of it; the first catalog naming a table wins. */
function catalogEntries(stateDir: string): Record<string, CatalogEntry> {
  const out: Record<string, CatalogEntry> = {};
  const add = (name: string, t: Descriptor, partitions?: Partitions) => {
    const location = t.StorageDescriptor?.Location;
    if (!location || name in out) return;
    const columns = t.StorageDescriptor?.Columns ?? [];
    if (t.Parameters?.table_type?.toUpperCase() === 'ICEBERG') {
      // Its partition columns are columns of its files.
      const metadataLocation = t.Parameters.metadata_location;
      if (metadataLocation) {
        out[name] = {
          location,
          columns,
          partitionKeys: [],
          registered: false,
          partitions: [],
          metadataLocation,
        };
      }
      return;
    }
    const partitionKeys = t.PartitionKeys ?? [];
    const registered = partitionKeys.length > 0 && t.Parameters?.['projection.enabled'] !== 'true';
    const registeredPartitions = registered
      ? Object.values(partitions ?? {}).flatMap((p) =>
          p.StorageDescriptor?.Location
            ? [{ values: p.Values ?? [], location: p.StorageDescriptor.Location }]
            : [],
        )
      : [];
    out[name] = { location, columns, partitionKeys, registered, partitions: registeredPartitions };
  };
  for (const file of [join(stateDir, 'glue-catalog.json'), join(stateDir, 'gold', 'glue-catalog.json')]) {
    const catalog = readCatalog(file);
    if (!catalog) continue;
    for (const [name, t] of Object.entries(catalog.tables ?? {})) add(name, t);
    for (const db of Object.values(catalog.databases ?? {})) {
      for (const [name, t] of Object.entries(db.tables ?? {})) add(name, t.table ?? t, t.partitions);
    }
  }
  return out;
}

/**
 * `lineage`: one row per gold table and table its model reads (`source`), with the run that built the
 * version published (an incremental model: its newest day), the model's version and domain, from the local Glue catalog's table parameters
 * (`core/gold/lineage.ts`); none before gold ran.
 */
export function lineageTable(stateDir: string): Record<string, LakeTable> {
  const file = join(stateDir, 'gold', 'glue-catalog.json');
  const rows: string[] = [];
  for (const [database, db] of Object.entries(readCatalog(file)?.databases ?? {})) {
    // The tests' staging copies are not published tables.
    if (database.endsWith('_staging')) continue;
    for (const [name, entry] of Object.entries(db.tables ?? {})) {
      const parameters = (entry.table ?? entry).Parameters;
      if (parameters?.[LINEAGE_PARAMETERS.sources] === undefined) continue;
      // An incremental model's days are built by different runs, each partition saying which: the run
      // shown is the one that built its newest day.
      const run = parameters[LINEAGE_PARAMETERS.run] ?? newestPartitionRun(entry.partitions);
      const value = (key: string) => {
        const v = key === LINEAGE_PARAMETERS.run ? run : parameters[key];
        return v === undefined ? 'NULL' : sqlString(v);
      };
      const sources = lineageSources(parameters);
      for (const source of sources.length > 0 ? sources : [undefined]) {
        rows.push(
          `(${sqlString(name)}, ${source === undefined ? 'NULL' : sqlString(source)}, ${value(LINEAGE_PARAMETERS.run)}, ${value(LINEAGE_PARAMETERS.version)}, ${value(LINEAGE_PARAMETERS.domain)})`,
        );
      }
    }
  }
  if (rows.length === 0) return {};
  const select = `SELECT * FROM (VALUES ${rows.join(', ')}) AS lineage(gold_table, source, run, version, domain)`;
  return { lineage: { files: [file], select: async () => select } };
}

/** The `medallion.run` of the partition with the greatest values (dates sort as text). */
function newestPartitionRun(partitions: Partitions | undefined): string | undefined {
  let newest: { key: string; run: string } | undefined;
  for (const p of Object.values(partitions ?? {})) {
    const run = p.Parameters?.[LINEAGE_PARAMETERS.run];
    const key = (p.Values ?? []).join('/');
    if (run !== undefined && (newest === undefined || key > newest.key)) newest = { key, run };
  }
  return newest?.run;
}

function readCatalog(file: string): CatalogFile | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as CatalogFile;
  } catch (e) {
    throw new QueryError(`cannot read the local catalog ${file}: ${(e as Error).message}`);
  }
}

/** `read_parquet` over files (or globs), columns matched by name across files. */
function parquetSource(files: readonly string[], hive: string): string {
  return `read_parquet([${files.map(sqlString).join(', ')}], ${hive}, union_by_name = true)`;
}

/** The columns a source holds (footers only). */
async function fileColumns(c: DuckDBConnection, source: string): Promise<Set<string>> {
  const described = await c.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
  return new Set(described.getRowObjectsJson().map((r) => String(r.column_name)));
}
