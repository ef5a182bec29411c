/**
 * The files of an `UNLOAD ... WITH (..., partitioned_by = ARRAY['<column>', ...])`, as Athena writes them:
 * one directory per distinct value of the partition columns, `<column>=<value>/` (see
 * `hivePartitionPath`: a date as `YYYY-MM-DD`, NULL as `__HIVE_DEFAULT_PARTITION__`), holding the rows of
 * that value without the partition columns. Like Athena, the partition columns must be the last columns
 * of the SELECT, in the option's order, and one query writes at most 100 partitions
 * (`HIVE_TOO_MANY_OPEN_PARTITIONS`); both are checked before any file is written.
 *
 * The SELECT runs once, into a DuckDB temporary table; each partition is then copied out of it to
 * `part-0.parquet` in a directory of its own (one thread: the same input gives the same bytes).
 */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { AthenaSqlError } from '../../core/errors';
import { sqlIdent, sqlString } from '../../core/sql/quote';
import { hivePartitionPath } from './glue-partitions';
import { MAX_PARTITIONS_WRITTEN } from './iceberg-table';

/** One partition an UNLOAD wrote. */
export interface WrittenPartition {
  /** The partition values as text (null for NULL), in `partitioned_by` order. */
  readonly values: (string | null)[];
  /** The directories under the UNLOAD's location, `<column>=<value>/...`. */
  readonly path: string;
  /** The local file holding the partition's rows. */
  readonly file: string;
  readonly rows: number;
  readonly bytes: number;
}

/** The temporary table the SELECT's rows are kept in while the partitions are copied out. */
const ROWS = 'medallion_unload_rows';

/**
 * Runs `select` on `c` and writes its rows as one Parquet file per partition under `dir` (see the module
 * comment); the partitions, sorted by values.
 */
export async function writePartitionedUnload(
  c: DuckDBConnection,
  select: string,
  partitionedBy: readonly string[],
  options: { dir: string; compression: string; location: string },
): Promise<WrittenPartition[]> {
  await c.run(`CREATE TEMP TABLE ${ROWS} AS SELECT * FROM (\n${select}\n)`);
  try {
    const described = await c.runAndReadAll(`DESCRIBE temp.main.${ROWS}`);
    const columns = described.getRowObjectsJson().map((r) => String(r.column_name));
    const partitionColumns = partitionColumnsOf(columns, partitionedBy, options.location);
    const keys = partitionColumns.map((p, i) => `CAST(${sqlIdent(p)} AS VARCHAR) AS p${i}`);
    const groups = await c.runAndReadAll(
      `SELECT ${keys.join(', ')}, count(*) AS n FROM temp.main.${ROWS} GROUP BY ALL ORDER BY ALL NULLS LAST`,
    );
    const partitions = groups.getRowObjectsJson().map((row) => ({
      values: partitionColumns.map((_, i) => (row[`p${i}`] === null ? null : String(row[`p${i}`]))),
      rows: Number(row.n),
    }));
    if (partitions.length > MAX_PARTITIONS_WRITTEN) {
      throw new AthenaSqlError(
        `HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of ${MAX_PARTITIONS_WRITTEN} open writers for partitions/buckets ` +
          `(${partitions.length} partitions written by the UNLOAD to ${options.location})`,
      );
    }
    const excluded = partitionColumns.map(sqlIdent).join(', ');
    const written: WrittenPartition[] = [];
    for (const [n, partition] of partitions.entries()) {
      const where = partitionColumns.map((p, i) => {
        const value = partition.values[i];
        return `CAST(${sqlIdent(p)} AS VARCHAR) IS NOT DISTINCT FROM ${value === null ? 'NULL' : sqlString(value)}`;
      });
      const partitionDir = join(options.dir, String(n));
      mkdirSync(partitionDir, { recursive: true });
      const file = join(partitionDir, 'part-0.parquet');
      await c.run(
        `COPY (SELECT * EXCLUDE (${excluded}) FROM temp.main.${ROWS} WHERE ${where.join(' AND ')}) ` +
          `TO ${sqlString(file)} (FORMAT parquet, COMPRESSION ${options.compression})`,
      );
      written.push({
        ...partition,
        path: hivePartitionPath(partitionedBy, partition.values),
        file,
        bytes: statSync(file).size,
      });
    }
    return written;
  } finally {
    await c.run(`DROP TABLE IF EXISTS temp.main.${ROWS}`);
  }
}

/**
 * The SELECT's names of the partition columns (matched without regard to case, as Athena does), which
 * must be its last columns, in `partitioned_by` order, after at least one other column.
 */
function partitionColumnsOf(
  columns: readonly string[],
  partitionedBy: readonly string[],
  location: string,
): string[] {
  const lower = columns.map((c) => c.toLowerCase());
  const missing = partitionedBy.filter((p) => !lower.includes(p.toLowerCase()));
  if (missing.length > 0) {
    throw new AthenaSqlError(
      `COLUMN_NOT_FOUND: Partition column(s) ${missing.join(', ')} of the UNLOAD to ${location} not present in the SELECT (its columns: ${columns.join(', ')})`,
    );
  }
  const last = lower.slice(-partitionedBy.length);
  if (last.join('\u0000') !== partitionedBy.map((p) => p.toLowerCase()).join('\u0000')) {
    throw new AthenaSqlError(
      `HIVE_COLUMN_ORDER_MISMATCH: Partition keys must be the last columns in the table and in the same order as the table properties: [${partitionedBy.join(', ')}] ` +
        `(the SELECT of the UNLOAD to ${location} ends with ${columns.slice(-partitionedBy.length).join(', ')})`,
    );
  }
  if (columns.length === partitionedBy.length) {
    throw new AthenaSqlError(
      `NOT_SUPPORTED: the UNLOAD to ${location} has only partition columns; at least one column must not be one`,
    );
  }
  return columns.slice(-partitionedBy.length);
}
