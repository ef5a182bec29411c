/**
 * Where the transform gets the salt for PII hashing: the value itself (local runs, tests) or, in AWS, a
 * Secrets Manager secret fetched once per Lambda instance, so the salt never appears in the function's
 * configuration or in a template.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ENV } from '../../core/config/env';
import { ConfigError } from '../../core/errors';

export type PiiSaltSource = { readonly value: string } | { readonly secretArn: string };

/** Checked at module load: one of the two variables must be set. */
export function piiSaltSource(env: NodeJS.ProcessEnv = process.env): PiiSaltSource {
  const value = env[ENV.PII_HASH_SALT];
  if (value) return { value };
  const secretArn = env[ENV.PII_HASH_SALT_SECRET_ARN];
  if (secretArn) return { secretArn };
  throw new ConfigError(
    `missing environment variable(s): ${ENV.PII_HASH_SALT} or ${ENV.PII_HASH_SALT_SECRET_ARN}`,
  );
}

export interface SecretReader {
  send(command: GetSecretValueCommand): Promise<{ SecretString?: string }>;
}

export async function resolvePiiSalt(
  source: PiiSaltSource,
  client: SecretReader = new SecretsManagerClient({}),
): Promise<string> {
  if ('value' in source) return source.value;
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: source.secretArn }));
  if (!SecretString)
    throw new ConfigError(`secret ${source.secretArn} holds no string value for the PII salt`);
  return SecretString;
}
