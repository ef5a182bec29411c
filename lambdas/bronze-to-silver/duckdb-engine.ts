/**
 * DuckDB, the embedded engine that parses, validates and writes Parquet (chosen by measurement: see the
 * README's "Choosing the Parquet writer"). One instance per process (created at module load in Lambda), one
 * connection per file.
 */

import { mkdirSync } from 'node:fs';
import { type DuckDBConnection, DuckDBInstance, version } from '@duckdb/node-api';

export interface EngineOptions {
  /** e.g. "160MB": DuckDB spills to `tempDirectory` beyond it. */
  readonly memoryLimit: string;
  readonly threads: number;
  /** Where DuckDB may spill; on Lambda, under /tmp. */
  readonly tempDirectory: string;
}

export class Engine {
  private constructor(private readonly instance: DuckDBInstance) {}

  static async create(o: EngineOptions): Promise<Engine> {
    mkdirSync(o.tempDirectory, { recursive: true });
    const instance = await DuckDBInstance.create(':memory:', {
      memory_limit: o.memoryLimit,
      threads: String(o.threads),
      temp_directory: o.tempDirectory,
      // Nothing is ever downloaded at run time: Lambda has no use for it and tests must stay offline.
      autoinstall_known_extensions: 'false',
    });
    return new Engine(instance);
  }

  /** Runs `work` on a fresh connection (its temp tables, such as rejects, vanish with it). */
  async withConnection<T>(work: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const conn = await this.instance.connect();
    try {
      // Partition dates and timestamp parsing must not depend on the machine's zone.
      await conn.run("SET TimeZone = 'UTC'");
      return await work(conn);
    } finally {
      conn.closeSync();
    }
  }

  static get version(): string {
    return version();
  }
}

export async function queryRows<T = Record<string, unknown>>(c: DuckDBConnection, sql: string): Promise<T[]> {
  const reader = await c.runAndReadAll(sql);
  return reader.getRowObjectsJS() as T[];
}
