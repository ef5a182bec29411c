/**
 * Writes the JSON Schema of configuration files to schema/medallion-config.schema.json, for editor
 * completion (`"$schema": "../schema/medallion-config.schema.json"` in config/*.json).
 *
 *   npx tsx bin/write-config-schema.ts [out-file]
 *
 * A test compares the committed file with fresh output, so rerun this after changing the configuration.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configJsonSchema } from '../lib/config';

export const DEFAULT_CONFIG_SCHEMA_FILE = join(__dirname, '..', 'schema', 'medallion-config.schema.json');

/** The exact text of the schema file. */
export function configSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

if (require.main === module) {
  const out = process.argv[2] ?? DEFAULT_CONFIG_SCHEMA_FILE;
  writeFileSync(out, configSchemaText());
  console.log(`wrote ${out}`);
}
