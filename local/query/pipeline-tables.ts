/**
 * The pipeline's own records as tables of `medallion query` (local only: no Athena table declares them):
 *
 *  - `manifests`: one row per bronze object the transform processed (its manifest in the silver bucket,
 *    `_manifests/<domain>/<dataset>/<id>.json`): rows in, out, quarantined and de-duplicated, the status
 *    (`ok`, or `quarantined` for a file rejected as a whole, with the reason), outputs and times;
 *  - `quarantine`: one row per quarantined row, across datasets: the dataset, the bronze object it came
 *    from, the physical line where the record starts, the column and rule it broke, the message, the
 *    offending value, the record's fields (JSON) and its text. Only the quarantine objects a committed
 *    manifest lists are read, so a rolled-back attempt's leftovers never show.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sqlString } from '../../core/sql/quote';
import { MAX_LINE_BYTES } from '../../core/sql/silver-sql';
import type { LakeTable } from './lake-tables';
import { dataObjectFiles, objectFile, objectsGlob } from './object-files';

/** The `manifests` and `quarantine` tables (each only once it has something to show). */
export function pipelineTables(s3Dir: string, silverBucket: string): Record<string, LakeTable> {
  const manifestsDir = join(s3Dir, silverBucket, '_manifests');
  const manifests = dataObjectFiles(manifestsDir);
  if (manifests.length === 0) return {};
  const tables: Record<string, LakeTable> = {
    manifests: { files: [objectsGlob(manifestsDir)], select: async () => manifestsSelect(manifests) },
  };
  const quarantined = manifests.flatMap((file) => {
    const m = JSON.parse(readFileSync(file, 'utf8')) as ManifestFields;
    const q = m.quarantine;
    if (!q?.bucket || !q.key || !m.domain || !m.dataset) return [];
    // An object the bucket's lifecycle expired (or someone deleted) is no row.
    const object = objectFile(s3Dir, q.bucket, q.key);
    return existsSync(object)
      ? [{ file: object, domain: m.domain, dataset: m.dataset, at: m.finishedAt }]
      : [];
  });
  if (quarantined.length > 0) {
    tables.quarantine = {
      files: quarantined.map((q) => q.file),
      select: async () => quarantineSelect(quarantined),
    };
  }
  return tables;
}

/** The parts of a manifest (core/lake/manifest.ts) read here. */
interface ManifestFields {
  readonly domain?: string;
  readonly dataset?: string;
  readonly finishedAt?: string;
  readonly quarantine?: { bucket?: string; key?: string };
}

/** An ISO-8601 instant (`...Z`, or with an offset) as a TIMESTAMP in UTC (arithmetic: no time zone data needed). */
const utc = (expr: string) => `make_timestamp(epoch_us(CAST(${expr} AS TIMESTAMPTZ)))`;

function manifestsSelect(files: readonly string[]): string {
  const columns = {
    status: 'VARCHAR',
    reason: 'VARCHAR',
    reasonCode: 'VARCHAR',
    domain: 'VARCHAR',
    dataset: 'VARCHAR',
    contractHash: 'VARCHAR',
    source: 'STRUCT(bucket VARCHAR, "key" VARCHAR, sha256 VARCHAR, "bytes" BIGINT, gzip BOOLEAN)',
    rows: 'STRUCT("in" BIGINT, "out" BIGINT, quarantined BIGINT, duplicates BIGINT)',
    expectedRows: 'BIGINT',
    quarantinedByReason: 'MAP(VARCHAR, BIGINT)',
    outputs: 'STRUCT("key" VARCHAR, "partition" VARCHAR, "rows" BIGINT)[]',
    quarantine: 'STRUCT(bucket VARCHAR, "key" VARCHAR, "rows" BIGINT)',
    durationsMs: 'MAP(VARCHAR, DOUBLE)',
    startedAt: 'VARCHAR',
    finishedAt: 'VARCHAR',
    engine: 'VARCHAR',
  };
  const spec = Object.entries(columns)
    .map(([name, type]) => `${name}: ${sqlString(type)}`)
    .join(', ');
  const source = `read_json([${files.map(sqlString).join(', ')}], format = 'auto', columns = {${spec}})`;
  return `SELECT domain, dataset, source."key" AS source_key, status, reason, reasonCode AS reason_code,
      rows."in" AS rows_in, rows."out" AS rows_out, rows.quarantined AS rows_quarantined,
      rows.duplicates AS rows_duplicates, expectedRows AS rows_expected, quarantinedByReason AS quarantined_by_reason,
      len(outputs) AS output_files, list_sort(list_distinct([o."partition" FOR o IN outputs])) AS partitions,
      quarantine."key" AS quarantine_key, source.bucket AS source_bucket, source."bytes" AS source_bytes,
      source.sha256 AS source_sha256, ${utc('startedAt')} AS started_at, ${utc('finishedAt')} AS finished_at,
      CAST(durationsMs['total'] AS BIGINT) AS duration_ms, engine, contractHash AS contract_hash
    FROM ${source}`;
}

function quarantineSelect(
  files: readonly { file: string; domain: string; dataset: string; at?: string }[],
): string {
  const columns = {
    source_key: 'VARCHAR',
    line: 'BIGINT',
    column: 'VARCHAR',
    rule: 'VARCHAR',
    message: 'VARCHAR',
    value: 'VARCHAR',
    record: 'JSON',
    text: 'VARCHAR',
  };
  const spec = Object.entries(columns)
    .map(([name, type]) => `${sqlString(name)}: ${sqlString(type)}`)
    .join(', ');
  // A row's text is at most the longest record read, and JSON may write each byte as six.
  const source = `read_json([${files.map((f) => sqlString(f.file)).join(', ')}], format = 'newline_delimited',
    columns = {${spec}}, filename = '__file', maximum_object_size = ${8 * MAX_LINE_BYTES})`;
  const objects = files
    .map(
      (f) =>
        `(${[f.file, f.domain, f.dataset, f.at ?? null].map((v) => (v === null ? 'NULL' : sqlString(v))).join(', ')})`,
    )
    .join(', ');
  return `SELECT o.domain, o.dataset, q.source_key, q.line, q."column" AS column_name, q.rule, q.message,
      q.value, q.record, q.text, ${utc('o.finished_at')} AS quarantined_at
    FROM ${source} AS q JOIN (VALUES ${objects}) AS o(file, domain, dataset, finished_at) ON q.__file = o.file`;
}
