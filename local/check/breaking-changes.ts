/**
 * What a change of a data contract or a gold model does to its readers: the changes that break them (they
 * must bump the product's MAJOR version, see `against.ts`), each at the line of the new file it is about.
 *
 * Breaking, for a contract (silver, as readers query it):
 * - a column readers see is gone: dropped, or now `pii: drop` (not written);
 * - a column's type changed, except a widening every reader still reads: int32 -> int64, and
 *   decimal(p,s) -> decimal(p2,s) with p2 > p (same scale: the values keep their digits);
 * - a column's pii treatment changed among clear, hash and mask: the values change meaning (a hash no longer
 *   joins with the clear value, a mask no longer with either);
 * - the primary key (as a set of columns), the partition column or its granularity, or the domain (the
 *   dataset's prefix and database) changed; `deletes` added or removed (keys start or stop disappearing
 *   from the current state).
 * Breaking, for a gold model: a declared column dropped or retyped (the same widening rule, in Athena's
 * names: int -> bigint, a larger decimal precision), the incremental date column changed (it is the gold
 * table's partition key, listed last: added, removed or another column).
 * Not breaking: added columns, optional -> required, descriptions, owner, SLA, access, check rules, source
 * format, normalization (what producers send, not what readers get).
 */

import { SEMVER } from '../../core/contracts/data-product';
import type { ColumnType, DatasetContract } from '../../core/contracts/dataset-contract';
import { readDeclaredHeader } from './models';

/** One change that breaks readers: what it is, where, and how to undo it instead of bumping the major. */
export interface BreakingChange {
  /** The line of the new file the change is about (1-based). */
  readonly line: number;
  /** `column 'status' dropped`. */
  readonly what: string;
  /** `restore the column`. */
  readonly undo: string;
}

/** Where a contract's field is in its new file (`InspectedContractFile.position`). */
export type FieldLine = (path: readonly (string | number)[]) => number;

/** The changes from `before` to `after` (the same dataset) that break its readers (see the module comment). */
export function contractBreakingChanges(
  before: DatasetContract,
  after: DatasetContract,
  lineOf: FieldLine,
): BreakingChange[] {
  const changes: BreakingChange[] = [];
  const change = (path: readonly (string | number)[], what: string, undo: string) =>
    changes.push({ line: lineOf(path), what, undo });
  if (before.domain !== after.domain) {
    change(
      ['domain'],
      `domain changed from ${before.domain} to ${after.domain} (readers of ${before.id} lose the dataset)`,
      `keep domain: ${before.domain}`,
    );
  }
  for (const old of before.columns) {
    if (old.pii === 'drop') continue; // readers never saw it
    const i = after.columns.findIndex((c) => c.name === old.name);
    const now = after.columns[i];
    if (now === undefined) {
      change(['columns'], `column '${old.name}' dropped`, `restore the column '${old.name}'`);
      continue;
    }
    if (now.pii === 'drop') {
      change(
        ['columns', i, 'pii'],
        `column '${old.name}' now pii: drop (no longer written)`,
        `keep the column in silver (pii: hash keeps it joinable)`,
      );
      continue;
    }
    if (!readsAs(old.type, now.type)) {
      change(
        ['columns', i, 'type'],
        `column '${old.name}' retyped from ${old.typeText} to ${now.typeText}`,
        `restore type ${old.typeText} (widening int32 -> int64 or a decimal's precision does not break readers)`,
      );
    }
    const [was, is] = [old.pii ?? 'clear', now.pii ?? 'clear'];
    if (was !== is) {
      change(
        ['columns', i, now.pii === undefined ? 'name' : 'pii'],
        `column '${old.name}' pii changed from ${was} to ${is} (its values change meaning)`,
        was === 'clear' ? `remove 'pii: ${is}'` : `restore 'pii: ${was}'`,
      );
    }
  }
  if (!sameSet(before.primaryKey, after.primaryKey)) {
    change(
      ['primaryKey'],
      `primary key changed from [${before.primaryKey.join(', ')}] to [${after.primaryKey.join(', ')}]`,
      `restore primaryKey: [${before.primaryKey.join(', ')}]`,
    );
  }
  if (before.partition.column !== after.partition.column) {
    change(
      ['partition', 'column'],
      `partition column changed from ${before.partition.column} to ${after.partition.column}`,
      `restore partition.column: ${before.partition.column}`,
    );
  }
  if (before.partition.granularity !== after.partition.granularity) {
    change(
      ['partition', 'granularity'],
      `partition granularity changed from ${before.partition.granularity} to ${after.partition.granularity}`,
      `restore partition.granularity: ${before.partition.granularity}`,
    );
  }
  if ((before.deletes === undefined) !== (after.deletes === undefined)) {
    change(
      after.deletes ? ['deletes'] : ['primaryKey'],
      after.deletes
        ? `deletes added (keys now disappear from the current state of ${after.dataset})`
        : `deletes removed (deleted keys now stay in the current state of ${after.dataset})`,
      after.deletes ? 'remove deletes' : 'restore deletes',
    );
  }
  return changes;
}

/** `a` still reads as `b`: the same type, or a widening (see the module comment). */
function readsAs(a: ColumnType, b: ColumnType): boolean {
  if (a.kind === 'decimal' && b.kind === 'decimal') {
    return a.scale === b.scale && b.precision >= a.precision;
  }
  return a.kind === b.kind || (a.kind === 'int32' && b.kind === 'int64');
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x) => b.includes(x));

/** The parts of a gold model's header readers depend on, with their lines. */
export interface ModelInterface {
  /** The declared columns, in order: name, Athena type (lower case, no spaces), the declaring line. */
  readonly columns: readonly { readonly name: string; readonly type: string; readonly line: number }[];
  /** `-- version:` (default 1.0.0) and its line (the first line when there is none). */
  readonly version: string;
  readonly versionLine: number;
  /** The incremental date column, and the line saying it (the first `columns` line when not incremental). */
  readonly incremental?: string;
  readonly incrementalLine: number;
  /** The first `-- columns:` line. */
  readonly columnsLine: number;
}

/**
 * The `columns`, `version` and `incremental` header keys of a model file (`readDeclaredHeader`, as the
 * check reads them); undefined when they cannot be read (a column without an Athena type, no column, a
 * version that is not MAJOR.MINOR.PATCH): the check reports that file, there is nothing to compare.
 */
export function readModelInterface(text: string): ModelInterface | undefined {
  const { columns, version, incremental, typed } = readDeclaredHeader(text);
  if (!typed || columns.length === 0 || (version !== undefined && !SEMVER.test(version.value)))
    return undefined;
  const columnsLine = columns[0].line;
  return {
    columns,
    version: version?.value ?? '1.0.0',
    versionLine: version?.line ?? 1,
    ...(incremental ? { incremental: incremental.column } : {}),
    incrementalLine: incremental?.line ?? columnsLine,
    columnsLine,
  };
}

/** The changes from `before` to `after` (the same model) that break its readers (see the module comment). */
export function modelBreakingChanges(before: ModelInterface, after: ModelInterface): BreakingChange[] {
  const changes: BreakingChange[] = [];
  for (const old of before.columns) {
    const now = after.columns.find((c) => c.name === old.name);
    if (now === undefined) {
      changes.push({
        line: after.columnsLine,
        what: `column '${old.name}' dropped`,
        undo: `restore the column '${old.name} ${old.type}'`,
      });
    } else if (!athenaReadsAs(old.type, now.type)) {
      changes.push({
        line: now.line,
        what: `column '${old.name}' retyped from ${old.type} to ${now.type}`,
        undo: `restore type ${old.type} (widening int -> bigint or a decimal's precision does not break readers)`,
      });
    }
  }
  if (before.incremental !== after.incremental) {
    const what =
      before.incremental === undefined
        ? `now incremental on ${after.incremental} (the gold table's partition key)`
        : after.incremental === undefined
          ? `no longer incremental on ${before.incremental} (the gold table's partition key)`
          : `incremental date column changed from ${before.incremental} to ${after.incremental}`;
    changes.push({
      line: after.incrementalLine,
      what,
      undo:
        before.incremental === undefined
          ? 'remove the incremental header'
          : `restore '-- incremental: ${before.incremental} ...'`,
    });
  }
  return changes;
}

/** An Athena type `a` still reads as `b`: the same, or a widening (int -> bigint, a larger precision). */
function athenaReadsAs(a: string, b: string): boolean {
  if (a === b || (a === 'int' && b === 'bigint')) return true;
  const [da, db] = [DECIMAL.exec(a), DECIMAL.exec(b)];
  return da !== null && db !== null && da[2] === db[2] && Number(db[1]) >= Number(da[1]);
}

const DECIMAL = /^decimal\((\d+),(\d+)\)$/;
