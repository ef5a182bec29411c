/**
 * Athena's Iceberg maintenance statements, locally:
 *
 *   OPTIMIZE <table> REWRITE DATA USING BIN_PACK [WHERE ...]   checked (the target must be an Iceberg
 *       table), then nothing to do: the local writer (`iceberg-table.ts`) rewrites a changed partition
 *       into one file and writes no delete files, so every partition already is a single file.
 *   VACUUM <table>   deletes the table's data and metadata files that neither the current snapshot nor
 *       its parent lists (Athena keeps the snapshots younger than `vacuum_max_snapshot_age_seconds`, 5 days
 *       by default; locally only the previous one is kept, for a reader that started before the last commit).
 */
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AthenaSqlError } from '../../core/errors';
import { listObjects } from '../../lambdas/aws/s3';
import { type LocalGlueCatalog, parseS3Uri } from './glue-catalog';
import { readSnapshot, tableRoot } from './iceberg-table';

export interface MaintenanceStatement {
  readonly kind: 'OPTIMIZE' | 'VACUUM';
  readonly database: string;
  readonly table: string;
}

const LEAD = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;
const NAME = `(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)`;
const OPTIMIZE = new RegExp(
  `${LEAD.source}OPTIMIZE\\s+(${NAME})(?:\\s*\\.\\s*(${NAME}))?\\s+REWRITE\\s+DATA\\s+USING\\s+BIN_PACK(?:\\s+WHERE\\s+[\\s\\S]+)?\\s*;?\\s*$`,
  'i',
);
const VACUUM = new RegExp(`${LEAD.source}VACUUM\\s+(${NAME})(?:\\s*\\.\\s*(${NAME}))?\\s*;?\\s*$`, 'i');

/** Whether `sql` is OPTIMIZE or VACUUM (then {@link parseMaintenance} reads it, or says what is wrong). */
export function isMaintenanceStatement(sql: string): boolean {
  return new RegExp(`${LEAD.source}(OPTIMIZE|VACUUM)\\b`, 'i').test(sql);
}

export function parseMaintenance(sql: string, database: string | undefined): MaintenanceStatement {
  const optimize = OPTIMIZE.exec(sql);
  const m = optimize ?? VACUUM.exec(sql);
  if (!m) {
    throw new AthenaSqlError(
      'only `OPTIMIZE <table> REWRITE DATA USING BIN_PACK [WHERE ...]` and `VACUUM <table>` are emulated locally',
    );
  }
  const unquote = (id: string) =>
    id.startsWith('"') ? id.slice(1, -1).replace(/""/g, '"').toLowerCase() : id.toLowerCase();
  const [db, table] = m[2] ? [unquote(m[1]), unquote(m[2])] : [database, unquote(m[1])];
  if (!db) throw new AthenaSqlError(`${table}: no database (qualify the table, or set the query's database)`);
  return { kind: optimize ? 'OPTIMIZE' : 'VACUUM', database: db, table };
}

/** Runs the statement against the catalog's Iceberg table; returns the objects VACUUM deleted. */
export async function runMaintenance(
  s3: S3Client,
  catalog: LocalGlueCatalog,
  statement: MaintenanceStatement,
): Promise<{ deleted: string[] }> {
  const name = `${statement.database}.${statement.table}`;
  if (!catalog.tableNames(statement.database).includes(statement.table)) {
    throw new Error(`TABLE_NOT_FOUND: Table 'awsdatacatalog.${name}' does not exist`);
  }
  if (!catalog.icebergPartitionColumns(statement.database, statement.table)) {
    throw new Error(
      `NOT_SUPPORTED: ${statement.kind} is only supported for Iceberg tables (${name} is not one)`,
    );
  }
  if (statement.kind === 'OPTIMIZE') return { deleted: [] };
  const { Table } = catalog.getTable({ DatabaseName: statement.database, Name: statement.table });
  const current = Table.Parameters?.metadata_location;
  const location = Table.StorageDescriptor?.Location;
  if (!current || !location) return { deleted: [] };
  const snapshot = await readSnapshot(s3, current);
  const keep = new Set<string>([current, ...snapshot.files.map((f) => f.path)]);
  if (snapshot.parent) {
    keep.add(snapshot.parent);
    for (const f of (await readSnapshot(s3, snapshot.parent)).files) keep.add(f.path);
  }
  const root = tableRoot(location);
  const { bucket, prefix } = parseS3Uri(root);
  const deleted: string[] = [];
  for (const dir of ['data/', 'metadata/']) {
    for await (const o of listObjects(s3, bucket, `${prefix}${dir}`)) {
      const uri = `s3://${bucket}/${o.Key}`;
      if (!o.Key || keep.has(uri)) continue;
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }));
      deleted.push(uri);
    }
  }
  return { deleted };
}
