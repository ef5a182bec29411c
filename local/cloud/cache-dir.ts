/**
 * Where the local commands cache what they synthesize (the wiring, the gold and alarm templates): files
 * named by a hash of everything that decides them, written through a rename, so one directory can serve
 * any number of state directories and processes at once.
 */
import { join } from 'node:path';

/** The variable naming a cache directory shared by every state (a local tool's, not a handler's). */
export const CACHE_DIR_VARIABLE = 'MEDALLION_CACHE_DIR';

/**
 * `MEDALLION_CACHE_DIR` when set (the test suite shares one across its many temporary states: a synthesis
 * costs seconds of CPU), else `<state>/cache` (kept when a run wipes its state).
 */
export function cacheDirOf(stateDir: string): string {
  return process.env[CACHE_DIR_VARIABLE] || join(stateDir, 'cache');
}
