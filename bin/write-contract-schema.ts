/**
 * Writes the JSON Schema of data contract files to schema/dataset-contract.schema.json, for editor
 * completion (`# yaml-language-server: $schema=...` in contract files).
 *
 *   npx tsx bin/write-contract-schema.ts [out-file]
 *
 * A test compares the committed file with fresh output, so rerun this after changing the contract schema.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contractJsonSchema } from '../core/contracts/dataset-contract';

export const DEFAULT_SCHEMA_FILE = join(__dirname, '..', 'schema', 'dataset-contract.schema.json');

/** The exact text of the schema file. */
export function contractSchemaText(): string {
  return `${JSON.stringify(contractJsonSchema(), null, 2)}\n`;
}

if (require.main === module) {
  const out = process.argv[2] ?? DEFAULT_SCHEMA_FILE;
  writeFileSync(out, contractSchemaText());
  console.log(`wrote ${out}`);
}
