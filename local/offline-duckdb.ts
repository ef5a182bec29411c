/**
 * An in-memory DuckDB as the local tools use it: offline (no extension is ever downloaded: httpfs is not
 * built in, and nothing here may reach the network), and, for what must be reproducible, one thread.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

export interface OfflineDuckDbOptions {
  /** @default DuckDB's (every core) */
  readonly threads?: number;
  /** @default DuckDB's */
  readonly memoryLimit?: string;
  /** Spills go to `<workDir>/duckdb-tmp`. @default DuckDB's */
  readonly workDir?: string;
}

export function createOfflineDuckDb(options: OfflineDuckDbOptions = {}): Promise<DuckDBInstance> {
  return DuckDBInstance.create(':memory:', {
    ...(options.threads === undefined ? {} : { threads: String(options.threads) }),
    ...(options.memoryLimit === undefined ? {} : { memory_limit: options.memoryLimit }),
    ...(options.workDir === undefined ? {} : { temp_directory: join(options.workDir, 'duckdb-tmp') }),
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
}
