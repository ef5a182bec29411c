/** Editing a copy of model files in a test: change one, write one, find the line a text is on. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ModelFiles {
  /** Changes `name` with `change` (which must change it); returns the file. */
  readonly edit: (name: string, change: (text: string) => string) => string;
  /** Writes `name` with `text`; returns the file. */
  readonly write: (name: string, text: string) => string;
  /** The (1-based) line of `file` holding `text`, 0 when none does. */
  readonly lineOf: (file: string, text: string) => number;
}

/** The helpers over the models directory `models()` names (read at each call: tests set it per test). */
export function modelFiles(models: () => string): ModelFiles {
  return {
    edit: (name, change) => {
      const file = join(models(), name);
      const before = readFileSync(file, 'utf8');
      const after = change(before);
      expect(after).not.toBe(before);
      writeFileSync(file, after);
      return file;
    },
    write: (name, text) => {
      writeFileSync(join(models(), name), text);
      return join(models(), name);
    },
    lineOf: (file, text) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .findIndex((l) => l.includes(text)) + 1,
  };
}
