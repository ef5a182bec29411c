/**
 * How a source file's fields map onto a data contract's columns: shared by the transform (which builds SQL
 * from it) and the landing API door (which checks a CSV header before storing anything).
 */
import type { DatasetContract } from './dataset-contract';

/** How each contract column, and each unknown field, maps onto the source. */
export interface ColumnMapping {
  /** Per contract column: the CSV position, the JSON key, or undefined when absent from the file. */
  readonly sources: Map<string, number | string | undefined>;
  /** Source fields no column declares (CSV header names). */
  readonly unknown: { name: string; position: number }[];
}

/** Maps a CSV header onto the contract: exact name first, then case- and space-insensitive. */
export function mapCsvHeader(contract: DatasetContract, header: string[]): ColumnMapping {
  const norm = (s: string) => s.trim().toLowerCase();
  const used = new Set<number>();
  const sources = new Map<string, number | string | undefined>();
  for (const col of contract.columns) {
    const want = col.from ?? col.name;
    let pos = header.indexOf(want);
    if (pos < 0 || used.has(pos)) pos = header.findIndex((h, i) => !used.has(i) && norm(h) === norm(want));
    if (pos >= 0) used.add(pos);
    sources.set(col.name, pos >= 0 ? pos : undefined);
  }
  const unknown = header.map((name, position) => ({ name, position })).filter((u) => !used.has(u.position));
  return { sources, unknown };
}

/** JSON sources: keys are looked up by name; unknown keys are found per record by `unknownKeysExpr`. */
export function mapJsonKeys(contract: DatasetContract): ColumnMapping {
  return { sources: new Map(contract.columns.map((c) => [c.name, c.from ?? c.name])), unknown: [] };
}
