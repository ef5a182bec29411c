/**
 * The configuration files the README deploys with (`-c medallion:config=config/<env>.json`) and the JSON
 * Schema editors check them against.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { configSchemaText, DEFAULT_CONFIG_SCHEMA_FILE } from '../../bin/write-config-schema';
import { CONFIG_OVERRIDE_CONTEXT_KEY, PROJECT_ROOT, readMedallionConfig } from '../../lib/config';
import { createMedallionApp } from '../../lib/medallion-app';
import { testContext } from '../support/cdk';

const CONFIG_DIR = join(PROJECT_ROOT, 'config');
const files = readdirSync(CONFIG_DIR).filter((f) => f.endsWith('.json'));

describe('config/*.json', () => {
  test('there is a dev and a prod example', () => {
    expect(files.sort()).toEqual(['dev.json', 'prod.json']);
  });

  test.each(files)('%s is valid, its $schema line ignored', (file) => {
    const app = new App({ context: { [CONFIG_OVERRIDE_CONTEXT_KEY]: `config/${file}` } });
    const config = readMedallionConfig(app.node);
    expect(config.environment).toBe(file.replace(/\.json$/, ''));
  });

  test("the README's `npx cdk synth -c medallion:config=config/prod.json` synthesizes (cdk-nag clean)", () => {
    const { stack } = createMedallionApp({
      context: testContext({ [CONFIG_OVERRIDE_CONTEXT_KEY]: 'config/prod.json' }),
    });
    const t = Template.fromStack(stack);
    expect(stack.stackName).toBe('Medallion-prod');
    expect(stack.account).toBe('123456789012');
    t.resourceCountIs('AWS::Budgets::Budget', 1);
  });

  test('matches the committed schema/medallion-config.schema.json (regenerate: npx tsx bin/write-config-schema.ts)', () => {
    expect(readFileSync(DEFAULT_CONFIG_SCHEMA_FILE, 'utf8')).toBe(configSchemaText());
  });
});
