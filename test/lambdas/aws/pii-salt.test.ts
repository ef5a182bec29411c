import type { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { piiSaltSource, resolvePiiSalt } from '../../../lambdas/aws/pii-salt';

// Secrets Manager cannot run on this machine: these tests use a recording reader in its place.
const reader = (secret: string | undefined) => {
  const asked: string[] = [];
  return {
    asked,
    send: async (c: GetSecretValueCommand) => {
      asked.push(c.input.SecretId as string);
      return { SecretString: secret };
    },
  };
};

describe('PII salt', () => {
  it('prefers the salt given directly and never calls Secrets Manager for it', async () => {
    const r = reader('unused');
    const source = piiSaltSource({
      MEDALLION_PII_HASH_SALT: 's1',
      MEDALLION_PII_HASH_SALT_SECRET_ARN: 'arn:x',
    });
    expect(await resolvePiiSalt(source, r)).toBe('s1');
    expect(r.asked).toEqual([]);
  });

  it('fetches the salt from the secret named by its ARN', async () => {
    const r = reader('from-secret');
    expect(
      await resolvePiiSalt(
        piiSaltSource({ MEDALLION_PII_HASH_SALT_SECRET_ARN: 'arn:aws:secretsmanager:x' }),
        r,
      ),
    ).toBe('from-secret');
    expect(r.asked).toEqual(['arn:aws:secretsmanager:x']);
  });

  it('fails, naming the secret, when it holds no string', async () => {
    await expect(resolvePiiSalt({ secretArn: 'arn:s' }, reader(undefined))).rejects.toThrow(
      'secret arn:s holds no string',
    );
  });

  it('fails, naming both variables, when neither is set', () => {
    expect(() => piiSaltSource({})).toThrow('MEDALLION_PII_HASH_SALT or MEDALLION_PII_HASH_SALT_SECRET_ARN');
  });
});
